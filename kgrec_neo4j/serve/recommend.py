"""Top-k recommendation for users, scored by :mod:`~kgrec_neo4j.serve.scoring`, explained by
:mod:`~kgrec_neo4j.serve.explain` when asked, stored as ``(:User)-[:RECOMMENDED {rank, score, run}]->(:Item)``.

Every train item of a user is excluded; valid and test items are not (they are what should be hit).

Public API: :func:`recommend_users`, :func:`recommend`, :func:`store_recommendations`,
:func:`stored_recommendations`.
"""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from ..core.db import Database
from ..core.resources import cypher
from .explain import Explanation, explain_items
from .scoring import RecommendError, scoring_state, top_k

__all__ = ["RecommendError", "Recommendation", "UserRecommendations", "recommend_users", "recommend",
           "store_recommendations", "stored_recommendations"]


class Recommendation(BaseModel):
    """One recommended item. ``explanation`` is filled when explanations were asked for."""

    rank: int
    item: str
    title: str | None = None
    score: float
    explanation: Explanation | None = None


class UserRecommendations(BaseModel):
    user: str
    run: str
    items: list[Recommendation] = Field(default_factory=list)
    excluded: int = 0  # train items masked out
    seconds: float = 0.0


# ----------------------------------------------------------------------------------- recommend

def recommend_users(db: Database, user_ids: list[str], k: int = 10, *, store: bool = True,
                    explain: bool = False, per_item: int = 3, run: str | None = None,
                    batch_size: int | None = None) -> list[UserRecommendations]:
    """Top-``k`` unseen items for each user, scored in numpy; optionally stored and explained.

    Args:
        user_ids: User.id values (order kept in the result).
        k: list length per user (``>= 1``).
        store: replace each user's ``RECOMMENDED`` edges with the new list.
        explain: attach the best stored explanation paths to every item (one Cypher round trip per user).
        per_item: explanation paths kept per item and sign.
        run: model run id (default: the current one).

    Returns:
        One :class:`UserRecommendations` per user, in input order.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1 (got {k})")
    if not user_ids:
        return []
    t0 = time.perf_counter()
    out: list[UserRecommendations] = []
    for chunk_start in range(0, len(user_ids), 1000):
        chunk = list(user_ids[chunk_start: chunk_start + 1000])
        matrix, uv = scoring_state(db, chunk, run)
        scores = matrix.scores(uv)  # (B, |I|)
        for b, uid in enumerate(uv.ids):
            idx, s = top_k(scores[b], k, uv.exclude[b])
            out.append(UserRecommendations(
                user=uid, run=matrix.run, excluded=int(uv.exclude[b].size),
                items=[Recommendation(rank=r + 1, item=matrix.ids[j], title=matrix.titles[j], score=float(v))
                       for r, (j, v) in enumerate(zip(idx.tolist(), s.tolist()))]))
    if store:
        store_recommendations(db, out, batch_size=batch_size)
    if explain:
        for rec in out:
            exps = explain_items(db, rec.user, [r.item for r in rec.items], per_item=per_item, run=matrix.run,
                                 link_weight=matrix.link_weight, dislike_value=matrix.dislike_value)
            for r in rec.items:
                r.explanation = exps[r.item]
    dt = time.perf_counter() - t0
    for rec in out:
        rec.seconds = dt / len(out)
    return out


def recommend(db: Database, user_id: str, k: int = 10, *, explain: bool = False, store: bool = True,
              per_item: int = 3, run: str | None = None) -> UserRecommendations:
    """Top-``k`` unseen items for one user (see :func:`recommend_users`)."""
    return recommend_users(db, [user_id], k, store=store, explain=explain, per_item=per_item, run=run)[0]


def store_recommendations(db: Database, recs: list[UserRecommendations], *, batch_size: int | None = None) -> int:
    """Replace each user's ``RECOMMENDED`` edges (one write per batch of users); return edges written."""
    rows = [{"user": rec.user, "run": rec.run,
             "items": [{"item": r.item, "rank": r.rank, "score": r.score} for r in rec.items]} for rec in recs]
    runs = {rec.run for rec in recs}
    written = 0
    for run in runs:
        these = [r for r in rows if r["run"] == run]
        db.write_batches(cypher("recommend/store"), these, params={"run": run},
                         batch_size=max(1, (batch_size or db.settings.batch_size) // 20))
        written += sum(len(r["items"]) for r in these)
    return written


def stored_recommendations(db: Database, user_id: str) -> list[dict]:
    """The user's stored ``RECOMMENDED`` edges, in rank order."""
    return db.query(cypher("recommend/stored"), user=user_id)
