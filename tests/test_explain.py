"""Explanations: paths exist, weights follow the documented formula, train split only, why / why not, CLI."""

from __future__ import annotations

import math
import re

import pytest
from _kg_fixture import invoke_cli

from kgrec_neo4j.serve import explain as E
from kgrec_neo4j.serve import recommend as R
from kgrec_neo4j.serve import scoring as S


def _cli(args):
    return invoke_cli(args)


def _all_explanations(db, kg, k=10):
    out = []
    for rec in R.recommend_users(db, kg["users"], k, store=False, explain=True):
        out.extend(r.explanation for r in rec.items)
    return out


def _pair_with(db, kind_where: str):
    """A (user, item) pair, item not in the user's train items, with a path of the given shape."""
    return db.query(f"""
        MATCH (u:User)-[x:INTERACTED]->(j:Item)-[:HAS_KNOWLEDGE]->(c:Concept)<-[:HAS_KNOWLEDGE]-(i:Item)
        WHERE x.split = 'train' AND {kind_where} AND j <> i
          AND NOT EXISTS {{ (u)-[y:INTERACTED]->(i) WHERE y.split = 'train' }}
        RETURN u.id AS user, i.id AS item ORDER BY user, item LIMIT 1""")[0]


# -- sentences (no database) -----------------------------------------------------------------------

def _p(kind, sign, weight, concept, **kw):
    return E.ExplanationPath(kind=kind, sign=sign, weight=weight, user="u", item="X", concept=concept,
                             concept_name=concept, rels=["r1", "r2", "r3"][: 2 if "interest" in kind else 3], **kw)


def test_sentence_interest_and_item():
    e = E.Explanation(user="u", item="X", title="It Takes Two", positive=[
        _p("interest", 1, 0.8, "co-op multiplayer", horizon="short", evidence=["A Way Out", "Overcooked"]),
        _p("interest", 1, 0.5, "split-screen", horizon="short"),
    ])
    assert E.render_sentence(e) == (
        "Recommended because you recently showed interest in *co-op multiplayer* (from A Way Out and Overcooked) "
        "and *split-screen*; It Takes Two has *co-op multiplayer* and *split-screen*.")


def test_sentence_negative_only_says_ranked_low():
    e = E.Explanation(user="u", item="X", title="Wii Sports", negative=[
        _p("disliked_item", -1, -0.4, "motion controls", via="a", via_title="Just Dance", via_kind="dislike"),
        _p("negative_interest", -1, -0.2, "party games", horizon="long"),
    ])
    assert E.render_sentence(e) == ("Ranked low because you disliked Just Dance, which shares *motion controls*; "
                                    "you are not interested in *party games*.")


def test_sentence_groups_items_sharing_the_same_concepts():
    e = E.Explanation(user="u", item="X", title="T", positive=[
        _p("liked_item", 1, 0.3, "rpg", via="a", via_title="A", via_kind="like"),
        _p("liked_item", 1, 0.2, "rpg", via="b", via_title="B", via_kind="like"),
    ])
    assert E.render_sentence(e) == "Recommended because you liked A and B, which share *rpg*; T has *rpg*."
    assert E.render_sentence(E.Explanation(user="u", item="X", title="T")).startswith("No stored path connects you to T")


def test_short_titles():
    assert E.short("Logitech G502 Proteus Core Tunable Gaming Mouse with Fully Customizable Surface", 30) == \
        "Logitech G502 Proteus Core…"
    assert E.short("Tetris", 30) == "Tetris"


# -- against the graph ----------------------------------------------------------------------------

def test_every_path_shown_exists(db, kg):
    exps = _all_explanations(db, kg)
    paths = [p for e in exps for p in e.paths]
    assert len(paths) > 200
    assert {p.kind for p in paths} >= {"interest", "liked_item"}
    assert all(E.verify_paths(db, paths))
    # the check can fail: a path with a relationship swapped for another one of the same type is refused
    p = next(p for p in paths if p.kind == "liked_item")
    q = next(q for q in paths if q.kind == "liked_item" and q.rels[0] != p.rels[0])
    forged = p.model_copy(update={"rels": [q.rels[0]] + p.rels[1:]})
    wrong_concept = p.model_copy(update={"concept": next(x.concept for x in paths if x.concept != p.concept)})
    assert E.verify_paths(db, [forged, wrong_concept, p]) == [False, False, True]


def test_weights_follow_the_formula_and_order(db, kg):
    for e in _all_explanations(db, kg)[:60]:
        for group in (e.positive, e.negative):
            assert [abs(p.weight) for p in group] == sorted((abs(p.weight) for p in group), reverse=True)
        for p in e.paths:
            w = float(p.sign)
            for edge in p.edges:
                w *= (edge.get("confidence") or 1.0) * abs(edge.get("attention") if edge.get("attention") is not None else 1.0)
            if p.kind in ("interest", "negative_interest"):
                w *= p.edges[0]["weight"]
            assert math.isclose(p.weight, w, rel_tol=1e-9)
            assert (p.weight > 0) == (p.sign > 0)


def test_every_interaction_explains_whatever_its_split(db, kg):
    # serving reads the live graph: a user's valid / test interaction explains like any other one
    row = db.query("""
        MATCH (u:User)-[x:INTERACTED]->(h:Item)-[:HAS_KNOWLEDGE]->(c:Concept)<-[:HAS_KNOWLEDGE]-(i:Item)
        WHERE x.split IN ['valid', 'test'] AND x.sign <> 0 AND h <> i AND NOT EXISTS { (u)-[:INTERACTED]->(i) }
        RETURN u.id AS user, h.id AS heldout, collect(DISTINCT i.id)[0..20] AS items ORDER BY user LIMIT 1""")[0]
    exps = E.explain_items(db, row["user"], row["items"], per_item=50)
    vias = {p.via for e in exps.values() for p in e.paths if p.via}
    assert row["heldout"] in vias
    assert {p.edges[0]["split"] for e in exps.values() for p in e.paths if p.via} >= {"train"}
    assert all(E.verify_paths(db, [p for e in exps.values() for p in e.paths]))


def test_one_round_trip_for_all_items(db, kg, monkeypatch):
    user = kg["users"][0]
    items = [r.item for r in R.recommend(db, user, 10, store=False).items]
    calls = []
    real = db.query
    monkeypatch.setattr(db, "query", lambda text, **kw: calls.append(text) or real(text, **kw))
    exps = E.explain_items(db, user, items)
    assert len(calls) == 1 and set(exps) == set(items)
    assert all(e.title for e in exps.values())


def test_why_not_through_a_dislike(db, kg):
    pair = _pair_with(db, "x.sign < 0")
    rep = E.explain(db, pair["user"], pair["item"])
    assert rep.explanation.negative and rep.rank >= 1 and not rep.in_history
    assert "because you disliked" in rep.verdict or "held back a little because you disliked" in rep.verdict
    assert all(E.verify_paths(db, rep.explanation.paths))
    if not rep.recommended:
        assert rep.verdict.startswith(f"{E.short(rep.title, 60)} is ranked")


def test_why_not_through_a_negative_interest(db, kg):
    row = db.query("""
        MATCH (u:User)-[ii:INTERESTED_IN]->(c:Concept)<-[:HAS_KNOWLEDGE]-(i:Item)
        WHERE ii.polarity = -1 AND NOT EXISTS { (u)-[y:INTERACTED]->(i) WHERE y.split = 'train' }
        RETURN u.id AS user, i.id AS item, c.name AS concept ORDER BY user, item LIMIT 1""")[0]
    rep = E.explain(db, row["user"], row["item"], per_item=20)
    neg = [p for p in rep.explanation.negative if p.kind == "negative_interest"]
    assert row["concept"] in {p.concept_name for p in neg}
    assert "you are not interested in *" in rep.verdict


def test_why_for_a_recommended_item_and_a_train_item(db, kg):
    user = max(kg["train"], key=lambda u: len(kg["train"][u]))
    top = R.recommend(db, user, 10, store=False).items[0]
    rep = E.explain(db, user, top.item)
    assert rep.recommended and rep.rank == 1 and rep.score == pytest.approx(top.score, rel=1e-5)
    assert rep.verdict.startswith(f"{E.short(top.title, 60)} is recommended at #1 of ")
    seen = kg["train"][user][0]
    rep = E.explain(db, user, seen)
    assert rep.in_history and not rep.recommended and rep.rank is None and "already interacted" in rep.verdict


def test_unknown_item(db, kg):
    with pytest.raises(E.ExplainError, match="unknown item 'nope'"):
        E.explain(db, kg["users"][0], "nope")


def test_interest_profile(db, kg):
    user = kg["users"][0]
    prof = E.interest_profile(db, user)
    n = db.value("MATCH (:User {id: $u})-[r:INTERESTED_IN]->() RETURN count(r)", u=user)
    assert len(prof) == n
    strength = [p.weight * p.confidence for p in prof]
    assert strength == sorted(strength, reverse=True)


def test_cli_explain(db, kg):
    pair = _pair_with(db, "x.sign < 0")
    res = _cli(["explain", "--user", pair["user"], "--item", pair["item"]])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert " is ranked " in lines[0] or " is recommended at " in lines[0]
    assert "why not:" in lines
    assert any("-INTERACTED(dislike)->" in ln for ln in lines)
    bad = _cli(["explain", "--user", pair["user"], "--item", "nope"])
    assert bad.exit_code == 1 and bad.output.startswith("Error: unknown item 'nope'")


@pytest.mark.parametrize("name", ["user_profile", "item_knowledge", "explanation_paths", "why_not",
                                  "concept_neighbourhood"])
def test_browser_queries_run(db, kg, name):
    from kgrec_neo4j.core import resources

    text = resources.cypher(f"browser/{name}")
    params = dict(re.findall(r"^// :param (\w+) => '([^']*)'", text, re.M))
    assert params, "each browser query documents its :param lines"
    pair = _pair_with(db, "x.sign < 0")
    concept = db.value("MATCH (:Item {id: $i})-[:HAS_KNOWLEDGE]->(c) RETURN c.id LIMIT 1", i=pair["item"])
    values = {"user": pair["user"], "item": pair["item"], "concept": concept}
    rows = db.query(text.strip().rstrip(";"), **{k: values[k] for k in params})
    assert rows
    if name == "why_not":
        assert all(r["strength"] > 0 for r in rows) and any("you disliked" in r["reason"] for r in rows)


def test_sentence_with_item_links():
    link = E.ExplanationPath(kind="item_link", sign=1, weight=0.3, user="u", item="X", via="a", via_title="Halo 3",
                             via_kind="like", rels=["r1", "r2"], edges=[{"type": "INTERACTED", "sign": 1},
                                                                        {"type": "ITEM_LINK", "weight": 0.1}])
    e = E.Explanation(user="u", item="X", title="Halo 4", links=[link], link_total=0.3)
    assert E.render_sentence(e) == "Recommended because you liked Halo 3, which goes with it in the item graph."
    assert e.kind == "item_link"
    neg = link.model_copy(update={"sign": -1, "weight": -0.2, "via_title": "Fable",
                                  "edges": [{"type": "INTERACTED", "sign": -1}, {"type": "ITEM_LINK"}]})
    e = E.Explanation(user="u", item="X", title="Halo 4", positive=[
        _p("interest", 1, 0.8, "shooter", horizon="long")], links=[link, neg])
    assert E.render_sentence(e) == (
        "Recommended because you have a long-term interest in *shooter*; Halo 4 has *shooter*; also, you liked "
        "Halo 3, which goes with it in the item graph. Held back because you disliked Fable, which pulls it down "
        "in the item graph.")


def test_item_link_paths_are_the_item_graphs_exact_share_of_the_score(db, kg):
    """A run with item links: each link path's weight is item_link_weight * x * ITEM_LINK.weight, their sum is
    the score minus the embedding dot product, the paths re-MATCH, and a dislike-only source uses the run's
    dislike value."""
    from _kg_fixture import RUN

    user = max(kg["train"], key=lambda u: len(kg["train"][u]))
    train = sorted(kg["train"][user])
    target = next(i for i in sorted(kg["item_emb"]) if i not in set(train))
    disliked = db.value("MATCH (:User {id: $u})-[x:INTERACTED]->(j:Item) WHERE x.split = 'train' "
                        "WITH j, max(x.sign) AS s WHERE s < 0 RETURN collect(j.id)", u=user)
    sources = train[:3] + [d for d in disliked if d not in train[:3]][:1]
    weights = [0.5, -0.25, 0.125, 0.75][: len(sources)]
    db.write("UNWIND range(0, size($s) - 1) AS k MATCH (a:Item {id: $s[k]}), (b:Item {id: $t}) "
             "CREATE (a)-[:ITEM_LINK {run: $run, weight: $w[k]}]->(b)", s=sources, t=target, w=weights, run=RUN)
    db.write("MATCH (r:ModelRun {id: $run}) SET r.item_link_weight = 2.0, r.item_link_dislike_value = -1.0", run=RUN)
    S.clear_cache()
    try:
        rep = E.explain(db, user, target, per_item=10)
        e = rep.explanation
        assert sorted(p.via for p in e.links) == sorted(sources)
        want = {s: 2.0 * (-1.0 if s in disliked else 1.0) * w for s, w in zip(sources, weights)}
        for p in e.links:
            assert p.kind == "item_link" and p.weight == pytest.approx(want[p.via])
            assert p.sign == (1 if p.weight > 0 else -1)
        assert [abs(p.weight) for p in e.links] == sorted((abs(p.weight) for p in e.links), reverse=True)
        dot = float(kg["user_emb"][user] @ kg["item_emb"][target])
        assert rep.score == pytest.approx(dot + e.link_total, rel=1e-4, abs=1e-4)
        assert e.link_total == pytest.approx(sum(want.values()))
        assert all(E.verify_paths(db, e.links))
        # the Browser query shows the same shares
        from kgrec_neo4j.core import resources

        db.write("MATCH (r:ModelRun) WHERE r.id <> $run AND r.current SET r.current = false", run=RUN)
        rows = db.query(resources.cypher("browser/item_links").strip().rstrip(";"), user=user, item=target)
        assert sorted(r["share"] for r in rows) == pytest.approx(sorted(want.values()))
        # a path whose ITEM_LINK is gone no longer verifies
        db.write("MATCH (:Item {id: $s})-[l:ITEM_LINK]->() DELETE l", s=e.links[0].via)
        assert E.verify_paths(db, e.links[:1]) == [False]
        res = _cli(["explain", "--user", user, "--item", target])
        assert res.exit_code == 0 and "-ITEM_LINK(w=" in res.output
    finally:
        db.write("MATCH ()-[l:ITEM_LINK]->() DELETE l")
        db.write("MATCH (r:ModelRun {id: $run}) REMOVE r.item_link_weight, r.item_link_dislike_value", run=RUN)
        S.clear_cache()
