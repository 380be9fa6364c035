"""`kgrec update` on the real pipeline (offline extraction, concepts, classification, interests, a trained model):
only what changed is redone, untouched users and items keep their values byte for byte, new items are recommended
at once, serving notices the new version, nothing new writes nothing, and a killed update resumes."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from _kg_fixture import invoke_cli, slice_rows, write_dataset

from kgrec_neo4j.core.db import clear_database
from kgrec_neo4j.core.errors import ModelError
from kgrec_neo4j.core.resources import cypher
from kgrec_neo4j.core.schema import load_pack
from kgrec_neo4j.load import load
from kgrec_neo4j.model.pipeline import run_training
from kgrec_neo4j.serve import recommend as R
from kgrec_neo4j.serve import scoring as S
from kgrec_neo4j.update import run_update

REPO = Path(__file__).resolve().parent.parent
PACK = load_pack("video_games")


def split(tmp: Path, *, new_share: float = 0.1, seed: int = 1) -> tuple[Path, Path, set[str], set[str]]:
    """The slice as a base and a change: ``new_share`` of the items held back (with every interaction on them) and
    each third user's last interaction held back too; the change adds them at the end of the users' histories.
    Returns the folders, the new items and the users the change touches."""
    items, inter = slice_rows("items.jsonl"), slice_rows("interactions.jsonl")
    rng = np.random.default_rng(seed)
    ids = sorted(r["item_id"] for r in items)
    new = set(rng.choice(ids, int(new_share * len(ids)), replace=False).tolist())
    users = sorted({r["user_id"] for r in inter})
    last = {u: max(r["seq"] for r in inter if r["user_id"] == u) for u in users}
    held = {(u, last[u]) for u in users[::3]}
    base = [r for r in inter if r["item_id"] not in new and (r["user_id"], r["seq"]) not in held]
    more = [r for r in inter if r not in base]
    used = {r["item_id"] for r in base}
    a = write_dataset(tmp / "base" / "vg", [r for r in items if r["item_id"] in used], base)
    b = write_dataset(tmp / "more" / "vg", [r for r in items if r["item_id"] not in used], more)
    return a, b, {r["item_id"] for r in items if r["item_id"] not in used}, {r["user_id"] for r in more}


def pipeline(db, settings, folder: Path) -> str:
    """Every stage on ``folder`` as the stage commands run them; returns the trained run."""
    from kgrec_neo4j.concepts import build_vocabulary, grow_vocabulary, project_mentions
    from kgrec_neo4j.core.embed import get_embedder
    from kgrec_neo4j.extract.run import build_extractor, extract_items
    from kgrec_neo4j.users.interactions import classify_interactions, make_classifier
    from kgrec_neo4j.users.interests.offline import extract_offline

    load(db, [folder])
    extract_items(db, build_extractor(settings, "offline", pack=PACK), pack=PACK, progress=False)
    emb = get_embedder(settings)
    build_vocabulary(db, emb, PACK, fraction=0.5, seed=0)
    project_mentions(db, emb, PACK)
    grow_vocabulary(db, emb, PACK)
    classify_interactions(db, make_classifier("lexicon", settings))
    extract_offline(db)
    res = run_training(db, type_names=PACK.names, model="ours", epochs=2, dim=8, seed=0,
                       overrides={"item_graph_concept_weights": [1.0], "item_graph_weights": [1.0]})
    assert res.current
    return res.run


def appended_world(db, settings, tmp: Path, *, seed: int) -> tuple[str, set[str], set[str]]:
    """An emptied database with the base of a 30% split through the pipeline and the change appended (not updated
    yet): ``(the run, the new items, the users the append touched)``."""
    from kgrec_neo4j.core import schema

    clear_database(db)
    schema.apply(db, PACK, dim=settings.embedding_dim)
    S.clear_cache()
    base, more, new_items, touched = split(tmp, new_share=0.3, seed=seed)
    run = pipeline(db, settings, base)
    load(db, [more], append=True)
    return run, new_items, touched


def snapshot(db) -> dict:
    """Every value an update could change, per node."""
    def by(query: str) -> dict:
        out: dict = defaultdict(list)
        for r in db.query(query):
            out[r["k"]].append(json.dumps(r["v"], sort_keys=True, default=str))
        return {k: sorted(v) for k, v in out.items()}

    return {
        "interests": by("MATCH (u:User)-[e:INTERESTED_IN]->(c:Concept) RETURN u.id AS k, [c.id, properties(e)] AS v"),
        "knowledge": by("MATCH (i:Item)-[e:HAS_KNOWLEDGE]->(c:Concept) RETURN i.id AS k, [c.id, properties(e)] AS v"),
        "mentions": by("MATCH (i:Item)-[e:MENTIONS]->(m:Mention) RETURN i.id AS k, [m.type, m.key, properties(e)] AS v"),
        "edges": by("MATCH (u:User)-[e:INTERACTED]->(i:Item) RETURN u.id AS k, [i.id, properties(e)] AS v"),
        "vectors": by("MATCH (i:Item) RETURN i.id AS k, [i.gnn_embedding, i.gnn_foldin, i.gnn_run] AS v"),
        "users": by("MATCH (u:User) RETURN u.id AS k, properties(u) AS v"),
        "concepts": by("MATCH (c:Concept) RETURN c.id AS k, [c.name, c.type, c.embedding] AS v"),
    }


def warm_start_gap(db, run: str) -> float:
    """A model built on the same export and warm-started from ``run`` gives the run's stored vectors before any
    training: the largest difference."""
    import torch

    from kgrec_neo4j.model.export import export_train_graph
    from kgrec_neo4j.model.train import TrainConfig, build_model, gnn_recency_decay
    from kgrec_neo4j.model.warm import read_warm_start

    tg = export_train_graph(db, type_names=PACK.names)
    ws = read_warm_start(db, run, tg)
    assert ws.counts["users_trained"] == tg.num_users and ws.counts["items_trained"] == tg.num_items
    cfg = TrainConfig(model="kgrec", embedding_dim=8)
    model = build_model(tg, cfg, gnn_recency_decay(cfg))  # as training builds it: with the GNN's recency term
    assert ws.apply(model, tg)["parameters"] > 10
    model.eval()
    with torch.no_grad():
        users, items, _ = model()
    stored_u = {r["id"]: r["e"] for r in db.query("MATCH (u:User) RETURN u.id AS id, u.gnn_embedding AS e")}
    stored_i = {r["id"]: r["e"] for r in db.query("MATCH (i:Item) RETURN i.id AS id, i.gnn_embedding AS e")}
    return max(float(np.abs(users.numpy() - np.asarray([stored_u[u] for u in tg.user_ids])).max()),
               float(np.abs(items.numpy() - np.asarray([stored_i[i] for i in tg.item_ids])).max()))


@pytest.fixture(scope="module")
def world(db, settings, tmp_path_factory, one_torch_thread):
    tmp = tmp_path_factory.mktemp("update")
    base, more, new_items, touched = split(tmp)
    S.clear_cache()
    run = pipeline(db, settings, base)
    warm_gap = warm_start_gap(db, run)
    before = snapshot(db)
    # no update yet, the graph as the pipeline built it: nothing new (it said "since the last update (ingest 0)")
    nothing_yet = invoke_cli(["update"]).output
    assert snapshot(db) == before
    some_user = sorted(set(before["users"]) - touched)[0]
    served = R.recommend_users(db, [some_user], 10, store=False)[0]  # caches the run's model in this process
    load(db, [more], append=True)
    mentions = db.query(cypher("update/pending_mentions"))[0] | db.query("MATCH (m:Mention) RETURN count(m) AS all")[0]
    from kgrec_neo4j.concepts import store as concept_store

    scans: list[int] = []  # whole-catalogue scans for stale knowledge during the update (it needs none)
    real_scan = concept_store.stale_knowledge_items
    concept_store.stale_knowledge_items = lambda *a, **k: scans.append(1) or real_scan(*a, **k)
    t = time.perf_counter()
    try:
        rep = run_update(db, settings)
    finally:
        concept_store.stale_knowledge_items = real_scan
    mentions["new"] = db.value("MATCH (m:Mention) RETURN count(m)") - mentions["all"]
    mentions["stale_scans"] = len(scans)
    yield {"run": run, "before": before, "after": snapshot(db), "report": rep, "new_items": new_items,
           "mentions_before": mentions,
           "touched": touched, "seconds": time.perf_counter() - t, "served": served, "more": more, "tmp": tmp,
           "warm_gap": warm_gap, "nothing_yet": nothing_yet}
    S.clear_cache()


def test_update_does_the_changed_part_only(db, world):
    rep, before, after = world["report"], world["before"], world["after"]
    assert world["nothing_yet"].startswith("nothing new since the graph was built (no update yet; ingest 1); "
                                           "nothing was written"), world["nothing_yet"]
    assert rep.status == "complete" and rep.previous == 0 and rep.ingest == 3  # base load 1, append 2, update 3
    assert rep.items_extracted == len(world["new_items"]) and rep.items_failed == 0
    assert rep.users_changed == len(world["touched"])
    assert rep.run == world["run"] and rep.items_new == len(world["new_items"]) == rep.items_folded
    # new items: extracted, their mentions projected, knowledge derived
    for item in world["new_items"]:
        assert item not in before["mentions"]
    assert sum(item in after["knowledge"] for item in world["new_items"]) > 0
    assert not db.value("MATCH (m:Mention) WHERE m.pending IS NULL AND NOT (m)-[:CANONICAL]->() RETURN count(m) > 0")
    # churn 0: no concept changes; every concept stays as it was
    for cid, v in before["concepts"].items():
        assert after["concepts"][cid] == v
    # users the change does not touch keep interests and every property byte for byte; so do untouched items
    changed_knowledge = {i for i in set(before["knowledge"]) | set(after["knowledge"])
                         if before["knowledge"].get(i) != after["knowledge"].get(i)}
    through = {u for u, es in after["edges"].items() for e in es
               if json.loads(e)[0] in changed_knowledge and json.loads(e)[1].get("split") == "train"}
    untouched = set(before["users"]) - world["touched"] - through
    assert untouched, "the change touches every user; use a smaller change"
    for u in untouched:
        assert after["interests"].get(u) == before["interests"].get(u), u
        assert after["users"][u] == before["users"][u], u
        assert after["edges"][u] == before["edges"][u], u
    # knowledge changed for new items and for old items that reach a concept grown from pending mentions only
    grown = {i for i, vs in after["knowledge"].items() if any(json.loads(v)[0] not in before["concepts"] for v in vs)}
    assert changed_knowledge <= world["new_items"] | grown
    for i in set(before["vectors"]) - world["new_items"]:
        assert after["vectors"][i] == before["vectors"][i], i
    # touched users got their interests from their new train history (the same as computing them directly)
    u = sorted(world["touched"] & set(after["interests"]))[0]
    from kgrec_neo4j.users.interests.offline import extract_offline

    extract_offline(db, users=[u])
    again = {k: sorted(json.dumps([json.loads(v)[0], {x: y for x, y in json.loads(v)[1].items() if x != "run"}])
                       for v in vs) for k, vs in snapshot(db)["interests"].items()}
    now = sorted(json.dumps([json.loads(v)[0], {x: y for x, y in json.loads(v)[1].items() if x != "run"}])
                 for v in after["interests"][u])
    assert again[u] == now


def test_the_update_projects_its_new_mentions_only_and_leaves_nothing_to_grow(db, world, settings):
    from kgrec_neo4j.concepts import grow_vocabulary, project_mentions
    from kgrec_neo4j.core.embed import get_embedder

    rep, before = world["report"], world["mentions_before"]
    # the base left mentions pending; projecting them again on every update is the work the update does not do
    assert before["pending"] > 0 and before["new"] > 0
    assert rep.mentions_projected == before["new"]
    assert rep.mentions_pending == db.value(cypher("update/pending_mentions"))
    # the update grew concepts without scanning the whole catalogue for stale knowledge (0.4-1 s of it on full
    # Video Games), and left none: its knowledge step recomputes what it changed
    from kgrec_neo4j.concepts.store import stale_knowledge_items

    assert rep.concepts_grown > 0 and before["stale_scans"] == 0
    assert stale_knowledge_items(db, min_confidence=settings.min_confidence) == []
    # what `kgrec concepts project` and `kgrec concepts grow` over everything would do now: nothing
    emb = get_embedder(settings)
    assert project_mentions(db, emb, PACK, min_confidence=settings.min_confidence).assigned == 0
    assert not any(t.new_concepts for t in grow_vocabulary(db, emb, PACK, min_confidence=settings.min_confidence).types)


def test_touched_users_keep_the_long_term_edges_the_change_does_not_reach(db, world):
    """A long-term interest counts its concept's own evidence: a touched user's long-term edges of concepts that none
    of the user's new train items (nor an item whose knowledge changed) carries stay byte for byte, `run` included (a
    few may leave the top 20); the update writes only the edges whose values changed."""
    before, after, rep = world["before"], world["after"], world["report"]

    def train(snap: dict, u: str) -> set[str]:
        return {json.loads(e)[0] for e in snap["edges"].get(u, []) if json.loads(e)[1].get("split") == "train"}

    def concepts(item: str) -> set[str]:
        return {json.loads(v)[0] for snap in (before, after) for v in snap["knowledge"].get(item, [])}

    changed_items = {i for i in set(before["knowledge"]) | set(after["knowledge"])
                     if before["knowledge"].get(i) != after["knowledge"].get(i)}
    kept = dropped = reached = 0
    for u in world["touched"]:
        new_train = train(after, u) - train(before, u)
        reach = set().union(*(concepts(i) for i in new_train | (train(after, u) & changed_items)))
        now = {}
        for v in after["interests"].get(u, []):
            c, props = json.loads(v)
            now[c, props["horizon"], props["extractor"]] = v
        for v in before["interests"].get(u, []):
            c, props = json.loads(v)
            if props["horizon"] != "long" or props["extractor"] != "offline":
                continue
            if c in reach:
                reached += 1
            elif (c, "long", "offline") in now:
                assert now[c, "long", "offline"] == v, (u, c)
                kept += 1
            else:
                dropped += 1
    assert kept > 0 and reached > 0 and dropped <= kept
    # written = created + changed + removed < every edge the update computed + every edge it removed
    assert 0 < rep.interest_edges_written < rep.interest_edges + removed_interests(before, after)


def removed_interests(before: dict, after: dict) -> int:
    """Offline interest edges (user, concept, horizon) in ``before`` and not in ``after``."""
    def keys(snap: dict) -> set[tuple]:
        return {(u, json.loads(v)[0], json.loads(v)[1]["horizon"]) for u, vs in snap["interests"].items() for v in vs
                if json.loads(v)[1]["extractor"] == "offline"}

    return len(keys(before) - keys(after))


def test_new_items_are_recommended_and_serving_notices_the_version(db, world):
    run, new = world["run"], world["new_items"]
    info = db.query("MATCH (r:ModelRun {id: $r}) RETURN r.version AS v, r.folded_items AS n", r=run)[0]
    assert info == {"v": 1, "n": len(new)}
    vecs = db.query("MATCH (i:Item) WHERE i.id IN $ids RETURN i.gnn_run AS run, i.gnn_folded_run AS f, "
                    "size(i.gnn_embedding) AS d, i.gnn_embedding AS e", ids=sorted(new))
    assert len(vecs) == len(new) and all(r["run"] == run == r["f"] and r["d"] == 8 for r in vecs)
    assert sum(any(x != 0 for x in r["e"]) for r in vecs) > 0
    # this process cached the run before the update: the next request reloads it (its version changed)
    m_old = S.run_model(db, run)
    assert m_old.version == 0 and not new & set(m_old.ids)
    user = sorted(world["touched"])[0]
    m, states = S.scoring_state(db, [user])
    assert m.version == 1 and new <= set(m.ids)
    # the new items are scored like every other item; asking for every item ranks them all
    rec = R.recommend_users(db, [user], len(m.ids), store=False)[0]
    ranked = {r.item for r in rec.items}
    assert (new - {i for i in new if i in states[0].exclude}) <= ranked | {m.ids[k] for k in states[0].exclude}
    # explained through the knowledge graph: a new item's path goes through its concepts
    item = next(r.item for r in rec.items if r.item in new)
    from kgrec_neo4j.serve import explain as E

    why = E.explain(db, user, item, k=10)
    assert why.run == run and why.rank >= 1


def _borrowed(near: list, into: dict, top_k: int, scale: float) -> dict:
    """A new item's links by the update's rule from its neighbours ``near`` ([(id, similarity)], closest first):
    the share-weighted sum of the neighbours' incoming links plus each neighbour's own link (its share of its
    strongest trained link in), the ``top_k`` largest in magnitude, times ``scale``."""
    total = sum(c for _, c in near)
    acc: dict = defaultdict(float)
    for w, c in near:
        for j, x in into.get(w, {}).items():
            acc[j] += c / total * x
        if into.get(w):
            acc[w] += c / total * max(max(into[w].values()), 0.0)
    return {j: x * scale for j, x in sorted(acc.items(), key=lambda x: (-abs(x[1]), x[0]))[:top_k]}


def _links(db, run: str) -> list:
    return db.query("MATCH (j:Item)-[l:ITEM_LINK {run: $r}]->(i:Item) RETURN j.id AS j, i.id AS i, l.weight AS w, "
                    "l.borrowed AS b, l.neighbour AS nb, l.from_new AS fn", r=run)


def _check_borrowed(links: list, near_of: dict, new: set, top_k: int, scale: float) -> tuple[int, int]:
    """Every borrowed link is what the update's rule gives (the new items all borrowing in one update): into each new
    item, :func:`_borrowed` from ``near_of[item]`` (a link from one of the neighbours themselves says so: the
    explanation words it "among the items most like it"); from each other new item ``o`` into it, ``scale`` times
    ``o``'s shares of those links in from ``o``'s neighbours (the ``top_k`` largest); out of each new item, ``scale``
    times the share-weighted sum of its neighbours' trained links out plus each neighbour's own link (its share of
    its strongest trained link out; flagged ``neighbour``), the ``top_k`` largest. Returns (items with links, items
    without neighbours)."""
    into_t: dict = defaultdict(dict)
    out_t: dict = defaultdict(dict)
    for r in links:
        if not r["b"]:
            into_t[r["i"]][r["j"]] = r["w"]
            out_t[r["j"]][r["i"]] = r["w"]
    stored = {(r["j"], r["i"]): r for r in links if r["b"]}
    want: dict = {}
    flag: dict = {}
    cols: dict = {}
    for n in sorted(new):
        near = near_of.get(n, [])
        cols[n] = _borrowed(near, into_t, top_k, scale) if near else {}
        owns = {w for w, _ in near if into_t.get(w)}
        for j, x in cols[n].items():
            want[(j, n)], flag[(j, n)] = x, j in owns
    for n in sorted(new):  # links between new items: into n from every other new item o
        acc: dict = defaultdict(float)
        for o in sorted(new - {n}):
            near = near_of.get(o, [])
            total = sum(c for _, c in near)
            for w, c in near:
                acc[o] += c / total * cols[n].get(w, 0.0)
        for o, x in sorted(((o, x * scale) for o, x in acc.items() if x), key=lambda r: (-abs(r[1]), r[0]))[:top_k]:
            want[(o, n)], flag[(o, n)] = x, False
    for n in sorted(new):  # links out of n
        near = near_of.get(n, [])
        total = sum(c for _, c in near)
        acc = defaultdict(float)
        for w, c in near:
            for x, v in out_t.get(w, {}).items():
                acc[x] += c / total * v
            if out_t.get(w):
                acc[w] += c / total * max(max(out_t[w].values()), 0.0)
        owns = {w for w, _ in near if out_t.get(w)}
        for x, v in sorted(((x, v * scale) for x, v in acc.items() if v and x != n),
                           key=lambda r: (-abs(r[1]), r[0]))[:top_k]:
            want[(n, x)], flag[(n, x)] = v, x in owns
    assert len(stored) == sum(1 for r in links if r["b"])  # no link written twice
    assert set(stored) == set(want), (sorted(set(stored) - set(want))[:5], sorted(set(want) - set(stored))[:5])
    keys = sorted(want)
    np.testing.assert_allclose([stored[k]["w"] for k in keys], [want[k] for k in keys], rtol=1e-5)
    assert [k for k in keys if stored[k]["nb"]] == [k for k in keys if flag[k]]
    assert [k for k in keys if stored[k]["fn"]] == [k for k in keys if k[0] in new]
    linked = sum(1 for n in new if any(n in k for k in want))
    return linked, sum(1 for n in new if not near_of.get(n))


def test_new_items_get_item_links_borrowed_from_their_nearest_items_by_text(db, world):
    """Each new item gets links into it borrowed from its 20 nearest trained items by the cosine of their stored
    text vectors (recomputed here in numpy from Item.text_vector; shares proportional to the cosine), marked
    borrowed, links from the other new items, and links out of it borrowed from the same neighbours' links out (a
    user's interaction with a new item counts in the item graph at once); the trained links are untouched; a rerun
    writes the same links; with
    ``source="knowledge"`` the neighbours are the trained items sharing most of its concepts (recomputed in numpy
    from the stored graph); the served score of a new item has its item-graph part."""
    from kgrec_neo4j.model.itemtext import text_model_key
    from kgrec_neo4j.model.newitems import borrow_item_links

    run, new = world["run"], world["new_items"]
    rep = world["report"]
    info = db.query("MATCH (r:ModelRun {id: $r}) RETURN r.min_confidence AS mc, r.item_link_count AS n, "
                    "r.item_link_top_k AS k", r=run)[0]
    mc, top_k = float(info["mc"] or 0.0), int(info["k"])
    assert top_k == 100  # TrainConfig's default
    # every item's text vector is stored, of the project's model and its current text (training stored the trained
    # items', the update the new ones')
    from kgrec_neo4j.core.embed import get_embedder

    key = text_model_key(get_embedder(db.settings))
    assert not db.value("MATCH (i:Item) WHERE i.text_vector_model <> $k OR i.text_vector_hash <> i.current_text_hash "
                        "OR i.text_vector IS NULL RETURN count(i)", k=key)
    vecs = {r["i"]: (np.frombuffer(bytes(r["v"]), "<f4").astype(np.float64), r["trained"]) for r in db.query(
        "MATCH (i:Item) RETURN i.id AS i, i.text_vector AS v, "
        "i.gnn_run = $r AND coalesce(i.gnn_folded_run, '') <> $r AS trained", r=run)}
    assert all(abs(np.linalg.norm(v) - 1.0) < 1e-5 for v, _ in vecs.values())  # unit length, float32
    trained_ids = sorted(i for i, (_, t) in vecs.items() if t)
    by_text = {}
    for n in sorted(new):
        cos = sorted(((float(vecs[n][0] @ vecs[w][0]), w) for w in trained_ids), key=lambda x: (-x[0], x[1]))
        by_text[n] = [(w, c) for c, w in cos[:20] if c > 0]
    links = _links(db, run)
    # a new item links out, to trained items and to other new items
    assert {r["i"] in new for r in links if r["j"] in new} == {True, False}
    assert sum(not r["b"] for r in links) == info["n"]  # the trained links are all still there
    assert all(r["b"] for r in links if r["i"] in new or r["j"] in new)
    assert all(not r["b"] for r in links if r["i"] not in new and r["j"] not in new)
    assert {r["nb"] for r in links if r["b"]} == {True, False}  # both kinds occur here
    scale = db.settings.borrow_scale
    linked, alone = _check_borrowed(links, by_text, new, top_k, scale)
    assert linked == len(new) and rep.items_linked == linked  # every new item has text, and so neighbours
    assert rep.borrowed_links == sum(1 for r in links if r["b"])
    # a rerun finds every item's neighbours as they were (its stored digest) and writes nothing; an item without
    # neighbours has no links (not links 'as they were')
    assert rep.borrow_none == alone and rep.items_linked + rep.borrow_unchanged + rep.borrow_none == len(new)
    assert borrow_item_links(db, sorted(new), run=run, min_confidence=mc) == (0, 0, len(new) - alone, alone, 0)
    # without the digests a rerun computes and writes the same links with trained items again (idempotent); the links
    # between new items come out the same and are not written again
    db.execute("MATCH (i:Item)-[l:ITEM_LINK {borrowed: true}]-() WHERE i.id IN $ids REMOVE l.digest", ids=sorted(new))
    between = sum(1 for r in links if r["j"] in new and r["i"] in new)
    assert between > 0
    again = rep.borrowed_links - between  # written again, each replacing the link it was
    assert borrow_item_links(db, sorted(new), run=run, min_confidence=mc) == (rep.items_linked, again, 0, alone,
                                                                             again)
    key_of = lambda r: (r["j"], r["i"])  # noqa: E731
    assert sorted(_links(db, run), key=key_of) == sorted(links, key=key_of)

    # by knowledge: the knowledge as the item graph's concept matrix has it, a concept row of unit length,
    # 1 / sqrt(trained items holding it); cosine over those weights
    rows = db.query("MATCH (i:Item)-[h:HAS_KNOWLEDGE]->(c:Concept) WHERE coalesce(h.confidence, 1.0) >= $mc "
                    "AND (c.gnn_run = $r OR c.gnn_prev_run = $r) RETURN i.id AS i, c.id AS c, "
                    "i.gnn_run = $r AND coalesce(i.gnn_folded_run, '') <> $r AS trained", mc=mc, r=run)
    trained = {r["i"] for r in rows if r["trained"]}
    df = defaultdict(int)  # trained items holding the concept
    for r in rows:
        df[r["c"]] += r["trained"]
    vec: dict = defaultdict(dict)
    for r in rows:
        if df[r["c"]]:
            vec[r["i"]][r["c"]] = 1.0 / np.sqrt(df[r["c"]])
    by_knowledge = {}
    for n in sorted(new):
        cos = {}
        for w in trained:
            shared = sum(v * vec[w].get(c, 0.0) for c, v in vec.get(n, {}).items())
            if shared > 0:
                cos[w] = shared / np.sqrt(sum(v * v for v in vec[n].values()) * sum(v * v for v in vec[w].values()))
        by_knowledge[n] = sorted(cos.items(), key=lambda x: (-x[1], x[0]))[:20]
    assert by_knowledge != by_text
    got = borrow_item_links(db, sorted(new), run=run, min_confidence=mc, source="knowledge")
    k_linked, k_alone = _check_borrowed(_links(db, run), by_knowledge, new, top_k, scale)
    assert got[0] == k_linked and k_alone == sum(not v for v in by_knowledge.values())
    # and back by text: the same links as the update wrote
    borrow_item_links(db, sorted(new), run=run, min_confidence=mc)
    assert sorted(_links(db, run), key=key_of) == sorted(links, key=key_of)
    # another factor: every item borrows again (the factor is in the digest), each borrowed link that factor of the
    # update's, the trained links untouched; and back
    assert borrow_item_links(db, sorted(new), run=run, min_confidence=mc, scale=2.5 * scale)[:3] == (
        rep.items_linked, rep.borrowed_links, 0)
    once = {key_of(r): r["w"] for r in links}
    twice = {key_of(r): r["w"] for r in _links(db, run)}
    assert twice.keys() == once.keys()
    # (a link between two new items is borrowed twice: the factor twice)
    np.testing.assert_allclose([twice[k] for k in sorted(once)],
                               [once[k] * 2.5 ** ((k[0] in new) + (k[1] in new)) for k in sorted(once)], rtol=1e-6)
    borrow_item_links(db, sorted(new), run=run, min_confidence=mc)
    assert sorted(_links(db, run), key=key_of) == sorted(links, key=key_of)
    # an item without a text vector (an item without text has none) borrows from its knowledge
    from kgrec_neo4j.model.itemtext import store_item_text
    from kgrec_neo4j.model.newitems import knowledge_neighbours, nearest_trained_items

    assert store_item_text(db, get_embedder(db.settings)) == 0  # nothing stale: nothing embedded
    item = next(n for n in sorted(new) if by_knowledge[n])
    db.execute("MATCH (i:Item {id: $i}) REMOVE i.text_vector", i=item)
    got = nearest_trained_items(db, [item], run=run, min_confidence=mc)
    assert got[item] == knowledge_neighbours(db, [item], run=run, min_confidence=mc)[item] != by_text[item]
    db.execute("MATCH (i:Item {id: $i}) REMOVE i.text_vector_model", i=item)  # stale: embedded again
    assert store_item_text(db, get_embedder(db.settings)) == 1
    assert [w for w, _ in nearest_trained_items(db, [item], run=run, min_confidence=mc)[item]] == [
        w for w, _ in by_text[item]]
    into: dict = defaultdict(dict)
    for r in links:
        into[r["i"]][r["j"]] = r["w"]
    # served: a user with an item linking to a new item gets that item-graph part in the new item's score
    m = S.run_model(db, run, links=True, cache=False, refresh=True)
    assert m.links is not None and m.link_weight > 0
    cols = [m.index[n] for n in new]
    keep = np.ones(len(m.ids))
    keep[cols] = 0.0
    assert m.links.nnz - (sp.diags(keep) @ m.links @ sp.diags(keep)).count_nonzero() == rep.borrowed_links
    # explained as borrowed: the path says so, and so does the sentence when it states that reason
    from kgrec_neo4j.serve import explain as E

    pair = db.query("MATCH (u:User)-[:INTERACTED]->(:Item)-[l:ITEM_LINK {run: $r, borrowed: true}]->(i:Item) "
                    "WHERE NOT l.from_new RETURN u.id AS u, i.id AS i ORDER BY abs(l.weight) DESC, u, i LIMIT 1",
                    r=run)[0]
    why = E.explain(db, pair["u"], pair["i"], k=10).explanation
    paths = [p for r in why.reasons for p in r.paths if p.kind == "item_link"]
    assert paths and all(p.borrowed for p in paths) and "borrowed" in paths[0].describe()
    stated, against = E.stated_reasons(why)
    if any(p.kind == "item_link" for r in stated + against for p in r.paths):
        assert "most like it" in why.sentence and "(it is new to the model)" in why.sentence
    # a user's new item counts for the trained items its neighbours link to, and says so
    pair = db.query("MATCH (u:User)-[:INTERACTED]->(j:Item)-[l:ITEM_LINK {run: $r, from_new: true}]->(i:Item) "
                    "WHERE NOT i.id IN $new AND NOT (u)-[:INTERACTED]->(i) "
                    "RETURN u.id AS u, i.id AS i, j.id AS j ORDER BY abs(l.weight) DESC, u, i LIMIT 1",
                    r=run, new=sorted(new))[0]
    why = E.explain(db, pair["u"], pair["i"], k=10).explanation
    reason = next(r for r in why.reasons if r.id == pair["j"])
    assert reason.item_graph != 0.0
    path = next(p for p in reason.paths if p.kind == "item_link")
    assert path.from_new and "borrowed by a new item" in path.describe()
    stated, against = E.stated_reasons(why)
    if any(r.id == pair["j"] for r in stated + against):
        assert "which is new to the model" in why.sentence


def test_a_neighbour_with_links_one_way_only_lends_what_it_has(db, world):
    """A trained neighbour with links out but none in, and one with links in but none out: each lends the links it
    has, in that direction only, and no own link where it has none (the first version of links out of new items
    raised a KeyError on the first kind). The trained graph is put back afterwards."""
    from kgrec_neo4j.model.newitems import borrow_item_links, nearest_trained_items

    run, new = world["run"], set(world["new_items"])
    info = db.query("MATCH (r:ModelRun {id: $r}) RETURN r.min_confidence AS mc, r.item_link_top_k AS k", r=run)[0]
    mc, top_k, scale = float(info["mc"] or 0.0), int(info["k"]), db.settings.borrow_scale
    near = nearest_trained_items(db, sorted(new), run=run, min_confidence=mc)
    item = next(n for n in sorted(new) if len(near.get(n, [])) >= 2)
    no_in, no_out = near[item][0][0], near[item][1][0]
    trained = ("MATCH (a:Item)-[l:ITEM_LINK {run: $r}]->(b:Item) WHERE l.borrowed IS NULL AND (b.id = $i OR a.id = $o) "
               "RETURN a.id AS a, b.id AS b, properties(l) AS p ORDER BY a, b")
    saved = db.query(trained, r=run, i=no_in, o=no_out)
    assert any(r["b"] == no_in for r in saved) and any(r["a"] == no_out for r in saved)
    forget = "MATCH ()-[l:ITEM_LINK {run: $r, borrowed: true}]->() REMOVE l.digest"
    try:
        db.execute("MATCH (a:Item)-[l:ITEM_LINK {run: $r}]->(b:Item) WHERE l.borrowed IS NULL "
                   "AND (b.id = $i OR a.id = $o) DELETE l", r=run, i=no_in, o=no_out)
        assert db.value("MATCH (a:Item {id: $i})-[l:ITEM_LINK {run: $r}]->() WHERE l.borrowed IS NULL "
                        "RETURN count(l)", i=no_in, r=run) > 0  # links out, none in
        assert db.value("MATCH ()-[l:ITEM_LINK {run: $r}]->(b:Item {id: $o}) WHERE l.borrowed IS NULL "
                        "RETURN count(l)", o=no_out, r=run) > 0  # links in, none out
        db.execute(forget, r=run)
        got = borrow_item_links(db, sorted(new), run=run, min_confidence=mc)
        assert got.linked > 0
        links = _links(db, run)
        _check_borrowed(links, near, new, top_k, scale)  # the rule, over the links there are
        mine = {(r["j"], r["i"]): r for r in links if item in (r["j"], r["i"])}
        assert (no_in, item) not in mine or not mine[no_in, item]["nb"]  # no own link in from it
        assert (item, no_out) not in mine or not mine[item, no_out]["nb"]  # no own link out to it
    finally:
        for r in saved:
            db.execute("MATCH (a:Item {id: $a}), (b:Item {id: $b}) CREATE (a)-[l:ITEM_LINK]->(b) SET l = $p",
                       a=r["a"], b=r["b"], p=r["p"])
        db.execute(forget, r=run)
        borrow_item_links(db, sorted(new), run=run, min_confidence=mc)
    assert db.query(trained, r=run, i=no_in, o=no_out) == saved


def test_a_reload_that_removes_a_trained_item_makes_every_new_item_borrow_again(db, world):
    """A reload that removes a trained item changes the trained links new items borrow from (its own, and the top_k
    cut of those that stay): every borrowed link of the run loses its digest, so the next update borrows again. The
    links in of an item kept their digest before when its links out still had one (the digest is read from either).
    Run in a transaction that is rolled back: the world stays as it was."""
    from kgrec_neo4j.core.resources import cypher

    run, new = world["run"], sorted(world["new_items"])
    item, dataset = db.query("MATCH (t:Item)-[l:ITEM_LINK {run: $r}]->() WHERE l.borrowed IS NULL AND NOT t.id IN $new "
                             "RETURN t.id AS i, t.dataset AS d ORDER BY t.id LIMIT 1", r=run, new=new)[0].values()
    digests = "MATCH ()-[l:ITEM_LINK {run: $r, borrowed: true}]->() WHERE l.digest IS NOT NULL RETURN count(l) AS n"
    before = db.value(digests, r=run)
    assert before > 0

    class Rollback(Exception):
        pass

    seen = {}

    def work(tx):
        tx.run(cypher("load/delete_items"), ids=[item], dataset=dataset).consume()
        seen["left"] = tx.run(digests, r=run).single()["n"]
        seen["item"] = tx.run("MATCH (i:Item {id: $i}) RETURN count(i) AS n", i=item).single()["n"]
        raise Rollback

    with pytest.raises(Rollback):
        db.write_tx(work)
    assert seen == {"left": 0, "item": 0}
    assert db.value(digests, r=run) == before  # (rolled back)


def test_a_reload_that_removes_a_scored_item_or_user_gives_the_run_a_new_version(db, world):
    """A running `kgrec serve` reloads a run when its version changes. A reload that removed an item the run scored
    left the version as it was, so the service kept recommending the removed item (and its links kept counting in
    every score) until an update happened to fold something in. The removal now gives the run a new version in the
    same transaction; removing an item no run scored changes none. Rolled back: the world stays as it was."""
    from kgrec_neo4j.load.write import _remove

    run = world["run"]
    item, dataset = db.query("MATCH (t:Item) WHERE t.gnn_run = $r RETURN t.id AS i, t.dataset AS d ORDER BY t.id "
                             "LIMIT 1", r=run)[0].values()
    user = db.value("MATCH (u:User) WHERE u.gnn_run = $r RETURN u.id ORDER BY u.id LIMIT 1", r=run)
    version = "MATCH (r:ModelRun {id: $r}) RETURN coalesce(r.version, 0) AS v"
    before = db.value(version, r=run)

    class Rollback(Exception):
        pass

    seen: dict[str, object] = {}

    def work(tx):
        tx.run("CREATE (:Item {id: 'unscored-probe', dataset: $d})", d=dataset).consume()
        seen["unscored"] = _remove("load/delete_items", tx, items=["unscored-probe"], dataset=dataset)
        seen["after unscored"] = tx.run(version, r=run).single()["v"]
        seen["item"] = _remove("load/delete_items", tx, items=[item], dataset=dataset)
        seen["after item"] = tx.run(version, r=run).single()["v"]
        seen["user"] = _remove("load/delete_users", tx, users=[user], dataset=dataset)
        seen["after user"] = tx.run(version, r=run).single()["v"]
        raise Rollback

    with pytest.raises(Rollback):
        db.write_tx(work)
    assert seen.pop("item") >= 1, seen  # (with the mentions no other item has)
    assert seen == {"unscored": 1, "after unscored": before, "after item": before + 1, "user": 1,
                    "after user": before + 2}, seen
    assert db.value(version, r=run) == before  # (rolled back)


def test_new_items_browser_query_lists_them(db, world):
    """cypher/browser/new_items.cypher, run with its `:param` line, lists the items the update folded in, each with
    its borrowed links."""
    from _examples import browser_params

    from kgrec_neo4j.core import resources

    text = resources.cypher("browser/new_items")
    stmt = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith((":", "//"))).strip().rstrip(";")
    params = browser_params()["new_items"]
    rows = db.query(stmt, **{**params, "limit": 1000})
    assert rows and {r["item"] for r in rows} == world["new_items"]
    linked = {r["item"]: r["borrowed_links"] for r in rows}
    # (a link between two new items is one of each's)
    between = db.value("MATCH (a:Item)-[l:ITEM_LINK {borrowed: true}]->(b:Item) WHERE a.id IN $ids AND b.id IN $ids "
                       "RETURN count(l)", ids=sorted(world["new_items"]))
    assert between > 0
    assert sum(linked.values()) + sum(r["links_out"] for r in rows) - between == world["report"].borrowed_links
    assert all(r["strongest_from"] for r in rows if r["borrowed_links"])
    assert all(r["strongest_to"] for r in rows if r["links_out"]) and any(r["links_out"] for r in rows)


def test_every_label_and_relationship_type_is_in_the_graph_model(db, world):
    """A Browser user sees every label and relationship type of the database in the sidebar; docs/graph-model.md
    named neither SchemaInfo nor UpdateState, UpdateRun and WriterLease."""
    model = (REPO / "docs" / "graph-model.md").read_text(encoding="utf-8")
    labels = db.value("CALL db.labels() YIELD label RETURN collect(label)")
    types = db.value("CALL db.relationshipTypes() YIELD relationshipType RETURN collect(relationshipType)")
    assert {"SchemaInfo", "UpdateState", "UpdateRun", "WriterLease"} <= set(labels)
    assert [n for n in labels + types if f":{n} " not in model and f":{n}]" not in model
            and f":{n})" not in model] == []


def test_every_property_of_the_domain_graph_is_in_the_graph_model(db, world):
    """What a Browser user sees on a user, an item, a concept or a mention and on the edges between them is named in
    docs/graph-model.md (Item.work_key and work_title, written by `concepts same-work`, were in no document)."""
    model = (REPO / "docs" / "graph-model.md").read_text(encoding="utf-8")
    keys = db.value("""CALL () { MATCH (n) WHERE n:User OR n:Item OR n:Concept OR n:Mention RETURN keys(n) AS ks
                                 UNION ALL MATCH ()-[r]->() RETURN keys(r) AS ks }
                       UNWIND ks AS k RETURN collect(DISTINCT k)""")
    assert {"work_key", "gnn_folded_run", "attention"} <= set(keys)
    assert sorted(k for k in keys if f"`{k}`" not in model and f".{k}`" not in model
                  and not re.search(rf"[{{ ,]{k}[,:}} ]", model)) == []


def test_the_graph_model_names_what_the_bookkeeping_nodes_hold():
    """docs/graph-model.md gave UpdateState as `{id, ingest, classified_upto, interests_upto}` and WriterLease as
    `{name, locked_at}`: a Browser user found `updated_upto` and `last_update` (what the last complete update
    covered) on the one, and the holder (`token`, `owner`, `host`, `pid`, `expires`, ...) on the other, in no document.
    Every property the Cypher files set on them is named."""
    model = (REPO / "docs" / "graph-model.md").read_text(encoding="utf-8")
    for label, var, files in (("UpdateState", "s", ["load/mark_covered", "load/next_ingest", "update/run_finish"]),
                              ("WriterLease", "l", ["lease/acquire", "lease/renew"])):
        shown = re.search(rf"\(:{label} \{{([^}}]*)\}}\)", model)
        assert shown, label
        named = {w.strip().split(":")[0] for w in shown.group(1).split(",")}
        written = {k for f in files for k in re.findall(rf"\b{var}\.(\w+) =", cypher(f))}
        assert written and sorted(written - named) == [], (label, sorted(written - named))


def test_items_show_lists_the_links_borrowed_into_a_new_item(db, world):
    """`kgrec items show` on an item the update folded in lists the item links into it and out of it, each marked
    borrowed; the trained item a link comes from lists it among its outgoing links."""
    from kgrec_neo4j.serve.lookup import show_item

    run = world["run"]
    item = db.value("""MATCH (:Item)-[l:ITEM_LINK {run: $r, borrowed: true}]->(i:Item) WHERE i.id IN $ids
                       WITH i, count(l) AS n RETURN i.id ORDER BY n DESC, i.id LIMIT 1""",
                    r=run, ids=sorted(world["new_items"]))
    out = db.query("MATCH (:Item {id: $i})-[l:ITEM_LINK {run: $r}]->(o:Item) RETURN o.id AS o, l.weight AS w, "
                   "l.borrowed AS b ORDER BY w DESC, o", i=item, r=run)
    assert item and out and all(r["b"] for r in out)
    stored = db.query("MATCH (j:Item)-[l:ITEM_LINK {run: $r}]->(:Item {id: $i}) RETURN j.id AS j, l.weight AS w "
                      "ORDER BY w DESC, j", i=item, r=run)
    assert len(stored) > 3
    v = show_item(db, item, links=1000)
    assert [(r["item"], r["weight"]) for r in v.links_in] == [(s["j"], s["w"]) for s in stored]
    assert [(r["item"], r["weight"]) for r in v.links] == [(r["o"], r["w"]) for r in out]
    assert all(r["borrowed"] for r in v.links)
    assert all(r["borrowed"] and r["run"] == run for r in v.links_in)
    res = invoke_cli(["items", "show", "--item", item, "--links", "3"])
    assert res.exit_code == 0, res.output
    assert "item links: none" not in res.output and "item links out" in res.output
    assert f"item links in (run {run}: items that raise it for a user who has them)" in res.output
    lines = res.output.split("item links in (")[1].splitlines()
    shown = [ln.split()[0] for ln in lines if ln.split() and ln.split()[0] in {s["j"] for s in stored}]
    assert shown == [s["j"] for s in stored[:3]]
    assert all("borrowed" in ln.split() for ln in lines if ln.split() and ln.split()[0] in shown)
    assert "borrowed by `kgrec update` from its nearest trained items" in res.output
    # the trained source of the strongest link leads to the new item
    assert item in {r["item"] for r in show_item(db, stored[0]["j"], links=1000).links}


def test_folded_vectors_are_scaled_to_the_length_of_trained_ones(db, world):
    """A fold-in averages, so its vectors come out shorter than trained ones: the update scales the folded-in
    vectors by one factor so that their median length is the median length of the run's trained item vectors
    (kept on the run)."""
    run = world["run"]
    rows = db.query("MATCH (i:Item) WHERE i.gnn_run = $r RETURN i.gnn_embedding AS e, "
                    "coalesce(i.gnn_folded_run, '') = $r AS folded", r=run)
    norms = {True: [], False: []}
    for r in rows:
        norms[r["folded"]].append(float(np.linalg.norm(r["e"])))
    trained = float(np.median(norms[False]))
    stored = db.value("MATCH (r:ModelRun {id: $r}) RETURN r.item_norm_median", r=run)
    assert stored == pytest.approx(trained, rel=1e-6)
    folded = [x for x in norms[True] if x > 0]
    assert folded and float(np.median(folded)) == pytest.approx(trained, rel=1e-4)
    assert world["report"].fold_norm_scale > 1.0  # averages are shorter: scaled up


def test_fold_item_vectors_recomputes_the_update_and_can_leave_knowledge_out(db, world):
    from kgrec_neo4j.model.newitems import fold_item_vectors

    run, new = world["run"], sorted(world["new_items"])
    q = "MATCH (i:Item) WHERE i.id IN $ids RETURN i.id AS id, i.gnn_embedding AS e, i.gnn_foldin AS f"
    stored = {r["id"]: r for r in db.query(q, ids=new)}
    kg = fold_item_vectors(db, new, run=run)
    assert sorted(kg) == new
    for i in new:  # what `kgrec update` wrote is this fold-in
        np.testing.assert_allclose(kg[i]["embedding"], stored[i]["e"], atol=1e-5)
        np.testing.assert_allclose(kg[i]["foldin"], stored[i]["f"], atol=1e-5)
    bare = fold_item_vectors(db, new, run=run, knowledge=False)
    with_knowledge = {r["id"] for r in db.query(
        "MATCH (i:Item)-[:HAS_KNOWLEDGE]->(c:Concept {gnn_run: $run}) WHERE i.id IN $ids RETURN DISTINCT i.id AS id",
        ids=new, run=run)}
    def unit(v):
        v = np.asarray(v, np.float64)
        return v / max(np.linalg.norm(v), 1e-12)

    # only the knowledge is left out (each call scales its own vectors to the trained length: directions compared)
    differ = {i for i in new if not np.allclose(unit(bare[i]["embedding"]), unit(kg[i]["embedding"]), atol=1e-6)}
    assert differ and differ == with_knowledge
    assert {r["id"]: r for r in db.query(q, ids=new)} == stored  # nothing written
    with pytest.raises(ModelError, match="no fold-in data"):
        fold_item_vectors(db, new, run="no-such-run")


def test_read_train_users_reads_the_train_split_only(db, world):
    m = S.run_model(db, world["run"], links=True, cache=False)
    users = sorted(world["touched"])[:8]
    split = {(r["u"], r["s"]): set(r["items"]) for r in db.query(
        "MATCH (u:User)-[x:INTERACTED]->(i:Item) WHERE u.id IN $ids RETURN u.id AS u, x.split AS s, "
        "collect(i.id) AS items", ids=users)}
    live, _ = S.read_users(db, users, m)
    train = S.read_train_users(db, users, m)
    assert [s.id for s in train] == [s.id for s in live] == users
    held_out = 0
    for a, b in zip(live, train, strict=True):
        known = set(m.index)
        assert {m.ids[k] for k in b.exclude} == split.get((b.id, "train"), set()) & known
        every = set().union(*(v for (u, _), v in split.items() if u == a.id))
        assert {m.ids[k] for k in a.exclude} == every & known
        held_out += bool(every - split.get((b.id, "train"), set()))
    assert held_out  # some of these users have a valid / test item that only serving reads
    # interests that read every split would carry the held-out items into the scores: refused, as training is
    from kgrec_neo4j.users.interests.scope import ScopeError, set_scope, stored_scopes

    was = stored_scopes(db)["offline"]
    try:
        set_scope(db, "offline", "every")
        with pytest.raises(ScopeError, match="held-out valid and test"):
            S.read_train_users(db, users, m)
    finally:
        set_scope(db, "offline", was)


def test_update_links_editions_of_new_items(db, world, settings):
    """The update found the SAME_WORK links again: they are what the command finds from scratch, and a new item
    that is an edition of an old one is linked (so serving demotes it for the old one's owners at once)."""
    from kgrec_neo4j.concepts.works import link_same_work

    links = "MATCH (a:Item)-[:SAME_WORK]->(b:Item) RETURN collect([a.id, b.id]) AS l"
    after = sorted(map(tuple, db.value(links)))
    assert world["report"].same_work_links == len(after) > 0
    assert any(a in world["new_items"] or b in world["new_items"] for a, b in after), \
        "the slice's change has no edition of an old item; pick another split seed"
    link_same_work(db, PACK, settings=settings)
    assert sorted(map(tuple, db.value(links))) == after


def test_nothing_new_writes_nothing(db, world):
    before = snapshot(db)
    runs = db.value("MATCH (r:UpdateRun) RETURN count(r)")
    state = db.query("MATCH (s:UpdateState) RETURN properties(s) AS p")[0]["p"]
    leases = db.query("MATCH (l:WriterLease) RETURN properties(l) AS p")
    r = invoke_cli(["update"])
    assert r.exit_code == 0, r.output
    assert "nothing new since the last update (ingest 3); nothing was written" in r.output
    assert snapshot(db) == before
    assert db.value("MATCH (r:UpdateRun) RETURN count(r)") == runs
    assert db.query("MATCH (s:UpdateState) RETURN properties(s) AS p")[0]["p"] == state
    # not even the writer lease: it is taken only once the update has found work
    assert db.query("MATCH (l:WriterLease) RETURN properties(l) AS p") == leases


def test_an_update_takes_the_lease_before_its_first_write_and_only_with_work(db, world, settings):
    order: list[str] = []

    def guard() -> None:  # the database calls it before every write transaction
        order.append("write")

    db.guards.append(guard)
    try:
        rep = run_update(db, settings, lease=lambda: order.append("lease"))
        assert rep.status == "nothing" and order == []
        db.guards.remove(guard)
        # work: an interaction no classification has seen (as written in Browser)
        db.execute("MATCH ()-[e:INTERACTED]->() WITH e ORDER BY elementId(e) LIMIT 1 REMOVE e.kind_source")
        db.guards.append(guard)
        rep = run_update(db, settings, lease=lambda: order.append("lease"))
        assert rep.status == "complete" and rep.users_classified == 1
        assert order[0] == "lease" and order.count("lease") == 1 and len(order) > 1
    finally:
        if guard in db.guards:
            db.guards.remove(guard)


def test_changed_text_removes_stale_knowledge(db, world, settings):
    item = db.value("MATCH (i:Item)-[:HAS_KNOWLEDGE]->() WHERE i.gnn_folded_run IS NULL "
                    "WITH i, count(*) AS n ORDER BY n DESC, i.id RETURN i.id LIMIT 1")
    old = set(db.value("MATCH (:Item {id: $i})-[:HAS_KNOWLEDGE]->(c) RETURN collect(c.id)", i=item))
    row = next(r for r in slice_rows("items.jsonl") if r["item_id"] == item)
    folder = write_dataset(world["tmp"] / "retitle" / "vg", [{**row, "title": "Controller Charging Dock"}], [])
    load(db, [folder], append=True)
    rep = run_update(db, settings)
    assert rep.items_extracted == 1 and rep.items_knowledge == 1
    # one item in the singular ('1 items extracted', 'for 1 extracted items' before)
    summary = {st.step: st.summary for st in rep.steps}
    assert summary["extract"].startswith("1 item extracted (offline)"), summary
    assert "HAS_KNOWLEDGE recomputed for 1 extracted item;" in summary["knowledge"], summary
    assert summary["works"].startswith("1 item regrouped"), summary
    now = set(db.value("MATCH (:Item {id: $i})-[:HAS_KNOWLEDGE]->(c) RETURN collect(c.id)", i=item))
    supported = set(db.value("MATCH (:Item {id: $i})-[:MENTIONS]->()-[:CANONICAL]->(c) RETURN collect(DISTINCT c.id)",
                             i=item))
    assert now == supported and now != old
    # its train users' interests were recomputed; the trained item keeps its vector until the next training
    assert rep.users_through_knowledge == db.value(
        "MATCH (:Item {id: $i})<-[x:INTERACTED {split: 'train'}]-(u) RETURN count(DISTINCT u)", i=item)
    # the items folded in before are folded in again when one of their users changed (here: the item's train users,
    # through its knowledge), and kept as they were otherwise
    touched = db.value("MATCH (:Item {id: $i})<-[:INTERACTED {split: 'train'}]-(u:User)-[:INTERACTED]->(f:Item) "
                       "WHERE f.gnn_folded_run = $r RETURN count(DISTINCT f)", i=item, r=world["run"])
    assert rep.items_folded == touched and rep.fold_kept == len(world["new_items"]) - touched and rep.items_new == 0


def test_an_update_borrows_again_only_for_items_whose_neighbours_changed(db, world, settings):
    """Every update folds in again the items folded in since the training, but the borrowed links of an item whose
    neighbours are as they were are neither read nor rewritten (the same relationships stay); the item
    whose text and knowledge changed gets the links a fresh computation gives (the same bits, whichever items it was
    computed with)."""
    from kgrec_neo4j.model.newitems import borrow_item_links

    run, new = world["run"], sorted(world["new_items"])
    links = ("MATCH (j:Item)-[l:ITEM_LINK {run: $r}]->(i:Item) WHERE i.id IN $ids "
             "RETURN i.id AS i, j.id AS j, l.weight AS w, elementId(l) AS eid, j.id IN $ids AS fn ORDER BY i, j")
    before = db.query(links, r=run, ids=new)
    item = db.value("MATCH (i:Item)-[:HAS_KNOWLEDGE]->() WHERE i.id IN $ids AND (i)<-[:ITEM_LINK {run: $r}]-() "
                    "RETURN i.id ORDER BY i.id LIMIT 1", ids=new, r=run)
    assert item and any(r["i"] != item for r in before)
    row = next(r for r in slice_rows("items.jsonl") if r["item_id"] == item)
    folder = write_dataset(world["tmp"] / "reborrow" / "vg", [{**row, "title": "PlayStation 4 Racing Wheel"}], [])
    load(db, [folder], append=True)
    rep = run_update(db, settings)
    assert rep.items_extracted == 1 and 1 <= rep.items_folded == len(new) - rep.fold_kept  # (it, and its users')
    assert rep.borrow_unchanged == len(new) - 1 and rep.items_linked <= 1
    after = db.query(links, r=run, ids=new)
    # the same relationships from trained items, but for the links into the item; between new items the same values,
    # but for the item's (a new item whose links in from new items change gets all of them written again)
    assert [r for r in after if r["i"] != item and not r["fn"]] == [r for r in before if r["i"] != item and not r["fn"]]

    def between(rows: list) -> list:
        return [(r["i"], r["j"], r["w"]) for r in rows if r["fn"] and item not in (r["i"], r["j"])]

    assert between(after) == between(before)
    mine = [(r["j"], r["w"]) for r in after if r["i"] == item]
    assert mine != [(r["j"], r["w"]) for r in before if r["i"] == item]
    out = ("MATCH (:Item {id: $i})-[l:ITEM_LINK {run: $r}]->(o:Item) RETURN o.id AS o, l.weight AS w ORDER BY o")
    mine_out = db.query(out, i=item, r=run)
    assert mine_out and {r["o"] for r in mine_out} & set(new) and {r["o"] for r in mine_out} - set(new)
    # what the incremental update left is what borrowing every new item at once gives (the links between new items
    # depend on every one's neighbours)
    every = ("MATCH (j:Item)-[l:ITEM_LINK {run: $r, borrowed: true}]->(i:Item) RETURN j.id AS j, i.id AS i, "
             "l.weight AS w, l.neighbour AS nb, l.from_new AS fn ORDER BY j, i")
    incremental = db.query(every, r=run)
    db.execute("MATCH ()-[l:ITEM_LINK {run: $r, borrowed: true}]->() REMOVE l.digest", r=run)
    mc = float(db.value("MATCH (r:ModelRun {id: $r}) RETURN coalesce(r.min_confidence, 0.0)", r=run))
    got = borrow_item_links(db, new, run=run, min_confidence=mc)
    assert got[0] == len(new) - got[3] and got[2] == 0
    assert db.query(every, r=run) == incremental
    # the item alone borrows again: its links with trained items written, the others' as they were
    db.execute("MATCH (:Item {id: $i})-[l:ITEM_LINK {borrowed: true}]-() REMOVE l.digest", i=item)
    with_trained = sum(1 for r in db.query(links, r=run, ids=[item]) if r["j"] not in new) + sum(
        1 for r in mine_out if r["o"] not in new)
    assert borrow_item_links(db, new, run=run, min_confidence=mc) == (1, with_trained, len(new) - 1, 0,
                                                                       with_trained)
    assert [(r["j"], r["w"]) for r in db.query(links, r=run, ids=new) if r["i"] == item] == mine
    assert db.query(out, i=item, r=run) == mine_out
    assert db.query(every, r=run) == incremental


def test_update_reads_the_stored_text_hashes(db, world, settings):
    """Every load stores the hash of the text it writes, the one an extraction records: the update finds new and
    changed text from it without reading any text. An item without one (written by another client, or loaded
    before the hash was stored) is hashed once and stored by the next update."""
    from kgrec_neo4j.extract.run import read_items

    def hashes() -> dict:
        return {r["id"]: r["h"] for r in db.query("MATCH (i:Item) RETURN i.id AS id, i.current_text_hash AS h")}

    loaded = hashes()
    items = read_items(db)
    assert {it.item_id: it.text_hash() for it, _ in items} == loaded
    assert all(f"offline:{it.text_hash()}" in done for it, done in items)
    db.write("MATCH (i:Item) REMOVE i.current_text_hash")
    assert run_update(db, settings).status == "nothing"  # migration: hashed and stored, nothing to extract
    assert hashes() == loaded
    # another client changes an item's text: it removes the stale hash, and the next update extracts that item
    item = sorted(loaded)[0]
    db.write("MATCH (i:Item {id: $i}) SET i.title = 'Wireless Racing Wheel Deluxe' REMOVE i.current_text_hash",
             i=item)
    rep = run_update(db, settings)
    assert rep.status == "complete" and rep.items_extracted == 1
    assert db.value("MATCH (i:Item {id: $i}) RETURN 'offline:' + i.current_text_hash IN i.extract_hashes",
                    i=item) is True
    assert hashes()[item] != loaded[item]
    # and its stored text vector follows the new text (embedded again by the update before new items borrow)
    assert db.value("MATCH (i:Item {id: $i}) RETURN i.text_vector_hash = i.current_text_hash", i=item) is True


def test_items_the_llm_extracted_are_done_for_update_and_status(db, world, settings):
    """The LLM extractor marks an item done as `llm:<model>:<text hash>`, and `kgrec update` and `kgrec status`
    looked for `llm:<text hash>`: after `kgrec extract items --extractor llm`, status kept every item pending and
    each update extracted every item again (from the answer cache) and recomputed their users' interests."""
    from kgrec_neo4j.status import graph_status

    assert run_update(db, settings).status == "nothing"
    llm = dataclasses.replace(settings, llm_base_url="http://127.0.0.1:9/v1", llm_model="model-x")
    n = db.value("MATCH (i:Item) WHERE i.current_text_hash IS NOT NULL RETURN count(i)")
    assert graph_status(db, llm, extractor="llm").pending.items_to_extract == n  # none done by this model yet
    db.write("MATCH (i:Item) WHERE i.current_text_hash IS NOT NULL "
             "SET i.extract_hashes = coalesce(i.extract_hashes, []) + ['llm:model-x:' + i.current_text_hash]")
    try:
        assert graph_status(db, llm, extractor="llm").pending.items_to_extract == 0
        assert run_update(db, llm, extractor="llm").status == "nothing"
        # another model's extraction is not this one's
        other = dataclasses.replace(llm, llm_model="model-y")
        assert graph_status(db, other, extractor="llm").pending.items_to_extract == n
    finally:
        db.write("MATCH (i:Item) SET i.extract_hashes = [x IN i.extract_hashes WHERE NOT x STARTS WITH 'llm:']")


def test_interests_extracted_between_a_load_and_the_update_follow_its_classification(db, world, settings, tmp_path):
    """`kgrec load --append`, then `kgrec interests extract` over every user, then `kgrec update`: the extraction
    marked the load's changes covered, the update's classification changed the new edges (a review saying the user
    hated the film), and its interest step found "no user to update": the interests stayed as the unclassified edges
    left them until a later full extraction. The users it classifies are stamped for the interest step."""
    from kgrec_neo4j.users.interests.offline import extract_offline

    assert run_update(db, settings).status == "nothing"
    user = sorted(world["before"]["users"])[1]
    item = db.value("MATCH (i:Item)-[:HAS_KNOWLEDGE]->() WHERE NOT (:User {id: $u})-[:INTERACTED]->(i) "
                    "RETURN i.id ORDER BY i.id LIMIT 1", u=user)
    load(db, [write_dataset(tmp_path / "day" / "vg", [], [
        {"user_id": user, "item_id": item, "seq": 30_000, "rating": 5.0, "timestamp": 1_700_000_000,
         "review_text": "Terrible, boring and broken. I hated it and returned it."}])], append=True)
    try:
        extract_offline(db, scope="every")  # over every user (serving: the new edge is read): the load is covered
        rep = run_update(db, settings)
        assert rep.status == "complete" and rep.users_classified >= 1 and rep.users_interests >= 1
        again = extract_offline(db)  # a full recompute finds the interests as the update left them
        assert (again.created, again.changed, again.deleted) == (0, 0, 0)
    finally:
        extract_offline(db, scope="train")


def test_update_finds_edges_no_classification_has_seen(db, world, settings):
    """An interaction written by another client (no kind_source, no load stamp) is classified by the next update.
    Whether there is any is read from counts on the interacted_kind_source index, not from a scan of every edge."""
    from kgrec_neo4j.core.resources import cypher

    def operators(query: str, **params) -> list[str]:
        with db.driver.session(database=db.database) as s:
            plan = s.run("EXPLAIN " + query, params).consume().plan
        out, todo = [], [plan]
        while todo:
            p = todo.pop()
            out.append(f"{p['operatorType']} {p.get('args', {}).get('Details', '')}")
            todo += p.get("children", [])
        return out

    ops = operators(cypher("update/unclassified_users"), previous=0, ingest=0)
    assert any("RelationshipIndexScan" in o and "kind_source" in o for o in ops), ops
    user, seq = db.query("MATCH (u:User)-[e:INTERACTED]->() RETURN u.id AS u, e.seq AS s ORDER BY u, s LIMIT 1")[0].values()
    edge = "MATCH (:User {id: $u})-[e:INTERACTED {seq: $s}]->() "
    kept = db.value(edge + "RETURN properties(e)", u=user, s=seq)
    assert run_update(db, settings).status == "nothing"
    db.write(edge + "REMOVE e.kind, e.sign, e.kind_source, e.confidence", u=user, s=seq)
    rep = run_update(db, settings)
    assert rep.status == "complete" and rep.users_classified == 1
    assert db.value(edge + "RETURN properties(e)", u=user, s=seq) == kept
    # a new train edge written in Browser: classified, and the user's interests follow it (stamped first)
    from kgrec_neo4j.users.interests.offline import extract_offline

    item = db.value("MATCH (i:Item)-[:HAS_KNOWLEDGE]->() WHERE NOT (:User {id: $u})-[:INTERACTED]->(i) "
                    "RETURN i.id ORDER BY i.id LIMIT 1", u=user)
    db.write("MATCH (u:User {id: $u}), (i:Item {id: $i}) "
             "CREATE (u)-[:INTERACTED {seq: 5000, split: 'train', rating: 5.0}]->(i)", u=user, i=item)
    before = snapshot(db)["interests"][user]
    rep = run_update(db, settings)
    assert rep.users_classified == 1 and rep.users_interests == 1
    # and counted among the users with new interactions (the report said 0: only users a load stamped were counted)
    assert rep.users_changed == 1
    after = snapshot(db)["interests"][user]
    assert after != before
    extract_offline(db, users=[user])
    assert snapshot(db)["interests"][user] == after  # what computing them now gives (the same run ids: unchanged)


def test_an_update_that_folds_nothing_in_says_the_version_is_unchanged(db, world, settings):
    """An update whose fold-in writes nothing (an interaction typed in Browser, no folded item reached) printed
    'version None' on its model line and in its fold-in step."""
    user, item = db.query("""
        MATCH (u:User) WHERE NOT EXISTS { (u)-[:INTERACTED]->(j:Item) WHERE j.gnn_folded_run IS NOT NULL }
        MATCH (i:Item) WHERE i.gnn_run IS NOT NULL AND i.gnn_folded_run IS NULL AND NOT EXISTS { (u)-[:INTERACTED]->(i) }
        RETURN u.id AS u, i.id AS i ORDER BY u, i LIMIT 1""")[0].values()
    run = db.value("MATCH (r:ModelRun {current: true}) RETURN r.id")
    version = db.value("MATCH (r:ModelRun {id: $r}) RETURN r.version", r=run)
    db.write("MATCH (u:User {id: $u}), (i:Item {id: $i}) "
             "CREATE (u)-[:INTERACTED {seq: 6000, split: 'train', rating: 5.0}]->(i)", u=user, i=item)
    r = invoke_cli(["update", "--silent"])
    assert r.exit_code == 0, r.output
    assert db.value("MATCH (r:ModelRun {id: $r}) RETURN r.version", r=run) == version
    assert "None" not in r.output, r.output
    assert f"0 items folded into run {run} (0 new), its version unchanged" in r.output, r.output
    assert "nothing written, the run's version unchanged" in r.output, r.output


def test_an_update_with_an_extractor_that_cannot_run_records_nothing(db, world, settings):
    """`kgrec update --extractor llm` without an endpoint fails before it records an update (which items need
    extracting depends on the extractor: recorded, the next plain update would resume it over every item)."""
    from kgrec_neo4j.core.errors import ConfigError

    runs = db.query("MATCH (r:UpdateRun) RETURN r.id AS id, r.status AS s ORDER BY id")
    with pytest.raises(ConfigError, match="KGREC_LLM_BASE_URL is not set"):
        run_update(db, dataclasses.replace(settings, llm_base_url=None), extractor="llm")
    assert db.query("MATCH (r:UpdateRun) RETURN r.id AS id, r.status AS s ORDER BY id") == runs
    assert run_update(db, settings).status == "nothing"


def test_the_stamped_users_are_read_once(db, world, settings, monkeypatch):
    """The classification and the interests of an update take the same list of stamped users: it is read once."""
    inter = slice_rows("interactions.jsonl")
    row = inter[0]
    mine = {x["item_id"] for x in inter if x["user_id"] == row["user_id"]}
    other = next(i for i in sorted({x["item_id"] for x in inter}) if i not in mine)
    load(db, [write_dataset(world["tmp"] / "once" / "vg", [], [{**row, "item_id": other, "seq": 10_000, "rating": 5.0}])],
         append=True)
    calls: list[str] = []
    query = db.query

    def spy(q: str, **params):
        calls.append(q)
        return query(q, **params)

    monkeypatch.setattr(db, "query", spy)
    rep = run_update(db, settings)
    assert rep.status == "complete" and rep.users_classified == rep.users_interests == 1
    assert sum(q == cypher("update/changed_users") for q in calls) == 1


def test_warm_start_continues_the_run(db, world):
    # on the graph it trained on, a warm-started model is the run itself before any epoch
    assert world["warm_gap"] < 1e-4
    # the train edges earlier tests typed in as Browser does come after their users' valid and test ones: an
    # evaluation run refuses them (check_split_order); put aside while this test trains, then put back
    late = db.query("MATCH (u:User)-[h:INTERACTED]->() WHERE h.split IN ['valid', 'test'] WITH u, min(h.seq) AS first "
                    "MATCH (u)-[e:INTERACTED {split: 'train'}]->(i:Item) WHERE e.seq > first "
                    "RETURN u.id AS u, i.id AS i, properties(e) AS p")
    db.write("UNWIND $rows AS r MATCH (:User {id: r.u})-[e:INTERACTED {seq: r.p.seq}]->(:Item {id: r.i}) DELETE e",
             rows=late)
    try:
        _warm_start_continues_the_run(db, world)
    finally:
        db.write("UNWIND $rows AS r MATCH (u:User {id: r.u}), (i:Item {id: r.i}) CREATE (u)-[e:INTERACTED]->(i) "
                 "SET e = r.p", rows=late)


def _warm_start_continues_the_run(db, world):
    # after the update: the new items start from their folded-in vectors; the run becomes current
    res = run_training(db, type_names=PACK.names, model="ours", epochs=1, seed=0, warm_start=True,
                       overrides={"item_graph_concept_weights": [1.0], "item_graph_weights": [1.0]})
    ws = res.warm_start
    assert ws["run"] == world["run"] and res.current
    assert ws["items_folded"] == len(world["new_items"]) and ws["items_random"] == 0
    assert ws["users_trained"] == len(world["before"]["users"]) and ws["parameters"] > 10
    assert ws["valid_ndcg@10_at_epoch_0"] is not None
    assert db.value("MATCH (i:Item) WHERE i.gnn_run = $r RETURN count(i)", r=res.run) == db.value(
        "MATCH (i:Item) RETURN count(i)")
    with pytest.raises(Exception, match="warm-start continues a run of ours"):
        run_training(db, type_names=PACK.names, model="lightgcn", warm_start=True)
    # an evaluation run does not start from a run trained for serving (it learnt valid and test: its valid NDCG@10
    # rose from 0.154 to 0.170 on Office), and says which run it may start from
    from kgrec_neo4j.model import runs

    runs.create_run(db, "ours-serving-probe", model="ours", config={"mode": "serving"}, dataset=None)
    try:
        n = db.value("MATCH (r:ModelRun) RETURN count(r)")
        with pytest.raises(Exception, match=f"trained for serving.*the latest of ours is {res.run}"):
            run_training(db, type_names=PACK.names, model="ours", epochs=1, warm_start="ours-serving-probe")
        assert db.value("MATCH (r:ModelRun) RETURN count(r)") == n  # refused before a run is recorded
    finally:
        db.write("MATCH (r:ModelRun {id: 'ours-serving-probe'}) DETACH DELETE r")


def test_an_update_with_failed_items_does_every_step_and_exits_4(db, world, monkeypatch):
    """An update whose extraction failed some items printed `items: 1 extracted (1 failed)` and exited 0, so `kgrec
    load --append && kgrec update && kgrec train` went on with the holes unseen. It still does every step, names the
    failed items with their reason and exits 4 (0 with --allow-failures). A failed item is not new work by itself:
    a plain update with nothing else new leaves it, `kgrec update --retry-failed` extracts it again."""
    import kgrec_neo4j.extract.run as run_mod

    good, bad = "ZZ-NEW-GOOD", "ZZ-NEW-BAD"
    user = sorted(world["before"]["users"])[0]
    items = [{"item_id": good, "title": "Halo 5: Guardians - Xbox One"}, {"item_id": bad, "title": "Forza 6 - Xbox One"}]
    load(db, [write_dataset(world["tmp"] / "failing" / "vg", items,
                            [{"user_id": user, "item_id": i["item_id"], "seq": 20_000 + k, "rating": 5.0}
                             for k, i in enumerate(items)])], append=True)
    real = run_mod.build_extractor

    def failing(settings, name, **kw):  # the extractor's answer for `bad` is not valid
        ex = real(settings, name, **kw)
        extract = ex.extract
        ex.extract = lambda chunk: [r.model_copy(update={"points": [], "error": "invalid_json: not an answer"})
                                    if r.item_id == bad else r for r in extract(chunk)]
        return ex

    monkeypatch.setattr(run_mod, "build_extractor", failing)
    r = invoke_cli(["update", "--silent"])
    assert r.exit_code == 4, r.output
    assert "items:     1 extracted (1 failed)" in r.output
    assert all(f"  {step} " in r.output for step in ("extract", "concepts", "knowledge", "classify", "interests",
                                                      "fold-in")), r.output
    assert f"failed items (each keeps its reason in Item.extract_error): {bad}: invalid_json: not an answer" in r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        "Error: 1 item failed extraction (each keeps its reason in Item.extract_error; `kgrec update --retry-failed` "
        "extracts them again, as does the next update with other work); every step of the update was done and "
        "everything else written. Retry them as said, or pass --allow-failures to accept them (exit code 0)")
    assert db.value("MATCH (r:UpdateRun) WITH r ORDER BY r.started DESC LIMIT 1 RETURN r.status") == "complete"
    assert db.value("MATCH (i:Item {id: $i}) RETURN i.extract_error", i=bad) == "invalid_json: not an answer"
    assert db.value("MATCH (i:Item {id: $i}) RETURN i.gnn_run IS NOT NULL", i=good)  # folded in
    # accepted: the JSON report, exit 0, the last line says so
    r = invoke_cli(["update", "--silent", "--retry-failed", "--json", "--allow-failures"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["items_failed"] == 1
    assert r.stderr.strip().splitlines()[-1].endswith("(exit code 0: --allow-failures)"), r.stderr

    monkeypatch.setattr(run_mod, "build_extractor", real)
    r = invoke_cli(["update", "--silent"])
    assert r.exit_code == 0 and "nothing new since the last update" in r.output, r.output
    assert "1 item whose extraction failed (reason in Item.extract_error) waits" in r.output, r.output  # not silent
    r = invoke_cli(["update", "--silent", "--retry-failed"])
    assert r.exit_code == 0, r.output
    assert "items:     1 extracted (0 failed)" in r.output and not r.stderr, r.output
    assert db.value("MATCH (i:Item {id: $i}) RETURN i.extract_error", i=bad) is None


def test_a_later_update_leaves_the_items_folded_before_as_they_were(db, world, settings):
    """Items folded in by one update and untouched by the next keep their vectors and their links with trained items
    byte for byte: an item's fold-in reads no other folded-in item, and its length factor is the one it was first
    folded with (not a median over whichever items are folded with it later). (The links between folded items follow
    every folded item's neighbours: a later new item may link to them.)"""
    rows = {r["item_id"]: r for r in slice_rows("items.jsonl")}
    trained = sorted(db.value("MATCH (i:Item) WHERE i.gnn_folded_run IS NULL AND i.title IS NOT NULL "
                              "RETURN collect(i.id)"))

    def add(tag: str, source: str) -> None:
        item = {**rows[source], "item_id": f"NEW-{tag}", "title": f"{rows[source]['title']} {tag}"}
        inter = {"user_id": f"NEWUSER-{tag}", "item_id": item["item_id"], "seq": 0, "rating": 5.0,
                 "timestamp": None, "review_title": None, "review_text": None}
        load(db, [write_dataset(world["tmp"] / f"later-{tag}" / "vg", [item], [inter])], append=True)

    state = ("MATCH (i:Item) WHERE i.gnn_folded_run = $run AND i.gnn_run = $run "
             "OPTIONAL MATCH (j:Item)-[l:ITEM_LINK]->(i) WHERE l.from_new IS NULL OR NOT l.from_new "
             "WITH i, l, j ORDER BY j.id "
             "RETURN i.id AS id, i.gnn_embedding AS e, i.gnn_foldin AS f, i.gnn_fold_scale AS s, "
             "collect([j.id, l.weight, l.digest]) AS links ORDER BY id")
    add("first", trained[0])
    first = run_update(db, settings)
    assert first.items_new == 1
    folded = {r["id"]: r for r in db.query(state, run=first.run)}
    assert "NEW-first" in folded and folded["NEW-first"]["s"] > 0
    between = ("MATCH (j:Item)-[l:ITEM_LINK {run: $r, from_new: true}]->(i:Item) WHERE i.gnn_folded_run = $r "
               "RETURN j.id AS j, i.id AS i, l.weight AS w, l.probe AS probe ORDER BY j, i")
    db.execute("MATCH ()-[l:ITEM_LINK {run: $r, from_new: true}]->() SET l.probe = true", r=first.run)
    weight_before = {(r["j"], r["i"]): r["w"] for r in db.query(between, r=first.run)}
    add("second", trained[1])
    second = run_update(db, settings)
    assert second.items_new == 1 and second.run == first.run
    # the links between folded items are written where they changed, link by link: a link of the same pair and
    # weight is the one it was (the whole row of every item the new one linked to was written again until 2026-12-05)
    links = db.query(between, r=first.run)
    probed = {(r["j"], r["i"]) for r in links if r["probe"]}
    assert probed and len(probed) < len(links)  # some links are new, the others were left as they were
    assert all("NEW-second" in (r["j"], r["i"]) for r in links if not r["probe"])  # only the new item's are new
    assert all(r["w"] == weight_before[r["j"], r["i"]] for r in links if r["probe"])  # (a pair's weight stays)
    # the case in point: an item folded in before whose row the new item entered, its other links left as they were
    mixed = {r["i"] for r in links if r["j"] == "NEW-second"} & {r["i"] for r in links if r["probe"]}
    assert mixed - {"NEW-second"}
    # ... and they are what borrowing every folded item at once gives
    db.execute("MATCH (j:Item)-[l:ITEM_LINK {run: $r, from_new: true}]->(i:Item) WHERE i.gnn_folded_run = $r "
               "DELETE l", r=first.run)
    from kgrec_neo4j.model.newitems import Changed, fold_in_new_items

    assert fold_in_new_items(db, changed=Changed(10**9, 10**9, ())).borrowed_links == len(links)
    assert [{**r, "probe": None} for r in db.query(between, r=first.run)] == [{**r, "probe": None} for r in links]
    assert second.items_folded == 1 and second.fold_kept == len(folded)  # nothing of theirs changed: not again
    after = {r["id"]: r for r in db.query(state, run=first.run)}
    assert set(after) == set(folded) | {"NEW-second"}
    for item, before in folded.items():  # untouched by the second update: the same bits
        assert after[item] == before, item
    # a new interaction of NEW-first's user: that item is folded in again (its user changed), NEW-second is not
    fold_versions = ("MATCH (i:Item) WHERE i.id STARTS WITH 'NEW-' AND i.gnn_folded_run = $r "
               "RETURN i.id AS id, i.gnn_fold_version AS v ORDER BY id")
    versions = {r["id"]: r["v"] for r in db.query(fold_versions, r=first.run)}
    more = {"user_id": "NEWUSER-first", "item_id": trained[2], "seq": 1, "rating": 5.0, "timestamp": None,
            "review_title": None, "review_text": None}
    load(db, [write_dataset(world["tmp"] / "later-more" / "vg", [], [more])], append=True)
    third = run_update(db, settings)
    assert third.items_new == 0 and third.items_folded == 1 and third.fold_kept == len(after) - 1
    now = {r["id"]: r["v"] for r in db.query(fold_versions, r=first.run)}
    assert now["NEW-first"] == third.run_version > versions["NEW-first"] and now["NEW-second"] == versions["NEW-second"]
    after = {r["id"]: r for r in db.query(state, run=first.run)}
    # a first fold-in cut before it bumped the run's version: the factor it wrote is computed again, not kept
    version = db.value("MATCH (r:ModelRun {id: $r}) RETURN r.version", r=second.run)
    db.write("MATCH (i:Item {id: 'NEW-second'}) SET i.gnn_fold_scale = 123.0, i.gnn_fold_version = $v, "
             "i.gnn_fold_first = $v", v=version + 1)
    again = fold_in_new_items(db, borrow_neighbours=0)
    # (every item with a factor keeps it but the cut one; an item folded in from nothing, a zero vector, has none)
    assert again.scale_kept == sum(r["s"] is not None for r in after.values()) - 1
    # (the same up to float32 rounding: the second update folded NEW-second in alone, this fold-in with every item)
    assert again.norm_scale == pytest.approx(second.fold_norm_scale, rel=1e-6)
    # the same vectors up to float32 rounding (their last bits depend on the items computed with them: each update
    # folded in only the items whose inputs changed, this fold-in all of them), the same factors and links
    final = {r["id"]: r for r in db.query(state, run=first.run)}
    assert set(final) == set(after)
    for item, r in final.items():
        np.testing.assert_allclose(r["e"], after[item]["e"], rtol=1e-5, atol=1e-7, err_msg=item)
        np.testing.assert_allclose(r["f"], after[item]["f"], rtol=1e-5, atol=1e-7, err_msg=item)
        assert r["s"] == (None if after[item]["s"] is None else pytest.approx(after[item]["s"], rel=1e-6)), item
        assert r["links"] == after[item]["links"], item


def test_a_fold_in_that_folds_nothing_again_still_borrows_changed_links(db, world):
    """With nothing an item is folded in from changed, no item is folded in again; links whose neighbours changed
    are still borrowed again, and the run's version goes up so that serving reloads them; with nothing changed at
    all, nothing is written and the version stays."""
    from kgrec_neo4j.model.newitems import Changed, _current_run, fold_in_new_items

    run = _current_run(db)  # (an earlier test may have trained another)
    assert run
    version = "MATCH (r:ModelRun {id: $r}) RETURN coalesce(r.version, 0)"
    folded = db.value("MATCH (i:Item) WHERE i.gnn_run = $r AND i.gnn_folded_run = $r RETURN count(i)", r=run)
    nothing = Changed(10**9, 10**9, ())  # no user stamped in that range, no item extracted
    v0 = db.value(version, r=run)
    db.execute("MATCH ()-[l:ITEM_LINK {run: $r, borrowed: true}]->() REMOVE l.digest", r=run)
    f = fold_in_new_items(db, changed=nothing)
    assert f.items == 0 and f.kept == folded > 0 and f.items_linked > 0 and f.version == v0 + 1
    assert db.value(version, r=run) == v0 + 1
    g = fold_in_new_items(db, changed=nothing)
    assert g.items == 0 and g.items_linked == 0 and g.borrow_unchanged + g.borrow_none == folded and g.version is None
    assert db.value(version, r=run) == v0 + 1


def test_a_fold_in_that_only_removes_links_bumps_the_version(db, world, monkeypatch):
    """Items whose neighbours all went away keep no borrowed link: a fold-in that only removes links (none written,
    no item folded in again) still bumps the run's version, so that serving stops scoring with them; once the
    neighbours are back the same links are borrowed again."""
    from kgrec_neo4j.model import newitems
    from kgrec_neo4j.model.newitems import Changed, _current_run, fold_in_new_items

    run = _current_run(db)
    assert run
    every = ("MATCH (j:Item)-[l:ITEM_LINK {run: $r, borrowed: true}]->(i:Item) RETURN j.id AS j, i.id AS i, "
             "l.weight AS w, l.neighbour AS nb, l.from_new AS fn ORDER BY j, i")
    version = "MATCH (r:ModelRun {id: $r}) RETURN coalesce(r.version, 0)"
    nothing = Changed(10**9, 10**9, ())
    fold_in_new_items(db, changed=nothing)  # (as earlier tests left them)
    before = db.query(every, r=run)
    assert before
    v0 = db.value(version, r=run)
    monkeypatch.setattr(newitems, "nearest_trained_items", lambda *a, **k: {})  # no item has neighbours now
    f = fold_in_new_items(db, changed=nothing)
    assert f.items == 0 and f.items_linked == 0 and f.borrowed_links == 0 and f.borrowed_removed == len(before)
    assert db.query(every, r=run) == [] and f.version == v0 + 1 and db.value(version, r=run) == v0 + 1
    monkeypatch.undo()
    g = fold_in_new_items(db, changed=nothing)
    assert g.borrowed_links == len(before) and g.borrowed_removed == 0 and g.version == v0 + 2
    assert db.query(every, r=run) == before


def test_a_fold_in_cut_after_its_link_writes_bumps_the_version_when_resumed(db, world, monkeypatch):
    """A fold-in killed after it wrote borrowed links and before the run's new version: the resumed one finds every
    link as it should be and writes nothing, yet bumps the version (the mark set before the first write), so that
    serving reloads the links; the one after that leaves the version as it is."""
    from kgrec_neo4j.model import newitems
    from kgrec_neo4j.model.newitems import Changed, _current_run, fold_in_new_items

    run = _current_run(db)
    assert run
    version = "MATCH (r:ModelRun {id: $r}) RETURN coalesce(r.version, 0)"
    pending = "MATCH (r:ModelRun {id: $r}) RETURN r.links_pending"
    nothing = Changed(10**9, 10**9, ())
    fold_in_new_items(db, changed=nothing)
    v0 = db.value(version, r=run)
    assert db.value(pending, r=run) is None
    db.execute("MATCH ()-[l:ITEM_LINK {run: $r, borrowed: true}]->() REMOVE l.digest", r=run)
    real = newitems.cypher

    def cut(name: str) -> str:
        if name == "update/run_version":
            raise RuntimeError("killed before the new version")
        return real(name)

    monkeypatch.setattr(newitems, "cypher", cut)
    with pytest.raises(RuntimeError, match="killed"):
        fold_in_new_items(db, changed=nothing)
    monkeypatch.undo()
    assert db.value(version, r=run) == v0 and db.value(pending, r=run) is True
    f = fold_in_new_items(db, changed=nothing)
    assert f.items_linked == 0 and f.borrowed_links == 0 and f.borrowed_removed == 0  # every link as it should be
    assert f.version == v0 + 1 and db.value(version, r=run) == v0 + 1 and db.value(pending, r=run) is None
    assert fold_in_new_items(db, changed=nothing).version is None


def test_the_fold_in_summary_counts_add_up(db, world, settings):
    """An update's fold-in summary said e.g. '1070 new ..., 1072 whose neighbours and links were as they were': the
    second number counted every item folded into the run, those folded in before and kept included, and counted a
    new item without any trained item near it (no text, no knowledge: nothing to borrow from) as one whose links
    were 'as they were'. Items with nothing to borrow from are counted apart now, and the three borrow counts add up
    to the items folded into the run (this time and before)."""
    from kgrec_neo4j.model.newitems import Changed, fold_in_new_items

    user = sorted(world["touched"])[0]
    items = [{"item_id": f"NOTEXT-{k}", "title": None, "description": [], "features": [], "categories": [],
              "brand": None} for k in range(3)]
    inter = [{"user_id": user, "item_id": it["item_id"], "seq": 10_000 + k, "rating": 5.0, "timestamp": None,
              "review_title": None, "review_text": None} for k, it in enumerate(items)]
    load(db, [write_dataset(world["tmp"] / "notext" / "vg", items, inter)], append=True)
    rep = run_update(db, settings)
    folded = db.value("MATCH (i:Item) WHERE i.gnn_run = $r AND i.gnn_folded_run = $r RETURN count(i)", r=rep.run)
    assert rep.items_new == 3 and rep.items_folded + rep.fold_kept == folded
    # the three have no text and no knowledge: no neighbours, no borrowed links, and not 'as they were'
    assert not db.value("MATCH ()-[l:ITEM_LINK]->(i:Item) WHERE i.id STARTS WITH 'NOTEXT-' RETURN count(l) > 0")
    assert rep.borrow_none >= 3
    assert rep.items_linked + rep.borrow_unchanged + rep.borrow_none == folded
    fold = next(s.summary for s in rep.steps if s.step == "fold-in")
    assert (f"item links borrowed from their nearest trained items, over the {folded} items folded into the run: "
            f"{rep.items_linked} got theirs, {rep.borrow_unchanged} kept theirs (their "
            f"neighbours were as before), {rep.borrow_none} have none") in fold, fold
    assert f"; {rep.borrowed_links} links written, {rep.borrowed_removed} removed (links between new items" in fold
    # again with nothing changed: every item with links keeps them, the three still have none
    again = fold_in_new_items(db, changed=Changed(10**9, 10**9, ()))
    assert (again.items_linked, again.borrow_none) == (0, rep.borrow_none)
    assert again.borrow_unchanged == folded - rep.borrow_none


def test_borrow_digest_changes_with_each_input():
    from kgrec_neo4j.model.newitems import borrow_digest

    near = [("a", 0.6), ("b", 0.4)]
    base = borrow_digest("run-1", 100, near)
    assert base == borrow_digest("run-1", 100, list(near)) == borrow_digest("run-1", 100, near, 1.0)
    assert 0 <= base < 2 ** 63 and borrow_digest("run-1", 100, near, 1.5) != base
    assert len({base, borrow_digest("run-2", 100, near), borrow_digest("run-1", 50, near),
                borrow_digest("run-1", 100, [("a", 0.6), ("c", 0.4)]), borrow_digest("run-1", 100, [("a", 0.61), ("b", 0.39)]),
                borrow_digest("run-1", 100, near[::-1]), borrow_digest("run-1", 100, [])}) == 7


def test_removing_a_link_source_makes_its_targets_borrow_again(db):
    """A reload that removes an item that is the source of borrowed links clears the digest of the target's other
    borrowed links (they are one short now), so the next update borrows them again; other items' digests stay."""
    db.execute("CREATE (s:Item {id: 'zz-src', dataset: 'zz'}), (k:Item {id: 'zz-keep', dataset: 'zz'}), "
               "(t:Item {id: 'zz-target', dataset: 'zz'}), (o:Item {id: 'zz-other', dataset: 'zz'}), "
               "(s)-[:ITEM_LINK {run: 'zz-run', weight: 1.0, borrowed: true, digest: 7}]->(t), "
               "(k)-[:ITEM_LINK {run: 'zz-run', weight: 0.5, borrowed: true, digest: 7}]->(t), "
               "(k)-[:ITEM_LINK {run: 'zz-run', weight: 0.5, borrowed: true, digest: 8}]->(o)")
    try:
        db.write(cypher("load/delete_items"), ids=["zz-src"], dataset="zz")
        got = db.query("MATCH (a:Item)-[l:ITEM_LINK]->(b:Item) WHERE b.id STARTS WITH 'zz-' "
                       "RETURN a.id AS a, b.id AS b, l.digest AS d ORDER BY a, b")
        assert got == [{"a": "zz-keep", "b": "zz-other", "d": 8}, {"a": "zz-keep", "b": "zz-target", "d": None}]
    finally:
        db.execute("MATCH (i:Item) WHERE i.id STARTS WITH 'zz-' DETACH DELETE i")


def test_removing_items_closes_the_gaps_in_stored_recommendations(db):
    """A reload that removed an item left a gap at its rank in every stored list that held it (ranks 1, 3, 4)."""
    db.execute("CREATE (u:User {id: 'zz-u'}), (v:User {id: 'zz-v'}) WITH u, v "
               "UNWIND range(1, 5) AS k CREATE (i:Item {id: 'zz-' + k, dataset: 'zz'}) "
               "CREATE (u)-[:RECOMMENDED {rank: k, score: 10.0 - k}]->(i) "
               "FOREACH (_ IN CASE WHEN k >= 4 THEN [1] ELSE [] END | "
               "  CREATE (v)-[:RECOMMENDED {rank: k - 3, score: 1.0}]->(i))")
    ranks = ("MATCH (u:User)-[r:RECOMMENDED]->(i:Item) WHERE u.id STARTS WITH 'zz-' "
             "WITH u.id + ':' + i.id + '@' + toString(r.rank) AS x ORDER BY x RETURN collect(x)")
    try:
        db.write(cypher("load/delete_items"), ids=["zz-2", "zz-4"], dataset="zz")
        assert db.value(ranks) == ["zz-u:zz-1@1", "zz-u:zz-3@2", "zz-u:zz-5@3", "zz-v:zz-5@1"]
    finally:
        db.execute("MATCH (n) WHERE (n:Item OR n:User) AND n.id STARTS WITH 'zz-' DETACH DELETE n")


def test_a_resumed_fold_in_keeps_the_factor_of_an_item_it_folds_in_again(db, world, settings, monkeypatch):
    """An item folded in by an earlier update keeps the length factor it was first given, whatever later updates fold
    in. When the fold-in that folds it in again is cut after writing its vector, the resumed update read it as an
    item folded in for the first time (its version above the run's) and gave it the factor of that update's new items
    instead of its own."""
    from kgrec_neo4j.model import newitems

    rows = {r["item_id"]: r for r in slice_rows("items.jsonl")}
    trained = sorted(db.value("MATCH (i:Item) WHERE i.gnn_folded_run IS NULL AND i.title IS NOT NULL "
                              "RETURN collect(i.id)"))

    def append(tag: str, interactions: list[tuple[str, str, int]], source: str | None = None) -> None:
        items = [{**rows[source], "item_id": f"NEW-{tag}", "title": f"{rows[source]['title']} {tag}"}] if source else []
        inter = [{"user_id": u, "item_id": i, "seq": q, "rating": 5.0, "timestamp": None, "review_title": None,
                  "review_text": None} for u, i, q in interactions]
        load(db, [write_dataset(world["tmp"] / f"refold-{tag}" / "vg", items, inter)], append=True)

    append("refold", [("NEWUSER-refold", "NEW-refold", 0)], trained[3])
    run = run_update(db, settings).run
    scale = db.value("MATCH (i:Item {id: 'NEW-refold'}) RETURN i.gnn_fold_scale")
    assert scale is not None
    # its user takes up a trained item (the next update folds NEW-refold in again), and another new item comes
    append("refold2", [("NEWUSER-refold", trained[4], 1), ("NEWUSER-refold2", "NEW-refold2", 0)], trained[5])

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(newitems, "borrow_item_links", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_update(db, settings)
    version = db.value("MATCH (r:ModelRun {id: $r}) RETURN coalesce(r.version, 0)", r=run)
    assert db.value("MATCH (i:Item {id: 'NEW-refold'}) RETURN i.gnn_fold_version") == version + 1  # a cut re-fold
    monkeypatch.undo()
    rep = run_update(db, settings)
    assert rep.resumed and rep.status == "complete" and rep.run == run and rep.items_new == 1
    assert db.value("MATCH (i:Item {id: 'NEW-refold'}) RETURN i.gnn_fold_scale") == scale


def test_killed_update_resumes(db, settings, tmp_path):
    """kill -9 during the update, then `kgrec update` again: it resumes the same run and finishes its work."""
    _, new_items, touched = appended_world(db, settings, tmp_path, seed=2)
    p = subprocess.Popen([sys.executable, "-m", "kgrec_neo4j.cli", "update", "--silent"], cwd=REPO,
                         env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 600
    while time.time() < deadline and p.poll() is None:
        if "extract" in (db.value("MATCH (r:UpdateRun) RETURN r.steps") or []):
            break
        time.sleep(0.05)
    assert p.poll() is None, f"the update finished before it could be killed: {p.communicate()[0]}"
    p.send_signal(signal.SIGKILL)
    p.wait(30)
    assert db.value("MATCH (r:UpdateRun) RETURN r.status") == "running"
    r = invoke_cli(["update", "--silent"])
    assert r.exit_code == 0, r.output
    assert "(resumed)" in r.output
    # the report counts what the steps done before the kill did (here the extraction), not only what the resume did
    assert f"items:     {len(new_items)} extracted" in r.output, r.output
    assert db.query("MATCH (r:UpdateRun) RETURN r.status AS s, r.steps AS steps")[0]["s"] == "complete"
    # the work is done: every new item extracted and folded in, every touched user's interests recomputed
    assert db.value("MATCH (i:Item) WHERE i.id IN $ids AND (i.gnn_run IS NULL OR i.extract_hashes IS NULL) "
                    "RETURN count(i)", ids=sorted(new_items)) == 0
    from kgrec_neo4j.users.interests.offline import extract_offline

    def interests() -> dict:
        return {k: sorted(json.dumps([json.loads(v)[0], {x: y for x, y in json.loads(v)[1].items() if x != "run"}])
                          for v in vs) for k, vs in snapshot(db)["interests"].items()}

    got = interests()
    extract_offline(db, users=sorted(touched))
    assert interests() == got  # what the resumed update left is what computing them now gives
    assert "nothing new" in invoke_cli(["update"]).output


def test_an_update_interrupted_in_its_fold_in_counts_every_changed_user_on_resume(db, settings, tmp_path,
                                                                                 monkeypatch):
    """Ctrl-C (KeyboardInterrupt) in the fold-in step, then `kgrec update` again: the resumed update reported fewer
    users with new or changed interactions than the load changed (1 of 2), because it counted them again after the
    knowledge step had stamped some of them with the update's own number. The work was right; the count is the one
    the update took at its start now (the interrupted update reports the same users as an uninterrupted one). Its
    new items were counted as folded in before ("0 new"): their vectors were written before the cut.
    The new items' links are borrowed in that step: a failure there (an error, or the Ctrl-C here) fails the update
    (never a run marked complete without them), the run's version is not bumped (serving does not reload half of
    it), and the resume borrows them."""
    from kgrec_neo4j.model import newitems
    from kgrec_neo4j.users.interests.offline import extract_offline

    run, new_items, touched = appended_world(db, settings, tmp_path, seed=3)
    assert db.value("MATCH (u:User) WHERE u.ingest = 2 RETURN count(u)") == len(touched)  # the load stamped them

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(newitems, "borrow_item_links", interrupted)
    unfolded = db.value("MATCH (i:Item) WHERE i.gnn_run IS NULL RETURN count(i)")  # what an update folds in as new
    r = invoke_cli(["update", "--silent"])  # what the user sees: no bare "Aborted!", but how to go on
    assert r.exit_code == 130 and r.stderr.strip().endswith(
        "interrupted: the steps done are kept; run `kgrec update` again to resume where it stopped"), r.output
    state = db.query("MATCH (r:UpdateRun) RETURN r.status AS s, r.steps AS steps")[0]
    assert state["s"] == "running" and "interests" in state["steps"] and "fold-in" not in state["steps"]
    assert db.value("MATCH (r:ModelRun {id: $r}) RETURN coalesce(r.version, 0)", r=run) == 0
    # the knowledge step stamped some of the load's users with the update's own number (3): that is its job
    restamped = db.value("MATCH (u:User) WHERE u.id IN $ids AND u.ingest = 3 RETURN count(u)", ids=sorted(touched))
    assert 0 < restamped < len(touched), "pick a split seed where the knowledge step stamps some changed users"
    monkeypatch.undo()
    r = invoke_cli(["update"])
    assert r.exit_code == 0 and "(resumed)" in r.output, r.output
    assert f"users:     {len(touched)} with new or changed interactions" in r.output, r.output
    # the steps done before the cut are marked as such (with their time), and the cut one says what it counts
    lines = {ln.split()[0]: ln for ln in r.output.splitlines() if ln.startswith("  ")}
    assert lines["interests"].endswith("(before the interruption)") and "s of steps done before" in r.output, r.output
    assert lines["fold-in"].endswith("(resumed: anything it did before the interruption is not counted)"), r.output
    # and the work is complete: every new item folded in, every changed user's interests as computing them now gives
    assert db.value("MATCH (i:Item) WHERE i.id IN $ids AND i.gnn_run IS NULL RETURN count(i)", ids=sorted(new_items)) == 0

    def interests() -> dict:
        return {k: sorted(json.dumps([json.loads(v)[0], {x: y for x, y in json.loads(v)[1].items() if x != "run"}])
                          for v in vs) for k, vs in snapshot(db)["interests"].items()}

    got = interests()
    extract_offline(db, users=sorted(touched))
    assert interests() == got
    summary = json.loads(db.value("MATCH (r:UpdateRun) RETURN r.summary"))
    assert summary["users_changed"] == len(touched) and summary["resumed"]
    # the cut fold-in had written the new items' vectors: they are still new to the update that completes it (it said
    # "0 new" when new meant "without a vector")
    assert summary["items_new"] == unfolded > 0, summary
    assert db.value("MATCH (i:Item) WHERE i.gnn_fold_first IS NOT NULL RETURN count(i)") == unfolded
    assert summary["status"] == "complete" and summary["items_linked"] > 0
    assert db.value("MATCH (j:Item)-[l:ITEM_LINK {run: $r, borrowed: true}]->(i:Item) WHERE i.id IN $ids "
                    "OR j.id IN $ids RETURN count(l)", r=run, ids=sorted(new_items)) == summary["borrowed_links"] > 0


def test_an_update_resumed_in_its_classify_step_stamps_the_users_as_an_uninterrupted_one(db, settings, tmp_path,
                                                                                        monkeypatch):
    """An update cut in its classify step and run again ends with the users' stamps an uninterrupted update leaves:
    the load's number on the users it stamped, the update's own on those the knowledge step reached. The resumed
    classification does not know whether some edge was never classified, so it looks for such edges and stamps their
    users; until 2026-12-03 it stamped every user of its list with the update's number, the load's users too."""
    from kgrec_neo4j.users import interactions

    run, _, touched = appended_world(db, settings, tmp_path, seed=3)
    load_number = db.value("MATCH (s:UpdateState) RETURN s.ingest")

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(interactions, "classify_interactions", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_update(db, settings, extractor="offline")
    monkeypatch.undo()
    steps = db.value("MATCH (r:UpdateRun {status: 'running'}) RETURN r.steps")
    assert "knowledge" in steps and "classify" not in steps, steps
    own = load_number + 1
    reached = set(db.value("MATCH (u:User {ingest: $n}) RETURN collect(u.id)", n=own))  # by the knowledge step
    assert 0 < len(reached & touched) < len(touched), "pick a split seed where the knowledge step stamps some"
    rep = run_update(db, settings, extractor="offline")
    assert rep.resumed and rep.status == "complete" and rep.users_interests >= len(touched)
    assert set(db.value("MATCH (u:User {ingest: $n}) RETURN collect(u.id)", n=own)) == reached
    assert set(db.value("MATCH (u:User {ingest: $n}) RETURN collect(u.id)", n=load_number)) == touched - reached


def test_the_service_says_retry_for_a_new_item_until_it_has_loaded_the_update(db, world, settings):
    """Right after `kgrec update` a running service still answers with the version of the run it loaded (its watcher
    loads the new one within seconds): an explanation of an item the update folded in was a 404 saying the item
    "counts once `kgrec update` ... gives it one", after that very update. It is a 503 to retry until then."""
    from fastapi.testclient import TestClient

    from kgrec_neo4j.serve.api import ServiceState, create_app

    source = next(r for r in slice_rows("items.jsonl") if r["title"])
    item = {**source, "item_id": "NEW-served", "title": f"{source['title']} served"}
    state = ServiceState(settings, poll_s=3600)  # (not started: no watcher, the test says when it loads)
    m = state.refresh()
    load(db, [write_dataset(world["tmp"] / "served" / "vg", [item], [
        {"user_id": "NEWUSER-served", "item_id": "NEW-served", "seq": 0, "rating": 5.0}])], append=True)
    rep = run_update(db, settings)
    assert rep.items_new == 1 and rep.run == m.run and rep.run_version > m.version
    try:
        with TestClient(create_app(state)) as client:
            r = client.get("/users/NEWUSER-served/items/NEW-served/explanation")
            assert r.status_code == 503 and f"while it loads version {rep.run_version}" in r.json()["error"], r.text
            assert client.get("/users/NEWUSER-served/items/NO-SUCH-ITEM/explanation").status_code == 404
            assert state.refresh().version == rep.run_version
            r = client.get("/users/NEWUSER-served/items/NEW-served/explanation")
            assert r.status_code == 200 and r.json()["in_history"], r.text
    finally:
        state.stop()


def test_an_item_and_interactions_posted_to_the_service_are_served_after_the_update(db, world, settings):
    """An application adds an item and what a new user does through `kgrec serve --writes`; the user is recommended
    from it at once, and after `kgrec update` the new item is extracted, folded into the run and explained."""
    from fastapi.testclient import TestClient

    from kgrec_neo4j.serve.api import ServiceState, create_app

    source = db.query("MATCH (i:Item)-[:HAS_KNOWLEDGE]->() WHERE i.title IS NOT NULL AND i.gnn_embedding IS NOT NULL "
                      "RETURN DISTINCT i.title AS title, i.categories AS categories, i.dataset AS dataset "
                      "ORDER BY title LIMIT 1")[0]
    dataset = source["dataset"]
    liked = db.value("MATCH (i:Item)<-[:INTERACTED]-() WHERE i.gnn_embedding IS NOT NULL AND i.dataset = $d "
                     "RETURN i.id ORDER BY i.id LIMIT 1", d=dataset)
    state = ServiceState(settings, poll_s=3600)
    state.refresh()
    body = {"id": "NEW-posted", "dataset": dataset, "title": f"{source['title']} posted",
            "categories": source["categories"] or []}
    try:
        with TestClient(create_app(state, writes=True, token="write-token"),
                        headers={"Authorization": "Bearer write-token"}) as client:
            r = client.post("/items", json=body)
            assert r.status_code == 201 and r.json() == {"item": "NEW-posted", "dataset": dataset, "written": True,
                                                         "new_item": True}, r.text
            assert client.post("/items", json=body).json()["written"] is False  # as stored: nothing written
            for item in (liked, "NEW-posted"):
                r = client.post("/users/NEWUSER-posted/interactions", json={"item": item, "rating": 5})
                assert r.status_code == 201, r.text
            # the new user counts at once: recommended from the trained item (the new one has no vector yet)
            recs = client.get("/users/NEWUSER-posted/recommendations", params={"k": 5})
            assert recs.status_code == 200 and recs.json()["source"] == "model", recs.text
            rep = run_update(db, settings)
            assert rep.status == "complete" and rep.items_new == 1, rep
            # the new user, and the users of items that reach a concept grown from the new item's support
            assert rep.users_interests == rep.users_classified == 1 or rep.concepts_grown > 0, rep
            assert state.refresh().version == rep.run_version
            kinds = db.query("MATCH (:User {id: 'NEWUSER-posted'})-[e:INTERACTED]->() RETURN e.kind_source AS k")
            assert len(kinds) == 2 and all(r["k"] is not None for r in kinds)  # classified by the update
            assert db.value("MATCH (:Item {id: 'NEW-posted'})-[:HAS_KNOWLEDGE]->(c) RETURN count(c)") > 0
            r = client.get("/users/NEWUSER-posted/items/NEW-posted/explanation")
            assert r.status_code == 200 and r.json()["in_history"] and r.json()["score"] is not None, r.text
            # a change of one text field: written again (and extracted again by the next update), the rest kept
            r = client.post("/items", json={"id": "NEW-posted", "dataset": dataset, "brand": "Posted Games"})
            assert r.status_code == 200 and r.json()["written"] is True
            kept = db.query("MATCH (i:Item {id: 'NEW-posted'}) RETURN i.title AS t, i.brand AS b")[0]
            assert kept == {"t": body["title"], "b": "Posted Games"}
            assert run_update(db, settings).items_extracted == 1
    finally:
        state.stop()


def test_an_update_finishes_the_clearing_a_stopped_train_left(db, world, settings):
    """`kgrec train` killed after its run became current and before it cleared the other runs' embeddings,
    attention and item links left them until the next complete training (1.4 M old item links in a review); the
    next update with work (or the next training) finishes that clearing."""
    run = db.value("MATCH (r:ModelRun) WHERE r.current RETURN r.id")  # (a test above trained another one)
    marker = "MATCH (r:ModelRun {id: $r}) RETURN r.stale_cleared"
    assert db.value(marker, r=run) is True  # the training cleared and said so
    db.write("MATCH (r:ModelRun {id: $r}) SET r.stale_cleared = false", r=run)  # as if killed before clearing
    db.write("MATCH (a:Item), (b:Item) WHERE a.gnn_run = $r AND b.gnn_run = $r AND a <> b WITH a, b LIMIT 3 "
             "CREATE (a)-[:ITEM_LINK {run: 'run-stopped-before', weight: 1.0}]->(b)", r=run)
    old = "MATCH ()-[l:ITEM_LINK {run: 'run-stopped-before'}]->() RETURN count(l)"
    assert run_update(db, settings).status == "nothing" and db.value(old) == 3  # nothing new: nothing written
    user, item = db.query("MATCH (u:User), (i:Item) WHERE i.gnn_run = $r AND NOT (u)-[:INTERACTED]->(i) "
                          "RETURN u.id AS u, i.id AS i ORDER BY u, i LIMIT 1", r=run)[0].values()
    db.write("MATCH (u:User {id: $u}), (i:Item {id: $i}) "
             "CREATE (u)-[:INTERACTED {seq: 7000, split: 'train', rating: 4.0}]->(i)", u=user, i=item)
    rep = run_update(db, settings)
    assert rep.status == "complete"
    assert db.value(old) == 0 and db.value(marker, r=run) is True
    assert db.value("MATCH ()-[l:ITEM_LINK {run: $r}]->() RETURN count(l)", r=run) > 0  # its own links kept


def test_the_users_reached_through_changed_knowledge_are_counted_once(db, world, settings, monkeypatch):
    """The knowledge step stamps the train users of the changed items 2,000 items at a time and added up each
    batch's count: a user of items in two batches was counted twice (1,093 users "through changed knowledge" where
    947 were recomputed in all, on a demo graph). Each user now counts once."""
    from kgrec_neo4j import update as U

    a, b = db.query("MATCH (u:User)-[:INTERACTED {split: 'train'}]->(i:Item) WHERE i.gnn_folded_run IS NULL "
                    "WITH u, collect(i.id) AS its WHERE size(its) >= 2 RETURN its[0] AS a, its[1] AS b "
                    "ORDER BY u.id LIMIT 1")[0].values()
    rows = {r["item_id"]: r for r in slice_rows("items.jsonl")}
    folder = write_dataset(world["tmp"] / "retitle-two" / "vg",
                           [{**rows[a], "title": "Wireless Charging Dock"}, {**rows[b], "title": "Racing Wheel Stand"}],
                           [])
    load(db, [folder], append=True)
    monkeypatch.setattr(U, "STAMP_CHUNK", 1)  # one item per transaction: the two items' shared users in two
    rep = run_update(db, settings)
    assert rep.items_extracted == 2
    # the changed items: the two extracted, and any item a concept grown by this update reaches
    started = db.value("MATCH (r:UpdateRun {id: $id}) RETURN toString(r.started)", id=rep.id)
    changed = {a, b} | {r["id"] for r in db.query(cypher("update/grown_items"), started=started)}
    assert rep.users_through_knowledge == db.value(
        "MATCH (i:Item)<-[:INTERACTED {split: 'train'}]-(u:User) WHERE i.id IN $ids RETURN count(DISTINCT u)",
        ids=sorted(changed))


def test_a_new_item_borrows_from_its_own_datasets_items_only():
    """A new gaming chair borrowed 41 of its 100 item links from two Office datasets in one database: its text
    neighbours were taken over every trained item. They are taken within its dataset."""
    from kgrec_neo4j.model.newitems import closest_by_text

    rng = np.random.default_rng(0)
    trained = rng.normal(size=(6, 8)).astype(np.float32)
    trained /= np.linalg.norm(trained, axis=1, keepdims=True)
    trained_ids = ["a1", "a2", "a3", "b1", "b2", "b3"]
    new = np.stack([trained[3] + 0.01 * trained[0], trained[0]]).astype(np.float32)  # n1 is almost b1
    datasets = {"n1": "a", "n2": "b", **{t: t[0] for t in trained_ids}}
    both = closest_by_text(["n1", "n2"], new, trained_ids, trained, 2)
    assert both["n1"][0][0] == "b1" and both["n2"][0][0] == "a1"  # one catalogue: the closest anywhere
    own = closest_by_text(["n1", "n2"], new, trained_ids, trained, 2, datasets=datasets)
    assert {w for w, _ in own["n1"]} <= {"a1", "a2", "a3"} and {w for w, _ in own["n2"]} <= {"b1", "b2", "b3"}
    assert all(abs(sum(c for _, c in v) - 1.0) < 1e-9 for v in own.values())
