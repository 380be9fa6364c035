"""A small, seeded knowledge graph on the real vg-slice for recommend / explain / report tests.

What later stages would write is created here directly with Cypher: title-token concepts
(``HAS_KNOWLEDGE {confidence, support, attention}``), interests from the users' train interactions
(``INTERESTED_IN {horizon, polarity, weight, confidence, evidence, attention}``, negative ones from
dislikes), ``INTERACTED.attention``, seeded ``gnn_embedding``s that follow the concepts (so that
recommendations have paths to find), and one current ``(:ModelRun)``.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

SLICE = Path(__file__).parent / "data" / "vg-slice"
RUN = "run-test-1"
DIM = 16
_STOP = {"the", "and", "for", "with", "of", "to", "a", "in", "on", "new", "edition", "model", "old", "pack"}
_PLATFORMS = {"nintendo", "3ds", "xl", "2ds", "ps4", "ps3", "playstation", "xbox", "wii", "switch", "pc", "ds", "vita"}


def tokens(title: str | None) -> list[str]:
    toks = re.findall(r"[a-z0-9]+", (title or "").lower())
    return list(dict.fromkeys(t for t in toks if len(t) > 1 and not t.isdigit() and t not in _STOP))


def build(db, *, seed: int = 7) -> dict:
    """Load the slice and add concepts, interests, attention, embeddings and a current run. Returns facts."""
    from kgrec_neo4j.load import load

    load(db, [SLICE])
    rng = np.random.default_rng(seed)
    items = {r["id"]: r["title"] for r in db.query("MATCH (i:Item) RETURN i.id AS id, i.title AS title")}
    item_tokens = {i: tokens(t) for i, t in items.items()}
    df = Counter(t for ts in item_tokens.values() for t in ts)
    vocab = sorted(t for t, n in df.items() if n >= 2)
    concept_of = {t: f"vg:{t}" for t in vocab}
    concepts = [{"id": concept_of[t], "name": t, "type": "Compatibility" if t in _PLATFORMS else "Game Features"}
                for t in vocab]
    db.write("""
        UNWIND $rows AS row
        MATCH (k:KnowledgeType {name: row.type})
        MERGE (c:Concept {id: row.id}) SET c.name = row.name, c.type = row.type
        MERGE (c)-[:OF_TYPE]->(k)""", rows=concepts)
    hk = [{"item": i, "concept": concept_of[t], "confidence": float(rng.uniform(0.5, 1.0)),
           "support": int(rng.integers(1, 5)), "attention": float(rng.uniform(0.05, 1.0))}
          for i, ts in item_tokens.items() for t in ts if t in concept_of]
    db.write("""
        UNWIND $rows AS row
        MATCH (i:Item {id: row.item}), (c:Concept {id: row.concept})
        MERGE (i)-[r:HAS_KNOWLEDGE]->(c)
        SET r.confidence = row.confidence, r.support = row.support, r.attention = row.attention""", rows=hk)

    inter = db.query("""
        MATCH (u:User)-[x:INTERACTED]->(i:Item)
        RETURN u.id AS user, i.id AS item, x.seq AS seq, x.split AS split, x.sign AS sign, elementId(x) AS eid
        ORDER BY user, seq""")
    db.write("""
        UNWIND $rows AS row
        MATCH ()-[x:INTERACTED]->() WHERE elementId(x) = row.eid
        SET x.attention = row.attention""",
             rows=[{"eid": r["eid"], "attention": float(rng.uniform(0.05, 1.0))} for r in inter])
    train = defaultdict(list)
    for r in inter:
        if r["split"] == "train":
            train[r["user"]].append(r)
    interests = []
    for user, xs in train.items():
        pos = [x for x in xs if x["sign"] > 0]
        recent = {x["item"] for x in pos[-3:]}
        count: Counter = Counter()
        evidence = defaultdict(list)
        for x in pos:
            for t in item_tokens[x["item"]]:
                if t in concept_of:
                    count[t] += 1
                    evidence[t].append(x["item"])
        for t, n in count.most_common(6):
            interests.append({"user": user, "concept": concept_of[t], "polarity": 1,
                              "horizon": "short" if set(evidence[t]) & recent else "long",
                              "weight": n / max(count.values()), "confidence": float(rng.uniform(0.6, 1.0)),
                              "evidence": evidence[t][-3:], "attention": float(rng.uniform(0.05, 1.0))})
        for x in [x for x in xs if x["sign"] < 0][:2]:
            for t in [t for t in item_tokens[x["item"]] if t in concept_of and t not in count][:2]:
                interests.append({"user": user, "concept": concept_of[t], "polarity": -1, "horizon": "long",
                                  "weight": 0.5, "confidence": 0.8, "evidence": [x["item"]],
                                  "attention": float(rng.uniform(0.05, 1.0))})
    db.write("""
        UNWIND $rows AS row
        MATCH (u:User {id: row.user}), (c:Concept {id: row.concept})
        MERGE (u)-[r:INTERESTED_IN]->(c)
        SET r.polarity = row.polarity, r.horizon = row.horizon, r.weight = row.weight,
            r.confidence = row.confidence, r.evidence = row.evidence, r.attention = row.attention""",
             rows=interests)

    # embeddings that follow the knowledge: item = mean of its concept vectors + noise; user = signed interests
    cvec = {c: rng.normal(size=DIM) for c in concept_of.values()}
    item_emb = {}
    for i, ts in item_tokens.items():
        vs = [cvec[concept_of[t]] for t in ts if t in concept_of]
        item_emb[i] = (np.mean(vs, 0) if vs else np.zeros(DIM)) + 0.3 * rng.normal(size=DIM)
    user_emb = {}
    by_user = defaultdict(list)
    for it in interests:
        by_user[it["user"]].append(it)
    for user in {r["user"] for r in inter}:
        v = 0.3 * rng.normal(size=DIM)
        for it in by_user[user]:
            v += it["polarity"] * it["weight"] * cvec[it["concept"]]
        user_emb[user] = v
    # a run that folds a user in to the user's own vector (no propagation): the fixture's scores stay the plain
    # dot products of the vectors above, for users it knows; a user it does not know folds in to zero
    from kgrec_neo4j.model.foldin import FoldIn

    db.write("MERGE (r:ModelRun {id: $run}) SET r.current = true, r.created = datetime(), r.model = 'fixture', "
             "r.status = 'complete', r.foldin = $foldin", run=RUN, foldin=FoldIn(dim=DIM, ui_layers=0).to_json())
    db.write("""
        UNWIND $rows AS row MATCH (i:Item {id: row.id})
        SET i.gnn_embedding = row.e, i.gnn_foldin = row.e, i.gnn_degree = 0, i.gnn_run = $run""",
             rows=[{"id": i, "e": v.astype(float).tolist()} for i, v in item_emb.items()], run=RUN)
    db.write("""
        UNWIND $rows AS row MATCH (u:User {id: row.id})
        SET u.gnn_embedding = row.e, u.gnn_ego = row.e, u.gnn_run = $run""",
             rows=[{"id": u, "e": v.astype(float).tolist()} for u, v in user_emb.items()], run=RUN)
    return {"run": RUN, "items": len(items), "concepts": len(concepts), "interests": len(interests),
            "users": sorted(user_emb), "item_emb": item_emb, "user_emb": user_emb,
            "train": {u: [x["item"] for x in xs] for u, xs in train.items()},
            "heldout": {r["user"]: r["item"] for r in inter if r["split"] != "train"}}


def invoke_cli(args):
    """Run the ``kgrec`` CLI in-process (exceptions propagate, so a traceback shows what broke)."""
    from click.testing import CliRunner

    from kgrec_neo4j.cli import cli

    return CliRunner().invoke(cli, args, catch_exceptions=False)


def slice_rows(name: str) -> list[dict]:
    """The records of one jsonl file of the vg-slice."""
    return [json.loads(x) for x in (SLICE / name).read_text().splitlines() if x.strip()]


def write_dataset(folder: Path, items: list[dict], interactions: list[dict]) -> Path:
    """A generic-jsonl dataset folder (items.jsonl, interactions.jsonl) with these records."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in items))
    (folder / "interactions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in interactions))
    return folder
