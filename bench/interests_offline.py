"""Benchmark: offline interests for every Video Games user (target: 50,546 users in <= 2 min on 2 cores).

Needs a running Neo4j (NEO4J_URI / NEO4J_PASSWORD). Steps, each skipped when its output is already there:

1. load ``amazon-videogames-2018`` (450k interactions, train/valid/test);
2. when no item has ``HAS_KNOWLEDGE`` yet, seed a concept vocabulary from real titles: the typed title
   chunks of ``kgrec_neo4j.concepts.title_mentions`` become one ``(:Concept)`` per (type, normalised key)
   that at least ``--min-items`` items share, with ``HAS_KNOWLEDGE {confidence = the rule's confidence,
   support = 1}`` (no embeddings: this step only gives the interest stage a realistic graph to read; the
   real vocabulary comes from ``kgrec concepts build``);
3. classify interactions by rating (``kgrec interactions classify --classifier rating``);
4. time :func:`kgrec_neo4j.users.interests.offline.extract_offline` over all users, twice (the second run
   replaces the same edges), and print the reports as JSON lines.

    python bench/interests_offline.py [--users N] [--batch-size 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kgrec_neo4j import schema  # noqa: E402
from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.core.db import connect  # noqa: E402
from kgrec_neo4j.users.interactions import classify_interactions  # noqa: E402
from kgrec_neo4j.users.interests.offline import OfflineParams, extract_offline  # noqa: E402

SEED_CONCEPTS = """
UNWIND $rows AS row
MERGE (c:Concept {id: row.id})
  ON CREATE SET c.type = row.type, c.name = row.name, c.origin = 'bench-title-keys'
WITH c, row
MATCH (k:KnowledgeType {name: row.type})
MERGE (c)-[:OF_TYPE]->(k)
WITH c, row
UNWIND row.items AS it
MATCH (i:Item {id: it.item})
MERGE (i)-[h:HAS_KNOWLEDGE]->(c)
SET h.confidence = it.confidence, h.support = 1
"""


def seed_vocabulary(db, data: Path, min_items: int) -> dict:
    from collections import defaultdict

    from kgrec_neo4j.concepts.title_mentions import read_items, title_mentions

    t0 = time.perf_counter()
    ms = title_mentions(read_items(data / "items.jsonl.gz"), domain="video_games")
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for m in ms:
        groups[(m.type, m.key)].append(m)
    rows = [{"id": f"bench:{t}:{k}", "type": t, "name": g[0].text,
             "items": [{"item": m.item_id, "confidence": m.confidence} for m in g]}
            for (t, k), g in sorted(groups.items()) if len({m.item_id for m in g}) >= min_items]
    db.write_batches(SEED_CONCEPTS, rows, batch_size=500)
    return {"mentions": len(ms), "concepts": len(rows), "has_knowledge": sum(len(r["items"]) for r in rows),
            "seconds": round(time.perf_counter() - t0, 1)}


def server_process(uri: str):
    """The process listening on the Bolt port of ``uri`` (to count its CPU time), or None."""
    import psutil

    port = int(uri.rsplit(":", 1)[1].split("/")[0])
    try:
        for c in psutil.net_connections(kind="tcp"):
            if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid:
                return psutil.Process(c.pid)
    except (psutil.AccessDenied, PermissionError):
        pass
    return None


def cpu_seconds(p) -> float:
    if p is None:
        return float("nan")
    t = p.cpu_times()
    return t.user + t.system


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(REPO.parent / "shared/data/amazon-videogames-2018"))
    ap.add_argument("--users", type=int, default=None)
    ap.add_argument("--batch-size", type=int, default=2000)
    ap.add_argument("--min-items", type=int, default=2)
    ap.add_argument("--runs", type=int, default=2)
    a = ap.parse_args()
    settings = load_settings()
    db = connect(settings)
    schema.apply(db, schema.load_pack("video_games"), dim=settings.embedding_dim)
    data = Path(a.data)
    n_edges = db.value("MATCH ()-[e:INTERACTED]->() RETURN count(e)")
    if not n_edges:
        from kgrec_neo4j.load import load

        rep = load(db, [data])
        print(json.dumps({"step": "load", "interactions": rep.interactions_written, "seconds": rep.seconds}), flush=True)
    if not db.value("MATCH ()-[h:HAS_KNOWLEDGE]->() RETURN count(h) > 0"):
        print(json.dumps({"step": "seed_vocabulary", **seed_vocabulary(db, data, a.min_items)}), flush=True)
    if not db.value("MATCH ()-[e:INTERACTED]->() WHERE e.confidence IS NOT NULL RETURN count(e) > 0"):
        rep = classify_interactions(db, None)
        print(json.dumps({"step": "classify_rating", "edges": rep.edges, "seconds": rep.seconds}), flush=True)
    stats = db.query("MATCH (u:User) WITH count(u) AS users MATCH ()-[h:HAS_KNOWLEDGE]->() "
                     "RETURN users, count(h) AS has_knowledge")[0]
    print(json.dumps({"step": "graph", **stats, "cpus": os.cpu_count()}), flush=True)
    import psutil

    neo4j, me = server_process(settings.neo4j_uri), psutil.Process()
    for run in range(a.runs):
        c0, m0, l0 = cpu_seconds(neo4j), cpu_seconds(me), os.getloadavg()[0]
        rep = extract_offline(db, params=OfflineParams(), limit=a.users, batch_size=a.batch_size)
        # CPU seconds spent by Neo4j and by this process: wall time on a busy shared machine overstates the
        # cost; (neo4j + python CPU) / 2 is the wall time a dedicated 2-core machine would need at best.
        cpu = {"neo4j_cpu_s": round(cpu_seconds(neo4j) - c0, 1), "python_cpu_s": round(cpu_seconds(me) - m0, 1),
               "loadavg_start": round(l0, 1), "loadavg_end": round(os.getloadavg()[0], 1)}
        print(json.dumps({"step": f"offline_interests_run{run + 1}", **rep.model_dump(), **cpu}), flush=True)
    db.close()


if __name__ == "__main__":
    main()
