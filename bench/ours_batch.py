"""Ours on one dataset (generic jsonl, PROXY concepts) with several batch sizes / learning rates, the item graph fixed.

Each variant trains in this process, one after another (the item graph is fitted once and shared); prints one row per
variant: served test NDCG@10 and Recall@20, each part alone, epochs (best), seconds per epoch. Used for the batch
size of ``auto_batch_size`` (docs/results.md section 4).

    python bench/ours_batch.py ../shared/data/amazon-videogames-2018 batch_size=16384,lr=0.01 batch_size=4096,lr=0.005
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.train_compare import _floats, _value, emit  # noqa: E402
from kgrec_neo4j.model.data import dataset_paths, from_jsonl  # noqa: E402
from kgrec_neo4j.model.itemgraph import shared_fits  # noqa: E402
from kgrec_neo4j.model.train import TrainConfig, fit  # noqa: E402


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("variants", nargs="+", help="KEY=VALUE,... TrainConfig fields of one variant")
    ap.add_argument("--item-graph-lambda", type=float, default=100.0)
    ap.add_argument("--item-graph-concept-weight", type=float, default=2.0)
    ap.add_argument("--recency-decay", type=float, default=0.8, help="the item graph's history decay")
    ap.add_argument("--item-graph-weights", type=_floats, default=None, help="mixing grid (default: TrainConfig's)")
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    g = from_jsonl(*dataset_paths(args.data))
    rows = []
    with shared_fits():
        for spec in args.variants:
            kw = {k: _value(v) for k, v in (x.split("=", 1) for x in spec.split(","))}
            extra = {"item_graph_weights": args.item_graph_weights} if args.item_graph_weights else {}
            cfg = TrainConfig(item_graph_lambdas=[args.item_graph_lambda],
                              item_graph_concept_weights=[args.item_graph_concept_weight],
                              recency_decays=[args.recency_decay], epochs=args.epochs, patience=10, **extra, **kw)
            t = time.perf_counter()
            _, rep = fit(g, cfg, progress=True)
            row = {"variant": spec, "batch_size": rep.config["batch_size"], "lr": rep.config["lr"],
                   "test_ndcg10": rep.test["ndcg@10"], "test_recall20": rep.test["recall@20"],
                   "valid_ndcg10": rep.valid["ndcg@10"], "gnn_test_ndcg10": rep.parts["gnn"]["test"]["ndcg@10"],
                   "item_graph_test_ndcg10": rep.parts["item_graph"]["test"]["ndcg@10"],
                   "multiplier": rep.parts["item_graph"]["multiplier"], "epochs": rep.epochs, "best": rep.best_epoch,
                   "epoch_seconds": round(rep.epoch_seconds, 2), "item_graph_seconds": round(rep.item_graph_seconds, 1),
                   "eval_seconds": round(rep.eval_seconds, 1), "seconds": round(time.perf_counter() - t, 1)}
            emit(rows, row, args.json)
    return rows


if __name__ == "__main__":
    main()
