"""Benchmark: first vocabulary (5 % of Video Games items) and projection of all other mentions.

Mentions are the typed chunks of all 16,8xx real Video Games titles (``title_mentions``), written into
an *empty* database (the bench refuses a database that has data unless ``--reset`` is given, which
deletes everything in it). Then:

1. ``build``: first vocabulary from a 5 % item sample, timed per type. With ``--cold`` the embedder
   uses a fresh cache file, so embedding time is included as on a first run.
2. all mention texts are embedded once (cache warm), then ``project`` twice in the same run: first through
   Neo4j's vector index (``search="index"``, the method before the exact search), then, after its
   assignments are removed, with the exact in-memory search (``search="exact"``, the default); the ratio of
   the two rates is printed. Embed time (cache hits only), search, writes and HAS_KNOWLEDGE are timed apart.
   CPU seconds of the Neo4j server (``--neo4j-home``) and of this process are measured too, so the result
   can be read on a shared, loaded machine:
   ``cpu-bound rate = mentions / (Neo4j CPU + Python CPU)`` is what one dedicated core pair would sustain
   at full use with one worker; the wall rate is what this machine gave at this load.

Usage::

    NEO4J_URI=bolt://127.0.0.1:7741 NEO4J_PASSWORD=... python bench/concepts_project.py --reset \
        --neo4j-home /tmp/neo4j-concepts --cold
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import psutil

from kgrec_neo4j.concepts.build import build_vocabulary
from kgrec_neo4j.concepts.project import project_mentions
from kgrec_neo4j.concepts.title_mentions import (
    read_items,
    title_mentions,
    write_mentions,
)
from kgrec_neo4j.core import schema
from kgrec_neo4j.core.config import load_settings
from kgrec_neo4j.core.db import clear_database, connect
from kgrec_neo4j.core.embed import Embedder, get_embedder


def cpu(p: psutil.Process | None) -> float:
    if p is None:
        return 0.0
    t = p.cpu_times()
    return t.user + t.system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reset", action="store_true", help="DELETE everything in the database first")
    ap.add_argument("--neo4j-home", type=Path, default=None, help="home of the local server (for its CPU time)")
    ap.add_argument("--cold", action="store_true", help="build with an empty embedding cache")
    ap.add_argument("--sample", type=float, default=0.05)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=Path("/tmp/concepts-project.json"))
    args = ap.parse_args()

    settings = load_settings()
    db = connect(settings)
    if db.value("MATCH (n) RETURN count(n) > 0 AS x") and not args.reset:
        raise SystemExit("the database is not empty; pass --reset to delete everything in it")
    clear_database(db)
    pack = schema.load_pack("video_games")
    schema.apply(db, pack, dim=settings.embedding_dim)
    server = None
    if args.neo4j_home:
        from kgrec_neo4j.local import neo4j_server as srv

        server = psutil.Process(int(srv.status(args.neo4j_home).pid or 0))
    me = psutil.Process()
    res: dict = {"load_avg_start": os.getloadavg(), "cpus": psutil.cpu_count()}

    data = Path(settings.data_dir)
    if not data.is_dir():
        data = Path(__file__).resolve().parents[2] / "shared" / "data"
    items = [it for it in read_items(data / "amazon-videogames-2018" / "items.jsonl.gz") if it.get("title")]
    ms = title_mentions(items, domain="video_games")
    t = time.perf_counter()
    write_mentions(db, ms)
    res["mentions_written"] = {"edges": len(ms), "unique": len({(m.type, m.key) for m in ms}),
                               "seconds": round(time.perf_counter() - t, 2)}

    emb = get_embedder(settings)
    build_emb = emb
    if args.cold:
        tmp = tempfile.mkdtemp(prefix="kgrec-cold-")
        build_emb = Embedder(settings.embedding_model, cache_path=Path(tmp) / "emb.sqlite",
                             batch_size=settings.embedding_batch_size)
    t = time.perf_counter()
    b = build_vocabulary(db, build_emb, pack, fraction=args.sample, seed=settings.seed)
    res["build"] = {"seconds": round(time.perf_counter() - t, 2), "items_sampled": b.items_sampled,
                    "cold_cache": args.cold,
                    "types": [{k: getattr(x, k) for k in ("type", "values", "concepts", "floor", "unshared",
                                                          "singletons", "embed_s", "cluster_s", "write_s")}
                              for x in b.types]}

    # warm the cache for every mention text, then project
    t = time.perf_counter()
    from kgrec_neo4j.concepts.store import encode_keys

    encode_keys(emb, sorted({m.key for m in ms}), pack.name)
    res["pre_embed_s"] = round(time.perf_counter() - t, 2)
    for search in ("index", "exact"):
        if search == "exact":  # undo the first projection: the same mentions are projected again
            db.write("MATCH (m:Mention)-[r:CANONICAL {method: 'projection'}]->() DELETE r")
            db.write("MATCH (m:Mention) WHERE m.pending REMOVE m.pending")
        c0s, c0m, t0 = cpu(server), cpu(me), time.perf_counter()
        p = project_mentions(db, emb, pack, workers=args.workers, batch_size=args.batch_size, search=search)
        wall = time.perf_counter() - t0
        cs, cm = cpu(server) - c0s, cpu(me) - c0m
        r = p.model_dump() | {"wall_total_s": round(wall, 2), "mentions_per_s_wall": round(p.mentions_per_s, 1),
                              "neo4j_cpu_s": round(cs, 2), "python_cpu_s": round(cm, 2),
                              "load_avg": os.getloadavg()[0]}
        if server is not None:
            r["cpu_ms_per_mention"] = round(1000 * (cs + cm) / max(1, p.mentions), 3)
            r["mentions_per_cpu_s"] = round(p.mentions / max(1e-9, cs + cm), 1)
        res[f"project_{search}"] = r
        print(f"{search}: {p.mentions} mentions, {p.assigned} assigned, search + write {p.project_s:.2f}s = "
              f"{p.mentions_per_s:.0f} mentions/s (load {os.getloadavg()[0]:.1f})", flush=True)
    ratio = res["project_exact"]["mentions_per_s_wall"] / max(1e-9, res["project_index"]["mentions_per_s_wall"])
    res["exact_over_index"] = round(ratio, 2)
    print(f"exact / index: {ratio:.2f}x")
    res["load_avg_end"] = os.getloadavg()
    args.out.write_text(json.dumps(res, indent=1, default=str))
    print(json.dumps(res, indent=1, default=str))


if __name__ == "__main__":
    main()
