"""The makers' names the concept stage drops come from the graph's items (their ``brand``), against Neo4j.

Real Office items (amazon-office-2018) and their real interactions: every item whose brand is Lamy, Cross,
Unknown or Maco, and every item whose title says *cross* (cross-cut shredders of other makers).
"""

from __future__ import annotations

import gzip
import json

import pytest

from kgrec_neo4j.concepts import build_vocabulary, store
from kgrec_neo4j.concepts.title_mentions import TitleMention, write_mentions
from kgrec_neo4j.concepts.variants import maker_names
from kgrec_neo4j.core import schema
from kgrec_neo4j.core.db import clear_database
from kgrec_neo4j.extract.base import mention_key

BRANDS = {"lamy", "cross", "unknown", "maco"}


@pytest.fixture(scope="module")
def pack():
    return schema.load_pack("office_products")


@pytest.fixture(scope="module")
def catalogue(data_dir, tmp_path_factory):
    """A slice of the Office data in the generic format; returns its folder and its items."""
    src = data_dir / "amazon-office-2018"
    with gzip.open(src / "items.jsonl.gz", "rt", encoding="utf-8") as f:
        items = [it for it in map(json.loads, f)
                 if (it.get("brand") or "").lower() in BRANDS or "cross" in mention_key(it.get("title") or "").split()]
    ids = {it["item_id"] for it in items}
    with gzip.open(src / "interactions.jsonl.gz", "rt", encoding="utf-8") as f:
        inter = [x for x in map(json.loads, f) if x["item_id"] in ids]
    out = tmp_path_factory.mktemp("office-makers")
    (out / "items.jsonl").write_text("".join(json.dumps(it) + "\n" for it in items), encoding="utf-8")
    (out / "interactions.jsonl").write_text("".join(json.dumps(x) + "\n" for x in inter), encoding="utf-8")
    return out, items


@pytest.fixture(scope="module")
def loaded(db, settings, pack, catalogue):
    from kgrec_neo4j.load import load

    clear_database(db)
    schema.apply(db, pack, dim=settings.embedding_dim)
    load(db, [catalogue[0]], seed=settings.seed)
    return catalogue[1]


def test_makers_names_are_read_from_the_graphs_items(db, pack, loaded):
    got = store.maker_names(db, pack.name)
    assert got == maker_names([(it.get("brand"), it.get("title")) for it in loaded], pack.name)
    assert ("lamy",) in got
    # cross-cut shredders of other makers outnumber Cross's own titles; Unknown is in no title; Maco has one item
    assert not {("cross",), ("unknown",), ("maco",)} & got
    # the pack's own list is not used for a catalogue with brand values
    assert ("pilot",) not in got
    # the list follows the graph: without the brand on the items, Lamy is no maker any more
    lamy = [r["id"] for r in db.query("MATCH (i:Item) WHERE toLower(i.brand) = 'lamy' RETURN i.id AS id")]
    db.write("UNWIND $ids AS id MATCH (i:Item {id: id}) SET i.brand = null", ids=lamy)
    assert len(lamy) >= 2
    try:
        assert ("lamy",) not in store.maker_names(db, pack.name)
    finally:
        db.write("UNWIND $ids AS id MATCH (i:Item {id: id}) SET i.brand = 'Lamy'", ids=lamy)
    assert ("lamy",) in store.maker_names(db, pack.name)


def test_build_merges_a_value_with_its_makers_name_added(db, settings, pack, loaded):
    from kgrec_neo4j.core.embed import get_embedder

    # two real mentions of two Lamy items (the merge benchmark's pair: cosine 0.78, under the floor 0.86)
    rows = [("office_products-01862", "Lamy Cartridges Refill"), ("office_products-03148", "Refill cartridge")]
    write_mentions(db, [TitleMention(item_id=i, type="Product Type", text=t, key=mention_key(t), confidence=0.9)
                        for i, t in rows])
    rep = build_vocabulary(db, get_embedder(settings), pack, types=["Product Type"])
    assert rep.types[0].concepts >= 1
    concept = {r["k"]: r["c"] for r in db.query(
        "MATCH (m:Mention {type: 'Product Type'})-[:CANONICAL]->(c:Concept) RETURN m.key AS k, c.id AS c")}
    assert concept["lamy cartridges refill"] == concept["refill cartridge"]
