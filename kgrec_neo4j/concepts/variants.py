"""The variant guard: words and numbers that name *another thing* keep two values apart.

Small sentence encoders rate ``Xbox One`` / ``Xbox 360`` 0.84, ``Xbox`` / ``Xbox One`` higher still,
``Final Fantasy X`` / ``Final Fantasy IV`` 0.9, ``Cherry MX Blue`` / ``Cherry MX Brown`` 0.9: a
similarity floor cannot tell a generation, a model, a size or a colour from a spelling variant. The
guard reads the *variant signature* of a text instead:

* **numbers** (``4``, ``360``, ``8.5``; number words ``one`` … ``twenty``; roman numerals ``ii`` … ``xx``
  that are not part of a measurement such as ``8.5 x 11``), as one set;
* **units** written right after a number (``1 TB`` vs ``1 GB``), as a second set that only has to agree
  when both texts have one (``8.5 x 11 inch`` and ``8.5 x 11`` are the same size);
* **the letters that end a model code** (``LC61Y``, ``LC-61M``, ``GTX1080Ti``: a number with letters before it and
  letters written on after it) as variant words: ``Brother LC61Y`` and ``Brother LC61M`` are two cartridges;
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
from collections.abc import Iterable, Sequence
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
        inkjet laser cross strip confetti
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
#: A number written with thousands separators (``40,000``; a mention key has the comma as a space: ``40 000``).
_THOUSANDS = re.compile(r"(?<![\d.])\d{1,3}(?:[ ,]\d{3})+(?![\d.])")
#: Words after a number that multiply it (``40K`` = ``40,000``). ``m`` after a number stays a unit (metres:
#: ``5m cable``), so millions are read only from the word ``million``.
MULTIPLIERS = {"k": 1000, "thousand": 1000, "million": 1_000_000}


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


def _scaled(number: str, factor: int) -> str:
    """``_scaled("40", 1000)`` is ``"40000"``, ``_scaled("1.5", 1000)`` is ``"1500"``."""
    whole, _, frac = number.partition(".")
    digits = int(whole + frac) * factor
    scale = 10 ** len(frac)
    return _number(f"{digits // scale}.{digits % scale:0{len(frac)}d}" if frac else str(digits))


def tokens(text: str) -> list[str]:
    """Lower-case word and number tokens of ``text`` after the multi-word folds (``1tb`` → ``1``, ``tb``).

    Numbers are written one way: thousands separators dropped (``40,000`` → ``40000``) and a multiplier
    after a number applied (``40k`` → ``40000``, ``2 million`` → ``2000000``; see :data:`MULTIPLIERS`).
    """
    return _scan(text)[0]


def _scan(text: str) -> tuple[list[str], list[bool]]:
    """:func:`tokens`, and for each whether it is the letters that end a model code: a number with letters before it
    (written on, or with a hyphen) and letters written on after it (``lc61y``, ``lc-61m``, ``gtx1080ti``: ``y``,
    ``m``, ``ti``), never a unit or a multiplier (``5m`` and ``40k`` have no letters before the number)."""
    t = _POSSESSIVE.sub(r"\1", text.lower())
    for rx, rep in PHRASES:
        t = rx.sub(rep, t)
    t = _THOUSANDS.sub(lambda m: re.sub(r"[ ,]", "", m.group()), t)
    out: list[str] = []
    suffix: list[bool] = []
    end, coded, lead = -1, False, False  # coded: a number with letters before it; lead: letters not after a number
    for m in _TOKEN.finditer(t):
        tok, on = m.group(), m.start() == end
        hyphen = end >= 0 and t[end:m.start()] == "-"
        end = m.end()
        if coded and on and tok[0].isalpha():
            out.append(tok)
            suffix.append(True)
            coded = lead = False
            continue
        if tok in MULTIPLIERS and out and out[-1][0].isdigit():
            out[-1] = _scaled(out[-1], MULTIPLIERS[tok])
            continue
        coded = tok[0].isdigit() and lead and (on or hyphen)
        lead = tok[0].isalpha() and not (on and out[-1][0].isdigit())  # the "x" of 8.5x11 is no model's letters
        out.append(tok)
        suffix.append(False)
    return out, suffix


@lru_cache(maxsize=200_000)
def signature(text: str, pack: str = "") -> Signature:
    """The variant signature of one (embedded) text; see the module docstring."""
    toks, suffix = _scan(text)
    extra = PACK_VARIANT_WORDS.get(pack, frozenset())
    numbers: set[str] = set()
    units: set[str] = set()
    words: set[str] = set()
    n = len(toks)
    for i, tok in enumerate(toks):
        prev_num = i > 0 and toks[i - 1][0].isdigit()
        next_num = i + 1 < n and toks[i + 1][0].isdigit()
        if suffix[i]:
            words.add(tok)  # a model's letters: LC61Y is not LC61M
        elif tok[0].isdigit():
            numbers.add(_number(tok))
            if i + 1 < n and not suffix[i + 1] and toks[i + 1] in UNITS and UNITS[toks[i + 1]]:
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

#: Filler words that name things in a pack: games and products are called by them (``Amazing Spider-Man`` is one
#: series of ``Spider-Man``, ``Amazing Adventures`` no adventure game, the ``Classic Controller`` one controller).
PACK_NAME_WORDS: dict[str, frozenset[str]] = {
    "video_games": frozenset("amazing classic".split()),
}

#: No ``er``: an agent noun names another thing than its verb or stem (``stapler`` / ``staples``, ``marker`` /
#: ``markings``, ``eraser`` / ``erased``, ``printer`` / ``printing``) and names end in it (``Parker`` / ``Park``).
_SUFFIXES = ("ations", "ation", "ings", "ing", "ions", "ion", "ful", "ies", "es", "ly", "ed", "s", "e")


#: Plurals no suffix rule undoes (``mice`` would be cut to ``mic``, another component).
_IRREGULAR = {"mice": "mouse", "feet": "foot", "teeth": "tooth", "men": "man", "women": "woman",
              "children": "child", "indices": "index", "matrices": "matrix"}


def _stem(w: str) -> str:
    """A light suffix stripper (two rounds): ``precisely``/``precision`` → ``precis``, ``markings`` → ``mark``."""
    w = _IRREGULAR.get(w, w)
    for _ in range(2):
        for suf in _SUFFIXES:
            if w.endswith(suf) and len(w) - len(suf) >= 3:
                w = w[: -len(suf)]
                break
    return w


#: A maker's name in the comparison: its content words (:func:`content_tokens`) in order.
Maker = tuple[str, ...]


class Makers(frozenset):
    """The makers' names of a catalogue (:func:`maker_names`), and ``brands``: every brand value of its items (one
    item's too), as :func:`brand_words` folds it. A value that *is* one of those brand values is a name, whose every
    word counts (:func:`lexical_key`): ``Better Office Products``, ``Universal Office Products`` and ``Office Style``
    are three makers, not three wordings of ``office``."""

    brands: frozenset[tuple[str, ...]] = frozenset()

    def __new__(cls, names=(), brands=frozenset()):
        self = super().__new__(cls, names)
        self.brands = frozenset(brands)
        return self

    def __reduce__(self):
        return (Makers, (tuple(self), self.brands))


def brand_words(text: str, pack: str = "") -> tuple[str, ...]:
    """A brand value's words as a name is compared: every word (stopwords, filler and generic words count: ``Better
    Office Products`` is not ``office products``), trailing company words dropped (``Lamy USA`` is ``Lamy``)."""
    toks = [t for i, t in enumerate(tokens(text.lower())) if not (t == "s" and i > 0)]
    while len(toks) > 1 and toks[-1] in COMPANY_WORDS:
        toks.pop()
    return tuple(toks)

#: A brand value is a maker name of the catalogue when this many items carry it (knowledge of one item is
#: not shared: the concept stage's ``min_items``).
MAKER_MIN_ITEMS = 2


def content_tokens(text: str, pack: str = "", *, keep_filler: bool = False) -> list[str]:
    """The content words of a text in order: stopwords, filler and the pack's generic words dropped (with
    ``keep_filler`` only stopwords), number words and roman numerals as digits, a possessive ``s`` dropped."""
    from ..extract.offline import STOPWORDS

    generic = frozenset() if keep_filler else PACK_GENERIC.get(pack, frozenset())
    filler = frozenset() if keep_filler else FILLER - PACK_NAME_WORDS.get(pack, frozenset())
    toks: list[str] = []
    for i, t in enumerate(tokens(text)):
        if t == "s" and i > 0:
            continue
        t = ROMAN.get(t, NUMBER_WORDS.get(t, t))
        if t in filler or t in generic or (t in STOPWORDS and not t[0].isdigit()):
            continue
        toks.append(t)
    return toks


def _maker_ok(words: Maker, pack: str) -> bool:
    """May ``words`` be dropped as a maker's name? Not when a word is a number, a unit or a variant/model word
    (``Platinum``, ``Avery`` for office, ``Xbox``), nor when the name has fewer than 3 letters (``3M``, ``U``)."""
    extra = PACK_VARIANT_WORDS.get(pack, frozenset())
    if not words or sum(len(w) for w in words) < 3:
        return False
    return not any(w[0].isdigit() or w in UNITS or w in VARIANT_WORDS or w in extra
                   or (w.endswith("s") and (w[:-1] in VARIANT_WORDS or w[:-1] in extra)) for w in words)


def _contains(seq: Sequence[str], words: Maker) -> bool:
    n = len(words)
    return any(tuple(seq[i:i + n]) == words for i in range(len(seq) - n + 1))


def maker_names(items: Iterable[tuple[str | None, str | None]], pack: str = "") -> Makers:
    """The makers' names of a catalogue, from the ``(brand, title)`` of its items.

    A brand value is a maker's name when

    * :data:`MAKER_MIN_ITEMS` items or more carry it (compared by content words: ``LAMY`` and ``Lamy`` are one),
    * it may be dropped at all (:func:`_maker_ok`: no number, unit or variant word; 3 letters or more) and
      every word of it is a content word (not ``Quality Park``, ``Post-it``, ``The Superior Register``: what
      would be left, ``park``, ``post``, ``register``, is a common word), and
    * it names its maker in the catalogue's titles: at least one of its items has it in the title, and at least
      as many titles that contain it belong to its items as to other items. This drops junk brand values
      (``Generic``, ``Unknown``: never in a title) and common words that are also brands (``Cross``: most titles
      that say *cross* are cross-cut shredders of other makers; ``Staples``, ``Colored Pencils``, ``Lap Desk``).

    A catalogue without brand values (Video Games) gets the pack's list instead
    (:func:`kgrec_neo4j.extract.offline_patterns.brand_names`: console and accessory makers), where
    :func:`_maker_ok` allows. The result also carries the catalogue's brand values (:attr:`Makers.brands`).
    """
    from ..extract.offline_patterns import brand_names

    branded = [(b.lower(), (t or "").lower()) for b, t in items if b and b.strip()]
    rows = [(tuple(content_tokens(b, pack)), content_tokens(t, pack)) for b, t in branded]
    count: dict[Maker, int] = {}
    whole: set[Maker] = set()  # brand values all of whose words are content words
    for (brand, _), (b, _) in zip(rows, branded):
        count[brand] = count.get(brand, 0) + 1
        if len(brand) == len(tokens(b)):
            whole.add(brand)
    by_word: dict[str, list[int]] = {}  # word -> rows whose title has it
    for r, (_, title) in enumerate(rows):
        for w in set(title):
            by_word.setdefault(w, []).append(r)
    out: set[Maker] = set()
    for name, n in count.items():
        if n < MAKER_MIN_ITEMS or name not in whole or not _maker_ok(name, pack):
            continue
        own = other = 0
        for r in by_word.get(name[0], ()):
            brand, title = rows[r]
            if _contains(title, name):
                if _contains(brand, name):
                    own += 1
                else:
                    other += 1
        if own >= 1 and own >= other:
            out.add(name)
    if rows:
        return Makers(out, (w for w in (brand_words(b, pack) for b, _ in branded) if w))
    return Makers(name for name in (tuple(content_tokens(b.lower(), pack)) for b in brand_names(pack))
                  if _maker_ok(name, pack))


@lru_cache(maxsize=16)
def pack_makers(pack: str) -> frozenset[Maker]:
    """The makers' names of a pack alone (:func:`maker_names` of a catalogue without brand values)."""
    return maker_names((), pack)


#: Words after a maker's name that still name the maker (``Advantus Corporation``, ``Lamy USA``).
COMPANY_WORDS = frozenset("inc corp corporation co company ltd llc gmbh usa america industries international".split())


def drop_makers(toks: list[str], makers: frozenset[Maker]) -> list[str]:
    """``toks`` without the makers' names at their start and end (``lamy cartridges refill`` → ``cartridges
    refill``); a name inside the text stays, and so does a text that is nothing but a maker's name, alone or
    with company words (``lamy usa``, ``advantus corporation``: the value is the maker)."""
    if not makers:
        return toks
    name = list(toks)
    while len(name) > 1 and name[-1] in COMPANY_WORDS:
        name.pop()
    if tuple(name) in makers:
        return toks
    longest = max(len(m) for m in makers)
    lo, hi = 0, len(toks)
    changed = True
    while changed:
        changed = False
        for n in range(min(longest, hi - lo - 1), 0, -1):
            if tuple(toks[lo:lo + n]) in makers:
                lo, changed = lo + n, True
                break
            if tuple(toks[hi - n:hi]) in makers:
                hi, changed = hi - n, True
                break
    return toks[lo:hi]


def lexical_key(text: str, pack: str = "", makers: frozenset[Maker] | None = None) -> frozenset[str]:
    """The content words of an (embedded) text as light stems (:func:`_lexical_key`); a text that is one of the
    catalogue's brand values (``makers`` a :class:`Makers`) is a name: every word of it (:func:`brand_words`).
    ``Better Office Products`` and ``Office Style`` were both keyed ``office``, and the Office demo had the two
    makers (and ``Universal Office Products``) in one concept."""
    brands = getattr(makers, "brands", None)
    if brands:
        name = brand_words(text, pack)
        if name in brands:
            return frozenset(_stem(t) if not t[0].isdigit() else t for t in name)
    return _lexical_key(text, pack, makers)


@lru_cache(maxsize=200_000)
def _lexical_key(text: str, pack: str = "", makers: frozenset[Maker] | None = None) -> frozenset[str]:
    """The content words of an (embedded) text as light stems (:func:`content_tokens`), makers' names at the
    start or end dropped (:func:`drop_makers`; ``makers`` default: the pack's list, :func:`pack_makers`).

    ``"Sid Meier's Civilization IV"`` and ``"sid meiers civilization 4"`` have one key; so have
    ``"Lamy Cartridges Refill"`` and ``"refill cartridge"`` when ``lamy`` is a maker of the catalogue.
    A text of filler and generic words only (``"classic design"``, ``"best game"``) is keyed by all its words but
    the stopwords, each marked with :data:`FILLER_MARK` (a *filler key*): it meets only the same words (``"classic
    designs"``), and :func:`lexical_relation` counts it broader than any value with content words, as a text
    without any word but stopwords (the empty key) is.
    """
    toks, mark = drop_makers(content_tokens(text, pack), pack_makers(pack) if makers is None else makers), ""
    if not toks:
        toks, mark = content_tokens(text, pack, keep_filler=True), FILLER_MARK
    return frozenset(mark + (_stem(t) if not t[0].isdigit() else t) for t in toks)


#: Marks the words of a filler key (:func:`lexical_key`).
FILLER_MARK = "~"


def _filler_key(k: frozenset[str]) -> bool:
    return bool(k) and all(w.startswith(FILLER_MARK) for w in k)


#: Stems this long or longer that differ by one letter are one word (``nunchuk`` / ``nunchuck``) unless
#: either is a variant/model word or has a digit.
SPELLING_MIN = 7


@lru_cache(maxsize=1)
def _variant_stems() -> frozenset[str]:
    words = VARIANT_WORDS.union(*PACK_VARIANT_WORDS.values())
    return frozenset(words | {_stem(w) for w in words})


def _one_edit(a: str, b: str) -> bool:
    """Are ``a`` and ``b`` one insertion, deletion or substitution apart (and not equal)?"""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + (len(a) == len(b)):] == b[i + 1:]


def spelling_variants(a: str, b: str) -> bool:
    """One word spelled two ways: stems of >= :data:`SPELLING_MIN` letters at edit distance 1, neither a
    variant/model word nor holding a digit (``nunchuk`` / ``nunchuck``; not ``xbox one`` / ``xbox two``). An agent
    noun's ``er`` / ``or`` does not count towards the length (``printer`` / ``pointer``, ``shooter`` / ``scooter``
    are short words one letter apart, not one word)."""
    if min(len(_agentless(a)), len(_agentless(b))) < SPELLING_MIN or any(c.isdigit() for c in a + b):
        return False
    stems = _variant_stems()
    return a not in stems and b not in stems and _one_edit(a, b)


def _agentless(w: str) -> str:
    return w[:-2] if w.endswith(("er", "or")) else w


def _spelling_matched(a: frozenset[str], b: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
    """``a - b`` and ``b - a`` with the words that are spelling variants of each other taken out (in pairs)."""
    left, right = set(a - b), set(b - a)
    for x in sorted(left):
        y = next((y for y in sorted(right) if spelling_variants(x, y)), None)
        if y is not None:
            left.discard(x)
            right.discard(y)
    return frozenset(left), frozenset(right)


def lexical_relation(a: frozenset[str], b: frozenset[str]) -> str:
    """``equal``, ``narrower`` (a has every word of b and more), ``broader`` (the reverse) or ``other``.

    Words that are spelling variants of each other (:func:`spelling_variants`) count as one word. Two empty keys
    (nothing but stopwords) are ``other``: nothing says they are the same value, so the encoder decides. A filler
    key (:func:`lexical_key`: ``unique styles``) is ``broader`` than a key with content words (``retro style``),
    as the empty key is, and against another filler key compares its words as any key does.
    """
    if not a and not b:
        return "other"
    if a == b:
        return "equal"
    fa, fb = _filler_key(a), _filler_key(b)
    if fa != fb and a and b:
        return "broader" if fa else "narrower"
    only_a, only_b = a - b, b - a
    if only_a and only_b and max(map(len, only_a)) >= SPELLING_MIN and max(map(len, only_b)) >= SPELLING_MIN:
        only_a, only_b = _spelling_matched(a, b)
    if not only_a and not only_b:
        return "equal"
    if not only_b:
        return "narrower"
    if not only_a:
        return "broader"
    return "other"


#: A value that adds words to another (``Sonic`` / ``Sonic Generations``, ``stapler`` / ``hand stapler``) is a
#: narrower value, not the same one, unless the encoder rates the two at least this similar (keyword-stuffed
#: titles: ``Microphone Gaming Headset`` / ``Microphone Gaming Headset Headphones``). Chosen on the merge benchmark.
CONTAIN_FLOOR = 0.93


def same_value(ta: str, tb: str, cos: float, floor: float, pack: str = "",
               makers: frozenset[Maker] | None = None) -> bool:
    """The merge decision for two (embedded) texts with cosine ``cos``: may they share a concept?

    Apart when the variant guard says so; together when their content words are the same (makers' names at
    the start or end aside, spelling variants as one word); apart when one adds words to the other (unless
    ``cos >= CONTAIN_FLOOR``); otherwise together when ``cos >= floor``. ``makers``: see :func:`lexical_key`.
    """
    if not compatible(signature(ta, pack), signature(tb, pack)):
        return False
    rel = lexical_relation(lexical_key(ta, pack, makers), lexical_key(tb, pack, makers))
    if rel == "equal":
        return True
    if rel != "other":
        return cos >= max(CONTAIN_FLOOR, floor)
    return cos >= floor
