"""Serving reads the live graph: every interaction counts at once (whatever its split, however it was written),
new users are folded in, a user without edges gets a labelled fallback, and a run trained on every interaction
serves exactly what it trained. A real model is trained on the vg-slice knowledge graph."""

from __future__ import annotations

import re

import numpy as np
import pytest
from _export_fixture import build
from _kg_fixture import invoke_cli

from kgrec_neo4j.core.schema import load_pack
from kgrec_neo4j.model import runs
from kgrec_neo4j.model.foldin import fold_in
from kgrec_neo4j.model.pipeline import run_training
from kgrec_neo4j.serve import explain as E
from kgrec_neo4j.serve import recommend as R
from kgrec_neo4j.serve import scoring as S

TYPES = load_pack("video_games").names


@pytest.fixture(scope="module")
def graph(db, one_torch_thread):
    facts = build(db)
    S.clear_cache()
    res = run_training(db, type_names=TYPES, model="ours", epochs=2, dim=8, seed=0,
                       overrides={"item_graph_concept_weights": [1.0], "item_graph_weights": [1.0]})
    assert res.current and res.writeback["item_links"] > 0
    yield {**facts, "run": res.run}
    S.clear_cache()


def _history(db, user):
    return set(db.value("MATCH (:User {id: $u})-[:INTERACTED]->(i:Item) RETURN collect(DISTINCT i.id)", u=user))


def _busy_user(db):
    return db.value("MATCH (u:User)-[x:INTERACTED]->() WITH u, count(x) AS n ORDER BY n DESC, u.id RETURN u.id LIMIT 1")


def test_every_interaction_counts_and_is_excluded(db, graph):
    user = _busy_user(db)
    seen = _history(db, user)
    assert db.value("MATCH (:User {id: $u})-[x:INTERACTED]->() WHERE x.split <> 'train' RETURN count(x)", u=user) > 0
    rec = R.recommend(db, user, 10, store=False)
    assert rec.run == graph["run"] and rec.source == "model"
    assert rec.excluded == len(seen) and not seen & {r.item for r in rec.items}
    assert rec.interactions == len(seen)
    # one user sums its item links in Cypher, a batch uses the run's links in memory: the same scores
    S.clear_cache()
    single = R.recommend(db, user, 10, store=False)
    assert S.run_model(db, graph["run"], links=False).links is None
    batch = R.recommend_users(db, [user, _busy_user(db)], 10, store=False)[0]
    assert S.run_model(db, graph["run"]).links is not None
    assert [r.item for r in single.items] == [r.item for r in batch.items]
    assert [r.score for r in single.items] == pytest.approx([r.score for r in batch.items], rel=1e-5, abs=1e-5)


def test_an_edge_written_by_any_client_changes_the_next_answer(db, graph):
    user = _busy_user(db)
    before = R.recommend(db, user, 10, store=False)
    top = before.items[0].item
    # what a person types in Browser: no split, no sign, no kind
    db.write("MATCH (u:User {id: $u}), (i:Item {id: $i}) CREATE (u)-[:INTERACTED {seq: 1000, rating: 5.0}]->(i)",
             u=user, i=top)
    try:
        after = R.recommend(db, user, 10, store=False)
        assert top not in {r.item for r in after.items}
        assert after.excluded == before.excluded + 1
        s_before = {r.item: r.score for r in before.items}
        common = [r for r in after.items if r.item in s_before]
        assert any(abs(r.score - s_before[r.item]) > 1e-6 for r in common), "the new edge changed no score"
    finally:
        db.write("MATCH (:User {id: $u})-[x:INTERACTED {seq: 1000}]->(:Item {id: $i}) DELETE x", u=user, i=top)
    assert R.recommend(db, user, 10, store=False).items[0].item == top


def test_the_readmes_browser_interaction_takes_the_next_seq(db, graph):
    """The README's one-interaction Browser snippet numbers the edge after the user's highest seq, also when the
    stored seqs have gaps (a --k-core load leaves them): it took the number of edges, an older seq already in use, so
    the new interaction did not count as the latest."""
    import re

    from _examples import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    snippet = re.search(r"\* One interaction, in Browser:.*?```\n(.*?)```", readme, re.S).group(1)
    items = db.value("MATCH (i:Item) WITH i ORDER BY i.id LIMIT 4 RETURN collect(i.id)")
    db.write("CREATE (u:User {id: 'gap-user'}), (:User {id: 'empty-user'}) WITH u UNWIND [0, 1] AS k "
             "MATCH (i:Item {id: $items[k]}) CREATE (u)-[:INTERACTED {seq: k * 5, rating: 5.0}]->(i)", items=items)
    try:
        db.write(snippet, user="gap-user", item=items[2])
        db.write(snippet, user="empty-user", item=items[3])
        got = db.query("MATCH (u:User)-[x:INTERACTED]->(i:Item) WHERE u.id IN ['gap-user', 'empty-user'] "
                       "RETURN u.id AS u, i.id AS i, x.seq AS seq ORDER BY u, seq")
        assert [(r["u"], r["i"], r["seq"]) for r in got] == [
            ("empty-user", items[3], 0), ("gap-user", items[0], 0), ("gap-user", items[1], 5),
            ("gap-user", items[2], 6)]
    finally:
        db.write("MATCH (u:User) WHERE u.id IN ['gap-user', 'empty-user'] DETACH DELETE u")


def test_a_new_user_written_in_cypher_is_recommended_and_explained(db, graph):
    items = db.value("MATCH (i:Item)<-[:INTERACTED]-() WITH i, count(*) AS n ORDER BY n DESC, i.id "
                     "RETURN collect(i.id)[..3]")
    db.write("CREATE (u:User {id: 'new-user'}) WITH u UNWIND range(0, size($items) - 1) AS k "
             "MATCH (i:Item {id: $items[k]}) CREATE (u)-[:INTERACTED {seq: k, rating: 5.0}]->(i)", items=items)
    try:
        rec = R.recommend(db, "new-user", 10, explain=True, store=False)
        assert rec.source == "model" and rec.excluded == 3 and len(rec.items) == 10
        assert not set(items) & {r.item for r in rec.items}
        explained = [r for r in rec.items if r.explanation and r.explanation.paths]
        assert explained, "no item of a new user's list has a stored path"
        assert all(all(E.verify_paths(db, r.explanation.paths)) for r in explained)
        assert {p.via for r in explained for p in r.explanation.paths if p.via} <= set(items)
        # a user the run never trained has no learned profile: every share comes from its three items
        for r in rec.items:
            assert {x.kind for x in r.explanation.reasons} <= {"item"}
            assert {x.id for x in r.explanation.reasons} <= set(items)
            assert sum(x.share for x in r.explanation.reasons) == pytest.approx(r.score, rel=1e-4, abs=1e-5)
    finally:
        db.write("MATCH (u:User {id: 'new-user'}) DETACH DELETE u")


def test_the_served_score_splits_into_shares_that_add_up(db, graph):
    """The trained model (LightGCN layers, dislike graph, interests, stage-2 attention, item graph): for every item
    of several users, the reasons' shares add up to the served score, in both ways of summing item links."""
    users = db.value("MATCH (u:User)-[x:INTERACTED]->() WITH u, count(x) AS n ORDER BY n DESC, u.id "
                     "RETURN collect(u.id)[..6]")
    m, states = S.scoring_state(db, users, links=True)
    served = S.scores(m, states)
    kinds = set()
    for b, st in enumerate(states):
        targets = np.arange(len(m.ids))
        sh = S.score_shares(m, st, targets)  # links from memory
        np.testing.assert_allclose(sh.score, served[b], rtol=1e-4, atol=1e-4)
        total = sh.ego + sh.item_gnn.sum(1) + sh.item_graph.sum(1) + sh.concept_gnn.sum(1)
        np.testing.assert_allclose(total, served[b], rtol=1e-4, atol=1e-4)
        assert np.abs(sh.item_graph).sum() > 0 and np.abs(sh.item_gnn).sum() > 0
        rec = R.recommend(db, st.id, 10, store=False, explain=True)  # links summed in Cypher, shares from the paths
        for r in rec.items:
            e = r.explanation
            assert sum(x.share for x in e.reasons) + e.other == pytest.approx(r.score, rel=1e-4, abs=1e-4)
            kinds |= {x.kind for x in e.reasons}
            assert all(E.verify_paths(db, e.paths))
            for x in e.reasons:
                assert x.share == pytest.approx(x.gnn + x.item_graph, abs=1e-6)
                links = [p for p in x.paths if p.kind == "item_link"]
                assert (abs(x.item_graph) > 0) == bool(links)
    assert kinds >= {"item", "profile"}


def test_a_served_explanation_adds_up_while_the_graphs_links_go(db, graph):
    """`kgrec serve` scores from the run's links in memory and explained from the graph's: while a newer run took
    over and the old run's links were cleared, an explanation's shares no longer added up to the served score (4.1
    against 11.2 for an operator), and a link deleted during the read (no weight) was a 500. The shares now come
    from the links the score was summed from, whatever the graph holds at the time."""
    users = db.value("MATCH (u:User)-[x:INTERACTED]->() WITH u, count(x) AS n ORDER BY n DESC, u.id "
                     "RETURN collect(u.id)[..3]")
    m, states = S.scoring_state(db, users, links=True)
    assert m.links is not None and m.links.nnz > 0
    recs = R.recommend_users(db, users, 10, store=False, run=m.run)
    db.write("MATCH ()-[l:ITEM_LINK {run: $run}]->() WITH l ORDER BY elementId(l) WITH collect(l) AS ls "
             "UNWIND range(0, size(ls) - 1) AS k WITH ls[k] AS l, k "
             "SET l.kgrec_test_w = l.weight, l.kgrec_test_run = l.run, "
             "l.run = CASE WHEN k % 2 = 0 THEN 'cleared' ELSE l.run END, "
             "l.weight = CASE WHEN k % 2 = 1 THEN null ELSE l.weight END", run=m.run)
    try:
        for rec, st in zip(recs, states, strict=True):
            exps = E.explain_items(db, rec.user, [r.item for r in rec.items], model=m, state=st)
            for r in rec.items:
                e = exps[r.item]
                assert e.score == pytest.approx(r.score, rel=1e-4, abs=1e-4)
                assert sum(x.share for x in e.reasons) + e.other == pytest.approx(r.score, rel=1e-4, abs=1e-4)
                assert all(p.link_weight is not None for p in e.paths if p.kind == "item_link")
    finally:
        db.write("MATCH ()-[l:ITEM_LINK]->() WHERE l.kgrec_test_run IS NOT NULL "
                 "SET l.run = l.kgrec_test_run, l.weight = l.kgrec_test_w REMOVE l.kgrec_test_run, l.kgrec_test_w")


def test_a_user_without_edges_gets_the_popular_items_labelled(db, graph):
    db.write("CREATE (:User {id: 'blank-user'})")
    try:
        rec = R.recommend(db, "blank-user", 5, store=False)
        assert rec.source == "popular" and len(rec.items) == 5
        # users per item, each once, not those who only disliked it
        pop = db.query("""MATCH (u:User)-[x:INTERACTED]->(i:Item)
                          WITH i, u, max(coalesce(x.sign, CASE WHEN x.rating IS NULL OR x.rating >= 4 THEN 1
                                                          WHEN x.rating <= 2 THEN -1 ELSE 0 END)) AS best
                          RETURN i.id AS id, count(CASE WHEN best >= 0 THEN u END) AS n ORDER BY n DESC, id""")
        counts = {r["id"]: r["n"] for r in pop}
        got = [counts[r.item] for r in rec.items]
        assert got == sorted(got, reverse=True) and got[0] == pop[0]["n"]
        # one user's repeats made an item popular (the fallback counted edges): 60 purchases of the least popular
        # item by one user leave it where it was
        last = pop[-1]["id"]
        user = db.value("MATCH (u:User)-[:INTERACTED]->() RETURN u.id ORDER BY u.id LIMIT 1")
        db.write("MATCH (u:User {id: $u}), (i:Item {id: $i}) UNWIND range(1, 60) AS k "
                 "CREATE (u)-[:INTERACTED {seq: 100000 + k, split: 'train', sign: 1, kind: 'implicit', "
                 "repeat_test: true}]->(i)", u=user, i=last)
        try:
            S.clear_cache()
            assert last not in [r.item for r in R.recommend(db, "blank-user", 5, store=False).items]
        finally:
            db.write("MATCH ()-[x:INTERACTED {repeat_test: true}]->() DELETE x")
            S.clear_cache()
        res = invoke_cli(["recommend", "--user", "blank-user", "-k", "3", "--no-store"])
        assert res.exit_code == 0 and "the most popular items" in res.output.splitlines()[0]
        # the Browser query of a stored list shows the stored items that no path explains (it showed no row at all)
        R.recommend(db, "blank-user", 5, store=True)
        from kgrec_neo4j.core.resources import cypher

        text = "\n".join(ln for ln in cypher("browser/stored_recommendations").splitlines() if not ln.startswith("//"))
        shown = db.query(text.strip().rstrip(";"), user="blank-user")
        assert [(r["rank"], r["item"], r["p"]) for r in shown] == [(r.rank, r.item, None) for r in rec.items]
    finally:
        db.write("MATCH (u:User {id: 'blank-user'}) DETACH DELETE u")


def test_a_user_whose_items_are_all_new_to_the_run_gets_the_popular_items_and_is_told_why(db, graph):
    """Interactions only with items the run has no vector for yet (not folded in by `kgrec update`) are no usable
    history: the popular fallback, stored as such, and the answer says why."""
    db.write("CREATE (i:Item {id: 'brand-new-1', title: 'Brand New One'}), (j:Item {id: 'brand-new-2'}) "
             "CREATE (u:User {id: 'early-adopter'}) CREATE (u)-[:INTERACTED {seq: 1, rating: 5.0}]->(i) "
             "CREATE (u)-[:INTERACTED {seq: 2, rating: 4.0}]->(j)")
    try:
        rec = R.recommend(db, "early-adopter", 5, store=True, explain=True)
        assert rec.source == "popular" and rec.interactions == 2 and rec.new_items == 2 and len(rec.items) == 5
        counts = dict(db.query("MATCH (i:Item) RETURN collect([i.id, COUNT { (i)<-[:INTERACTED]-() }]) AS c")[0]["c"])
        got = [counts[r.item] for r in rec.items]
        assert got == sorted(got, reverse=True) and got[0] == max(counts.values())
        assert all(r.score > 0 for r in rec.items)
        for r in rec.items:
            assert "Nothing in the model connects you" not in r.explanation.sentence
            assert "new to the model" in r.explanation.sentence and "kgrec update" in r.explanation.sentence
        stored = R.stored_recommendations(db, "early-adopter")
        assert [s["item"] for s in stored] == [r.item for r in rec.items]
        res = invoke_cli(["recommend", "--user", "early-adopter", "-k", "3", "--no-store"])
        head = res.output.splitlines()[0]
        assert res.exit_code == 0 and "new to the model" in head and "the most popular items" in head, res.output
        why = E.explain(db, "early-adopter", rec.items[0].item)  # it said "you have no interactions or interests yet"
        assert why.rank == 1 and "by popularity: the 2 items you interacted with are new to the model" in why.verdict
        res = invoke_cli(["explain", "--user", "early-adopter", "--item", rec.items[0].item])
        assert res.exit_code == 0 and "no interactions" not in res.output and "new to the model" in res.output
        # `kgrec update` folds them in from nothing (no knowledge, no user the run can place): zero vectors, which
        # carry nothing either (the user got an arbitrary list of items scored 0, labelled as the model's)
        from kgrec_neo4j.model.newitems import fold_in_new_items

        fold_in_new_items(db, borrow_neighbours=0)
        assert db.value("MATCH (i:Item) WHERE i.id IN ['brand-new-1', 'brand-new-2'] AND i.gnn_run = $r "
                        "AND all(v IN i.gnn_embedding WHERE v = 0.0) RETURN count(i)", r=graph["run"]) == 2
        folded = R.recommend(db, "early-adopter", 5, store=False, explain=True)
        assert folded.source == "popular" and folded.new_items == 2 and folded.blank_items == 2
        assert [r.item for r in folded.items] == [r.item for r in rec.items]
        # another `kgrec update` changes nothing for them: the advice says what does (it said "until kgrec update")
        assert all("were folded in from nothing" in r.explanation.sentence and "`kgrec train`" in r.explanation.sentence
                   and "until text that gives them knowledge" in r.explanation.sentence
                   and "load or post them again" in r.explanation.sentence  # not `kgrec extract`: update extracts
                   and "kgrec extract" not in r.explanation.sentence for r in folded.items), folded.items[0].explanation
        res = invoke_cli(["recommend", "--user", "early-adopter", "-k", "3", "--no-store"])
        assert res.exit_code == 0 and "folded in from nothing" in res.output.splitlines()[0], res.output
        # one interaction with an item of the run is a usable history again
        db.write("MATCH (u:User {id: 'early-adopter'}), (i:Item {id: $i}) CREATE (u)-[:INTERACTED {seq: 3}]->(i)",
                 i=rec.items[0].item)
        again = R.recommend(db, "early-adopter", 5, store=False)
        assert again.source == "model" and again.new_items == 2
    finally:
        db.write("MATCH (n) WHERE n.id IN ['early-adopter', 'brand-new-1', 'brand-new-2'] DETACH DELETE n")
        S.clear_cache()


def test_an_items_own_interaction_is_never_one_of_its_reasons(db, graph):
    """An item the user already has: its score holds the user's own interaction with it (a large share), which is
    kept apart (``own``) and is never stated as a reason for or against the item itself."""
    items = db.value("MATCH (i:Item)<-[:INTERACTED]-() WITH i, count(*) AS n ORDER BY n DESC, i.id "
                     "RETURN collect(i.id)[..3]")
    ratings = [5.0, 5.0, 1.0]  # two likes and a dislike
    db.write("CREATE (u:User {id: 'own-user'}) WITH u UNWIND range(0, size($items) - 1) AS k "
             "MATCH (i:Item {id: $items[k]}) CREATE (u)-[:INTERACTED {seq: k, rating: $r[k]}]->(i)",
             items=items, r=ratings)
    try:
        for item, how in zip(items, ("liked", "liked", "disliked"), strict=True):
            rep = E.explain(db, "own-user", item, k=10)
            e = rep.explanation
            assert item not in {r.id for r in e.reasons}, e.reasons
            assert rep.in_history and e.in_history and not rep.recommended
            assert e.own != 0.0
            assert sum(r.share for r in e.reasons) + e.other + e.own == pytest.approx(rep.score, rel=1e-4, abs=1e-5)
            title = E.short(rep.title, 60)
            assert e.sentence.startswith(f"You already interacted with {title} (you {how} it), so it is not "
                                         "recommended to you again"), e.sentence
            assert title not in e.sentence.split("again", 1)[1] and "Recommended because" not in e.sentence
        # listed (as a list with repeats allowed does): it says the user has it, and still not because of itself
        for item, e in E.explain_items(db, "own-user", items).items():
            assert e.in_history and item not in {x.id for x in e.reasons} and e.own != 0.0
            assert e.sentence.startswith(f"You already interacted with {E.short(e.title, 60)} (you "), e.sentence
            assert sum(x.share for x in e.reasons) + e.other + e.own == pytest.approx(e.score, rel=1e-4, abs=1e-5)
    finally:
        db.write("MATCH (u:User {id: 'own-user'}) DETACH DELETE u")


@pytest.mark.parametrize("strong", [-1, 1])
def test_an_interest_held_both_ways_is_named_by_the_edge_that_has_its_shares_sign(db, graph, strong):
    """A user with a long-term and a short-term edge of opposite polarity to one concept: the reason's share sums
    both, but it was named after the stronger edge whatever its sign ("your interest in X counts against it", while
    taking the negative edge away raised the score). It is named after the strongest edge with its share's sign."""
    concepts = db.value("MATCH (i:Item)-[:HAS_KNOWLEDGE]->(c:Concept) WITH c, count(i) AS n ORDER BY n DESC, c.id "
                        "RETURN collect(c.id)[..3]")
    db.write("CREATE (u:User {id: 'both-ways'}) WITH u UNWIND range(0, 2) AS k "
             "MATCH (c:Concept {id: $cs[k]}) "
             "CREATE (u)-[:INTERESTED_IN {horizon: 'long', polarity: CASE WHEN k = 0 THEN -1 ELSE 1 END, "
             "                            weight: 0.8, confidence: 1.0}]->(c) "
             "FOREACH (_ IN CASE WHEN k = 0 THEN [1] ELSE [] END | "
             "  CREATE (u)-[:INTERESTED_IN {horizon: 'short', polarity: 1, weight: 0.8, confidence: 1.0}]->(c))",
             cs=concepts)
    # the stronger of the two edges to the first concept: the negative one, or the positive one
    db.write("MATCH (:User {id: 'both-ways'})-[r:INTERESTED_IN]->(:Concept {id: $c}) "
             "SET r.confidence = CASE WHEN r.polarity = $strong THEN 1.0 ELSE 0.2 END", c=concepts[0], strong=strong)
    try:
        S.clear_cache()
        items = db.value("MATCH (i:Item)-[:HAS_KNOWLEDGE]->(:Concept {id: $c}) WHERE i.gnn_embedding IS NOT NULL "
                         "RETURN collect(i.id)[..20]", c=concepts[0])
        seen = 0
        for e in E.explain_items(db, "both-ways", items).values():
            for r in e.reasons:
                if r.kind == "interest" and r.id == concepts[0] and r.share:
                    seen += 1
                    assert r.polarity * r.share > 0, (r.polarity, r.horizon, r.share)
                    assert r.horizon == ("long" if r.share < 0 else "short")
                    # its path starts at that edge, not at the other one to the same concept
                    for p in r.paths:
                        assert db.value("MATCH ()-[ii]->() WHERE elementId(ii) = $e RETURN ii.polarity",
                                        e=p.rels[0]) == r.polarity, p
                    assert all(E.verify_paths(db, r.paths))
        assert seen
    finally:
        db.write("MATCH (u:User {id: 'both-ways'}) DETACH DELETE u")
        S.clear_cache()


def test_a_user_with_interests_only_is_folded_in_from_them(db, graph):
    concepts = db.value("MATCH (c:Concept)<-[:HAS_KNOWLEDGE]-() WITH c, count(*) AS n ORDER BY n DESC, c.id "
                        "RETURN collect(c.id)[..2]")
    db.write("CREATE (u:User {id: 'fan-user'}) WITH u UNWIND $cs AS cid MATCH (c:Concept {id: cid}) "
             "CREATE (u)-[:INTERESTED_IN {horizon: 'long', polarity: 1, weight: 1.0, confidence: 1.0}]->(c)",
             cs=concepts)
    try:
        rec = R.recommend(db, "fan-user", 5, store=False)
        assert rec.source == "interests" and len(rec.items) == 5
        counts = dict(db.query("MATCH (i:Item) RETURN collect([i.id, COUNT { (i)<-[:INTERACTED]-() }]) AS c")[0]["c"])
        assert [r.score for r in rec.items] != [float(counts[r.item]) for r in rec.items]  # not the fallback
    finally:
        db.write("MATCH (u:User {id: 'fan-user'}) DETACH DELETE u")


def test_repeats_can_be_allowed(db, graph):
    user = _busy_user(db)
    rec = R.recommend(db, user, 50, store=False, allow_repeats=True)
    only_disliked = db.value("MATCH (:User {id: $u})-[x:INTERACTED]->(i:Item) WITH i, max(x.sign) AS best "
                             "WHERE best < 0 RETURN count(i)", u=user)
    assert rec.excluded == only_disliked and _history(db, user) & {r.item for r in rec.items}


def test_an_unknown_user_is_refused_before_the_model_loads(db, graph, monkeypatch):
    S.clear_cache()

    def boom(*a, **k):
        raise AssertionError("the run's model was loaded for an unknown user")

    monkeypatch.setattr(S, "run_model", boom)
    with pytest.raises(S.UnknownUser, match="'nobody'"):
        R.recommend(db, "nobody", 5)


def test_recommend_all_stores_every_users_list(db, graph):
    res = invoke_cli(["recommend", "--all", "-k", "4", "--batch", "7"])
    assert res.exit_code == 0, res.output
    n_users = db.value("MATCH (u:User) RETURN count(u)")
    assert f"for {n_users} users of run {graph['run']}" in res.output
    rows = db.query("MATCH (u:User)-[r:RECOMMENDED]->(i:Item) RETURN u.id AS u, collect(r.rank) AS ranks, "
                    "collect(DISTINCT r.run) AS runs, collect(i.id) AS items")
    assert len(rows) == n_users
    for r in rows:
        assert sorted(r["ranks"]) == [1, 2, 3, 4] and r["runs"] == [graph["run"]]
        assert not _history(db, r["u"]) & set(r["items"])
    # the Browser query shows a stored list with the paths that explain it
    from kgrec_neo4j.core.resources import cypher

    text = "\n".join(ln for ln in cypher("browser/stored_recommendations").splitlines() if not ln.startswith("//"))
    shown = db.query(text.strip().rstrip(";"), user=_busy_user(db))
    assert shown and {r["rank"] for r in shown} <= {1, 2, 3, 4} and all(r["run"] == graph["run"] for r in shown)
    assert all(r["p"] is not None for r in shown)


def test_editions_of_owned_items_are_demoted_or_labelled(db, graph):
    """An item linked by SAME_WORK to one the user owns comes after every other item (demote), or stays in place
    with the owned item named (group); the explanation says so."""
    S.clear_cache()
    user = _busy_user(db)
    top = R.recommend(db, user, 5, store=False, same_work="keep").items[0]
    owned = sorted(_history(db, user))[0]
    db.write("MATCH (a:Item {id: $a}), (b:Item {id: $b}) CREATE (a)-[:SAME_WORK {kind: 'edition', "
             "method: 'test'}]->(b)", a=owned, b=top.item)
    try:
        demoted = R.recommend(db, user, 5, store=False, same_work="demote")
        assert top.item not in [r.item for r in demoted.items]
        grouped = R.recommend(db, user, 5, store=False, same_work="group", explain=True)
        first = grouped.items[0]
        assert first.item == top.item and first.same_work_as
        assert "another edition of" in first.explanation.sentence and "which is in your history" in first.explanation.sentence
        everything = R.recommend(db, user, 10_000, store=False, same_work="demote")
        assert everything.items[-1].item == top.item  # after every other candidate
        res = invoke_cli(["recommend", "--user", user, "-k", "3", "--no-store", "--same-work", "group"])
        assert res.exit_code == 0 and "another edition of" in res.output
        # kgrec explain ranks it where the list puts it (it said "recommended at #1" of a list without it)
        why = E.explain(db, user, top.item, k=5)
        assert not why.recommended and why.rank == len(everything.items) and why.same_work_as
        assert why.kth_score == pytest.approx(demoted.items[4].score)
        assert "comes after every other item" in why.verdict and "comes after every other item" in why.explanation.sentence
        assert E.explain(db, user, demoted.items[0].item, k=5).rank == 1
        kept = E.explain(db, user, top.item, k=5, same_work="keep")
        assert kept.recommended and kept.rank == 1 and "another edition of" in kept.verdict
        res = invoke_cli(["explain", "--user", user, "--item", top.item, "-k", "5"])
        assert res.exit_code == 0 and f"ranked #{why.rank} of" in res.output, res.output
        res = invoke_cli(["explain", "--user", user, "--item", top.item, "-k", "5", "--same-work", "keep"])
        assert res.exit_code == 0 and "is recommended at #1 of" in res.output, res.output
    finally:
        db.write("MATCH ()-[s:SAME_WORK {method: 'test'}]->() DELETE s")


def test_recency_weighs_the_live_history_by_seq_in_both_paths(db, graph):
    """The item-graph part weighs each interacted item by ``decay ** steps back`` of its latest interaction (an edge
    without ``seq``, as typed in Browser, is the latest), whether the links are summed in memory or in Cypher."""
    items = db.value("MATCH (i:Item)-[:ITEM_LINK]->() WITH DISTINCT i ORDER BY i.id RETURN collect(i.id)[..3]")
    db.write("CREATE (u:User {id: 'recent-user'}) WITH u UNWIND range(0, 1) AS k "
             "MATCH (i:Item {id: $items[k]}) CREATE (u)-[:INTERACTED {seq: k, rating: 5.0}]->(i)", items=items)
    db.write("MATCH (u:User {id: 'recent-user'}), (i:Item {id: $item}) CREATE (u)-[:INTERACTED {rating: 5.0}]->(i)",
             item=items[2])
    try:
        S.clear_cache()
        m_mem, _ = S.scoring_state(db, ["recent-user"], links=True)
        m_mem.link_decay = 0.5  # the decay the run chose on valid may be 1: force one
        states = S.read_users(db, ["recent-user"], m_mem)[0]
        w = {m_mem.index[i]: 0.5 ** back for i, back in zip(items, (2, 1, 0), strict=True)}
        assert {int(k): float(v) for k, v in zip(*states[0].link_x, strict=True)} == pytest.approx(w)
        assert m_mem.links is not None
        gnn = np.stack([fold_in(m_mem.foldin, m_mem.side, st.history) for st in states]) @ m_mem.vectors.T
        x = np.zeros(len(m_mem.ids), np.float32)
        for k, v in w.items():
            x[k] = v
        expected = gnn[0] + m_mem.link_weight * (m_mem.links.T @ x)
        np.testing.assert_allclose(S.scores(m_mem, states)[0], expected, rtol=1e-4, atol=1e-5)
        # the same score with the links summed by Cypher (a one-off request)
        S.clear_cache()
        m_cy, _ = S.scoring_state(db, ["recent-user"], links=False)
        m_cy.link_decay = 0.5
        states_cy = S.read_users(db, ["recent-user"], m_cy)[0]
        np.testing.assert_allclose(S.scores(m_cy, states_cy)[0], expected, rtol=1e-4, atol=1e-5)
        # decay 1: every item weighs the same, as before recency
        m_cy.link_decay = 1.0
        assert set(S.read_users(db, ["recent-user"], m_cy)[0][0].link_x[1].tolist()) == {1.0}
    finally:
        db.write("MATCH (u:User {id: 'recent-user'}) DETACH DELETE u")
        S.clear_cache()


def test_browser_item_link_shares_are_the_served_scores_terms(db, graph):
    """The item-link shares of the Browser queries (item_links, explanation_paths, why_not) are the served score's
    item-graph terms (score_shares), item by item, under a recency decay < 1: each history item weighs decay **
    steps back of its latest interaction (an edge without seq is the latest), an item only disliked (the sign taken
    from the rating) weighs the run's dislike value, and every split counts."""
    import json

    from kgrec_neo4j.core.resources import cypher

    run = graph["run"]
    assert S.current_run(db) == run
    target = db.value("""MATCH (j:Item)-[:ITEM_LINK {run: $r}]->(t:Item) WITH t, count(DISTINCT j) AS n WHERE n >= 3
                         RETURN t.id ORDER BY n DESC, t.id LIMIT 1""", r=run)
    s0, s1, s2 = db.value("MATCH (j:Item)-[:ITEM_LINK {run: $r}]->(:Item {id: $t}) WITH DISTINCT j ORDER BY j.id "
                          "RETURN collect(j.id)[..3]", r=run, t=target)
    o0, o1 = db.value("MATCH (o:Item) WHERE o.id <> $t AND NOT (o)-[:ITEM_LINK {run: $r}]->(:Item {id: $t}) "
                      "WITH o ORDER BY o.id RETURN collect(o.id)[..2]", r=run, t=target)
    edges = [(s0, 0, 5.0, "train"), (s1, 1, 1.0, "test"), (s0, 2, 1.0, "valid"), (o0, 3, 5.0, "train"),
             (s2, 4, 4.0, "train"), (o1, None, 4.0, None)]  # s1: only disliked; o1: typed without seq, the latest
    before = db.query("MATCH (r:ModelRun {id: $r}) RETURN r.metrics AS m, r.item_link_dislike_value AS d", r=run)[0]
    metrics = json.loads(before["m"] or "{}")
    metrics["recency"] = {**(metrics.get("recency") or {}), "item_graph": 0.5}
    db.write("CREATE (:User {id: 'share-user'})")
    db.write("UNWIND $edges AS e MATCH (u:User {id: 'share-user'}), (i:Item {id: e[0]}) "
             "CREATE (u)-[x:INTERACTED {rating: e[2]}]->(i) SET x.seq = e[1], x.split = e[3]", edges=edges)
    db.write("MATCH (r:ModelRun {id: $r}) SET r.metrics = $m, r.item_link_dislike_value = -2.0",
             r=run, m=json.dumps(metrics))
    try:
        S.clear_cache()
        m, [st] = S.scoring_state(db, ["share-user"], links=True)
        assert m.link_decay == 0.5 and m.dislike_value == -2.0 and m.link_weight
        sh = S.score_shares(m, st, np.asarray([m.index[target]]))
        served = {m.ids[j]: float(v) for j, v in zip(sh.items.tolist(), sh.item_graph[0].tolist(), strict=True) if v}
        w = {s0: m.links[m.index[s0], m.index[target]], s1: m.links[m.index[s1], m.index[target]],
             s2: m.links[m.index[s2], m.index[target]]}
        # steps back of each source's latest interaction: s0 3 (seq 2), s1 4 (seq 1), s2 1 (seq 4)
        want = {s0: 0.5 ** 3 * w[s0], s1: -2.0 * 0.5 ** 4 * w[s1], s2: 0.5 * w[s2]}
        assert served == pytest.approx({j: m.link_weight * v for j, v in want.items()}, rel=1e-5)

        def browser(name):
            text = cypher(f"browser/{name}")
            stmt = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("//")).strip().rstrip(";")
            return db.query(stmt, user="share-user", item=target)

        def by_source(rows):  # the path (u)-[x]->(j)-[l]->(i): j's id
            return {r["p"][2]["id"]: r["share"] for r in rows if r["share"] is not None}

        assert by_source(browser("item_links")) == pytest.approx(served, rel=1e-5)
        assert by_source([r for r in browser("explanation_paths") if r["kind"] == "item_link"]) \
            == pytest.approx(served, rel=1e-5)
        assert by_source(browser("why_not")) == pytest.approx({s1: served[s1]}, rel=1e-5)
        [row] = [r for r in browser("why_not") if r["share"] is not None]
        assert row["reason"].endswith(", which counts against it in the item graph"), row["reason"]
        # under a steep decay the dislike's share fades to ~1e-12: the Browser said it 'still goes with it' (or
        # 'counts against it') of a share of 1e-42; it says the dislike no longer counts, and how far back it is
        metrics["recency"]["item_graph"] = 0.001
        db.write("MATCH (r:ModelRun {id: $r}) SET r.metrics = $m", r=run, m=json.dumps(metrics))
        [row] = [r for r in browser("why_not") if r["share"] is not None]
        assert row["share"] == pytest.approx(-2.0 * m.link_weight * 0.001 ** 4 * w[s1], rel=1e-5)
        assert row["reason"].endswith(", which no longer counts in the item graph (4 of your interactions came "
                                      "after it)"), row["reason"]
        # a run that gives a dislike no weight in the item graph (`--dislike-value 0`): its share is 0, and the
        # Browser said the dislike 'still goes with it'; under the steep decay above too, the run's value is why
        # (not the interactions after it)
        db.write("MATCH (r:ModelRun {id: $r}) SET r.metrics = $m, r.item_link_dislike_value = 0.0", r=run,
                 m=json.dumps(metrics))
        [row] = [r for r in browser("why_not") if r["share"] is not None]
        assert row["share"] == 0.0
        assert row["reason"].endswith(", which counts nothing in the item graph of this run"), row["reason"]
    finally:
        db.write("MATCH (u:User {id: 'share-user'}) DETACH DELETE u")
        db.write("MATCH (r:ModelRun {id: $r}) SET r.metrics = $m, r.item_link_dislike_value = $d",
                 r=run, m=before["m"], d=before["d"])
        S.clear_cache()


def test_a_closed_form_baseline_for_serving_fits_the_point_valid_chose(db, graph):
    point = {"lam": 500.0, "decay": 0.5}  # not the default grid's first point (lambda 100, decay 1)
    ev = run_training(db, type_names=TYPES, model="ease-recency", seed=0, overrides={"grid": [point]})
    assert runs.get_run(db, ev.run).metrics["trained_config"] == point
    res = run_training(db, type_names=TYPES, model="ease-recency", seed=0, for_serving=True)
    run = runs.get_run(db, res.run)
    assert run.config["mode"] == "serving" and run.config["params_from"] == ev.run
    assert run.config["overrides"] == {"grid": [point]} and run.metrics["trained_config"] == point


def test_a_run_trained_for_serving_folds_users_in_to_their_trained_vectors(db, graph):
    res = run_training(db, type_names=TYPES, model="ours", epochs=2, dim=8, seed=1, for_serving=True,
                       params_from=graph["run"])
    try:
        run = runs.get_run(db, res.run)
        assert run.config["mode"] == "serving" and run.config["params_from"] == graph["run"]
        assert res.export["mode"] == "serving" and res.export["valid_users"] == 0
        # every interaction was a train edge: the export saw as many as the graph holds
        assert res.export["train_interactions"] == db.value("MATCH ()-[x:INTERACTED]->() RETURN count(x)")
        S.clear_cache()
        users = db.value("MATCH (u:User) RETURN collect(u.id)[..12]")
        m, states = S.scoring_state(db, users)
        assert m.run == res.run
        stored = {r["id"]: np.asarray(r["e"], np.float32) for r in db.query(
            "MATCH (u:User) WHERE u.id IN $ids RETURN u.id AS id, u.gnn_embedding AS e", ids=users)}
        for st in states:
            np.testing.assert_allclose(fold_in(m.foldin, m.side, st.history), stored[st.id], rtol=1e-3, atol=1e-4)
    finally:
        S.clear_cache()  # the last test of the module: the serving run stays current


def test_the_python_guide_runs_as_written(db, graph, capsys):
    """Every block of docs/python.md runs on the test graph, with its user and item in place of the guide's."""
    import re
    from pathlib import Path

    from kgrec_neo4j.serve.record import RecordError, record_interaction

    guide = (Path(__file__).resolve().parent.parent / "docs" / "python.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    assert len(blocks) == 4
    user = _busy_user(db)
    item, other = db.value("MATCH (i:Item) WHERE i.gnn_embedding IS NOT NULL AND NOT EXISTS { (:User {id: $u})"
                           "-[:INTERACTED]->(i) } WITH i ORDER BY i.id LIMIT 2 RETURN collect(i.id)", u=user)
    try:
        for code in blocks:
            S.clear_cache()
            code = code.replace("A2OAG0NE83ODBD", user).replace("B0018YDKBS", item).replace("B000ECX0GU", item)
            code = code.replace("B0001CJCE2", other)
            exec(compile(code, "docs/python.md", "exec"), {})
        out = capsys.readouterr().out
        assert "model " in out and "True 0 True" in out, out  # the source line; the new visitor's first interaction
        assert "(session) ['" in out, out  # the anonymous visitor's list
        assert db.value("MATCH (:User {id: 'visitor-42'})-[x:INTERACTED]->(:Item {id: $i}) RETURN x.rating",
                        i=item) == 5.0
        # a dict with a field at fault is a RecordError naming it (it was an AttributeError, or pydantic's own)
        for bad, field in (({"item": item, "rating": 7}, "rating"), ({"item": item, "ratting": 5}, "ratting")):
            with pytest.raises(RecordError) as caught:
                record_interaction(db, "visitor-42", bad)
            assert caught.value.field == field and str(caught.value).startswith(f"{field}: "), caught.value
    finally:
        db.write("MATCH (u:User {id: 'visitor-42'}) DETACH DELETE u")
        S.clear_cache()


def test_a_session_is_scored_as_a_user_with_its_interactions_and_writes_nothing(db, graph):
    """recommend_session: a visitor who is no user of the graph, from a list of items (a dislike among them)."""
    from kgrec_neo4j.core.errors import BadArgument
    from kgrec_neo4j.serve.scoring import UnknownItems

    user = _busy_user(db)
    items = db.value("MATCH (:User {id: $u})-[x:INTERACTED]->(i:Item) WHERE i.gnn_embedding IS NOT NULL "
                     "RETURN collect(i.id)[..4]", u=user)
    history = [items[0], (items[1], 5.0), (items[2], 1.0), items[3]]
    counts = "MATCH (n) RETURN count(n) AS n, COUNT { ()-->() } AS r"
    before = db.query(counts)
    S.clear_cache()
    rec = R.recommend_session(db, history, 10)
    assert rec.user == "(session)" and rec.source == "model" and len(rec.items) == 10
    assert not {r.item for r in rec.items} & set(items) and rec.excluded == 4
    assert db.query(counts) == before
    db.write("CREATE (u:User {id: 'session-twin'}) WITH u UNWIND range(0, 3) AS k MATCH (i:Item {id: $items[k]}) "
             "CREATE (u)-[:INTERACTED {seq: k, split: 'train', rating: $ratings[k]}]->(i)",
             items=items, ratings=[None, 5.0, 1.0, None])
    try:
        twin = R.recommend(db, "session-twin", 10)
        assert [(r.item, round(r.score, 5)) for r in twin.items] == [(r.item, round(r.score, 5)) for r in rec.items]
    finally:
        db.write("MATCH (u:User {id: 'session-twin'}) DETACH DELETE u")
    with pytest.raises(UnknownItems, match="'nothing-like-it'"):
        R.recommend_session(db, [items[0], "nothing-like-it"], 5)
    # bad input is a BadArgument naming the entry (a KeyError, TypeError or IndexError before; a bare id was read as
    # a list of characters, a set in no order)
    for bad, says in (([], "is empty"), ([("", None)], "history[0].item"), ([(items[0], 7.0)], "history[0].rating"),
                      (items[0], "not a str"), (set(items), "not a set"), ([5], "history[0]"),
                      ([(items[0], "abc")], "history[0].rating"), ([{"item": items[0], "ratng": 5}], "history[0].ratng"),
                      ([(items[0], True)], "history[0].rating"), ([items[0]] * 1001, "at most 1000")):
        with pytest.raises(BadArgument, match=re.escape(says)):
            R.recommend_session(db, bad, 5)
    with pytest.raises(BadArgument):
        R.recommend_session(db, [items[0]], "5")  # type: ignore[arg-type]
    same = R.recommend_session(db, [{"item": items[0]}, [items[1], 5], (items[2], 1.0), (items[3],)], 10)
    assert [r.item for r in same.items] == [r.item for r in rec.items]  # the HTTP body's shapes too
    # the CLI's --history: the same list, nothing stored
    res = invoke_cli(["recommend", "--history", f"{items[0]},{items[1]}:5,{items[2]}:1,{items[3]}", "-k", "10",
                      "--json"])
    assert res.exit_code == 0, res.output
    assert [r["item"] for r in __import__("json").loads(res.output)["items"]] == [r.item for r in rec.items]
    res = invoke_cli(["recommend", "--history", items[0], "-k", "3"])
    assert res.exit_code == 0 and "top 3 for a visitor with 1 item in the history" in res.output, res.output
    res = invoke_cli(["recommend", "--history", f"{items[0]}:", "-k", "3"])  # a closing colon: no rating
    assert res.exit_code == 0 and "top 3 for a visitor with 1 item in the history" in res.output, res.output
    res = invoke_cli(["recommend", "--history", f"{items[0]}:abc"])  # (an id may hold a colon: the hint says how)
    assert res.exit_code == 1 and "a rating goes after the last colon as a number 0-5" in res.output, res.output
    for args in (["--history", items[0], "--explain"], ["--history", items[0], "--user", user],
                 ["--history", items[0], "--no-store"], ["--history", items[0], "--paths", "5"]):
        res = invoke_cli(["recommend", *args])
        assert res.exit_code == 2, res.output
    assert db.query(counts) == before


def test_history_ids_may_end_in_a_colon_and_a_number():
    """`--history` reads a rating after the last colon: an id that ends in ":<number>" could not be named (a session
    on such an item got the item without its last part, rated). One more colon closes it, with no rating."""
    from kgrec_neo4j.cli.recommend import parse_history

    assert parse_history("A, B:5 ,c2:B00X:1,part:5:,part:5:4, ,x:abc,y:,z:nan,w:inf") == [
        ("A", None), ("B", 5.0), ("c2:B00X", 1.0), ("part:5", None), ("part:5", 4.0), ("x:abc", None), ("y", None),
        ("z:nan", None), ("w:inf", None)]
