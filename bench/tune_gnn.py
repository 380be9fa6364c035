"""Tune LightGCN and our GNN part with the same budget on valid (the search behind docs/results.md).

Each model gets ``--budget`` configurations: its default first, then points drawn at random (seed
``--search-seed``) from its grid, without repeats. Shared grid (both models): learning rate, embedding size,
layers (LightGCN's propagation layers; our stage-1 user-item layers) and L2 weight. Ours' grid adds its own knobs:
the signed-edge and concept-centre loss weights, the stage-2 neighbour cap and the user side's recency decay. Our
GNN part is ours without the item graph (``use_item_graph=False``), trained alone. Every run: patience 10, at
most ``--epochs`` epochs, model seed 0; the best configuration is the one with the best valid NDCG@10 (test is
never read). Prints one line per configuration and the winner's settings as ``--set`` flags for
``bench/train_compare.py``.

    python bench/tune_gnn.py /work/shared/data/amazon-office-2018 --budget 8 --json /tmp/tune-office.json
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.train_compare import run_one  # noqa: E402
from kgrec_neo4j.model.data import dataset_paths, from_jsonl  # noqa: E402

SHARED: dict[str, list[Any]] = {
    "lr": [5e-4, 1e-3, 2e-3, 5e-3],
    "embedding_dim": [64, 128],
    "num_layers": [1, 2, 3],
    "weight_decay": [1e-5, 1e-4, 1e-3],
}
GRIDS: dict[str, dict[str, list[Any]]] = {
    "lightgcn": SHARED,
    "kgrec-no-item-graph": {
        **SHARED,
        "signed_weight": [0.0, 0.1, 0.3],
        "centre_weight": [0.0, 0.01, 0.1],
        "max_neighbors": [4, 8, 16],
        "recency_decay": [0.5, 0.7, 0.9, 1.0],
    },
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "lightgcn": {"lr": 5e-3, "embedding_dim": 64, "num_layers": 3, "weight_decay": 1e-4},
    "kgrec-no-item-graph": {"lr": 5e-3, "embedding_dim": 64, "num_layers": 2, "weight_decay": 1e-4,
                            "signed_weight": 0.1, "centre_weight": 0.01, "max_neighbors": 8, "recency_decay": 0.9},
}


def configurations(model: str, budget: int, seed: int) -> list[dict[str, Any]]:
    """The default, then ``budget - 1`` distinct random points of ``model``'s grid."""
    grid = GRIDS[model]
    keys = list(grid)
    points = [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]
    random.Random(seed).shuffle(points)
    out = [DEFAULTS[model]]
    for p in points:
        if len(out) >= budget:
            break
        if p != DEFAULTS[model]:
            out.append(p)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", type=Path)
    p.add_argument("--models", default="lightgcn,kgrec-no-item-graph")
    p.add_argument("--budget", type=int, default=8, help="configurations per model")
    p.add_argument("--search-seed", type=int, default=0)
    p.add_argument("--max-users", type=int, default=None)
    p.add_argument("--sample-seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=2048)
    p.add_argument("--valid-sample", type=int, default=10000)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args()
    # the flags bench/train_compare.py's run_one reads; --set carries each configuration
    args = argparse.Namespace(
        dim=64, epochs=a.epochs, batch_size=a.batch_size, lr=5e-3, patience=10, max_seconds=None,
        valid_sample=a.valid_sample, device="auto", lightgcn_layers=3, ui_layers=2, signed_weight=0.1,
        centre_weight=0.01, max_neighbors=8, knn_k=[200], ease_lambdas=[500.0], recency_decays=[1.0],
        item_graph_lambdas=[500.0], item_graph_concept_weights=[0.0], item_graph_top_k=100,
        item_graph_solver="auto", item_graph_neighbours=256, threads=a.threads, progress=False)
    t = time.perf_counter()
    graph = from_jsonl(*dataset_paths(a.dataset), max_users=a.max_users, seed=a.sample_seed)
    print(f"# {a.dataset.name}: {graph.summary()} (built in {time.perf_counter() - t:.1f}s)", flush=True)
    print(f"# cores: {os.cpu_count()}, load average at start: {os.getloadavg()}", flush=True)
    results: dict[str, list[dict]] = {}
    for model in a.models.split(","):
        results[model] = []
        for cfg in configurations(model, a.budget, a.search_seed):
            rep = run_one(graph, model, 0, args, {model if model == "lightgcn" else "kgrec": cfg})
            row = {"config": cfg, **{k: rep.get(k) for k in ("valid", "epochs", "best_epoch", "train_seconds",
                                                             "train_cpu_seconds", "peak_rss_mb", "error")}}
            results[model].append(row)
            if rep.get("error"):
                print(f"{model} {cfg}: ERROR {rep['error']}", flush=True)
            else:
                print(f"{model:<20} valid N@10 {rep['valid']['ndcg@10']:.4f}  epochs {rep['epochs']} "
                      f"(best {rep['best_epoch']})  {rep['train_seconds']:.0f}s  {cfg}", flush=True)
            if a.json:
                a.json.write_text(json.dumps({"dataset": str(a.dataset), "graph": graph.summary(),
                                              "args": {k: str(v) for k, v in vars(a).items()},
                                              "results": results}, indent=1))
    print(f"# load average at end: {os.getloadavg()}")
    for model, rows in results.items():
        ok = [r for r in rows if not r.get("error")]
        if not ok:
            continue
        best = max(ok, key=lambda r: r["valid"]["ndcg@10"])
        target = "lightgcn" if model == "lightgcn" else "kgrec"
        flags = " ".join(f"--set {target}:{k}={v}" for k, v in best["config"].items())
        print(f"best {model}: valid N@10 {best['valid']['ndcg@10']:.4f}: {flags}")


if __name__ == "__main__":
    main()
