"""The variant guard: words and numbers that name *another thing* keep two values apart.

Small sentence encoders rate ``Xbox One`` / ``Xbox 360`` 0.84, ``Xbox`` / ``Xbox One`` higher still,
``Final Fantasy X`` / ``Final Fantasy IV`` 0.9, ``Cherry MX Blue`` / ``Cherry MX Brown`` 0.9: a
similarity floor cannot tell a generation, a model, a size or a colour from a spelling variant. The
guard reads the *variant signature* of a text instead:

* **numbers** (``4``, ``360``, ``8.5``; number words ``one`` … ``twenty``; roman numerals ``ii`` … ``xx``
  that are not part of a measurement such as ``8.5 x 11``), as one set;
* **units** written right after a number (``1 TB`` vs ``1 GB``), as a second set that only has to agree
  when both texts have one (``8.5 x 11 inch`` and ``8.5 x 11`` are the same size);
* **variant words** of every pack (:data:`VARIANT_WORDS`: model words such as *advance, color, xl, pro,
  mini, lite, slim, elite*; sizes; colours; editions; opposite pairs such as *wired / wireless*) and of
  the active pack (:data:`PACK_VARIANT_WORDS`: platform names for video games).

Two texts are **compatible** (may share a concept) only when their numbers and variant words are equal
and their units agree, or when they spell the same letters once spaces and punctuation are removed
(``dual shock`` / ``dualshock``). The rule is symmetric: ``Xbox`` (nothing) and ``Xbox One`` (``1``)
are apart, where the old number guard let a text without digits join any other.

A text whose signature strictly contains another's and whose remaining words are that text
(``xbox one`` → ``xbox``, ``playstation 4 pro`` → ``playstation 4``) is a *family member* of it:
:func:`family_base` gives the text it narrows, and :mod:`.families` stores that relation as
``(:Concept)-[:BROADER]->(:Concept)``, never as a merge.

All functions take the *embedded* text (mention key with the pack's abbreviations spelled out,
:func:`.aliases.embedding_text`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}

ROMAN = {r: str(i) for i, r in enumerate(
    "_ i ii iii iv v vi vii viii ix x xi xii xiii xiv xv xvi xvii xviii xix xx".split()) if i >= 2}

#: Units that follow a number, folded to one spelling.
UNITS = {
    "tb": "tb", "gb": "gb", "mb": "mb", "kb": "kb", "mah": "mah", "ghz": "ghz", "mhz": "mhz", "hz": "hz",
    "w": "w", "watt": "w", "watts": "w", "v": "v", "volt": "v", "volts": "v", "ft": "ft", "feet": "ft",
    "foot": "ft", "in": "in", "inch": "in", "inches": "in", "mm": "mm", "cm": "cm", "m": "m", "meter": "m",
    "meters": "m", "oz": "oz", "ounce": "oz", "ounces": "oz", "lb": "lb", "lbs": "lb", "pound": "lb",
    "pounds": "lb", "kg": "kg", "g": "g", "gram": "g", "grams": "g", "ml": "ml", "l": "l", "liter": "l",
    "liters": "l", "gal": "gal", "gallon": "gal", "gallons": "gal", "yd": "yd", "yard": "yd", "yards": "yd",
    "pack": "pack", "packs": "pack", "pk": "pack", "count": "count", "ct": "count", "pcs": "piece",
    "piece": "piece", "pieces": "piece", "sheet": "sheet", "sheets": "sheet", "page": "page", "pages": "page",
    "player": "player", "players": "player", "dpi": "dpi", "fps": "fps", "p": "p", "k": "k", "bit": "bit",
    "degree": "degree", "degrees": "degree", "f": "f", "c": "c", "hour": "hour", "hours": "hour", "hr": "hour",
    "x": "",  # "8.5 x 11": a separator, not a unit or a numeral
}

#: Words that name a variant of a thing in any domain (model, generation, size, colour, edition, opposites).
VARIANT_WORDS: frozenset[str] = frozenset("""
xl xxl xxxl ll lite pro mini micro nano max plus slim elite ultra super jr junior se hd uhd
small medium large jumbo compact letter legal ledger tabloid a3 a4 a5 a6 a7 b5
black white red blue green yellow orange purple pink brown gray silver gold clear navy teal beige ivory
tan violet cyan magenta bronze copper chrome camo rose lime aqua turquoise maroon burgundy
standard limited collector deluxe special premium ultimate complete definitive anniversary legendary
platinum steelbook goty remastered remaster director
wired wireless left right male female single dual double triple quad front rear upper lower inner outer
hard soft analog online offline indoor outdoor
""".split())

#: Variant words of one pack (platform names: ``Xbox controller`` and ``PlayStation controller`` differ).
PACK_VARIANT_WORDS: dict[str, frozenset[str]] = {
    "video_games": frozenset("""
        playstation xbox wii switch gamecube genesis dreamcast saturn atari pc mac windows linux android ios psp
        gameboy n64 snes nes famicom turbografx neogeo kinect move advance color portable vita vr dsi ds u
    """.split()),
    "office_products": frozenset("""
        hp canon epson brother lexmark xerox dell samsung kodak ricoh kyocera oki sharp avery dymo
        inkjet laser
    """.split()),
}

#: Multi-word forms folded into one token before reading the signature.
PHRASES: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"\bgame of the year\b"), "goty"),
    (re.compile(r"\bgame ?boy\b"), "gameboy"),
    (re.compile(r"\bgrey\b"), "gray"),
    (re.compile(r"\bcolou?rs?\b"), "color"),
    (re.compile(r"\bcollector ?s\b"), "collector"),
    (re.compile(r"\bdirector ?s? cut\b"), "director"),
    (re.compile(r"\bhigh definition\b"), "hd"),
    (re.compile(r"\bneo ?geo\b"), "neogeo"),
    (re.compile(r"\bx ?box\b"), "xbox"),
    (re.compile(r"\bplay ?station\b"), "playstation"),
)

_TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z]+")
_POSSESSIVE = re.compile(r"(\w)'s\b")


@dataclass(frozen=True)
class Signature:
    """What the guard compares: numbers, units after numbers, variant words; ``squashed`` = letters and digits only."""

    numbers: frozenset[str]
    units: frozenset[str]
    words: frozenset[str]
    squashed: str

    @property
    def empty(self) -> bool:
        return not (self.numbers or self.words)

    def parts(self) -> frozenset[str]:
        """Numbers and variant words as one set (for family relations)."""
        return self.numbers | self.words


def _number(tok: str) -> str:
    """``"007"`` → ``"7"``, ``"8.50"`` → ``"8.5"``, ``"2.0"`` → ``"2"``."""
    whole, _, frac = tok.partition(".")
    whole = whole.lstrip("0") or "0"
    frac = frac.rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def tokens(text: str) -> list[str]:
    """Lower-case word and number tokens of ``text`` after the multi-word folds (``1tb`` → ``1``, ``tb``)."""
    t = _POSSESSIVE.sub(r"\1", text.lower())
    for rx, rep in PHRASES:
        t = rx.sub(rep, t)
    return _TOKEN.findall(t)


@lru_cache(maxsize=200_000)
def signature(text: str, pack: str = "") -> Signature:
    """The variant signature of one (embedded) text; see the module docstring."""
    toks = tokens(text)
    extra = PACK_VARIANT_WORDS.get(pack, frozenset())
    numbers: set[str] = set()
    units: set[str] = set()
    words: set[str] = set()
    n = len(toks)
    for i, tok in enumerate(toks):
        prev_num = i > 0 and toks[i - 1][0].isdigit()
        next_num = i + 1 < n and toks[i + 1][0].isdigit()
        if tok[0].isdigit():
            numbers.add(_number(tok))
            if i + 1 < n and toks[i + 1] in UNITS and UNITS[toks[i + 1]]:
                units.add(UNITS[toks[i + 1]])
        elif tok in UNITS and prev_num:
            continue  # a unit (or the "x" of a size): read with its number
        elif tok in NUMBER_WORDS:
            numbers.add(NUMBER_WORDS[tok])
        elif tok in ROMAN and not (tok == "x" and (prev_num or next_num)):
            numbers.add(ROMAN[tok])
        elif tok in VARIANT_WORDS or tok in extra:
            words.add(tok)
        elif tok.endswith("s") and (tok[:-1] in VARIANT_WORDS or tok[:-1] in extra):
            words.add(tok[:-1])
    squashed = re.sub(r"[^a-z0-9]", "", text.lower())
    return Signature(frozenset(numbers), frozenset(units), frozenset(words), squashed)


def compatible(a: Signature, b: Signature) -> bool:
    """May two values share a concept? Equal numbers and variant words, agreeing units, or the same letters."""
    if a.squashed and a.squashed == b.squashed:
        return True
    if a.numbers != b.numbers or a.words != b.words:
        return False
    return not (a.units and b.units and a.units != b.units)


def guard_codes(texts: list[str], pack: str = "") -> list[Signature]:
    """Signatures of ``texts`` (the embedded texts), in order."""
    return [signature(t, pack) for t in texts]


def family_base(text: str, pack: str, drop_numbers: frozenset[str], drop_words: frozenset[str]) -> str:
    """``text`` without the given numbers and variant words (and the units of those numbers), its tokens joined.

    ``family_base("xbox one", "video_games", {"1"}, set())`` is ``"xbox"``.
    """
    extra = PACK_VARIANT_WORDS.get(pack, frozenset())
    toks = tokens(text)
    keep: list[str] = []
    n = len(toks)
    for i, tok in enumerate(toks):
        prev_num = i > 0 and toks[i - 1][0].isdigit()
        next_num = i + 1 < n and toks[i + 1][0].isdigit()
        if tok[0].isdigit():
            if _number(tok) in drop_numbers:
                continue
        elif tok in UNITS and prev_num and _number(toks[i - 1]) in drop_numbers:
            continue
        elif tok in NUMBER_WORDS and NUMBER_WORDS[tok] in drop_numbers:
            continue
        elif tok in ROMAN and ROMAN[tok] in drop_numbers and not (tok == "x" and (prev_num or next_num)):
            continue
        elif (tok in VARIANT_WORDS or tok in extra) and tok in drop_words:
            continue
        elif tok.endswith("s") and tok[:-1] in drop_words:
            continue
        keep.append(tok)
    return "".join(keep)


def joined(text: str) -> str:
    """The tokens of ``text`` joined (what :func:`family_base` is compared with)."""
    return "".join(tokens(text))


def narrows(narrow_text: str, broad_text: str, pack: str) -> bool:
    """Is ``narrow_text`` a variant of ``broad_text`` (``xbox one`` of ``xbox``, ``final fantasy x`` of ``final fantasy``)?

    True when the narrower signature strictly contains the broader one and removing the extra numbers and
    variant words leaves exactly the broader text.
    """
    a, b = signature(narrow_text, pack), signature(broad_text, pack)
    if not (b.numbers <= a.numbers and b.words <= a.words) or (a.numbers == b.numbers and a.words == b.words):
        return False
    base = family_base(narrow_text, pack, a.numbers - b.numbers, a.words - b.words)
    return bool(base) and base == joined(broad_text)


# -- the lexical relation: same words, or one value narrowing the other ------------------------------------

#: Words that say nothing about the value: marketing and filler adjectives, packaging words.
FILLER: frozenset[str] = frozenset("""
convenient powerful regular ordinary generic official comfortable quality high great good best perfect ideal
excellent superior new improved advanced innovative unique classic contemporary modern stylish elegant attractive
beautiful sophisticated simple basic essential versatile durable sturdy reliable practical handy useful amazing
awesome exceptionally extremely very really truly highly extra professional brand brands product products item
items available set kit again type types design designs style styles series compatible different various
replacement
""".split())

#: Words every value of a pack may carry (``gaming headset`` is a headset in a video game catalogue).
PACK_GENERIC: dict[str, frozenset[str]] = {
    "video_games": frozenset("game games videogame videogames gaming gamer gamers".split()),
}

_SUFFIXES = ("ations", "ation", "ings", "ing", "ers", "er", "ions", "ion", "ful", "ies", "es", "ly", "ed", "s", "e")


def _stem(w: str) -> str:
    """A light suffix stripper (two rounds): ``precisely``/``precision`` → ``precis``, ``markings`` → ``mark``."""
    for _ in range(2):
        for suf in _SUFFIXES:
            if w.endswith(suf) and len(w) - len(suf) >= 3:
                w = w[: -len(suf)]
                break
    return w


@lru_cache(maxsize=16)
def _brand_words(pack: str) -> frozenset[str]:
    from ..extract.offline_patterns import brand_names

    return frozenset(t for b in brand_names(pack) for t in _TOKEN.findall(b.lower()) if len(t) > 2)


@lru_cache(maxsize=200_000)
def lexical_key(text: str, pack: str = "") -> frozenset[str]:
    """The content words of an (embedded) text as light stems: stopwords, filler, the pack's generic words and
    (when something else is left) brand names dropped; numbers and numerals as digits; a possessive ``s`` dropped.

    ``"Sid Meier's Civilization IV"`` and ``"sid meiers civilization 4"`` have one key.
    """
    from ..extract.offline import STOPWORDS

    generic = PACK_GENERIC.get(pack, frozenset())
    toks: list[str] = []
    for i, t in enumerate(tokens(text)):
        if t == "s" and i > 0:
            continue
        t = ROMAN.get(t, NUMBER_WORDS.get(t, t))
        if t in FILLER or t in generic or (t in STOPWORDS and not t[0].isdigit()):
            continue
        toks.append(t)
    brands = _brand_words(pack)
    unbranded = [t for t in toks if t not in brands]
    return frozenset(_stem(t) if not t[0].isdigit() else t for t in (unbranded or toks))


def lexical_relation(a: frozenset[str], b: frozenset[str]) -> str:
    """``equal``, ``narrower`` (a has every word of b and more), ``broader`` (the reverse) or ``other``."""
    if a == b:
        return "equal"
    if b < a:
        return "narrower"
    if a < b:
        return "broader"
    return "other"


#: A value that adds words to another (``Sonic`` / ``Sonic Generations``, ``stapler`` / ``hand stapler``) is a
#: narrower value, not the same one, unless the encoder rates the two at least this similar (keyword-stuffed
#: titles: ``Microphone Gaming Headset`` / ``Microphone Gaming Headset Headphones``). Chosen on the merge benchmark.
CONTAIN_FLOOR = 0.93


def same_value(ta: str, tb: str, cos: float, floor: float, pack: str = "") -> bool:
    """The merge decision for two (embedded) texts with cosine ``cos``: may they share a concept?

    Apart when the variant guard says so; together when their content words are the same; apart when one
    adds words to the other (unless ``cos >= CONTAIN_FLOOR``); otherwise together when ``cos >= floor``.
    """
    if not compatible(signature(ta, pack), signature(tb, pack)):
        return False
    rel = lexical_relation(lexical_key(ta, pack), lexical_key(tb, pack))
    if rel == "equal":
        return True
    if rel != "other":
        return cos >= max(CONTAIN_FLOOR, floor)
    return cos >= floor
