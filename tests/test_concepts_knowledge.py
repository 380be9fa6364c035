"""Knowledge that is right, against Neo4j, on the committed Video Games slice (758 real items, real users):
the offline extractor, then build → project → grow → grow the rest. No concept holds values the variant guard
keeps apart; family relations are BROADER edges, not merges; every mention ends canonical and most concepts are
shared; editions and ports are SAME_WORK links that serving can read for a user."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgrec_neo4j.concepts import build_vocabulary, grow_vocabulary, project_mentions
from kgrec_neo4j.concepts.aliases import embedding_text
from kgrec_neo4j.concepts.families import link_families
from kgrec_neo4j.concepts.report import coverage_stats
from kgrec_neo4j.concepts.variants import compatible, signature
from kgrec_neo4j.concepts.works import link_same_work, same_work_owned
from kgrec_neo4j.core import schema

SLICE = Path(__file__).resolve().parent / "data" / "vg-slice"


@pytest.fixture(scope="module")
def pack():
    return schema.load_pack("video_games")


@pytest.fixture(scope="module")
def pipeline(db, settings, pack):
    from kgrec_neo4j.core.embed import get_embedder
    from kgrec_neo4j.extract.run import build_extractor, extract_items
    from kgrec_neo4j.load import load

    load(db, [SLICE], seed=settings.seed)
    extract_items(db, build_extractor(settings, "offline", pack=pack), progress=False, pack=pack)
    emb = get_embedder(settings)
    out = {"build": build_vocabulary(db, emb, pack, fraction=0.25, seed=settings.seed)}
    out["project"] = project_mentions(db, emb, pack)
    out["grow"] = grow_vocabulary(db, emb, pack)
    out["coverage_before_rest"] = coverage_stats(db)[-1]
    out["rest"] = grow_vocabulary(db, emb, pack, min_items=1)
    out["emb"] = emb
    return out


def _concept_of(db, type_: str, key: str) -> str | None:
    return db.value("MATCH (:Mention {type: $t, key: $k})-[:CANONICAL]->(c:Concept) RETURN c.id", t=type_, k=key)


def test_no_concept_holds_values_the_guard_keeps_apart(db, pack, pipeline):
    rows = db.query("MATCH (m:Mention)-[:CANONICAL]->(c:Concept) RETURN c.id AS c, collect(m.key) AS keys")
    assert len(rows) > 100
    for r in rows:
        sigs = [signature(embedding_text(k, pack.name), pack.name) for k in r["keys"]]
        for s in sigs[1:]:
            assert compatible(sigs[0], s), r["keys"]
    xbox = {k: _concept_of(db, "Compatibility", k) for k in ("xbox", "xbox one", "xbox 360")}
    assert xbox["xbox one"] and xbox["xbox 360"] and xbox["xbox one"] != xbox["xbox 360"]
    if xbox["xbox"]:
        assert xbox["xbox"] not in (xbox["xbox one"], xbox["xbox 360"])


def test_family_relations_are_edges_not_merges(db, pack, pipeline):
    rows = db.query("MATCH (a:Concept)-[r:BROADER]->(b:Concept) RETURN a.id AS a, b.id AS b, a.type AS ta, "
                    "b.type AS tb, a.name AS na, b.name AS nb, r.dropped AS dropped")
    assert rows, "the slice has Xbox One / Xbox 360 / PlayStation 4 ... values: some family relation must exist"
    for r in rows:
        assert r["a"] != r["b"] and r["ta"] == r["tb"] and r["dropped"]
    pairs = {(r["na"].lower(), r["nb"].lower()) for r in rows}
    if _concept_of(db, "Compatibility", "xbox"):
        assert any(a.startswith("xbox ") and b == "xbox" for a, b in pairs), pairs
    # rerunning adds nothing, and never touches concepts or their members
    before = db.value("MATCH ()-[r:BROADER]->() RETURN count(r)")
    members = db.value("MATCH (:Mention)-[r:CANONICAL]->() RETURN count(r)")
    link_families(db, pack)
    assert db.value("MATCH ()-[r:BROADER]->() RETURN count(r)") == before
    assert db.value("MATCH (:Mention)-[r:CANONICAL]->() RETURN count(r)") == members


def test_coverage_after_growth(db, pipeline):
    grown = pipeline["coverage_before_rest"]
    every = coverage_stats(db)[-1]
    assert every.type == "all" and every.mentions > 300
    assert grown.item_coverage >= 0.9, grown  # after build, project, grow: item mentions with a concept
    assert every.coverage == 1.0 and every.item_coverage == 1.0, every  # grow --min-items 1: every mention
    assert every.single_item_share <= 0.5, every  # most concepts are shared even on 758 items
    assert sum(every.sizes.values()) == every.concepts
    # the concepts of one item are the values nobody else has: grow --min-items 1 made them, build and
    # the first grow never did
    assert db.value("MATCH (c:Concept) WHERE c.origin = 'build' AND COUNT { (:Item)-[:HAS_KNOWLEDGE]->(c) } < 2 "
                    "AND NOT EXISTS { (:Mention)-[:CANONICAL {method: 'projection'}]->(c) } RETURN count(c)") == 0


def test_same_work_links_and_what_serving_reads(db, settings, pack, pipeline):
    rep = link_same_work(db, pack, settings=settings)
    assert rep.edges > 0 and rep.items_with_work > 100
    rows = db.query("MATCH (a:Item)-[r:SAME_WORK]->(b:Item) RETURN a.id AS a, b.id AS b, a.title AS ta, "
                    "b.title AS tb, r.kind AS kind")
    assert all(r["a"] < r["b"] and r["kind"] in ("port", "edition", "same") for r in rows)
    again = link_same_work(db, pack, settings=settings)
    assert again.edges == rep.edges and again.removed == 0
    assert db.value("MATCH ()-[r:SAME_WORK]->() RETURN count(r)") == rep.edges
    # the CLI names the links by kind in words (it printed `links: 0 {}`, a Python dict)
    from click.testing import CliRunner

    from kgrec_neo4j.cli import cli

    out = CliRunner().invoke(cli, ["concepts", "same-work"]).output
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(rep.by_kind.items()))
    assert f"links: {rep.edges} ({kinds}), stale removed: 0" in out and "{" not in out, out
    # a user who owns one side of a link is offered the other side as an edition / port of what they own
    owner = db.query("MATCH (u:User)-[e:INTERACTED {split: 'train'}]->(a:Item)-[:SAME_WORK]-(b:Item) "
                     "WHERE NOT EXISTS { MATCH (u)-[e2:INTERACTED]->(b) WHERE e2.split = 'train' } "
                     "RETURN u.id AS u, a.id AS a, b.id AS b LIMIT 1")
    if owner:
        got = same_work_owned(db, owner[0]["u"])
        assert owner[0]["b"] in got and any(o["item"] == owner[0]["a"] for o in got[owner[0]["b"]])
    assert same_work_owned(db, "no-such-user") == {}
    assert rep.reads_titles


def test_same_work_of_a_pack_without_title_names_says_so(db, settings, pack, pipeline, monkeypatch):
    """The Office demo printed '0 SAME_WORK links between 0 items with a work name', as if the step had found
    nothing: the office pack reads no work name from a title. The report, the CLI and the demo say so."""
    import dataclasses

    from click.testing import CliRunner

    from kgrec_neo4j.cli import cli
    from kgrec_neo4j.extract.offline import OfflineExtractor

    plain = OfflineExtractor._filter_rules
    monkeypatch.setattr(OfflineExtractor, "_filter_rules",
                        staticmethod(lambda rules, p: dataclasses.replace(plain(rules, p), title_names=False)))
    try:
        rep = link_same_work(db, pack, settings=settings)
        assert not rep.reads_titles and rep.edges == 0 and rep.items_with_work == 0
        out = CliRunner().invoke(cli, ["concepts", "same-work"]).output
        assert out.startswith(f"no links: pack {pack.name} reads no work name from a title"), out
    finally:
        monkeypatch.undo()
        db.execute("MATCH (i:Item) REMOVE i.work_key, i.work_title")  # the keys stored without title names
        assert link_same_work(db, pack, settings=settings).edges > 0  # the links the other tests read


def test_same_work_for_changed_items_equals_the_whole_catalogue(db, settings, pack, pipeline):
    """``items`` (what `kgrec update` passes) regroups only what those items join or leave, and gives the links a
    run over the whole catalogue gives: an item retitled out of its work loses its links, one retitled into
    another work gains them, and links elsewhere stay."""
    links = "MATCH (a:Item)-[r:SAME_WORK]->(b:Item) RETURN collect([a.id, b.id, r.kind]) AS l"
    link_same_work(db, pack, settings=settings)
    assert db.value("MATCH (i:Item) WHERE i.title IS NOT NULL AND i.work_key IS NULL RETURN count(i)") == 0
    pair = db.query("MATCH (a:Item)-[:SAME_WORK]->(b:Item) RETURN a.id AS a, b.id AS b, b.title AS tb "
                    "ORDER BY a.id, b.id LIMIT 1")[0]
    lone = db.value("MATCH (i:Item) WHERE i.work_key <> '' AND NOT (i)-[:SAME_WORK]-() RETURN i.id ORDER BY i.id "
                    "LIMIT 1")
    old_titles = {r["id"]: r["t"] for r in db.query("MATCH (i:Item) WHERE i.id IN $ids RETURN i.id AS id, "
                                                     "i.title AS t", ids=[pair["a"], lone])}
    try:
        # `lone` stands for a new item (no stored key yet: it alone does not make it regroup the catalogue);
        # pair["a"] for a changed one (its old key's group is regrouped)
        db.write("MATCH (i:Item {id: $i}) REMOVE i.work_key, i.work_title", i=lone)
        db.write("MATCH (i:Item {id: $a}) SET i.title = 'Controller Charging Dock Station'", a=pair["a"])
        db.write("MATCH (i:Item {id: $i}) SET i.title = $t", i=lone, t=pair["tb"])
        rep = link_same_work(db, pack, settings=settings, items=[pair["a"], lone])
        assert 2 <= rep.items < 100  # the two items and their groups, not the catalogue
        part = sorted(map(tuple, db.value(links)))
        assert not any(pair["a"] in (x, y) for x, y, _ in part)
        assert any({lone, pair["b"]} == {x, y} for x, y, _ in part)
        link_same_work(db, pack, settings=settings)
        assert sorted(map(tuple, db.value(links))) == part
    finally:
        for i, t in old_titles.items():
            db.write("MATCH (x:Item {id: $i}) SET x.title = $t", i=i, t=t)
        link_same_work(db, pack, settings=settings)


def test_keys_stored_by_older_rules_are_found_stale(db, settings, pack, pipeline):
    """A graph keyed by older rules (a movies graph before its titles named works: every key '') kept those keys on
    a full relink (only a changed title was keyed again), and an update of one copy of a film found no other copy
    under the new key: its links never came. A key that is not what the rules give now is rewritten, and an update
    whose items show stale keys (a title as it was, keyed otherwise) relinks the whole catalogue."""
    links = "MATCH (a:Item)-[r:SAME_WORK]->(b:Item) RETURN collect([a.id, b.id, r.kind]) AS l"
    link_same_work(db, pack, settings=settings)
    whole = sorted(map(tuple, db.value(links)))
    pair = db.query("MATCH (a:Item)-[:SAME_WORK]->(b:Item) RETURN a.id AS a, b.id AS b ORDER BY a.id, b.id "
                    "LIMIT 1")[0]
    try:
        # as older rules left it: no work name anywhere, no links
        db.write("MATCH (i:Item) WHERE i.title IS NOT NULL SET i.work_key = '', i.work_title = i.title")
        db.write("MATCH ()-[r:SAME_WORK]->() DELETE r")
        rep = link_same_work(db, pack, settings=settings, items=[pair["a"]])  # what `kgrec update` passes
        assert rep.items > 100  # the whole catalogue, not the item's group under its stale key
        assert sorted(map(tuple, db.value(links))) == whole
        assert db.value("MATCH (i:Item {id: $b}) RETURN i.work_key", b=pair["b"]) != ""  # the other copy keyed
        # a full relink rewrites stale keys too
        db.write("MATCH (i:Item {id: $b}) SET i.work_key = ''", b=pair["b"])
        link_same_work(db, pack, settings=settings)
        assert db.value("MATCH (i:Item {id: $b}) RETURN i.work_key", b=pair["b"]) != ""
    finally:
        link_same_work(db, pack, settings=settings)
    assert sorted(map(tuple, db.value(links))) == whole


def test_a_new_item_whose_points_all_have_concepts_gets_its_knowledge(db, pack, pipeline, tmp_path):
    """README's "Add new data" (`kgrec load --append`, `kgrec extract items`, `kgrec concepts project`): a new item
    whose knowledge points all had concepts already got no HAS_KNOWLEDGE edge, since projection recomputed only the
    items of the mentions it placed; training, interests and explanations saw the item without knowledge."""
    from _kg_fixture import invoke_cli, write_dataset

    user = db.value("MATCH (u:User) RETURN u.id ORDER BY u.id LIMIT 1")
    item = {"item_id": "new-pad", "title": "Wireless Controller for PlayStation 4", "description": [],
            "features": [], "categories": [], "brand": None}
    folder = write_dataset(tmp_path / "new", [item], [{"user_id": user, "item_id": "new-pad", "seq": 0,
                                                       "rating": 5.0, "timestamp": 1_600_000_000}])
    r = invoke_cli(["load", "--silent", str(folder), "--dataset", "vg-slice", "--append"])
    assert r.exit_code == 0, r.output
    r = invoke_cli(["extract", "items", "--extractor", "offline"])
    assert r.exit_code == 0, r.output
    points = "MATCH (:Item {id: 'new-pad'})-[:MENTIONS]->(m:Mention) OPTIONAL MATCH (m)-[:CANONICAL]->(c:Concept) "
    before = db.query(points + "RETURN m.key AS key, c.id AS concept")
    assert len(before) >= 2 and all(r["concept"] for r in before), before  # every point is known
    r = invoke_cli(["concepts", "project", "--silent"])
    assert r.exit_code == 0, r.output
    knowledge = set(db.value("MATCH (:Item {id: 'new-pad'})-[:HAS_KNOWLEDGE]->(c:Concept) RETURN collect(c.id)"))
    assert knowledge == {r["concept"] for r in before}
    assert "items updated: 0" in invoke_cli(["concepts", "project", "--silent"]).output  # done once


def test_same_work_never_pairs_items_of_two_datasets():
    """Two shops' copies of a game in one database were linked as editions of each other (1,482 SAME_WORK links
    between two Video Games datasets in a walkthrough), and a reload of one dataset rewrote the other's links.
    Editions are grouped within each item's dataset."""
    from kgrec_neo4j.concepts.works import same_work_pairs

    rows = [{"id": "a1", "title": "Halo 3", "platforms": ["xbox 360"], "dataset": "shop-a"},
            {"id": "a2", "title": "Halo 3 - Xbox 360", "platforms": ["xbox 360"], "dataset": "shop-a"},
            {"id": "b1", "title": "Halo 3", "platforms": ["xbox 360"], "dataset": "shop-b"},
            {"id": "b2", "title": "Halo 3 Limited Edition", "platforms": ["xbox 360"], "dataset": "shop-b"}]
    pairs, rep = same_work_pairs(rows, lambda t: "halo 3" if t.startswith("Halo 3") else None)
    assert sorted((p["a"], p["b"]) for p in pairs) == [("a1", "a2"), ("b1", "b2")]
    assert rep.groups == 2
    # without datasets (items written by another client) they are one catalogue, as before
    pairs, _ = same_work_pairs([{**r, "dataset": None} for r in rows], lambda t: "halo 3")
    assert len(pairs) == 6


def test_films_listed_twice_are_one_work(data_dir):
    """MovieLens-100K lists 18 films under two ids each (*Chasing Amy (1997)*, *Ice Storm, The (1997)*, …): the
    movies pack read no work name from a title, so the second copy of a film a user had seen was recommended as
    news. A film's title, year included, now names its work: exactly those 18 pairs are linked, as ``same``."""
    import collections
    import gzip
    import json

    from kgrec_neo4j.concepts.works import same_work_pairs
    from kgrec_neo4j.core.config import load_settings
    from kgrec_neo4j.core.schema import load_pack
    from kgrec_neo4j.extract.offline import OfflineExtractor

    with gzip.open(data_dir / "movielens-100k" / "items.jsonl.gz", "rt", encoding="utf-8") as f:
        films = [json.loads(line) for line in f]
    rows = [{"id": r["item_id"], "title": r["title"], "platforms": [], "dataset": "movielens-100k"} for r in films]
    twice = {t for t, n in collections.Counter(r["title"] for r in films).items() if n > 1}
    assert len(twice) == 18 and "Chasing Amy (1997)" in twice
    ex = OfflineExtractor(load_settings(), load_pack("movies"))
    pairs, rep = same_work_pairs(rows, ex.work_name, pack="movies")
    title = {r["id"]: r["title"] for r in rows}
    assert len(pairs) == 18 and rep.by_kind == {"same": 18}
    assert {title[p["a"]] for p in pairs} == twice and all(title[p["a"]] == title[p["b"]] for p in pairs)
    # a sequel is another film
    assert ex.work_name("Toy Story (1995)") != ex.work_name("Toy Story 2 (1999)")
    # the other packs are as they were: office titles name products, not works
    assert OfflineExtractor(load_settings(), load_pack("office_products")).work_name("Swingline Stapler") is None
