"""Concepts that nothing uses, listed and removed on purpose (``kgrec concepts prune``).

The vocabulary never shrinks by itself: growth causes no churn, and an item extracted again (a new extractor, a
changed text) or removed by a reload leaves the concepts its old values made. A concept that lost every member stays
in the concept vector index, where it still places new mentions, and in every listing (after an extractor upgrade
on Video Games: *Ben* of *Ben 10*, *Left* of *Left 4 Dead*, *Limited* of *Limited Edition* bundles).

A concept is **unused** when no mention is ``CANONICAL`` to it, no item holds it (``HAS_KNOWLEDGE``), no user is
``INTERESTED_IN`` it, nothing else points at it but family relations (``BROADER``), and every narrower concept that
points at it is unused too: a parent that joins used concepts into a family (*PlayStation* above *PlayStation 3* and
*PlayStation 4*) stays, with the explanation paths through it. Removing unused concepts changes no other concept, no
knowledge edge, no interest and no family relation between used concepts, so nothing a model reads changes: a
concept nothing holds is in no item's or user's fold-in. A removed concept's id and aliases are kept as retired on its
``(:KnowledgeType)``, so a concept grown later never takes one of them: an id names one meaning for the life of the
graph, as :func:`~kgrec_neo4j.concepts.store.allocate_ids` promises.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, Field

from ..core.db import Database
from ..core.resources import cypher

log = logging.getLogger(__name__)


class UnusedConcept(BaseModel):
    id: str
    type: str
    name: str | None = None
    aliases: list[str] = Field(default_factory=list)
    family: int = 0  # its BROADER relations, removed with it
    children: list[str] = Field(default_factory=list)  # the narrower concepts pointing at it (unused too)


class PruneReport(BaseModel):
    unused: list[UnusedConcept] = Field(default_factory=list)  # what was found unused
    removed: list[str] = Field(default_factory=list)  # the ids removed (empty without ``apply``)
    kept: list[str] = Field(default_factory=list)  # found unused, then used again (or gone) before the write


def _unused(rows: list[dict[str, Any]]) -> list[UnusedConcept]:
    """The rows of ``concepts/memberless`` whose narrower concepts are all unused too (a fixpoint: a parent with one
    used child stays, and so does its own parent)."""
    left = {r["id"]: UnusedConcept(**r) for r in rows}
    while True:
        used = [c for c in left.values() if not set(c.children) <= left.keys()]
        if not used:
            return list(left.values())
        for c in used:
            del left[c.id]


def unused_concepts(db: Database, types: list[str] | None = None) -> list[UnusedConcept]:
    """The concepts of ``types`` (None: every type) that nothing uses (module docstring), by type and name."""
    return _unused(db.query(cypher("concepts/memberless"), types=types, ids=None))


def prune_concepts(db: Database, types: list[str] | None = None, *, apply: bool = False) -> PruneReport:
    """List the unused concepts of ``types``; with ``apply``, remove them and keep their ids as retired, in one
    transaction that locks them and reads them again first (one that gained a member, a knowledge edge, an interest
    or a used narrower concept since it was listed is kept). Idempotent: a second run finds nothing."""
    rep = PruneReport(unused=unused_concepts(db, types))
    if not apply or not rep.unused:
        return rep
    ids = [c.id for c in rep.unused]

    def work(tx: Any) -> list[str]:
        tx.run(cypher("concepts/lock"), ids=ids).consume()
        still = [c.id for c in _unused(tx.run(cypher("concepts/memberless"), types=types, ids=ids).data())]
        if not still:
            return []
        rec = tx.run(cypher("concepts/prune"), ids=still).single()
        return list(rec["removed"] or []) if rec else []

    removed = set(db.write_tx(work))
    rep.removed = [i for i in ids if i in removed]
    rep.kept = [i for i in ids if i not in removed]
    log.info("concepts prune: %d unused, %d removed, %d kept (used again, or gone)", len(rep.unused),
             len(rep.removed), len(rep.kept))
    return rep
