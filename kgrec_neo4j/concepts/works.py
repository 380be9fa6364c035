"""Editions and ports: items that are the same work, linked as ``(:Item)-[:SAME_WORK]->(:Item)``.

*Oblivion* and *Oblivion (Platinum Hits)*, the PS3 and the Xbox 360 *Dark Souls II*, the PS4 and the Vita
*Odin Sphere Leifthrasir* are one work sold several times. A recommender that sees a user own one of them
should not offer the others as news; serving demotes or groups them (setting ``same_work``) and says why.

**From titles**: the offline extractor's :meth:`~kgrec_neo4j.extract.offline.OfflineExtractor.work_name` strips
platform, edition, packaging and region words from a title (accessories, hardware, add-ons, bundles and
collections have no work name); two items whose work keys are equal (:func:`work_key`: the name's mention
key, a leading *the* dropped, ``&`` read as *and*) are the same work. **From knowledge**: the items' platform
mentions (the pack's ``Compatibility`` type) give the link's ``kind``: ``port`` (no platform in common),
``edition`` (a platform in common) or ``same`` (a side names none), and two items on platforms two or more
console generations apart are not linked (a remake or a new game of the same name). Groups larger than ``max_group`` items
are not linked (a generic name, not a work) and are reported.

Precision was measured on a hand-labelled sample (docs/concepts.md, ``bench/same_work_precision.py``).
"""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable
from itertools import combinations

from pydantic import BaseModel, Field

from ..core.config import Settings
from ..core.db import Database
from ..core.resources import cypher
from ..core.schema import TypePack
from ..extract.base import mention_key

log = logging.getLogger(__name__)

PLATFORM_TYPE = "Compatibility"

#: Console generation of each platform value of a pack (mention keys); two items on platforms two or more
#: generations apart are a remake or a new game of the same name (Star Wars Battlefront on Xbox and on PS4),
#: not one work. Platforms without a generation (PC, Mac, ...) never decide.
PLATFORM_GENERATIONS: dict[str, dict[str, int]] = {
    "video_games": {
        "nes": 3, "sega master system": 3, "atari": 2, "super nintendo": 4, "sega genesis": 4, "sega cd": 4,
        "game boy": 4, "game gear": 4, "neo geo": 4, "playstation": 5, "nintendo 64": 5, "sega saturn": 5,
        "game boy color": 5, "playstation 2": 6, "gamecube": 6, "xbox": 6, "dreamcast": 6, "game boy advance": 6,
        "playstation 3": 7, "xbox 360": 7, "wii": 7, "nintendo ds": 7, "psp": 7, "playstation 4": 8,
        "xbox one": 8, "wii u": 8, "nintendo 3ds": 8, "nintendo 2ds": 8, "playstation vita": 8,
        "nintendo switch": 8,
    },
}


class WorksReport(BaseModel):
    items: int = 0
    items_with_work: int = 0
    groups: int = 0
    edges: int = 0
    removed: int = 0
    by_kind: dict[str, int] = Field(default_factory=dict)
    skipped_groups: list[str] = Field(default_factory=list, description="work keys of groups above max_group")
    generations_apart: int = Field(0, description="pairs not linked: platforms two or more generations apart")
    reads_titles: bool = Field(True, description="the pack's rules read a work name from a title (video games do; "
                                                  "a pack without title names links nothing)")
    seconds: float = 0.0


def work_key(name: str) -> str:
    """``"The Elder Scrolls IV: Oblivion"`` and ``"Elder Scrolls IV Oblivion"`` → ``"elder scrolls iv oblivion"``."""
    k = mention_key(name.replace("&", " and "))
    k = re.sub(r"^the\s+", "", k)
    return re.sub(r"\s+", " ", k).strip()


def link_kind(pa: set[str], pb: set[str]) -> str:
    if not pa or not pb:
        return "same"
    return "edition" if pa & pb else "port"


def generations_apart(pa: set[str], pb: set[str], pack: str) -> bool:
    """Are the two items' platforms two or more console generations apart (and both known)?"""
    table = PLATFORM_GENERATIONS.get(pack, {})
    ga = {table[p] for p in pa if p in table}
    gb = {table[p] for p in pb if p in table}
    return bool(ga and gb) and min(abs(x - y) for x in ga for y in gb) >= 2


def same_work_pairs(rows: list[dict], work_name: Callable[[str], str | None], *, pack: str = "", max_group: int = 30
                    ) -> tuple[list[dict], WorksReport]:
    """Pairs ``{a, b, kind, key}`` (``a < b``) of items ``[{id, title, platforms, dataset}]``; ``work_name(title)``
    gives the work's name or ``None``; ``platforms`` are platform mention keys (the items' knowledge). Items of two
    datasets are never paired (two shops' copies of a game are not editions of each other, and a reload of one
    dataset rewrote the other's links)."""
    rep = WorksReport(items=len(rows))
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        key = _key(work_name, r["title"])
        if key:
            groups[(r.get("dataset") or "", key)].append(r)
            rep.items_with_work += 1
    pairs = []
    for (_, key), members in sorted(groups.items()):
        if len(members) < 2:
            continue
        if len(members) > max_group:
            rep.skipped_groups.append(key)
            continue
        rep.groups += 1
        for x, y in combinations(sorted(members, key=lambda m: m["id"]), 2):
            px, py = set(x["platforms"] or []), set(y["platforms"] or [])
            if generations_apart(px, py, pack):
                rep.generations_apart += 1
                continue
            kind = link_kind(px, py)
            pairs.append({"a": x["id"], "b": y["id"], "kind": kind, "key": key})
            rep.by_kind[kind] = rep.by_kind.get(kind, 0) + 1
    rep.edges = len(pairs)
    return pairs, rep


def link_same_work(db: Database, pack: TypePack, *, settings: Settings | None = None, max_group: int = 30,
                   items: list[str] | None = None) -> WorksReport:
    """Find the items that are the same work and store ``SAME_WORK`` links (stale ones removed, same transaction).

    Every item's work key is stored (``Item.work_key``, ``''`` for none, with ``work_title``: the title it was
    read from). With ``items`` (``kgrec update``: the items it extracted) only the groups those items leave or
    join are found again: the items' keys are read anew, every item stored under one of their old or new keys is
    regrouped, and only links touching those items change; the rest of the catalogue is not read. A graph whose
    items do not all have a stored key is linked whole. Packs without title names
    (:attr:`~kgrec_neo4j.extract.offline_patterns.PackRules.title_names`) get none, unless a title names one work
    as it is (``title_is_work``: films, whose titles carry their year).
    """
    from ..extract.offline import OfflineExtractor

    t0 = time.perf_counter()
    ex = OfflineExtractor(settings or db.settings, pack)
    names: dict[str, str | None] = {}

    def work_name(title: str) -> str | None:  # each title read once per call
        if title not in names:
            names[title] = ex.work_name(title)
        return names[title]

    if items is not None and db.value(cypher("works/unkeyed_items"), ids=sorted(set(items))):
        items = None  # keys were never stored for some items: link the whole catalogue once
    changed: list[dict] = []
    if items is not None:
        changed = db.query(cypher("works/item_titles"), platform_type=PLATFORM_TYPE, ids=sorted(set(items)))
        if any(r.get("work_title") == r["title"] and r.get("work_key") != _key(work_name, r["title"])
               for r in changed):
            # a title as it was, keyed otherwise: the rules changed since the keys were stored (the movies pack
            # read no work name before 2026-12-05), so the other items' keys are stale too: the whole catalogue
            changed, items = [], None
    scope: list[str] | None = None
    if items is None:
        rows = db.query(cypher("works/item_titles"), platform_type=PLATFORM_TYPE, ids=None)
    else:
        keys = {_key(work_name, r["title"]) for r in changed} | {r["work_key"] for r in changed}
        keys -= {"", None}
        rows = changed + db.query(cypher("works/items_by_key"), platform_type=PLATFORM_TYPE, keys=sorted(keys),
                                  ids=[r["id"] for r in changed])
        scope = sorted({r["id"] for r in rows})
    pairs, rep = same_work_pairs(rows, work_name, pack=pack.name, max_group=max_group)
    rep.reads_titles = bool(ex.rules.title_names or ex.rules.title_is_work)
    stored = [{"id": r["id"], "key": k, "title": r["title"]} for r in rows
              for k in [_key(work_name, r["title"])]
              if r.get("work_key") != k or r.get("work_title") != r["title"]]  # (a key of older rules is stale)

    def work(tx) -> int:
        for i in range(0, len(pairs), 5000):
            tx.run(cypher("works/write_same_work"), pairs=pairs[i:i + 5000]).consume()
        for i in range(0, len(stored), 5000):
            tx.run(cypher("works/set_keys"), rows=stored[i:i + 5000]).consume()
        rec = tx.run(cypher("works/clear_stale"), keep=[f"{p['a']}|{p['b']}" for p in pairs], scope=scope).single()
        return int(rec["removed"]) if rec else 0

    rep.removed = db.write_tx(work)
    rep.seconds = round(time.perf_counter() - t0, 3)
    log.info("same work%s: %d items with a work name, %d groups, %d links (%s), %d stale removed",
             f" ({len(rows)} items regrouped)" if scope is not None else "", rep.items_with_work, rep.groups,
             rep.edges, rep.by_kind, rep.removed)
    return rep


def _key(work_name: Callable[[str], str | None], title: str) -> str:
    """The work key of ``title`` (``''``: no work name, or one too short to group by)."""
    name = work_name(title)
    key = work_key(name) if name else ""
    return key if len(key) >= 3 else ""


def same_work_owned(db: Database, user: str, *, splits: tuple[str, ...] = ("train",)) -> dict[str, list[dict]]:
    """Items that are the same work as an item ``user`` owns (interacted with in ``splits``): item id → the
    owned items ``[{item, title, kind}]``. What serving reads to demote or group them."""
    rows = db.query(cypher("works/owned_same_work"), user=user, splits=list(splits))
    return {r["item"]: r["owned"] for r in rows}
