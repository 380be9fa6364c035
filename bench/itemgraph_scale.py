"""Benchmark: the item graph's dense and sparse solvers at 17k, 50k and 100k items (time, peak memory, quality).

The catalogue grows by **replicating Video Games with disjoint ids**: the train graph of the whole data set
(``from_jsonl``: 50,546 users, 16,859 items, proxy concepts) is copied ``c`` times; copy ``r`` renames every
user, item and concept ``<id>#r`` and offsets its indices, so the copies share no node and no edge (a
block-diagonal union, ``c`` × the users, items, concepts and edges). ``c`` = 1, 3, 6 gives 16,859, 50,577 and
101,154 items. Because the copies are disjoint and equal, each copy's block of the exact solution is the
one-copy solution: the bench checks that the sparse solver's blocks agree across copies, and measures quality
(valid / test NDCG@10 against the dense solution) on the one-copy catalogue.

Each size runs in its own process (``--one``), so each peak RSS (``ru_maxrss``, the whole process: graph,
matrices and solver) is that size's own.

    python bench/itemgraph_scale.py --copies 1,3,6 --dense-copies 1 --json /tmp/scale.json
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgrec_neo4j.model.data import TrainGraph, dataset_paths, from_jsonl  # noqa: E402

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "amazon-videogames-2018"


def replicate(g: TrainGraph, copies: int) -> TrainGraph:
    """``copies`` disjoint copies of ``g`` (ids ``<id>#r``, indices offset per copy; see the module docstring)."""
    if copies < 1:
        raise ValueError(f"copies must be >= 1 (got {copies})")
    if copies == 1:
        return g
    n_u, n_i, n_c = g.num_users, g.num_items, g.num_concepts

    def ids(xs: list[str]) -> list[str]:
        return [f"{x}#{r}" for r in range(copies) for x in xs]

    def off(a: np.ndarray, n: int) -> np.ndarray:
        return np.concatenate([a + r * n for r in range(copies)])

    def rep(a: np.ndarray) -> np.ndarray:
        return np.tile(a, copies)

    def held(d: dict[int, list[int]]) -> dict[int, list[int]]:
        return {u + r * n_u: [i + r * n_i for i in items] for r in range(copies) for u, items in d.items()}

    return TrainGraph(
        user_ids=ids(g.user_ids), item_ids=ids(g.item_ids), concept_ids=ids(g.concept_ids), type_names=g.type_names,
        ui_user=off(g.ui_user, n_u), ui_item=off(g.ui_item, n_i), ui_sign=rep(g.ui_sign), ui_weight=rep(g.ui_weight),
        ic_item=off(g.ic_item, n_i), ic_concept=off(g.ic_concept, n_c), ic_type=rep(g.ic_type),
        ic_weight=rep(g.ic_weight), uc_user=off(g.uc_user, n_u), uc_concept=off(g.uc_concept, n_c),
        uc_horizon=rep(g.uc_horizon), uc_polarity=rep(g.uc_polarity), uc_weight=rep(g.uc_weight),
        valid=held(g.valid), test=held(g.test), ui_seq=rep(g.ui_seq),
        meta={**{k: v for k, v in g.meta.items() if k != "valid_sign"}, "copies": copies},  # (signs of copy 0 only)
    )


def one(args: argparse.Namespace) -> dict:
    """One size and solver, in this process."""
    import torch

    from kgrec_neo4j.model.evaluate import evaluate
    from kgrec_neo4j.model.itemgraph import ItemGraph

    if args.threads:
        torch.set_num_threads(args.threads)
    t = time.perf_counter()
    g = replicate(from_jsonl(*dataset_paths(args.data)), args.one)
    build_s = time.perf_counter() - t
    rss_graph = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t, c = time.perf_counter(), time.process_time()
    ig = ItemGraph(args.lam, args.concept_weight, 1.0, args.top_k, solver=args.solver,
                   neighbours=args.neighbours).fit(g)
    out = {"copies": args.one, "items": g.num_items, "users": g.num_users, "concepts": g.num_concepts,
           "train_interactions": int(g.ui_user.size), "solver": ig.params()["solver"],
           "neighbours": args.neighbours if ig.params()["solver"] == "sparse" else None,
           "fit_s": round(time.perf_counter() - t, 1), "fit_cpu_s": round(time.process_time() - c, 1),
           "build_graph_s": round(build_s, 1), "peak_rss_mb_graph": round(rss_graph),
           "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
           "links": int(ig.edges()[0].size), "load_average": os.getloadavg()}
    if args.one > 1:  # every copy's block must be the first copy's
        w = ig.w.tocsr() if hasattr(ig.w, "tocsr") else None
        if w is not None:
            n = g.num_items // args.one
            first = w[:n, :n]
            out["max_block_difference"] = float(max(abs(w[r * n:(r + 1) * n, r * n:(r + 1) * n] - first).max()
                                                    for r in range(1, args.one)))
            out["cross_copy_links"] = int(w.nnz - sum(w[r * n:(r + 1) * n, r * n:(r + 1) * n].nnz
                                                      for r in range(args.one)))
    if args.evaluate:
        for split in ("valid", "test"):
            out[f"{split}_ndcg@10"] = round(evaluate(ig.score, g, split)["ndcg@10"], 5)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--copies", default="1,3,6", help="catalogue sizes as copies of Video Games")
    p.add_argument("--dense-copies", default="1", help="sizes also solved densely ('' for none)")
    p.add_argument("--lam", type=float, default=500.0)
    p.add_argument("--concept-weight", type=float, default=2.0)
    p.add_argument("--top-k", type=int, default=100)
    p.add_argument("--neighbours", type=int, default=256)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--solver", default="sparse", help=argparse.SUPPRESS)
    p.add_argument("--evaluate", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one is not None:
        print(json.dumps(one(args)))
        return
    runs = [(int(c), "dense") for c in args.dense_copies.split(",") if c] + \
        [(int(c), "sparse") for c in args.copies.split(",") if c]
    print(f"# cores: {os.cpu_count()}, load average at start: {os.getloadavg()}", flush=True)
    results = []
    for copies, solver in runs:
        cmd = [sys.executable, __file__, "--one", str(copies), "--solver", solver, "--data", str(args.data),
               "--lam", str(args.lam), "--concept-weight", str(args.concept_weight), "--top-k", str(args.top_k),
               "--neighbours", str(args.neighbours)] + (["--threads", str(args.threads)] if args.threads else []) + \
            (["--evaluate"] if copies == 1 else [])
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            res = {"copies": copies, "solver": solver, "error": proc.stderr.strip().splitlines()[-1:]}
        else:
            res = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(res)
        print(json.dumps(res), flush=True)
        if args.json:
            args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "results": results},
                                            indent=1))
    print(f"# load average at end: {os.getloadavg()}")
    print("| items | solver | fit s (wall / CPU) | peak RSS MB (graph alone) | valid N@10 | test N@10 |")
    print("|---:|---|---:|---:|---:|---:|")
    for r in results:
        if "error" in r:
            print(f"| {r['copies']} copies | {r['solver']} | error: {r['error']} | | | |")
            continue
        print(f"| {r['items']:,} | {r['solver']}{' m=' + str(r['neighbours']) if r['neighbours'] else ''} | "
              f"{r['fit_s']} / {r['fit_cpu_s']} | {r['peak_rss_mb']} ({r['peak_rss_mb_graph']}) | "
              f"{r.get('valid_ndcg@10', '–')} | {r.get('test_ndcg@10', '–')} |")


if __name__ == "__main__":
    main()
