"""Naming a cluster of offline phrases by the attribute its values share, and spotting clusters of function words.

Offline discovery clusters *values* (``black``, ``white``, ``blue``): the type is the attribute they are values
of (*Color*). A small, domain-free lexicon of product attributes says which attribute a value belongs to:
measurement units after a number (``12 inch`` → *Dimensions*, ``5 lbs`` → *Weight*, ``64 GB`` → *Storage
Capacity*), and value words (colours → *Color*, ``steel`` → *Material*, ``large`` → *Size*). A cluster is
named after the attribute that at least :data:`MIN_SHARE` of its mentions belong to; clusters named alike are
one type (``PlayStation``, ``Wii`` and ``Xbox`` clusters become one *Platform*). A cluster whose mentions are
mostly single function words (``commonly``, ``widely``, ``available``) names no attribute and is dropped.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

MIN_SHARE = 0.4

#: unit (lower case, after a number) -> attribute
UNITS: dict[str, str] = {}
for _attr, _units in {
    "Dimensions": "in inch inches ft feet foot mm cm m meter meters yard yards yd x",
    "Weight": "lb lbs pound pounds oz ounce ounces kg g gram grams",
    "Volume": "ml l liter liters litre gallon gallons gal fl",
    "Quantity": "pack packs pk count ct pcs pc piece pieces sheet sheets page pages box boxes roll rolls set sets",
    "Storage Capacity": "gb tb mb kb",
    "Power": "v volt volts w watt watts mah amp amps",
    "Temperature": "degree degrees f c fahrenheit celsius",
    "Speed": "rpm mph fps hz mhz ghz dpi ppm",
}.items():
    for _u in _units.split():
        UNITS[_u] = _attr

#: value word -> attribute
WORDS: dict[str, str] = {}
for _attr, _words in {
    "Color": "black white red blue green yellow orange purple pink brown gray grey silver gold clear navy teal "
             "beige ivory tan violet magenta cyan turquoise maroon multicolor multicolored assorted neon pastel "
             "color colors colour colours colored",
    "Material": "paper plastic metal steel stainless wood wooden leather vinyl aluminum aluminium fabric cardboard "
                "cotton rubber glass acrylic polypropylene nylon silicone ceramic kraft bamboo cork foam polyester "
                "cardstock canvas iron brass copper",
    "Size": "small medium large big xl xxl mini jumbo compact oversized letter legal tabloid a4 a5 size sizes",
    "Dimensions": "length width height depth diameter thickness thick wide long tall dimensions dimension",
    "Weight": "weight heavy lightweight",
    "Shape": "round square rectangular oval triangular circular shape",
    "Finish": "matte glossy satin textured smooth finish",
    "Platform": "playstation ps2 ps3 ps4 psp vita xbox nintendo wii switch gamecube 3ds ds pc mac windows linux "
                "android ios iphone ipad",
    "Temperature": "temperature hot cold heat",
}.items():
    for _w in _words.split():
        WORDS[_w] = _attr

#: words that say nothing on their own (besides stopwords): a cluster of these is no attribute
FUNCTION_WORDS = frozenset("""
available well place making made make use used using way ways thing things lot lots part parts
also just really very quite even still always never often sometimes usually easily simply quickly
""".split())

_TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z]+\d*")


def value_attribute(text: str) -> str | None:
    """The attribute one value belongs to (``"12 inch"`` → ``Dimensions``, ``"navy blue"`` → ``Color``), or None."""
    toks = _TOKEN.findall(text.lower())
    for i, t in enumerate(toks):
        if t[0].isdigit() and i + 1 < len(toks) and toks[i + 1] in UNITS:
            return UNITS[toks[i + 1]]
    if toks and toks[0][0].isdigit() and len(toks) == 1:
        return None
    # a unit written out on its own names its attribute too ("inches", "sheets"; not "in", "m", "x")
    hits = Counter(WORDS.get(t) or (UNITS[t] if t in UNITS and len(t) >= 3 else None) for t in toks)
    hits.pop(None, None)
    return hits.most_common(1)[0][0] if hits else None


def cluster_attribute(labels: Iterable[tuple[str, int]]) -> str | None:
    """The attribute of a cluster of ``(label, mentions)``: the one at least MIN_SHARE of the mentions have."""
    votes: Counter = Counter()
    total = 0
    for text, n in labels:
        total += n
        a = value_attribute(text)
        if a:
            votes[a] += n
    if not votes or not total:
        return None
    attr, n = votes.most_common(1)[0]
    return attr if n >= MIN_SHARE * total else None


def is_function_words(labels: Iterable[tuple[str, int]], stopwords: frozenset[str]) -> bool:
    """Are at least half of the mentions single function words (stopwords, ``-ly`` adverbs, ``available``)?"""
    total = hit = 0
    for text, n in labels:
        total += n
        toks = _TOKEN.findall(text.lower())
        if len(toks) == 1 and (toks[0] in stopwords or toks[0] in FUNCTION_WORDS
                               or (toks[0].endswith("ly") and len(toks[0]) > 4)):
            hit += n
    return total > 0 and hit * 2 >= total
