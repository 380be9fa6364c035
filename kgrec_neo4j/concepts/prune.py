"""Concepts that nothing uses, listed and removed on purpose (``kgrec concepts prune``).

The vocabulary never shrinks by itself: growth causes no churn, and an item extracted again (a new extractor, a
changed text) or removed by a reload leaves the concepts its old values made. A concept that lost every member stays
in the concept vector index, where it still places new mentions, and in every listing (after an extractor upgrade
on Video Games: *Ben* of *Ben 10*, *Left* of *Left 4 Dead*, *Limited* of *Limited Edition* bundles).

A concept is **unused** when no mention is ``CANONICAL`` to it, no item holds it (``HAS_KNOWLEDGE``), no user is
``INTERESTED_IN`` it and nothing else points at it but family relations (``BROADER``). Removing one changes no other
concept, no knowledge edge and no interest, so nothing a model reads changes: a concept nothing holds is in no item's
or user's fold-in. Its id and aliases are kept as retired on its ``(:KnowledgeType)``, so a concept grown later never
takes one of them: an id names one meaning for the life of the graph, as :func:`~kgrec_neo4j.concepts.store.
allocate_ids` promises.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, Field

from ..core.db import Database, batched
from ..core.resources import cypher

log = logging.getLogger(__name__)


class UnusedConcept(BaseModel):
    id: str
    type: str
    name: str | None = None
    aliases: list[str] = Field(default_factory=list)
    family: int = 0  # its BROADER relations, removed with it


class PruneReport(BaseModel):
    unused: list[UnusedConcept] = Field(default_factory=list)  # what was found unused
    removed: list[str] = Field(default_factory=list)  # the ids removed (empty without ``apply``)
    kept: list[str] = Field(default_factory=list)  # found unused, then used again before the write: kept


def unused_concepts(db: Database, types: list[str] | None = None) -> list[UnusedConcept]:
    """The concepts of ``types`` (None: every type) that nothing uses (module docstring), by type and name."""
    return [UnusedConcept(**r) for r in db.query(cypher("concepts/memberless"), types=types)]


def prune_concepts(db: Database, types: list[str] | None = None, *, apply: bool = False,
                   batch_size: int = 1000) -> PruneReport:
    """List the unused concepts of ``types``; with ``apply``, remove them (each batch in one transaction that checks
    again that nothing uses them) and keep their ids as retired. Idempotent: a second run finds nothing."""
    rep = PruneReport(unused=unused_concepts(db, types))
    if not apply or not rep.unused:
        return rep
    for chunk in batched([c.id for c in rep.unused], batch_size):
        got = db.execute(cypher("concepts/prune"), ids=chunk)
        removed = list(got[0]["removed"] or []) if got else []
        rep.removed.extend(removed)
        rep.kept.extend(sorted(set(chunk) - set(removed)))
    log.info("concepts prune: %d unused, %d removed, %d kept (used again)", len(rep.unused), len(rep.removed),
             len(rep.kept))
    return rep
