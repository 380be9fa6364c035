"""Explanations that use family relations (``(:Concept)-[:BROADER]->(:Concept)``) knowingly: an interacted item
and the recommended one with concepts of one family (never said to share a concept), an interest whose narrower
(or broader) value the item has. The graph is small and built here; the family edges come from
:func:`~kgrec_neo4j.concepts.families.link_families` on the concepts' member mentions."""

from __future__ import annotations

import numpy as np
import pytest

from kgrec_neo4j.concepts.families import link_families
from kgrec_neo4j.core.schema import load_pack
from kgrec_neo4j.model.foldin import FoldIn
from kgrec_neo4j.serve import explain as E
from kgrec_neo4j.serve import scoring as S

RUN = "run-family-1"
DIM = 4
XBOX, PLAYSTATION = [1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]
#: concept id -> member mention key (the family edges are found from them)
CONCEPTS = {"c:x360": "xbox 360", "c:xone": "xbox one", "c:xbox": "xbox", "c:ps": "playstation",
            "c:ps4": "playstation 4", "c:ps4pro": "playstation 4 pro"}
#: item id -> (title, concepts, vector): the run's vectors follow the platforms
ITEMS = {
    "halo3": ("Halo 3", ["c:x360"], XBOX),
    "forza5": ("Forza Motorsport 5", ["c:xone"], [1.0, 0.0, 0.0, 0.1]),
    "gears2": ("Gears of War 2", ["c:x360", "c:xone"], [0.9, 0.0, 0.0, 0.2]),
    "pad": ("Xbox Wireless Controller", ["c:xbox"], [0.8, 0.0, 0.0, 0.0]),
    "uncharted4": ("Uncharted 4", ["c:ps4"], PLAYSTATION),
}
#: user -> (liked items, long-term interests)
USERS = {"u1": (["halo3"], ["c:ps"]), "u2": (["pad"], ["c:ps4pro"])}


@pytest.fixture(scope="module")
def fam(db):
    """Concepts of one type (Compatibility) with their family edges, five items, two users, and a run whose fold-in
    is one LightGCN layer plus the interests (identity transform): an item's share is ``z_j . z_i / 2``, an
    interest's ``e_c . z_i``."""
    db.write("""UNWIND keys($c) AS id
                MERGE (c:Concept {id: id}) SET c.name = $names[id], c.type = 'Compatibility', c.gnn_run = $run,
                                               c.gnn_embedding = $vec[id]
                MERGE (m:Mention {key: $c[id]}) SET m.type = 'Compatibility', m.text = $c[id]
                MERGE (m)-[:CANONICAL]->(c)""",
             c=CONCEPTS, names={k: v.title().replace("Playstation", "PlayStation") for k, v in CONCEPTS.items()},
             vec={k: (PLAYSTATION if "ps" in k else XBOX) for k in CONCEPTS}, run=RUN)
    rep = link_families(db, load_pack("video_games"), types=["Compatibility"])
    assert rep.edges == 4  # Xbox 360 -> Xbox, Xbox One -> Xbox, PlayStation 4 -> PlayStation, 4 Pro -> 4
    db.write("""UNWIND $rows AS row
                CREATE (i:Item {id: row.id, title: row.title, gnn_run: $run, gnn_embedding: row.v, gnn_foldin: row.v,
                                gnn_degree: 1})
                WITH i, row UNWIND row.concepts AS cid MATCH (c:Concept {id: cid})
                CREATE (i)-[:HAS_KNOWLEDGE {confidence: 1.0, support: 1}]->(c)""",
             rows=[{"id": i, "title": t, "concepts": cs, "v": v} for i, (t, cs, v) in ITEMS.items()], run=RUN)
    db.write("""UNWIND keys($users) AS uid CREATE (u:User {id: uid})
                WITH u, $users[uid] AS spec
                CALL (u, spec) {
                  UNWIND range(0, size(spec[0]) - 1) AS n MATCH (i:Item {id: spec[0][n]})
                  CREATE (u)-[:INTERACTED {sign: 1, kind: 'like', rating: 5, split: 'train', seq: n,
                                           timestamp: 1000 + n}]->(i)
                }
                CALL (u, spec) {
                  UNWIND spec[1] AS cid MATCH (c:Concept {id: cid})
                  CREATE (u)-[:INTERESTED_IN {horizon: 'long', polarity: 1, weight: 1.0, confidence: 1.0}]->(c)
                }""", users={u: list(v) for u, v in USERS.items()})
    eye = np.eye(DIM)
    foldin = FoldIn(dim=DIM, ui_layers=1, mix=np.asarray([1.0, 0.0, 1.0]), interest_transforms={0: eye, 1: eye})
    db.write("MATCH (r:ModelRun) SET r.current = false")
    db.write("CREATE (:ModelRun {id: $run, current: true, status: 'complete', model: 'fixture', created: datetime(), "
             "foldin: $foldin})", run=RUN, foldin=foldin.to_json())
    S.clear_cache()
    yield
    S.clear_cache()


def _exp(db, user, item) -> E.Explanation:
    return E.explain_items(db, user, [item], per_item=3)[item]


def _reason(e: E.Explanation, rid: str) -> E.Reason:
    return next(r for r in e.reasons if r.id == rid)


def test_an_item_of_a_sibling_concept_is_said_to_be_of_its_family(db, fam):
    e = _exp(db, "u1", "forza5")
    halo = _reason(e, "halo3")
    assert halo.gnn > 0 and [p.kind for p in halo.paths] == ["family_concept"]
    p = halo.paths[0]
    assert (p.family, p.concept_name, p.item_concept_name, p.parent_name) == ("sibling", "Xbox 360", "Xbox One", "Xbox")
    assert p.share == pytest.approx(halo.gnn) and len(p.rels) == 5
    assert e.sentence == ("Recommended because you liked Halo 3, which is close to it: its *Xbox 360* and this one's "
                          "*Xbox One* are of the *Xbox* family.")
    assert "shares" not in e.sentence and e.kind == "family_concept"
    assert p.describe("Forza Motorsport 5") == (
        "you -INTERACTED(like)-> Halo 3 -HAS_KNOWLEDGE-> [Xbox 360] -BROADER-> [Xbox] <-BROADER- [Xbox One] "
        f"<-HAS_KNOWLEDGE- Forza Motorsport 5   supports its model part {halo.gnn:+.4g}")


def test_one_step_up_and_down_a_family(db, fam):
    # Halo 3 has Xbox 360, the controller has Xbox: the liked item's concept is of the item's family
    e = _exp(db, "u1", "pad")
    p = _reason(e, "halo3").paths[0]
    assert (p.kind, p.family, len(p.rels)) == ("family_concept", "broader", 4)
    assert e.sentence == ("Recommended because you liked Halo 3, which is close to it: its *Xbox 360* is of this "
                          "one's *Xbox* family.")
    # the other way round: the liked controller has Xbox, Forza has Xbox One
    e = _exp(db, "u2", "forza5")
    p = _reason(e, "pad").paths[0]
    assert (p.kind, p.family) == ("family_concept", "narrower")
    assert e.sentence.startswith("Recommended because you liked Xbox Wireless Controller, which is close to it: "
                                 "this one's *Xbox One* is of its *Xbox* family")


def test_a_shared_concept_is_preferred_over_a_family_path(db, fam):
    # Gears of War 2 has Xbox 360 (as Halo 3 does) and Xbox One (a sibling of it): the shared concept is said
    e = _exp(db, "u1", "gears2")
    halo = _reason(e, "halo3")
    assert [p.kind for p in halo.paths] == ["shared_concept"] and halo.paths[0].concept_name == "Xbox 360"
    assert e.sentence.startswith("Recommended because you liked Halo 3, which shares *Xbox 360* with it")


def test_an_interest_in_a_family_reaches_an_item_of_a_narrower_or_broader_value(db, fam):
    e = _exp(db, "u1", "uncharted4")
    ps = _reason(e, "c:ps")
    assert ps.share > 0 and [p.kind for p in ps.paths] == ["interest_family"]
    p = ps.paths[0]
    assert (p.family, p.concept_name, p.item_concept_name, len(p.rels)) == (
        "narrower", "PlayStation", "PlayStation 4", 3)
    assert E.clause(ps) == "you have a long-term interest in *PlayStation*; it has *PlayStation 4*, of that family"
    assert "(no stored path" not in e.sentence and e.kind == "interest_family"
    assert p.describe("Uncharted 4") == ("you -INTERESTED_IN-> [PlayStation] <-BROADER- [PlayStation 4] "
                                         f"<-HAS_KNOWLEDGE- Uncharted 4   share {ps.share:+.4g}")
    # an interest in PlayStation 4 Pro, and an item that has PlayStation 4 (the broader value)
    e = _exp(db, "u2", "uncharted4")
    pro = _reason(e, "c:ps4pro")
    assert [(p.kind, p.family) for p in pro.paths] == [("interest_family", "broader")]
    assert E.clause(pro) == ("you have a long-term interest in *PlayStation 4 Pro*; it has *PlayStation 4*, the "
                             "family *PlayStation 4 Pro* is of")


def test_family_paths_verify_and_the_check_can_fail(db, fam):
    exps = [_exp(db, u, i) for u, i in [("u1", "forza5"), ("u1", "pad"), ("u2", "forza5"), ("u1", "uncharted4"),
                                        ("u2", "uncharted4"), ("u1", "gears2")]]
    paths = [p for e in exps for p in e.paths]
    kinds = {(p.kind, p.family) for p in paths}
    assert {("family_concept", "sibling"), ("family_concept", "broader"), ("family_concept", "narrower"),
            ("interest_family", "narrower"), ("interest_family", "broader"), ("shared_concept", None)} <= kinds
    assert all(E.verify_paths(db, paths))
    sib = next(p for p in paths if p.family == "sibling")
    up = next(p for p in paths if p.kind == "family_concept" and p.family == "broader")
    wish = next(p for p in paths if p.kind == "interest_family")
    forged = [
        up.model_copy(update={"family": "narrower"}),  # the BROADER edge the other way round
        sib.model_copy(update={"parent": "c:ps"}),  # another parent
        sib.model_copy(update={"rels": sib.rels[:2] + sib.rels[3:1:-1] + sib.rels[4:]}),  # BROADER edges swapped
        wish.model_copy(update={"item_concept": "c:ps4pro"}),  # a concept the item does not have
        up.model_copy(update={"rels": up.rels[:2] + [sib.rels[3]] + up.rels[3:]}),  # another BROADER edge (Xbox One)
    ]
    assert E.verify_paths(db, forged + [sib]) == [False] * len(forged) + [True]
    # a family edge deleted: its paths no longer verify, and the explanation no longer finds one
    db.write("MATCH (:Concept {id: 'c:xone'})-[b:BROADER]->(:Concept {id: 'c:xbox'}) DELETE b")
    try:
        assert E.verify_paths(db, [sib, up]) == [False, True]
        e = _exp(db, "u1", "forza5")
        assert not _reason(e, "halo3").paths
        assert "which is close to it in the model's embeddings (no stored path)" in e.sentence
    finally:
        link_families(db, load_pack("video_games"), types=["Compatibility"])
    assert E.verify_paths(db, [sib]) == [False]  # a new edge: the old element id is gone
    assert all(E.verify_paths(db, _exp(db, "u1", "forza5").paths))


def test_the_report_draws_family_paths_with_their_broader_edges(db, fam):
    from kgrec_neo4j.serve import report as RP

    exps = [_exp(db, "u1", "forza5"), _exp(db, "u1", "uncharted4")]
    g = RP.explanation_graph("u1", exps, {"forza5": 1, "uncharted4": 2})
    sib = exps[0].paths[0]
    wish = exps[1].paths[0]
    broader = {ln.id: (ln.source, ln.target) for ln in g.links if ln.type == "BROADER"}
    assert broader == {sib.rels[2]: ("concept:c:x360", "concept:c:xbox"),
                       sib.rels[3]: ("concept:c:xone", "concept:c:xbox"),
                       wish.rels[1]: ("concept:c:ps4", "concept:c:ps")}  # narrower -> broader, stored ids
    assert not [ln for ln in g.links if ln.type == "MODEL"]  # every stated part has a stored path
    html = RP._path_html(sib, "Forza Motorsport 5")
    assert "<b>Xbox 360</b>" in html and "<b>Xbox</b>" in html and "<b>Xbox One</b>" in html


# -- sentences (no database) -----------------------------------------------------------------------

def _family_reason(gnn: float, family: str = "sibling", interaction: str = "dislike") -> E.Reason:
    r = E.Reason(kind="item", id="A", name="A", share=gnn, gnn=gnn, interaction=interaction)
    r.paths.append(E.ExplanationPath(kind="family_concept", share=gnn, user="u", item="X", via="A", via_title="A",
                                     via_kind=interaction, concept="x360", concept_name="Xbox 360", family=family,
                                     item_concept="xone", item_concept_name="Xbox One", parent="xbox",
                                     parent_name="Xbox", rels=["x", "hj", "b1", "b2", "hk"]))
    return r


def test_a_family_path_against_the_item_is_evidence_as_a_shared_concept_is():
    r = _family_reason(-1.0)
    assert E.clause(r) == ("you disliked A, which is close to it: its *Xbox 360* and this one's *Xbox One* are of the "
                           "*Xbox* family")
    assert [p.kind for p in E._evidence(r)] == ["family_concept"]


def test_negative_interests_with_a_family_path():
    r = E.Reason(kind="interest", id="ps", name="PlayStation", share=-0.5, gnn=-0.5, horizon="long", polarity=-1)
    r.paths.append(E.ExplanationPath(kind="interest_family", share=-0.5, user="u", item="X", concept="ps",
                                     concept_name="PlayStation", family="narrower", item_concept="ps4",
                                     item_concept_name="PlayStation 4", rels=["ii", "b", "hk"]))
    assert E.clause(r) == "you are not interested in *PlayStation*; it has *PlayStation 4*, of that family"
    pos = r.model_copy(update={"share": 0.5, "gnn": 0.5})
    assert E.clause(pos) == ("you are not interested in *PlayStation*, yet the model counts that for it (it has "
                             "*PlayStation 4*, of that family)")
