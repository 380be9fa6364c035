"""Compare our relation-aware GNN with the baselines on one dataset (generic jsonl, PROXY concepts).

Every model sees the same TrainGraph (last-two-out split); hyperparameters are chosen on valid only;
test is evaluated once per model. Each model runs in its own forked process so its peak RSS is its own.

Examples:
    python bench/train_compare.py /work/shared/data/movielens-100k
    python bench/train_compare.py /work/shared/data/amazon-videogames-2018 --max-users 10000 \
        --models pop,itemknn,ease,mf,lightgcn,kgrec --json /tmp/vg10k.json
"""

from __future__ import annotations

import os

# Idle OpenMP threads must sleep, not spin: on a shared, oversubscribed machine spinning made a 2-thread
# training step 15x slower than a 1-thread one. Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing as mp  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgrec_neo4j.model.data import dataset_paths, from_jsonl  # noqa: E402
from kgrec_neo4j.model.train import TrainConfig, fit, fit_closed_form  # noqa: E402

ABLATIONS = {
    "kgrec-no-concepts": {"use_concepts": False},
    "kgrec-no-negative": {"use_negative": False},
    "kgrec-no-stage1": {"use_stage1": False},
    "kgrec-no-item-graph": {"use_item_graph": False},
}


def _run(graph, name: str, args, queue) -> None:
    try:
        if name in ("pop", "itemknn", "ease"):
            grid = {"pop": None,
                    "itemknn": [{"k": k} for k in args.knn_k],
                    "ease": [{"lam": lam} for lam in args.ease_lambdas]}[name]
            _, rep = fit_closed_form(graph, name, grid, seed=args.seed)
        else:
            base = {"embedding_dim": args.dim, "epochs": args.epochs, "batch_size": args.batch_size,
                    "lr": args.lr, "patience": args.patience, "seed": args.seed, "max_seconds": args.max_seconds,
                    "valid_sample": args.valid_sample, "num_threads": args.threads}
            if name == "lightgcn":
                cfg = TrainConfig(model="lightgcn", num_layers=args.lightgcn_layers, **base)
            elif name == "mf":
                cfg = TrainConfig(model="mf", **base)
            else:
                extra = ABLATIONS.get(name, {})
                cfg = TrainConfig(model="kgrec", num_layers=args.ui_layers, signed_weight=args.signed_weight,
                                  centre_weight=args.centre_weight, max_neighbors=args.max_neighbors,
                                  item_graph_lambdas=args.item_graph_lambdas,
                                  item_graph_concept_weights=args.item_graph_concept_weights,
                                  item_graph_top_k=args.item_graph_top_k or None, **base, **extra)
            _, rep = fit(graph, cfg, progress=args.progress)
        queue.put(rep.model_dump())
    except Exception as e:  # report and keep the other models running
        queue.put({"model": name, "error": repr(e)})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", type=Path)
    p.add_argument("--models", default="pop,itemknn,ease,mf,lightgcn,kgrec")
    p.add_argument("--max-users", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=4096)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--max-seconds", type=float, default=None)
    p.add_argument("--valid-sample", type=int, default=10000)
    p.add_argument("--lightgcn-layers", type=int, default=3)
    p.add_argument("--ui-layers", type=int, default=2)
    p.add_argument("--signed-weight", type=float, default=0.1)
    p.add_argument("--centre-weight", type=float, default=0.01)
    p.add_argument("--max-neighbors", type=int, default=8)
    p.add_argument("--knn-k", type=lambda s: [int(x) for x in s.split(",")], default=[50, 200])
    p.add_argument("--ease-lambdas", type=lambda s: [float(x) for x in s.split(",")], default=[100.0, 500.0])
    p.add_argument("--item-graph-lambdas", type=lambda s: [float(x) for x in s.split(",")], default=[500.0])
    p.add_argument("--item-graph-concept-weights", type=lambda s: [float(x) for x in s.split(",")],
                   default=[0.0, 2.0])
    p.add_argument("--item-graph-top-k", type=int, default=100, help="item links per item (0: dense)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--progress", action="store_true")
    args = p.parse_args()

    t = time.perf_counter()
    graph = from_jsonl(*dataset_paths(args.dataset), max_users=args.max_users, seed=args.seed)
    print(f"# {args.dataset.name}: {graph.summary()} (PROXY concepts; built in {time.perf_counter() - t:.1f}s)",
          flush=True)
    print(f"# cores: {os.cpu_count()}, load average at start: {os.getloadavg()}", flush=True)
    ctx = mp.get_context("fork")
    results = []
    for name in args.models.split(","):
        q = ctx.Queue()
        proc = ctx.Process(target=_run, args=(graph, name, args, q))
        proc.start()
        rep = q.get()
        proc.join()
        results.append(rep)
        if "error" in rep:
            print(f"{name}: ERROR {rep['error']}", flush=True)
            continue
        te = rep["test"]
        print(f"{rep['model']:<22} R@10 {te['recall@10']:.4f}  R@20 {te['recall@20']:.4f}  "
              f"N@10 {te['ndcg@10']:.4f}  N@20 {te['ndcg@20']:.4f}  | valid N@10 {rep['valid']['ndcg@10']:.4f} "
              f"| train {rep['train_seconds']:.0f}s wall, {rep['train_cpu_seconds']:.0f}s cpu; epoch "
              f"{rep['epoch_seconds']:.1f}s wall, {rep['epoch_cpu_seconds']:.1f}s cpu; epochs {rep['epochs']} "
              f"(best {rep['best_epoch']}); peak RSS {rep['peak_rss_mb']:.0f} MB; config {_short(rep)}",
              flush=True)
        for part, m in (rep.get("parts") or {}).items():
            print(f"  {part + ' alone':<20} R@10 {m['test']['recall@10']:.4f}  R@20 {m['test']['recall@20']:.4f}  "
                  f"N@10 {m['test']['ndcg@10']:.4f}  N@20 {m['test']['ndcg@20']:.4f}  | valid N@10 "
                  f"{m['valid']['ndcg@10']:.4f}" + (f"  {m['params']}, weight {m['weight']:.4g}" if "params" in m else ""),
                  flush=True)
    print(f"# load average at end: {os.getloadavg()}")
    if args.json:
        args.json.write_text(json.dumps({"dataset": str(args.dataset), "graph": graph.summary(),
                                         "args": {k: (str(v) if isinstance(v, Path) else v)
                                                  for k, v in vars(args).items()},
                                         "results": results}, indent=1))


def _short(rep: dict) -> str:
    c = rep["config"]
    if "lr" not in c:
        return json.dumps(c)
    keys = ("embedding_dim", "num_layers", "lr", "batch_size")
    return ",".join(f"{k}={c[k]}" for k in keys)


if __name__ == "__main__":
    main()
