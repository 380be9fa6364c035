"""The offline (LLM-free) knowledge-point extractor: exact patterns + embedding similarity to the pack's types.

For each item it reads the title, brand, categories, features and description (optionally review text):

1. **Exact patterns** of the pack (:mod:`kgrec_neo4j.extract.offline_patterns`): platforms → Compatibility
   (``PS4`` → ``PlayStation 4``), sizes and counts → Technical Specifications, editions / season passes →
   Content Additions, genre words and franchises → Game Features, and so on. Confidence 0.8–0.95.
2. **Head nouns** of the title (video games: headset, controller, cable, case …; office: binder, gel pen …)
   → Components / Product Type, with one descriptive modifier (``wireless headset``).
3. **Title names** (video games): the game's name and its franchise (``Call of Duty: Black Ops III - PS4``
   → Game Features ``Call of Duty``, Others ``Call of Duty: Black Ops III``), the concepts that items of
   one series share.
4. **Field rules**: ``"Director: …"`` lines of ``features`` (movies), ``categories`` and ``brand``.
5. **Candidate phrases**: what is left of the text, cut into noun-phrase-like chunks at punctuation,
   brackets and stopwords (at most 8 words), typed by cosine similarity to each type's definition and
   examples. All unique phrases of one ``extract`` call are embedded in one ``Embedder.encode`` call
   (cached on disk, so a phrase is embedded once across runs). Confidence grows with the similarity,
   capped below the patterns'. A phrase nearest one of the pack's closed types (``PackRules.closed_types``;
   video games: every type but Components; office: every type but Product Type; movies: every type but Setting)
   is dropped, and so is a phrase from outside the title nearest a title-only type (``PackRules.title_only_types``;
   office: Product Type) and a phrase not written as a name nearest a name-only type (``PackRules.name_only_types``;
   movies: Setting).

Points are deduplicated per item by normalised value (:func:`~kgrec_neo4j.extract.base.mention_key`),
the most confident kept, and capped per item. A pack without pattern tables degrades to steps 4–5.
"""

from __future__ import annotations

import html
import logging
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np

from ..core.config import Settings
from ..core.embed import TextEncoder
from ..core.schema import TypePack
from .base import (
    KEYED_LINE,
    MAX_VALUE_WORDS,
    ItemResult,
    ItemText,
    KnowledgePoint,
    line_values,
    mention_key,
    strip_credit,
    without_features,
)
from .offline_patterns import (
    COMPONENT_MODIFIERS_VG,
    EMPTY_RULES,
    WEAK_COMPONENTS_VG,
    FieldRule,
    PackRules,
    Pattern,
    PatternIndex,
    rules_for,
    type_name_keys,
)

log = logging.getLogger(__name__)

STOPWORDS = frozenset("""
a an the and or but nor for with without of in on at to from by as into onto over under up down out off
about above across after against along among around before behind below beneath beside between beyond
during except inside near since through throughout till toward towards until upon via within per than
then so too very just also only even still yet not no nor any all each every both either neither some
such own same other another more most less least few many much several this that these those there here
it its it's itself they them their theirs themselves we us our ours you your yours yourself he him his
she her hers i me my mine who whom whose which what when where why how whatever whenever whichever
is are was were be been being am do does did done doing have has had having can could will would shall
should may might must let lets make makes made get gets got keep keeps use uses used using include
includes included including includes feature features featured featuring allow allows allowing provide
provides providing offer offers offering help helps come comes give gives take takes go goes put puts
if because while although though whether once whose like unlike plus etc vs versus via ie eg following
new great best good better perfect ideal easy easily simply simple quick quickly fast really truly
one two three four five six seven eight nine ten first second third
deliver delivers ensure ensures create creates hold holds store stores print prints fits write writes add adds
bring brings love loves enjoy enjoys want wants find finds see sees look looks become becomes turn turns feel
feels means need needs work works keeps helps lets makes gives takes comes goes say says know knows try tries
specially especially specifically highly extremely incredibly always never often usually approximately approx
""".split())

GENERIC = frozenset("""
product products item items quality high design designed designs great use uses user users way ways time times
lot lots thing things value type types style styles size sizes color colors colour colours set sets piece pieces
pack packs box boxes edition version game games video videogame videogames play player players include
included model models brand brands series feature features option options level levels fun world day days
year years life home work works need needs amazon inc llc co ltd corp company official original
""".split())

_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_HTML_TAG = re.compile(r"<[^>]{0,400}>")
_CSS_BLOCK = re.compile(r"[.#]?[\w-]+\s*\{[^{}]*\}")
_SPACES = re.compile(r"\s+")
_CHUNK_SPLIT = re.compile(r"[,;:!?()\[\]{}|\\\"“”‘’•·®™©…*~<>=]+|(?<=\w)\.(?=\s|$)|\s[-–—/&+]+\s|\s'|'\s|^'|'$")
_WORD = re.compile(r"[\w][\w'.\-+#&/]*")
_SKU = re.compile(r"^(?=[\w-]*\d)(?=[\w-]*[a-z])[\w-]{4,}$|^\d[\d.,/-]*$", re.I)
_BRACKETED = re.compile(r"\[[^\]]*\]|\([^)]*\)|\{[^}]*\}")
_NAME_CUT = re.compile(r"\s+[-–—|~]+\s+|\s*,\s+|\s+/\s+|\s+-(?=[A-Z])|\s*\|\s*")
_SEQUEL = re.compile(r"^(?:\d{1,4}|[IVX]{1,5}|'\d\d|2K\d*|HD|3D|Vol\.?|Volume|Part|Episode|Ep\.?|Chapter|Season|"
                     r"Edition|Remastered|Remix|Deluxe|Collection|Trilogy|Anthology|Online|Advance|Portable|Plus)$")
_TRAILING_JUNK = re.compile(r"(?:\s+(?:for|by|with|and|the|game|video\s+game|videogame|[-–:&+]))+$", re.I)
# edition words that may end a game's name without a separator ("Dark Souls II Collector's Edition"); after a
# separator one or two words may ("NBA 2K16: Early Tip-off Edition"), but never a number or a numeral
_EDITION_KINDS = (r"(?:collector'?s|collectors|limited|special|(?:digital\s+|super\s+)?deluxe|gold|premium|complete|"
                  r"definitive|ultimate|legendary|standard|game\s+of\s+the\s+year|goty|(?:\d+(?:st|nd|rd|th)\s+)?"
                  r"anniversary|director'?s\s+cut|platinum|launch|day\s+(?:one|1)|steelbook|hardened|prestige|"
                  r"signature|championship|legacy|remastered|enhanced|royal|classic|career|jumbo|starter|exclusive|"
                  r"digital|physical|uncut)")
_EDITION_TAIL = re.compile(
    r"(?:\s+(?:the\s+)?(?:" + _EDITION_KINDS + r"\s+){1,2}edition|"
    r"\s*[-–:,]?\s+(?:game\s+of\s+the\s+year(?:\s+(?:edition|deluxe))?|bundle|greatest\s+hits|platinum\s+hits|"
    r"player'?s\s+choice|nintendo\s+selects|essentials|(?:digital|download|online\s+game)\s+code|"
    r"collector'?s\s+pack|expansion(?:\s+pack)?|season\s+pass|map\s+pack|add-on|dlc|starter\s+pack|"
    r"(?:with|w/)\s+.*|pre-?owned|refurbished|import|dvd|cd|cd-rom|dvd-rom|jewel\s+case))\s*$", re.I)
# "...: Early Tip-off Edition": tried only when _EDITION_TAIL no longer changes the name
_SUBTITLE_EDITION = re.compile(r"\s*[-–:,]\s*(?:the\s+)?(?:(?![IVX]{1,5}\s|\d+\s)[\w'’-]+\s+){0,2}edition\s*$", re.I)


def _strip_edition(name: str) -> str:
    out = _EDITION_TAIL.sub("", name).strip()
    return out if out != name else _SUBTITLE_EDITION.sub("", name).strip()


# titles that sell something other than a game itself: add-ons, currency, guides, merchandise, hardware
_NOT_A_WORK = re.compile(
    r"\b(?:season\s+pass|dlc|downloadable\s+content|expansion(?:\s+pack)?|add-?on|map\s+pack|character\s+pack|"
    r"level\s+pack|points?\s+card|gift\s+card|currency|v-bucks|membership|subscription|strategy\s+guide|"
    r"guide|soundtrack|band\s+kit|art\s*book|poster|figure|amiibo|t-shirt|console|"
    r"bundle|double\s+pack|2\s+games\s+in\s+1|\d\s+pack|collection|trilogy|anthology|\d+\s?[gt]b\s+system)\b", re.I)
# (also alone: "PlayStation 3, 20GB" without its platform is a capacity, no work name)
_LEADING_SPEC = re.compile(r"^(?:\d+\s?(?:gb|tb|mb)|slim|console|system|(?:limited|special|collector'?s)\s+edition|"
                           r"(?:nintendo\s+selects|greatest\s+hits|platinum\s+hits)\s*[:\-–]?)(?:\s+|$)", re.I)
# what is left of a console's title once its platform is taken out ("Nintendo 3DS XL - Black", "Xbox 360 Elite"): a
# colour or a model word names no work, unless the title starts with it as its own part (the game "Black - Xbox")
_HARDWARE_LEFT = re.compile(r"^(?:(?:black|white|red|blue|pink|silver|green|purple|gr[ae]y|yellow|orange|gold|elite|"
                            r"slim|mini|lite|xl|pro)\s*)+$", re.I)
# titles that sell no part of a series though they name one: points, cards, memberships, memory cards
_NOT_A_SERIES = re.compile(r"\b(?:microsoft\s+points|points?\s+card|gift\s+card|currency|membership|subscription|"
                           r"memory\s+card)\b", re.I)

#: What separates the parts of a title (a product type is read from the first part that has one).
_TITLE_PARTS = frozenset({",", "|", "(", ")", "[", "]", ";", "-"})
#: Words after which a product word in the same part of a title is what the item holds, fits or comes with
#: (not ``plus``: ``BA II Plus Financial Calculator``).
_LINK_WORDS = frozenset({"with", "w", "for", "holds", "hold", "includes", "including", "fits"})
#: Words after which a component word in the same part of a title is what the item is made for, not one of its parts
#: (``Replacement Battery for PS3 Controller``, ``Skin for Xbox One Controller``).
_FIT_WORDS = frozenset({"for", "fits"})
_WITH_WORDS = frozenset({"with", "w", "includes", "including", "plus"})
#: Colours: a product word after one, once the item's type is found, is an attribute (``… Pen, Black Ink``).
COLOUR_WORDS = frozenset({"black", "blue", "red", "green", "white", "yellow", "pink", "purple", "orange", "gray",
                          "grey", "silver", "gold", "brown", "violet", "teal", "assorted"})

_DESCRIPTIVE_VG = frozenset({
    "wireless", "wired", "gaming", "stereo", "charging", "rechargeable", "mechanical", "optical", "racing", "arcade",
    "motion", "vr", "cooling", "protective", "silicone", "carrying", "hard", "clear", "leather", "replacement",
    "extension", "link", "memory", "storage", "dual", "mini", "pro", "travel", "retractable", "usb", "hdmi",
    "component", "composite", "av", "power", "play", "fight", "dance", "vinyl", "steering", "classic", "full",
    "thumb", "analog", "touch", "micro", "screen", "controller", "console", "headset", "guitar", "drum", "battery",
})


_Draft = tuple[list["_Point"], list[tuple[str, str]], Counter]


@dataclass
class _Point:
    type: str
    value: str
    confidence: float
    evidence: str | None
    source: str  # pattern | component | name | field | embedding | review
    work: str | None = None  # name points: the key of the game's own name (a franchise needs two works)


def plain_text(text: str) -> str:
    """Strip HTML comments, tags, CSS blocks and entities; collapse white space."""
    t = _HTML_COMMENT.sub(" ", text)
    t = _HTML_TAG.sub(" ", t)
    t = _CSS_BLOCK.sub(" ", t)
    t = html.unescape(html.unescape(t.replace("amp;", "&")))
    t = t.replace("’", "'").replace("‘", "'").replace("\u00a0", " ")
    return _SPACES.sub(" ", t).strip()


def _trim_value(value: str) -> str:
    words = value.split()
    return " ".join(words[:MAX_VALUE_WORDS])


def candidate_phrases(text: str, *, max_words: int = MAX_VALUE_WORDS) -> list[str]:
    """Noun-phrase-like chunks of ``text``: split at punctuation, brackets and stopwords, at most ``max_words``.

    Tokens that look like SKUs or bare numbers are dropped, chunks of only generic words are dropped,
    and a longer chunk is cut into pieces of ``max_words`` from its end (the head noun of an English
    noun phrase is its last word).
    """
    out: list[str] = []
    for piece in _CHUNK_SPLIT.split(text):
        if not piece or not piece.strip():
            continue
        words = _WORD.findall(piece)
        chunk: list[str] = []
        for w in words + [None]:
            if w is None or w.lower().strip(".'-") in STOPWORDS:
                if chunk:
                    out.extend(_cut(chunk, max_words))
                chunk = []
                continue
            if _SKU.match(w):
                if chunk:
                    out.extend(_cut(chunk, max_words))
                chunk = []
                continue
            chunk.append(w.strip(".'-&/+"))
    res = []
    for c in out:
        toks = [t for t in c.split() if t]
        if not toks:
            continue
        low = [t.lower() for t in toks]
        if all(t in GENERIC or t in STOPWORDS for t in low):
            continue
        if len(toks) == 1 and (len(toks[0]) < 3 or not re.search(r"[a-zA-Z]{3}", toks[0])):
            continue
        res.append(" ".join(toks))
    return res


def _cut(words: list[str], n: int) -> list[str]:
    words = [w for w in words if w]
    pieces = []
    while words:
        pieces.append(" ".join(words[-n:]))
        words = words[:-n]
    return pieces[::-1]


class OfflineExtractor:
    """Extract typed knowledge points without an LLM.

    Args:
        settings: project settings (embedding model and cache).
        pack: the active knowledge-type pack.
        use_reviews: also read ``ItemText.reviews`` (patterns only; a value must occur in at least
            ``min_review_support`` reviews).
        max_points: cap on points per item (most confident kept). Default 20.
        max_candidates: cap on embedded candidate phrases per item. Default 16.
        min_similarity: cosine similarity below which a candidate is dropped. Default 0.35.
        min_support: a candidate phrase is typed only if at least this many items of the catalogue have it
            (the catalogue given to :meth:`prepare`, else the batch; ``kgrec extract`` gives the item's dataset).
            Default 2: a phrase of one item's prose is not knowledge other items can share.
        phrase_vectors: ``"words"`` (default) types a phrase by the mean of its words' vectors, each word
            embedded once and cached; ``"model"`` embeds every phrase with the model (6-8x more encoder
            work on descriptions; the typing agrees on most phrases, see docs/extraction-quality.md).
        embedder: a :class:`~kgrec_neo4j.core.embed.TextEncoder` (default: :func:`kgrec_neo4j.core.embed.get_embedder`).
    """

    name = "offline"

    def __init__(self, settings: Settings, pack: TypePack, *, use_reviews: bool = False, max_points: int = 20,
                 max_candidates: int = 16, min_similarity: float = 0.35, min_review_support: int = 2,
                 min_support: int = 2, phrase_vectors: str = "words", embedder: TextEncoder | None = None):
        if max_points < 1:
            raise ValueError(f"max_points must be >= 1 (got {max_points})")
        if max_candidates < 0:
            raise ValueError(f"max_candidates must be >= 0 (got {max_candidates})")
        if not -1.0 <= min_similarity <= 1.0:
            raise ValueError(f"min_similarity must be in [-1, 1] (got {min_similarity})")
        if min_support < 1:
            raise ValueError(f"min_support must be >= 1 (got {min_support})")
        if phrase_vectors not in ("words", "model"):
            raise ValueError(f"phrase_vectors must be 'words' or 'model' (got {phrase_vectors!r})")
        self.settings = settings
        self.pack = pack
        self.use_reviews = use_reviews
        self.max_points = max_points
        self.max_candidates = max_candidates
        self.min_similarity = min_similarity
        self.min_review_support = min_review_support
        self.min_support = min_support
        self.phrase_vectors = phrase_vectors
        self._support: Counter | None = None
        self._series: dict[str, set[str]] = {}
        self._drafts: dict[tuple[str, str], _Draft | str] = {}
        self._sig_cache: _SignatureCache | None = None
        self._embedder = embedder
        self.rules = self._filter_rules(rules_for(pack.name), pack)
        self._pattern_index = PatternIndex(self.rules.patterns)
        self._types = [t.name for t in pack.types]
        # every type but Others is a rival in typing by similarity; a phrase nearest a closed type is dropped
        self._embed_types = [t for t in self._types if t != "Others"] or self._types
        self._protos: np.ndarray | None = None
        self._proto_type: np.ndarray | None = None
        self.stats = cast("dict[str, float]", Counter())  # a Counter: a missing key reads as 0

    # -- setup -------------------------------------------------------------------------------
    @staticmethod
    def _filter_rules(rules: PackRules, pack: TypePack) -> PackRules:
        names = set(pack.names)
        pats = tuple(p for p in rules.patterns if p.type in names)
        if len(pats) < len(rules.patterns):
            log.warning("offline extractor: %d patterns dropped (types not in pack %s)",
                        len(rules.patterns) - len(pats), pack.name)
        field_rules = {k: r for k, r in rules.field_rules.items() if r.type in names}
        if rules is EMPTY_RULES:  # a pack without a table: `Director: ...` → its type Director (a shipped pack's
            field_rules = {k: FieldRule(t, max_words=MAX_VALUE_WORDS) for k, t in type_name_keys(pack.names).items()}
        return PackRules(
            patterns=pats, field_rules=field_rules,
            category_type=rules.category_type if rules.category_type in names else None,
            brand_type=rules.brand_type if rules.brand_type in names else ("Others" if "Others" in names else None),
            title_names=rules.title_names and {"Game Features", "Others"} <= names,
            component_words=rules.component_words, accessory_brands=rules.accessory_brands,
            closed_types=rules.closed_types & names, title_only_types=rules.title_only_types & names,
            name_only_types=rules.name_only_types & names, title_is_work=rules.title_is_work,
        )

    @property
    def embedder(self) -> TextEncoder:
        if self._embedder is None:
            from ..core.embed import get_embedder

            self._embedder = get_embedder(self.settings)
        return self._embedder

    def _prototypes(self) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings of each type's definition and examples: ``(P, dim)`` and the type index of each row ``(P,)``."""
        if self._protos is None or self._proto_type is None:
            texts, owner = [], []
            for ti, name in enumerate(self._embed_types):
                t = self.pack.get(name)
                for txt in [f"{name}: {t.definition}", *t.examples]:
                    texts.append(txt.lower())
                    owner.append(ti)
            self._protos = self.embedder.encode(texts)
            self._proto_type = np.asarray(owner)
        return self._protos, self._proto_type

    @property
    def _component_type(self) -> str | None:
        for name in ("Components", "Product Type"):
            if name in self._types:
                return name
        return None

    # -- extraction --------------------------------------------------------------------------
    def prepare(self, items: list[ItemText], *, keep: set[str] | None = None) -> None:
        """Read the catalogue ``items`` once: count how many items have each candidate phrase (``min_support``).

        ``kgrec extract`` calls it with every item of a dataset before extracting that dataset's items. The rule pass done
        here is kept for the items in ``keep`` (default: all), so :meth:`extract` does not repeat it.
        Without it, each :meth:`extract` call counts over its own batch.
        """
        t0 = time.perf_counter()
        self._drafts = {}
        drafts = []
        for it in items:
            draft = self._safe_rule_points(it)
            drafts.append(draft)
            if keep is None or it.item_id in keep:
                self._drafts[(it.item_id, it.text_hash())] = draft
        self._support, self._series = _count_support(drafts)
        if not self.use_reviews:  # (with reviews the text hash is not the stored one: nothing to key by)
            self._signatures().put([(it.text_hash(), _signature(d)) for it, d in zip(items, drafts, strict=True)
                                    if not isinstance(d, str)])
        self.stats["prepare_seconds"] += time.perf_counter() - t0

    def prepare_catalogue(self, catalogue: list[tuple[str, str]], fetch, keep: list[ItemText]) -> None:
        """:meth:`prepare` for the items ``keep`` (those to extract) against the whole catalogue, without the rule
        pass of every item: ``catalogue`` is ``(item id, Item.current_text_hash)`` of every item (of their dataset); an item's
        contribution to the support counts (its candidate phrases and franchise works) is read from the signature
        cache by its text hash (written by every :meth:`prepare` and by this method), and only the items missing
        there are read (``fetch(ids) -> [ItemText]``) and passed through the rules. Gives the counts a
        :meth:`prepare` of every item gives."""
        if self.use_reviews:
            raise ValueError("prepare_catalogue keys items by their stored text hash, which leaves reviews out; "
                             "use prepare() with every item")
        t0 = time.perf_counter()
        self._drafts = {}
        sigs: list[tuple[list[str], list[tuple[str, str]]]] = []
        fresh: list[tuple[str, tuple[list[str], list[tuple[str, str]]]]] = []

        def rule_pass(it: ItemText) -> _Draft | str:  # the item's signature counted, and cached below
            d = self._safe_rule_points(it)
            if not isinstance(d, str):
                sigs.append(_signature(d))
                fresh.append((it.text_hash(), sigs[-1]))
            return d

        for it in keep:
            self._drafts[(it.item_id, it.text_hash())] = rule_pass(it)
        kept = {it.item_id for it in keep}
        rest = [(i, h) for i, h in catalogue if i not in kept]
        cache = self._signatures()
        known = cache.get(sorted({h for _, h in rest if h}))
        missing = [i for i, h in rest if not h or h not in known]
        sigs += [known[h] for _, h in rest if h and h in known]
        for k in range(0, len(missing), 1000):
            for it in fetch(missing[k:k + 1000]):
                rule_pass(it)
        cache.put(fresh)
        self._support, self._series = _count_signatures(sigs)
        self.stats["catalogue_cached"] += len(rest) - len(missing)
        self.stats["catalogue_rule_pass"] += len(missing)
        self.stats["prepare_seconds"] += time.perf_counter() - t0

    def _signatures(self) -> _SignatureCache:
        if self._sig_cache is None:
            self._sig_cache = _SignatureCache(self.settings.home_path / "cache" / "offline-support.sqlite",
                                              self.fingerprint())
        return self._sig_cache

    def fingerprint(self) -> str:
        """What an item's signature depends on besides its text: this module's and the pattern tables' code and the
        pack's types (a change of either makes every cached signature stale)."""
        import hashlib
        import json
        from pathlib import Path

        from . import offline_patterns

        h = hashlib.sha256()
        for f in (__file__, offline_patterns.__file__):
            h.update(Path(f).read_bytes())
        h.update(json.dumps([self.pack.name, self._types, self.pack.features_left_out]).encode())
        return h.hexdigest()[:32]

    def _safe_rule_points(self, it: ItemText) -> _Draft | str:
        try:
            return self._rule_points(it)
        except Exception as e:  # one bad record must not sink the batch: it becomes a failed item
            log.exception("offline extraction failed for item %s", it.item_id)
            return f"offline extractor: {type(e).__name__}: {e}"

    def extract(self, items: list[ItemText]) -> list[ItemResult]:
        """Knowledge points of ``items`` (one :class:`ItemResult` each, in order)."""
        t0 = time.perf_counter()
        drafts: list[_Draft | str] = []
        for it in items:
            cached = self._drafts.pop((it.item_id, it.text_hash()), None)
            drafts.append(cached if cached is not None else self._safe_rule_points(it))
        support, series = (self._support, self._series) if self._support is not None else _count_support(drafts)
        chosen: list[list[tuple[str, str]]] = []
        for d in drafts:
            if isinstance(d, str):
                chosen.append([])
                continue
            pts, raw, dropped = d
            # a franchise is a series: at least two works of the catalogue carry it
            single = [p for p in pts if p.source == "name" and len(series.get(mention_key(p.value), ())) < 2]
            if single:
                dropped["franchise_of_one_work"] += len(single)
                pts[:] = [p for p in pts if p not in single]
            chosen.append(self._select_candidates(raw, {mention_key(p.value) for p in pts}, dropped, support))
        typed = self._type_candidates([c for cs in chosen for c in cs])
        out: list[ItemResult] = []
        for it, draft, cands in zip(items, drafts, chosen):
            if isinstance(draft, str):
                out.append(ItemResult(item_id=it.item_id, text_hash=it.text_hash(), error=draft))
                continue
            points, _raw, dropped = draft
            for phrase, field_name in cands:
                hit = typed.get(mention_key(phrase))
                if hit is None:
                    dropped["low_similarity"] += 1
                    continue
                typ, conf = hit
                if typ in self.rules.closed_types:
                    dropped["closed_type"] += 1
                    continue
                if field_name != "title" and typ in self.rules.title_only_types:
                    dropped["title_only_type"] += 1
                    continue
                if typ in self.rules.name_only_types and not phrase[:1].isupper():
                    dropped["name_only_type"] += 1
                    continue
                points.append(_Point(typ, phrase, conf, phrase, "embedding"))
            out.append(self._finish(it, points, dropped))
        self.stats["items"] += len(items)
        self.stats["seconds"] += time.perf_counter() - t0
        return out

    def _finish(self, it: ItemText, points: list[_Point], dropped: Counter) -> ItemResult:
        best: dict[str, _Point] = {}
        rank = {"field": 5, "pattern": 4, "component": 4, "name": 3, "review": 2, "embedding": 1}
        for p in points:
            v = _trim_value(p.value.strip(" -:,.;"))
            key = mention_key(v)
            if not key or not re.search(r"[a-z0-9]", key):
                dropped["empty_value"] += 1
                continue
            p.value = v
            cur = best.get(key)
            if cur is None:
                best[key] = p
            else:
                dropped["duplicate"] += 1
                if (rank[p.source], p.confidence) > (rank[cur.source], cur.confidence):
                    best[key] = p
        kept = sorted(best.values(), key=lambda p: (-p.confidence, -rank[p.source]))
        if len(kept) > self.max_points:
            dropped["cap"] += len(kept) - self.max_points
            kept = kept[: self.max_points]
        for p in kept:
            self.stats[f"points_{p.source}"] += 1
        return ItemResult(
            item_id=it.item_id, text_hash=it.text_hash(),
            points=[KnowledgePoint(type=p.type, value=p.value, confidence=round(float(p.confidence), 3),
                                   evidence=(p.evidence or None) and p.evidence[:200]) for p in kept],
            dropped={k: int(v) for k, v in dropped.items() if v},
        )

    # -- rule-based points -------------------------------------------------------------------
    def _rule_points(self, it: ItemText) -> _Draft:
        """Points of the rules and the raw candidate phrases ``(phrase, field)`` of one item (not yet selected)."""
        pts: list[_Point] = []
        cands: list[tuple[str, str]] = []
        dropped: Counter = Counter()
        rules = self.rules
        it = without_features(it, self.pack.features_left_out)
        title = plain_text(it.title or "")

        # title
        is_accessory = False
        if title:
            hit: list[Pattern] = []
            spans, tpts = self._patterns(title, in_title=True, matched=hit)
            pts += tpts
            made_for: list[tuple[int, int]] = []  # what the item is made for: no candidate of its own either
            comp = self._components(title, spans, made_for) if rules.component_words else []
            pts += comp
            is_accessory = bool(comp) or self._names_accessory_brand(title)
            if rules.title_names and not is_accessory:
                pts += self._title_names(title, [p for p in hit if p.type == "Compatibility"],
                                         [p.value for p in tpts])
            elif not rules.title_names or is_accessory:
                cands += [(c, "title") for c in candidate_phrases(_mask(title, spans + made_for))]
        # brand
        if it.brand and rules.brand_type:
            b = plain_text(it.brand)
            if b and len(b.split()) <= MAX_VALUE_WORDS:
                pts.append(_Point(rules.brand_type, b, 0.95, b, "field"))
        # categories
        for cat in it.categories:
            c = plain_text(cat)
            if not c or mention_key(c) in _GENERIC_CATEGORIES:
                continue
            spans, cpts = self._patterns(c, in_title=False)
            pts += cpts
            if rules.category_type and not spans and len(c.split()) <= MAX_VALUE_WORDS:
                pts.append(_Point(rules.category_type, c, 0.8, c, "field"))
            elif not rules.category_type:
                cands += [(x, "categories") for x in candidate_phrases(_mask(c, spans))]
        # features ("Key: values" lines first)
        for feat in it.features:
            f = plain_text(feat)
            if not f:
                continue
            m = KEYED_LINE.match(f)
            rule = rules.field_rules.get(m.group(1).strip().lower()) if m else None
            if m and rule:
                vals = line_values(m.group(2))[: rule.max_values]
                for v in vals:
                    v2 = rule.transform(v) if rule.transform else v
                    if v2 and (rule.max_words is None or len(v2.split()) <= rule.max_words):
                        pts.append(_Point(rule.type, v2, 0.95, v, "field"))
                continue
            spans, fpts = self._patterns(f, in_title=False)
            pts += fpts
            if rules.component_words and self._component_type == "Components":
                pts += self._components(f, spans)
            # a line's key (`Director:`, `SURROUND SOUND:`) is read by the patterns above, but is never a candidate
            # value of its own: the candidates come from the rest of the line
            rest = _mask(f, spans)
            if m:
                rest = "|" * m.start(2) + rest[m.start(2):]
            cands += [(x, "features") for x in candidate_phrases(rest)]
        # description
        for d in it.description:
            t = strip_credit(plain_text(d))
            if not t:
                continue
            spans, dpts = self._patterns(t, in_title=False)
            pts += dpts
            cands += [(x, "description") for x in candidate_phrases(_mask(t, spans))]
        # reviews: patterns only, with support from several reviews
        if self.use_reviews and it.reviews:
            support: dict[tuple[str, str], list[_Point]] = {}
            for r in it.reviews:
                seen = set()
                for p in self._patterns(plain_text(r), in_title=False)[1]:
                    k = (p.type, mention_key(p.value))
                    if k not in seen:
                        seen.add(k)
                        support.setdefault(k, []).append(p)
            for ps in support.values():
                if len(ps) >= self.min_review_support:
                    p = ps[0]
                    pts.append(_Point(p.type, p.value, round(p.confidence * 0.7, 3), p.evidence, "review"))
                else:
                    dropped["review_support"] += 1
        return pts, cands, dropped

    def _select_candidates(self, cands, taken: set[str], dropped: Counter, support: Counter) -> list[tuple[str, str]]:
        seen = set(taken)
        out: list[tuple[str, str]] = []
        order = {"title": 0, "categories": 1, "features": 2, "description": 3}
        # prefer title/feature phrases, then short phrases of 2-4 words, then text order
        ranked = sorted(enumerate(cands), key=lambda x: (order[x[1][1]], 0 if 2 <= len(x[1][0].split()) <= 4 else 1, x[0]))
        for _, (phrase, field) in ranked:
            k = mention_key(phrase)
            if not k or k in seen:
                continue
            seen.add(k)
            if support[k] < self.min_support:
                dropped["low_support"] += 1
                continue
            if len(out) >= self.max_candidates:
                dropped["candidate_cap"] += 1
                continue
            out.append((phrase, field))
        return out

    def _patterns(self, text: str, *, in_title: bool,
                  matched: list[Pattern] | None = None) -> tuple[list[tuple[int, int]], list[_Point]]:
        """Points of the exact patterns in ``text`` and their spans; ``matched`` collects the patterns that hit."""
        spans, pts, groups = [], [], []
        for p in self._pattern_index.candidates(text):
            if p.title_only and not in_title:
                continue
            hit = False
            for m in p.regex.finditer(text):
                val = p.render(m)
                if not val or val == "None":
                    continue
                if not in_title and (p.not_after is not None and p.not_after.search(_clause_tail(text, m.start()))
                                     or p.not_before is not None and p.not_before.match(text, m.end())):
                    continue
                hit = True
                spans.append(m.span())
                pts.append(_Point(p.type, val, p.confidence, m.group(0), "pattern"))
                groups.append(p.group)
            if hit and matched is not None:
                matched.append(p)
        # a match inside a longer match of the same type and group is the same mention ("import" in "Japan import")
        keys = [f"{p.type}\0{g}" for p, g in zip(pts, groups)]
        inside = _contained(list(zip(keys, spans)))
        return spans, [p for p, k, sp in zip(pts, keys, spans) if (k, sp) not in inside]

    def _names_accessory_brand(self, title: str) -> bool:
        low = " " + re.sub(r"[^\w]+", " ", title.lower()) + " "
        return any(f" {b} " in low for b in self.rules.accessory_brands)

    def _components(self, text: str, spans: list[tuple[int, int]],
                    made_for: list[tuple[int, int]] | None = None) -> list[_Point]:
        """Head nouns (``headset``, ``charging cable``) of ``text`` with one descriptive modifier.

        For a pack whose head nouns are the item's *Product Type* (a title says what the item is), a product word is
        the item's type only where it is the head of its noun phrase and names the item itself: not as the modifier of
        another product word (``Fountain Pen Ink``, ``File Folder Labels``, ``Gel Pen Refills``), not after ``with``,
        ``for``, ``holds`` or ``includes`` in its part of the title (``Calculator with Clock and Calendar``, ``Binder,
        Holds 8.5" x 11" Paper``), not after a colour when the item's type was found before it (``Gel Pen … Black
        Ink``), and only in the first part of the title (between commas, ``|``, brackets and `` - ``) that has one
        (``Toner Cartridge, TN850, Replacement Black Toner``). The component right after ``for`` / ``fits`` is what
        the item is made for (``Battery for PS3 Controller``): not a point; its span goes to ``made_for``."""
        ctype = self._component_type
        if ctype is None:
            return []
        words = [(m.group(0), m.start(), m.end()) for m in re.finditer(r"[\w']+(?:-[\w']+)*|[^\w\s]", text)]
        lows = [w.lower() for w, _, _ in words]
        vocab = self.rules.component_words
        product_type = ctype != "Components"
        out: list[_Point] = []
        weak_set = WEAK_COMPONENTS_VG if ctype == "Components" else frozenset()

        def product_at(k: int) -> bool:
            return any(" ".join(lows[k:k + n]) in vocab for n in (4, 3, 2, 1) if k + n <= len(lows))

        part = 0  # the part of the title the word is in (product types)
        first_part: int | None = None  # the first part with a product type
        after_link = False  # after with / for / holds / plus in this part (product types)
        after_fit = False  # the next component word is what the item is made for (``Battery for PS3 Controller``)
        i = 0
        while i < len(words):
            if lows[i] in _TITLE_PARTS:
                part, after_link, after_fit = part + 1, False, False
            elif product_type and lows[i] in _LINK_WORDS:
                after_link = True
            elif lows[i] in _FIT_WORDS and i > 0:  # (a title that opens with "For PS4 …" names the item after it)
                after_fit = True
            elif lows[i] in _WITH_WORDS:  # ``for Xbox One w/ 4 Programmable Buttons``: the item's own again
                after_fit = False
            hit = None
            for n in (4, 3, 2, 1):
                phrase = " ".join(lows[i:i + n])
                if i + n <= len(words) and phrase in vocab:
                    hit = (phrase, n)
                    break
            if not hit:
                i += 1
                continue
            phrase, n = hit
            j = i + n
            nxt = lows[j] if j < len(words) else None
            at_head = (nxt is None or not nxt[0].isalnum() or nxt in STOPWORDS or nxt in vocab) and not after_fit
            if after_fit and made_for is not None:  # (the words from the one before it: ``PS3 Controller``)
                made_for.append((words[i - 1][1] if i > 0 else words[i][1], words[j - 1][2]))
            after_fit = False  # (only the first component after the word: ``for PS3 Controller Grip Cover``)
            prev = lows[i - 1] if i > 0 else None
            if product_type:  # the type of the item itself (see the docstring)
                at_head = (nxt is None or not nxt[0].isalnum() or nxt in STOPWORDS) and not after_link \
                    and not (prev in COLOUR_WORDS and out) and (first_part is None or part == first_part)
                if nxt is not None and product_at(j):  # a modifier of the product word after it
                    i += 1
                    continue
            prev_in_platform = i > 0 and any(a <= words[i - 1][1] < b for a, b in spans)
            gated = phrase not in weak_set or (prev is not None and (
                prev in COMPONENT_MODIFIERS_VG or prev in vocab or prev_in_platform))
            if ctype == "Components":
                canon = _components_canon(phrase)
            else:
                canon = phrase
            if at_head and gated:
                value = canon
                if prev and prev in _DESCRIPTIVE_VG and ctype == "Components" and not canon.startswith(prev) \
                        and prev not in canon.split():
                    value = f"{prev} {canon}"
                out.append(_Point(ctype, value, 0.9 if ctype == "Components" else 0.85,
                                  text[words[i - 1][1] if prev else words[i][1]:words[j - 1][2]], "component"))
                if product_type and first_part is None:
                    first_part = part
            i = j
        return out

    def _title_names(self, title: str, platforms: list[Pattern], found: Sequence[str] = ()) -> list[_Point]:
        """The franchise of a (non-accessory) title (``platforms``: patterns found in it), when the title shows
        it is part of a series: a sequel marker or a subtitle cut it from the game's name (``Tekken 2`` →
        ``Tekken``, ``Call of Duty: Black Ops III`` → ``Call of Duty``). The game's own name is not a
        knowledge point: it names the work, which :meth:`work_name` gives to ``SAME_WORK`` links. Not for points,
        cards and memberships, nor when it is the start of a value the patterns ``found`` (``Ben`` of ``Ben 10``)."""
        if _NOT_A_SERIES.search(title):
            return []
        name = _game_name(title, platforms)
        if not name:
            return []
        fr = _franchise(name)
        key = mention_key(fr) if fr else ""
        if (fr and len(fr) >= 3 and key not in GENERIC and len(fr.split()) <= MAX_VALUE_WORDS
                and key != mention_key(name) and not any(mention_key(v).startswith(key + " ") for v in found)):
            return [_Point("Game Features", fr, 0.75, title, "name", work=mention_key(name))]
        return []

    def work_name(self, title: str | None) -> str | None:
        """The name of the work a title sells: the whole title without platforms, bracketed notes, edition,
        packaging and region words (a pack whose titles name one work as they are, ``title_is_work``: the title),
        or ``None`` for accessories, hardware, add-ons, bundles, guides and packs without title names
        (``"Dark Souls II - Xbox 360"`` and ``"Dark Souls II - PlayStation 3"`` → ``"Dark Souls II"``; ``"Pokemon -
        Red Version"`` keeps its subtitle)."""
        t = plain_text(title or "")
        if t and self.rules.title_is_work:  # a film's title, year included, names it (PackRules.title_is_work)
            return _SPACES.sub(" ", t).strip()
        if not t or not self.rules.title_names or _NOT_A_WORK.search(t):
            return None
        hit: list[Pattern] = []
        spans, _ = self._patterns(t, in_title=True, matched=hit)
        if self._components(t, spans) or self._names_accessory_brand(t):
            return None
        platform_spans = [m.span() for p in hit if p.type == "Compatibility" for m in p.regex.finditer(t)]
        chars = list(t)
        for a, b in platform_spans:
            chars[a:b] = [" "] * (b - a)
        name = _SPACES.sub(" ", _BRACKETED.sub(" ", "".join(chars))).strip(" -:,/|")
        for _ in range(4):
            before = name
            name = _LEADING_SPEC.sub("", name)
            name = _strip_edition(name)
            name = _TRAILING_JUNK.sub("", name).strip(" -:,.&+/|")
            if name == before:
                break
        if _HARDWARE_LEFT.match(name) and not re.match(rf"{re.escape(name)}\s*[-:–(\[]", t, re.I):
            return None
        return name if re.search(r"[A-Za-z]{2}", name) else None

    # -- embedding typing --------------------------------------------------------------------
    def _phrase_vectors(self, keys: list[str]) -> np.ndarray:
        """``(K, dim)`` L2-normalised vectors of the candidate keys, in one ``encode`` call.

        ``words``: the mean of the vectors of the phrase's words (each distinct word embedded once, and
        cached like every text); ``model``: each phrase through the model.
        """
        if self.phrase_vectors == "model":
            return self.embedder.encode(keys)
        toks = [k.split() for k in keys]
        words = list(dict.fromkeys(w for t in toks for w in t))
        W = self.embedder.encode(words)
        self.stats["words_embedded"] += len(words)
        at = {w: i for i, w in enumerate(words)}
        V = np.stack([W[[at[w] for w in t]].mean(axis=0) for t in toks]).astype(np.float32)
        return V / np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-12)

    def _type_candidates(self, cands: list[tuple[str, str]]) -> dict[str, tuple[str, float]]:
        """Type and confidence of each candidate key (above ``min_similarity``), one encode call for all."""
        keys = list(dict.fromkeys(mention_key(p) for p, _ in cands if mention_key(p)))
        if not keys:
            return {}
        protos, owner = self._prototypes()
        vecs = self._phrase_vectors(keys)                     # (K, dim)
        sims = vecs @ protos.T                                # (K, P)
        nt = len(self._embed_types)
        per_type = np.full((len(keys), nt), -1.0, dtype=np.float32)
        for ti in range(nt):
            cols = sims[:, owner == ti]                       # (K, P_t)
            # best single prototype, softened by the type's mean: a phrase must be near the type, not one example
            per_type[:, ti] = 0.7 * cols.max(axis=1) + 0.3 * cols.mean(axis=1)
        order = np.argsort(-per_type, axis=1)
        best = per_type[np.arange(len(keys)), order[:, 0]]
        second = per_type[np.arange(len(keys)), order[:, 1]] if nt > 1 else np.full(len(keys), -1.0)
        self.stats["phrases_embedded"] += len(keys)
        out = {}
        lo, hi = self.min_similarity, 0.8
        for k, ti, s, s2 in zip(keys, order[:, 0], best, second):
            if s < lo:
                continue
            conf = 0.3 + 0.45 * min(1.0, (float(s) - lo) / (hi - lo))
            if s - s2 < 0.02:
                conf -= 0.1
            out[k] = (self._embed_types[int(ti)], round(max(conf, 0.05), 3))
        return out


_GENERIC_CATEGORIES = frozenset({"video games", "games", "office products", "office & school supplies",
                                 "movies", "movies & tv", "accessories", "all products"})

_COMPONENT_CANON: dict[str, str] = {}


def _components_canon(phrase: str) -> str:
    if not _COMPONENT_CANON:
        from .offline_patterns import COMPONENTS_VG

        _COMPONENT_CANON.update(COMPONENTS_VG)
    return _COMPONENT_CANON.get(phrase, phrase)


def _signature(d) -> tuple[list[str], list[tuple[str, str]]]:
    """What one item's draft adds to the support counts: its candidate phrase keys, and its (franchise key, work)
    pairs."""
    keys = sorted({mention_key(c) for c, _ in d[1]})
    series = sorted({(mention_key(p.value), p.work) for p in d[0] if p.source == "name" and p.work})
    return keys, series


def _count_signatures(sigs) -> tuple[Counter, dict[str, set[str]]]:
    support: Counter = Counter()
    series: dict[str, set[str]] = {}
    for keys, pairs in sigs:
        support.update(keys)
        for k, work in pairs:
            series.setdefault(k, set()).add(work)
    return support, series


def _count_support(drafts: list) -> tuple[Counter, dict[str, set[str]]]:
    """Items per candidate phrase key, and the works (name keys) per franchise key, over ``drafts``."""
    return _count_signatures(_signature(d) for d in drafts if not isinstance(d, str))


class _SignatureCache:
    """Items' signatures (:func:`_signature`) by text hash, for one fingerprint of the rules, in SQLite
    (``<home>/cache/offline-support.sqlite``)."""

    def __init__(self, path, fingerprint: str) -> None:
        import sqlite3

        path.parent.mkdir(parents=True, exist_ok=True)
        self.fp = fingerprint
        self._db = sqlite3.connect(str(path), timeout=60)
        self._db.execute("CREATE TABLE IF NOT EXISTS sig (fp TEXT NOT NULL, hash TEXT NOT NULL, sig TEXT NOT NULL, "
                         "PRIMARY KEY (fp, hash))")

    def get(self, hashes: list[str]) -> dict[str, tuple[list[str], list[tuple[str, str]]]]:
        import json

        out: dict[str, tuple[list[str], list[tuple[str, str]]]] = {}
        for k in range(0, len(hashes), 900):
            chunk = hashes[k:k + 900]
            q = f"SELECT hash, sig FROM sig WHERE fp = ? AND hash IN ({','.join('?' * len(chunk))})"
            for h, sig in self._db.execute(q, [self.fp, *chunk]):
                keys, pairs = json.loads(sig)
                out[h] = (keys, [(a, b) for a, b in pairs])
        return out

    def put(self, rows: list[tuple[str, tuple[list[str], list[tuple[str, str]]]]]) -> None:
        import json

        if rows:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO sig (fp, hash, sig) VALUES (?, ?, ?)",
                                     [(self.fp, h, json.dumps(sig)) for h, sig in rows])


def _clause_tail(text: str, end: int, words: int = 8) -> str:
    """The last ``words`` words of the clause that ends at ``end`` (from the last ``.;:!?`` or line break)."""
    before = text[max(0, end - 120):end]
    cut = max(before.rfind(c) for c in ".;:!?\n")
    return " ".join(before[cut + 1:].split()[-words:])


def _contained(typed_spans: list[tuple[str, tuple[int, int]]]) -> set[tuple[str, tuple[int, int]]]:
    """The ``(type, span)`` that lie inside another, different span of the same type (one sweep per type)."""
    out: set[tuple[str, tuple[int, int]]] = set()
    by_type: dict[str, set[tuple[int, int]]] = {}
    for t, sp in typed_spans:
        by_type.setdefault(t, set()).add(sp)
    for t, sps in by_type.items():
        max_end = -1
        for a, b in sorted(sps, key=lambda x: (x[0], -x[1])):
            if max_end >= b:  # an earlier distinct span starts no later and ends no earlier
                out.add((t, (a, b)))
            max_end = max(max_end, b)
    return out


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each span replaced by a chunk separator."""
    if not spans:
        return text
    chars = list(text)
    for a, b in spans:
        for k in range(a, b):
            chars[k] = "|"
    return "".join(chars)


def _game_name(title: str, compat: list[Pattern]) -> str | None:
    """``"Final Fantasy XIII-2 Collector's Edition - Playstation 3"`` → ``"Final Fantasy XIII-2"``."""
    t = _BRACKETED.sub(" ", title)
    t = _SPACES.sub(" ", t).strip()
    parts = [p for p in _NAME_CUT.split(t) if p and p.strip()]
    if not parts:
        return None
    name = parts[0].strip()
    for _ in range(4):
        before = name
        for p in compat:  # a leading platform: "PS3 Macross 30" -> "Macross 30"
            m = p.regex.match(name)
            if m and m.end() < len(name):
                name = name[m.end():].strip(" -:,")
        name = _LEADING_SPEC.sub("", name)
        name = _strip_edition(name)
        for p in compat:
            m = None
            for m in p.regex.finditer(name):  # noqa: B007  (the last match is the one wanted)
                pass
            if m is not None and m.end() >= len(name.rstrip(" -:,.")) and m.start() > 0:
                name = name[: m.start()].strip()
        name = _TRAILING_JUNK.sub("", name).strip(" -:,.&+")
        if name == before:
            break
    if not re.search(r"[A-Za-z]{3}|[A-Za-z][.'’-]?[A-Za-z]", name) or not re.search(r"[A-Za-z]{3}", name):
        return None
    for p in compat:  # the name is only a platform
        m = p.regex.fullmatch(name)
        if m:
            return None
    return name


def _franchise(name: str) -> str | None:
    """``"Call of Duty 4: Modern Warfare"`` → ``"Call of Duty"``; ``"NBA 2K15"`` → ``"NBA 2K"``."""
    head = name.split(":")[0].strip() if ":" in name else name
    if len(head) < 3:
        head = name
    toks = head.split()
    for i, tok in enumerate(toks):
        if i >= 1 and _SEQUEL.match(tok.strip(",.!")):
            if re.match(r"^2K\d+$", tok):
                toks = toks[:i] + ["2K"]
            else:
                toks = toks[:i]
            break
    fr = " ".join(toks).strip(" -:,.&+")
    fr = re.sub(r"^(?:the)\s+", "", fr, flags=re.I) if len(fr.split()) > 1 else fr
    return fr or None
