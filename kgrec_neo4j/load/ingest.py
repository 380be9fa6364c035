"""Ingest numbers: every load (but a reload that changes nothing), and every ``kgrec update``, takes the next one and
stamps what it changed with it (``User.ingest``, ``INTERACTED.ingest``); ``(:UpdateState {id: 'graph'})`` keeps the
last number and, per stage, the number up to which the stage has seen everything:

* ``classified_upto``: ``kgrec interactions classify`` over every user, or a completed update;
* ``interests_upto``: ``kgrec interests extract`` (offline) over every user, or a completed update;
* ``updated_upto``: a completed ``kgrec update``.

A stage run over everything records the number that was current when it started, so a load that arrives while it
runs is left for the next update.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.resources import cypher

if TYPE_CHECKING:  # pragma: no cover
    from ..core.db import Database

STAGES = ("classified", "interests", "updated")


def current_ingest(db: Database) -> int:
    """The last ingest number taken (0 before the first load)."""
    return int(db.value(cypher("load/ingest_state")) or 0)


def mark_covered(db: Database, stage: str, ingest: int) -> None:
    """Record that ``stage`` (one of :data:`STAGES`) has seen every change up to ``ingest`` (never lowered)."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES} (got {stage!r})")
    db.execute(cypher("load/mark_covered"), field=f"{stage}_upto", ingest=int(ingest))
