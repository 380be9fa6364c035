"""``kgrec runs list|show``: the training runs stored as ``(:ModelRun)``, which one serves, and what each measured."""

from __future__ import annotations

import json

import click

from ..core.config import Settings
from ..core.errors import ModelError
from ._common import echo_json, echo_table, open_db, pass_settings
from .train import MODEL_CHOICES

json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
LIST_COLUMNS = ["run", "model", "mode", "state", "created", "dataset", "epochs", "valid", "test", "train_s"]


def _num(v, key: str) -> str:
    """A metric as printed: counts (``users``, ``epoch``) as whole numbers, the rest to four decimals."""
    if isinstance(v, int | float) and (key in ("users", "epoch") or isinstance(v, int)):
        return str(int(v))
    return f"{v:.4f}" if isinstance(v, float) else str(v)


ABANDONED_NOTE = ("its process ended without finishing it (killed?); the next `kgrec train` marks it failed and "
                  "cleans up what it wrote")


def _abandoned(row: dict, gone: set[str]) -> dict:
    """A ``running`` run whose process has ended shows as ``abandoned``, with why (it is not training)."""
    if row["run"] in gone:
        row.update(state="abandoned", error=ABANDONED_NOTE)
    return row


@click.group()
def runs():
    """Training runs: which one serves, what each one measured, why one failed.

    Exactly one complete run is current: the one whose embeddings, attention and item links are in the graph, which
    `kgrec recommend`, `explain` and `serve` score with. `kgrec train` makes its new run current after a full
    write-back; to serve another configuration, train it (`kgrec train --for serving --params-from RUN` trains on
    every interaction with the hyperparameters RUN chose on valid).
    """


@runs.command("list")
@click.option("--model", type=click.Choice(MODEL_CHOICES), default=None, help="Only runs of this model.")
@click.option("--state", type=click.Choice(["current", "complete", "failed", "running"]), default=None,
              help="Only the current run, or runs with this status.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True, help="Rows to show.")
@json_option
@pass_settings
def runs_list(settings: Settings, model, state, limit, as_json):
    """The latest runs, newest first: model, mode (evaluation or serving), state (current, complete, failed,
    running), valid and test NDCG@10 (evaluation runs), epochs trained and training seconds.

    \b
    Examples:
      kgrec runs list
      kgrec runs list --model ours --state complete --limit 5
    """
    from ..model import runs as model_runs

    with open_db(settings) as d:
        found = model_runs.list_runs(d, model=model, status=state)
        gone = set(model_runs.abandoned_runs(d)) if any(r.status == "running" for r in found) else set()
    rows = [_abandoned(r.summary(), gone) for r in found[:limit]]
    if as_json:
        echo_json(rows)
        return
    echo_table([{k: (round(v, 4) if k in ("valid", "test") and v is not None else
                     round(v, 1) if k == "train_s" and v is not None else v) for k, v in r.items()} for r in rows],
               LIST_COLUMNS)
    if len(found) > limit:
        click.echo(f"(the latest {limit} of {len(found)}; --limit {len(found)} shows all)")
    if any(r["state"] == "complete" for r in rows):
        click.echo("(only the current run can be served: a run's write-back replaces the vectors and item links of "
                   "the runs before it; `kgrec train --model MODEL --for serving --params-from RUN` trains a run's "
                   "configuration again)")
    failed = [r for r in rows if r["error"]]
    for r in failed[:5]:
        click.echo(f"{r['run']} {r['state']}: {r['error'][:300]}")
    if not found and model is None and state is None:
        click.echo("no training runs yet: `kgrec train` records one")


@runs.command("show")
@click.option("--run", "run_id", default=None, help="ModelRun.id (default: the current run; `kgrec runs list` names "
                                                    "them).")
@json_option
@pass_settings
def runs_show(settings: Settings, run_id, as_json):
    """One run whole: its configuration, the hyperparameters it trained with, valid and test metrics, the valid
    NDCG@10 of each epoch, time and memory, and the error of a failed run.

    \b
    Examples:
      kgrec runs show                 # the current run
      kgrec runs show --json
    """
    from ..model import runs as model_runs

    with open_db(settings) as d:
        run = model_runs.get_run(d, run_id) if run_id else model_runs.current_run(d)
        if run is None:
            known = [r.id for r in model_runs.list_runs(d)[:5]]
        elif run.status == "running" and run.id in model_runs.abandoned_runs(d):
            run.status, run.error = "abandoned", ABANDONED_NOTE
    if run is None:
        if run_id:
            raise ModelError(f"no training run {run_id!r}; " + (f"the latest are {', '.join(known)} "
                                                                 f"(`kgrec runs list` lists them)" if known else
                                                                 "none is stored yet (`kgrec train` records one)"))
        raise ModelError("no current run: " + ("none of the stored runs finished its write-back; `kgrec runs list` "
                                               "lists them" if known else "`kgrec train` records one and makes it "
                                                                          "current"))
    if as_json:
        echo_json(run.model_dump())
        return
    s = run.summary()
    click.echo(f"run {run.id}: {run.model}, {s['mode'] or 'mode unknown'} mode, {s['state']}"
               + (f", data set {run.dataset}" if run.dataset else ""))
    click.echo(f"created {s['created'] or '?'}" + (f", finished {run.finished[:19].replace('T', ' ')}"
                                                    if run.finished else ""))
    if run.error:
        click.echo(f"error: {run.error}")
    m = run.metrics
    serving = s["mode"] == "serving"
    for split in ("valid", "test"):
        held = run.held_out(split)
        if held:
            click.echo(f"{split}: " + ", ".join(f"{k} {_num(v, k)}" for k, v in sorted(held.items())))
    if serving and run.status == "complete":
        click.echo("metrics: none (a serving run trains on every interaction and holds nothing out)")
    if m.get("epochs") is not None:
        click.echo(f"epochs: {m['epochs']}" + ("" if serving else f" (best {m.get('best_epoch')})")
                   + f", training {m.get('train_seconds') or 0:.1f} s, peak memory {m.get('peak_rss_mb') or 0:.0f} "
                     f"MB, device {m.get('device', '?')}")
    # the epochs evaluated on valid only (a serving run evaluates none; eval_every > 1 skips some)
    hist = [h for h in m.get("valid_history") or [] if isinstance(h, dict) and h.get("ndcg@10") is not None]
    if hist:
        # ours' epochs score the GNN part alone: the item graph is fitted after training and added with a weight
        # chosen on valid, so the run's valid NDCG@10 above is not one of these numbers
        ig = (m.get("item_graph") or {}).get("weight")
        click.echo("valid NDCG@10 by epoch: " + ", ".join(f"{_num(h.get('epoch'), 'epoch')}: {h['ndcg@10']:.4f}"
                                                          for h in hist[:40]) + (" ..." if len(hist) > 40 else "")
                   + (" (the GNN part alone; the item graph, added after training with the weight valid chose, "
                      "makes the run's valid NDCG@10 above)" if ig else ""))
    if run.item_link_weight:  # the numbers an ITEM_LINK's weight is multiplied by in the served score
        decay = (m.get("recency") or {}).get("item_graph")
        dis = 1.0 if run.item_link_dislike_value is None else run.item_link_dislike_value
        click.echo(f"item graph: score += {run.item_link_weight:.6g} × Σ_j x_uj × ITEM_LINK(j→i).weight, x_uj = 1 for "
                   f"an item j the user interacted with, {dis:g} for one the user only disliked"
                   + (f", times {float(decay):g}^age (age 0: the latest interaction)" if decay and decay < 1 else ""))
    for key, label in (("warm_start", "warm start from"), ("params_from", "hyperparameters from")):
        if run.config.get(key):
            click.echo(f"{label}: {run.config[key]}")
    click.echo("config: " + json.dumps({k: v for k, v in run.config.items() if k not in ("warm_start", "params_from")},
                                       sort_keys=True, default=str))
    if m.get("trained_config"):
        click.echo("trained with: " + json.dumps(m["trained_config"], sort_keys=True, default=str))
    if m.get("seconds"):
        click.echo("stage seconds: " + ", ".join(f"{k} {v}" for k, v in m["seconds"].items()))


commands = [runs]
