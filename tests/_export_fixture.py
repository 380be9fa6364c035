"""The vg-slice with concepts, interests and confidences, for the export / write-back / train CLI tests.

Concepts are title tokens shared by >= 2 items (platform words typed ``Compatibility``, the rest ``Game
Features``). Confidences are seeded and spread over [0.3, 1.0]; a third of the edges have none (they count as
1.0). Interests come from train interactions only: positive from liked items (short horizon for the last
three), negative from disliked ones.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

SLICE = Path(__file__).parent / "data" / "vg-slice"
_PLATFORMS = {"nintendo", "3ds", "xl", "2ds", "ps4", "ps3", "playstation", "xbox", "wii", "switch", "pc", "ds"}
_STOP = {"the", "and", "for", "with", "of", "to", "in", "on", "new", "edition", "model", "old", "pack"}


def _tokens(title: str | None) -> list[str]:
    toks = re.findall(r"[a-z0-9]+", (title or "").lower())
    return list(dict.fromkeys(t for t in toks if len(t) > 1 and not t.isdigit() and t not in _STOP))


def _confidence(rng: np.random.Generator) -> float | None:
    return None if rng.random() < 1 / 3 else round(float(rng.uniform(0.3, 1.0)), 3)


def build(db, *, seed: int = 3) -> dict:
    """Load the slice and add the knowledge graph; returns ``{"concepts": n, "interests": n}``."""
    from kgrec_neo4j.load import load

    load(db, [SLICE])
    rng = np.random.default_rng(seed)
    titles = {r["id"]: r["title"] for r in db.query("MATCH (i:Item) RETURN i.id AS id, i.title AS title")}
    toks = {i: _tokens(t) for i, t in titles.items()}
    df = Counter(t for ts in toks.values() for t in ts)
    vocab = sorted(t for t, n in df.items() if n >= 2)
    db.write("""
        UNWIND $rows AS row
        MATCH (k:KnowledgeType {name: row.type})
        MERGE (c:Concept {id: row.id}) SET c.name = row.name, c.type = row.type
        MERGE (c)-[:OF_TYPE]->(k)""",
             rows=[{"id": f"t:{t}", "name": t, "type": "Compatibility" if t in _PLATFORMS else "Game Features"}
                   for t in vocab])
    db.write("""
        UNWIND $rows AS row
        MATCH (i:Item {id: row.item}), (c:Concept {id: row.concept})
        MERGE (i)-[r:HAS_KNOWLEDGE]->(c) SET r.confidence = row.confidence, r.support = 1""",
             rows=[{"item": i, "concept": f"t:{t}", "confidence": _confidence(rng)}
                   for i, ts in toks.items() for t in ts if t in df and df[t] >= 2])
    inter = db.query("""
        MATCH (u:User)-[x:INTERACTED]->(i:Item)
        RETURN u.id AS user, i.id AS item, x.seq AS seq, x.split AS split, x.sign AS sign ORDER BY user, seq""")
    db.write("""
        UNWIND $rows AS row
        MATCH (:User {id: row.user})-[x:INTERACTED {seq: row.seq}]->(:Item {id: row.item})
        SET x.confidence = row.confidence""",
             rows=[{**r, "confidence": _confidence(rng)} for r in inter])
    by_user = defaultdict(list)
    for r in inter:
        if r["split"] == "train":
            by_user[r["user"]].append(r)
    interests = []
    for user, xs in by_user.items():
        liked = [x for x in xs if x["sign"] > 0]
        recent = {x["item"] for x in liked[-3:]}
        count: Counter = Counter()
        short = set()
        for x in liked:
            for t in toks[x["item"]]:
                if df[t] >= 2:
                    count[t] += 1
                    if x["item"] in recent:
                        short.add(t)
        for t, n in count.most_common(5):
            interests.append({"user": user, "concept": f"t:{t}", "polarity": 1, "horizon": "short" if t in short
                              else "long", "weight": n / max(count.values()), "confidence": _confidence(rng)})
        for x in (x for x in xs if x["sign"] < 0):
            for t in [t for t in toks[x["item"]] if df[t] >= 2 and t not in count][:2]:
                interests.append({"user": user, "concept": f"t:{t}", "polarity": -1, "horizon": "long",
                                  "weight": 0.5, "confidence": _confidence(rng)})
    db.write("""
        UNWIND $rows AS row
        MATCH (u:User {id: row.user}), (c:Concept {id: row.concept})
        MERGE (u)-[r:INTERESTED_IN]->(c)
        SET r.polarity = row.polarity, r.horizon = row.horizon, r.weight = row.weight, r.confidence = row.confidence""",
             rows=interests)
    return {"concepts": len(vocab), "interests": len(interests)}
