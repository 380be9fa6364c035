"""The variant guard and the family relation on real mention texts of several types (no database)."""

from __future__ import annotations

import numpy as np
import pytest

from kgrec_neo4j.concepts.aliases import embedding_text
from kgrec_neo4j.concepts.cluster import FloorClustering, guard_codes
from kgrec_neo4j.concepts.families import family_pairs
from kgrec_neo4j.concepts.variants import compatible, narrows, signature
from kgrec_neo4j.extract.base import mention_key


def _ok(a: str, b: str, pack: str) -> bool:
    ta, tb = (embedding_text(mention_key(x), pack) for x in (a, b))
    return compatible(signature(ta, pack), signature(tb, pack))


# (pack, a, b, may share a concept?)
CASES = [
    # Compatibility: generations and models, the false merges
    ("video_games", "Xbox", "Xbox One", False),
    ("video_games", "Xbox One", "Xbox 360", False),
    ("video_games", "PS4", "PS2", False),
    ("video_games", "PlayStation 4", "PS4", True),
    ("video_games", "Nintendo 3DS", "Nintendo 3DS XL", False),
    ("video_games", "Game Boy", "Game Boy Color", False),
    ("video_games", "Game Boy Advance", "GBA", True),
    ("video_games", "Wii", "Wii U", False),
    ("video_games", "Nintendo DS", "DS", True),
    # Game Features / Others: roman numerals are numbers
    ("video_games", "Final Fantasy X", "Final Fantasy IV", False),
    ("video_games", "Final Fantasy VII", "Final Fantasy 7", True),
    ("video_games", "Final Fantasy XIII", "Final Fantasy", False),
    ("video_games", "Mega Man X", "Mega Man", False),
    # Components: colours and models
    ("video_games", "Cherry MX Blue", "Cherry MX Brown", False),
    ("video_games", "wired controller", "wireless controller", False),
    ("video_games", "Xbox controller", "PlayStation controller", False),
    ("video_games", "DualShock 4", "Dual Shock 4", True),
    ("video_games", "controller charging station", "charging station for controllers", True),
    # Content Additions: editions
    ("video_games", "limited edition", "collector's edition", False),
    ("video_games", "game of the year edition", "GOTY", True),
    # Technical Specifications and Office sizes and capacities
    ("video_games", "1TB", "1 GB", False),
    ("video_games", "500 GB", "500GB", True),
    ("office_products", "8.5 x 11 inch", "8.5 x 11", True),
    ("office_products", "8.5 x 11", "8.5 x 14", False),
    ("office_products", "letter size", "legal size", False),
    ("office_products", "12 pack", "12 pk", True),
    ("office_products", "12 pack", "24 pack", False),
    # Office Appearance and Compatibility
    ("office_products", "black", "blue", False),
    ("office_products", "assorted colors", "assorted colours", True),
    ("office_products", "HP 61", "HP 62", False),
    ("office_products", "HP inkjet printers", "Canon inkjet printers", False),
]


@pytest.mark.parametrize("pack,a,b,ok", CASES)
def test_variant_guard(pack, a, b, ok):
    assert _ok(a, b, pack) is ok, (a, b)
    assert _ok(b, a, pack) is ok  # symmetric


def test_guard_holds_in_clustering_even_for_identical_vectors():
    texts = ["xbox", "xbox one", "xbox 360", "final fantasy x", "final fantasy iv", "cherry mx blue", "cherry mx brown"]
    X = np.tile(np.eye(1, 16, dtype=np.float32), (len(texts), 1))
    lab = FloorClustering(X, 0.5, texts, pack="video_games").labels(0.6)
    assert len(set(lab.tolist())) == len(texts)
    codes = guard_codes(texts, "video_games")
    assert not codes.compatible(0, 1) and codes.compatible(0, 0)


@pytest.mark.parametrize("narrow,broad,yes", [
    ("xbox one", "xbox", True), ("xbox 360", "xbox", True), ("playstation 4 pro", "playstation 4", True),
    ("final fantasy x", "final fantasy", True), ("nintendo 3ds xl", "nintendo 3ds", True),
    ("xbox", "xbox one", False), ("xbox one", "xbox 360", False), ("call of duty", "xbox", False),
])
def test_narrows(narrow, broad, yes):
    pack = "video_games"
    assert narrows(embedding_text(narrow, pack), embedding_text(broad, pack), pack) is yes


def test_family_pairs_link_nearest_relatives_only():
    concepts = [{"id": "xbox", "keys": ["xbox", "microsoft xbox"]}, {"id": "one", "keys": ["xbox one", "xb1"]},
                {"id": "360", "keys": ["xbox 360", "x360"]}, {"id": "ps4pro", "keys": ["ps4 pro"]},
                {"id": "ps4", "keys": ["playstation 4", "ps4"]}, {"id": "ps", "keys": ["playstation"]},
                {"id": "cod", "keys": ["call of duty"]}]
    got = {(p["narrow"], p["broad"]) for p in family_pairs(concepts, "video_games")}
    assert got == {("one", "xbox"), ("360", "xbox"), ("ps4pro", "ps4"), ("ps4", "ps")}
