"""Edges written or edited by hand (Neo4j Browser) with values the pipeline does not write: each stage either reads
them as the pipeline would, or refuses them naming the edge and the fix, and `kgrec doctor` names them."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.usefixtures("kg")


def _user_with_interests(db) -> tuple[str, str, float]:
    """A user with two or more positive short-term interests: one of them, and the sum of the others' weights."""
    row = db.query("MATCH (u:User)-[r:INTERESTED_IN {horizon: 'short'}]->(c:Concept) WHERE r.polarity = 1 "
                   "WITH u, collect([c.id, r.weight]) AS cs WHERE size(cs) >= 2 "
                   "RETURN u.id AS u, cs ORDER BY u.id LIMIT 1")[0]
    cs = sorted(row["cs"])
    return row["u"], cs[0][0], sum(w for _, w in cs[1:])


def test_valid_interest():
    from kgrec_neo4j.model.foldin import valid_interest

    assert valid_interest("long", 1, 0.5) and valid_interest("short", -1, 1.0) and valid_interest("short", 1.0, 1)
    for bad in (("long", 1, -3.0), ("long", 1, 0.0), ("long", 1, 50.0), (None, 1, 0.5), ("medium", 1, 0.5),
                ("long", 0, 0.5), ("long", None, 0.5), ("long", 1, "0.5"), ("long", 1, math.nan), ("long", True, 0.5)):
        assert not valid_interest(*bad), bad


def test_a_hand_edited_interest_is_left_out_of_the_users_fold_in():
    """A short-term interest weight set to -3 by hand gave a user scores of about 1e12: the fold-in's weighted mean of
    the user's concepts of one group divided by a sum near zero. Such an edge is left out of the user's history."""
    import numpy as np

    from kgrec_neo4j.model.foldin import history_from_rows

    items, concepts = {"i1": 0, "i2": 1}, {"c1": 0, "c2": 1, "c3": 2}
    history = [["i1", True, 0], ["i2", True, 0]]
    good = [["c1", "short", 1, 0.6], ["c2", "short", 1, 0.4]]
    h, *_ = history_from_rows(history, good, items, concepts)
    for bad in (["c3", "short", 1, -1.0 + 1e-6], ["c3", None, 1, 0.5], ["c3", "short", 1, 50.0], ["c3", "long", 0, 0.5]):
        got, *_ = history_from_rows(history, [*good, bad], items, concepts)
        assert np.array_equal(got.concepts, h.concepts) and np.array_equal(got.weights, h.weights), bad


def test_a_rerun_of_the_offline_interests_rewrites_hand_edited_edges(db):
    """`kgrec interests extract` compares each stored edge's digest with the one it computes: a weight edited by hand
    kept its digest, so the rerun kept -3; an edge without a horizon had no key and stayed. The first is written
    again, the second removed."""
    from kgrec_neo4j.users.interests.offline import extract_offline

    user = db.value("MATCH (u:User)-[r:INTERESTED_IN {extractor: 'offline'}]->() RETURN u.id ORDER BY u.id LIMIT 1")
    if user is None:  # the fixture's interests are not the offline extractor's: compute them for one user
        user = db.value("MATCH (u:User)-[:INTERACTED]->() RETURN u.id ORDER BY u.id LIMIT 1")
    extract_offline(db, users=[user])
    edges = ("MATCH (:User {id: $u})-[r:INTERESTED_IN {extractor: 'offline'}]->(c:Concept) "
             "RETURN c.id AS c, r.horizon AS h, r.weight AS w, r.digest AS d ORDER BY c, h")
    before = db.query(edges, u=user)
    assert before, "the user has offline interests"
    first = before[0]
    db.write("MATCH (:User {id: $u})-[r:INTERESTED_IN {extractor: 'offline', horizon: $h}]->(:Concept {id: $c}) "
             "SET r.weight = -3.0", u=user, h=first["h"], c=first["c"])
    db.write("MATCH (u:User {id: $u}), (c:Concept {id: $c}) "
             "CREATE (u)-[:INTERESTED_IN {extractor: 'offline', polarity: 1, weight: 0.5}]->(c)", u=user, c=first["c"])
    rep = extract_offline(db, users=[user])
    assert db.query(edges, u=user) == before
    assert rep.changed == 1 and rep.deleted == 1, rep


def test_classification_refuses_a_rating_written_as_text_and_names_the_edge(db):
    """A `rating: '5'` written by hand stopped the classification with a Cypher type error (and every `kgrec update`
    after it resumed into the same error). It is refused before anything is written, naming the edge and the fix."""
    from kgrec_neo4j.core.errors import InputError
    from kgrec_neo4j.users.interactions import classify_interactions

    user, item = db.query("MATCH (u:User)-[:INTERACTED]->(i:Item) RETURN u.id AS u, i.id AS i ORDER BY u.id, i.id "
                          "LIMIT 1")[0].values()
    kinds = "MATCH (:User {id: $u})-[e:INTERACTED]->() RETURN collect([e.seq, e.kind, e.kind_source]) AS k"
    before = db.value(kinds, u=user)
    db.write("MATCH (u:User {id: $u}), (i:Item {id: $i}) CREATE (u)-[:INTERACTED {seq: 999, rating: '5'}]->(i)",
             u=user, i=item)
    try:
        with pytest.raises(InputError, match=rf"user '{user}' -> item '{item}': rating = '5' \(string\).*"
                                             r"SET e.rating = toFloat\(e.rating\)"):
            classify_interactions(db, None, users=[user])
        assert sorted(map(str, db.value(kinds, u=user))) == sorted(map(str, before + [[999, None, None]]))
        db.write("MATCH (:User {id: $u})-[e:INTERACTED {seq: 999}]->() SET e.rating = toFloat(e.rating)", u=user)
        classify_interactions(db, None, users=[user])  # (fixed as the message says: it goes through)
    finally:
        db.write("MATCH (:User {id: $u})-[e:INTERACTED {seq: 999}]->() DELETE e", u=user)


def test_serving_reads_a_seq_written_as_text_as_its_number(db):
    """A `seq: '99'` written by hand stopped every recommendation of the user with a TypeError (a 500 in the
    service); the scoring read takes it as the number it spells."""
    from kgrec_neo4j.core.resources import cypher
    from kgrec_neo4j.serve import scoring
    from kgrec_neo4j.serve.recommend import recommend

    user = db.value("MATCH (u:User)-[:INTERACTED]->(:Item) RETURN u.id ORDER BY u.id DESC LIMIT 1")
    other = db.value("MATCH (i:Item) WHERE NOT EXISTS { (:User {id: $u})-[:INTERACTED]->(i) } RETURN i.id "
                     "ORDER BY i.id LIMIT 1", u=user)
    db.write("MATCH (u:User {id: $u}), (i:Item {id: $i}) CREATE (u)-[:INTERACTED {seq: '99', rating: '5'}]->(i)",
             u=user, i=other)
    try:
        row = db.query(cypher("recommend/users"), users=[user], run="none", min_confidence=0.0)[0]
        mine = next(h for h in row["history"] if h[0] == other)
        assert mine[3] == 99 and mine[5] == [[99, True]] and mine[1] is True
        scoring.clear_cache()
        assert recommend(db, user, 5).items
    finally:
        db.write("MATCH (:User {id: $u})-[e:INTERACTED]->(:Item {id: $i}) WHERE e.seq = '99' DELETE e",
                 u=user, i=other)
        scoring.clear_cache()


def test_doctor_names_hand_written_edges_with_values_no_stage_reads(db, settings):
    from kgrec_neo4j.local.doctor import run_checks

    def check() -> object:
        return next(c for c in run_checks(settings) if c.name == "edge values")

    assert check().ok
    user, concept, _ = _user_with_interests(db)
    item = db.value("MATCH (i:Item) RETURN i.id ORDER BY i.id LIMIT 1")
    db.write("MATCH (u:User {id: $u}), (c:Concept {id: $c}), (i:Item {id: $i}) "
             "CREATE (u)-[:INTERESTED_IN {horizon: 'short', polarity: 1, weight: -3.0, probe: true}]->(c), "
             "(u)-[:INTERACTED {seq: 'x', probe: true}]->(i), (u)-[:INTERACTED {seq: 5, probe: true}]->(c)",
             u=user, c=concept, i=item)
    try:
        c = check()
        assert not c.ok and "1 INTERESTED_IN edge" in c.detail and "weight -3.0" in c.detail, c.detail
        assert "2 INTERACTED edges" in c.detail and "not a User -> Item edge" in c.detail, c.detail
        db.write("MATCH (u:User {id: $u})-[e:INTERACTED]->(:Item) WHERE e.seq IS :: INTEGER WITH u, e ORDER BY e.seq "
                 "LIMIT 1 "
                 "MATCH (i:Item) WHERE NOT EXISTS { (u)-[:INTERACTED]->(i) } WITH u, e, i ORDER BY i.id LIMIT 1 "
                 "CREATE (u)-[:INTERACTED {seq: e.seq, probe: true}]->(i)", u=user)
        c = check()
        assert f"1 seq that two or more INTERACTED edges of one user share (e.g. {user} seq" in c.detail, c.detail
        ctype = db.value("MATCH (c:Concept {id: $c}) RETURN c.type", c=concept)
        other = db.value("MATCH (k:KnowledgeType) WHERE k.name <> $t RETURN k.name ORDER BY k.name LIMIT 1", t=ctype)
        db.write("MATCH (c:Concept {id: $c}) CREATE (:Mention {type: $t, key: 'type-probe', text: 'type probe', "
                 "probe_type: true})-[:CANONICAL]->(c)", c=concept, t=ctype)
        assert "disagrees" not in check().detail
        db.write("MATCH (m:Mention {key: 'type-probe'}) SET m.type = $o", o=other)
        assert "1 mention or concept whose type disagrees" in check().detail and "type probe" in check().detail
    finally:
        db.write("MATCH (m:Mention {key: 'type-probe'}) DETACH DELETE m")
        db.write("MATCH ()-[r {probe: true}]->() DELETE r")
    assert check().ok


def test_an_interacted_edge_into_a_concept_is_not_pending_work(db):
    """An INTERACTED edge from a user to a Concept (written by hand) was counted as an interaction no classification
    had seen: `kgrec status` showed it pending and every `kgrec update` took an ingest number for it, forever (no stage
    reads such an edge)."""
    from kgrec_neo4j.core.resources import cypher

    def pending() -> dict:
        state = db.query(cypher("update/state"))[0]
        return db.query(cypher("update/pending_work"), classified=int(state["classified_upto"]),
                        interests=int(state["interests_upto"]))[0]

    before = pending()
    db.write("MATCH (u:User) WITH u ORDER BY u.id LIMIT 1 MATCH (c:Concept) WITH u, c ORDER BY c.id LIMIT 1 "
             "CREATE (u)-[:INTERACTED {seq: 10000, probe: true}]->(c)")
    try:
        assert pending() == before
    finally:
        db.write("MATCH ()-[r:INTERACTED {probe: true}]->() DELETE r")


def test_a_list_leaves_out_an_item_deleted_since_the_run_was_loaded_and_shows_titles_as_stored(db):
    """A running service scores with the run it loaded: an item deleted (or renamed) in Browser since stayed in its
    lists, its sentence saying it had no vector, and a changed title stayed the old one, until the run's next version.
    The lists are the graph's as it is now: the next item moves up, titles are read as stored."""
    from kgrec_neo4j.serve import scoring
    from kgrec_neo4j.serve.recommend import recommend_users

    user = db.value("MATCH (u:User)-[:INTERACTED]->() RETURN u.id ORDER BY u.id LIMIT 1")
    scoring.clear_cache()
    first = recommend_users(db, [user], 5)[0].items  # (the run is loaded and cached, as a service holds it)
    gone, renamed = first[0].item, first[1].item
    saved = db.query("MATCH (i:Item {id: $i}) RETURN properties(i) AS p", i=gone)[0]["p"]
    title = db.value("MATCH (i:Item {id: $i}) RETURN i.title", i=renamed)
    db.write("MATCH (i:Item {id: $i}) SET i.id = 'deleted-probe'", i=gone)  # (as good as deleted: no such id)
    db.write("MATCH (i:Item {id: $i}) SET i.title = 'A title changed by hand'", i=renamed)
    try:
        again = recommend_users(db, [user], 5)[0].items
    finally:
        db.write("MATCH (i:Item {id: 'deleted-probe'}) SET i.id = $i", i=saved["id"])
        db.write("MATCH (i:Item {id: $i}) SET i.title = $t", i=renamed, t=title)
        scoring.clear_cache()
    assert [r.item for r in again] == [r.item for r in first[1:]] + [again[-1].item] and len(again) == 5
    assert [r.rank for r in again] == [1, 2, 3, 4, 5]
    assert again[0].title == "A title changed by hand"


def test_an_interaction_without_split_is_a_train_interaction(db):
    """An INTERACTED edge written without `split` was read by serving only: the interests passed over it (a hand-made
    user got none), evaluation exported the user without it, and after the user's test edge it was not a late
    record that `kgrec interactions split` repairs. It is a train edge, as the service writes a live one."""
    from kgrec_neo4j.core.resources import cypher
    from kgrec_neo4j.users.interests.offline import extract_offline

    items = db.value("MATCH (i:Item)-[:HAS_KNOWLEDGE]->(c:Concept)<-[:HAS_KNOWLEDGE]-(j:Item) WHERE i.id < j.id "
                     "RETURN [i.id, j.id] ORDER BY i.id, j.id LIMIT 1")
    held = db.value("MATCH (u:User)-[:INTERACTED {split: 'test'}]->() RETURN u.id ORDER BY u.id LIMIT 1")
    def late() -> list[str]:
        return [r["user"] for r in db.query(cypher("interactions/late_histories"), dataset=None)]

    db.write("CREATE (u:User {id: 'hand-made-probe'}) WITH u UNWIND $items AS item MATCH (i:Item {id: item}) "
             "CREATE (u)-[:INTERACTED {rating: 5.0, sign: 1}]->(i)", items=items)
    try:
        rep = extract_offline(db, users=["hand-made-probe"])
        assert rep.edges > 0 and rep.interactions_read == 2, rep
        assert held not in late()
        db.write("MATCH (u:User {id: $u}), (i:Item {id: $i}) CREATE (u)-[:INTERACTED {rating: 5.0, probe: true}]->(i)",
                 u=held, i=items[0])
        assert held in late()
    finally:
        db.write("MATCH (u:User {id: 'hand-made-probe'}) DETACH DELETE u")
        db.write("MATCH ()-[r:INTERACTED {probe: true}]->() DELETE r")


def test_status_says_why_no_run_is_current_and_exits_0(db):
    """`REMOVE r.current` on the serving run made `kgrec status` say "no run trained yet" (two runs were stored);
    two runs marked current made it exit 1 with only the error, where its help says "Exit code 0 either way"."""
    from click.testing import CliRunner

    from kgrec_neo4j.cli import cli

    run = db.value("MATCH (r:ModelRun {current: true}) RETURN r.id")
    db.write("MATCH (r:ModelRun {id: $r}) REMOVE r.current", r=run)
    try:
        r = CliRunner().invoke(cli, ["status"])
        assert r.exit_code == 0, r.output
        n = db.value("MATCH (r:ModelRun) RETURN count(r)")
        assert f"no run is marked current, though {n} {'is' if n == 1 else 'are'} stored; run " in r.output, r.output
        assert f"SET r.current = (r.id = '{run}')" in r.output and "no run trained yet" not in r.output, r.output
        db.write("MATCH (r:ModelRun {id: $r}) SET r.current = true CREATE (:ModelRun {id: 'second-current-probe', "
                 "current: true, status: 'complete', created: datetime()})", r=run)
        r = CliRunner().invoke(cli, ["status"])
        assert r.exit_code == 0 and "2 ModelRuns are marked current" in r.output and "graph:" in r.output, r.output
    finally:
        db.write("MATCH (r:ModelRun {id: 'second-current-probe'}) DELETE r")
        db.write("MATCH (r:ModelRun {id: $r}) SET r.current = true", r=run)


def test_an_explanation_passes_over_an_interest_edge_edited_by_hand(db):
    """The explanation read every interest edge, defaults filled in: a polarity written as 'neg' stopped it with a
    ValueError (a 500 in the service), and a weight of 50 named a reason after an edge the score leaves out."""
    from kgrec_neo4j.serve import scoring
    from kgrec_neo4j.serve.explain import explain
    from kgrec_neo4j.serve.recommend import recommend

    user = db.value("MATCH (u:User)-[:INTERESTED_IN]->() RETURN u.id ORDER BY u.id LIMIT 1")
    scoring.clear_cache()
    item = recommend(db, user, 1).items[0].item
    concept = db.value("MATCH (:Item {id: $i})-[:HAS_KNOWLEDGE]->(c:Concept) RETURN c.id ORDER BY c.id LIMIT 1",
                       i=item)
    assert concept is not None
    before = explain(db, user, item)
    db.write("MATCH (u:User {id: $u}), (c:Concept {id: $c}) CREATE (u)-[:INTERESTED_IN {horizon: 'long', "
             "polarity: 'neg', weight: 50.0, probe: true}]->(c)", u=user, c=concept)
    try:
        after = explain(db, user, item)
    finally:
        db.write("MATCH ()-[r:INTERESTED_IN {probe: true}]->() DELETE r")
        scoring.clear_cache()
    assert after.explanation.sentence == before.explanation.sentence and after.score == pytest.approx(before.score)


def test_an_explanations_rank_leaves_out_an_item_deleted_since_the_run_was_loaded(db):
    """The list left out an item deleted since the run was loaded; the explanation's rank still counted it ahead of
    the item ("#2" for the list's first), and its verdict with it."""
    from kgrec_neo4j.serve import scoring
    from kgrec_neo4j.serve.explain import explain
    from kgrec_neo4j.serve.recommend import recommend_users

    user = db.value("MATCH (u:User)-[:INTERACTED]->() RETURN u.id ORDER BY u.id LIMIT 1")
    scoring.clear_cache()
    first = recommend_users(db, [user], 3)[0].items
    assert explain(db, user, first[1].item, k=1).rank == 2
    db.write("MATCH (i:Item {id: $i}) SET i.id = 'deleted-probe', i.probe_id = $i", i=first[0].item)
    try:
        why = explain(db, user, first[1].item, k=1)
    finally:
        db.write("MATCH (i:Item {id: 'deleted-probe'}) SET i.id = i.probe_id REMOVE i.probe_id")
        scoring.clear_cache()
    assert why.rank == 1 and why.recommended, (why.rank, why.recommended)
