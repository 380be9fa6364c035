"""Reads and writes of ``INTERESTED_IN`` shared by the offline and the Graph-RAG extractor and the profile.

Edge contract: ``(:User)-[:INTERESTED_IN {horizon: 'long'|'short', polarity: +1|-1, weight (0..1],
confidence [0..1], evidence: [item id], updated_seq, support, extractor: 'offline'|'llm', run}]->(:Concept)``;
at most one edge per (user, concept, horizon, extractor). Each extractor owns its edges: a run replaces
only its own.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from ...core.db import Database
from ...core.errors import InputError
from ...core.resources import cypher

EXTRACTORS = ("offline", "llm")



class Interest(BaseModel):
    """One ``INTERESTED_IN`` edge with its concept (the one model of this edge, read by every stage)."""

    concept_id: str
    name: str
    type: str | None = None
    horizon: str
    polarity: int
    weight: float
    confidence: float | None = None
    extractor: str | None = None
    evidence: list[str] = Field(default_factory=list)
    evidence_titles: list[str | None] = Field(default_factory=list)
    updated_seq: int | None = None
    support: int | None = None  # how many interactions carry the concept (ranks interests of equal weight)
    attention: float | None = None  # |attention| the current model run wrote on the edge


def check_extractor(extractor: str | None) -> None:
    if extractor is not None and extractor not in EXTRACTORS:
        raise ValueError(f"extractor must be one of {list(EXTRACTORS)} or None (got {extractor!r})")


def user_ids(db: Database, *, limit: int | None = None, dataset: str | None = None) -> list[str]:
    """User ids in id order (the first ``limit`` when given)."""
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1 (got {limit})")
    return db.value(cypher("interests/dataset_users"), limit=limit, dataset=dataset) or []


def check_users(db: Database, ids: list[str]) -> None:
    """Raise :class:`~kgrec_neo4j.core.errors.InputError` naming the ids of ``ids`` that are not a ``(:User)``: such
    an id would count as a user computed, with nothing written."""
    found = set(db.value(cypher("interests/existing_users"), ids=list(ids)) or [])
    missing = [u for u in dict.fromkeys(ids) if u not in found]
    if missing:
        raise InputError(f"unknown user(s): {', '.join(map(repr, missing[:5]))}{' …' if len(missing) > 5 else ''}; "
                         f"nothing was done. --user takes a User.id of the graph (find one with `kgrec users list`)")


def read_interests(db: Database, user: str, *, extractor: str | None = None, min_confidence: float = 0.0) -> list[Interest]:
    """A user's interest edges, strongest first."""
    check_extractor(extractor)
    return [Interest(**r) for r in db.query(cypher("interests/user_interests"), user=user, extractor=extractor,
                                            min_confidence=min_confidence)]


def delete_interests(db: Database, extractor: str, *, users: list[str] | None = None, batch: int = 20_000) -> int:
    """Remove one extractor's edges (of ``users``, default all); returns how many."""
    check_extractor(extractor)
    n = 0
    while True:
        d = db.write(cypher("interests/delete_edges"), extractor=extractor, users=users, limit=batch)["relationships_deleted"]
        n += d
        if d < batch:
            return n
