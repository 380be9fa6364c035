"""End-to-end training and evaluation on the graph in Neo4j: export -> train -> write-back -> ModelRun.

:func:`run_training` is ``kgrec train``: one model, its embeddings and attention written back, its
``(:ModelRun)`` made current. :func:`run_evaluation` is ``kgrec evaluate``: several models and our ablations
on one export (same split, same protocol: full ranking, train items masked, hyperparameters and early
stopping on valid, test once), written as a markdown and a JSON table; nothing is written to the graph.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..core.errors import ModelError
from ..core.lease import process_started
from ..core.outpath import make_out_folder, unwritable
from ..core.resources import cypher
from ..users.interests.scope import check_for_evaluation, check_for_serving
from . import runs, writeback
from .data import TrainGraph
from .export import check_split_order, export_train_graph, summary
from .itemtext import store_item_text, text_model

if TYPE_CHECKING:  # pragma: no cover
    from ..core.db import Database

log = logging.getLogger(__name__)

MODELS = ("ours", "lightgcn", "mf", "ease", "ease-recency", "itemknn", "pop")
CLOSED_FORM = ("ease", "ease-recency", "itemknn", "pop")
#: ablations of ours: name -> TrainConfig overrides
ABLATIONS: dict[str, dict[str, Any]] = {
    "ours-no-concepts": {"use_concepts": False},
    "ours-no-negative": {"use_negative": False},
    "ours-no-stage1": {"use_stage1": False},
    "ours-no-item-graph": {"use_item_graph": False},
    "ours-no-recency": {"use_recency": False},
}
METRICS = ("recall@10", "recall@20", "ndcg@10", "ndcg@20")


class TrainResult(BaseModel):
    """What ``kgrec train`` did: the run, the export, the model's report, the write-back and timings."""

    run: str
    model: str
    export: dict[str, Any]
    report: dict[str, Any]
    writeback: dict[str, Any] | None = None
    current: bool = False
    seconds: dict[str, float]
    warm_start: dict[str, Any] | None = None  # the run it started from, what it took over, valid NDCG@10 at epoch 0
    # a serving run given explicit epochs: the evaluation run's best epoch, which they replaced (None otherwise)
    epochs_chosen: int | None = None
    # a serving run: the evaluation run whose hyperparameters it took (None: the defaults, no evaluation run to take
    # them from: the item graph's weight is chosen on valid, so such a run of ours has no item graph)
    params_from: str | None = None


class EvaluationRow(BaseModel):
    model: str
    protocol: str = "train-only"  # train-only | history up to the target
    method: str = ""  # under "history up to the target": fold-in | refit
    valid: dict[str, float]
    test: dict[str, float]
    train_seconds: float
    eval_seconds: float
    epochs: int
    best_epoch: int
    config: dict[str, Any]
    epoch_seconds: float = 0.0


class EvaluationResult(BaseModel):
    rows: list[EvaluationRow]
    export: dict[str, Any]
    markdown: str
    paths: list[str]


# ====================================================================== one model
def _train_config(model: str, *, epochs: int | None, dim: int | None, seed: int,
                  overrides: dict[str, Any] | None):
    from .train import TrainConfig

    kw: dict[str, Any] = {"model": "kgrec" if model.startswith("ours") else model, "seed": seed}
    if epochs is not None:
        kw["epochs"] = epochs
    if dim is not None:
        kw["embedding_dim"] = dim
    kw.update(ABLATIONS.get(model, {}))
    kw.update(overrides or {})
    return TrainConfig(**kw)


def needs_item_text(cfg: Any) -> bool:
    """Whether training with ``cfg`` reads the items' text embeddings (ours' item graph with a text prior to try)."""
    return bool(getattr(cfg, "use_item_graph", False) and any(m > 0 for m in cfg.item_graph_text_priors))


def _text_encoder(db: Database, encoder: Any = None) -> Any:
    """``encoder``, or the project's embedder (:func:`~kgrec_neo4j.core.embed.get_embedder`)."""
    from ..core.embed import get_embedder

    return encoder or get_embedder(db.settings)


def _borrows_by_text(db: Database) -> bool:
    """Whether ``kgrec update`` gives new items item links borrowed from their nearest trained items by text (which
    needs the trained items' text vectors stored)."""
    st = getattr(db, "settings", None)
    return st is not None and st.borrow_neighbours > 0 and st.borrow_from == "text"


def _read_item_text(db: Database, tg: TrainGraph, encoder: Any = None) -> None:
    """Set ``tg.item_text`` from the items' text in the graph (:func:`~kgrec_neo4j.model.itemtext.from_graph`),
    embedded by ``encoder`` (default: the project's embedder)."""
    from .itemtext import from_graph

    tg.item_text = from_graph(db, tg.item_ids, _text_encoder(db, encoder))


def check_text_model(source: runs.ModelRun | None, used: dict[str, Any]) -> None:
    """Refuse to serve a text prior chosen on valid with another text encoder than ``used`` (:func:`text_model`; the
    prior's weight was chosen for that encoder's vectors). Compared by fingerprint where both runs have one, else by
    name; a run that recorded none (before this was recorded) is not checked."""
    if source is None:
        return
    chosen = source.metrics.get("item_text") or {}
    if not chosen.get("model"):
        return
    if chosen.get("fingerprint") and used.get("fingerprint"):
        same = chosen["fingerprint"] == used["fingerprint"]
    else:
        same = chosen["model"] == used["model"]
    if not same:
        raise ModelError(
            f"run {source.id} chose its item-text prior with the items' text embedded by {chosen['model']}, but the "
            f"configured embedding model is {used['model']}. Set KGREC_EMBEDDING_MODEL to the model of that run, or "
            f"train in evaluation mode again with this one to choose the prior for its vectors "
            f"(`kgrec train --text-prior ...`).")


def train_model(tg: TrainGraph, model: str, *, epochs: int | None = None, dim: int | None = None, seed: int = 0,
                overrides: dict[str, Any] | None = None, progress: bool = False,
                init: Callable[[Any], Any] | None = None):
    """Train / fit ``model`` (one of :data:`MODELS` or :data:`ABLATIONS`) on ``tg``; returns ``(model, TrainReport)``.

    Args:
        overrides: extra :class:`~kgrec_neo4j.model.train.TrainConfig` fields (trainable models) or, for the
            closed-form ones, ``{"grid": [...]}`` (constructor keyword sets tried on valid).
        init: a warm start of ours (:meth:`kgrec_neo4j.model.warm.WarmStart.apply` on the new model).
    """
    from .train import fit, fit_closed_form

    if model not in MODELS and model not in ABLATIONS:
        raise ValueError(f"model must be one of {', '.join(MODELS + tuple(ABLATIONS))} (got {model!r})")
    if model in CLOSED_FORM:
        return fit_closed_form(tg, model, (overrides or {}).get("grid"), seed=seed)
    cfg = _train_config(model, epochs=epochs, dim=dim, seed=seed, overrides=overrides)
    return fit(tg, cfg, progress=progress, init=init)


def model_outputs(obj) -> tuple[Any, Any, Any, Any] | None:
    """``(users (|U|, F), items (|I|, F), concepts (|C|, F) or None, attention or None)`` of a trained model,
    or ``None`` for models without embeddings (EASE, ItemKNN, most-popular). Ours' item graph and its weight
    are its attributes ``item_graph`` / ``item_graph_weight``."""
    import torch

    if not isinstance(obj, torch.nn.Module):
        return None
    obj.eval()
    with torch.no_grad():
        out = obj()
    users, items = out[0].cpu(), out[1].cpu()
    concepts = out[2].cpu() if len(out) > 2 and out[2].numel() else None
    edge_attention = getattr(obj, "edge_attention", None)
    attention = edge_attention() if edge_attention is not None else None
    return users, items, concepts, attention


ABANDONED = runs.ABANDONED


def fail_abandoned_runs(db: Database, *, host: str | None = None) -> list[str]:
    """Mark ``running`` runs of this host whose process is gone as ``failed`` (``error``: :data:`ABANDONED`).

    A run killed with SIGKILL (or lost with its machine's process) cannot finish itself and would stay
    ``running`` forever. Runs of other hosts are left alone (their processes cannot be checked from here).

    Returns:
        The ids of the runs marked failed.
    """
    dead = runs.abandoned_runs(db, host=host)
    if dead:
        db.execute(cypher("train/fail_stale_runs"), ids=dead, error=ABANDONED)
        log.warning("marked %d run(s) failed, their process ended without finishing: %s", len(dead), ", ".join(dead))
    return dead


def check_dataset(db: Database, dataset: str | None) -> None:
    """Raise :class:`ModelError` when ``dataset`` (``--dataset``) names no stored dataset, naming the stored ones, or
    when the graph has no user or no item (nothing loaded yet)."""
    if dataset is None:
        n = db.query(cypher("train/graph_counts"))[0]
        if not n["users"] or not n["items"]:
            raise ModelError(f"the graph has {n['users']} users and {n['items']} items: nothing to train on; load "
                             f"interactions first (`kgrec load <folder>`)")
        return
    names = [r["name"] for r in db.query(cypher("train/datasets"))]
    if dataset not in names:
        raise ModelError(f"no dataset {dataset!r} is stored (stored: {', '.join(names) or 'none'}); name one of "
                         f"them with --dataset, or leave the option out to train on every dataset")


def check_dataset_run(db: Database, dataset: str) -> None:
    """Refuse a run of one dataset that would be written back while the graph holds users of others: the run becomes
    the one current run of the graph, and serving scores with it alone (a walkthrough's Office-only run left every
    Video Games user with the popular items of Office, and `kgrec update` found nothing to do).

    Raises:
        ModelError: naming the other datasets and the two ways on."""
    other = db.query(cypher("train/other_dataset_users"), dataset=dataset)[0]
    if other["users"]:
        n = int(other["users"])
        raise ModelError(f"the graph holds {n} user{'s' if n != 1 else ''} of other datasets "
                         f"({', '.join(map(repr, other['datasets']))}); a run of --dataset {dataset!r} becomes the "
                         "one current run of the graph, and they would be recommended nothing of their own: train "
                         "without --dataset (one run for every dataset), add --no-writeback to measure it without "
                         "serving it, or --yes to serve it all the same")


def _evaluation_run(db: Database, model: str, params_from: str | None = None) -> runs.ModelRun | None:
    """The run whose choices serving mode reuses: ``params_from`` (complete) or the latest complete evaluation-mode
    run of ``model`` that recorded its configuration (``None`` when there is none)."""
    if params_from is not None:
        found = runs.get_run(db, params_from)
        if found is None:
            raise ModelError(f"no run {params_from!r}; list runs with `MATCH (r:ModelRun) RETURN r.id, r.status`")
        src = found
        if src.status != "complete":
            raise ModelError(f"run {params_from!r} is {src.status}, not complete; pick a complete run")
    else:
        done = [r for r in runs.list_runs(db) if r.model == model and r.status == "complete"
                and r.metrics.get("export", {}).get("mode", "evaluation") == "evaluation"
                and r.metrics.get("trained_config")]
        if not done:
            return None
        src = max(done, key=lambda r: r.created or "")
    return src


def serving_grid(db: Database, model: str, params_from: str | None = None) -> tuple[str | None, dict[str, Any]]:
    """A closed-form model's point chosen on valid by an evaluation-mode run, as the one-point ``{"grid": [...]}``
    of training on every interaction (:func:`_evaluation_run`); ``(None, {})`` when there is none."""
    src = _evaluation_run(db, model, params_from)
    if src is None:
        return None, {}
    return src.id, {"grid": [dict(src.metrics.get("trained_config") or {})]}


def serving_overrides(db: Database, model: str, params_from: str | None = None) -> tuple[str | None, dict[str, Any]]:
    """The hyperparameters an evaluation-mode run chose on valid, as ``TrainConfig`` overrides for training on
    every interaction: its config, its best epoch as the number of epochs (no early stopping), and the item
    graph's chosen lambda, concept weight and weight multiplier. ``params_from`` names the run (default: the
    latest complete evaluation-mode run of ``model``); ``(None, {})`` when there is none."""
    src = _evaluation_run(db, model, params_from)
    if src is None:
        return None, {}
    cfg = dict(src.metrics.get("trained_config") or {})
    if not cfg:
        raise ModelError(f"run {src.id!r} recorded no trained configuration; train in evaluation mode first")
    for k in ("seed", "device", "num_threads"):
        cfg.pop(k, None)
    best = int(src.metrics.get("best_epoch") or cfg.get("epochs") or 1)
    cfg.update(epochs=max(best, 1), patience=max(best, 1))
    ig = src.metrics.get("item_graph") or {}
    if ig.get("params"):
        cfg["item_graph_lambdas"] = [ig["params"]["lam"]]
        cfg["item_graph_concept_weights"] = [ig["params"]["concept_weight"]]
        cfg["item_graph_transitions"] = [ig["params"].get("transitions", 0.0)]
        cfg["item_graph_text_priors"] = [ig["params"].get("text_prior", 0.0)]
    if ig.get("multiplier") is not None:
        cfg["item_graph_weights"] = [ig["multiplier"]]
    decay = (src.metrics.get("recency") or {}).get("item_graph")
    if decay is not None:
        cfg["recency_decays"] = [decay]
    return src.id, cfg


def run_training(db: Database, *, type_names: list[str], model: str = "ours", epochs: int | None = None,
                 dim: int | None = None, min_confidence: float = 0.0, write: bool = True, seed: int = 0,
                 dataset: str | None = None, overrides: dict[str, Any] | None = None, batch_size: int = 2000,
                 for_serving: bool = False, params_from: str | None = None, warm_start: bool | str = False,
                 progress: bool = False, on_stage: Callable[[str], None] | None = None,
                 text_encoder: Any = None, other_datasets_ok: bool = False) -> TrainResult:
    """Export the train graph, train ``model``, write its embeddings and attention back and make its run current.

    Evaluation mode (the default) trains on the train split and selects on valid. ``for_serving`` trains on every
    interaction in the graph, whatever its split, with the hyperparameters an evaluation-mode run chose
    (:func:`serving_overrides`; ``overrides``, an explicit ``epochs`` and an explicit ``dim`` still win: the result's
    ``epochs_chosen`` then says which best epoch they replaced), and holds nothing out.

    The ``(:ModelRun)`` is created first (status ``running``), finished as ``complete`` with the valid / test
    metrics and timings, or ``failed`` with the error. It becomes current only after a full write-back; then the
    embeddings, attention and item links of other runs are removed (with ``dataset``: only from that dataset's users
    and items; another dataset's state is never deleted). Models without embeddings (``ease``, ``itemknn``,
    ``pop``) and ``write=False`` record a complete run that is not current and write nothing else.

    ``text_encoder`` embeds the items' text when ours' item graph tries a text prior (default: the project's
    embedder, :func:`~kgrec_neo4j.core.embed.get_embedder`).

    With ``dataset``, a run that would become current while the graph holds users of other datasets is refused
    (:func:`check_dataset_run`) unless ``other_datasets_ok``.

    ``warm_start`` (ours): start from the parameters of the current run (``True``) or of the run it names, new users
    and items initialised by fold-in (:mod:`~kgrec_neo4j.model.warm`); the report's history starts at epoch 0.
    """
    if model not in MODELS and model not in ABLATIONS:
        raise ValueError(f"model must be one of {', '.join(MODELS + tuple(ABLATIONS))} (got {model!r})")
    check_dataset(db, dataset)
    if dataset is not None and write and not other_datasets_ok and model not in CLOSED_FORM:
        check_dataset_run(db, dataset)  # (the closed-form models write no vectors and never become current)
    uses_interests = model.startswith("ours")  # (the baselines never read them)
    if not for_serving and uses_interests:  # interests that read valid and test carry the held-out labels
        check_for_evaluation(db, dataset)
    elif uses_interests:  # a half-switched graph's interests are a mix of both
        check_for_serving(db)
    if not for_serving:  # before a run is recorded (the export is told these checks are done)
        check_split_order(db, dataset)
    warm_from: str | None = None
    if warm_start:
        if not model.startswith("ours"):
            raise ModelError(f"--warm-start continues a run of ours; {model} trains from scratch")
        current = runs.current_run(db)
        warm_from = warm_start if isinstance(warm_start, str) else (current.id if current else None)
        if warm_from is None:
            raise ModelError("--warm-start needs a current run to start from; train one without it first")
        source = runs.get_run(db, warm_from)
        if not for_serving and source is not None and source.config.get("mode") == "serving":
            # it learnt from valid and test: an evaluation run that starts from it measures what it already saw
            latest = _evaluation_run(db, model)
            raise ModelError(
                f"run {warm_from} was trained for serving, on every interaction, valid and test too: an evaluation "
                f"run warm-started from it would be measured on what it already learnt. Add --for serving, or name "
                f"an evaluation run to start from (--warm-start RUN"
                + (f"; the latest of {model} is {latest.id})" if latest else f"; there is none of {model} yet)"))
    stage = on_stage or (lambda s: None)
    chosen_from = None
    epochs_chosen: int | None = None
    if for_serving:
        chosen_from, chosen = (serving_grid if model in CLOSED_FORM else serving_overrides)(db, model, params_from)
        if chosen_from is None:
            log.warning("no complete evaluation-mode run of %s: training on every interaction with the default "
                        "hyperparameters%s (train once without --for serving to choose them on valid)", model,
                        ", and without the item graph, whose weight is chosen on valid"
                        if model.startswith("ours") and model != "ours-no-item-graph" else "")
        if epochs is not None and "epochs" in chosen:  # an explicit number of epochs wins over the chosen one
            epochs_chosen = int(chosen.pop("epochs"))
            chosen["patience"] = max(epochs, 1)  # nothing is held out: no early stopping either
            if epochs_chosen != epochs:
                log.info("training %d epochs as asked; the evaluation run %s chose %d", epochs, chosen_from,
                         epochs_chosen)
        if dim is not None and chosen.get("embedding_dim", dim) != dim:  # so does an explicit embedding size
            log.info("training with embedding size %d as asked; the evaluation run %s used %d", dim, chosen_from,
                     chosen.pop("embedding_dim"))
        overrides = {**chosen, **(overrides or {})}
    wants_text = model not in CLOSED_FORM and needs_item_text(
        _train_config(model, epochs=epochs, dim=dim, seed=seed, overrides=overrides))
    text_from: dict[str, Any] | None = None
    if wants_text:
        text_encoder = _text_encoder(db, text_encoder)
        text_from = text_model(text_encoder)
        if chosen_from is not None:  # before anything is recorded or embedded
            check_text_model(runs.get_run(db, chosen_from), text_from)
    run = runs.new_run_id(model)
    config = {"model": model, "epochs": epochs, "dim": dim, "min_confidence": min_confidence, "seed": seed,
              "dataset": dataset, "overrides": overrides or {}, "writeback": write,
              "mode": "serving" if for_serving else "evaluation", "params_from": chosen_from,
              "warm_start": warm_from}
    fail_abandoned_runs(db)
    writeback.finish_cleanup(db)  # of a run whose training was stopped after it became current
    runs.create_run(db, run, model=model, config=config, dataset=dataset or runs.dataset_names(db))
    db.execute(cypher("train/run_set_process"), id=run, host=socket.gethostname(), pid=os.getpid(),
                started=process_started(os.getpid()))
    secs: dict[str, float] = {}
    try:
        stage("export")
        t = time.perf_counter()
        tg = export_train_graph(db, type_names=type_names, min_confidence=min_confidence, dataset=dataset,
                                all_interactions=for_serving, check_interests=False, check_splits=False)
        secs["export"] = time.perf_counter() - t
        if wants_text:
            stage("item text")
            t = time.perf_counter()
            _read_item_text(db, tg, text_encoder)
            secs["item_text"] = time.perf_counter() - t
        init = None
        warm: dict[str, int] = {}
        if warm_from is not None:
            from .warm import read_warm_start

            ws = read_warm_start(db, warm_from, tg)
            dim = dim or ws.params.dim

            def init(m: Any) -> None:
                warm.update(ws.apply(m, tg))
        stage("train")
        t = time.perf_counter()
        obj, report = train_model(tg, model, epochs=epochs, dim=dim, seed=seed, overrides=overrides,
                                  progress=progress, init=init)
        secs["train"] = time.perf_counter() - t
        warm_info = None
        if warm_from is not None:
            start = next((h.get("ndcg@10") for h in report.history if h.get("epoch") == 0), None)
            warm_info = {"run": warm_from, **warm, "valid_ndcg@10_at_epoch_0": start}
        outputs = model_outputs(obj) if write else None
        wb = None
        if outputs is not None:
            stage("write-back")
            t = time.perf_counter()
            users, items, concepts, attention = outputs
            from .foldin import export_model

            wb = writeback.write_back(db, tg, run, users=users, items=items, concepts=concepts,
                                      attention=attention, item_graph=getattr(obj, "item_graph", None),
                                      item_graph_weight=getattr(obj, "item_graph_weight", 0.0),
                                      foldin=export_model(obj, tg), min_confidence=min_confidence,
                                      batch_size=batch_size)
            secs["writeback"] = time.perf_counter() - t
            if getattr(obj, "item_graph", None) is not None and _borrows_by_text(db):
                # new items find their nearest trained items by text when `kgrec update` folds them in
                stage("item text vectors (embedded once per item text)")
                t = time.perf_counter()
                store_item_text(db, _text_encoder(db, text_encoder))
                secs["item_text_vectors"] = time.perf_counter() - t
        metrics = {"valid": report.valid, "test": report.test, "epochs": report.epochs,
                   "best_epoch": report.best_epoch, "train_seconds": report.train_seconds,
                   "peak_rss_mb": report.peak_rss_mb, "export": summary(tg),
                   "seconds": {k: round(v, 3) for k, v in secs.items()},
                   "trained_config": report.config, "recency": report.recency, "device": report.device,
                   "warm_start": warm_info,
                   "valid_history": [{k: v for k, v in h.items() if k in ("epoch", "ndcg@10")}
                                     for h in report.history if "epoch" in h],
                   "item_graph": {k: v for k, v in (report.parts.get("item_graph") or {}).items()
                                  if k in ("params", "weight", "multiplier")}}
        if text_from is not None and tg.item_text is not None:
            metrics["item_text"] = {**text_from, "dim": int(tg.item_text.shape[1])}
        runs.finish_run(db, run, metrics=metrics, status="complete")
        if wb is not None:
            runs.set_current(db, run)
            t = time.perf_counter()
            wb.cleared_embeddings, wb.cleared_attention = writeback.clear_stale(
                db, run, datasets=[dataset] if dataset else None)
            db.execute(cypher("train/run_set_cleared"), id=run)
            secs["clear_stale"] = time.perf_counter() - t
    except BaseException as e:
        if not db.reachable():  # the server is what failed: marking the run would be retried for minutes
            log.warning("could not mark run %s as failed: Neo4j is not reachable (`kgrec runs list` shows it as "
                        "abandoned once this process is gone)", run)
            raise
        try:
            runs.finish_run(db, run, metrics={"seconds": secs}, status="failed", error=f"{type(e).__name__}: {e}")
        except Exception as e2:  # noqa: BLE001 - keep the original error
            log.warning("could not mark run %s as failed (%s: %s)", run, type(e2).__name__, e2)
        raise
    return TrainResult(run=run, model=model, export=summary(tg),
                       report=report.model_dump(exclude={"history"}),
                       writeback=wb.model_dump() if wb else None, current=wb is not None,
                       seconds={k: round(v, 3) for k, v in secs.items()}, warm_start=warm_info,
                       epochs_chosen=epochs_chosen, params_from=chosen_from)


# ====================================================================== comparison table
def _fmt(x: float) -> str:
    return f"{x:.4f}"


def _seeds(rows: list[EvaluationRow]) -> str:
    """The seed(s) and epoch cap the rows trained with: one seed moves an iterative model's test NDCG@10 by more
    than the gap between two models (a walkthrough: ours 0.0240 with seed 42, 0.0321 with seed 7)."""
    seeds = sorted({r.config["seed"] for r in rows if r.config.get("seed") is not None})
    caps = sorted({r.config["epochs"] for r in rows
                   if r.protocol == "train-only" and r.epochs and r.config.get("epochs") is not None})
    out = (f"Seed {seeds[0]} (`KGREC_SEED`), one run per model" if len(seeds) == 1
           else f"Seeds {', '.join(map(str, seeds))}" if seeds else "")
    if caps:
        out += f"; iterative models up to {', '.join(map(str, caps))} epochs"
    return out + "." if out else ""


def _dropped(export: dict[str, Any]) -> str:
    """The test interactions left out, when any: a test item the user also has in train can never be ranked."""
    n = int((export.get("heldout_dropped") or {}).get("test_repeat", 0))
    return (f"; {n} test interaction{'s' if n != 1 else ''} left out: the item is in the user's train history too"
            if n else "")


def markdown_table(rows: list[EvaluationRow], export: dict[str, Any]) -> str:
    """The comparison as markdown: test metrics, valid NDCG@10, training time and epochs per model."""
    lines = [
        "# Evaluation",
        "",
        f"Train graph: {export.get('users')} users, {export.get('items')} items, {export.get('concepts')} concepts, "
        f"{export.get('train_interactions')} train interactions ({export.get('dislikes')} dislikes), "
        f"{export.get('item_concept_edges')} item-concept and {export.get('user_concept_edges')} user-concept edges; "
        f"min confidence {export.get('min_confidence')}. Protocol: last-two-out split, full ranking over all items "
        f"with the user's train items masked, model selection and early stopping on valid, test evaluated once "
        f"({rows[0].test.get('users', 0) if rows else 0:.0f} test users{_dropped(export)}). {_seeds(rows)}",
        "",
        "| model | Recall@10 | Recall@20 | NDCG@10 | NDCG@20 | valid NDCG@10 | train s | epochs | epoch s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r.protocol != "train-only":
            continue
        lines.append(f"| {r.model} | " + " | ".join(_fmt(r.test.get(m, 0.0)) for m in METRICS)
                     + f" | {_fmt(r.valid.get('ndcg@10', 0.0))} | {r.train_seconds:.1f} | {r.epochs} | "
                     + (f"{r.epoch_seconds:.1f} |" if r.epochs else "– |"))
    if any(r.model.startswith("ours/") for r in rows):
        lines += ["", "`ours/gnn part` and `ours/item graph part` are the two parts of ours scored alone (the same "
                  "trained model; reported, not selected on): the relation-aware GNN, and the closed-form stage-1 "
                  "item graph."]
    second = [r for r in rows if r.protocol != "train-only"]
    if second:
        lines += ["", "## History up to the target", "",
                  "The same split and test users; at test time the user's valid interaction is part of the history "
                  "(as in serving, where every interaction counts) and is masked out of the ranking with the train "
                  "items. *fold-in*: the model trained above, applied to the longer history without training (exact "
                  "for the item graph, EASE and ItemKNN; the model's own propagation for ours and LightGCN). "
                  "*refit*: retrained on train + valid with the hyperparameters and epochs chosen on valid above "
                  "(MF has no fold-in: its row is the refit).", "",
                  "| model | method | Recall@10 | Recall@20 | NDCG@10 | NDCG@20 | s |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for r in second:
            lines.append(f"| {r.model} | {r.method} | " + " | ".join(_fmt(r.test.get(m, 0.0)) for m in METRICS)
                         + f" | {r.train_seconds + r.eval_seconds:.1f} |")
    return "\n".join(lines) + "\n"


def run_evaluation(db: Database, *, type_names: list[str], models: list[str], out_dir: Path,
                   ablations: bool = True, epochs: int | None = None, dim: int | None = None,
                   min_confidence: float = 0.0, seed: int = 0, dataset: str | None = None,
                   overrides: dict[str, dict[str, Any]] | None = None, progress: bool = False,
                   history_protocol: bool = True, refit: str = "ours",
                   on_model: Callable[[str], None] | None = None) -> EvaluationResult:
    """Train and evaluate ``models`` (and, when ``ablations`` and ``ours`` is among them, :data:`ABLATIONS`) on
    one export under both protocols (:mod:`~kgrec_neo4j.model.protocols`); write ``evaluation.md`` and
    ``evaluation.json`` into ``out_dir``.

    Args:
        overrides: per model name, extra TrainConfig fields (or ``{"grid": [...]}`` for closed-form models).
        history_protocol: also report "history up to the target" (fold-in, and refit where asked).
        refit: which models are also refitted on train + valid: ``"ours"`` (ours and MF, which has no fold-in),
            ``"all"``, or ``"none"`` (MF still is).
    """
    from .evaluate import evaluate
    from .protocols import foldin_scorer, refit_overrides, with_valid_in_history

    bad = [m for m in models if m not in MODELS and m not in ABLATIONS]
    if bad or not models:
        raise ValueError(f"models must be among {', '.join(MODELS + tuple(ABLATIONS))} (got {models!r})")
    names = list(dict.fromkeys(models))
    if ablations and "ours" in names:
        names += [a for a in ABLATIONS if a not in names]
    uses_interests = any(m.startswith("ours") for m in names)  # (the baselines never read them)
    if uses_interests:
        check_for_evaluation(db, dataset)
    check_dataset(db, dataset)
    check_split_order(db, dataset)
    out_dir = make_out_folder(out_dir)  # before minutes of training: a folder that cannot be made failed after them
    tg = export_train_graph(db, type_names=type_names, min_confidence=min_confidence, dataset=dataset,
                            check_interests=False, check_splits=False)  # (both checked above)
    if not tg.test:
        raise ModelError("the graph has no test interactions (users need >= 3 interactions for last-two-out); "
                         "load more data before evaluating")
    if refit not in ("ours", "all", "none"):
        raise ValueError(f"refit must be 'ours', 'all' or 'none' (got {refit!r})")
    export = summary(tg)
    if "ours" in names and needs_item_text(
            _train_config("ours", epochs=epochs, dim=dim, seed=seed, overrides=(overrides or {}).get("ours"))):
        _read_item_text(db, tg)
    tg_b = with_valid_in_history(tg) if history_protocol else None
    rows = []
    for name in names:
        if on_model:
            on_model(name)
        obj, rep = train_model(tg, name, epochs=epochs, dim=dim, seed=seed, overrides=(overrides or {}).get(name),
                               progress=progress)
        rows.append(EvaluationRow(model=name, valid=rep.valid, test=rep.test, train_seconds=rep.train_seconds,
                                  eval_seconds=rep.eval_seconds, epochs=rep.epochs, best_epoch=rep.best_epoch,
                                  config=rep.config, epoch_seconds=rep.epoch_seconds))
        if name == "ours" and rep.parts:
            ig = rep.parts["item_graph"]
            rows.append(EvaluationRow(model="ours/gnn part", valid=rep.parts["gnn"]["valid"],
                                      test=rep.parts["gnn"]["test"],
                                      train_seconds=rep.train_seconds - rep.item_graph_seconds, eval_seconds=0.0,
                                      epochs=rep.epochs, best_epoch=rep.best_epoch, config={},
                                      epoch_seconds=rep.epoch_seconds))
            rows.append(EvaluationRow(model="ours/item graph part", valid=ig["valid"], test=ig["test"],
                                      train_seconds=rep.item_graph_seconds, eval_seconds=0.0, epochs=0,
                                      best_epoch=0, config={**ig["params"], "weight": ig["weight"]}))
        log.info("%s: test %s (%.1fs)", name, rep.test, rep.train_seconds)
        if tg_b is None:
            continue
        t0 = time.perf_counter()
        fn = foldin_scorer(obj, tg, tg_b)
        if fn is not None:
            m = evaluate(fn, tg_b, "test")
            rows.append(EvaluationRow(model=name, protocol="history up to the target", method="fold-in",
                                      valid={}, test=m, train_seconds=0.0, eval_seconds=time.perf_counter() - t0,
                                      epochs=0, best_epoch=0, config={}))
        if fn is None or refit == "all" or (refit == "ours" and name == "ours"):
            if name in CLOSED_FORM:
                grid = [{k: v for k, v in rep.config.items()}] if rep.config else None
                _, rep_b = train_model(tg_b, name, seed=seed, overrides={"grid": grid} if grid else None)
            else:
                _, rep_b = train_model(tg_b, name, dim=dim, seed=seed, overrides=refit_overrides(rep))
            rows.append(EvaluationRow(model=name, protocol="history up to the target", method="refit",
                                      valid={}, test=rep_b.test, train_seconds=rep_b.train_seconds,
                                      eval_seconds=rep_b.eval_seconds, epochs=rep_b.epochs,
                                      best_epoch=rep_b.best_epoch, config=rep_b.config))
    md = markdown_table(rows, export)
    md_path, json_path = out_dir / "evaluation.md", out_dir / "evaluation.json"
    try:
        make_out_folder(out_dir)  # (again: it may have gone during the training)
        md_path.write_text(md, encoding="utf-8")
        json_path.write_text(json.dumps({"export": export, "rows": [r.model_dump() for r in rows]}, indent=2,
                                        default=str), encoding="utf-8")
    except OSError as e:
        raise unwritable(out_dir, e) from None
    return EvaluationResult(rows=rows, export=export, markdown=md, paths=[str(md_path), str(json_path)])
