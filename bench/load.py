"""Benchmark: load the full Video Games set; compare with naive one-row-per-transaction MERGE.

Prints rows/s and the loader's peak RSS, then times the naive baseline on a 10k-interaction slice in
the same run and prints the ratio. Needs a running Neo4j (NEO4J_URI / NEO4J_PASSWORD); it EMPTIES
the database first.

    python bench/load.py [--data ../shared/data/amazon-videogames-2018] [--naive-rows 10000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgrec_neo4j import load as L  # noqa: E402
from kgrec_neo4j.core import schema  # noqa: E402
from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.core.db import clear_database as clear  # noqa: E402
from kgrec_neo4j.core.db import connect  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/amazon-videogames-2018"))
    ap.add_argument("--naive-rows", type=int, default=10_000)
    ap.add_argument("--batch-size", type=int, default=5000)
    a = ap.parse_args()
    settings = load_settings()
    db = connect(settings)
    clear(db)
    schema.apply(db, schema.load_pack("video_games"), dim=settings.embedding_dim)

    t = time.perf_counter()
    rep = L.load(db, [Path(a.data)], batch_size=a.batch_size)
    full_s = time.perf_counter() - t
    rows = rep.items_written + rep.users_written + rep.interactions_written
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"full load: {rep.users_written} users, {rep.items_written} items, {rep.interactions_written} interactions")
    print(f"full load: {full_s:.1f} s, {rows / full_s:,.0f} rows/s, {rep.interactions_written / full_s:,.0f} interactions/s, "
          f"loader peak RSS {rss_mb:.0f} MB")

    # naive baseline on a slice: one MERGE per row, one transaction per row
    clear(db)
    ds = L.read([Path(a.data)])
    xs = ds.interactions[: a.naive_rows]
    items = {x.item for x in xs}
    users = {x.user for x in xs}
    L_rows = [{k: v for k, v in ds.items[i].items() if k != "_line"} for i in items]
    t = time.perf_counter()
    for r in L_rows:
        db.write("MERGE (i:Item {id: $id}) SET i.title = $title, i.description = $description, "
                 "i.features = $features, i.categories = $categories, i.brand = $brand", **r)
    for u in users:
        db.write("MERGE (u:User {id: $id})", id=u)
    for x in xs:
        kind, sign = L.kind_sign(x.rating)
        db.write("MATCH (u:User {id: $user}) MATCH (i:Item {id: $item}) MERGE (u)-[e:INTERACTED {seq: $seq}]->(i) "
                 "SET e.rating = $rating, e.kind = $kind, e.sign = $sign", user=x.user, item=x.item, seq=x.seq,
                 rating=x.rating, kind=kind, sign=sign)
    naive_s = time.perf_counter() - t
    naive_rows = len(L_rows) + len(users) + len(xs)
    clear(db)
    t = time.perf_counter()
    tmp = Path("/tmp/kgrec-bench-slice")
    tmp.mkdir(exist_ok=True)
    import json

    with open(tmp / "items.jsonl", "w") as f:
        for r in L_rows:
            f.write(json.dumps({"item_id": r["id"], **{k: v for k, v in r.items() if k != "id"}}) + "\n")
    with open(tmp / "interactions.jsonl", "w") as f:
        for x in xs:
            f.write(json.dumps({"user_id": x.user, "item_id": x.item, "seq": x.seq, "rating": x.rating,
                                "timestamp": x.timestamp, "review_title": x.review_title,
                                "review_text": x.review_text}) + "\n")
    t = time.perf_counter()
    L.load(db, [tmp], batch_size=a.batch_size)
    batched_s = time.perf_counter() - t
    print(f"slice of {len(xs)} interactions ({naive_rows} rows): naive {naive_s:.1f} s ({naive_rows / naive_s:,.0f} rows/s), "
          f"batched {batched_s:.2f} s ({naive_rows / batched_s:,.0f} rows/s); batched is {naive_s / batched_s:.1f}x faster")
    print(f"full-load projection for the naive method: {naive_s / naive_rows * rows / 60:.1f} min")
    clear(db)
    db.close()


if __name__ == "__main__":
    main()
