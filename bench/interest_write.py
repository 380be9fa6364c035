"""Benchmark: the update's interest write (``cypher/interests/replace_edges.cypher``) against writes that seek each
changed edge by its element id, on the same change set.

On a graph with offline interests (e.g. the one ``bench/update_incremental.py`` leaves), a seeded sample of
``--users`` users with interests is drawn and a change set shaped like an update's is built from their stored edges:
per user ``--changed`` edges get new values, ``--deleted`` are removed and ``--created`` new short-term edges go to
concepts the user has none to (about the 25,000 edge writes of the benchmark's next update for 4,400 users).
``replace_edges`` finds a user's edges by reading all of them (with their concept's id); the other write is handed
each edge's element id by the read before it (as ``cypher/interests/train_interactions.cypher`` could return it) and
seeks it directly. Both write the same batches of ``--batch`` users.

Rolled back (default): the two are timed on the same change set, ``--repeats`` times, the graph left as it was.
With ``--commit`` the writes are committed: one half of the users is written by each, then (``--order``) the other
way round on a new change set; the graph is changed (use a scratch one).

    python bench/interest_write.py --users 4400 --repeats 3
    python bench/interest_write.py --users 4400 --commit --order AD
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.core.db import Database, connect  # noqa: E402
from kgrec_neo4j.core.resources import cypher  # noqa: E402

BY_ID = """
CALL () {
  UNWIND $upd AS x
  MATCH (u:User)-[r:INTERESTED_IN]->() WHERE elementId(r) = x.id AND u.id = x.user
  WITH r, x.e AS e
  SET r.polarity = e.polarity, r.weight = e.weight, r.confidence = e.confidence, r.evidence = e.evidence,
      r.updated_seq = e.updated_seq, r.support = e.support, r.digest = e.digest, r.run = $run
  RETURN count(*) AS changed
}
CALL () {
  UNWIND $del AS x
  MATCH (u:User)-[r:INTERESTED_IN]->() WHERE elementId(r) = x.id AND u.id = x.user
  DELETE r
  RETURN count(*) AS deleted
}
CALL () {
  UNWIND $cre AS x
  MATCH (u:User {id: x.user})
  MATCH (c:Concept {id: x.e.concept})
  WITH u, c, x.e AS e
  CREATE (u)-[r:INTERESTED_IN {extractor: $extractor, horizon: e.horizon}]->(c)
  SET r.polarity = e.polarity, r.weight = e.weight, r.confidence = e.confidence, r.evidence = e.evidence,
      r.updated_seq = e.updated_seq, r.support = e.support, r.digest = e.digest, r.run = $run
  RETURN count(*) AS created
}
RETURN changed, deleted, created
"""

STORED = ("UNWIND $users AS uid MATCH (u:User {id: uid}) RETURN uid AS user, "
          "[(u)-[r:INTERESTED_IN {extractor: 'offline'}]->(c:Concept) | [c.id, r.horizon, elementId(r)]] AS stored")


def change_set(db: Database, users: list[str], concepts: list[str], rng: random.Random, args: argparse.Namespace
               ) -> tuple[dict[str, dict], dict[str, dict]]:
    """Per user: the rows of replace_edges and the rows of the write by element id, for one synthetic change."""
    stored: dict[str, list] = {}
    for k in range(0, len(users), 2000):
        stored.update({r["user"]: r["stored"] for r in db.query(STORED, users=users[k:k + 2000])})
    a: dict[str, dict] = {}
    d: dict[str, dict] = {}
    for u in users:
        st = list(stored[u])
        rng.shuffle(st)
        ch, de = st[:args.changed], st[args.changed:args.changed + args.deleted]
        have = {c for c, _, _ in st}
        new = [c for c in rng.sample(concepts, 5 * args.created + 5) if c not in have][:args.created]
        ups: dict[str, dict] = {}
        upd, cre = [], []
        salt = rng.randrange(1 << 30)
        for c, h, eid in ch:
            e = dict(concept=c, horizon=h, polarity=1, weight=0.5, confidence=0.7, evidence=["a", "b"],
                     updated_seq=5, support=3, digest=salt)
            ups[f"{c}|{h}"] = e
            upd.append({"id": eid, "user": u, "e": e})
        for c in new:
            e = dict(concept=c, horizon="short", polarity=1, weight=0.5, confidence=0.7, evidence=["a"],
                     updated_seq=5, support=1, digest=salt)
            ups[f"{c}|short"] = e
            cre.append({"user": u, "e": e})
        a[u] = {"user": u, "upsert": ups, "delete": [f"{c}|{h}" for c, h, _ in de]}
        d[u] = {"upd": upd, "del": [{"id": eid, "user": u} for _, _, eid in de], "cre": cre}
    return a, d


def timed(db: Database, query: str, commit: bool, **params: Any) -> tuple[float, dict]:
    t = time.perf_counter()
    with db.driver.session(database=db.database) as s:
        tx = s.begin_transaction()
        got = dict(tx.run(query, params).single(strict=True))
        if commit:
            tx.commit()
        else:
            tx.rollback()
    return time.perf_counter() - t, got


def write(db: Database, how: str, users: list[str], a: dict, d: dict, batch: int, commit: bool
          ) -> tuple[float, dict[str, int]]:
    total, counts = 0.0, {"changed": 0, "deleted": 0, "created": 0}
    for k in range(0, len(users), batch):
        part = users[k:k + batch]
        if how == "A":
            dt, got = timed(db, cypher("interests/replace_edges"), commit, rows=[a[u] for u in part],
                            extractor="offline", run="bench")
        else:
            dt, got = timed(db, BY_ID, commit, upd=[x for u in part for x in d[u]["upd"]],
                            cre=[x for u in part for x in d[u]["cre"]], extractor="offline", run="bench",
                            **{"del": [x for u in part for x in d[u]["del"]]})
        total += dt
        for key in counts:
            counts[key] += int(got[key])
    return total, counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=4400)
    ap.add_argument("--changed", type=int, default=3)
    ap.add_argument("--deleted", type=int, default=1)
    ap.add_argument("--created", type=int, default=2)
    ap.add_argument("--batch", type=int, default=550, help="users per write transaction")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--commit", action="store_true")
    ap.add_argument("--order", default="AD", help="with --commit: which write takes the first half first")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    db = connect(load_settings())
    rng = random.Random(args.seed)
    users = db.value("MATCH (u:User) WHERE EXISTS { (u)-[:INTERESTED_IN {extractor: 'offline'}]->() } "
                     "RETURN collect(u.id)")
    users = sorted(rng.sample(users, min(args.users, len(users))))
    concepts = db.value("MATCH (c:Concept) RETURN collect(c.id)")
    names = {"A": "replace_edges (reads every edge of the user)", "D": "by element id"}
    if not args.commit:
        a, d = change_set(db, users, concepts, rng, args)
        for rep in range(args.repeats):
            for how in "AD":
                s, counts = write(db, how, users, a, d, args.batch, False)
                print(f"repeat {rep}: {names[how]}: {s:.2f}s rolled back, {counts}", flush=True)
        return
    half = len(users) // 2
    for rnd, order in enumerate((args.order, args.order[::-1])):
        a, d = change_set(db, users, concepts, rng, args)
        for part, how in zip((users[:half], users[half:]), order, strict=True):
            s, counts = write(db, how, part, a, d, args.batch, True)
            print(f"round {rnd}: {names[how]} on {len(part)} users: {s:.2f}s committed, {counts}", flush=True)


if __name__ == "__main__":
    main()
