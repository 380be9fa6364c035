"""Benchmark: what a dislike should mean in the item graph, measured on valid.

The item graph's ``X`` gives a pair with only dislikes the value ``item_graph_dislike_value`` (1: a dislike counts
as an interaction, like a like; 0: ignored; < 0: evidence against). The GNN reads dislikes through its own signed
dislike graph, whatever that value. This bench exports the train graph of the database ``NEO4J_URI`` points to
(GDS; nothing is written), trains ours ONCE (the GNN does not depend on the item graph), then for each dislike value
fits the item graph with the run's grids, chooses its weight in the score on valid as ``kgrec train`` does, and
reports valid and test NDCG@10 / Recall@10 of the item graph alone and of the fused model (the served score).

    python bench/dislike_value.py [--values 1,0.5,0,-0.5,-1] [--epochs N] [--json out.json]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.core.db import connect  # noqa: E402
from kgrec_neo4j.core.schema import load_pack  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--values", default="1,0.5,0,-0.5,-1", help="dislike values to try (comma-separated)")
    ap.add_argument("--epochs", type=int, default=None, help="override the training epochs (early stopping applies)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    import torch

    from kgrec_neo4j.model.evaluate import evaluate
    from kgrec_neo4j.model.export import export_train_graph
    from kgrec_neo4j.model.pipeline import _train_config
    from kgrec_neo4j.model.train import attach_item_graph, fit, fit_item_graph

    settings = load_settings()
    db = connect(settings)
    t0 = time.perf_counter()
    tg = export_train_graph(db, type_names=load_pack(settings.type_pack).names)
    db.close()
    print(f"exported in {time.perf_counter() - t0:.0f}s: {tg.summary()}", flush=True)
    cfg = _train_config("ours", epochs=args.epochs, dim=None, seed=args.seed, overrides={"use_item_graph": False})
    t0 = time.perf_counter()
    model, report = fit(tg, cfg)
    print(f"GNN trained in {time.perf_counter() - t0:.0f}s ({report.epochs} epochs): valid {report.valid}", flush=True)
    model.eval()
    with torch.no_grad():
        emb = tuple(model()[:2])
    rows = []
    for v in [float(x) for x in args.values.split(",")]:
        t0 = time.perf_counter()
        c = cfg.model_copy(update={"use_item_graph": True, "item_graph_dislike_value": v})
        ig, _ = fit_item_graph(tg, c)
        hist = attach_item_graph(model, ig, tg, c, np.random.default_rng(args.seed), emb=emb)
        fused = lambda users: model.score(users, emb)  # noqa: E731
        row = {"dislike_value": v, "item_graph_params": ig.params(),
               "item_graph_multiplier": getattr(model, "item_graph_multiplier", None),
               "weight_grid_valid_ndcg@10": {h["item_graph_multiplier"]: round(h["ndcg@10"], 5) for h in hist},
               "item_graph": {s: evaluate(ig.score, tg, s) for s in ("valid", "test")},
               "fused": {s: evaluate(fused, tg, s) for s in ("valid", "test")},
               "seconds": round(time.perf_counter() - t0, 1)}
        rows.append(row)
        print(f"dislike value {v:+g}: item graph valid ndcg@10 {row['item_graph']['valid']['ndcg@10']:.5f}, fused "
              f"valid ndcg@10 {row['fused']['valid']['ndcg@10']:.5f}, test {row['fused']['test']['ndcg@10']:.5f} "
              f"({row['seconds']}s)", flush=True)
    out = {"train_graph": tg.summary(), "gnn_valid": report.valid, "gnn_test": report.test, "rows": rows,
           "loadavg": os.getloadavg()}
    print(json.dumps(out, indent=2, default=float))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=float))
    return out


if __name__ == "__main__":
    main()
