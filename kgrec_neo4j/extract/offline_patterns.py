"""Exact pattern tables of the offline extractor, one :class:`PackRules` per type pack.

A pattern is only listed where a surface form maps to one knowledge point without judgement
(``PS4`` → Compatibility ``PlayStation 4``, ``64GB`` → Technical Specifications ``64 GB``); everything
else is typed by embedding similarity in :mod:`kgrec_neo4j.extract.offline`. A pack without rules
(a pack file added later) gets :data:`EMPTY_RULES`: no patterns, brand under ``Others``, the rest by
embeddings. Patterns whose type is not in the loaded pack are dropped at load time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

ValueFn = Callable[[re.Match], str]


@dataclass(frozen=True)
class Pattern:
    """One exact pattern: ``regex`` found in the text gives a point ``(type, value)``.

    ``value`` is a fixed canonical value, a ``str.format`` template over the named groups
    (``"{n} {unit}"``), or a function of the match; ``None`` keeps the matched text.
    """

    type: str
    regex: re.Pattern
    value: str | ValueFn | None
    confidence: float
    title_only: bool = False  # only in titles (too ambiguous in running text)
    prefixes: frozenset[str] | None = None  # lower-case strings one of which every match starts with
    # in running text (not titles): no point where ``not_after`` finds the last words of the clause before the match,
    # or ``not_before`` matches right after it (``writes on glass, metal and wood``: what it is used on)
    not_after: re.Pattern | None = None
    not_before: re.Pattern | None = None
    # patterns of one group hide a match inside a longer match of the group ("import" in "Japan import"); another
    # group's does not (the genre "sims" in the franchise "The Sims")
    group: str = ""

    def __post_init__(self):
        if self.prefixes is None:
            object.__setattr__(self, "prefixes", literal_prefixes(self.regex))

    def may_match(self, grams: set[str]) -> bool:
        """Cheap gate: can the pattern match a text whose 1..3-character substrings are ``grams``?"""
        return self.prefixes is None or not self.prefixes.isdisjoint(grams)

    def render(self, m: re.Match) -> str:
        if self.value is None:
            return m.group(0)
        if callable(self.value):
            return self.value(m)
        if "{" in self.value:
            return self.value.format(**{k: (v or "") for k, v in m.groupdict().items()}).strip()
        return self.value


@dataclass(frozen=True)
class FieldRule:
    """A ``"Key: a, b, c"`` line of ``features`` (movies: ``Director: ...``) mapped to a type."""

    type: str
    max_values: int = 3
    transform: Callable[[str], str | None] | None = None
    max_words: int | None = None  # longer values are dropped (a free-text line under a type-named key)


@dataclass(frozen=True)
class PackRules:
    """Everything pack-specific the offline extractor knows.

    Attributes:
        patterns: exact patterns, tried on every text field.
        field_rules: ``features`` lines ``"Key: values"`` by lower-case key.
        category_type: type for each entry of ``categories`` (``None``: categories are embedded).
        brand_type: type for the ``brand`` field.
        title_names: derive franchise / game name from titles (video games).
        component_words: head nouns that make a title an accessory (no game name is derived).
        accessory_brands: lower-case brands that start accessory titles.
        closed_types: types whose values come from the rules only: a candidate phrase typed as one of them by
            embedding similarity is dropped (it still counts as a rival, so a phrase nearest a closed type is not
            pushed into the next one). Video games: every type but Components. On titles alone, typing by
            similarity made *Quiet*, *Tablets* and *Certified* audiences, and platforms such as *Gaming*, *Port*
            and *D-pad*, content additions such as *Ear Force* and *Passthrough*, the colour *Blue* as a
            technical specification (docs/extraction-quality.md, "Values that were wrong").
        title_only_types: types that a phrase typed by similarity keeps only when it comes from the title; from
            any other field it is dropped like a closed type. Office: Product Type, the one type it keeps. In
            descriptions the phrases nearest it were mostly what the item works with or holds (*ballpoint pen*
            on dividers, *laser printer* on labels, *stamps* on a pouch).
        title_is_work: a title names one work as it is, with nothing to strip (films: *Chasing Amy (1997)*, the year
            in it): two items with one title are one work listed twice (MovieLens holds 18 such pairs), linked
            ``SAME_WORK`` (:mod:`kgrec_neo4j.concepts.works`). Video games read the work from the title instead
            (``title_names``); Office titles name products, several of which may share one.
        name_only_types: types that a phrase typed by similarity keeps only when it is written as a name (its first
            letter a capital); otherwise it is dropped like a closed type. Movies: Setting, the one type it keeps.
            Plots name places (*Berlin*, *Czechoslovakia*, *Gotham*) and use common nouns near the type (*places*,
            *travel*, *homeland*, *apartment*, *country*).
    """

    patterns: tuple[Pattern, ...] = ()
    field_rules: dict[str, FieldRule] = field(default_factory=dict)
    category_type: str | None = None
    brand_type: str | None = "Others"
    title_names: bool = False
    component_words: frozenset[str] = frozenset()
    accessory_brands: frozenset[str] = frozenset()
    closed_types: frozenset[str] = frozenset()
    title_only_types: frozenset[str] = frozenset()
    name_only_types: frozenset[str] = frozenset()
    title_is_work: bool = False


EMPTY_RULES = PackRules()

try:  # Python 3.11+
    import re._constants as _C
    import re._parser as _P
except ImportError:  # pragma: no cover
    import sre_constants as _C
    import sre_parse as _P

PREFIX_LEN = 3
_STOP = ("STOP", None)


class _TooMany(Exception):
    pass


def literal_prefixes(rx: re.Pattern, k: int = PREFIX_LEN, limit: int = 4000) -> frozenset[str] | None:
    """Lower-case prefixes (up to ``k`` characters) that every match of ``rx`` starts with, or ``None``.

    Derived from the parsed regex: literals and small character classes are expanded, zero-width
    assertions skipped, anything else (``\\w``, ``.``) ends a prefix. ``None`` when a match may start
    with anything. Used to skip patterns that cannot match a text without running them.
    """
    try:
        out = _expand(list(_P.parse(rx.pattern, rx.flags).data), "", k, limit)
    except (_TooMany, RecursionError):
        return None
    if not out or "" in out:
        return None
    return frozenset(out)


def _expand(items: list, cur: str, k: int, limit: int) -> set[str]:
    if len(cur) >= k or not items:
        return {cur}
    (op, av), rest = items[0], items[1:]
    if op == "STOP":
        return {cur}
    if op in (_C.ASSERT, _C.ASSERT_NOT, _C.AT):
        return _expand(rest, cur, k, limit)
    if op == _C.LITERAL:
        return _expand(rest, cur + chr(av).lower(), k, limit)
    if op == _C.SUBPATTERN:
        return _expand(list(av[-1]) + rest, cur, k, limit)
    if op == _C.BRANCH:
        out: set[str] = set()
        for b in av[1]:
            out |= _expand(list(b) + rest, cur, k, limit)
            if len(out) > limit:
                raise _TooMany
        return out
    if op in (_C.MAX_REPEAT, _C.MIN_REPEAT):
        lo, hi, body = av
        out = _expand(list(body) + (rest if hi == 1 else [_STOP]), cur, k, limit)
        if lo == 0:
            out |= _expand(rest, cur, k, limit)
        return out
    if op == _C.IN:
        chars: set[str] = set()
        for o, a in av:
            if o == _C.LITERAL:
                chars.add(chr(a).lower())
            elif o == _C.RANGE and a[1] - a[0] <= 40:
                chars |= {chr(c).lower() for c in range(a[0], a[1] + 1)}
            elif o == _C.CATEGORY and a == _C.CATEGORY_DIGIT:
                chars |= set("0123456789")
            else:
                return {cur}
        out = set()
        for c in chars:
            out |= _expand(rest, cur + c, k, limit)
        if len(out) > limit:
            raise _TooMany
        return out
    return {cur}


class PatternIndex:
    """Patterns by literal prefix: :meth:`candidates` yields, in table order, only patterns that may match."""

    def __init__(self, patterns: tuple[Pattern, ...]):
        self.patterns = patterns
        self.always = [i for i, p in enumerate(patterns) if p.prefixes is None]
        self.by_prefix: dict[str, list[int]] = {}
        for i, p in enumerate(patterns):
            for pre in p.prefixes or ():
                self.by_prefix.setdefault(pre, []).append(i)

    def candidates(self, text: str) -> list[Pattern]:
        idx = set(self.always)
        get = self.by_prefix.get
        for g in text_grams(text):
            hit = get(g)
            if hit:
                idx.update(hit)
        return [self.patterns[i] for i in sorted(idx)]


_MATCH_START = re.compile(r"(?<!\w)(?=.)", re.S)


def text_grams(text: str, k: int = PREFIX_LEN) -> set[str]:
    """Lower-case substrings of ``text`` of length 1..``k`` that start where a match may start (the gate of
    :meth:`Pattern.may_match`): every pattern begins with a ``(?<![\\w])`` look-behind, so only positions that do not
    follow a word character count (about one in six characters of running text)."""
    t = text.lower()
    starts = [m.start() for m in _MATCH_START.finditer(t)]
    return {t[i:i + n] for i in starts for n in range(1, k + 1) if i + n <= len(t)}

_FLAGS = re.IGNORECASE


def _rx(body: str, flags: int = _FLAGS) -> re.Pattern:
    # a number is never read from inside another one ("3/4 x 300", "5-1/8 x 8")
    before = r"(?<![\w/.,-])" if body.startswith("(?P<n>\\d") else r"(?<![\w])"
    return re.compile(rf"{before}(?:{body})(?![\w])", flags)


#: Printer makers whose "original" / "genuine" supplies the Office pack's Brand and Quality "original OEM" names.
_PRINTER_MAKERS = r"(?:hp|canon|epson|brother|lexmark|xerox|samsung|dell|ricoh|kyocera)"


def _table(type_: str, conf: float, rows: list[tuple[str | ValueFn | None, str]], *,
           flags: int = _FLAGS, title_only: bool = False, not_after: re.Pattern | None = None,
           not_before: re.Pattern | None = None, group: str = "") -> list[Pattern]:
    return [Pattern(type_, _rx(rx, flags), value, conf, title_only, not_after=not_after, not_before=not_before,
                    group=group) for value, rx in rows]


def _num_unit(m: re.Match) -> str:
    n = m.group("n").replace(",", "")
    unit = m.group("u").lower().rstrip(".")
    unit = {"tb": "TB", "gb": "GB", "mb": "MB", "ghz": "GHz", "mhz": "MHz", "mah": "mAh", "dpi": "DPI",
            "hz": "Hz", "w": "W", "watt": "W", "watts": "W", "v": "V", "volt": "V", "volts": "V",
            "fps": "fps", "feet": "ft", "foot": "ft", "ft": "ft", "inch": "inch", "inches": "inch", "in": "inch",
            '"': "inch", "mm": "mm", "cm": "cm", "m": "m", "bit": "bit", "oz": "oz", "lb": "lb", "lbs": "lb",
            "ml": "ml", "gsm": "gsm", "pt": "pt"}.get(unit, unit)
    return f"{n} {unit}"


def _count(m: re.Match) -> str:
    n = m.group("n")
    unit = m.group("u").lower().rstrip(".")
    unit = {"pcs": "pieces", "pc": "pieces", "piece": "pieces", "pk": "pack", "ct": "count", "packs": "pack",
            "sheet": "sheets", "page": "pages", "label": "labels", "envelope": "envelopes"}.get(unit, unit)
    return f"{n} {unit}"


def _edition(m: re.Match) -> str:
    """``Collector's Edition`` → ``collector's edition``; a *standard* edition says nothing (no point)."""
    kind = re.sub(r"[’']", "'", m.group("kind").lower())
    kind = re.sub(r"\s+", " ", kind)
    if kind == "standard":
        return ""
    kind = {"goty": "game of the year", "collectors": "collector's", "collector's": "collector's",
            "directors": "director's"}.get(kind, kind)
    return f"{kind} edition"


# ------------------------------------------------------------------------------ video games

_PLATFORMS: list[tuple[str, str]] = [
    ("PlayStation 4", r"(?:sony\s+)?(?:ps\s?4|play\s?station\s?4|playstation®\s?4)(?:\s+(?:pro|slim))?"),
    ("PlayStation 3", r"(?:sony\s+)?(?:ps\s?3|play\s?station\s?3)(?:\s+slim)?"),
    ("PlayStation 2", r"(?:sony\s+)?(?:ps\s?2|play\s?station\s?2)"),
    ("PlayStation Vita", r"(?:ps\s?vita|playstation\s+vita|vita)"),
    ("PSP", r"(?:sony\s+)?(?:psp(?:\s?go)?|playstation\s+portable)"),
    ("PlayStation VR", r"(?:ps\s?vr|playstation\s+vr)"),
    ("PlayStation", r"(?:sony\s+)?(?:ps1|psx|ps\s?one|play\s?station(?!\s*(?:\d|vita|portable|vr|plus|network|now|move|eye|camera|store|classic|\+|®|™)))"),
    ("Xbox One", r"(?:microsoft\s+)?(?:xbox\s?one(?:\s+[sx])?|xb1|xbone)"),
    ("Xbox 360", r"(?:microsoft\s+)?(?:xbox\s?360|x360)"),
    ("Xbox", r"(?:microsoft\s+)?xbox(?!\s*(?:one|360|live|series|®|™))"),
    # a bare "Switch" is the console only in a list of platforms ("for PS4/Xbox One/PC/Switch", "Wii U, PC and
    # Switch"); elsewhere it is a part ("Cherry MX Blue Switches", "Omron Micro Switches", "RF Switch", "Fan w/
    # Switch") or a name ("Kill Switch")
    ("Nintendo Switch", r"(?:nintendo\s+switch|(?:(?<=,)|(?<=,\s)|(?<=[^w]/)|(?<=&\s)|(?<=\band\s)|(?<=\bor\s)"
                        r"|(?<=\bfor\s)|(?<=\bpc\s))(?-i:Switch|SWITCH)(?!es))"),
    ("Wii U", r"(?:nintendo\s+)?wii\s?u"),
    ("Wii", r"(?:nintendo\s+)?wii(?!\s?u(?![\w]))"),
    ("Nintendo 3DS", r"(?:new\s+)?(?:nintendo\s+)?3ds(?:\s?xl|\s?ll)?"),
    ("Nintendo 2DS", r"(?:new\s+)?(?:nintendo\s+)?2ds(?:\s?xl)?"),
    ("Nintendo DS", r"(?:nintendo\s+)?(?:nds|ds\s?lite|dsi(?:\s?xl)?|(?-i:DS))"),
    ("GameCube", r"(?:nintendo\s+)?(?:game\s?cube|ngc)"),
    ("Nintendo 64", r"(?:nintendo\s+64|n64)"),
    ("Super Nintendo", r"(?:super\s+nintendo(?:\s+entertainment\s+system)?|snes|super\s+nes|super\s+famicom)"),
    ("NES", r"(?:nes|nintendo\s+entertainment\s+system|famicom)"),
    ("Game Boy Advance", r"(?:nintendo\s+)?(?:game\s?boy\s+advance(?:\s+sp)?|gba(?:\s+sp)?)"),
    ("Game Boy Color", r"(?:nintendo\s+)?(?:game\s?boy\s+colou?r|gbc)"),
    ("Game Boy", r"(?:nintendo\s+)?game\s?boy(?!\s+(?:advance|colou?r))"),
    ("Sega Genesis", r"(?:sega\s+)?(?:genesis|mega\s?drive)"),
    ("Dreamcast", r"(?:sega\s+)?dreamcast"),
    ("Sega Saturn", r"sega\s+saturn"),
    ("Sega CD", r"sega\s+cd"),
    ("Game Gear", r"(?:sega\s+)?(?<!global\s)game\s?gear"),  # (not the accessory maker Global Game Gear)
    ("Sega Master System", r"(?:sega\s+)?master\s+system"),
    ("Atari", r"atari(?:\s+(?:2600|7800|jaguar|lynx))?"),
    ("Neo Geo", r"neo\s?geo"),
    ("PC", r"(?:pc(?:\s+(?:cd|dvd)(?:-rom)?)?|windows(?:\s+(?:10|8|7|xp|vista|95|98))?)"),
    ("Mac", r"(?:mac(?:intosh)?|mac\s?os(?:\s?x)?|os\s?x)"),
    ("Linux", r"linux"),
    ("Steam", r"steam"),
    ("iOS", r"(?:ios|iphone|ipad|ipod(?:\s+touch)?)"),
    ("Android", r"android"),
    ("Oculus Rift", r"oculus(?:\s+rift)?"),
    ("HTC Vive", r"(?:htc\s+)?vive"),
]

_TECH_VG: list[tuple[str | ValueFn | None, str]] = [
    (_num_unit, r"(?P<n>\d+(?:[.,]\d+)?)\s?-?(?P<u>tb|gb|mb|ghz|mhz|mah|dpi|hz|watts?|volts?|feet|foot|ft|inch(?:es)?|mm|cm|bit)"),
    ("4K", r"4k(?:\s+(?:uhd|ultra\s+hd))?"),
    ("1080p", r"1080[pi]|full\s+hd"),
    ("720p", r"720p"),
    ("HDR", r"hdr"),
    ("HDMI", r"hdmi"),
    ("Bluetooth", r"bluetooth"),
    ("USB-C", r"usb[\s-]?c|type[\s-]?c"),
    ("micro USB", r"micro[\s-]?usb"),
    ("USB 3.0", r"usb\s?3(?:\.0)?"),
    ("USB", r"usb(?![\s-]?(?:c|3))"),
    ("wireless", r"wireless|cordless"),
    ("wired", r"wired"),
    ("2.4 GHz wireless", r"2\.4\s?g(?!hz)"),
    ("Wi-Fi", r"wi-?fi"),
    ("component video", r"component(?:\s+(?:av|video|cable))"),
    ("composite AV", r"composite(?:\s+(?:av|video))?|a/v"),
    ("S-Video", r"s-video"),
    ("RGB", r"rgb"),
    ("VGA", r"vga"),
    # "optical" of a mouse's sensor, a keyboard's switches or a disc drive's lens is no audio port
    ("optical audio", r"optical\s+audio|toslink|optical(?!(?:[\s-]+[\w.®-]+){0,4}?[\s-]+(?:mouse|mice|sensors?|keyboard"
                      r"|lens|pick-?up|drive|dvd|switch(?:es)?|dpi|cpi|tracking|engine)\b)"),
    ("7.1 surround sound", r"7\.1(?:\s+(?:virtual\s+)?surround(?:\s+sound)?)?"),
    ("5.1 surround sound", r"5\.1(?:\s+surround(?:\s+sound)?)?"),
    ("surround sound", r"surround\s+sound"),
    ("stereo", r"stereo"),
    ("mechanical keys", r"mechanical"),
    ("LED lighting", r"led(?:\s+(?:light|lights|lighting|backlit))?|backlit|backlight"),
    ("3 in 1", r"(?P<n>\d)\s?-?in-?\s?1"),
    (lambda m: f"{m.group('n').lower()} generation", r"(?P<n>\d(?:st|nd|rd|th))\s+gen(?:eration)?"),
    (lambda m: f"version {m.group('n')}", r"(?:v|version\s?)(?P<n>\d+(?:\.\d+)?)"),
    (_count, r"(?P<n>\d+)\s?-?(?P<u>pack|pk|pcs|pc|pieces?|count|ct)"),
    (lambda m: f"{m.group('n')} pack", r"(?:pack|set)\s+of\s+(?P<n>\d+)"),
    ("64-bit", r"64-bit"),
    # (3D in a title is mostly a game's name: Super Mario 3D World, Duke Nukem 3D, Picross 3D)
    ("3D", r"3d(?=\s+(?:display|effects?|glasses|tv|screen|feedback|sound|audio|surround|vision|ready|capable|"
           r"support|compatible|graphics|gaming|mode))"),
]

_CONTENT_VG: list[tuple[str | ValueFn | None, str]] = [
    ("season pass", r"season\s+pass"),
    ("DLC", r"dlc|downloadable\s+content"),
    ("expansion pack", r"expansion(?!\s+pak)(?:\s+pack)?|add-on|addon"),  # (the N64 Expansion Pak is memory)
    ("map pack", r"map\s+pack"),
    (_edition, r"(?P<kind>collector'?s|collectors|limited|special|deluxe|gold|premium|complete|definitive|ultimate|"
               r"legendary|standard|digital\s+deluxe|game\s+of\s+the\s+year|goty|anniversary|director'?s\s+cut|"
               r"platinum|launch|day\s+one|steelbook|hardened|prestige|signature|championship|legacy|"
               r"remastered|enhanced|gold|royal|classic|black|elite|career|jumbo|starter|super\s+deluxe)"
               r"\s+edition"),
    ("game of the year edition", r"goty|game\s+of\s+the\s+year"),
    ("bundle", r"bundle|bundled"),
    ("collection", r"collection|trilogy|anthology|compilation|double\s+pack|2\s+games\s+in\s+1"),
    ("remastered", r"remaster(?:ed)?|hd\s+remix|hd\s+collection"),
    ("starter pack", r"starter\s+(?:pack|kit|set)"),
    ("character pack", r"character\s+pack|(?:level|adventure|team|trap)\s+pack"),
    ("points card", r"(?:microsoft|wii|nintendo|psn|playstation)\s+points|points\s+card|(?:game\s+)?currency|v-bucks|coins"),
    ("online membership", r"membership|subscription|xbox\s+live(?:\s+gold)?|playstation\s+plus|ps\s+plus|psn\s+card|"
                          r"playstation\s+network\s+card|nintendo\s+switch\s+online"),
    ("gift card", r"gift\s+card|prepaid\s+card|e-?shop\s+card|(?:\$|usd\s?)\d+\s+card"),
]

_COMPONENTS_VG = {
    # strong head nouns: an accessory wherever they stand at a chunk's end
    "headset": "headset", "headsets": "headset", "headphones": "headphones", "headphone": "headphones",
    "earbuds": "earbuds", "earphones": "earbuds", "microphone": "microphone", "mic": "microphone",
    "controller": "controller", "controllers": "controller", "gamepad": "controller", "gamepads": "controller",
    "joystick": "joystick", "joysticks": "joystick", "arcade stick": "arcade stick", "fight stick": "arcade stick",
    "fightstick": "arcade stick", "steering wheel": "racing wheel", "racing wheel": "racing wheel",
    "pedals": "pedals", "dance pad": "dance pad", "dance mat": "dance pad", "keyboard": "keyboard",
    "keyboards": "keyboard", "mouse pad": "mouse pad", "mousepad": "mouse pad", "charger": "charger",
    "chargers": "charger", "charging station": "charging station", "charging dock": "charging station",
    "charge station": "charging station", "charging stand": "charging station", "charge kit": "charge kit",
    "play and charge kit": "charge kit", "cable": "cable", "cables": "cable", "cord": "cable", "cords": "cable",
    "adapter": "adapter", "adapters": "adapter", "adaptor": "adapter", "converter": "adapter",
    "power supply": "power supply", "ac adapter": "AC adapter", "power adapter": "power supply",
    "battery pack": "battery pack", "battery": "battery", "batteries": "battery",
    "carrying case": "carrying case", "travel case": "carrying case", "carry case": "carrying case",
    "faceplate": "faceplate", "faceplates": "faceplate", "memory card": "memory card", "memory cards": "memory card",
    "sd card": "memory card", "micro sd": "memory card", "memory stick": "memory card", "memory unit": "memory card",
    "hard drive": "hard drive", "hdd": "hard drive", "ssd": "hard drive", "screen protector": "screen protector",
    "screen protectors": "screen protector", "stylus": "stylus", "styluses": "stylus", "touch pen": "stylus",
    "thumb grips": "thumb grips", "thumbsticks": "thumb grips", "thumbstick": "thumb grips", "analog stick": "thumb grips",
    "nunchuk": "nunchuk", "nunchuck": "nunchuk", "sensor bar": "sensor bar", "kinect": "Kinect sensor",
    "balance board": "balance board", "light gun": "light gun", "cooling fan": "cooling fan",
    "steering": "racing wheel", "vr headset": "VR headset", "webcam": "camera", "capture card": "capture card",
    "strategy guide": "strategy guide", "game guide": "strategy guide", "amiibo": "amiibo figure",
    "figures": "figure", "figure": "figure", "console": "console", "consoles": "console",
    "skin": "skin", "skins": "skin", "decal": "skin", "decals": "skin", "sticker": "skin", "stickers": "skin",
    # weak head nouns: only after a modifier, a platform or a component (see offline._components)
    "mouse": "mouse", "mice": "mouse", "case": "case", "cases": "case", "stand": "stand", "remote": "remote",
    "remotes": "remote", "fan": "cooling fan", "mount": "mount", "shell": "shell", "housing": "shell",
    "multitap": "multitap", "bracket": "mount", "controller pak": "memory card", "rumble pak": "rumble pak",
    "memory pak": "memory card", "gun": "light gun", "guitar": "guitar", "drums": "drum kit", "drum": "drum kit",
    "bag": "bag", "sleeve": "sleeve", "pouch": "pouch", "grip": "grip", "grips": "grip", "pen": "stylus",
    "mat": "mat", "pad": "pad", "wheel": "racing wheel", "stick": "arcade stick", "camera": "camera",
    "cover": "cover", "covers": "cover", "holder": "holder", "dock": "charging station", "kit": "kit",
    "protector": "screen protector", "speaker": "speaker", "speakers": "speaker", "cradle": "charging station",
    "tower": "storage tower", "rack": "storage rack", "organizer": "organizer", "glove": "glove",
    "strap": "wrist strap", "straps": "wrist strap", "lanyard": "wrist strap", "monitor": "monitor",
    "display": "monitor", "screen": "screen", "lens": "lens", "buttons": "buttons", "chip": "chip",
    "card": "card", "cards": "card", "cartridge": "cartridge",
}
WEAK_COMPONENTS_VG = frozenset({
    "mouse", "mice", "case", "cases", "stand", "remote", "remotes", "fan", "mount", "shell", "housing", "system",
    "gun", "guitar", "drums", "drum", "bag", "sleeve", "pouch", "grip", "grips", "pen", "mat", "pad", "wheel",
    "stick", "camera", "cover", "covers", "holder", "dock", "kit", "protector", "speaker", "speakers", "cradle",
    "tower", "rack", "organizer", "glove", "strap", "straps", "lanyard", "monitor", "display", "screen", "lens",
    "buttons", "chip", "card", "cards", "cartridge", "console", "consoles", "skin", "skins",
    "sticker", "stickers", "steering", "battery", "batteries", "cord", "cords",
})
COMPONENT_MODIFIERS_VG = frozenset({
    "wireless", "wired", "gaming", "stereo", "charging", "rechargeable", "replacement", "usb", "pro", "mini",
    "dual", "mechanical", "optical", "hard", "tv", "wall", "protective", "silicone", "carrying", "travel", "retractable",
    "extension", "power", "ac", "hdmi", "av", "component", "composite", "link", "memory", "storage", "racing",
    "steering", "arcade", "fight", "classic", "motion", "vr", "cooling", "headset", "controller", "console",
    "screen", "clear", "crystal", "leather", "rubber", "metal", "aluminum", "plastic", "hybrid", "slim",
    "compact", "portable", "deluxe", "premium", "official", "licensed", "guitar", "drum", "dance", "play",
    "game", "display", "skin", "vinyl", "decal", "full", "body", "thumb", "analog", "joystick", "adapter",
    "battery", "micro", "sd", "ps", "touch", "charge", "remote", "wii", "xbox", "nintendo", "sony", "playstation",
    "3ds", "ds", "psp", "vita", "switch", "ps4", "ps3", "ps2", "360", "one", "pc", "gamecube", "n64",
})

_FUNCTIONALITY_VG: list[tuple[str | ValueFn | None, str]] = [
    ("charging", r"charg(?:ing|es|e)(?!\s+(?:station|dock|stand|cable|kit))|recharg(?:e|ing)"),
    ("rechargeable", r"rechargeable"),
    ("cooling", r"cooling|cooler"),
    ("vibration feedback", r"vibration|rumble|force\s+feedback|haptic"),
    ("motion control", r"motion\s+(?:control(?:s|led)?|sensing|plus|sensor)|gyro(?:scope)?|move\s+motion"),
    ("voice chat", r"voice\s+chat|chat|communicator"),
    ("game capture", r"game\s+capture|capture|record(?:ing|er)?"),
    ("streaming", r"stream(?:ing)?|broadcast(?:ing)?"),
    ("protection", r"protect(?:ion|ive|or|s)?|anti-?scratch|shock-?proof|scratch-?proof"),
    ("storage", r"storage|organi[sz]er|organi[sz]e"),
    ("turbo function", r"turbo\s+(?:button|function|fire|mode|feature)s?|turbo/"),
    ("programmable buttons", r"programmable|macro(?:s)?|remap(?:pable)?"),
    ("noise cancelling", r"noise[\s-]+cancel(?:l)?ing|noise\s+reduction"),
    ("cheats", r"cheat(?:s|ing)?|action\s+replay|game\s?shark|codebreaker"),
    ("data transfer", r"data\s+transfer|save\s+transfer|backup"),
    ("repair", r"repair|screwdriver|tool\s?kit|replacement\s+parts?"),
    ("cleaning", r"clean(?:ing|er)|dust\s+(?:cover|proof)"),
    ("volume control", r"volume\s+control|mute"),
    ("extension", r"extension|extender"),
    ("remote play", r"remote\s+play"),
    ("camera tracking", r"eye\s?toy|playstation\s+(?:eye|camera)|head\s+tracking"),
]

_PERFORMANCE_VG: list[tuple[str | ValueFn | None, str]] = [
    (lambda m: f"{m.group('n')} fps", r"(?P<n>\d+)\s?fps"),
    ("low latency", r"low[\s-]+latency|lag[\s-]+free|no\s+lag|zero\s+lag|ultra[\s-]+low\s+latency"),
    (lambda m: f"{m.group('n')} hour battery life", r"(?P<n>\d+)\s?(?:\+\s?)?(?:hours?|hrs?)(?:\s+(?:battery|play(?:time)?|of\s+play))?"),
    ("long battery life", r"long(?:er|-lasting)?\s+battery(?:\s+life)?|long[\s-]+lasting"),
    ("fast charging", r"fast\s+charg(?:e|ing)|quick\s+charg(?:e|ing)|rapid\s+charg(?:e|ing)"),
    ("durable", r"durable|heavy[\s-]+duty|rugged"),
    ("high precision", r"high[\s-]+precision|precision|accurate|high\s+sensitivity"),
    ("ergonomic", r"ergonomic(?:ally)?"),
    ("lightweight", r"light[\s-]?weight"),
    ("high performance", r"high[\s-]+performance|pro[\s-]+grade|tournament[\s-]+grade"),
]

_DEMOGRAPHICS_VG: list[tuple[str | ValueFn | None, str]] = [
    ("kids", r"kids|kid's|children(?:'s)?|child|toddlers?|preschool(?:ers)?|junior|jr\.?"),
    ("family", r"family|families"),
    ("girls", r"girls?"),
    ("teen", r"teens|for\s+teens?|rated\s+t"),
    ("mature", r"mature|rated\s+m|adults?\s+only"),
    ("beginners", r"beginners?|learn\s+to\s+play"),
    ("hardcore gamers", r"hardcore|pro\s+gamers?|professional\s+gamers?"),
    ("seniors", r"seniors?"),
]

_USAGE_VG: list[tuple[str | ValueFn | None, str]] = [
    ("party game", r"party"),
    ("travel", r"travel|portable|on\s+the\s+go"),
    ("fitness", r"fitness|workout|exercise|yoga|fit(?=\s|$)"),
    ("online play", r"online(?!\s+(?:game\s+)?code)|mmo|massively\s+multiplayer"),  # ([Online Game Code]: a delivery)
    ("education", r"educational|learning|learn|math|reading|typing|spelling|brain\s+(?:age|training)"),
    ("competitive play", r"tournament[\s-]grade|competitive|e-?sports"),
    ("couch co-op", r"couch\s+co-?op|split[\s-]?screen|local\s+multiplayer"),
    ("virtual reality", r"virtual\s+reality|vr"),
]

# Genre words and franchises whose genre is not a matter of judgement.
_GAME_FEATURES_VG: list[tuple[str | ValueFn | None, str]] = [
    ("role-playing", r"rpg|jrpg|role[\s-]?playing|final\s+fantasy|dragon\s+quest|elder\s+scrolls|skyrim|oblivion|"
                     r"fallout|mass\s+effect|dragon\s+age|persona|kingdom\s+hearts|pok[eé]mon|tales\s+of|"
                     r"diablo|baldur'?s\s+gate|neverwinter|fable|the\s+witcher|xenoblade|fire\s+emblem|"
                     r"star\s+ocean|chrono|shin\s+megami|disgaea|dark\s+souls|demon'?s\s+souls|bloodborne"),
    ("MMO", r"mmo(?:rpg)?|world\s+of\s+warcraft|guild\s+wars|everquest|final\s+fantasy\s+xiv|final\s+fantasy\s+xi"),
    ("first-person shooter", r"(?<![\d,]\d\d\d\s)(?<![\s,]\d\d\s)(?<![\s,](?:120|144|240)\s)fps|first[\s-]person\s+shooter|call\s+of\s+duty|battlefield|halo|doom|"
                             r"medal\s+of\s+honor|counter[\s-]strike|far\s+cry|borderlands|wolfenstein|"
                             r"killzone|(?<!final\s)resistance|crysis|bioshock|titanfall|(?<!'s\s)destiny|quake|unreal\s+tournament|"
                             r"half-life|left\s+4\s+dead|rainbow\s+six|ghost\s+recon|timesplitters|perfect\s+dark|"
                             r"goldeneye|overwatch|metroid\s+prime"),
    ("shooter", r"shooter|shoot\s+'?em\s+up|shmup|gears\s+of\s+war|splatoon|star\s+fox|contra"),
    ("racing", r"racing|racer|rally|kart|nascar|formula\s+(?:1|one)|f1|gran\s+turismo|forza|need\s+for\s+speed|"
               r"burnout|dirt|midnight\s+club|motorstorm|wipeout|project\s+gotham|ridge\s+racer|crash\s+team|"
               r"motocross|mx\s+vs|moto\s?gp|f-zero|trackmania|(?<!\bno\s)(?<!\bsecurity\s)driver(?!-free)|test\s+drive"),
    ("fighting", r"fighting|fighter|mortal\s+kombat|street\s+fighter|tekken|soul\s?calibur|dead\s+or\s+alive(?!\s+(?:xtreme|paradise))|"
                 r"smash\s+bros|marvel\s+vs\.?|king\s+of\s+fighters|guilty\s+gear|blazblue|injustice|virtua\s+fighter|"
                 r"killer\s+instinct|dragon\s+ball|naruto|def\s+jam"),
    ("wrestling", r"wrestling|wrestlemania|wwe|wwf|smackdown|tna|ecw"),
    ("boxing", r"boxing|fight\s+night|punch-?out"),
    ("mixed martial arts", r"mma|ufc"),
    ("American football", r"football|nfl|madden|ncaa\s+football"),
    ("soccer", r"soccer|fifa|pro\s+evolution|pes\s?\d+|winning\s+eleven"),
    ("basketball", r"basketball|nba|ncaa\s+basketball|march\s+madness"),
    ("baseball", r"baseball|mlb|the\s+show"),
    ("hockey", r"hockey|nhl"),
    ("golf", r"golf|pga|tiger\s+woods|hot\s+shots"),
    ("tennis", r"tennis|top\s+spin|virtua\s+tennis"),
    ("skateboarding", r"skate(?:board(?:ing)?)?|tony\s+hawk"),
    ("snowboarding", r"snowboard(?:ing)?|ssx|shaun\s+white"),
    ("fishing", r"fishing|bass\s+(?:pro|fishing)|angler"),
    ("hunting", r"hunting|deer\s+hunter|cabela'?s"),
    ("sports", r"(?<!\We-)(?<!^e-)(?<!\We\s)(?<!^e\s)sports?(?!-performance)"),  # (E-Sports mice, "Sports-Performance" headsets)
    ("platformer", r"platformer|super\s+mario|mario\s+bros|sonic|crash\s+bandicoot|spyro|rayman|ratchet|"
                   r"jak\s+(?:and|&|ii|3|x)|banjo|kirby|donkey\s+kong|mega\s?man|little\s+big\s+planet|"
                   r"littlebigplanet|sly\s+cooper|yoshi|psychonauts|castlevania|metroid(?!\s+prime)"),
    ("action-adventure", r"action[\s-]adventure|zelda|tomb\s+raider|uncharted|assassin'?s\s+creed|god\s+of\s+war|"
                         r"devil\s+may\s+cry|batman:?\s+arkham|prince\s+of\s+persia|okami|darksiders|"
                         r"ninja\s+gaiden|bayonetta"),
    ("open world", r"open[\s-]world|sandbox|grand\s+theft\s+auto|gta|saints\s+row|red\s+dead|watch\s+dogs|"
                   r"just\s+cause|mafia|sleeping\s+dogs|infamous|prototype|minecraft|no\s+man'?s\s+sky"),
    # the word alone is mostly a product line's name here (Stealth headsets and keyboards, Skylanders' Stealth Elf)
    ("stealth", r"stealth(?=[\s-]+(?:action|adventure|shooter|assassins?|game(?!\s+tower)|based|elements?|missions?|genre))|"
                r"metal\s+gear|splinter\s+cell|hitman|thief(?!'s)|dishonored|tenchu"),  # (A Thief's End)
    ("survival horror", r"survival\s+horror|horror|(?<!vs\s)(?<!vs\.\s)zombies?(?!\s+version)|resident\s+evil|silent\s+hill|dead\s+space|"
                        r"fatal\s+frame|dead\s+rising|the\s+evil\s+within|outlast|alan\s+wake|left\s+4\s+dead"),
    ("survival", r"survival"),
    ("music and rhythm", r"rhythm|guitar\s+hero|rock\s+band|dance\s+dance\s+revolution|ddr|just\s+dance|"
                         r"singstar|karaoke|dance|band\s+hero|dj\s+hero|rocksmith|taiko|"
                         r"(?<!gaming\sand\s)music(?!\s+cds?|\s+&\s+gaming)"),  # (a bundle's Music CD; headsets)
    ("simulation", r"simulat(?:ion|or)|sim(?:s|city)?|tycoon|roller\s?coaster|farming|harvest\s+moon|"
                   r"animal\s+crossing|flight\s+sim|truck\s+sim|story\s+of\s+seasons"),
    ("flight", r"flight|pilot|air\s+combat|ace\s+combat|dogfight|air\s+force|blazing\s+angels"),
    ("strategy", r"strategy(?!\s+guides?)|strategic|rts|tactics|tactical(?!\s+(?:audio|assault\s+commander))|civilization|command\s+(?:&|and)\s+conquer|starcraft|"
                 r"warcraft|age\s+of\s+(?:empires|mythology)|total\s+war|xcom|company\s+of\s+heroes|"
                 r"heroes\s+of\s+might|advance\s+wars|pikmin|tower\s+defense|halo\s+wars"),
    ("puzzle", r"puzzles?|tetris|bejeweled|puyo|lumines|(?<!dark\s)(?<!replacement\s)portal(?!\s+(?:of|owner|base))|professor\s+layton|picross|sudoku|crossword"),
    ("adventure", r"(?:graphic|text|point[\s-]and[\s-]click|puzzle|action|interactive|story|narrative)\s+adventures?|"
               r"adventure\s+games?|point[\s-]and[\s-]click|myst|monkey\s+island|telltale|walking\s+dead"),
    ("hidden object", r"hidden\s+objects?"),
    ("mystery", r"(?<!pok[eé]mon\s)myster(?:y|ies)|detective|sherlock|nancy\s+drew|ace\s+attorney|phoenix\s+wright"),
    ("action", r"(?<!\bdual\s)(?<!\ball\s)action(?!\s+(?:replay|controls?|controller|game\s+pad|pak|set))|hack\s+and\s+slash|beat\s+'?em\s+up|brawler|musou(?!\s+wii)|dynasty\s+warriors"),
    ("arcade", r"arcade|pinball|pac-?man|galaga|frogger|centipede"),
    ("card and board games", r"card\s+game|solitaire|poker|casino|blackjack|board\s+game|chess|chessmaster|"
                             r"monopoly|scrabble|mahjong|yu-gi-oh|magic:?\s+the\s+gathering|uno|jeopardy|"
                             r"wheel\s+of\s+fortune|trivia|quiz|trivial\s+pursuit|game\s+show"),
    ("virtual pets", r"pets?(?!\s+style)|petz|dogz|(?<!mad\s)catz|nintendogs|horsez|horses?"),
    ("cooking", r"cooking|cook|chef|kitchen"),
    ("war", r"(?<!o')war(?:fare)?|military(?!\s+edition)|wwii|world\s+war|ww2|vietnam"),
    ("space", r"space|(?<!samsung\s)galaxy(?!\s+(?:purple|s\d))|galactic|star\s+wars|star\s+trek|mass\s+effect|halo"),
    ("fantasy", r"fantasy|(?<!double\s)dragons?(?!\s+(?:rising|ball|deep))|(?<!swap\s)magic(?!\s+(?:joy|slide))|wizards?|sorcer(?:y|er)|elves|"
              r"knights(?!\s+of\s+the\s+(?:old|eternal))"),  # (a Knight alone: Arkham, Jedi, Shovel, Gabriel)
    ("superheroes", r"super\s?heroes|superhero|marvel|batman|spider-?man|superman|x-men|avengers|justice\s+league"),
    ("ninja", r"ninjas?|shinobi"),
    ("pirates", r"pirates?"),
    ("anime", r"anime|gundam|dragon\s+ball|naruto|one\s+piece|bleach|\.hack|sword\s+art"),
    ("multiplayer", r"multi-?player|\d\s*-?\s*players?"),
    ("co-op", r"co-?op(?:erative)?"),
    ("single player", r"single[\s-]player"),
    ("mini-games", r"mini-?games?|minigames?"),
    ("open world exploration", r"exploration|explore"),
    ("educational", r"edutainment"),
]

# Franchises and licensed universes: the shared concept two items of one series have in common.
_FRANCHISES_VG: list[tuple[str, str]] = [
    ("Star Wars", r"star\s+wars"), ("Marvel", r"marvel"), ("Batman", r"batman"), ("Spider-Man", r"spider-?man"),
    ("Harry Potter", r"harry\s+potter"), ("Disney", r"disney|pixar"), ("Pokemon", r"pok[eé]mon"),
    ("LEGO", r"lego"), ("Mario", r"mario"), ("Sonic", r"sonic"), ("Zelda", r"zelda"),
    ("Final Fantasy", r"final\s+fantasy"), ("Star Trek", r"star\s+trek"),
    ("Lord of the Rings", r"lord\s+of\s+the\s+rings|lotr|the\s+hobbit|middle[\s-]earth"),
    ("Transformers", r"transformers"), ("Teenage Mutant Ninja Turtles", r"teenage\s+mutant\s+ninja\s+turtles|tmnt"),
    ("SpongeBob", r"spongebob"), ("Dragon Ball", r"dragon\s*ball"), ("Naruto", r"naruto"), ("Gundam", r"gundam"),
    ("Halo", r"halo"), ("Call of Duty", r"call\s+of\s+duty"), ("Tom Clancy", r"tom\s+clancy'?s?"),
    ("Grand Theft Auto", r"grand\s+theft\s+auto|gta"), ("Resident Evil", r"resident\s+evil|biohazard"),
    ("Metal Gear", r"metal\s+gear"), ("Assassin's Creed", r"assassin'?s\s+creed"), ("The Sims", r"the\s+sims|sims"),
    ("Madden NFL", r"madden"), ("FIFA", r"fifa"), ("NBA 2K", r"nba\s+2k\d*"), ("NBA Live", r"nba\s+live"),
    ("Guitar Hero", r"guitar\s+hero"), ("Rock Band", r"rock\s+band"), ("Skylanders", r"skylanders"),
    ("Disney Infinity", r"disney\s+infinity"), ("Kingdom Hearts", r"kingdom\s+hearts"), ("Tomb Raider", r"tomb\s+raider"),
    ("Mortal Kombat", r"mortal\s+kombat"), ("Street Fighter", r"street\s+fighter"), ("Tekken", r"tekken"),
    ("Need for Speed", r"need\s+for\s+speed"), ("Gran Turismo", r"gran\s+turismo"), ("Forza", r"forza"),
    ("Battlefield", r"battlefield"), ("Far Cry", r"far\s+cry"), ("The Elder Scrolls", r"elder\s+scrolls|skyrim|oblivion|morrowind"),
    ("Fallout", r"fallout"), ("Mass Effect", r"mass\s+effect"), ("Dragon Age", r"dragon\s+age"),
    ("Warcraft", r"warcraft"), ("StarCraft", r"starcraft"), ("Diablo", r"diablo"), ("Kirby", r"kirby"),
    ("Donkey Kong", r"donkey\s+kong"), ("Metroid", r"metroid"), ("Castlevania", r"castlevania"),
    ("Mega Man", r"mega\s?man"), ("Crash Bandicoot", r"crash\s+bandicoot"), ("Spyro", r"spyro"),
    ("Ratchet & Clank", r"ratchet"), ("Tony Hawk", r"tony\s+hawk"), ("Silent Hill", r"silent\s+hill"),
    ("Devil May Cry", r"devil\s+may\s+cry"), ("God of War", r"god\s+of\s+war"), ("Uncharted", r"uncharted"),
    ("Gears of War", r"gears\s+of\s+war"), ("BioShock", r"bioshock"), ("Borderlands", r"borderlands"),
    ("Dragon Quest", r"dragon\s+quest|dragon\s+warrior"), ("Persona", r"persona"), ("Fire Emblem", r"fire\s+emblem"),
    ("Animal Crossing", r"animal\s+crossing"), ("Just Dance", r"just\s+dance"), ("Yu-Gi-Oh!", r"yu-gi-oh!?"),
    ("WWE", r"wwe|wwf"), ("James Bond", r"james\s+bond|007"), ("Scooby-Doo", r"scooby-?doo"), ("Shrek", r"shrek"),
    ("Cars", r"disney\s*(?:/|•)?\s*pixar\s+cars"), ("Toy Story", r"toy\s+story"), ("Madagascar", r"madagascar"),
    ("Hello Kitty", r"hello\s+kitty"), ("Barbie", r"barbie"), ("Dora", r"dora"), ("Ben 10", r"ben\s+10"),
    ("Power Rangers", r"power\s+rangers"), ("Jurassic Park", r"jurassic"), ("Alien", r"aliens?\s+(?:vs|colonial)"),
    ("Ghostbusters", r"ghostbusters"), ("The Simpsons", r"simpsons"), ("Family Guy", r"family\s+guy"),
    ("South Park", r"south\s+park"), ("Looney Tunes", r"looney\s+tunes"), ("Tiger Woods PGA Tour", r"tiger\s+woods"),
    ("Sid Meier", r"sid\s+meier'?s?"), ("Splinter Cell", r"splinter\s+cell"), ("Rainbow Six", r"rainbow\s+six"),
    ("Ghost Recon", r"ghost\s+recon"), ("Hitman", r"hitman"), ("Saints Row", r"saints\s+row"),
    ("Red Dead", r"red\s+dead"), ("Dead Space", r"dead\s+space"), ("Dead Rising", r"dead\s+rising"),
    ("Dark Souls", r"dark\s+souls"), ("The Witcher", r"witcher"), ("Monster Hunter", r"monster\s+hunter"),
    ("Dynasty Warriors", r"dynasty\s+warriors"), ("Ace Combat", r"ace\s+combat"), ("Destiny", r"destiny"),
    ("Minecraft", r"minecraft"), ("Portal", r"(?<!dark\s)(?<!replacement\s)portal(?!\s+(?:of|owner|base))"), ("Half-Life", r"half-life"), ("Left 4 Dead", r"left\s+4\s+dead"), ("Doom", r"doom"),
    ("Wolfenstein", r"wolfenstein"), ("Prince of Persia", r"prince\s+of\s+persia"), ("Banjo-Kazooie", r"banjo"),
    ("Ninja Gaiden", r"ninja\s+gaiden"), ("Soulcalibur", r"soul\s?calibur"), ("Dead or Alive", r"dead\s+or\s+alive"),
    ("Smash Bros.", r"smash\s+bros"), ("Pikmin", r"pikmin"), ("Star Fox", r"star\s?fox"), ("Splatoon", r"splatoon"),
    ("Xenoblade", r"xenoblade"), ("Professor Layton", r"professor\s+layton"), ("Phoenix Wright", r"phoenix\s+wright|ace\s+attorney"),
    ("Naughty Bear", r"naughty\s+bear"), ("Nancy Drew", r"nancy\s+drew"), ("Rayman", r"rayman|rabbids"),
    ("Kingdom Under Fire", r"kingdom\s+under\s+fire"), ("Shin Megami Tensei", r"shin\s+megami\s+tensei|megaten"),
    ("Disgaea", r"disgaea"), ("Tales of", r"tales\s+of"), ("Sly Cooper", r"sly\s+cooper"), ("Jak and Daxter", r"jak\s+(?:and|&)\s+daxter"),
    ("Sonic", r"sonic"), ("Frogger", r"frogger"), ("Pac-Man", r"pac-?man"), ("Tetris", r"tetris"),
]

_OTHERS_VG: list[tuple[str | ValueFn | None, str]] = [
    ("Japan import", r"japan(?:ese)?\s+import|(?:import\s+)?japan(?:ese)?(?:\s+version)?|jpn|jp\s+import"),
    ("import", r"import(?:ed)?"),
    ("PAL region", r"pal|european\s+version|uk\s+version|eu\s+version"),
    ("region free", r"region\s+free"),
    ("refurbished", r"refurbished|renewed|pre-?owned|used"),
    ("digital code", r"digital\s+code|online\s+game\s+code|download(?:able)?\s+code|download|digital|e-?code"),
    ("retail packaging", r"retail\s+packaging|retail\s+package"),
    ("bulk packaging", r"bulk\s+packaging|frustration[\s-]+free|non-retail"),
    ("greatest hits", r"greatest\s+hits|platinum\s+hits|player'?s\s+choice|nintendo\s+selects|essentials|classics?\s+edition"),
    ("officially licensed", r"officially\s+licensed|official(?:ly)?|licensed"),
    ("multi-pack", r"value\s+pack|multi-?pack"),
]

_ACCESSORY_BRANDS_VG = {
    "logitech": "Logitech", "turtle beach": "Turtle Beach", "mad catz": "Mad Catz", "madcatz": "Mad Catz",
    "nyko": "Nyko", "powera": "PowerA", "power a": "PowerA", "pdp": "PDP", "hori": "HORI", "razer": "Razer",
    "steelseries": "SteelSeries", "astro gaming": "Astro Gaming", "plantronics": "Plantronics", "intec": "Intec",
    "dreamgear": "dreamGEAR", "pelican": "Pelican", "energizer": "Energizer", "belkin": "Belkin",
    "afterglow": "Afterglow", "rock candy": "Rock Candy", "kingston": "Kingston", "sandisk": "SanDisk",
    "seagate": "Seagate", "western digital": "Western Digital", "corsair": "Corsair", "hyperx": "HyperX",
    "thrustmaster": "Thrustmaster", "saitek": "Saitek", "sennheiser": "Sennheiser", "tritton": "Tritton",
    "skullcandy": "Skullcandy", "datel": "Datel", "yobo": "Yobo", "retro-bit": "Retro-Bit", "hyperkin": "Hyperkin",
    "8bitdo": "8BitDo", "mayflash": "Mayflash", "kontrolfreek": "KontrolFreek", "insten": "Insten", "tnp": "TNP",
    "orzly": "Orzly", "skque": "Skque", "tomee": "Tomee", "amazonbasics": "AmazonBasics", "psyclone": "Psyclone",
    "cta digital": "CTA Digital", "rds": "RDS Industries", "gamestop": "GameStop", "dobe": "Dobe", "kmd": "KMD",
    "sades": "Sades", "kotion each": "Kotion Each", "bionik": "Bionik", "hip gear": "Hip Gear", "zeikos": "Zeikos",
    "performance designed products": "PDP", "redragon": "Redragon", "elgato": "Elgato", "avermedia": "AVerMedia",
    "hauppauge": "Hauppauge", "gioteck": "Gioteck", "cooler master": "Cooler Master",
    "roccat": "ROCCAT", "sharkoon": "Sharkoon", "mionix": "Mionix", "gamesir": "GameSir", "nacon": "Nacon",
    "snakebyte": "Snakebyte", "ipega": "iPega", "decalgirl": "DecalGirl", "skinit": "Skinit", "controller gear": "Controller Gear",
}
# brands any title may name (consoles' makers are Others only for accessories: "Sony PS4 controller")
_MAKERS_VG = {"sony": "Sony", "microsoft": "Microsoft", "nintendo": "Nintendo", "sega": "Sega"}


def _video_games() -> PackRules:
    pats: list[Pattern] = []
    pats += _table("Compatibility", 0.95, [(v, rx) for v, rx in _PLATFORMS])
    pats += _table("Content Additions", 0.9, _CONTENT_VG)
    pats += _table("Technical Specifications", 0.9, _TECH_VG)
    pats += _table("Performance Metrics", 0.85, _PERFORMANCE_VG)
    pats += _table("Functionality", 0.85, _FUNCTIONALITY_VG)
    pats += _table("User Demographics", 0.85, _DEMOGRAPHICS_VG)
    pats += _table("Usage Scenarios", 0.8, _USAGE_VG)
    pats += _table("Game Features", 0.9, [(v, rx) for v, rx in _FRANCHISES_VG], title_only=True, group="franchise")
    pats += _table("Game Features", 0.8, _GAME_FEATURES_VG)
    pats += _table("Others", 0.8, _OTHERS_VG)
    brands = {k: v for k, v in _ACCESSORY_BRANDS_VG.items() if v}
    pats += _table("Others", 0.9, [(v, re.escape(k).replace(r"\ ", r"\s+")) for k, v in brands.items()])
    return PackRules(
        patterns=tuple(pats),
        category_type="Game Features",
        brand_type="Others",
        title_names=True,
        component_words=frozenset(_COMPONENTS_VG),
        accessory_brands=frozenset(brands),
        closed_types=frozenset({"User Demographics", "Compatibility", "Usage Scenarios", "Game Features",
                                "Technical Specifications", "Content Additions", "Performance Metrics",
                                "Functionality"}),
    )


COMPONENTS_VG = _COMPONENTS_VG

# ------------------------------------------------------------------------------ office products

_OFFICE_PRODUCTS = [
    "ink cartridge", "toner cartridge", "toner", "ink", "gel pen", "ballpoint pen", "rollerball pen", "fountain pen",
    "pen", "pencil", "mechanical pencil", "colored pencils", "marker", "permanent marker", "dry erase marker",
    "highlighter", "crayons", "notebook", "composition book", "journal", "planner", "calendar", "notepad",
    "legal pad", "sticky notes", "post-it notes", "index cards", "binder", "view binder", "file folder",
    "hanging folder", "folder", "envelope", "envelopes", "mailer", "padded mailer", "bubble mailer", "label",
    "labels", "shipping labels", "label maker", "label tape", "stapler", "staples", "staple remover", "tape",
    "packing tape", "masking tape", "tape dispenser", "scissors", "calculator", "shredder", "paper shredder",
    "laminator", "laminating pouches", "printer", "printer paper", "copy paper", "paper", "cardstock",
    "clipboard", "eraser", "pencil sharpener", "whiteboard", "dry erase board", "bulletin board", "cork board",
    "desk organizer", "organizer", "file cabinet", "desk", "chair", "office chair", "desk lamp", "lamp",
    "cash box", "push pins", "paper clips", "binder clips", "rubber bands", "sheet protectors", "dividers",
    "tab dividers", "correction tape", "correction fluid", "glue stick", "glue", "ruler", "hole punch",
    "letter tray", "bookends", "portfolio", "presentation book", "report cover", "binding combs", "index tabs",
    "adhesive roller", "stamp", "ink pad", "receipt book", "ledger", "business cards", "card holder",
    "name badges", "badge holder", "lanyard", "mouse pad", "wrist rest", "monitor stand", "keyboard", "mouse",
    "headset", "battery", "batteries", "cable", "usb flash drive", "flash drive", "refill", "refills", "ribbon",
    "poster board", "easel pad", "chalk", "chalkboard", "dry erase", "magnets", "pushpins", "storage box",
    "file box", "magazine file", "wall file", "pocket chart", "sentence strips", "flash cards", "stickers",
    "teacher supplies", "gift wrap", "tissue paper", "photo paper", "label printer", "postal scale", "scale",
    "time clock", "time cards", "money bags", "coin wrappers", "check", "checks", "memo book", "sketchbook",
    "sketch pad", "paint", "paintbrush", "art supplies", "pencil case", "pencil pouch", "backpack", "desk pad",
    "wall calendar", "desk calendar", "appointment book", "address book", "guest book", "certificate",
    "award certificate", "frame", "document frame", "poly envelopes", "clasp envelopes", "file jackets",
    "expanding file", "accordion file", "project folders", "pocket folders", "report covers", "clip",
]
_OFFICE_BRANDS = [
    "HP", "Brother", "Canon", "Epson", "Dell", "Lexmark", "Samsung", "Xerox", "Ricoh", "Kyocera", "Dymo",
    "Avery", "Apple", "iPad", "iPhone", "Sharp", "Panasonic", "Okidata", "Konica Minolta", "Zebra", "Rollo",
    "Cricut", "Silhouette", "Fellowes", "Swingline", "Scotch", "Post-it", "Sharpie", "Pilot", "Paper Mate",
    "Bic", "Pentel", "uni-ball", "Expo", "Smead", "Pendaflex", "Wilson Jones", "Cardinal", "Mead", "Five Star",
    "Oxford", "Rolodex", "Bostitch", "Texas Instruments", "TI", "Casio", "AmazonBasics", "Moleskine", "Quartet",
    "Elmer's", "Crayola", "Prismacolor", "Staedtler", "Tombow", "Zebra Pen", "Westcott", "Duck", "Scholastic",
    "Ooly", "At-A-Glance", "Day-Timer", "Blue Sky", "Universal", "Officemate", "Rubbermaid", "Sparco", "ACCO",
    "GBC", "Royal", "Sentry", "Mr. Pen", "Pen+Gear", "Hammermill", "Georgia-Pacific", "Astrobrights", "Neenah",
]

_OFFICE_COMPAT = r"(?<![\w])(?:compatible\s+with|works\s+with|for\s+use\s+with|fits|for|replacement\s+for|use\s+with)\s+" \
    r"(?P<c>(?:" + "|".join(re.escape(b) for b in _OFFICE_BRANDS) + r")(?:\s+(?:[A-Z][\w-]*|\d[\w-]*)){0,3})"


def _office_compat(m: re.Match) -> str:
    words = m.group("c").split()
    return " ".join(words[:5])


#: Office materials in running text: the surfaces an item is used on, sticks to or cleans with are not what it is
#: made of ("writes on glass, metal and wood", "bonds paper and cloth", "erases with a dry cloth", "sticks to any
#: metal surface", "does not harm plastic"); read in the last words of the clause before the material. ``on`` counts
#: only right before the material or a list ending with it ("works on wood, paper, metal"), not in "a lock on the
#: exterior for security, and chrome-steel corners".
_OFFICE_SURFACE_CUES = re.compile(
    r"\b(?:including|like|than|such\s+as|harms?|bonds?|adheres?|(?<!non-)sticks?|writes?|writing|marks?|erases?|wipes?|"
    r"cleans?|cleaning|surfaces?|programs)\b"
    r"|\bon(?:to)?\s+(?:(?:the|a|an|both|most|many|any|all|other|smooth)\s+)*"
    r"(?:[\w'%-]+(?:\s+[\w'%-]+)?\s*(?:,|\band\b|\bor\b|&)\s*)*$", re.I)
_OFFICE_SURFACE_AFTER = re.compile(r"\s*(?:surfaces?|objects?)\b", re.I)


def _office() -> PackRules:
    pats: list[Pattern] = []
    pats.append(Pattern("Compatibility", re.compile(_OFFICE_COMPAT), _office_compat, 0.85))
    pats += _table("Compatibility", 0.85, [
        ("letter size", r"letter[\s-]size|8\s?(?:-?1/2|\.5)\s?(?:\"|in\.?|inch(?:es)?)?\s?x\s?11(?:\s?(?:\"|in\.?|inch(?:es)?))?"),
        ("legal size", r"legal[\s-]size|8\s?(?:-?1/2|\.5)\s?x\s?14"),
        ("A4", r"a4"),
        ("3-ring binders", r"3[\s-]ring(?:\s+binders?)?|three[\s-]ring"),
    ])
    pats += _table("Dimensions and Capacity", 0.9, [
        (_num_unit, r"(?P<n>\d+(?:[.,]\d+)?)\s?-?(?P<u>inch(?:es)?|in\.|mm|cm|ft|feet|oz|lbs?|ml|gb|gsm|pt)"),
        (_num_unit, r"(?P<n>\d{1,3}(?:\.\d+)?)\s?(?P<u>\")"),
        (_count, r"(?P<n>\d[\d,]*)\s?-?(?P<u>sheets?|pages?|count|ct|pack|packs|pk|pcs|pieces?|labels?|envelopes?|"
                 r"pens|pencils|markers|cartridges|rolls|boxes|reams|tabs|pockets|dividers|cards|notes|pads)"),
        (lambda m: f"pack of {m.group('n')}", r"(?:pack|set|box|case)\s+of\s+(?P<n>\d+)"),
        (lambda m: f"{m.group('n')} page yield", r"(?P<n>\d[\d,]*)\s+(?:page\s+)?yield"),
        (lambda m: f"{m.group('n')} page yield", r"yields?\s+(?:up\s+to\s+)?(?P<n>\d[\d,]*)\s+pages"),
        (lambda m: f"{m.group('n')} sheet capacity", r"(?P<n>\d+)[\s-]+sheet\s+capacity"),
        (lambda m: f"{m.group('n')} sheet capacity", r"(?:sheet\s+)?capacity:?\s+(?:up\s+to\s+)?(?P<n>\d+)(?:\s+sheets)?"),
        (lambda m: f"{m.group('n')} x {m.group('k')}", r"(?P<n>\d+(?:\.\d+)?)\s?(?:\"|in\.?|inch(?:es)?)?\s?x\s?(?P<k>\d+(?:\.\d+)?)(?:\s?(?:\"|in\.?|inch(?:es)?))?"),
    ])
    pats += _table("Materials", 0.85, [
        ("recycled", r"recycled|post-consumer"), ("stainless steel", r"stainless\s+steel"), ("steel", r"steel"),
        ("aluminum", r"alumin(?:i)?um"), ("plastic", r"plastic"), ("metal", r"metal"), ("wood", r"wood(?:en)?|woodcase"),
        ("leather", r"(?:faux\s+|genuine\s+|bonded\s+)?leather"), ("vinyl", r"vinyl"), ("polypropylene", r"polypropylene|poly"),
        ("cardstock", r"card\s?stock"), ("acid-free", r"acid[\s-]free"), ("archival", r"archival|photo[\s-]safe"),
        ("kraft paper", r"kraft"), ("glossy", r"gloss(?:y)?"), ("matte", r"matte"), ("bond paper", r"bond(?:\s+paper)?"),
        ("cotton", r"cotton"), ("rubber", r"rubber"), ("fabric", r"fabric|cloth|canvas"), ("mesh", r"mesh"),
        ("cork", r"cork"), ("bamboo", r"bamboo"), ("glass", r"glass"), ("acrylic", r"acrylic"), ("PVC", r"pvc"),
        ("pressboard", r"pressboard"), ("felt", r"felt"), ("magnetic", r"magnetic"), ("soft core", r"soft\s+cores?"),
    ], not_after=_OFFICE_SURFACE_CUES, not_before=_OFFICE_SURFACE_AFTER)
    pats += _table("Appearance", 0.85, [
        ("assorted colors", r"assorted(?:\s+colou?rs)?|multi-?colou?r(?:ed)?|rainbow"),
        ("black", r"black"), ("blue", r"blue"), ("red", r"red"), ("green", r"green"), ("yellow", r"yellow"),
        ("pink", r"pink"), ("purple", r"purple|violet"), ("orange", r"orange"), ("white", r"white"),
        ("gray", r"gr[ae]y"), ("silver", r"silver"), ("gold", r"gold"), ("clear", r"clear|transparent"),
        ("neon colors", r"neon|fluorescent"), ("pastel colors", r"pastel"), ("tri-color", r"tri-?colou?r"),
        ("glitter", r"glitter"), ("metallic", r"metallic"), ("scented", r"scented"),
    ])
    pats += _table("Functionality", 0.85, [
        ("erasable", r"erasable"), ("retractable", r"retractable"), ("refillable", r"refillable"),
        ("quick-dry ink", r"quick[\s-]dry(?:ing)?"), ("smear-proof", r"smear[\s-]proof|smudge[\s-]proof|smear[\s-]resistant"),
        ("waterproof", r"waterproof|water[\s-]resistant"), ("permanent", r"permanent"),
        ("self-adhesive", r"self[\s-](?:adhesive|stick|seal)|peel\s+(?:and|&)\s+(?:stick|seal)"),
        ("repositionable", r"repositionable|removable"),
        ("cross-cut shredding", r"cross[\s-]cut"), ("micro-cut shredding", r"micro[\s-]cut"), ("strip-cut shredding", r"strip[\s-]cut"),
        ("laminating", r"laminat(?:ing|ion|e)"), ("binding", r"binding"), ("tear-resistant", r"tear[\s-]resistant"),
        ("reusable", r"reusable"), ("rechargeable", r"rechargeable"), ("wireless", r"wireless"),
        ("jam-free", r"jam[\s-]free"), ("locking", r"lock(?:ing|able)"), ("stackable", r"stackable"),
        ("adjustable", r"adjustable"), ("ergonomic", r"ergonomic"), ("dry erase", r"dry[\s-]erase"),
        ("double-sided", r"double[\s-]sided|two[\s-]sided|reversible"), ("3-hole punched", r"(?:3|three)[\s-]hole\s+punched|pre-?punched"),
        ("perforated", r"perforated"), ("spiral bound", r"spiral|wire-?bound|wirebound"),
        ("college ruled", r"college[\s-]ruled"), ("wide ruled", r"wide[\s-]ruled"), ("graph ruled", r"graph(?:\s+ruled)?|grid"),
        ("dotted", r"dot(?:ted)?\s+grid|dotted"), ("fine point", r"(?:extra\s+|ultra\s+)?fine\s+(?:point|tip)"),
        ("medium point", r"medium\s+(?:point|tip)"), ("bold point", r"bold\s+(?:point|tip)"), ("chisel tip", r"chisel\s+tip"),
        ("blending and shading", r"blend(?:ing)?|shading"), ("customizable", r"customi[sz]able|personali[sz]e"),
        ("organizing", r"organi[sz](?:e|ing|ation)"), ("heavy duty", r"heavy[\s-]duty"), ("acid free", r"photo\s+safe"),
        ("easy to use", r"easy\s+to\s+use|easy-to-use"),
    ])
    pats += _table("Usage Scenarios", 0.8, [
        ("school", r"school|classroom|students?|teachers?|back\s+to\s+school|homework"),
        ("office", r"office|business|workplace|corporate"), ("home", r"home|household"),
        ("shipping and mailing", r"shipping|mailing|moving|postage|packing"), ("presentations", r"presentations?|meetings?"),
        ("arts and crafts", r"crafts?|crafting|scrapbook(?:ing)?|art\s+projects?|artists?|drawing|coloring|colouring"),
        ("filing", r"filing|archiving|records"), ("travel", r"travel|portable|on\s+the\s+go"),
        ("labeling", r"labell?ing"), ("gift wrapping", r"gift(?:s|\s+wrap(?:ping)?)"), ("holidays", r"holiday|christmas"),
        ("photos", r"photos?|photography"), ("kids", r"kids|children"), ("planning", r"planning|scheduling"),
        ("note taking", r"note[\s-]taking|notes"),
    ])
    pats += _table("Brand and Quality", 0.85, [
        # "original" or "genuine" alone is mostly a name or a boast (EXPO Original markers, "the original design",
        # Post-it "Original Canary Yellow", genuine leather, genuine stamps): only next to printer supplies or a
        # printer maker does it mean the maker's own supplies; "non-OEM", "alternative to the OEM" do not
        ("original OEM", r"(?:original|genuine)\s+(?:[\w-]+\s+){0,3}?(?:inks?|toners?|cartridges?|drums?|ribbons?"
                         r"|parts|equipment|supplies)|(?:original|genuine)\s+" + _PRINTER_MAKERS + r"|"
                         + _PRINTER_MAKERS + r"\s+(?:original|genuine)|(?<!non-)(?<!non\s)(?<!to\sthe\s)(?<!than\s)oem"),
        ("remanufactured", r"remanufactured|compatible\s+(?:replacement|cartridge|toner|ink)"),
        ("FSC certified", r"fsc(?:\s+certified)?|sfi"), ("made in USA", r"made\s+in\s+(?:the\s+)?usa"),
        ("premium quality", r"premium|professional[\s-]grade|artist[\s-]quality|high[\s-]quality"),
        ("non-toxic", r"non-?toxic|ap\s+certified"),
    ])
    pats += _table("Others", 0.8, [
        ("warranty", r"warranty|guarantee"), ("bulk pack", r"bulk"), ("value pack", r"value\s+pack|combo\s+pack"),
    ])
    return PackRules(
        patterns=tuple(pats),
        category_type="Product Type",
        brand_type="Brand and Quality",
        component_words=frozenset(_OFFICE_PRODUCTS),
        closed_types=frozenset({"Appearance", "Usage Scenarios", "Materials", "Functionality",
                                "Dimensions and Capacity", "Brand and Quality", "Compatibility", "Others"}),
        title_only_types=frozenset({"Product Type"}),
    )


OFFICE_PRODUCT_WORDS = tuple(_OFFICE_PRODUCTS)

# ------------------------------------------------------------------------------ movies


def _decade_from_year(text: str) -> str | None:
    m = re.search(r"\b(1[89]\d|20[0-2])\d\b", text)
    return f"{m.group(1)}0s" if m else None


def _runtime(text: str) -> str | None:
    m = re.search(r"(?:(\d+)\s*h)?\s*(\d+)?\s*min", text)
    if not m:
        m2 = re.search(r"(\d+)\s*h", text)
        if not m2:
            return None
        minutes = int(m2.group(1)) * 60
    else:
        minutes = int(m.group(1) or 0) * 60 + int(m.group(2) or 0)
    if minutes <= 0:
        return None
    if minutes < 90:
        return "under 90 minutes"
    if minutes <= 120:
        return "90 to 120 minutes"
    if minutes <= 150:
        return "2 to 2.5 hours"
    return "over 2.5 hours"


#: certificates of the US Production Code (before the 1968 ratings): a film of that era, no audience of its own
_CODE_CERTIFICATES = ("APPROVED", "PASSED")


def _age_rating(text: str) -> str | None:
    """``rated PG-13``; "not rated" / "unrated" as they are; the Production Code's certificates ("Approved",
    "Passed": the Audience value "passed" read as nothing) as ``Production Code approved``; a year or anything else
    without a letter (the scrape's "1994–1997") is no rating."""
    t = text.strip().upper()
    if not re.search(r"[A-Z]", t):
        return None
    if t in _CODE_CERTIFICATES:
        return "Production Code approved"
    return t.lower() if t in ("NOT RATED", "UNRATED") else f"rated {t}"


#: *murder* in a plot: the word, or a killer who is a person. Not an animal or a thing called one (*killer whale*,
#: *killer shark*, *killer rabbits*, *killer alien*), not the adjective (*most killer pitch*), not *lady-killer*, not
#: a *toy killer* (Toy Story's Sid had the theme *murder*): 10 of the 75 films whose plot says *killer*.
_MURDER = (r"murder(?:s|ed|ers?)?|(?<!lady-)(?<!lady\s)(?<!toy\s)(?<!most\s)killers?"
           r"(?!\s+(?:whales?|sharks?|rabbits?|aliens?|bees?|robots?|app|pitch|instinct)(?!\w))")


def _movies() -> PackRules:
    pats: list[Pattern] = []
    pats += _table("Production", 0.9, [
        (lambda m: f"{m.group('y')[:3]}0s", r"\((?P<y>1[89]\d\d|20[0-2]\d)\)"),
        ("black and white", r"black[\s-]and[\s-]white"),
        ("silent film", r"silent\s+film"),
    ], title_only=False)
    pats += _table("Others", 0.8, [
        ("based on a novel", r"based\s+on\s+(?:the|a)\s+(?:best-?selling\s+)?(?:novel|book)"),
        ("based on a true story", r"based\s+on\s+(?:a\s+)?true\s+(?:story|events)"),
        ("sequel", r"sequel"), ("remake", r"remake"),
    ])
    pats += _table("Setting", 0.8, [
        ("World War II", r"world\s+war\s+(?:ii|2|two)|wwii|nazis?"), ("World War I", r"world\s+war\s+(?:i|1|one)(?![\w])"),
        ("Vietnam War", r"vietnam"), ("outer space", r"outer\s+space|spaceship|space\s+station|astronauts?"),
        ("New York City", r"new\s+york|manhattan|brooklyn"), ("Los Angeles", r"los\s+angeles|hollywood"),
        ("small town", r"small\s+town"), ("the future", r"the\s+future|futuristic|post-apocalyptic"),
        ("the Old West", r"old\s+west|wild\s+west|frontier"), ("high school", r"high\s+school"),
        ("Paris", r"paris"), ("London", r"london"), ("prison", r"prison|jail"),
    ])
    pats += _table("Themes", 0.75, [
        ("coming of age", r"coming[\s-]of[\s-]age|growing\s+up"), ("revenge", r"revenge|vengeance|avenge"),
        ("friendship", r"friendship"), ("love story", r"love\s+story|falls?\s+in\s+love|romance"),
        ("family", r"family|families"), ("survival", r"survival|survive"), ("betrayal", r"betray(?:al|s|ed)?"),
        ("crime", r"crime|criminal|mob|mafia|gangsters?"), ("murder", _MURDER),
        ("war", r"(?<!star\s)war(?!\w)"), ("redemption", r"redemption"), ("heist", r"heist|robbery"),
        ("espionage", r"spy|spies|espionage|secret\s+agent"),
    ])
    return PackRules(
        patterns=tuple(pats),
        field_rules={
            "director": FieldRule("People", 2),
            "writer": FieldRule("People", 2),
            "cast": FieldRule("People", 4),
            "age rating": FieldRule("Audience", 1, _age_rating),
            "runtime": FieldRule("Production", 1, _runtime),
        },
        category_type="Genre",
        brand_type=None,
        closed_types=frozenset({"Genre", "Themes", "People", "Audience", "Style and Tone", "Production", "Others"}),
        name_only_types=frozenset({"Setting"}),
        title_is_work=True,
    )


def type_name_keys(type_names) -> dict[str, str]:
    """Feature keys that name a type of the pack, lower-cased, with the singular or plural too: for a pack file
    without a rules table (e.g. one ``kgrec types discover`` wrote), a ``"Director: a, b"`` line gives ``Director``
    points. ``Others`` names no key."""
    out: dict[str, str] = {}
    for t in type_names:
        if t == "Others":
            continue
        k = " ".join(t.lower().split())
        for key in (k, k[:-1] if k.endswith("s") and not k.endswith("ss") else k + "s"):
            out.setdefault(key, t)
    return out


@functools.cache
def rules_for(pack_name: str) -> PackRules:
    """The rules of a pack by name; :data:`EMPTY_RULES` for a pack without a table. Built once per process (a few
    hundred regular expressions, 0.2 s; more than ``re``'s own cache keeps): the rules are frozen."""
    return {"video_games": _video_games, "office_products": _office, "movies": _movies}.get(
        pack_name, lambda: EMPTY_RULES)()


def brand_names(pack: str) -> list[str]:
    """The brand and maker names the pack's rules know (the concept stage drops them from a value's content
    words: ``Pentel Hi-Polymer Block Eraser`` is a ``Hi-Polymer Block Eraser``)."""
    if pack == "video_games":
        return sorted(set(_ACCESSORY_BRANDS_VG.values()) | set(_MAKERS_VG.values()))
    if pack == "office_products":
        return list(_OFFICE_BRANDS)
    return []
