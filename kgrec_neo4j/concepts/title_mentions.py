"""Typed mention texts cut from real item titles by simple rules (tests and benches of the concept stage).

Until the extractor stage writes ``(:Item)-[:MENTIONS]->(:Mention)``, the concept stage is exercised on
phrases taken verbatim from the titles of the bundled datasets: a title is split at its separators
(`` - ``, parentheses, brackets, ``:``, ``,``, ``|``, ``/``, `` with ``, `` for ``) and every chunk of
1..8 words gets a type from keyword rules (platform names → Compatibility, "edition"/"bundle" → Content
Additions, numbers with units → Technical Specifications, ...). The first chunk of a video-game title
(usually the game's name) goes to *Game Features* (franchise/setting); for office items the brand
field goes to *Brand and Quality* and the first chunk to *Product Type*. The texts are real; only
the type is a rule's guess. Nothing here is used by the concept stage itself.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import BaseModel

from ..core.db import Database
from ..extract.base import MAX_VALUE_WORDS, mention_key


class TitleMention(BaseModel):
    """One typed phrase of one item."""

    item_id: str
    type: str
    text: str
    key: str
    confidence: float


_SPLIT = re.compile(r"\s+[-\u2013\u2014]\s+|[()\[\]:|,;]|\s/\s|\s+with\s+|\s+for\s+|\s+w/\s+", re.I)

_VG_RULES: list[tuple[str, re.Pattern]] = [
    ("Compatibility", re.compile(
        r"\b(ps[1-5]|ps ?vita|psp|playstation(\s?\d| vita| portable| move| vr)?|xbox( one| 360| series [xs])?"
        r"|x360|xb1|nintendo( switch| ds| 3ds| 2ds| 64| wii u?| gamecube| entertainment system)?|wii( u)?"
        r"|gamecube|switch|3ds( xl)?|2ds|nds|dsi|gba|game ?boy( advance| color)?|snes|nes|n64|sega( genesis| saturn"
        r"| dreamcast| cd)?|genesis|dreamcast|pc|mac|windows( \d+| xp| vista)?|linux|android|ios|iphone|ipad)\b",
        re.I)),
    ("Content Additions", re.compile(
        r"\b(edition|bundle|dlc|season pass|collection|expansion|add[- ]?on|game of the year|goty|limited"
        r"|collector'?s|deluxe|download code|digital code|map pack|character pack|starter pack|trilogy|anthology"
        r"|remaster(ed)?|greatest hits|platinum hits|player'?s choice)\b", re.I)),
    ("Technical Specifications", re.compile(
        r"(\b\d+(\.\d+)?\s?(gb|tb|mb|mah|hz|ghz|ft|feet|foot|inch|inches|mm|cm|m|w|v|fps|p|k|in)\b|\d\"|"
        r"\b(wireless|bluetooth|usb|hdmi|wired|rechargeable|3d|hd|4k|1080p|720p|dual shock|dualshock)\b)", re.I)),
    ("Components", re.compile(
        r"\b(controllers?|cables?|chargers?|charging station|headsets?|headphones?|case|skins?|stand|adapters?"
        r"|battery|batteries|keyboard|mouse|mic|microphone|memory card|steering wheel|wheel|dock|cover|grips?"
        r"|faceplate|remote|sensor|kit|console|stylus|screen protector|hard drive|joystick|gamepad|pad|strap|bag"
        r"|pouch|thumbsticks?|buttons?|guitar|drum|fight stick|arcade stick|nunchuk|figure|amiibo)\b", re.I)),
    ("User Demographics", re.compile(r"\b(kids|family|teen|mature|adults?|children|girls|boys|beginners?|junior)\b",
                                     re.I)),
    ("Usage Scenarios", re.compile(r"\b(travel|party|portable|car|fitness|workout|dance|karaoke|online|multiplayer"
                                   r"|co-?op|racing|training|golf|fishing|hunting)\b", re.I)),
    ("Performance Metrics", re.compile(r"\b(fast|quick|high speed|low latency|long lasting|durable|high performance"
                                       r"|turbo|pro|elite|ultra|precision|cooling)\b", re.I)),
    ("Functionality", re.compile(r"\b(charg\w*|recording|streaming|protect\w*|vibration|rumble|storage|cooling fan"
                                 r"|motion|voice|camera|light|led|controller charger|play and charge)\b", re.I)),
]

_OFFICE_RULES: list[tuple[str, re.Pattern]] = [
    ("Dimensions and Capacity", re.compile(
        r"(\b\d+(\.\d+)?\s?(pack|packs|count|ct|pk|sheets?|pages?|inch|inches|in|mm|cm|oz|lbs?|ft|yards?|yd"
        r"|x|box|boxes|per|capacity|yield|gb|ml|pcs|pieces?|rolls?|labels?|envelopes?|cartridges?)\b|\d\"|\bx\s?\d)",
        re.I)),
    ("Appearance", re.compile(
        r"\b(black|blue|red|white|green|yellow|pink|purple|orange|gr[ae]y|silver|gold|clear|assorted|tri-?color"
        r"|colou?rs?|neon|pastel|translucent|metallic|navy|teal|brown|beige|ivory|print|pattern|floral)\b", re.I)),
    ("Materials", re.compile(
        r"\b(paper|plastic|metal|steel|wood(en)?|leather|vinyl|alumin(um|ium)|fabric|cardboard|glossy|matte"
        r"|recycled|cotton|mesh|acrylic|glass|rubber|cardstock|polypropylene|poly|kraft|bamboo|cork|gel|ink)\b",
        re.I)),
    ("Compatibility", re.compile(r"\b(compatible|fits|works with|replacement|for use with|designed for)\b", re.I)),
    ("Functionality", re.compile(
        r"\b(binding|laminat\w*|shred\w*|organiz\w*|label\w*|scan\w*|cop(y|ier)|fax|stapl\w*|punch|cut\w*|eras\w*"
        r"|writ\w*|mark\w*|wireless|adhesive|self[- ]seal\w*|retractable|refillable|rolling|adjustable)\b", re.I)),
    ("Usage Scenarios", re.compile(
        r"\b(school|office|home|classroom|shipping|mailing|presentations?|business|desk|travel|kids|teachers?"
        r"|students?|calendar|planner|filing)\b", re.I)),
    ("Brand and Quality", re.compile(
        r"\b(original|genuine|premium|certified|heavy[- ]duty|professional|oem|high[- ]quality|durable)\b", re.I)),
]

_DOMAIN_RULES = {"video_games": _VG_RULES, "office_products": _OFFICE_RULES}
_FIRST_CHUNK_TYPE = {"video_games": "Game Features", "office_products": "Product Type"}


def chunks(title: str) -> list[str]:
    """Title pieces of 1..MAX_VALUE_WORDS words, in order, whitespace-collapsed."""
    out = []
    for part in _SPLIT.split(title or ""):
        part = re.sub(r"\s+", " ", part).strip(" .-&+\"'")
        words = part.split()
        if not words or len(words) > MAX_VALUE_WORDS or not re.search(r"[A-Za-z]", part):
            continue
        out.append(part)
    return out


def typed_chunks(title: str, *, domain: str, brand: str | None = None) -> list[tuple[str, str, float]]:
    """``(type, text, confidence)`` for the chunks of one title (rules of ``domain``)."""
    if domain not in _DOMAIN_RULES:
        raise ValueError(f"domain must be one of {sorted(_DOMAIN_RULES)} (got {domain!r})")
    rules = _DOMAIN_RULES[domain]
    out: list[tuple[str, str, float]] = []
    for i, ch in enumerate(chunks(title)):
        typ = next((t for t, rx in rules if rx.search(ch)), None)
        if typ is not None:
            out.append((typ, ch, 0.9))
        elif i == 0:
            out.append((_FIRST_CHUNK_TYPE[domain], ch, 0.7))
        else:
            out.append(("Others", ch, 0.5))
    if brand and domain == "office_products" and len(brand.split()) <= MAX_VALUE_WORDS:
        out.append(("Brand and Quality", brand.strip(), 0.8))
    return out


def read_items(path: str | Path, *, limit: int | None = None) -> Iterator[dict]:
    """Items of a generic ``items.jsonl[.gz]`` file (dicts with ``item_id``, ``title``, ``brand``)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f):
            if limit is not None and n >= limit:
                break
            yield json.loads(line)


def title_mentions(items: Iterable[dict], *, domain: str) -> list[TitleMention]:
    """Typed mentions of ``items``, one per (item, type, key)."""
    out, seen = [], set()
    for it in items:
        for typ, text, conf in typed_chunks(it.get("title") or "", domain=domain, brand=it.get("brand")):
            key = mention_key(text)
            if not key or (it["item_id"], typ, key) in seen:
                continue
            seen.add((it["item_id"], typ, key))
            out.append(TitleMention(item_id=it["item_id"], type=typ, text=text, key=key, confidence=conf))
    return out


def write_mentions(db: Database, mentions: list[TitleMention], *, extractor: str = "title-rules", run: str = "title-rules",
                   batch_size: int = 5000) -> int:
    """Write ``(:Item)-[:MENTIONS]->(:Mention)`` like the extractor stage does (types checked per batch)."""
    from ..core.resources import cypher
    from ..core.schema import refuse_unknown_types

    text = cypher("concepts/seed_mentions")
    rows = [{"item": m.item_id, "type": m.type, "key": m.key, "text": m.text, "confidence": m.confidence}
            for m in mentions]
    for i in range(0, len(rows), batch_size):
        part = rows[i:i + batch_size]

        def work(tx, part=part):
            refuse_unknown_types(tx, {r["type"] for r in part})
            tx.run(text, rows=part, extractor=extractor, run=run).consume()

        db.write_tx(work)
    return len(rows)
