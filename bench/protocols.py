"""The two evaluation protocols on one dataset (generic jsonl, PROXY concepts), and how close fold-in gets to a refit.

For each model: test metrics under (a) train-only history; under (b) history up to the target by *fold-in* (the
model trained under (a), applied to the history with the valid item, no training) and by *refit* (retrained on
train + valid with what (a) chose on valid). The fold-in quality target: ours (b, fold-in) within 2% NDCG@10 of
ours (b, refit). Several seeds; mean and std.

Example::

    python bench/protocols.py /work/shared/data/movielens-100k --seeds 0 1 2
    python bench/protocols.py /work/shared/data/amazon-office-2018 --models ours,ease,lightgcn
    python bench/protocols.py /work/shared/data/amazon-office-2018 --models ease,ease-recency,ours \
        --ease-lambdas 10,20,50 --item-graph-lambdas 10,20,50 --set ours:embedding_dim=128

The closed-form models' λ grid (``--ease-lambdas``: EASE, ``ease-recency``) and ours' item-graph λ grid
(``--item-graph-lambdas``) are chosen on valid; ``--set MODEL:KEY=VALUE`` sets a ``TrainConfig`` field of an
iterative model (``ours`` also reaches ``ours-no-item-graph``), as in ``bench/train_compare.py``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.train_compare import _floats, parse_sets  # noqa: E402
from kgrec_neo4j.model.data import dataset_paths, from_jsonl  # noqa: E402
from kgrec_neo4j.model.evaluate import evaluate  # noqa: E402
from kgrec_neo4j.model.itemgraph import shared_fits  # noqa: E402
from kgrec_neo4j.model.protocols import foldin_scorer, refit_overrides, with_valid_in_history  # noqa: E402
from kgrec_neo4j.model.recency import DEFAULT_DECAYS  # noqa: E402
from kgrec_neo4j.model.train import TrainConfig, fit, fit_closed_form  # noqa: E402

EASE_LAMBDAS = (100.0, 500.0, 2000.0)
ITEM_GRAPH_LAMBDAS = (200.0, 500.0)


def closed_grids(ease_lambdas: Sequence[float] = EASE_LAMBDAS) -> dict[str, list[dict[str, float]] | None]:
    """The valid grid of each closed-form model."""
    return {"pop": None, "itemknn": [{"k": 50}, {"k": 200}], "ease": [{"lam": lam} for lam in ease_lambdas],
            "ease-recency": [{"lam": lam, "decay": d} for lam in ease_lambdas for d in DEFAULT_DECAYS]}


CLOSED = closed_grids()


def train_config(name: str, seed: int, epochs: int, threads: int | None,
                 item_graph_lambdas: Sequence[float] = ITEM_GRAPH_LAMBDAS,
                 sets: dict[str, dict[str, Any]] | None = None) -> TrainConfig:
    """The (a) config of an iterative model; ``sets`` as from :func:`bench.train_compare.parse_sets`."""
    model = {"ours": "kgrec", "ours-no-item-graph": "kgrec"}.get(name, name)
    extra: dict[str, Any] = {"use_item_graph": False} if name == "ours-no-item-graph" else {}
    sets = sets or {}
    if name.startswith("ours"):  # ours' settings reach its ablation, which may override them
        extra.update(sets.get("ours", {}))
    extra.update(sets.get(name, {}))
    return TrainConfig(**{"model": model, "epochs": epochs, "patience": 10, "seed": seed, "num_threads": threads,
                          "item_graph_lambdas": list(item_graph_lambdas), "item_graph_concept_weights": [0.0, 2.0],
                          **extra})


def one(tg, tb, name: str, seed: int, epochs: int, threads: int | None,
        grids: dict[str, list[dict[str, float]] | None] | None = None,
        item_graph_lambdas: Sequence[float] = ITEM_GRAPH_LAMBDAS,
        sets: dict[str, dict[str, Any]] | None = None, refit: bool = True) -> dict:
    t0 = time.perf_counter()
    grids = grids or CLOSED
    if name in grids:
        obj, rep = fit_closed_form(tg, name, grids[name], seed=seed, num_threads=threads)
        refit_fn = lambda: fit_closed_form(tb, name, [rep.config] if rep.config else None,  # noqa: E731
                                           seed=seed, num_threads=threads)[1]
    else:
        obj, rep = fit(tg, train_config(name, seed, epochs, threads, item_graph_lambdas, sets))
        refit_fn = lambda: fit(tb, TrainConfig(**{**refit_overrides(rep), "num_threads": threads}))[1]  # noqa: E731
    a = rep.test
    fn = foldin_scorer(obj, tg, tb)
    b_fold = evaluate(fn, tb, "test") if fn is not None else None
    b_refit = refit_fn().test if refit else None
    ig = (rep.parts or {}).get("item_graph") or {}
    chosen = rep.config if name in grids else {**(ig.get("params") or {}), **rep.recency}
    return {"model": name, "seed": seed, "chosen": chosen, "a": a["ndcg@10"], "b_foldin": b_fold["ndcg@10"] if b_fold else None,
            "b_refit": b_refit["ndcg@10"] if b_refit else None, "a_recall20": a["recall@20"],
            "b_foldin_recall20": b_fold["recall@20"] if b_fold else None,
            "b_refit_recall20": b_refit["recall@20"] if b_refit else None,
            "valid": rep.valid.get("ndcg@10"), "epochs": rep.epochs, "best_epoch": rep.best_epoch, "device": rep.device,
            "train_seconds": round(rep.train_seconds, 1), "seconds": round(time.perf_counter() - t0, 1)}


def _ms(xs: list[float]) -> str:
    xs = [x for x in xs if x is not None]
    if not xs:
        return "–"
    return f"{statistics.mean(xs):.4f} ± {statistics.stdev(xs):.4f}" if len(xs) > 1 else f"{xs[0]:.4f}"


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path)
    ap.add_argument("--models", default="pop,itemknn,ease,ease-recency,lightgcn,ours")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--max-users", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--ease-lambdas", type=_floats, default=list(EASE_LAMBDAS), help="λ grid of ease, ease-recency")
    ap.add_argument("--item-graph-lambdas", type=_floats, default=list(ITEM_GRAPH_LAMBDAS),
                    help="λ grid of ours' item graph")
    ap.add_argument("--set", action="append", default=[], metavar="MODEL:KEY=VALUE",
                    help="a TrainConfig field of an iterative model (repeatable); ours:... also reaches ours-no-*")
    ap.add_argument("--no-refit", action="store_true", help="skip (b) refit (fold-in only; halves the time)")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    sets = parse_sets(a.set)
    grids = closed_grids(a.ease_lambdas)
    items, inter = dataset_paths(a.data)
    rows = []
    for seed in a.seeds:
        tg = from_jsonl(items, inter, max_users=a.max_users, seed=seed if a.max_users else 0)
        tb = with_valid_in_history(tg)
        with shared_fits():  # EASE and ease-recency share their fits per λ (released with this seed's graphs)
            for name in [m.strip() for m in a.models.split(",") if m.strip()]:
                r = one(tg, tb, name, seed, a.epochs, a.threads, grids, a.item_graph_lambdas, sets,
                        refit=not a.no_refit)
                print(json.dumps(r), flush=True)
                rows.append(r)
    print(f"\n{a.data.name}: test NDCG@10, mean ± std over seeds {a.seeds} (load average {os.getloadavg()[0]:.1f})")
    print("| model | (a) train-only | (b) fold-in | (b) refit | fold-in / refit |")
    print("|---|---:|---:|---:|---:|")
    for name in dict.fromkeys(r["model"] for r in rows):
        rs = [r for r in rows if r["model"] == name]
        fold = [r["b_foldin"] for r in rs]
        ratio = [r["b_foldin"] / r["b_refit"] for r in rs if r["b_foldin"] is not None and r["b_refit"]]
        print(f"| {name} | {_ms([r['a'] for r in rs])} | {_ms(fold)} | {_ms([r['b_refit'] for r in rs])} | "
              f"{_ms(ratio)} |")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    main()
