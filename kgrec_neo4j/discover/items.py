"""The items discovery reads: from dataset files or from the database, and a seeded sample of them."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from ..core.db import Database
from ..extract.base import ItemText


def items_from_dataset(paths: Sequence[str | Path]) -> list[ItemText]:
    """The items of a dataset folder or files (read with :func:`kgrec_neo4j.load.read`; no Neo4j)."""
    from ..load import read

    ds = read([Path(p) for p in paths])
    return [ItemText(item_id=i, title=r.get("title"), description=r.get("description") or [],
                     features=r.get("features") or [], categories=r.get("categories") or [],
                     brand=r.get("brand")) for i, r in ds.items.items()]


def items_from_db(db: Database) -> list[ItemText]:
    """The items stored in Neo4j (their text, as extractors read it)."""
    from ..extract.run import read_items

    return [it for it, _ in read_items(db)]


def _has_text(it: ItemText) -> bool:
    return bool(it.title or it.description or it.features)


def sample_items(items: Sequence[ItemText], n: int, *, seed: int = 0) -> list[ItemText]:
    """``n`` items with some text, drawn at random (seeded; in id order), or all of them if fewer."""
    if n < 1:
        raise ValueError(f"sample size must be >= 1 (got {n})")
    pool = sorted((it for it in items if _has_text(it)), key=lambda it: it.item_id)
    if len(pool) <= n:
        return pool
    picked = random.Random(seed).sample(range(len(pool)), n)
    return [pool[i] for i in sorted(picked)]
