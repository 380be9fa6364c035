"""Family relations between concepts: ``(:Concept)-[:BROADER]->(:Concept)``, never a merge.

``Xbox One`` and ``Xbox 360`` are both *Xboxes*, ``PlayStation 4 Pro`` is a *PlayStation 4*, ``Final
Fantasy X`` belongs to *Final Fantasy*; the variant guard (:mod:`.variants`) keeps each of them its own
concept, and this module stores the family link so that explanations can say "an Xbox One game, of the
Xbox family" knowingly instead of pretending the two are one.

A concept A is *narrower* than a concept B of the same type when one of A's member texts, with some of its
numbers and variant words removed, is exactly one of B's member texts (tokens compared, after the pack's
abbreviations are spelled out); only the nearest relatives are linked (fewest tokens removed), so
``PlayStation 4 Pro`` links to ``PlayStation 4`` and that one to ``PlayStation``. Concept ids, members
and names are never touched (churn 0); rerunning adds only missing edges. A pack type with ``families: false``
(the movies pack's People and Audience: ``Shane Black`` is no ``Shane``, ``rated PG-13`` no ``rated PG``) gets none.
"""

from __future__ import annotations

import logging
import time
from itertools import combinations

from pydantic import BaseModel, Field

from ..core.db import Database
from ..core.resources import cypher
from ..core.schema import TypePack
from .aliases import embedding_text
from .variants import family_base, joined, signature

log = logging.getLogger(__name__)

MAX_PARTS = 6  # texts with more numbers and variant words than this are not searched (2^6 subsets)


class FamilyReport(BaseModel):
    edges_by_type: dict[str, int] = Field(default_factory=dict, description="BROADER edges found per type")
    edges: int = 0
    seconds: float = 0.0


def family_pairs(concepts: list[dict], pack: str) -> list[dict]:
    """``[{narrow, broad, dropped}]`` for concepts ``[{id, keys}]`` of one type (keys: member mention keys)."""
    texts = {c["id"]: [embedding_text(k, pack) for k in (c["keys"] or [])] for c in concepts}
    index: dict[str, set[str]] = {}
    for cid, ts in texts.items():
        for t in ts:
            index.setdefault(joined(t), set()).add(cid)
    out = []
    for cid, ts in sorted(texts.items()):
        best: dict[str, list[str]] = {}
        best_r = MAX_PARTS + 1
        for t in ts:
            sig = signature(t, pack)
            parts = [("n", x) for x in sorted(sig.numbers)] + [("w", x) for x in sorted(sig.words)]
            if not parts or len(parts) > MAX_PARTS:
                continue
            for r in range(1, min(len(parts), best_r) + 1):
                for combo in combinations(parts, r):
                    nums = frozenset(x for kind, x in combo if kind == "n")
                    words = frozenset(x for kind, x in combo if kind == "w")
                    base = family_base(t, pack, nums, words)
                    for other in index.get(base, ()) if base else ():
                        if other == cid:
                            continue
                        if r < best_r:
                            best, best_r = {}, r
                        best.setdefault(other, sorted(x for _, x in combo))
                if best_r <= r:
                    break
        out += [{"narrow": cid, "broad": b, "dropped": d} for b, d in sorted(best.items())]
    return out


def link_families(db: Database, pack: TypePack, *, types: list[str] | None = None) -> FamilyReport:
    """Find and store the family relations of every type (or ``types``); returns the edges found per type."""
    t0 = time.perf_counter()
    if types is not None:
        pack.check(types)
    rep = FamilyReport()
    for type_ in types or pack.names:
        if not pack.get(type_).families:  # the pack says its values have no families (people, ratings)
            rep.edges_by_type[type_] = 0
            continue
        rows = db.query(cypher("concepts/family_members"), type=type_)
        pairs = family_pairs(rows, pack.name)
        if pairs:
            for i in range(0, len(pairs), 5000):
                db.write(cypher("concepts/write_broader"), pairs=pairs[i:i + 5000])
        rep.edges_by_type[type_] = len(pairs)
        rep.edges += len(pairs)
        log.info("%s: %d family relations", type_, len(pairs))
    rep.seconds = round(time.perf_counter() - t0, 3)
    return rep
