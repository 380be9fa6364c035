"""The variant guard and the family relation on real mention texts of several types (no database)."""

from __future__ import annotations

import numpy as np
import pytest

from kgrec_neo4j.concepts.aliases import embedding_text
from kgrec_neo4j.concepts.cluster import FloorClustering, guard_codes
from kgrec_neo4j.concepts.families import family_pairs
from kgrec_neo4j.concepts.variants import (
    compatible,
    lexical_key,
    lexical_relation,
    maker_names,
    narrows,
    pack_makers,
    same_value,
    signature,
    spelling_variants,
)
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
    # the letters that end a model code are part of the model: one colour of a cartridge is not another (the
    # Office demo put Brother LC61M and LC61Y in one concept, its "m" read as metres and its "y" as nothing)
    ("office_products", "Brother LC61M", "Brother LC61Y", False),
    ("office_products", "Brother LC61BK", "Brother LC61C", False),
    ("office_products", "Brother LC61Y", "Brother LC61", False),
    ("office_products", "Brother LC61Y", "Brother LC-61Y", True),
    ("office_products", "Brother LC61Y", "brother lc61y", True),
    ("office_products", "Brother LC61", "Brother LC 61", True),
    ("office_products", "5m", "5 m", True),
    ("office_products", "8.5x11in", "8.5 x 11 inch", True),
    ("video_games", "GTX 1080", "GTX1080Ti", False),
    # a shredder's cut is its security level (the Office demo put strip-cut shredding in the cross-cut concept)
    ("office_products", "cross-cut shredding", "strip-cut shredding", False),
    ("office_products", "confetti-cut", "cross-cut", False),
    ("office_products", "cross-cut shredding", "crosscut shredding", True),
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


# -- general normalisations of the merge decision: makers' names, number abbreviations, spelling variants ----

#: (brand, title) of real Office items (amazon-office-2018).
OFFICE_ITEMS = [
    ("Lamy", "Lamy Cartridges Refill - Black -5-pack T10BK"),
    ("LAMY", "LAMY Cartridges Refill, Blue, Pack of 5 (LT10BL)"),
    ("Lamy", "Lamy Safari Fountain Pen, Red (L16F)"),
    ("Cross", "Cross Ballpoint Pen Refill, Fine Blue, 1 per card, (8512)"),
    ("Cross", "Cross Slim Black Ballpoint Ink Refill (8783-2)"),
    ("AmazonBasics", "AmazonBasics 6-Sheet Cross-Cut Paper and Credit Card Shredder"),
    ("AmazonBasics", "AmazonBasics 8-Sheet Cross-Cut Paper and Credit Card Shredder"),
    ("Fellowes", "Fellowes Powershred 99Ci 100% Jam Proof Cross-Cut Paper Shredder"),
    ("Unknown", "Staples Jumbo Vinyl Coated Paper Clips, Smooth, 500/Tub"),
    ("Unknown", "Advantus Call Bell, 3.38 Inch Diameter, Chrome Finish with Black Base (CB10000)"),
    ("Maco", "MACO ML3000 White Laser/Inkjet Shipping & Address Labels, 1 x 2 5/8 (Box of 3000)"),
    ("Platinum", "Platinum Carbon Pen Ink Cartridge - Pack of 4 - Black"),
    ("Platinum", "Platinum Converter for Fountain Pen (CONVERTER-500)"),
    ("Quality Park", "Quality Park Dab-n-Seal Envelope Moistener, 50 ml, 1 Bottle (46065)"),
    ("Quality Park", "Quality Park 24524 Quality Park Security Tint Double Window Invoice Envelopes, 9"),
]


def test_maker_names_of_a_catalogue_keep_real_makers_only():
    got = maker_names(OFFICE_ITEMS, "office_products")
    # Lamy (any case) and AmazonBasics name their items in the titles; Fellowes names one item only
    assert got == {("lamy",), ("amazonbasics",)}
    # not: a common word most titles use for other makers' things (Cross: cross-cut shredders), a brand value
    # never in a title (Unknown), a brand of one item (Maco), a variant word (Platinum), nor the pack's list
    assert ("cross",) not in got and ("unknown",) not in got and ("maco",) not in got and ("platinum",) not in got
    # nor what is left of a name whose other words are filler (Quality Park: "park" is a common word)
    assert ("park",) not in got and ("quality", "park") not in got
    assert maker_names(iter(OFFICE_ITEMS), "office_products") == got  # one pass over the items is enough
    assert ("pilot",) in pack_makers("office_products") and ("pilot",) not in got
    # a catalogue without brand values (Video Games) has the pack's list of console and accessory makers
    assert maker_names([(None, "Nintendo Wii Nunchuk")], "video_games") == pack_makers("video_games")
    assert ("nintendo",) in pack_makers("video_games")


def _same(a: str, b: str, pack: str, makers=None, cos: float = 0.5) -> bool:
    ta, tb = (embedding_text(mention_key(x), pack) for x in (a, b))
    return same_value(ta, tb, cos, 0.86, pack, makers)


@pytest.mark.parametrize("pack,a,b", [
    ("office_products", "Lamy Cartridges Refill", "Refill cartridge"),  # Product Type
    ("office_products", "fountain pen lamy", "Fountain Pen"),  # Product Type, maker at the end
    ("office_products", "AmazonBasics shredder", "shredder"),  # Product Type
    ("office_products", "Lamy smooth writing", "smooth writing"),  # Functionality
])
def test_a_makers_name_added_is_the_same_value(pack, a, b):
    makers = maker_names(OFFICE_ITEMS, pack)
    assert _same(a, b, pack, makers) and _same(b, a, pack, makers)
    assert not _same(a, b, pack, frozenset())  # without the catalogue's makers: one adds a word


def test_a_brand_value_is_a_name_whose_every_word_counts():
    """The Office demo had 'Better Office Products', 'Universal Office Products' and 'Office Style' (three makers,
    the brand values of one or two items each) in one concept: filler words, a stopword and the maker 'Universal'
    dropped, each was keyed 'office', and the same content words merged them whatever their cosine (0.56-0.76).
    A value that is a brand value of the catalogue keeps every word; the cosines below are MiniLM's."""
    import pickle

    from kgrec_neo4j.concepts.variants import Makers

    pack = "office_products"
    items = [*OFFICE_ITEMS, ("Better Office Products", "Better Office Products 81450 Sheet Protectors, 100 Count"),
             ("Universal Office Products", "UNIVERSAL OFFICE PRODUCTS 10199VP Mini Binder Clips"),
             ("Universal", "Universal Paper Clips, Jumbo"), ("Universal", "Universal Staples, Standard"),
             ("Office Style", "Office Style Desk Tray"), ("LAMY USA", "Lamy Safari Fountain Pen, Blue")]
    makers = maker_names(items, pack)
    assert ("universal",) in makers and ("better", "office", "products") in makers.brands
    for a, b, cos in [("Better Office Products", "Universal Office Products", 0.756),
                      ("Better Office Products", "Office Style", 0.681),
                      ("Universal Office Products", "Office Style", 0.563),
                      ("Better Office Products", "office products", 0.872)]:  # a brand against the words
        assert not _same(a, b, pack, makers, cos), (a, b)
        assert _same(a, b, pack, Makers(makers), cos)  # the same makers without the brand values: keyed 'office'
    assert _same("Lamy USA", "LAMY", pack, makers) and _same("Lamy Cartridges Refill", "Refill cartridge", pack, makers)
    assert _same("Better Office Products", "better office products", pack, makers)
    assert pickle.loads(pickle.dumps(makers)).brands == makers.brands  # (the projection's worker threads)
    assert makers == maker_names(items, pack) and maker_names([], pack).brands == frozenset()


def test_makers_names_drop_only_at_the_start_or_end_and_never_alone():
    makers = maker_names(OFFICE_ITEMS, "office_products")
    key = (lambda t: lexical_key(embedding_text(mention_key(t), "office_products"), "office_products", makers))
    assert key("refill for lamy pens") != key("refill pens")  # inside the text the name stays
    assert key("Lamy") == {"lamy"}  # a value that is nothing but the name keeps it
    assert key("Lamy USA") != key("made in USA")  # ... also with company words (Brand and Quality)
    assert key("AmazonBasics Corporation") != key("Lamy Corporation")
    assert key("Cross ballpoint refill") != key("ballpoint refill")  # Cross is no maker of this catalogue
    # a variant word is never a maker's name: the guard keeps the two apart
    assert not _same("Platinum fountain pen", "fountain pen", "office_products", makers)
    # Video Games has no brand values: the pack's makers apply (Components)
    assert _same("Nintendo charging station", "charging station", "video_games")
    assert not _same("Nintendo charging station", "charging station", "video_games", frozenset())


@pytest.mark.parametrize("pack,a,b,ok", [
    ("video_games", "Warhammer 40,000: Fire Warrior", "Warhammer 40K: Fire Warrior", True),  # Others
    ("office_products", "5,000 sheets", "5000 sheets", True),  # Technical Specifications
    ("office_products", "1.5K labels", "1500 labels", True),
    ("video_games", "2 million copies", "2,000,000 copies", True),
    ("video_games", "4K", "4", False),  # a resolution is no count of 4
    ("office_products", "5m cable", "5 meter cable", True),  # m after a number stays metres
    ("office_products", "40,000", "40", False),
])
def test_number_abbreviations_and_thousands_separators(pack, a, b, ok):
    assert _ok(a, b, pack) is ok and _ok(b, a, pack) is ok


@pytest.mark.parametrize("pack,a,b", [
    ("video_games", "Nintendo Nunchuk Controller", "Nunchuck Controller"),  # Components
    ("office_products", "stationery set", "stationary set"),  # Product Type
    ("office_products", "rechargable batteries", "rechargeable batteries"),  # Technical Specifications
    ("video_games", "wireless controler", "wireless controller"),  # Components
])
def test_one_letter_spelling_variants_of_long_words_are_one_word(pack, a, b):
    assert _same(a, b, pack)
    ka, kb = (lexical_key(embedding_text(mention_key(x), pack), pack) for x in (a, b))
    assert ka != kb and lexical_relation(ka, kb) == "equal"


@pytest.mark.parametrize("a,b", [
    ("pens", "pins"),  # short words
    ("bundle", "bundles2"),  # digits
    ("outdoor", "outdoot"),  # a variant word
    ("premium", "premiun"),
    ("keyboard", "keyboard"),  # the same word is no variant of itself
    ("charger", "chargers2"),  # two edits
])
def test_spelling_variant_limits(a, b):
    assert not spelling_variants(a, b) and not spelling_variants(b, a)
    assert spelling_variants("keyboard", "keybaord") is False  # a transposition is two edits
    assert spelling_variants("nunchuk", "nunchuck") and spelling_variants("nunchuck", "nunchuk")


def test_clustering_joins_the_same_content_words_however_far_apart_their_vectors():
    texts = ["lamy cartridges refill", "refill cartridge", "fountain pen"]
    X = np.eye(3, 16, dtype=np.float32)  # cosine 0 between every pair
    makers = maker_names(OFFICE_ITEMS, "office_products")
    lab = FloorClustering(X, 0.86, texts, pack="office_products", makers=makers).labels(0.86)
    assert lab[0] == lab[1] != lab[2]
    lab = FloorClustering(X, 0.86, texts, pack="office_products", makers=frozenset()).labels(0.86)
    assert len(set(lab.tolist())) == 3


# -- what the lexical key must never join: texts without content words, agent nouns and their verbs ------------

@pytest.mark.parametrize("pack,a,b", [
    # filler and generic words only, on both sides (Office graph: each was one concept at cosine 0.19-0.44)
    ("office_products", "easy-to-see", "write-on"),  # Usage Scenarios
    ("office_products", "Best Print", "reliable"),  # Brand and Quality
    ("office_products", "For-Keeps!", "reliable"),
    ("office_products", "different types", "unique style"),  # Appearance
    ("office_products", "modern design", "classic design"),  # filler words only, not the same ones
    ("office_products", "different styles", "unique styles"),  # (labelled merge in the bench: the encoder decides)
    # an agent noun is another thing than its verb or stem, and names end in "er"
    ("office_products", "staples", "stapler"),  # Product Type
    ("office_products", "markings", "markers"),  # Appearance
    ("office_products", "erased", "eraser"),  # Functionality
    ("office_products", "printer brand", "printing"),
    ("office_products", "Quality Park", "Parker"),  # Brand and Quality: two makers
    ("video_games", "Street Fighter", "street fighting"),  # Game Features
    ("video_games", "Mic Compatible", "Gaming Mice"),  # Compatibility (Video Games graph: cosine 0.22)
    # short words one letter apart are no spelling variants because an agent noun's "er" lengthens them
    ("office_products", "laser printer", "laser pointer"),  # Product Type
    ("video_games", "shooter", "scooter"),
])
def test_no_shared_content_word_is_no_merge_whatever_the_lexical_key(pack, a, b):
    makers = maker_names(OFFICE_ITEMS, pack)
    ka, kb = (lexical_key(embedding_text(mention_key(x), pack), pack, makers) for x in (a, b))
    assert lexical_relation(ka, kb) != "equal"
    assert not _same(a, b, pack, makers, cos=0.3) and not _same(b, a, pack, makers, cos=0.3)


@pytest.mark.parametrize("pack,a,b", [
    ("office_products", "Classic Design", "classic designs"),  # a filler key meets the same words
    ("office_products", "markers", "Marker"),  # plurals of agent nouns still meet
    ("office_products", "staplers", "stapler"),
    ("video_games", "Shooters", "shooter"),
    ("video_games", "Gaming Mice", "gaming mouse"),
    ("office_products", "bold markings", "bold marks"),  # and so do the verb's own forms (merge bench)
])
def test_the_same_words_still_meet_at_any_cosine(pack, a, b):
    assert _same(a, b, pack, cos=0.3) and _same(b, a, pack, cos=0.3)


def test_without_content_words_the_encoder_decides():
    # "other", not "equal": the floor applies as to any two values
    assert lexical_relation(frozenset(), frozenset()) == "other"
    assert _same("easy-to-see", "Easy to see!", "office_products", cos=0.9)
    assert not _same("easy-to-see", "Easy to see!", "office_products", cos=0.8)
    # a text of filler and generic words only is keyed by them, and is broader than any value with content words
    assert _same("classic game", "Classic Games", "video_games", cos=0.3)
    assert not _same("classic games", "new games", "video_games", cos=0.3)
    for pack, vague, value in [("office_products", "unique styles", "retro style"), ("office_products", "set", "pen set"),
                               ("office_products", "kit", "repair kit"), ("video_games", "best game", "racing game"),
                               ("office_products", "easy-to-see", "easy-to-see colors")]:
        assert not _same(vague, value, pack, cos=0.88) and not _same(value, vague, pack, cos=0.88)
        assert _same(vague, value, pack, cos=0.94)  # as any narrower value: at the containment floor


def test_projection_never_matches_an_empty_key_by_its_words():
    from kgrec_neo4j.concepts.project import TypeVectors, nearest_exact

    pack, t = "office_products", "Usage Scenarios"
    concepts = ["write-on", "mailing"]
    tv = TypeVectors.__new__(TypeVectors)  # the concept side as read from the graph, without a database
    tv.makers = frozenset()
    tv.ids = {t: ["c-write-on", "c-mailing"]}
    tv.mats = {t: np.eye(2, 8, dtype=np.float32)}
    texts = [embedding_text(c, pack) for c in concepts]
    tv.sigs = {t: [signature(x, pack) for x in texts]}
    tv.lex = {t: [lexical_key(x, pack, frozenset()) for x in texts]}
    tv.by_lex = {t: {}}
    for c, k in enumerate(tv.lex[t]):
        tv.by_lex[t].setdefault(k, []).append(c)
    assert tv.lex[t][0] == frozenset()  # "write-on": filler only
    X = np.zeros((2, 8), np.float32)
    X[:, 5] = 1.0  # cosine 0 with both concepts
    got = nearest_exact(tv, [t, t], X, [0.93, 0.93], ["easy-to-see", "mailings"], pack)
    assert got[0] == (None, 0.0)  # before: joined "write-on" by their (empty) words, at cosine 0
    assert got[1] == ("c-mailing", 0.0)  # the same content words still win


@pytest.mark.parametrize("a,b", [
    ("Amazing Spider-Man", "Spider-Man"),  # one series of the franchise (a knowledge audit: all 17 Spider-Man items
    ("Amazing Adventures", "adventure"),   # carried the concept "Amazing Spider-Man"); a hidden-object series
    ("classic controller", "Game Controller"),  # the Wii Classic Controller
])
def test_words_that_name_things_in_a_pack_are_not_filler_there(a, b):
    assert not _same(a, b, "video_games", cos=0.8) and not _same(b, a, "video_games", cos=0.8)
    assert _same(a, b, "video_games", cos=0.95)  # one narrowing the other: at the containment floor
    assert _same("Amazing Spider-Man", "The Amazing Spider-Man", "video_games", cos=0.3)  # the same words still meet
    assert _same("classic design", "Classic Designs", "office_products", cos=0.3)
    assert _same("amazing stapler", "Stapler", "office_products", cos=0.3)  # elsewhere the word is filler
