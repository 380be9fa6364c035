"""Offline interests: the per-user computation, the stage on the real vg-slice, leakage, idempotence, CLI."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from kgrec_neo4j.users.interests.offline import (
    Event,
    OfflineParams,
    default_batch_size,
    extract_offline,
    user_interests,
)

SLICE = Path(__file__).resolve().parent / "data" / "vg-slice"

# --- pure computation ---------------------------------------------------------------------------------


def _ev(seq, item, sign, conf=1.0):
    return Event(seq=seq, item=item, sign=sign, confidence=conf)


CONCEPTS = {"a": [("ps4", 1.0), ("rpg", 0.8)], "b": [("ps4", 1.0), ("shooter", 1.0)],
            "c": [("ps4", 1.0), ("rpg", 1.0)], "d": [("shooter", 1.0)], "e": [("racing", 0.5)]}


def test_long_term_support_polarity_and_weight():
    events = [_ev(0, "a", 1), _ev(1, "b", 1), _ev(2, "c", 1), _ev(3, "d", -1), _ev(4, "e", 1)]
    edges = {(e.concept, e.horizon): e for e in user_interests(events, CONCEPTS, OfflineParams())}
    ps4 = edges["ps4", "long"]
    assert (ps4.polarity, ps4.support, ps4.weight) == (1, 3, pytest.approx(3 / 10))  # net 3, full at 10
    assert ps4.evidence == ["c", "b", "a"] and ps4.updated_seq == 2
    rpg = edges["rpg", "long"]
    assert rpg.weight == pytest.approx((0.8 + 1.0) / 10)
    assert edges["ps4", "long"].weight > rpg.weight  # stronger evidence, stronger weight
    # shooter: liked once (b), disliked once (d) -> net 0 -> no long edge
    assert ("shooter", "long") not in edges
    assert ("racing", "long") not in edges  # support 1 < long_min_support
    for e in edges.values():
        assert 0 < e.weight <= 1 and 0 <= e.confidence <= 1


def test_long_term_weight_saturates_and_orders_by_net_evidence():
    many = {f"x{k}": [("ps4", 1.0), ("rpg", 1.0 if k % 2 else 0.0)] for k in range(14)}
    events = [_ev(k, f"x{k}", 1) for k in range(14)]
    edges = {(e.concept, e.horizon): e for e in user_interests(events, many, OfflineParams(long_top=1))}
    assert edges["ps4", "long"].weight == 1.0  # net 14 > 10: capped
    assert ("rpg", "long") not in edges  # net 7: second, cut by long_top 1
    half = {(e.concept, e.horizon): e for e in user_interests(events, many, OfflineParams(long_saturation=28))}
    assert half["ps4", "long"].weight == pytest.approx(0.5) and half["rpg", "long"].weight == pytest.approx(0.25)


def test_unrelated_interaction_leaves_long_term_edges_as_they_were():
    """A long-term edge depends on its concept's own evidence only: an interaction with an item without the concept
    changes none of its values (what lets `kgrec update` leave them unwritten). So does a short-term edge under the
    default uniform window; a recency decay below 1 ages every short-term edge at each interaction."""
    events = [_ev(0, "a", 1), _ev(1, "b", 1), _ev(2, "c", 1)]
    before = {(e.concept, e.horizon): e for e in user_interests(events, CONCEPTS, OfflineParams())}
    after = {(e.concept, e.horizon): e for e in user_interests(events + [_ev(3, "e", 1)], CONCEPTS, OfflineParams())}
    longs = [k for k in before if k[1] == "long"]
    assert {"ps4", "rpg"} <= {c for c, _ in longs}
    assert all(after[k] == before[k] for k in longs)
    assert after["racing", "short"] and after["ps4", "short"] == before["ps4", "short"]
    decayed = OfflineParams(short_decay=0.7)
    b7 = {(e.concept, e.horizon): e for e in user_interests(events, CONCEPTS, decayed)}
    a7 = {(e.concept, e.horizon): e for e in user_interests(events + [_ev(3, "e", 1)], CONCEPTS, decayed)}
    assert a7["ps4", "short"].weight < b7["ps4", "short"].weight


def test_short_term_default_is_the_share_of_a_full_window():
    """Default: every interaction of the last `short_window` counts the same, and the weight is the share of a full
    window that carries the concept, also for a user with fewer interactions than the window."""
    p = OfflineParams(short_window=4)
    two = {(e.concept, e.horizon): e for e in user_interests([_ev(0, "a", 1), _ev(1, "b", 1)], CONCEPTS, p)}
    assert two["ps4", "short"].weight == pytest.approx(2 / 4)  # in both: 2 of a full window of 4
    assert two["rpg", "short"].weight == pytest.approx(0.8 / 4)
    events = [_ev(0, "a", 1), _ev(1, "b", 1), _ev(2, "d", -1), _ev(3, "c", 1), _ev(4, "e", 1)]
    five = {(e.concept, e.horizon): e for e in user_interests(events, CONCEPTS, p)}
    assert five["ps4", "short"].weight == pytest.approx(2 / 4)  # b, c (a left the window)
    assert ("shooter", "short") not in five  # b liked, d disliked: net 0, no edge
    assert five["racing", "short"].weight == pytest.approx(0.5 / 4)


def test_short_term_ties_go_to_the_latest_interaction():
    """In a uniform window many concepts weigh the same: the `short_top` cut keeps those of the latest interactions,
    not those with the smallest ids (the newest item's concepts have the largest ids here)."""
    cs = {f"x{k}": [(f"c{k}{j}", 1.0) for j in range(3)] for k in range(5)}
    edges = user_interests([_ev(k, f"x{k}", 1) for k in range(5)], cs, OfflineParams(short_top=6))
    kept = {e.concept for e in edges if e.horizon == "short"}
    assert kept == {f"c{k}{j}" for k in (3, 4) for j in range(3)}


def test_a_new_interaction_changes_only_the_short_edges_of_its_item_and_of_the_one_that_left():
    """Under the default window the short-term edges a new interaction changes are those of the concepts of its own
    item and of the item it pushes out of the window; every other one keeps all its values (and digest)."""
    cs = {f"x{k}": [(f"own{k}", 1.0), ("genre" if k % 2 else "platform", 0.9)] for k in range(7)}
    p = OfflineParams(short_window=3)
    events = [_ev(k, f"x{k}", 1) for k in range(6)]
    before = {(e.concept, e.horizon): e for e in user_interests(events, cs, p) if e.horizon == "short"}
    after = {(e.concept, e.horizon): e for e in user_interests(events + [_ev(6, "x6", 1)], cs, p)
             if e.horizon == "short"}
    touched = {"own6", "own3", "genre", "platform"}  # x6 came in, x3 left the window (x3: own3 + genre)
    assert {c for c, _ in before} == {"own3", "own4", "own5", "genre", "platform"}
    assert {c for c, _ in after} == {"own4", "own5", "own6", "genre", "platform"}
    for k in set(before) & set(after):
        if k[0] not in touched:
            assert after[k] == before[k] and after[k].digest == before[k].digest
    assert after["genre", "short"].weight < before["genre", "short"].weight  # x3 and x5 -> x5 only


def test_short_term_recency_decay():
    p = OfflineParams(short_window=3, short_decay=0.5)
    events = [_ev(0, "a", 1), _ev(1, "b", 1), _ev(2, "d", -1), _ev(3, "d", -1), _ev(4, "e", 1)]
    edges = {(e.concept, e.horizon): e for e in user_interests(events, CONCEPTS, p)}
    # window = seq 2, 3, 4 with decays 0.25, 0.5, 1 (sum 1.75)
    assert edges["shooter", "short"].polarity == -1
    assert edges["shooter", "short"].weight == pytest.approx((0.25 + 0.5) / 1.75)
    assert edges["racing", "short"].weight == pytest.approx(0.5 / 1.75)
    assert ("ps4", "short") not in edges  # a and b are outside the window
    assert edges["shooter", "short"].evidence == ["d"]


def test_deterministic_and_sign_zero_ignored():
    events = [_ev(0, "a", 1), _ev(1, "c", 0), _ev(2, "c", 1)]
    one = user_interests(events, CONCEPTS, OfflineParams())
    two = user_interests(list(reversed(events)), CONCEPTS, OfflineParams())
    assert one == two
    assert all(e.support <= 2 for e in one)
    assert user_interests([], CONCEPTS, OfflineParams()) == []


# --- on the real vg-slice ------------------------------------------------------------------------------

SEED = """
UNWIND $rows AS row
MERGE (c:Concept {id: row.id})
  ON CREATE SET c.type = row.type, c.name = row.name
WITH c, row
MATCH (k:KnowledgeType {name: row.type})
MERGE (c)-[:OF_TYPE]->(k)
WITH c, row
UNWIND row.items AS it
MATCH (i:Item {id: it.item})
MERGE (i)-[h:HAS_KNOWLEDGE]->(c)
SET h.confidence = it.confidence, h.support = 1
"""


def seed_title_concepts(db) -> int:
    """Concepts from the slice's real titles: one per (type, key) shared by >= 2 items."""
    from kgrec_neo4j.concepts.title_mentions import read_items, title_mentions

    groups = defaultdict(list)
    for m in title_mentions(read_items(SLICE / "items.jsonl"), domain="video_games"):
        groups[(m.type, m.key)].append(m)
    rows = [{"id": f"t:{t}:{k}", "type": t, "name": g[0].text,
             "items": [{"item": m.item_id, "confidence": m.confidence} for m in g]}
            for (t, k), g in sorted(groups.items()) if len({m.item_id for m in g}) >= 2]
    db.write(SEED, rows=rows)
    return len(rows)


@pytest.fixture(scope="module")
def vg(db):
    from kgrec_neo4j.load import load
    from kgrec_neo4j.users.interactions import LexiconClassifier, classify_interactions

    load(db, [SLICE])
    assert seed_title_concepts(db) > 20
    classify_interactions(db, LexiconClassifier())
    return db


def edges(db, extractor="offline"):
    return sorted(tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(r.items())) for r in db.query(
        "MATCH (u:User)-[r:INTERESTED_IN {extractor: $x}]->(c:Concept) "
        "RETURN u.id AS u, c.id AS c, r.horizon AS h, r.polarity AS p, r.weight AS w, r.confidence AS conf, "
        "r.evidence AS ev, r.updated_seq AS seq, r.support AS s", x=extractor))


def test_extract_writes_edges_and_rerun_is_identical(vg):
    rep = extract_offline(vg, batch_size=7)
    assert rep.users == vg.value("MATCH (u:User) RETURN count(u)")
    assert rep.edges > 50 and rep.long > 0 and rep.short > 0
    first = edges(vg)
    assert len(first) == rep.edges
    assert all(0 < dict(e)["w"] <= 1 and 0 <= dict(e)["conf"] <= 1 and dict(e)["h"] in ("long", "short")
               and dict(e)["p"] in (1, -1) for e in first)
    runs = set(vg.value("MATCH ()-[r:INTERESTED_IN {extractor: 'offline'}]->() RETURN DISTINCT r.run"))
    rep2 = extract_offline(vg, batch_size=50)
    assert rep2.edges == rep.edges
    assert edges(vg) == first
    # the same values: nothing is written, not even the run id
    assert (rep2.created, rep2.changed, rep2.deleted) == (0, 0, 0)
    assert set(vg.value("MATCH ()-[r:INTERESTED_IN {extractor: 'offline'}]->() RETURN DISTINCT r.run")) == runs
    assert rep2.run not in runs


def test_write_compares_the_stored_digest(vg):
    """An unchanged edge is recognised by its stored digest (one number, not six values); an edge written without
    one (an older graph) counts as changed and gets it; a changed value gives another digest."""
    from kgrec_neo4j.users.interests.offline import edge_digest

    extract_offline(vg)
    stored = vg.query("MATCH ()-[r:INTERESTED_IN {extractor: 'offline'}]->() RETURN r.polarity AS polarity, "
                      "r.weight AS weight, r.confidence AS confidence, r.evidence AS evidence, "
                      "r.updated_seq AS updated_seq, r.support AS support, r.digest AS digest")
    assert stored and all(r["digest"] == edge_digest(r) and 0 <= r["digest"] < 2 ** 63 for r in stored)
    e = dict(stored[0])
    assert edge_digest({**e, "weight": e["weight"] / 2}) != e["digest"]
    assert edge_digest({**e, "evidence": e["evidence"][::-1] + ["x"]}) != e["digest"]
    n = vg.execute("MATCH (u:User)-[r:INTERESTED_IN {extractor: 'offline'}]->() WITH u ORDER BY u.id LIMIT 1 "
                   "MATCH (u)-[r:INTERESTED_IN {extractor: 'offline'}]->() REMOVE r.digest RETURN count(r) AS n")[0]["n"]
    before = edges(vg)
    rep = extract_offline(vg)
    assert (rep.created, rep.changed, rep.deleted) == (0, n, 0)
    assert edges(vg) == before
    assert vg.value("MATCH ()-[r:INTERESTED_IN {extractor: 'offline'}]->() WHERE r.digest IS NULL RETURN count(r)") == 0


def test_default_batches_keep_reader_and_writer_busy():
    """Every user at 2,000 a batch; the few thousand users of an update in at least 8 batches (a batch is read and
    computed while the one before is written), never below 250 users a batch."""
    assert default_batch_size(50_546) == 2000
    assert default_batch_size(4_413) == 552 and -(-4_413 // default_batch_size(4_413)) == 8
    assert default_batch_size(1_000) == 250 and default_batch_size(3) == 250


def test_default_batches_write_as_one_batch_does(vg):
    """The default batching (several write transactions) and one batch of every user write the same edges."""
    users = vg.value("MATCH (u:User) RETURN u.id ORDER BY u.id")
    calls = []
    extract_offline(vg, users=users, batch_size=len(users))
    one = edges(vg)
    extract_offline(vg, users=users, progress=lambda done, total: calls.append(done))
    assert edges(vg) == one
    assert len(calls) == -(-len(users) // default_batch_size(len(users)))


def test_rewrite_in_place_equals_a_fresh_write(vg):
    """A rerun over edges written with other parameters updates them in place, deletes those the user no longer
    has and creates the new ones: the result equals writing from nothing."""
    extract_offline(vg)
    fresh = edges(vg)
    narrow = extract_offline(vg, params=OfflineParams(min_confidence=0.95, long_top=3, short_top=2))
    fewer = edges(vg)
    assert len(fewer) < len(fresh)
    assert narrow.deleted > 0 and narrow.deleted - narrow.created == len(fresh) - len(fewer)
    back = extract_offline(vg)
    assert edges(vg) == fresh
    assert back.created > 0 and back.edges == len(fresh)
    vg.write("MATCH ()-[r:INTERESTED_IN {extractor: 'offline'}]->() DELETE r")
    extract_offline(vg)
    assert edges(vg) == fresh
    assert vg.value("MATCH (u:User)-[r:INTERESTED_IN {extractor: 'offline'}]->(c) WITH u, c, r.horizon AS h, "
                    "count(*) AS n WHERE n > 1 RETURN count(*)") == 0


def test_only_what_changed_is_written(vg):
    """The write sends only the edges that changed, from what the read found stored: a user whose train
    interactions all lose their polarity loses every offline edge, a stale offline edge the computation does not give
    (another key) is deleted, an edge of another extractor stays, and every other user's edges keep their run."""
    extract_offline(vg)
    before = edges(vg)
    gone = vg.value("MATCH (u:User)-[:INTERESTED_IN {extractor: 'offline'}]->() RETURN u.id ORDER BY u.id LIMIT 1")
    other = vg.value("MATCH (u:User)-[:INTERESTED_IN {extractor: 'offline'}]->() WHERE u.id <> $u "
                     "RETURN u.id ORDER BY u.id LIMIT 1", u=gone)
    runs = {r["u"]: r["runs"] for r in vg.query(
        "MATCH (u:User)-[r:INTERESTED_IN {extractor: 'offline'}]->() RETURN u.id AS u, collect(r.run) AS runs")}
    vg.write("MATCH (:User {id: $u})-[e:INTERACTED {split: 'train'}]->() SET e.sign = 0", u=gone)
    stale = vg.value("MATCH (c:Concept) WHERE NOT EXISTS { (:User {id: $u})-[:INTERESTED_IN]->(c) } "
                     "RETURN c.id ORDER BY c.id LIMIT 1", u=other)
    vg.write("MATCH (u:User {id: $u}), (c:Concept {id: $c}) "
             "CREATE (u)-[:INTERESTED_IN {extractor: 'offline', horizon: 'short', polarity: 1, weight: 0.5}]->(c) "
             "CREATE (u)-[:INTERESTED_IN {extractor: 'graphrag', horizon: 'short', polarity: 1, weight: 0.5}]->(c)",
             u=other, c=stale)
    rep = extract_offline(vg)
    n_gone = sum(1 for e in before if dict(e)["u"] == gone)
    assert (rep.created, rep.changed, rep.deleted) == (0, 0, n_gone + 1)
    assert edges(vg) == [e for e in before if dict(e)["u"] != gone]
    assert vg.value("MATCH (:User {id: $u})-[r:INTERESTED_IN {extractor: 'graphrag'}]->() RETURN count(r)",
                    u=other) == 1
    after = {r["u"]: r["runs"] for r in vg.query(
        "MATCH (u:User)-[r:INTERESTED_IN {extractor: 'offline'}]->() RETURN u.id AS u, collect(r.run) AS runs")}
    assert after == {u: r for u, r in runs.items() if u != gone}


def test_evidence_and_seq_come_from_train_only(vg):
    bad = vg.query(
        "MATCH (u:User)-[r:INTERESTED_IN {extractor: 'offline'}]->() UNWIND r.evidence AS ev "
        "WITH u, r, ev WHERE NOT EXISTS { MATCH (u)-[e:INTERACTED {split: 'train'}]->(:Item {id: ev}) } "
        "RETURN u.id AS u, ev LIMIT 5")
    assert bad == []
    late = vg.query(
        "MATCH (u:User)-[r:INTERESTED_IN {extractor: 'offline'}]->() "
        "MATCH (u)-[e:INTERACTED]->() WHERE e.split <> 'train' AND e.seq <= r.updated_seq "
        "AND NOT EXISTS { MATCH (u)-[t:INTERACTED {split: 'train'}]->() WHERE t.seq = r.updated_seq } "
        "RETURN u.id LIMIT 5")
    assert late == []


def test_no_leakage_from_valid_and_test(vg):
    extract_offline(vg)
    before = edges(vg)
    # 1. a concept that only valid/test items have: no user may get it
    vg.write("MATCH (k:KnowledgeType {name: 'Others'}) "
             "MERGE (c:Concept {id: 'leak-probe'}) SET c.type = 'Others', c.name = 'leak probe' "
             "MERGE (c)-[:OF_TYPE]->(k) WITH c "
             "MATCH ()-[e:INTERACTED]->(i:Item) WHERE e.split IN ['valid', 'test'] "
             "AND NOT EXISTS { ()-[:INTERACTED {split: 'train'}]->(i) } "
             "MERGE (i)-[h:HAS_KNOWLEDGE]->(c) SET h.confidence = 1.0, h.support = 1")
    assert vg.value("MATCH (:Item)-[:HAS_KNOWLEDGE]->(:Concept {id: 'leak-probe'}) RETURN count(*)") > 0
    # 2. flip every valid/test interaction's sign, confidence and rating
    vg.write("MATCH ()-[e:INTERACTED]->() WHERE e.split IN ['valid', 'test'] "
             "SET e.sign = -coalesce(e.sign, 1), e.confidence = 1.0, e.rating = 1.0, e.kind = 'dislike'")
    extract_offline(vg)
    assert vg.value("MATCH (:User)-[r:INTERESTED_IN]->(:Concept {id: 'leak-probe'}) RETURN count(r)") == 0
    assert edges(vg) == before


def test_min_confidence_filters_what_is_read(vg):
    extract_offline(vg)
    n_all = len(edges(vg))
    extract_offline(vg, params=OfflineParams(min_confidence=0.95))
    n_high = len(edges(vg))
    assert n_high < n_all
    extract_offline(vg)  # restore for the CLI tests


def test_cli_extract_show_and_confidence_report(vg, tmp_path):
    from click.testing import CliRunner

    from kgrec_neo4j.cli import cli

    runner = CliRunner()
    r = runner.invoke(cli, ["interests", "extract", "--extractor", "offline", "--users", "5", "--silent"])
    assert r.exit_code == 0, r.output
    assert "offline interests from train interactions (evaluation) for 5 users" in r.output
    user = vg.value("MATCH (u:User)-[r:INTERESTED_IN {horizon: 'long'}]->() RETURN u.id ORDER BY u.id LIMIT 1")
    png = tmp_path / "profile.png"
    r = runner.invoke(cli, ["interests", "show", "--user", user, "--png", str(png)])
    assert r.exit_code == 0, r.output
    assert f"user {user}:" in r.output and "long-term, positive" in r.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a group cut at --top says so: "long-term, positive (10)" of a user with 20 read as all of them
    many = vg.value("MATCH (u:User)-[r:INTERESTED_IN {horizon: 'long', polarity: 1}]->() WITH u, count(r) AS n "
                    "WHERE n >= 3 RETURN [u.id, n] ORDER BY n DESC, u.id LIMIT 1")
    assert many, "some user holds three long-term positive interests"
    r = runner.invoke(cli, ["interests", "show", "--user", many[0], "--top", "2"])
    assert f"long-term, positive (2 strongest of {many[1]})" in r.output, r.output
    r = runner.invoke(cli, ["interests", "show", "--user", many[0], "--top", str(many[1])])
    assert f"long-term, positive ({many[1]})" in r.output, r.output
    r = runner.invoke(cli, ["interests", "show", "--user", "no-such-user"])
    assert r.exit_code == 1 and "Error: user 'no-such-user' is not in the database" in r.output
    # the old positional form still works, with a deprecation note; two different users are refused
    r = runner.invoke(cli, ["interests", "show", user])
    assert r.exit_code == 0 and f"user {user}:" in r.output and "deprecated" in r.output
    r = runner.invoke(cli, ["interests", "show", user, "--user", "someone-else"])
    assert r.exit_code == 2 and "give only --user" in r.output
    r = runner.invoke(cli, ["interests", "show"])
    assert r.exit_code == 2 and "--user" in r.output
    r = runner.invoke(cli, ["confidence", "report"])
    assert r.exit_code == 0, r.output
    assert "INTERESTED_IN:" in r.output and "HAS_KNOWLEDGE:" in r.output and "quantiles:" in r.output


def test_cli_extract_of_an_unknown_user_is_refused_naming_it(vg):
    """`kgrec interests extract --user nobody` said 'offline interests for 1 users ... written: 0' with exit 0, as if
    a user had been computed; a user id not in the graph is refused, named, before anything is done (the LLM
    extractor too)."""
    from click.testing import CliRunner

    from kgrec_neo4j.cli import cli

    known = vg.value("MATCH (u:User) RETURN u.id ORDER BY u.id LIMIT 1")
    for extra in ([], ["--extractor", "llm"]):
        r = CliRunner().invoke(cli, ["interests", "extract", "--silent", *extra, "--user", known, "--user", "nobody-x"])
        assert r.exit_code == 1, r.output
        assert "'nobody-x'" in r.output and repr(known) not in r.output and "kgrec users list" in r.output, r.output
    r = CliRunner().invoke(cli, ["interests", "extract", "--silent", "--user", known])
    assert r.exit_code == 0 and "(evaluation) for 1 user in" in r.output, r.output


def test_interests_for_serving_read_every_interaction_and_evaluation_refuses_them(vg):
    """`kgrec interests extract --for serving` reads every split, so a user's newest interactions (valid and test of
    the last load) count in the interests; the scope is stored, kept by a run over some users (as `kgrec update`
    runs), switched only over every user, and an evaluation `kgrec train` / `kgrec evaluate` refuses it. Before,
    interests read the train split only, whatever the mode."""
    from click.testing import CliRunner

    from kgrec_neo4j.cli import cli
    from kgrec_neo4j.core.resources import cypher
    from kgrec_neo4j.users.interests.scope import ScopeError, check_for_evaluation, set_scope, stored_scopes

    held_out = "MATCH (u:User)-[r:INTERESTED_IN {extractor: 'offline'}]->() UNWIND r.evidence AS ev " \
               "MATCH (u)-[e:INTERACTED]->(:Item {id: ev}) WHERE e.split <> 'train' RETURN count(DISTINCT u)"
    runner = CliRunner()
    try:
        extract_offline(vg)
        before = edges(vg)
        assert vg.value(held_out) == 0 and stored_scopes(vg)["offline"] == "train"
        r = runner.invoke(cli, ["interests", "extract", "--silent", "--for", "serving", "--users", "5"])
        assert r.exit_code == 1 and "over every user" in r.output and edges(vg) == before, r.output
        r = runner.invoke(cli, ["interests", "extract", "--silent", "--for", "serving"])
        assert r.exit_code == 0 and "from every interaction (serving)" in r.output, r.output
        assert stored_scopes(vg)["offline"] == "every"
        r = runner.invoke(cli, ["status"])  # it said nothing of which interactions the interests read
        assert r.exit_code == 0 and "interests: the offline ones read every interaction (serving)" in r.output, r.output
        users = vg.value(held_out)
        assert users > 10, users  # the newest interactions are evidence now
        serving = edges(vg)
        # a run over some users (as `kgrec update` runs) keeps the stored scope
        user = vg.value("MATCH (u:User)-[r:INTERESTED_IN {extractor: 'offline'}]->() UNWIND r.evidence AS ev "
                        "MATCH (u)-[e:INTERACTED]->(:Item {id: ev}) WHERE e.split <> 'train' RETURN u.id LIMIT 1")
        vg.write("MATCH (:User {id: $u})-[r:INTERESTED_IN {extractor: 'offline'}]->() DELETE r", u=user)
        assert extract_offline(vg, users=[user]).scope == "every" and edges(vg) == serving
        # the profile's header says what the interests read (it counted the train split whatever the scope)
        r = runner.invoke(cli, ["interests", "show", "--user", user])
        assert r.exit_code == 0 and "disliked; the interests read every interaction)" in r.output, r.output
        # evaluation refuses interests that read its held-out interactions, before anything is exported
        for args in (["train", "--epochs", "1"], ["evaluate", "--epochs", "1", "--models", "ours", "--no-ablations"]):
            r = runner.invoke(cli, args)
            assert r.exit_code != 0 and "kgrec interests extract --for evaluation" in r.output, (args, r.output)
        assert vg.value("MATCH (r:ModelRun) WHERE r.status = 'running' RETURN count(r)") == 0
        # a switch that did not finish is named, and neither an update nor evaluation goes on with it
        set_scope(vg, "offline", "switching:every")
        with pytest.raises(ScopeError, match="did not finish"):
            extract_offline(vg, users=[user])
        with pytest.raises(ScopeError):
            check_for_evaluation(vg)
        from kgrec_neo4j.update import run_update

        with pytest.raises(ScopeError, match="did not finish"):  # refused before its first step, not at step 6
            run_update(vg, vg.settings)
        assert vg.value("MATCH (r:UpdateRun {status: 'running'}) RETURN count(r)") == 0
        # status names the unfinished switch (it said "pending: nothing"), and a serving run refuses the mix
        r = runner.invoke(cli, ["status"])
        assert "a switch to serving did not finish; `kgrec interests extract --for serving` finishes it" in r.output
        r = runner.invoke(cli, ["train", "--for", "serving", "--epochs", "1"])
        assert r.exit_code != 0 and "did not finish, so they are a mix of both" in r.output, r.output
        # back to evaluation over every user: the train-only edges, byte for byte
        r = runner.invoke(cli, ["interests", "extract", "--silent", "--for", "evaluation"])
        assert r.exit_code == 0 and "from train interactions (evaluation)" in r.output, r.output
        assert edges(vg) == before and stored_scopes(vg)["offline"] == "train"
        check_for_evaluation(vg)
        r = runner.invoke(cli, ["interests", "show", "--user", user])
        assert r.exit_code == 0 and "disliked in train)" in r.output and "every interaction" not in r.output, r.output
        # the LLM extractor's retrieval reads the same scope; switching its edges needs --restart
        u = vg.value("MATCH (u:User)-[e:INTERACTED]->() WHERE e.split = 'test' RETURN u.id LIMIT 1")
        q = cypher("interests/next_batch")
        seqs = {flag: [x["seq"] for x in vg.query(q, users=[u], fresh=[u], batch=1000, min_confidence=0.0,
                                                  every_split=flag)[0]["items"]] for flag in (False, True)}
        assert len(seqs[True]) == len(seqs[False]) + 2, seqs
        from kgrec_neo4j.users.interests.scope import resolve

        vg.write("MATCH (u:User {id: $u}), (c:Concept) WITH u, c LIMIT 1 "
                 "CREATE (u)-[:INTERESTED_IN {extractor: 'llm', horizon: 'long', polarity: 1, weight: 0.5}]->(c)", u=u)
        with pytest.raises(ScopeError, match="--restart"):
            resolve(vg, "llm", "serving", every_user=True)
        assert resolve(vg, "llm", "serving", every_user=True, restart=True) == "every"
        # a restart towards serving that some users failed goes on without --restart (they are pending), and
        # evaluation refuses it meanwhile
        set_scope(vg, "llm", "switching:every")
        assert resolve(vg, "llm", None, every_user=False) == "every"
        assert resolve(vg, "llm", "serving", every_user=True) == "every"
        with pytest.raises(ScopeError, match="llm interests"):
            check_for_evaluation(vg)
        # progress markers alone are state too (a run that wrote only pending mentions)
        vg.write("MATCH ()-[r:INTERESTED_IN {extractor: 'llm'}]->() DELETE r")
        set_scope(vg, "llm", "every")
        vg.write("MATCH (u:User {id: $u}) SET u.interests_llm_upto = 5", u=u)
        with pytest.raises(ScopeError, match="--restart"):
            resolve(vg, "llm", "evaluation", every_user=True)
    finally:
        vg.write("MATCH ()-[r:INTERESTED_IN {extractor: 'llm'}]->() DELETE r")
        vg.write("MATCH (u:User) REMOVE u.interests_llm_upto")
        set_scope(vg, "offline", "train")
        set_scope(vg, "llm", "train")
        extract_offline(vg)


def test_interests_of_equal_weight_are_ranked_by_their_support(vg):
    """A MovieLens user's long-term interests are mostly at full strength (weight 1.00): `kgrec interests show --top`
    then showed the alphabetically first ones, not the strongest. Equal weights are ranked by how many interactions
    carry the concept, and the profile prints that count."""
    from click.testing import CliRunner

    from kgrec_neo4j.cli import cli

    vg.write("CREATE (u:User {id: 'rank-probe'}) WITH u "
             "UNWIND [['rank-a', 'Aardvark mode', 3], ['rank-z', 'Zombie mode', 12]] AS c "
             "CREATE (k:Concept {id: c[0], name: c[1], type: 'Others'}) "
             "CREATE (u)-[:INTERESTED_IN {extractor: 'offline', horizon: 'long', polarity: 1, weight: 1.0, "
             "confidence: 0.9, support: c[2], evidence: []}]->(k)")
    try:
        r = CliRunner().invoke(cli, ["interests", "show", "--user", "rank-probe", "--top", "1"])
        assert r.exit_code == 0, r.output
        assert "Zombie mode" in r.output and "Aardvark mode" not in r.output, r.output
        assert "12 interactions" in r.output, r.output
    finally:
        vg.write("MATCH (n) WHERE n.id IN ['rank-probe', 'rank-a', 'rank-z'] DETACH DELETE n")


def test_evaluation_refuses_interests_a_reload_left_stale(vg, tmp_path):
    """A reload that drops each user's last interaction splits the histories again: the former train item before
    the dropped one becomes valid or test, and the stored interests still read it. `kgrec train` / `kgrec evaluate`
    trained on them without a word (a walkthrough measured +47% test NDCG@10 for the GNN part). They now refuse
    until the interests are computed again (`kgrec interests extract`, or `kgrec update`)."""
    import json
    import shutil

    from click.testing import CliRunner

    from kgrec_neo4j.cli import cli
    from kgrec_neo4j.core.resources import cypher
    from kgrec_neo4j.load import load
    from kgrec_neo4j.users.interests.scope import ScopeError, check_for_evaluation

    extract_offline(vg)
    check_for_evaluation(vg)  # interests that saw every change: nothing to refuse
    user = vg.value("MATCH (u:User)-[:INTERESTED_IN {extractor: 'offline'}]->() WITH DISTINCT u "
                    "WHERE COUNT { (u)-[:INTERACTED]->() } >= 4 RETURN u.id ORDER BY u.id LIMIT 1")
    lines = (SLICE / "interactions.jsonl").read_text(encoding="utf-8").splitlines()
    mine = [k for k, ln in enumerate(lines) if json.loads(ln)["user_id"] == user]
    last = max(mine, key=lambda k: json.loads(lines[k])["seq"])
    copy = tmp_path / "vg-slice"
    shutil.copytree(SLICE, copy)
    (copy / "interactions.jsonl").write_text("\n".join(ln for k, ln in enumerate(lines) if k != last) + "\n",
                                             encoding="utf-8")
    try:
        load(vg, [copy], name=SLICE.name)
        # (earlier tests of the module leave other users whose edges the reload puts back: they are named too)
        with pytest.raises(ScopeError, match=r"interactions changed since their offline interests were last "
                                             r"computed \(e\.g\. '.*: a load splits the histories again.*"
                                             r"`kgrec update`"):
            check_for_evaluation(vg)
        stale = vg.query(cypher("interests/stale_users"), dataset=None)[0]
        assert stale["users"] >= 1 and vg.value("MATCH (u:User {id: $u}) RETURN u.ingest", u=user) > vg.value(
            "MATCH (s:UpdateState {id: 'graph'}) RETURN s.interests_upto")
        r = CliRunner().invoke(cli, ["train", "--epochs", "1"])
        assert r.exit_code != 0 and "interactions changed since their offline interests" in r.output, r.output
        assert vg.value("MATCH (r:ModelRun) WHERE r.status = 'running' RETURN count(r)") == 0
        extract_offline(vg)  # the interests read the new splits
        check_for_evaluation(vg)
    finally:
        load(vg, [SLICE])
        extract_offline(vg)


def test_evaluation_refuses_train_interactions_recorded_after_the_held_out_ones(vg):
    """An interaction recorded live (`kgrec serve --writes`, Browser) is a train edge after the user's valid and
    test ones: a live record does not split the history again, as a load does. Evaluation trained on it (what came
    after its targets) and dropped the test users whose item came again, without a word. It now refuses, naming the
    users and the ways out; a serving run goes on."""
    from click.testing import CliRunner

    from kgrec_neo4j.cli import cli
    from kgrec_neo4j.core.errors import KgrecError
    from kgrec_neo4j.model.export import check_split_order
    from kgrec_neo4j.serve.record import InteractionIn, record_interaction

    check_split_order(vg)
    user, item = vg.query("MATCH (u:User)-[e:INTERACTED {split: 'test'}]->(i:Item) "
                          "RETURN u.id AS u, i.id AS i ORDER BY u.id LIMIT 1")[0].values()
    splits = "MATCH (:User {id: $u})-[e:INTERACTED]->() WITH e ORDER BY e.seq RETURN collect([e.seq, e.split])"
    before, stamp = vg.value(splits, u=user), vg.value("MATCH (u:User {id: $u}) RETURN u.ingest", u=user)
    rec = record_interaction(vg, user, InteractionIn(item=item, rating=5, timestamp=1_700_000_000))
    try:
        with pytest.raises(KgrecError, match=rf"1 user has train interactions after their valid or test ones "
                                             rf"\(e.g. '{user}' of dataset 'vg-slice'\).*interactions split.*"
                                             rf"--for serving"):
            check_split_order(vg)
        for args in (["train", "--model", "pop"], ["evaluate", "--models", "pop"]):
            r = CliRunner().invoke(cli, args)
            assert r.exit_code != 0 and "after their valid or test ones" in r.output, (args, r.output)
        assert vg.value("MATCH (r:ModelRun) WHERE r.status = 'running' RETURN count(r)") == 0
        # `kgrec status` says so (it advised `kgrec train --warm-start`, which was then refused); `kgrec interactions
        # split` splits the history again, last-two-out as an append does, and stamps the user for `kgrec update`
        r = CliRunner().invoke(cli, ["status"])
        assert r.exit_code == 0 and "splits:    1 user with interactions recorded live" in r.output, r.output
        r = CliRunner().invoke(cli, ["interactions", "split"])
        assert r.exit_code == 0 and f"split again: 1 user (e.g. '{user}'), 3 interactions moved" in r.output, r.output
        *old, (seq, split) = vg.value(splits, u=user)
        assert (seq, split) == (rec.seq, "test")
        assert [sp for _, sp in old] == [*(sp for _, sp in before[:-2]), "train", "valid"]
        assert vg.value("MATCH (u:User {id: $u}) RETURN u.ingest", u=user) \
            == vg.value("MATCH (s:UpdateState {id: 'graph'}) RETURN s.ingest")
        check_split_order(vg)
        # nothing left: nothing written, and no writer lease wanted (behind a long update it exited 3)
        from kgrec_neo4j.core.lease import WriterLease

        with WriterLease(vg, "kgrec update (test)"):
            r = CliRunner().invoke(cli, ["interactions", "split"])
        assert r.exit_code == 0 and "no history to split again" in r.output, r.output
        assert "splits:" not in CliRunner().invoke(cli, ["status"]).output
    finally:
        vg.write("MATCH (u:User {id: $u})-[e:INTERACTED {seq: $s}]->() DELETE e "
                 "SET u.n_interactions = u.n_interactions - 1", u=user, s=rec.seq)
        vg.write("UNWIND $rows AS r MATCH (u:User {id: $u})-[e:INTERACTED {seq: r[0]}]->() SET e.split = r[1], "
                 "u.ingest = $stamp", u=user, rows=before, stamp=stamp)
    check_split_order(vg)
    assert vg.value(splits, u=user) == before


def test_an_event_without_seq_is_the_users_latest():
    """An edge typed in Browser without `seq` stopped the offline interests with int(None); it is the latest, as
    training and serving count it."""
    from kgrec_neo4j.users.interests.offline import _events

    got = _events([[3, "a", 1, 1.0], [None, "b", -1, 0.5], [7, "c", 1, 1.0]])
    assert [(e.seq, e.item, e.sign) for e in got] == [(3, "a", 1), (8, "b", -1), (7, "c", 1)]
    assert [e.seq for e in _events([[None, "a", 1, 1.0]])] == [0]


def test_events_without_seq_count_one_each_and_in_one_order():
    """Several edges without `seq` are all the user's latest (one seq): two of them on items sharing a concept are two
    interactions of support (they counted as one, and a long-term edge needing two was left out), and their order in
    the short window does not depend on the order the database returned them in."""
    from kgrec_neo4j.users.interests.offline import _events

    cs = {"a": [("c:rpg", 1.0)], "b": [("c:rpg", 1.0)], "x": [("c:x", 1.0)]}
    rows = [[1, "x", 1, 1.0], [None, "a", 1, 1.0], [None, "b", 1, 1.0]]
    edges = {(e.concept, e.horizon): e for e in user_interests(_events(rows), cs, OfflineParams())}
    assert edges["c:rpg", "long"].support == 2 and edges["c:rpg", "short"].support == 2
    assert edges["c:rpg", "long"].evidence == ["a", "b"]
    one = user_interests(_events(rows), cs, OfflineParams(short_window=2))
    two = user_interests(_events([rows[0], rows[2], rows[1]]), cs, OfflineParams(short_window=2))
    assert one == two
    # a window of one holds one of the two, the same one either way
    w1 = [user_interests(_events(r), cs, OfflineParams(short_window=1)) for r in (rows, [rows[0], rows[2], rows[1]])]
    assert w1[0] == w1[1]
