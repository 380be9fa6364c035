"""Export of the train graph through GDS: counts equal direct Cypher counts, no held-out edge leaks in."""

from __future__ import annotations

import _export_fixture
import numpy as np
import pytest

from kgrec_neo4j.core.errors import ModelError
from kgrec_neo4j.core.schema import load_pack

TYPES = load_pack("video_games").names


@pytest.fixture(scope="module")
def kg(db):
    facts = _export_fixture.build(db)
    from kgrec_neo4j.model.export import export_train_graph

    return {"facts": facts, "all": export_train_graph(db, type_names=TYPES),
            "high": export_train_graph(db, type_names=TYPES, min_confidence=0.7)}


def _count(db, rel: str, min_conf: float, where: str = "true") -> int:
    return db.value(f"MATCH ()-[r:{rel}]->() WHERE coalesce(r.confidence, 1.0) >= $m AND {where} RETURN count(r)",
                    m=min_conf)


@pytest.mark.parametrize("which,min_conf", [("all", 0.0), ("high", 0.7)])
def test_edge_and_node_counts_equal_cypher_counts(db, kg, which, min_conf):
    tg = kg[which]
    assert tg.ui_user.size == _count(db, "INTERACTED", min_conf, "r.split = 'train'") > 0
    assert tg.ic_item.size == _count(db, "HAS_KNOWLEDGE", min_conf) > 0
    assert tg.uc_user.size == _count(db, "INTERESTED_IN", min_conf) > 0
    assert tg.num_users == db.value("MATCH (n:User) RETURN count(n)")
    assert tg.num_items == db.value("MATCH (n:Item) RETURN count(n)")
    assert tg.num_concepts == db.value("MATCH (n:Concept) RETURN count(n)") == kg["facts"]["concepts"]
    assert int((tg.ui_sign < 0).sum()) == _count(db, "INTERACTED", min_conf, "r.split = 'train' AND r.sign < 0")
    assert tg.meta["projected"]["relationships"] == tg.ui_user.size + tg.ic_item.size + tg.uc_user.size


def test_min_confidence_filters(kg):
    assert kg["high"].ic_item.size < kg["all"].ic_item.size
    assert kg["high"].ui_user.size < kg["all"].ui_user.size
    assert (kg["high"].ic_weight >= 0.7).all()


def test_no_valid_or_test_interaction_in_train_edges(db, kg):
    tg = kg["all"]
    exported = {(tg.user_ids[u], tg.item_ids[i], int(s))
                for u, i, s in zip(tg.ui_user, tg.ui_item, tg.meta["ui_seq"])}
    assert len(exported) == tg.ui_user.size
    held = {(r["u"], r["i"], r["s"]) for r in db.query(
        "MATCH (u:User)-[r:INTERACTED]->(i:Item) WHERE r.split <> 'train' RETURN u.id AS u, i.id AS i, r.seq AS s")}
    assert held and not exported & held
    train = {(r["u"], r["i"], r["s"]) for r in db.query(
        "MATCH (u:User)-[r:INTERACTED]->(i:Item) WHERE r.split = 'train' RETURN u.id AS u, i.id AS i, r.seq AS s")}
    assert exported == train


def test_heldout_labels_match_cypher(db, kg):
    tg = kg["all"]
    for split in ("valid", "test"):
        rows = db.query("MATCH (u:User)-[r:INTERACTED]->(i:Item) WHERE r.split = $s RETURN u.id AS u, i.id AS i",
                        s=split)
        got = {(tg.user_ids[u], tg.item_ids[i]) for u, items in tg.heldout(split).items() for i in items}
        dropped = tg.meta["heldout_dropped"]["repeat"]
        assert got <= {(r["u"], r["i"]) for r in rows}
        assert len(got) + dropped >= len(rows) - dropped and len(got) > 0
    tg.validate()  # held-out pairs are never train pairs


def test_valid_items_keep_their_sign_in_the_longer_history(db, kg):
    """The "history up to the target" protocol added every valid interaction as a like (a 1-star rating included);
    the export now reads each valid item's sign as the train projection takes it, and the longer history has it."""
    from kgrec_neo4j.model.protocols import with_valid_in_history

    tg = kg["all"]
    want = {(r["u"], r["i"]): r["s"] for r in db.query(
        "MATCH (u:User)-[r:INTERACTED {split: 'valid'}]->(i:Item) RETURN u.id AS u, i.id AS i, "
        "sign(coalesce(r.sign, CASE WHEN r.rating IS NULL OR r.rating >= 4 THEN 1 WHEN r.rating <= 2 THEN -1 "
        "ELSE 0 END)) AS s")}
    got = {(tg.user_ids[u], tg.item_ids[i]): s for u, items in tg.valid.items()
           for i, s in zip(items, tg.meta["valid_sign"][u])}
    assert got and all(want[k] == s for k, s in got.items())
    assert any(s != 1 for s in got.values()), got  # (a sign that is not a like, or the test could not fail)
    tb = with_valid_in_history(tg)
    added = {(tb.user_ids[u], tb.item_ids[i]): int(s)
             for u, i, s in zip(tb.ui_user, tb.ui_item, tb.ui_sign) if (tb.user_ids[u], tb.item_ids[i]) in got}
    assert added == got


def test_codes_follow_the_graph(db, kg):
    tg = kg["all"]
    types = {r["id"]: r["type"] for r in db.query("MATCH (c:Concept) RETURN c.id AS id, c.type AS type")}
    assert [TYPES[t] for t in tg.ic_type] == [types[tg.concept_ids[c]] for c in tg.ic_concept]
    edges = {(r["u"], r["c"]): r for r in db.query(
        "MATCH (u:User)-[r:INTERESTED_IN]->(c:Concept) RETURN u.id AS u, c.id AS c, r.horizon AS h, r.polarity AS p, "
        "r.weight AS w")}
    for u, c, h, p, w in zip(tg.uc_user, tg.uc_concept, tg.uc_horizon, tg.uc_polarity, tg.uc_weight):
        e = edges[(tg.user_ids[u], tg.concept_ids[c])]
        assert (h, p) == (1 if e["h"] == "short" else 0, e["p"]) and w == pytest.approx(e["w"])
    assert set(np.unique(tg.uc_polarity)) == {-1, 1}
    # a user's train interactions stay in seq order
    for u in range(tg.num_users):
        seq = tg.meta["ui_seq"][tg.ui_user == u]
        assert (np.diff(seq) > 0).all()


def test_projection_is_dropped(db, kg):
    names = [r["graphName"] for r in db.query("CALL gds.graph.list() YIELD graphName RETURN graphName")]
    assert not [n for n in names if n.startswith("kgrec_train_")]


def test_to_hetero_data(kg):
    from kgrec_neo4j.model.export import to_hetero_data

    tg = kg["all"]
    data = to_hetero_data(tg)
    assert data["user"].num_nodes == tg.num_users and data["concept"].ids == tg.concept_ids
    ei = data["user", "interacted", "item"].edge_index
    assert tuple(ei.shape) == (2, tg.ui_user.size) and int(ei[1].max()) < tg.num_items
    assert data["item", "has_knowledge", "concept"].knowledge_type.tolist() == tg.ic_type.tolist()
    assert data["user", "interested_in", "concept"].polarity.tolist() == tg.uc_polarity.tolist()
    data.validate()


def test_unknown_concept_type_is_refused(db, kg):
    """Data written where the type triggers did not run (before `kgrec schema apply` installed them, or on a
    server without APOC triggers) is still refused by the export."""
    from conftest import triggers_paused

    from kgrec_neo4j.model.export import export_train_graph

    with triggers_paused(db):
        db.write("MATCH (i:Item) WITH i LIMIT 1 CREATE (i)-[:HAS_KNOWLEDGE]->(:Concept {id: 'bogus:1', type: 'Bogus'})")
    try:
        with pytest.raises(ModelError, match="Bogus"):
            export_train_graph(db, type_names=TYPES)
    finally:
        db.write("MATCH (c:Concept {id: 'bogus:1'}) DETACH DELETE c")


def test_a_graph_without_concepts_exports_and_trains(db, kg):
    """Before any extraction there are no concepts: the export has none, and ours still trains (no concept
    paths, an item graph of interactions only)."""
    from kgrec_neo4j.model.export import export_train_graph
    from kgrec_neo4j.model.train import TrainConfig, fit

    db.write("MATCH (c:Concept) SET c:HiddenConcept REMOVE c:Concept")
    try:
        tg = export_train_graph(db, type_names=TYPES)
    finally:
        db.write("MATCH (c:HiddenConcept) SET c:Concept REMOVE c:HiddenConcept")
    assert tg.num_concepts == 0 and tg.ic_item.size == 0 and tg.uc_user.size == 0
    assert tg.ui_user.size == kg["all"].ui_user.size
    model, rep = fit(tg, TrainConfig(model="kgrec", embedding_dim=4, epochs=1, batch_size=64, valid_sample=None,
                                     num_threads=1, item_graph_concept_weights=[0.0, 1.0]))
    assert model.item_graph.concept_weight == 0.0 and 0.0 <= rep.test["ndcg@10"] <= 1.0


def test_an_edge_without_seq_is_the_users_latest(db, kg):
    """Serving counts an INTERACTED edge without `seq` (typed in Browser) as the user's latest; the export read it as
    seq 0, the user's oldest, so training weighed it least where serving weighs it most. It is now one after the
    user's highest seq, in the train graph's order and in the seqs the recency weights are computed from (a serving
    run's export, which reads every edge; evaluation refuses the user: the edge comes after its valid and test ones)."""
    from kgrec_neo4j.model.export import export_train_graph
    from kgrec_neo4j.model.recency import history_weights

    row = db.query(
        "MATCH (u:User)-[r:INTERACTED]->() WITH u, max(r.seq) AS last, count(r) AS n "
        "WHERE n >= 2 AND EXISTS { (u)-[:INTERACTED {split: 'test'}]->() } WITH u, last ORDER BY u.id LIMIT 1 "
        "MATCH (i:Item) WHERE NOT (u)-[:INTERACTED]->(i) WITH u, last, i ORDER BY i.id LIMIT 1 "
        "RETURN u.id AS u, i.id AS i, last")[0]
    db.write("MATCH (u:User {id: $u}), (i:Item {id: $i}) "
             "CREATE (u)-[:INTERACTED {split: 'train', rating: 5.0, kgrec_test_noseq: true}]->(i)", u=row["u"],
             i=row["i"])
    try:
        tg = export_train_graph(db, type_names=TYPES, all_interactions=True)
        with pytest.raises(ModelError, match=f"after their valid or test ones .e.g. '{row['u']}'"):
            export_train_graph(db, type_names=TYPES)
    finally:
        db.write("MATCH ()-[r:INTERACTED {kgrec_test_noseq: true}]->() DELETE r")
    mine = tg.ui_user == tg.user_ids.index(row["u"])
    seqs, items = tg.meta["ui_seq"][mine], tg.ui_item[mine]
    assert tg.item_ids[items[-1]] == row["i"] and seqs[-1] == row["last"] + 1
    assert history_weights(seqs, 0.5)[-1] == 1.0 and (history_weights(seqs, 0.5)[:-1] < 1.0).all()


def test_an_interest_edge_edited_by_hand_outside_the_written_values_is_not_exported(db, kg):
    """Serving leaves such an edge out of a score; training read it, with a weight of -3 dividing the user's row of
    interest weights by almost nothing (the export mapped a missing horizon to long, 'neg' to -1, no weight to 1)."""
    from kgrec_neo4j.model.export import export_train_graph

    before = kg["all"].uc_user.size
    db.write("MATCH (u:User)-[:INTERESTED_IN]->() WITH DISTINCT u ORDER BY u.id LIMIT 1 "
             "MATCH (c:Concept) WHERE NOT EXISTS { (u)-[:INTERESTED_IN]->(c) } WITH u, c ORDER BY c.id LIMIT 4 "
             "WITH u, collect(c) AS cs UNWIND range(0, 3) AS k WITH u, cs[k] AS c, $props[k] AS p "
             "CREATE (u)-[r:INTERESTED_IN]->(c) SET r = p, r.probe = true",
             props=[{"horizon": "short", "polarity": 1, "weight": -3.0}, {"polarity": 1, "weight": 0.5},
                    {"horizon": "long", "polarity": "neg", "weight": 0.5}, {"horizon": "long", "polarity": -1}])
    assert db.value("MATCH ()-[r:INTERESTED_IN {probe: true}]->() RETURN count(r)") == 4
    try:
        assert export_train_graph(db, type_names=TYPES).uc_user.size == before
    finally:
        db.write("MATCH ()-[r:INTERESTED_IN {probe: true}]->() DELETE r")
