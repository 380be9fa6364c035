"""``kgrec train`` and ``kgrec evaluate``."""

from __future__ import annotations

from pathlib import Path

import click

from ..core.config import Settings
from ..core.words import plural
from ._common import echo_json, min_confidence_option, open_db, pass_settings

MODEL_CHOICES = ["ours", "lightgcn", "mf", "ease", "ease-recency", "itemknn", "pop"]


def parse_models(models: str, also: tuple[str, ...] = ()) -> list[str]:
    """``--models`` as a list of :data:`MODEL_CHOICES` and ``also`` (comma-separated, spaces around names allowed).

    Raises:
        click.BadParameter: a name it does not know, or no name at all.
    """
    names = [m.strip() for m in models.split(",") if m.strip()]
    known = [*MODEL_CHOICES, *also]
    bad = [m for m in names if m not in known]
    if bad or not names:
        raise click.BadParameter(f"got {', '.join(bad) or 'nothing'}; expected some of {', '.join(known)}",
                                 param_hint="--models")
    return names

json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
epochs_option = click.option("--epochs", type=click.IntRange(1), default=None,
                             help="Maximum epochs (early stopping on valid NDCG@10, patience 10; default 100).")
dim_option = click.option("--dim", type=click.IntRange(1, 4096), default=None, help="Embedding size (default 64).")
dataset_option = click.option("--dataset", default=None, help="Train on one loaded dataset only (default: all).")


def _type_names(settings: Settings) -> list[str]:
    from ..core.schema import load_pack

    return load_pack(settings.type_pack).names


@click.command()
@click.option("--model", type=click.Choice(MODEL_CHOICES), default="ours", show_default=True,
              help="ours = the relation-aware two-stage GNN; the rest are baselines.")
@epochs_option
@min_confidence_option
@dim_option
@dataset_option
@click.option("--no-writeback", is_flag=True, help="Train and record the run, but write nothing to the graph.")
@click.option("--max-seconds", type=click.FloatRange(min=1), default=None,
              help="Stop the epochs after this time (the export, the items' text vectors, computed once and "
                   "stored, the item graph and the write-back come on top).")
@click.option("--progress", is_flag=True, help="Print one line per epoch.")
@click.option("--for", "mode", type=click.Choice(["evaluation", "serving"]), default="evaluation", show_default=True,
              help="evaluation: train split only, chosen on valid; serving: every interaction in the graph.")
@click.option("--params-from", default=None,
              help="With --for serving: the evaluation run whose chosen hyperparameters to use (default: the "
                   "latest complete one of the model).")
@click.option("--warm-start", is_flag=True,
              help="ours: continue from the current run's parameters (new users and items initialised by fold-in) "
                   "instead of a random start.")
@click.option("--text-prior", "text_priors", default=None, metavar="MU[,MU...]",
              help="ours: also try the item-text prior in the item graph with these weights, chosen on valid "
                   "(e.g. 20,50; the items' text is embedded, reviews left out). Default: none.")
@click.option("--dislike-value", type=click.FloatRange(-1.0, 1.0), default=None, metavar="V",
              help="ours: what an item the user only disliked counts in the item graph. 1 (default): like any "
                   "interaction, so the items that go with it go up (the best measured on valid, "
                   "docs/explanations.md); 0: nothing (it then raises no item through the item graph); below 0: "
                   "against the items its links raise, as the GNN's dislike graph counts it. The run keeps it: "
                   "serving, explanations and Browser read it, "
                   "and a --for serving run reuses it.")
@click.option("--yes", is_flag=True, help="With --dataset: make the run current although the graph holds users of "
                                           "other datasets (they get nothing of their own from it).")
@json_option
@pass_settings
def train(settings: Settings, model, epochs, min_confidence, dim, dataset, no_writeback, max_seconds, progress,
          mode, params_from, warm_start, text_priors, dislike_value, yes, as_json):
    """Export the train graph (GDS), train a model, write embeddings and attention back, record the ModelRun.

    Evaluation mode (the default): only train interactions reach the model (valid / test are labels),
    hyperparameters and early stopping are chosen on valid. Serving mode (--for serving): every
    interaction in the graph is trained on, whatever its split, with the hyperparameters the latest
    evaluation run chose. Either way the new run becomes the current one after a full write-back, and
    serving scores every user's live edges with it. Models without embeddings (ease, itemknn, pop) and
    --no-writeback record the run without changing the graph.

    \b
    Examples:
      kgrec train
      kgrec train --epochs 20 --dim 64 --min-confidence 0.5
      kgrec train --for serving
      kgrec train --warm-start                # after `kgrec update`: fewer epochs than from scratch
      kgrec train --text-prior 20,50          # the items' text as a prior of the item graph
      kgrec train --dislike-value 0           # a dislike raises nothing through the item graph
      kgrec train --model lightgcn --no-writeback
    """
    from ..model.pipeline import CLOSED_FORM, run_training

    if epochs is not None and model in CLOSED_FORM:
        raise click.BadParameter(f"{model} is fitted in closed form and trains no epochs; leave --epochs out",
                                 param_hint="--epochs")
    if params_from is not None and mode != "serving":
        raise click.BadParameter("it names the evaluation run whose choices a serving run reuses; add --for serving "
                                 "(an evaluation run chooses its own on valid)", param_hint="--params-from")
    overrides = {"max_seconds": max_seconds} if max_seconds and model not in CLOSED_FORM else None
    if text_priors:
        if not model.startswith("ours"):
            raise click.BadParameter(f"the text prior is part of ours' item graph; {model} has none",
                                     param_hint="--text-prior")
        try:
            mus = [float(v) for v in text_priors.split(",") if v.strip()]
        except ValueError:
            raise click.BadParameter(f"{text_priors!r}: give weights as numbers, e.g. 20,50",
                                     param_hint="--text-prior") from None
        if not mus or any(m < 0 for m in mus):
            raise click.BadParameter(f"{text_priors!r}: give weights >= 0, e.g. 20,50", param_hint="--text-prior")
        overrides = {**(overrides or {}), "item_graph_text_priors": mus}
    if dislike_value is not None:
        if not model.startswith("ours"):
            raise click.BadParameter(f"it is the value of a dislike in ours' item graph; {model} has none",
                                     param_hint="--dislike-value")
        overrides = {**(overrides or {}), "item_graph_dislike_value": float(dislike_value)}
    with open_db(settings, writer="kgrec train") as d:
        from ..users.interests.scope import reads_every_split, stored_scopes

        scopes = stored_scopes(d)
        res = run_training(
            d, type_names=_type_names(settings), model=model, epochs=epochs, dim=dim,
            min_confidence=settings.min_confidence if min_confidence is None else min_confidence,
            write=not no_writeback, seed=settings.seed, dataset=dataset, overrides=overrides,
            for_serving=mode == "serving", params_from=params_from, warm_start=warm_start,
            batch_size=settings.batch_size, progress=progress and not as_json, other_datasets_ok=yes,
            on_stage=None if as_json else (lambda s: click.echo(f"{s} ...", err=True)))
    if as_json:
        echo_json(res.model_dump())
        return
    ex, rep = res.export, res.report
    click.echo(f"run {res.run} ({res.model})" + (" is now current" if res.current else " (not current)"))
    click.echo(f"export:  {ex['users']} users, {ex['items']} items, {ex['concepts']} concepts; "
               f"{ex['train_interactions']} train interactions ({ex['dislikes']} dislikes), "
               f"{ex['item_concept_edges']} item-concept, {ex['user_concept_edges']} user-concept edges "
               f"in {res.seconds.get('export', 0):.1f}s")
    ws = res.warm_start
    if ws:
        before = ws.get("valid_ndcg@10_at_epoch_0")
        click.echo(f"warm:    from run {ws['run']}: {ws.get('users_trained', 0)} users, {ws.get('items_trained', 0)} "
                   f"items, {ws.get('concepts_trained', 0)} concepts trained by it; {ws.get('users_folded', 0)} users "
                   f"and {ws.get('items_folded', 0)} items folded in; {ws.get('items_random', 0)} items and "
                   f"{ws.get('concepts_random', 0)} concepts new"
                   + (f"; the GNN part's valid NDCG@10 before any epoch {before:.4f} (the item graph is added "
                      "after training)" if before is not None else ""))
    serving = ex.get("mode") == "serving"
    chosen = (f"; --epochs {rep['epochs']} instead of the evaluation run's best epoch {res.epochs_chosen}"
              if res.epochs_chosen is not None and res.epochs_chosen != rep["epochs"] else "")
    click.echo(f"train:   {plural(rep['epochs'], 'epoch')}" + ("" if serving else f" (best {rep['best_epoch']})")
               + f" in {rep['train_seconds']:.1f}s"
               + (f" (item graph {rep['item_graph_seconds']:.1f}s)" if rep.get("item_graph_seconds") else "") + chosen)
    keys = ("recall@10", "recall@20", "ndcg@10", "ndcg@20")
    if serving:  # trained on every interaction: nothing is held out, so there is nothing to measure
        click.echo("metrics: none (a serving run trains on every interaction and holds nothing out)")
        if scopes["any_edges"] and not reads_every_split(scopes):
            click.echo("note:    the interests still read the train split only, so each user's two newest loaded "
                       "interactions are not in them: `kgrec interests extract --for serving` counts them too (an "
                       "evaluation run then needs `--for evaluation` again)")
    else:
        for split in ("valid", "test"):
            m = rep[split]
            click.echo(f"{split + ':':8} " + "  ".join(f"{k}={m[k]:.4f}" for k in keys))
        for part, m in (rep.get("parts") or {}).items():
            extra = f" ({m['params']}, weight {m['weight']:.4g})" if "params" in m else ""
            click.echo(f"  {part} part alone, test: " + "  ".join(f"{k}={m['test'][k]:.4f}" for k in keys) + extra)
    wb = res.writeback
    if wb:
        att = ", ".join(f"{n} {t}" for t, n in wb["attention"].items()) or "no edges (the model has no attention)"
        click.echo(f"written: {wb['users']} users, {wb['items']} items, {wb['concepts']} concepts (dim {wb['dim']}); "
                   f"attention on {att}; {wb.get('item_links', 0)} item links; vector index {wb['vector_index']}; "
                   f"in {res.seconds.get('writeback', 0):.1f}s")
    else:
        click.echo("written: nothing (" + ("--no-writeback" if no_writeback else f"{model} has no embeddings") + ")")
    if serving and res.params_from is None and model.startswith("ours") and model != "ours-no-item-graph":
        click.echo("note:    no evaluation run of ours to take the hyperparameters from: this run has the defaults "
                   "and no item graph (its weight is chosen on valid; it carries most of the score). Train once "
                   "without --for serving, then again with it (it takes that run's choices)")
    if "item_text_vectors" in res.seconds:  # after the write-back; on a first run it can take longer than training
        click.echo(f"text:    item text vectors, from which `kgrec update` finds new items' nearest trained items, in "
                   f"{res.seconds['item_text_vectors']:.1f}s (each item's text is embedded once; later runs embed "
                   f"only new or changed text)")


@click.command()
@click.option("--models", default="ours,ease,lightgcn,mf,itemknn,pop", show_default=True,
              help="Comma-separated models to compare (an ablation of ours, e.g. ours-no-concepts, may be named "
                   "alone).")
@click.option("--no-ablations", is_flag=True,
              help="Skip ours without concepts / negative edges / stage 1 / the item graph / recency.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="Folder for evaluation.md and evaluation.json.")
@epochs_option
@min_confidence_option
@dim_option
@dataset_option
@click.option("--max-seconds", type=click.FloatRange(min=1), default=None,
              help="Stop each trainable model's epochs after this time (the export, the items' text vectors and "
                   "the item graph come on top).")
@click.option("--refit", type=click.Choice(["ours", "all", "none"]), default="ours", show_default=True,
              help="History up to the target: which models are also retrained on train + valid (MF always is).")
@click.option("--train-only", is_flag=True, help="Only the train-only protocol (skip history up to the target).")
@json_option
@pass_settings
def evaluate(settings: Settings, models, no_ablations, out_dir, epochs, min_confidence, dim, dataset, max_seconds,
             refit, train_only, as_json):
    """Compare models on one export of the train graph: Recall@10/20, NDCG@10/20 on test, training time.

    Evaluation mode: the same last-two-out split and full ranking for every model, selection on valid,
    test once. Two protocols: (a) a test user's history is the train split; (b) history up to the
    target: the valid interaction is part of the history, by fold-in of the model trained under (a) and,
    for reference, by a refit on train + valid. Ours also without concepts, without negative edges,
    without stage 1, without the item graph and without recency, and its two parts (GNN, item graph)
    scored alone. The default --models leave out ease-recency (EASE with ours' recency weighting);
    name it in --models to compare with it.
    Writes a markdown and a JSON table; the graph is not changed.

    \b
    Examples:
      kgrec evaluate
      kgrec evaluate --models ours,ease,lightgcn --epochs 20 --out results/
      kgrec evaluate --refit all
    """
    from ..core.outpath import check_out_path
    from ..model.pipeline import run_evaluation

    check_out_path(out_dir, folder=True, example="--out results/")  # before minutes of training, not after
    if train_only and refit != "ours":  # (the default: said only when asked for)
        raise click.BadParameter("a refit is part of the second protocol (history up to the target), which "
                                 "--train-only skips; leave out one of the two", param_hint="--refit")
    from ..model.pipeline import ABLATIONS

    names = parse_models(models, also=tuple(ABLATIONS))  # an ablation alone, e.g. ours-no-concepts, beside baselines
    overrides = None
    if max_seconds:
        overrides = {m: {"max_seconds": max_seconds} for m in ("ours", "lightgcn", "mf", "ours-no-concepts",
                                                                "ours-no-negative", "ours-no-stage1",
                                                                "ours-no-item-graph", "ours-no-recency")}
    with open_db(settings) as d:
        res = run_evaluation(
            d, type_names=_type_names(settings), models=names, out_dir=out_dir, ablations=not no_ablations,
            epochs=epochs, dim=dim, seed=settings.seed, dataset=dataset, overrides=overrides,
            history_protocol=not train_only, refit=refit,
            min_confidence=settings.min_confidence if min_confidence is None else min_confidence,
            on_model=None if as_json else (lambda m: click.echo(f"training {m} ...", err=True)))
    if as_json:
        echo_json(res.model_dump(exclude={"markdown"}))
        return
    click.echo(res.markdown)
    click.echo("wrote " + ", ".join(res.paths))


commands = [train, evaluate]
