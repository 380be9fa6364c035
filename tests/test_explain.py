"""Explanations: the score split into shares that add up to it, clauses ordered and worded by share, stored paths
that exist, a sentence independent of how many paths are shown, why / why not, CLI."""

from __future__ import annotations

import re

import pytest
from _kg_fixture import invoke_cli

from kgrec_neo4j.serve import explain as E
from kgrec_neo4j.serve import recommend as R
from kgrec_neo4j.serve import scoring as S


def _cli(args):
    return invoke_cli(args)


def _pair_with(db, kind_where: str):
    """A (user, item) pair, item not in the user's train items, with a path of the given shape."""
    return db.query(f"""
        MATCH (u:User)-[x:INTERACTED]->(j:Item)-[:HAS_KNOWLEDGE]->(c:Concept)<-[:HAS_KNOWLEDGE]-(i:Item)
        WHERE x.split = 'train' AND {kind_where} AND j <> i
          AND NOT EXISTS {{ (u)-[y:INTERACTED]->(i) WHERE y.split = 'train' }}
        RETURN u.id AS user, i.id AS item ORDER BY user, item LIMIT 1""")[0]


# -- sentences (no database) -----------------------------------------------------------------------

def _item(name, gnn, ig, interaction="like", concept=None, link=True):
    r = E.Reason(kind="item", id=name, name=name, share=gnn + ig, gnn=gnn, item_graph=ig, interaction=interaction)
    if link and ig:
        r.paths.append(E.ExplanationPath(kind="item_link", share=ig, user="u", item="X", via=name, via_title=name,
                                         via_kind=interaction, link_weight=0.1, rels=["x", "l"]))
    if concept:
        r.paths.append(E.ExplanationPath(kind="shared_concept", share=gnn, user="u", item="X", via=name,
                                         via_title=name, via_kind=interaction, concept=concept, concept_name=concept,
                                         rels=["x", "hj", "hk"]))
    return r


def _interest(name, share, horizon="long", polarity=1, has=True):
    r = E.Reason(kind="interest", id=name, name=name, share=share, gnn=share, horizon=horizon, polarity=polarity)
    if has:
        r.paths.append(E.ExplanationPath(kind="interest", share=share, user="u", item="X", concept=name,
                                         concept_name=name, rels=["ii", "hk"]))
    return r


def _exp(*reasons, title="X", other=0.0):
    rs = sorted(reasons, key=lambda r: -abs(r.share))
    return E.Explanation(user="u", item="X", title=title, score=sum(r.share for r in rs) + other, reasons=rs,
                         other=other, abs_total=sum(abs(r.share) for r in rs) + abs(other))



def browser_query(name: str) -> str:
    """A Browser query file of cypher/browser/ without its comment lines (its `:param` lines among them)."""
    from kgrec_neo4j.core import resources

    return "\n".join(ln for ln in resources.cypher(f"browser/{name}").splitlines()
                     if not ln.startswith("//")).strip().rstrip(";")

def test_clauses_follow_the_share_order_not_the_path_kind():
    # the item graph carries the score: it comes first; a tiny concept path is not stated at all
    e = _exp(_interest("Dico", 0.0001, horizon="short"), _item("Brothers in Arms", 0.2, 21.3, concept="shooter"),
             _item("Halo 3", 1.5, 0.0, concept="sci-fi"), title="Industrial")
    assert E.render_sentence(e) == (
        "Recommended because you liked Brothers in Arms, which goes with it in the item graph; you liked Halo 3, "
        "which shares *sci-fi* with it.")
    # a second part is worded when it is not minor (>= MINOR_PART of the reason's share), the larger part first
    e = _exp(_item("Brothers in Arms", 5.0, 21.3, concept="shooter"), title="Industrial")
    assert E.render_sentence(e) == (
        "Recommended because you liked Brothers in Arms, which goes with it in the item graph and shares *shooter* "
        "with it.")


def test_links_a_new_item_borrowed_are_said_to_be_borrowed():
    # `kgrec update` gave the new item links borrowed from the items most like it
    r = _item("Brothers in Arms", 0.2, 21.3)
    r.paths[0].borrowed = True
    e = _exp(r, _item("Halo 3", 1.5, 0.0, concept="sci-fi"), title="New Game")
    assert E.render_sentence(e) == (
        "Recommended because you liked Brothers in Arms, which goes with the items most like it (it is "
        "new to the model); you liked Halo 3, which shares *sci-fi* with it.")
    assert "ITEM_LINK(w=0.1, borrowed)" in r.paths[0].describe()


def test_a_reason_line_says_what_its_removal_number_is():
    # "(without it: -25.83)" read as the score without the reason; it is the change of the score when it is removed
    r = _item("Far Cry", 0.08, 25.77)
    r.removal = 25.83
    assert r.describe() == "+25.85  like: Far Cry  [model +0.08, item graph +25.77]  (removing it: score -25.83)"


def test_a_concept_path_of_a_reason_without_a_model_part_does_not_say_it_supports_it():
    # a disliked item that still goes with the item in the item graph has no model part: its shared concepts were
    # listed as "supports its model part +0" (on the Office demo, under every such dislike of a why-not)
    r = _item("Dead Rising", 0.0, 17.7, interaction="dislike", concept="zombies")
    line = r.paths[1].describe("X")
    assert "supports" not in line and line.endswith("[zombies] <-HAS_KNOWLEDGE- X   shared, but its model part is 0"), \
        line
    assert _item("Halo 3", 1.5, 0.0, concept="sci-fi").paths[0].describe("X").endswith("supports its model part +1.5")


def test_a_concept_shared_with_a_disliked_item_supports_only_a_part_against_the_item():
    # an only disliked item's model part comes through the dislike graph, where a shared concept counts against the
    # item: "you disliked Toy Story ... [family] ... supports its model part +1.473" contradicted it
    line = _item("Toy Story", 1.473, 0.0, interaction="dislike", concept="family").paths[0].describe("X")
    assert line.endswith("shared, yet its model part is +1.473"), line
    line = _item("Toy Story", -1.473, 0.0, interaction="dislike", concept="family").paths[0].describe("X")
    assert line.endswith("supports its model part -1.473"), line


def test_a_borrowed_link_from_one_of_the_knowledge_neighbours_says_the_users_item_is_one():
    # the user's item is itself among the items closest to the new one in knowledge: its own link is in the weight
    r = _item("Halo 3", 0.2, 21.3)
    r.paths[0].borrowed = r.paths[0].neighbour = True
    e = _exp(r, title="Halo 4")
    assert E.render_sentence(e) == (
        "Recommended because you liked Halo 3, which is among the items most like it (it is new to the "
        "model).")
    assert "ITEM_LINK(w=0.1, borrowed from a neighbour)" in r.paths[0].describe()
    # a disliked one that still counts for the item, and one that counts against it
    r = _item("Halo 3", 0.2, 21.3, interaction="dislike")
    r.paths[0].borrowed = r.paths[0].neighbour = True
    assert E.render_sentence(_exp(r, title="Halo 4")) == (
        "Recommended because you disliked Halo 3, which is among the items most like it and still goes "
        "with it (it is new to the model).")
    r = _item("Halo 3", -0.2, -21.3, interaction="dislike")
    r.paths[0].borrowed = r.paths[0].neighbour = True
    assert E.render_sentence(_exp(_item("Fable", 30.0, 0.0, concept="rpg"), r, title="Halo 4")).endswith(
        "Held back because you disliked Halo 3, which is among the items most like it and counts "
        "against it (it is new to the model).")


def test_a_link_out_of_the_users_new_item_says_that_item_is_new():
    # the user's item is new to the model: its links out are borrowed from the items most like it (kgrec update)
    r = _item("Halo 5", 0.2, 21.3)
    r.paths[0].borrowed = r.paths[0].from_new = True
    assert E.render_sentence(_exp(r, title="Gears of War")) == (
        "Recommended because you liked Halo 5, which is new to the model: the items most like it go with this item.")
    assert "ITEM_LINK(w=0.1, borrowed by a new item)" in r.paths[0].describe()
    # to one of its neighbours itself
    r = _item("Halo 5", 0.2, 21.3)
    r.paths[0].borrowed = r.paths[0].from_new = r.paths[0].neighbour = True
    assert E.render_sentence(_exp(r, title="Halo 4")) == (
        "Recommended because you liked Halo 5, which is new to the model and has this item among the items most "
        "like it.")
    assert "ITEM_LINK(w=0.1, borrowed by a new item for one of its neighbours)" in r.paths[0].describe()
    # a dislike that still counts for it, and ones against it
    r = _item("Halo 5", 0.2, 21.3, interaction="dislike")
    r.paths[0].borrowed = r.paths[0].from_new = r.paths[0].neighbour = True
    assert E.render_sentence(_exp(r, title="Halo 4")) == (
        "Recommended because you disliked Halo 5, which is new to the model, has this item among the items most "
        "like it and still goes with it.")
    r = _item("Halo 5", -0.2, -21.3, interaction="dislike")
    r.paths[0].borrowed = r.paths[0].from_new = True
    assert E.render_sentence(_exp(_item("Fable", 30.0, 0.0, concept="rpg"), r, title="Halo 4")).endswith(
        "Held back because you disliked Halo 5, which is new to the model: the items most like it count against "
        "this item.")
    r.paths[0].neighbour = True
    assert E.render_sentence(_exp(_item("Fable", 30.0, 0.0, concept="rpg"), r, title="Halo 4")).endswith(
        "Held back because you disliked Halo 5, which is new to the model and has this item among the items most "
        "like it, yet counts against it.")


def test_a_dislike_that_the_model_counts_for_the_item_is_said_so():
    e = _exp(_item("Brothers in Arms", -0.4, 6.93, interaction="dislike"), _item("Fable", 3.0, 0.0, concept="rpg"))
    assert E.render_sentence(e).startswith(
        "Recommended because you disliked Brothers in Arms, which still goes with it in the item graph; you liked "
        "Fable, which shares *rpg* with it.")
    # and a dislike that counts against it reads as such
    e = _exp(_item("Fable", 3.0, 0.0, concept="rpg"), _item("Just Dance", -2.0, -0.5, interaction="dislike"))
    assert E.render_sentence(e).endswith(
        "Held back because you disliked Just Dance, which counts against it in the model's embeddings (no stored "
        "path) and counts against it in the item graph.")


def test_a_dislike_is_never_said_to_be_far_from_the_item():
    """A disliked item's model part comes through the dislike graph, which reverses what it carries: against the item,
    "you disliked Toy Story, which is far from it in the model's embeddings" was said of The Lion King, which shares
    *Animation* with it (MovieLens: the dislike's share is negative because the two are alike)."""
    toy = _item("Toy Story", -1.121, 0.0, interaction="dislike", concept="Animation")
    e = _exp(_item("Star Wars", 8.368, 0.0), toy, title="Lion King").model_copy(
        update={"recommended": False, "rank": 135, "competing": 1680, "k": 10})
    assert E.render_sentence(e) == (
        "Ranked #135 of 1,680, outside your top 10: for it, you liked Star Wars, which is close to it in the model's "
        "embeddings (no stored path); against it, you disliked Toy Story, which shares *Animation* with it.")
    # without a stored path it says how the dislike counts; one the model counts for the item is not "close to it"
    assert E.clause(_item("Toy Story", -1.1, 0.0, interaction="dislike")) == (
        "you disliked Toy Story, which counts against it in the model's embeddings (no stored path)")
    assert E.clause(_item("Toy Story", 1.1, 0.0, interaction="dislike")) == (
        "you disliked Toy Story, which counts for it in the model's embeddings (no stored path)")
    # a liked item against the item is far from it, as before
    assert E.clause(_item("Fargo", -1.1, 0.0)) == (
        "you liked Fargo, which is far from it in the model's embeddings (no stored path)")


def test_a_liked_item_far_from_the_item_does_not_offer_what_they_share_as_evidence():
    """"You bought Xbox 360 Controller, which is far from it in the model's embeddings" listed the path *Xbox 360* of
    the *Xbox* family *Xbox One* as "supports its model part -0.58": kinship offered as evidence of distance."""
    far = _item("Xbox 360 Controller", -0.58, 0.0, concept="Xbox")
    assert E.clause(far) == ("you liked Xbox 360 Controller, which is far from it in the model's embeddings, although "
                             "both have *Xbox*")
    line = far.paths[0].describe("X")
    assert "supports" not in line and line.endswith("shared, yet its model part is -0.58"), line
    # a dislike's shared concepts do carry its part against the item (the dislike graph)
    dis = _item("Toy Story", -1.1, 0.0, interaction="dislike", concept="Animation")
    assert dis.paths[0].describe("X").endswith("supports its model part -1.1")


def test_verbs_follow_the_interaction_kind():
    for kind, verb in [("mixed", "had mixed feelings about"), ("implicit", "interacted with"), ("like", "liked"),
                       ("like+dislike", "liked and disliked"), ("clicked", "interacted with")]:
        assert E.clause(_item("A", 1.0, 0.0, interaction=kind, concept="c")).startswith(f"you {verb} A, ")
    # an interaction without a rating is worded by the pack: a film is not "bought"
    assert E.clause(_item("A", 1.0, 0.0, interaction="implicit", concept="c"), "watched").startswith("you watched A, ")
    assert E.clause(_item("A", 1.0, 0.0, interaction="like+implicit", concept="c"), "bought").startswith(
        "you liked and bought A, ")


def test_shipped_packs_word_an_interaction_without_a_rating_for_their_domain(tmp_path):
    from kgrec_neo4j.core.errors import SchemaError
    from kgrec_neo4j.core.schema import load_pack
    from kgrec_neo4j.serve.scoring import _implicit_verb

    assert {p: load_pack(p).implicit_verb for p in ("video_games", "office_products", "movies")} == {
        "video_games": "bought", "office_products": "bought", "movies": "watched"}
    assert _implicit_verb("movies") == "watched" and _implicit_verb(None) == "interacted with"
    assert _implicit_verb(str(tmp_path / "gone.yaml")) == "interacted with"  # a pack file no longer there
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nimplicit_verb: 3\ntypes:\n  - {name: Others, definition: anything}\n")
    with pytest.raises(SchemaError, match="implicit_verb must be a past-tense verb phrase"):
        load_pack(str(bad))


def test_reasons_without_a_stored_path_say_so():
    profile = E.Reason(kind="profile", name="p", share=2.0, gnn=2.0)
    assert E.clause(profile) == "your taste profile learned in training points to it (no stored path)"
    assert E.clause(_interest("rpg", 0.5, has=False)) == (
        "you have a long-term interest in *rpg* (no stored path: through the model's embeddings)")
    assert E.clause(_interest("rpg", 0.5, horizon="short")) == "you recently showed interest in *rpg*, which it has"
    assert E.clause(_interest("party", -0.5, polarity=-1)) == "you are not interested in *party*, which it has"
    assert E.clause(_interest("party", 0.5, polarity=-1)) == (
        "you are not interested in *party*, yet the model counts that for it (it has *party*)")
    assert E.clause(_item("A", 0.7, 0.0)) == "you liked A, which is close to it in the model's embeddings (no stored path)"


def test_only_negative_reasons_read_ranked_low_and_small_ones_are_not_stated():
    e = _exp(_item("A", -2.0, 0.0, interaction="dislike", concept="motion"), _interest("party", -1.0, polarity=-1))
    assert E.render_sentence(e) == ("Ranked low because you disliked A, which shares *motion* with it; "
                                    "you are not interested in *party*, which it has.")
    many = _exp(*[_item(f"I{n}", 0.1, 0.0, concept="c") for n in range(30)])
    assert E.render_sentence(many) == ("No single reason makes up 5% of its reasons' sizes summed (for and against) "
                                       "for X: its score adds up from many small ones.")
    assert E.render_sentence(E.Explanation(user="u", item="X", title="T", score=0.0)).startswith(
        "Nothing in the model connects you to T")


def test_an_item_outside_the_top_k_or_in_the_history_is_not_said_to_be_recommended():
    reasons = (_item("Castlevania", 0.2, 1.1, concept="gothic"),
               _item("Hitman Contracts", -0.6, 0.0, interaction="dislike", concept="stealth"))
    listed = _exp(*reasons, title="Bloodstained")
    assert E.render_sentence(listed).startswith("Recommended because you liked Castlevania")
    outside = listed.model_copy(update={"recommended": False, "rank": 77, "competing": 3276, "k": 10})
    assert E.render_sentence(outside) == (
        "Ranked #77 of 3,276, outside your top 10: for it, you liked Castlevania, which goes with it in the item "
        "graph and shares *gothic* with it; against it, you disliked Hitman Contracts, which shares *stealth* with "
        "it.")
    # mostly against it: that is read first
    low = _exp(_item("Castlevania", 0.2, 0.3, concept="gothic"),
               _item("Hitman Contracts", -2.6, 0.0, interaction="dislike", concept="stealth"),
               title="Bloodstained").model_copy(update={"recommended": False, "rank": 900, "competing": 3276, "k": 10})
    assert E.render_sentence(low) == (
        "Ranked #900 of 3,276, outside your top 10: against it, you disliked Hitman Contracts, which shares *stealth* "
        "with it; for it, you liked Castlevania, which goes with it in the item graph and shares *gothic* with it.")
    seen = outside.model_copy(update={"in_history": True, "rank": None})
    assert E.render_sentence(seen).startswith(
        "You already interacted with Bloodstained, so it is not recommended to you again: for it, you liked "
        "Castlevania")
    # listed although the user has it (repeats allowed): it says so
    again = listed.model_copy(update={"in_history": True})
    assert E.render_sentence(again).startswith(
        "You already interacted with Bloodstained; it is recommended again because you liked Castlevania")
    assert "Recommended because" not in E.render_sentence(outside) + E.render_sentence(seen)
    nothing = E.Explanation(user="u", item="X", title="T", score=0.0, recommended=False, rank=9, competing=20, k=5)
    assert E.render_sentence(nothing) == ("Ranked #9 of 20, outside your top 5; nothing in the model connects you to "
                                          "it (score 0).")
    far = nothing.model_copy(update={"rank": 7788, "competing": 16859})  # the rank reads like the count it is of
    assert E.render_sentence(far).startswith("Ranked #7,788 of 16,859, outside your top 5")


def test_short_titles():
    assert E.short("Logitech G502 Proteus Core Tunable Gaming Mouse with Fully Customizable Surface", 30) == \
        "Logitech G502 Proteus Core…"
    assert E.short("Tetris", 30) == "Tetris"


# -- against the graph ----------------------------------------------------------------------------

def _shares_add_up(db, user, exps):
    m, [st] = S.scoring_state(db, [user], links=False)
    served = S.scores(m, [st])[0]
    for e in exps:
        total = sum(r.share for r in e.reasons) + e.other
        assert e.score == pytest.approx(float(served[m.index[e.item]]), rel=1e-4, abs=1e-4)
        assert total == pytest.approx(e.score, rel=1e-4, abs=1e-4)
        assert [abs(r.share) for r in e.reasons] == sorted((abs(r.share) for r in e.reasons), reverse=True)


def test_shares_add_up_to_the_served_score(db, kg):
    for user in kg["users"][:8]:
        rec = R.recommend(db, user, 10, store=False, explain=True)
        _shares_add_up(db, user, [r.explanation for r in rec.items])
        for r in rec.items:
            assert r.explanation.score == pytest.approx(r.score, rel=1e-5, abs=1e-5)
    # the fixture's run folds a user in to the user's own vector: all of it is the learned profile
    e = rec.items[0].explanation
    assert [x.kind for x in e.reasons] == ["profile"] and e.kind == "profile"
    assert e.sentence == ("Recommended because your taste profile learned in training points to it (no stored path).")


def test_every_path_shown_exists(db, kg, item_links):
    user, target, _ = item_links
    e = E.explain_items(db, user, [target], per_item=5)[target]
    others = [r.item for r in R.recommend(db, user, 10, store=False).items]
    exps = list(E.explain_items(db, user, others, per_item=5).values()) + [e]
    paths = [p for x in exps for p in x.paths]
    assert {p.kind for p in paths} == {"item_link", "shared_concept"}
    assert all(E.verify_paths(db, paths))
    # the check can fail: a path with a relationship swapped for another one of the same type is refused
    p = next(p for p in paths if p.kind == "shared_concept")
    q = next(q for q in paths if q.kind == "shared_concept" and q.rels[0] != p.rels[0])
    forged = p.model_copy(update={"rels": [q.rels[0]] + p.rels[1:]})
    wrong_concept = p.model_copy(update={"concept": next(x.concept for x in paths if x.concept not in (None, p.concept))})
    assert E.verify_paths(db, [forged, wrong_concept, p]) == [False, False, True]


def test_interest_paths(db, kg):
    row = db.query("""
        MATCH (u:User)-[ii:INTERESTED_IN]->(c:Concept)<-[:HAS_KNOWLEDGE]-(i:Item)
        WHERE NOT EXISTS { (u)-[:INTERACTED]->(i) }
        RETURN u.id AS user, i.id AS item, c.id AS concept ORDER BY user, item LIMIT 1""")[0]
    rows = db.query("MATCH (:User {id: $u})-[ii:INTERESTED_IN]->(c:Concept)<-[hk:HAS_KNOWLEDGE]-(:Item {id: $i}) "
                    "RETURN c.id AS c, elementId(ii) AS ii, elementId(hk) AS hk", u=row["user"], i=row["item"])
    paths = [E.ExplanationPath(kind="interest", share=0.0, user=row["user"], item=row["item"], concept=r["c"],
                               rels=[r["ii"], r["hk"]]) for r in rows]
    assert all(E.verify_paths(db, paths))
    assert E.verify_paths(db, [paths[0].model_copy(update={"rels": paths[0].rels[::-1]})]) == [False]


@pytest.fixture()
def item_links(db, kg):
    """Item links of the fixture's run into one target (a like, a second like, a dislike), weight 2 and a dislike
    value of +1, as a run whose valid choice counts a dislike as interest would."""
    from _kg_fixture import RUN

    user = db.value("""MATCH (u:User)-[x:INTERACTED]->(j:Item) WITH u, j, max(x.sign) AS s
                       WITH u, sum(CASE WHEN s < 0 THEN 1 ELSE 0 END) AS dis, count(j) AS n WHERE dis > 0
                       RETURN u.id ORDER BY n DESC, u.id LIMIT 1""")
    history = db.query("MATCH (:User {id: $u})-[x:INTERACTED]->(j:Item) WITH j, max(x.sign) AS s "
                       "RETURN j.id AS id, s ORDER BY id", u=user)
    liked = [h["id"] for h in history if h["s"] > 0]
    disliked = [h["id"] for h in history if h["s"] < 0]
    seen = {h["id"] for h in history}
    target = db.value("""MATCH (i:Item)-[:HAS_KNOWLEDGE]->(c:Concept)<-[:HAS_KNOWLEDGE]-(j:Item)
                         WHERE NOT i.id IN $seen AND i.gnn_embedding IS NOT NULL AND j.id IN $liked
                         WITH i, j, count(DISTINCT c) AS n
                         RETURN i.id ORDER BY n DESC, i.id LIMIT 1""", seen=sorted(seen), liked=liked)
    # the first liked source shares concepts with the target (its shared-concept paths are evidence of it)
    shared = db.query("""MATCH (j:Item)-[:HAS_KNOWLEDGE]->(c:Concept)<-[:HAS_KNOWLEDGE]-(:Item {id: $t})
                         WHERE j.id IN $liked RETURN j.id AS id, count(DISTINCT c) AS n""", t=target, liked=liked)
    n_shared = {r["id"]: r["n"] for r in shared}
    liked.sort(key=lambda j: (-n_shared.get(j, 0), j))
    assert n_shared.get(liked[0], 0) >= 2
    sources = {liked[0]: 0.5, liked[1]: -0.25, disliked[0]: 3.0}
    db.write("UNWIND keys($s) AS j MATCH (a:Item {id: j}), (b:Item {id: $t}) "
             "CREATE (a)-[:ITEM_LINK {run: $run, weight: $s[j]}]->(b)", s=sources, t=target, run=RUN)
    db.write("MATCH (r:ModelRun {id: $run}) SET r.item_link_weight = 2.0, r.item_link_dislike_value = 1.0", run=RUN)
    S.clear_cache()
    yield user, target, {"liked": liked[:2], "disliked": disliked[0], "weights": sources}
    db.write("MATCH ()-[l:ITEM_LINK]->() DELETE l")
    db.write("MATCH (r:ModelRun {id: $run}) REMOVE r.item_link_weight, r.item_link_dislike_value", run=RUN)
    S.clear_cache()


def test_item_link_shares_are_exact_and_a_counted_dislike_is_said_so(db, kg, item_links):
    user, target, facts = item_links
    rep = E.explain(db, user, target, per_item=3)
    e = rep.explanation
    _shares_add_up(db, user, [e])
    by_id = {r.id: r for r in e.reasons if r.kind == "item"}
    for j, w in facts["weights"].items():
        assert by_id[j].item_graph == pytest.approx(2.0 * 1.0 * w)  # dislike value +1: a dislike counts as +1
        links = [p for p in by_id[j].paths if p.kind == "item_link"]
        assert len(links) == 1 and links[0].share == pytest.approx(2.0 * w) and links[0].link_weight == w
    dis = by_id[facts["disliked"]]
    assert dis.interaction == "dislike" and dis.share > 0
    assert e.reasons[0].id == facts["disliked"]  # +6: the largest share, so the first clause
    # its clause comes first, whether the item makes the top k ("... because ...") or not ("...: for it, ...")
    first = f"you disliked {E.short(dis.name)}, which still goes with it in the item graph"
    assert re.search(r"( because |: for it, )" + re.escape(first), rep.verdict), rep.verdict
    # the same dislike with a dislike value of -1 counts against the item, and the words follow
    db.write("MATCH (r:ModelRun {current: true}) SET r.item_link_dislike_value = -1.0")
    S.clear_cache()
    e2 = E.explain(db, user, target, per_item=3).explanation
    d2 = next(r for r in e2.reasons if r.id == facts["disliked"])
    assert d2.item_graph == pytest.approx(-6.0) and d2.share < 0
    assert f"you disliked {E.short(dis.name)}, which counts against it in the item graph" in E.clause(d2)
    # the CLI lists every reason with its share and its paths
    res = _cli(["explain", "--user", user, "--item", target])
    assert res.exit_code == 0 and "reasons (their shares add up to the score" in res.output
    assert "-ITEM_LINK(w=3)->" in res.output and "share -6" in res.output


def test_the_sentence_does_not_depend_on_how_many_paths_are_shown(db, kg, item_links):
    user, target, _ = item_links
    items = [r.item for r in R.recommend(db, user, 10, store=False).items] + [target]
    one = E.explain_items(db, user, items, per_item=1)
    many = E.explain_items(db, user, items, per_item=8)
    assert [one[i].sentence for i in items] == [many[i].sentence for i in items]
    assert sum(len(e.paths) for e in many.values()) > sum(len(e.paths) for e in one.values())
    assert E.explain(db, user, target, per_item=1).verdict == E.explain(db, user, target, per_item=8).verdict


def test_one_round_trip_for_all_items(db, kg, monkeypatch):
    user = kg["users"][0]
    m, [st] = S.scoring_state(db, [user], links=False)
    items = [r.item for r in R.recommend(db, user, 10, store=False).items]
    calls = []
    real = db.query
    monkeypatch.setattr(db, "query", lambda text, **kw: calls.append(text) or real(text, **kw))
    exps = E.explain_items(db, user, items, model=m, state=st)
    assert len(calls) == 1 and set(exps) == set(items)
    assert all(e.title and e.score is not None for e in exps.values())


def test_a_long_list_reads_its_paths_a_chunk_at_a_time_and_explains_them_alike(db, kg, monkeypatch):
    """The paths of every item were read in one query: k=1000 outgrew the memory Neo4j gives a transaction."""
    user = kg["users"][0]
    m, [st] = S.scoring_state(db, [user], links=False)
    items = [r.item for r in R.recommend(db, user, E.EVIDENCE_CHUNK + 5, store=False).items]
    calls = []
    real = db.query
    monkeypatch.setattr(db, "query", lambda text, **kw: calls.append(kw.get("items")) or real(text, **kw))
    exps = E.explain_items(db, user, items, model=m, state=st)
    assert [len(c) for c in calls] == [E.EVIDENCE_CHUNK, 5]
    monkeypatch.setattr(db, "query", real)
    for chunk in (items[:E.EVIDENCE_CHUNK], items[E.EVIDENCE_CHUNK:]):
        alone = E.explain_items(db, user, chunk, model=m, state=st)
        for i in chunk:
            assert alone[i].sentence == exps[i].sentence and [r.id for r in alone[i].reasons] == [
                r.id for r in exps[i].reasons] and [p.rels for p in alone[i].paths] == [p.rels for p in exps[i].paths]
            assert [r.share for r in alone[i].reasons] == pytest.approx([r.share for r in exps[i].reasons], rel=1e-5)
    # a chunk of ids no longer in the graph (a reload removed them) leaves the others' explanations as they were
    gone = [f"gone-{k}" for k in range(E.EVIDENCE_CHUNK)]
    mixed = E.explain_items(db, user, items[:5] + gone, model=m, state=st)
    assert all(mixed[i].sentence == exps[i].sentence and mixed[i].score is not None for i in items[:5])
    assert all(mixed[g].score is None and mixed[g].sentence for g in gone)


def test_why_not_states_the_rank_and_what_the_kth_item_scores(db, kg):
    user = max(kg["train"], key=lambda u: len(kg["train"][u]))
    m, [st] = S.scoring_state(db, [user], links=False)
    s = S.scores(m, [st])[0]
    idx, top = S.top_k(s, 30, st.exclude)
    item = m.ids[int(idx[-1])]
    rep = E.explain(db, user, item, k=10)
    assert not rep.recommended and rep.rank == 30 and rep.kth_score == pytest.approx(float(top[9]), rel=1e-5)
    assert rep.verdict.startswith(f"{E.short(rep.title, 60)} is ranked #30 of {rep.competing:,} (score ")
    assert f"outside your top 10 (#10 scores {rep.kth_score:.4g})" in rep.verdict
    assert " is ranked #1,234 of " in E._verdict(rep.model_copy(update={"rank": 1234}))  # ranks read as counts do
    # the sentence agrees with the verdict: the item is not recommended
    assert rep.explanation.sentence.startswith(f"Ranked #30 of {rep.competing:,}, outside your top 10: for it, ")
    assert "ecommended because" not in rep.explanation.sentence
    res = _cli(["explain", "--user", user, "--item", item, "--json"])
    assert res.exit_code == 0 and "Recommended because" not in res.output


def test_why_for_a_recommended_item_and_a_train_item(db, kg):
    user = max(kg["train"], key=lambda u: len(kg["train"][u]))
    top = R.recommend(db, user, 10, store=False).items[0]
    rep = E.explain(db, user, top.item)
    assert rep.recommended and rep.rank == 1 and rep.score == pytest.approx(top.score, rel=1e-5)
    assert rep.verdict.startswith(f"{E.short(top.title, 60)} is recommended at #1 of ")
    seen = kg["train"][user][0]
    rep = E.explain(db, user, seen)
    assert rep.in_history and not rep.recommended and rep.rank is None
    # the verdict opens `kgrec explain` and the service's answer: a sentence, as the others are (it began "you")
    # ... and says how the user interacted with it, and what else speaks for and against it (it said neither)
    verb = E._verb(rep.explanation.own_interaction, rep.explanation.implicit_verb)
    how = f"You already interacted with {E.short(rep.title, 60)} (you {verb} it)"
    assert rep.explanation.own_interaction and rep.verdict.startswith(
        f"{how}, so it is not recommended to you again (score {rep.score:.4g})"), rep.verdict
    for_it, against = E._stated_clauses(rep.explanation, *E.stated_reasons(rep.explanation))
    assert for_it and f": for it, {for_it}" in rep.verdict and (not against or f"; against it, {against}" in rep.verdict)
    assert rep.explanation.in_history and rep.explanation.sentence.startswith(
        f"{how}, so it is not recommended to you again")
    assert seen not in {r.id for r in rep.explanation.reasons}


def test_an_item_with_a_zero_vector_is_said_to_have_one(db, kg):
    """An item `kgrec update` folded in from nothing (no text, no interactions) has a zero vector: its explanation
    read "ranked #973 of 1,414 (score 0) ... no single reason carries 5% of its score", as if it were scored."""
    user = kg["users"][0]
    seen = set(db.value("MATCH (:User {id: $u})-[:INTERACTED]->(i) RETURN collect(i.id)", u=user))
    item = next(i for i in sorted(kg["item_emb"]) if i not in seen)
    db.write("MATCH (i:Item {id: $i}) SET i.gnn_embedding = $e", i=item, e=[0.0] * len(kg["item_emb"][item]))
    try:
        S.clear_cache()
        rep = E.explain(db, user, item)
        assert "It has a zero vector" in rep.verdict and "It has a zero vector" in rep.explanation.sentence, rep.verdict
        other = next(i for i in sorted(kg["item_emb"]) if i not in seen and i != item)
        assert "zero vector" not in E.explain(db, user, other).verdict
        # with item links into it (borrowed by `kgrec update`) they still score it: said so, not "no one"
        from _kg_fixture import RUN

        via = sorted(seen)[0]
        db.write("MATCH (a:Item {id: $a}), (b:Item {id: $b}) CREATE (a)-[:ITEM_LINK {run: $run, weight: 0.5}]->(b)",
                 a=via, b=item, run=RUN)
        db.write("MATCH (r:ModelRun {id: $run}) SET r.item_link_weight = 2.0", run=RUN)
        S.clear_cache()
        rep = E.explain(db, user, item)
        assert "only its item links score it" in rep.verdict and "connects it to no one" not in rep.verdict, \
            rep.verdict
    finally:
        db.write("MATCH ()-[l:ITEM_LINK]->(:Item {id: $i}) DELETE l", i=item)
        db.write("MATCH (r:ModelRun) REMOVE r.item_link_weight")
        db.write("MATCH (i:Item {id: $i}) SET i.gnn_embedding = $e", i=item, e=kg["item_emb"][item].tolist())
        S.clear_cache()


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
    user = kg["users"][0]
    item = R.recommend(db, user, 10, store=False).items[3].item
    res = _cli(["explain", "--user", user, "--item", item])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert " is recommended at #4 of " in lines[0]
    assert lines[1].startswith("reasons (their shares add up to the score")
    bad = _cli(["explain", "--user", user, "--item", "nope"])
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
        assert any("you disliked" in r["reason"] for r in rows)


def test_browser_why_not_names_the_horizon_of_a_negative_interest(db, kg):
    """A user not interested in a concept of the item both long-term and short-term got two identical rows
    'you are not interested in X' from cypher/browser/why_not.cypher (and a short-term dislike of a concept the
    user likes long-term read as a plain 'not interested'); each reason names its horizon."""
    from kgrec_neo4j.core import resources

    item, concept = db.query("MATCH (i:Item)-[:HAS_KNOWLEDGE]->(c:Concept) RETURN i.id AS i, c.id AS c "
                             "ORDER BY i, c LIMIT 1")[0].values()
    db.write("MATCH (c:Concept {id: $c}) CREATE (u:User {id: 'why-not-horizons'}) "
             "WITH u, c UNWIND ['long', 'short'] AS h "
             "CREATE (u)-[:INTERESTED_IN {horizon: h, polarity: -1, weight: 0.5, confidence: 0.5}]->(c)", c=concept)
    try:
        name = db.value("MATCH (c:Concept {id: $c}) RETURN c.name", c=concept)
        rows = db.query(resources.cypher("browser/why_not").strip().rstrip(";"), user="why-not-horizons", item=item)
        assert sorted(r["reason"] for r in rows) == [f"you are not interested in {name} (long-term)",
                                                     f"you are not interested in {name} (short-term)"]
    finally:
        db.write("MATCH (u:User {id: 'why-not-horizons'}) DETACH DELETE u")


def test_browser_queries_tell_an_avoided_interest_from_a_wanted_one(db, kg):
    """explanation_paths and stored_recommendations listed a path through an interest the user avoids
    (INTERESTED_IN.polarity -1, 'you are not interested in X' in why_not) as kind 'interest', like one the user
    wants: the table read as a reason for the item. It is a `negative_interest`, listed after the wanted ones."""

    item, concept = db.query("MATCH (i:Item)-[:HAS_KNOWLEDGE]->(c:Concept) RETURN i.id AS i, c.id AS c "
                             "ORDER BY i, c LIMIT 1")[0].values()
    db.write("MATCH (c:Concept {id: $c}), (i:Item {id: $i}) CREATE (u:User {id: 'avoids-it'}) "
             "CREATE (u)-[:INTERESTED_IN {horizon: 'long', polarity: -1, weight: 0.9, confidence: 0.9}]->(c) "
             "CREATE (u)-[:INTERESTED_IN {horizon: 'short', polarity: 1, weight: 0.1, confidence: 0.1}]->(c) "
             "CREATE (u)-[:RECOMMENDED {rank: 1, score: 1.0, run: 'probe'}]->(i)", c=concept, i=item)
    try:
        rows = db.query(browser_query("explanation_paths"), user="avoids-it", item=item)
        assert sorted(r["kind"] for r in rows) == ["interest", "negative_interest"], rows
        rows = db.query(browser_query("stored_recommendations"), user="avoids-it")
        assert [r["kind"] for r in rows] == ["interest", "negative_interest"], rows
    finally:
        db.write("MATCH (u:User {id: 'avoids-it'}) DETACH DELETE u")


def test_browser_explanation_paths_lists_an_avoided_interest_after_a_wanted_one(db, kg):
    """explanation_paths ordered every path but the item links by its concept's item count alone: an interest the
    user avoids in a specific concept of the item (few items) came before one the user wants in a broad concept,
    and with its LIMIT 25 the avoided ones could leave out every reason for the item. The avoided ones come last."""
    item, few, many = db.query(
        "MATCH (i:Item)-[:HAS_KNOWLEDGE]->(c:Concept) WITH i, c, COUNT { (c)<-[:HAS_KNOWLEDGE]-() } AS n "
        "ORDER BY n WITH i, collect(c.id) AS cs, collect(n) AS ns WHERE ns[0] < ns[-1] "
        "RETURN i.id AS i, cs[0] AS few, cs[-1] AS many ORDER BY i LIMIT 1")[0].values()
    db.write("MATCH (a:Concept {id: $few}), (b:Concept {id: $many}) CREATE (u:User {id: 'avoids-the-specific'}) "
             "CREATE (u)-[:INTERESTED_IN {horizon: 'long', polarity: -1, weight: 0.9, confidence: 0.9}]->(a) "
             "CREATE (u)-[:INTERESTED_IN {horizon: 'long', polarity: 1, weight: 0.5, confidence: 0.5}]->(b)",
             few=few, many=many)
    try:
        rows = db.query(browser_query("explanation_paths"), user="avoids-the-specific", item=item)
        assert [r["kind"] for r in rows] == ["interest", "negative_interest"], rows
    finally:
        db.write("MATCH (u:User {id: 'avoids-the-specific'}) DETACH DELETE u")


def test_browser_explanation_paths_keep_one_order_across_equal_rows(db, kg):
    """Rows equal in share, kind and concept size came in whatever order the server produced them, so the same
    query could list them differently from one run to the next (and its LIMIT 25 keep different ones). They are
    ordered by the ids along the path, then by the interest's horizon. The concepts are created in the reverse of
    their id order."""
    ids = ["tie-c", "tie-b", "tie-a"]
    db.write("CREATE (i:Item {id: 'tie-item'}) CREATE (u:User {id: 'tie-user'}) WITH i, u UNWIND $ids AS c "
             "CREATE (k:Concept {id: c, type: 'Game Features', name: c}) "
             "CREATE (i)-[:HAS_KNOWLEDGE {confidence: 1.0}]->(k) "
             "CREATE (u)-[:INTERESTED_IN {horizon: 'short', polarity: 1, weight: 0.5, confidence: 0.5}]->(k) "
             "CREATE (u)-[:INTERESTED_IN {horizon: 'long', polarity: 1, weight: 0.5, confidence: 0.5}]->(k)", ids=ids)
    try:
        rows = db.query(browser_query("explanation_paths"), user="tie-user", item="tie-item")
        got = [r["p"][2]["id"] for r in rows]  # a path comes back as [user, rel, concept, rel, item]
        assert got == [c for c in sorted(ids) for _ in ("long", "short")], got
        # the stored list takes 3 interest paths of the item: the first ones in that order
        db.write("MATCH (u:User {id: 'tie-user'}), (i:Item {id: 'tie-item'}) "
                 "CREATE (u)-[:RECOMMENDED {rank: 1, score: 1.0, run: 'probe'}]->(i)")
        got = [r["p"][2]["id"] for r in db.query(browser_query("stored_recommendations"), user="tie-user")]
        assert got == ["tie-a", "tie-a", "tie-b"], got
    finally:
        db.write("MATCH (n) WHERE n.id IN $ids + ['tie-item', 'tie-user'] DETACH DELETE n", ids=ids)


def test_browser_stored_recommendations_keeps_a_wanted_interest_beside_stronger_avoided_ones(db, kg):
    """stored_recommendations took an item's 3 strongest interest paths whatever their polarity, then listed the
    avoided ones last: a user who avoids three of the item's concepts more strongly than the one it wants saw only
    `negative_interest` rows, and no reason for the recommendation. The wanted interests are taken first."""

    text = browser_query("stored_recommendations")
    item, concepts = db.query("MATCH (i:Item)-[:HAS_KNOWLEDGE]->(c:Concept) WITH i, collect(c.id) AS cs "
                              "WHERE size(cs) >= 2 RETURN i.id AS i, cs[0..2] AS cs ORDER BY i LIMIT 1")[0].values()
    db.write("MATCH (a:Concept {id: $a}), (b:Concept {id: $b}), (i:Item {id: $i}) CREATE (u:User {id: 'avoids-most'}) "
             "CREATE (u)-[:INTERESTED_IN {horizon: 'long', polarity: -1, weight: 0.9, confidence: 0.9}]->(a) "
             "CREATE (u)-[:INTERESTED_IN {horizon: 'short', polarity: -1, weight: 0.9, confidence: 0.9}]->(a) "
             "CREATE (u)-[:INTERESTED_IN {horizon: 'long', polarity: -1, weight: 0.9, confidence: 0.9}]->(b) "
             "CREATE (u)-[:INTERESTED_IN {horizon: 'short', polarity: 1, weight: 0.2, confidence: 0.5}]->(b) "
             "CREATE (u)-[:RECOMMENDED {rank: 1, score: 1.0, run: 'probe'}]->(i)", a=concepts[0], b=concepts[1], i=item)
    try:
        rows = db.query(text, user="avoids-most")
        assert [r["kind"] for r in rows][:1] == ["interest"], rows
        assert [r["kind"] for r in rows].count("negative_interest") == 2, rows
    finally:
        db.write("MATCH (u:User {id: 'avoids-most'}) DETACH DELETE u")


def test_browser_stored_recommendations_picks_item_links_by_their_share(db):
    """stored_recommendations took an item's 3 item-link paths by |link weight|: with the item graph's recency decay
    a recent item's link carries several times the share of an older one's heavier link, and the Browser listed
    other, weaker paths than item_links.cypher and `kgrec explain`. It now takes them by their share of the score."""
    run, user, item = "sr-share-run", "sr-share-user", "sr-share-item"
    links = [("sr-a", 0, 1.0), ("sr-b", 1, 0.9), ("sr-c", 2, 0.8), ("sr-d", 3, 0.3)]  # item, seq, link weight
    db.write("CREATE (:ModelRun {id: $run, item_link_weight: 2.0, metrics: '{\"recency\": {\"item_graph\": 0.5}}'}) "
             "CREATE (u:User {id: $user}) CREATE (t:Item {id: $item}) "
             "CREATE (u)-[:RECOMMENDED {rank: 1, score: 1.0, run: $run}]->(t) "
             "WITH u, t UNWIND $links AS l CREATE (j:Item {id: l[0]}) "
             "CREATE (u)-[:INTERACTED {seq: l[1], rating: 5.0, split: 'train'}]->(j) "
             "CREATE (j)-[:ITEM_LINK {run: $run, weight: l[2]}]->(t)", run=run, user=user, item=item, links=links)
    try:
        rows = [r for r in db.query(browser_query("stored_recommendations"), user=user) if r["kind"] == "item_link"]
        via = [r["p"][2]["id"] for r in rows]
        # shares 2 * w * 0.5 ^ back: a 0.25, b 0.45, c 0.8, d 0.6 (by weight alone: a, b, c)
        assert via == ["sr-c", "sr-d", "sr-b"], via
        assert [round(r["strength"], 6) for r in rows] == [0.8, 0.6, 0.45]
    finally:
        db.write("MATCH (n) WHERE n.id IN $ids DETACH DELETE n",
                 ids=[run, user, item] + [x[0] for x in links])


def test_browser_stored_recommendations_names_a_list_of_a_run_that_does_not_serve(db):
    """After another run became current, a user's stored list of the run before kept its rows (its item links gone,
    its items with interest paths only) and nothing said the list was not the serving run's. `note` says so; a list of
    the serving run has none."""
    current = db.value("MATCH (r:ModelRun {current: true}) RETURN r.id")
    made = current is None
    if made:
        current = "sr-note-current"
        db.write("CREATE (:ModelRun {id: $r, current: true})", r=current)
    db.write("CREATE (u:User {id: 'sr-note-user'}) CREATE (a:Item {id: 'sr-note-a'}) CREATE (b:Item {id: 'sr-note-b'}) "
             "CREATE (u)-[:RECOMMENDED {rank: 1, score: 2.0, run: 'sr-note-old'}]->(a) "
             "CREATE (u)-[:RECOMMENDED {rank: 2, score: 1.0, run: $cur}]->(b)", cur=current)
    try:
        rows = {r["item"]: r["note"] for r in db.query(browser_query("stored_recommendations"), user="sr-note-user")}
        assert rows["sr-note-b"] is None
        assert rows["sr-note-a"] == ("stored by run sr-note-old, which does not serve now: `kgrec recommend --user "
                                     "sr-note-user` stores the list of the run that does"), rows
    finally:
        db.write("MATCH (n) WHERE n.id STARTS WITH 'sr-note-' AND n.id <> $cur OR (n.id = $cur AND $made) "
                 "DETACH DELETE n", cur=current, made=made)


def test_browser_concept_neighbourhood_shows_the_family(db, kg):
    """concept_neighbourhood showed a concept's type, mentions, items and users, but not its BROADER edges: `Xbox`
    showed neither `Xbox One` nor `Xbox 360`, the family the explanations' family paths go through. An id the concept
    absorbed (`kgrec concepts merge`: valid as an alias) finds it too (it found nothing)."""

    text = browser_query("concept_neighbourhood")
    db.write("CREATE (:Concept {id: 'fam-probe-xbox', name: 'Xbox Probe', type: 'Compatibility', "
             "aliases: ['fam-probe-absorbed']})"
             "<-[:BROADER {method: 'variant'}]-(:Concept {id: 'fam-probe-one', name: 'Xbox Probe One', "
             "type: 'Compatibility'})")
    try:
        rows = db.query(text, concept="fam-probe-xbox")
        # a path as Record.data() gives it, from the concept asked for: [xbox, 'BROADER', one]
        assert [[p[0]["id"], p[1], p[2]["id"]] for p in rows[0]["family"]] == [["fam-probe-xbox", "BROADER",
                                                                              "fam-probe-one"]]
        assert [r["c"]["id"] for r in db.query(text, concept="fam-probe-absorbed")] == ["fam-probe-xbox"]
        # the name of a merged concept: one of its mentions, which now point at the concept that absorbed it (it
        # found nothing); a mention's text finds the concept once however many mentions have it
        db.write("MATCH (c:Concept {id: 'fam-probe-xbox'}) UNWIND ['Old XBX Name', 'old xbx name'] AS t "
                 "CREATE (:Mention {type: 'Compatibility', key: 'fam-probe-' + t, text: t})-[:CANONICAL]->(c)")
        assert [r["c"]["id"] for r in db.query(text, concept="OLD xbx name")] == ["fam-probe-xbox"]
    finally:
        db.write("MATCH (m:Mention) WHERE m.key STARTS WITH 'fam-probe-' DETACH DELETE m")
        db.write("MATCH (c:Concept) WHERE c.id STARTS WITH 'fam-probe-' DETACH DELETE c")


def test_browser_user_profile_shows_the_latest_interactions(db, kg):
    """The profile's history is the user's latest 50 interactions by seq, of every split (it was any 50 of them)."""
    from kgrec_neo4j.core import resources

    items = db.value("MATCH (i:Item) WITH i ORDER BY i.id LIMIT 60 RETURN collect(i.id)")
    db.write("CREATE (u:User {id: 'long-history'}) WITH u UNWIND range(0, 59) AS k MATCH (i:Item {id: $items[k]}) "
             "CREATE (u)-[:INTERACTED {seq: k, split: CASE k WHEN 59 THEN 'test' WHEN 58 THEN 'valid' "
             "ELSE 'train' END}]->(i)", items=items)
    try:
        text = resources.cypher("browser/user_profile")
        rows = db.query(text.strip().rstrip(";"), user="long-history")
        shown = [p[-1]["id"] for p in rows[0]["history"]]  # a path as Record.data() gives it: [user, type, item]
        assert shown == items[10:][::-1]
    finally:
        db.write("MATCH (u:User {id: 'long-history'}) DETACH DELETE u")



def test_browser_stored_recommendations_lists_item_links_first(db, kg):
    """cypher/browser/stored_recommendations ordered each item's paths by one 'strength' that mixed an item link's
    |weight| (about 0.01 in a trained run) with an interest's weight x confidence (about 0.05-0.2), so an item's
    first row was an interest worth a fraction of a point while `kgrec explain` gave its item links almost all of
    the score. The list's item links come first (as in explanation_paths), each kind by its own strength."""

    text = browser_query("stored_recommendations")
    user = max(kg["train"], key=lambda u: len(kg["train"][u]))
    R.recommend(db, user, 10, store=True)
    # item links of the list's run from the user's first train item to each stored item, of a trained run's size
    db.write("MATCH (u:User {id: $u})-[r:RECOMMENDED]->(i:Item), (j:Item {id: $j}) "
             "CREATE (j)-[:ITEM_LINK {run: r.run, weight: 0.01, test_probe: true}]->(i)", u=user, j=kg["train"][user][0])
    try:
        rows = db.query(text, user=user)
        by_rank: dict[int, list[str]] = {}
        for r in rows:
            if r["p"] is not None:  # a path as Record.data() gives it: [user, type, node, type, item]
                by_rank.setdefault(r["rank"], []).append("link" if r["p"][1] == "INTERACTED" else "interest")
        assert any("interest" in kinds for kinds in by_rank.values()), by_rank
        for rank, kinds in by_rank.items():
            assert kinds[0] == "link" and kinds == sorted(kinds, key=lambda k: k != "link"), (rank, kinds)
    finally:
        db.write("MATCH ()-[l:ITEM_LINK {test_probe: true}]->() DELETE l")


def test_an_interaction_without_a_rating_is_worded_by_the_databases_pack(db, kg, item_links):
    """Explanations said "you bought <film>" in a MovieLens graph: the verb of an interaction without a rating was
    the video games' for every domain. It is the pack's (`implicit_verb`), read with the run's model."""
    user, target, facts = item_links
    source = facts["liked"][0]  # an item link into the target: a stated reason
    pack = db.value("MATCH (s:SchemaInfo {id: 'schema'}) RETURN s.pack")
    kinds = db.query("MATCH (:User {id: $u})-[x:INTERACTED]->(:Item {id: $j}) RETURN elementId(x) AS x, "
                     "x.kind AS kind", u=user, j=source)
    name = E.short(db.value("MATCH (j:Item {id: $j}) RETURN j.title", j=source))
    try:
        db.write("MATCH (:User {id: $u})-[x:INTERACTED]->(:Item {id: $j}) SET x.kind = 'implicit'", u=user, j=source)
        said = {}
        for pack_name in ("movies", "video_games"):
            db.write("MERGE (s:SchemaInfo {id: 'schema'}) SET s.pack = $p", p=pack_name)
            S.clear_cache()
            said[pack_name] = E.explain(db, user, target, per_item=3).explanation.sentence
        assert f"you watched {name}" in said["movies"] and "you bought" not in said["movies"], said["movies"]
        assert f"you bought {name}" in said["video_games"], said["video_games"]
    finally:
        db.write("UNWIND $rows AS r MATCH ()-[x:INTERACTED]->() WHERE elementId(x) = r.x SET x.kind = r.kind",
                 rows=kinds)
        db.write("MATCH (s:SchemaInfo {id: 'schema'}) SET s.pack = $p", p=pack)
        S.clear_cache()


def test_an_unclassified_interaction_without_a_rating_is_not_said_to_be_liked(db, kg, item_links):
    """An interaction recorded by `kgrec serve --writes` (or typed in Browser) without a rating has no kind until the
    next `kgrec update`; its explanation read "you liked X" (its sign, +1, taken for a like), where the loader's
    baseline for the same row, and the update's classification after it, say "you bought X"."""
    user, target, facts = item_links
    source = facts["liked"][0]
    old = db.query("MATCH (:User {id: $u})-[x:INTERACTED]->(:Item {id: $j}) RETURN elementId(x) AS x, "
                   "properties(x) AS p", u=user, j=source)
    name = E.short(db.value("MATCH (j:Item {id: $j}) RETURN j.title", j=source))
    try:
        db.write("MATCH (:User {id: $u})-[x:INTERACTED]->(:Item {id: $j}) "
                 "REMOVE x.kind, x.sign, x.kind_source, x.rating, x.confidence", u=user, j=source)
        S.clear_cache()
        said = E.explain(db, user, target, per_item=3).explanation.sentence
        assert f"you bought {name}" in said and f"you liked {name}" not in said, said
    finally:
        db.write("UNWIND $rows AS r MATCH ()-[x:INTERACTED]->() WHERE elementId(x) = r.x SET x = r.p", rows=old)
        S.clear_cache()


def test_two_items_whose_titles_cut_alike_are_named_apart():
    """A red and a black pack of the same pen, both cut to "BIC Round Stic Xtra Life Ballpoint Pen, Medium…", read as
    one item stated twice: "you bought BIC Round Stic…, which …; you bought BIC Round Stic…, which …". Such names
    are cut longer, whole where they are still alike, with the item id where the whole titles are the same."""
    red = _item("BIC Round Stic Xtra Life Ballpoint Pen, Medium Point (1.0mm), Red, 12-Count", 0.1, 20.0,
                interaction="implicit")
    black = _item("BIC Round Stic Xtra Life Ballpoint Pen, Medium Point (1.0mm), Black, 10-Count", 0.1, 13.0,
                  interaction="implicit")
    assert E.short(red.name) == E.short(black.name)
    e = _exp(red, black, title="BIC Atlantis")
    e.implicit_verb = "bought"
    said = E.render_sentence(e)
    assert said == ("Recommended because you bought BIC Round Stic Xtra Life Ballpoint Pen, Medium Point (1.0mm), "
                    "Red…, which goes with it in the item graph; you bought BIC Round Stic Xtra Life Ballpoint Pen, "
                    "Medium Point (1.0mm), Black…, which goes with it in the item graph."), said
    # the same whole title twice: the ids tell them apart; a name no other reason shares keeps its short cut
    twin = E.Reason(**{**black.model_dump(), "id": "B2", "name": red.name, "share": 5.0, "item_graph": 4.9})
    other = _item("Pilot G2 Retractable Premium Gel Ink Roller Ball Pens Bold Point 4-Pack", 0.1, 9.0)
    names = E.distinct_names([red, twin, other])
    assert names == {red.id: f"{red.name} ({red.id})", "B2": f"{red.name} (B2)", other.id: E.short(other.name)}


def test_browser_queries_give_an_item_bought_twice_one_path(db, kg):
    """A user who bought an item twice got its path twice from cypher/browser/stored_recommendations (one per
    INTERACTED edge, under `LIMIT 3`: a third reason that `kgrec explain` names was pushed out) and from
    explanation_paths (each shared concept twice); why_not listed its shared concepts twice. One path per item."""
    def run(name, **params):
        return db.query(browser_query(name), **params)

    db.write("CREATE (u:User {id: 'bt-u'}), (i:Item {id: 'bt-i', title: 'Target'}), (c:Concept {id: 'bt-c', "
             "name: 'bt concept', type: 'Others'}), (i)-[:HAS_KNOWLEDGE {confidence: 1.0}]->(c), "
             "(u)-[:RECOMMENDED {rank: 1, run: 'bt-run', score: 1.0}]->(i) "
             "WITH u, i, c UNWIND [['bt-j', 1.0, [0, 1]], ['bt-k', 0.5, [2]], ['bt-m', 0.2, [3]]] AS row "
             "CREATE (j:Item {id: row[0]})-[:ITEM_LINK {run: 'bt-run', weight: row[1]}]->(i), "
             "(j)-[:HAS_KNOWLEDGE {confidence: 1.0}]->(c) "
             "WITH u, j, row UNWIND row[2] AS seq "
             "CREATE (u)-[:INTERACTED {seq: seq, split: 'train', sign: -1, rating: 1.0}]->(j)")
    try:
        shown = run("stored_recommendations", user="bt-u")
        assert [r["p"][2]["id"] for r in shown if r["kind"] == "item_link"] == ["bt-j", "bt-k", "bt-m"], shown
        paths = run("explanation_paths", user="bt-u", item="bt-i")
        shared = sorted(r["p"][2]["id"] for r in paths if r["kind"] == "shared_concept")
        assert shared == ["bt-j", "bt-k", "bt-m"], shared
        reasons = [r["reason"] for r in run("why_not", user="bt-u", item="bt-i") if "bt-j" in r["reason"]]
        assert reasons and all(r.count("bt concept") == 1 for r in reasons), reasons
    finally:
        db.write("MATCH (n) WHERE n.id STARTS WITH 'bt-' DETACH DELETE n")


def test_browser_explanation_paths_leave_room_for_other_paths_than_item_links(db, kg):
    """For a user with hundreds of interactions, explanation_paths listed 25 item links whose shares had faded near 0
    and none of the concept or interest paths `kgrec explain` states. At most the 10 largest item links are listed."""
    run = db.value("MATCH (r:ModelRun {current: true}) RETURN r.id")
    ids = [f"room-j{n:02d}" for n in range(30)]
    db.write("CREATE (u:User {id: 'room-u'}), (i:Item {id: 'room-i', title: 'Target'}), "
             "(c:Concept {id: 'room-c', name: 'room concept', type: 'Others'}), "
             "(i)-[:HAS_KNOWLEDGE {confidence: 1.0}]->(c) "
             "WITH u, i, c UNWIND range(0, size($ids) - 1) AS n "
             "CREATE (j:Item {id: $ids[n]})-[:ITEM_LINK {run: $run, weight: 0.001 * (n + 1)}]->(i), "
             "(u)-[:INTERACTED {seq: n, split: 'train', rating: 5.0}]->(j) "
             "WITH u, c, j, n WHERE n = 0 CREATE (j)-[:HAS_KNOWLEDGE {confidence: 1.0}]->(c)", ids=ids, run=run)
    try:
        rows = db.query(browser_query("explanation_paths"), user="room-u", item="room-i")
        kinds = [r["kind"] for r in rows]
        assert kinds.count("item_link") == 10 and "shared_concept" in kinds, kinds
    finally:
        db.write("MATCH (n) WHERE n.id IN $ids + ['room-u', 'room-i', 'room-c'] DETACH DELETE n", ids=ids)
