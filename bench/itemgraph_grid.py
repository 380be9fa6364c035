"""The item graph alone over a grid of λ × concept weight × transition weight × recency decay: valid NDCG@10 on
ours' valid sample (the users `kgrec train` selects on) and test NDCG@10, one row per point. What the default λ grid
and transition weight were chosen from (docs/results.md sections 1 and 4).

    python bench/itemgraph_grid.py --data ../shared/data/amazon-videogames-2018 --lambdas 100,200,500
    python bench/itemgraph_grid.py --data ../shared/data/amazon-office-2018 --lambdas 50 --concept-weights 2 \
        --transitions 0,0.5,1 --both-protocols
    NEO4J_URI=... NEO4J_PASSWORD=... python bench/itemgraph_grid.py --neo4j --lambdas 100,200,500   # the pipeline's graph

``--data``: a generic jsonl dataset (proxy concepts); ``--neo4j``: the train graph exported from the database in the
environment, as `kgrec train` exports it (evaluation mode). Test is scored at ``--test-decays`` only (each test
evaluation scores every test user). ``--both-protocols`` also scores test with the valid interaction in the history
(`test_b_ndcg10`, the second protocol, by fold-in: exact for the item graph).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import copy  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from bench.train_compare import _floats, emit  # noqa: E402
from kgrec_neo4j.model.evaluate import evaluate  # noqa: E402
from kgrec_neo4j.model.itemgraph import ItemGraph, signed_matrix  # noqa: E402
from kgrec_neo4j.model.protocols import with_valid_in_history  # noqa: E402
from kgrec_neo4j.model.recency import DEFAULT_DECAYS  # noqa: E402
from kgrec_neo4j.model.train import TrainConfig, valid_sample  # noqa: E402


def _graph(args: argparse.Namespace):
    if args.data is not None:
        from kgrec_neo4j.model.data import dataset_paths, from_jsonl

        return from_jsonl(*dataset_paths(args.data))
    from kgrec_neo4j.core.config import load_settings
    from kgrec_neo4j.core.db import connect
    from kgrec_neo4j.core.schema import load_pack
    from kgrec_neo4j.model.export import export_train_graph

    settings = load_settings()
    db = connect(settings)
    try:
        return export_train_graph(db, type_names=load_pack(settings.type_pack).names)
    finally:
        db.close()


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", type=Path, help="a generic jsonl dataset (proxy concepts)")
    src.add_argument("--neo4j", action="store_true", help="export the train graph from NEO4J_URI")
    ap.add_argument("--lambdas", type=_floats, default=[100.0, 200.0, 500.0])
    ap.add_argument("--concept-weights", type=_floats, default=[0.0, 2.0])
    ap.add_argument("--decays", type=_floats, default=list(DEFAULT_DECAYS))
    ap.add_argument("--test-decays", type=_floats, default=[0.8], help="decays also scored on test")
    ap.add_argument("--transitions", type=_floats, default=[0.0], help="transition weights β (0: none)")
    ap.add_argument("--transition-window", type=int, default=TrainConfig().item_graph_transition_window)
    ap.add_argument("--transition-decay", type=float, default=TrainConfig().item_graph_transition_decay)
    ap.add_argument("--both-protocols", action="store_true", help="also score test with the valid item in the history")
    ap.add_argument("--top-k", type=int, default=TrainConfig().item_graph_top_k, help="item links kept per item")
    ap.add_argument("--seed", type=int, default=0, help="the valid sample's seed (ours': the run's seed)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    g = _graph(args)
    users = valid_sample(g, TrainConfig().valid_sample, np.random.default_rng(args.seed))  # as fit() draws it
    g_b = with_valid_in_history(g) if args.both_protocols else None
    rows = []
    for lam in args.lambdas:
        for cw in args.concept_weights:
            for beta in args.transitions:
                t = time.perf_counter()
                ig = ItemGraph(lam, cw, 1.0, args.top_k, solver="dense", transitions=beta,
                               transition_window=args.transition_window,
                               transition_decay=args.transition_decay).fit(g)
                fit_s = time.perf_counter() - t
                for d in args.decays:
                    x = ig.with_decay(d)
                    row = {"lam": lam, "concept_weight": cw, "transitions": beta, "decay": d,
                           "fit_seconds": round(fit_s, 1),
                           "valid_ndcg10": evaluate(x.score, g, "valid", users=users)["ndcg@10"]}
                    if d in args.test_decays:
                        row["test_ndcg10"] = evaluate(x.score, g, "test")["ndcg@10"]
                        if g_b is not None:  # the same W scoring the longer histories (ItemGraph.score's x_u W)
                            xb = copy.copy(x)
                            xb.x = signed_matrix(g_b, x.dislike_value, d)
                            row["test_b_ndcg10"] = evaluate(xb.score, g_b, "test")["ndcg@10"]
                    emit(rows, row, args.json)
    return rows


if __name__ == "__main__":
    main()
