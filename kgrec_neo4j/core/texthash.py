"""The hash of an item's text: what an extractor reads, as one stable key.

``kgrec load`` stores it on every item it writes (``Item.current_text_hash``), and an extraction records it per
extractor (``Item.extract_hashes``: ``"<extractor>:<hash>"``), so that ``kgrec update`` finds the items whose
current text no extractor has done without reading any text. The same function serves both sides (loader and
extractor), so the two hashes of the same text are equal by construction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

TEXT_FIELDS = ("title", "description", "features", "categories", "brand")


def digest63(value: Any) -> int:
    """A 63-bit digest of ``repr(value)``: a number Neo4j stores as one integer property, written with derived
    values so that a later run compares it instead of the values (interest edges, borrowed item links)."""
    return int.from_bytes(hashlib.blake2b(repr(value).encode(), digest_size=8).digest(), "big") >> 1


def as_text_list(v: Any) -> list[str]:
    """A stored text field that holds a list (a single string counts as a list of one; ``None`` as empty)."""
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    return [str(x) for x in v if x is not None]


def item_text(row: Mapping[str, Any]) -> dict[str, Any]:
    """The text fields of ``row`` (a stored item or a loaded record) as an extractor reads them: ``title`` and
    ``brand`` a string or ``None``, the others lists of strings."""
    return {
        "title": row.get("title") if isinstance(row.get("title"), str) else None,
        "description": as_text_list(row.get("description")),
        "features": as_text_list(row.get("features")),
        "categories": as_text_list(row.get("categories")),
        "brand": row.get("brand") if isinstance(row.get("brand"), str) else None,
    }


def text_hash(row: Mapping[str, Any], reviews: Iterable[str] = ()) -> str:
    """The hash of an item's text fields (:func:`item_text` of ``row``) and of the ``reviews`` an extractor reads
    with them (none by default)."""
    payload = {**item_text(row), "reviews": list(reviews)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]
