"""Benchmark: serving latency of recommend + explain, per user.

For ``--users`` requests (distinct users in a seeded order; when the graph has fewer users, the list wraps
around), one request = :func:`kgrec_neo4j.serve.recommend.recommend` with ``explain=True``: one Cypher round trip
for the user's embedding, train items and the current run id, numpy scoring against the cached item
matrix, the score of every item split into reasons, and one round trip for the stored paths of all k items.
Reports p50 / p95 / p99 / max per user, without storing (the serving path), without explanations (the baseline of
the same run) and, for ``--store-users`` of them, with the RECOMMENDED write. The run's model is loaded once before
timing (it is cached per process).

Needs a graph with a current model run (``kgrec demo``, or ``kgrec train``).

    python bench/serve.py [--users 1000] [--k 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.core.db import connect  # noqa: E402
from kgrec_neo4j.serve import recommend as R  # noqa: E402  # noqa: E402
from kgrec_neo4j.serve import scoring as S  # noqa: E402  # noqa: E402


def percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {"n": int(a.size), "p50_ms": round(float(np.percentile(a, 50)), 1),
            "p95_ms": round(float(np.percentile(a, 95)), 1), "p99_ms": round(float(np.percentile(a, 99)), 1),
            "max_ms": round(float(a.max()), 1), "mean_ms": round(float(a.mean()), 1)}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--store-users", type=int, default=200, help="Requests also timed with the RECOMMENDED write.")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    db = connect(load_settings())
    users = [r["id"] for r in db.query(
        "MATCH (u:User) WHERE u.gnn_embedding IS NOT NULL RETURN u.id AS id ORDER BY id")]
    if not users:
        sys.exit("no user has a gnn_embedding: train a model first (`kgrec train`)")
    order = np.random.default_rng(args.seed).permutation(len(users))
    reqs = [users[order[n % len(users)]] for n in range(args.users)]
    S.clear_cache()
    t0 = time.perf_counter()
    run = S.current_run(db)
    m = S.run_model(db, run, links=False)
    load_s = time.perf_counter() - t0
    for u in reqs[:20]:  # warm the driver pool and the query plan cache
        R.recommend(db, u, args.k, explain=True, store=False)

    ms, ms_plain, paths, explained = [], [], 0, 0
    load_before = os.getloadavg()
    for u in reqs:
        t = time.perf_counter()
        rec = R.recommend(db, u, args.k, explain=True, store=False)
        ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        R.recommend(db, u, args.k, explain=False, store=False)
        ms_plain.append((time.perf_counter() - t) * 1000)
        paths += sum(len(r.explanation.paths) for r in rec.items if r.explanation)
        explained += sum(1 for r in rec.items if r.explanation and any(x.paths for x in r.explanation.stated))
    ms_store = []
    for u in reqs[: args.store_users]:
        t = time.perf_counter()
        R.recommend(db, u, args.k, explain=True, store=True)
        ms_store.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    R.recommend_users(db, reqs, args.k, store=False)
    batch_s = time.perf_counter() - t
    out = {
        "run": run, "items": len(m.ids), "dim": m.dim, "users_in_graph": len(users), "requests": len(reqs),
        "distinct_users": len(set(reqs)), "k": args.k, "model_load_s": round(load_s, 2),
        "recommend_explain": percentiles(ms), "recommend_only": percentiles(ms_plain),
        "recommend_explain_store": percentiles(ms_store),
        "batch_recommend_only_per_user_ms": round(batch_s * 1000 / len(reqs), 2),
        "paths_per_request": round(paths / len(reqs), 1),
        "items_with_a_stated_reason_on_a_stored_path": round(explained / (len(reqs) * args.k), 3),
        "loadavg_1m_before_after": [round(load_before[0], 1), round(os.getloadavg()[0], 1)],
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    db.close()
    return out


if __name__ == "__main__":
    main()
