"""Top-k recommendation in serving mode, scored by :mod:`~kgrec_neo4j.serve.scoring` from each user's live edges,
explained by :mod:`~kgrec_neo4j.serve.explain` when asked, stored as
``(:User)-[:RECOMMENDED {rank, score, run, created, history, last_seq}]->(:Item)``.

Every item a user interacted with is excluded (``allow_repeats=True`` keeps them, for repeat purchases, except those the
user only disliked: a dislike is never answered with the same item again). Editions
and ports of what the user owns (``SAME_WORK``) follow the ``same_work`` setting: ``demote`` ranks them after every
other candidate, ``group`` and ``keep`` leave the ranking alone; the answer says which owned item each is the same
work as.

Public API: :func:`recommend_users`, :func:`recommend`, :func:`store_recommendations`,
:func:`stored_recommendations`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..core.db import Database
from ..core.errors import BadArgument
from ..core.resources import cypher
from .explain import Explanation, explain_items, list_policy, same_work_note
from .record import _not_blank, a_number
from .scoring import (
    RecommendError,
    RunModel,
    Source,
    UnknownUser,
    UserState,
    scores,
    scoring_state,
    stored_titles,
    top_k,
    top_k_rows,
    user_exists,
)

__all__ = ["RecommendError", "UnknownUser", "Recommendation", "UserRecommendations", "recommend_users", "recommend",
           "store_recommendations", "stored_recommendations"]


class Recommendation(BaseModel):
    """One recommended item. ``explanation`` is filled when explanations were asked for."""

    rank: int
    item: str
    title: str | None = None
    score: float
    same_work_as: list[str] = Field(default_factory=list)  # titles of owned items this one is another edition of
    explanation: Explanation | None = None


class UserRecommendations(BaseModel):
    """A user's list, the run it came from and what the user's live edges were."""

    user: str
    run: str
    # model | interests (no interaction with an item of the run) | popular (no interests either: no edges, or only
    # interactions with new items, see new_items)
    source: Source = "model"
    items: list[Recommendation] = Field(default_factory=list)
    interactions: int = 0  # interacted items read from the graph now
    new_items: int = 0  # of them, items the run has no vector for yet, or a zero one (folded in from nothing)
    blank_items: int = 0  # of the new items, those with a zero vector
    excluded: int = 0  # of them, masked out of the list
    # the user's dataset, when the run has no item of it (trained with --dataset on another): the list is empty
    run_lacks_dataset: str | None = None
    seconds: float = 0.0


# ----------------------------------------------------------------------------------- recommend

def recommend_users(db: Database, user_ids: list[str], k: int = 10, *, store: bool = False,
                    explain: bool = False, per_item: int = 3, run: str | None = None, allow_repeats: bool = False,
                    batch_size: int | None = None, chunk: int = 1000, load_links: bool = True,
                    same_work: str | None = None,
                    on_chunk: Callable[[int], None] | None = None) -> list[UserRecommendations]:
    """Top-``k`` items for each user from the user's live edges; optionally stored and explained.

    Args:
        user_ids: User.id values (order kept in the result).
        k: list length per user (``>= 1``).
        store: also replace each user's ``RECOMMENDED`` edges with the new list (a write; by default the call only
            reads, as a request handler wants: `kgrec recommend` stores, and Neo4j Browser shows the stored lists).
        explain: split every item's score into reasons with their stored paths (one Cypher round trip per user).
        per_item: stored paths shown per reason.
        run: model run id (default: the current one).
        allow_repeats: keep items the user already interacted with, except those the user only disliked.
        chunk: users scored per round trip; ``on_chunk(n)`` is called after each (progress).
        load_links: load the run's item links once (many users); ``False`` sums each user's links in Cypher.
        same_work: ``demote``, ``group`` or ``keep`` editions and ports of owned items (default: the setting).

    Returns:
        One :class:`UserRecommendations` per user, in input order.
    """
    policy = list_policy(db, k, same_work)
    if not user_ids:
        return []
    t0 = time.perf_counter()
    out: list[UserRecommendations] = []
    for start in range(0, len(user_ids), chunk):
        ids = list(user_ids[start: start + chunk])
        m, states = scoring_state(db, ids, run, links=load_links)
        recs = _live(db, _ranked(m, states, k + LIVE_MARGIN, policy, allow_repeats), k)
        if store:
            store_recommendations(db, recs, batch_size=batch_size)
        if explain:
            for rec, st in zip(recs, states, strict=True):
                exps = explain_items(db, rec.user, [r.item for r in rec.items], per_item=per_item, model=m, state=st)
                for r in rec.items:
                    r.explanation = exps[r.item]
                    if r.same_work_as:
                        r.explanation.sentence += same_work_note(r.same_work_as, policy)
        out.extend(recs)
        if on_chunk:
            on_chunk(len(recs))
    dt = time.perf_counter() - t0
    for rec in out:
        rec.seconds = dt / len(out)
    return out


#: items ranked beyond ``k`` so that a list keeps ``k`` when some of its items were deleted since the run was loaded
LIVE_MARGIN = 10


def _live(db: Database, recs: list[UserRecommendations], k: int) -> list[UserRecommendations]:
    """The lists as the graph is now: items deleted (or renamed) since the run was loaded left out, the next ones
    moving up (each list is ranked ``k + LIVE_MARGIN`` deep), every title as stored now; cut to ``k``. A running
    service scores with the run it loaded until the run's next version; without this an item deleted in Browser
    stayed in its lists, with a sentence saying it has no vector, and a changed title stayed the old one."""
    live = stored_titles(db, sorted({r.item for rec in recs for r in rec.items}))
    for rec in recs:
        kept = [r for r in rec.items if r.item in live][:k]
        for rank, r in enumerate(kept, 1):
            r.rank, r.title = rank, live[r.item]
        rec.items = kept
    return recs


def _ranked(m: RunModel, states: list[UserState], k: int, policy: str, allow_repeats: bool
            ) -> list[UserRecommendations]:
    """Each state's top-``k`` of run ``m``: interacted items left out (with repeats, only the items the user only
    disliked), another dataset's items never, editions and ports of owned items after the rest with ``demote``."""
    s_all = scores(m, states)  # (B, |I|)
    for b, st in enumerate(states):  # (with repeats, an item the user only disliked still never comes back)
        s_all[b, st.disliked if allow_repeats else st.exclude] = -np.inf
        s_all[b, st.foreign] = -np.inf  # another dataset's items, whatever the run scored
    fast = top_k_rows(s_all, k)  # every row at once; a row that demotes editions is ranked again below
    recs = []
    for b, st in enumerate(states):
        works = st.same_work
        idx, s = fast[b]
        if policy == "demote" and works and set(idx.tolist()) & set(works):
            later = np.fromiter(works, np.int64)
            idx, s = top_k(s_all[b], k, later)  # interacted items are -inf in s_all already
            if idx.size < k:  # editions and ports only after every other candidate
                rest, rs = top_k(s_all[b], k - idx.size, np.setdiff1d(np.arange(len(m.ids)), later))
                idx, s = np.concatenate([idx, rest]), np.concatenate([s, rs])
        recs.append(UserRecommendations(
            user=st.id, run=m.run, source=st.source, interactions=st.interactions, new_items=st.unknown_items,
            blank_items=st.blank_items,
            excluded=int(st.disliked.size if allow_repeats else st.exclude.size),
            run_lacks_dataset=st.dataset if st.run_lacks_dataset else None,
            items=[Recommendation(rank=r + 1, item=m.ids[j], title=m.titles[j], score=float(v),
                                  same_work_as=works.get(j, []))
                   for r, (j, v) in enumerate(zip(idx.tolist(), s.tolist(), strict=True))]))
    return recs


#: the longest history a session takes (over HTTP, from Python and from the CLI alike)
MAX_HISTORY = 1000


class SessionItem(BaseModel):
    """One interaction of a session: an item, and its rating (none: implicit)."""

    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, max_length=1000, description="Item.id")
    rating: float | None = Field(None, ge=0, le=5, description="0-5; >= 4 a like, <= 2 a dislike; none: implicit")

    # (the checks of an interaction the service records: a blank id, and true / "4" taken as 1 / 4)
    _item = field_validator("item")(_not_blank)
    _rating = field_validator("rating", mode="before")(a_number)


def _entry(h: Any) -> Any:
    """A history entry as :class:`SessionItem` reads it: an item id, ``(item id, rating)``, or a mapping."""
    if isinstance(h, str):
        return {"item": h}
    if isinstance(h, tuple | list) and 1 <= len(h) <= 2:
        return {"item": h[0], "rating": h[1] if len(h) == 2 else None}
    return h


class SessionIn(BaseModel):
    """``POST /recommendations``: a visitor's history (oldest first), and what to answer."""

    model_config = ConfigDict(extra="forbid", strict=True)

    history: list[SessionItem] = Field(min_length=1, max_length=MAX_HISTORY,
                                       description="item ids, or {item, rating} objects, oldest first")
    k: int = Field(10, ge=1, le=1000)
    allow_repeats: bool = False
    same_work: Literal["demote", "group", "keep"] | None = None

    @field_validator("history", mode="before")
    @classmethod
    def _entries(cls, v: Any) -> Any:
        return [_entry(h) for h in v] if isinstance(v, list) else v

    def pairs(self) -> list[tuple[str, float | None]]:
        return [(h.item, h.rating) for h in self.history]


def session_pairs(history: Any) -> list[tuple[str, float | None]]:
    """``history`` as ``(item id, rating)`` pairs, checked as ``POST /recommendations`` checks its body; a
    :class:`BadArgument` names the entry at fault."""
    if isinstance(history, str | bytes) or not isinstance(history, Sequence):
        raise BadArgument(f"a session's history is a list of item ids or (item id, rating) pairs in the order they "
                          f"came, not a {type(history).__name__} (a set or a dict has no order; one id is [id])")
    if not history:
        raise BadArgument("a session's history is empty: give at least one item")
    if len(history) > MAX_HISTORY:
        raise BadArgument(f"a session's history holds at most {MAX_HISTORY} items (got {len(history)}): give the "
                          f"latest {MAX_HISTORY}")
    out = []
    for n, h in enumerate(history):
        try:
            e = SessionItem.model_validate(_entry(h))
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise BadArgument(f"history[{n}]{'.' + where if where else ''}: {first['msg']} (got {h!r}; an entry is "
                              f"an item id, (item id, rating) or {{'item': id, 'rating': 0-5}})") from None
        out.append((e.item, e.rating))
    return out


def recommend_session(db: Database, history: Sequence[str | tuple[str, float | None] | Mapping[str, Any]],
                      k: int = 10, *, run: str | None = None, allow_repeats: bool = False,
                      same_work: str | None = None) -> UserRecommendations:
    """Top-``k`` items for a visitor who is no user of the graph (an anonymous session, a basket, a what-if), from
    ``history`` alone: item ids, ``(item id, rating)`` pairs or ``{"item", "rating"}`` mappings (rating ``None``:
    implicit), in the order they came, at most :data:`MAX_HISTORY`. Scored by the current run as a user with these
    interactions and nothing else would be (no interests, no vector of its own: a stored user's list differs when
    the user has either, or kinds read from review texts); folded in at once; nothing is read of any user and
    nothing is written. An item given twice counts once, at its later place. The answer's ``user`` is
    ``"(session)"``; explanations need a user's stored paths and are not given.

    Raises:
        UnknownItems: items of ``history`` not in the graph; BadArgument: a history entry at fault (named), ``k``
            below 1, an unknown ``same_work``."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise BadArgument(f"k must be an int >= 1 (got {k!r})")
    policy = list_policy(db, k, same_work)
    pairs = session_pairs(history)
    t0 = time.perf_counter()
    m, states = scoring_state(db, [], run, links=False, session=pairs)
    rec = _live(db, _ranked(m, states, k + LIVE_MARGIN, policy, allow_repeats), k)[0]
    rec.seconds = time.perf_counter() - t0
    return rec


def recommend(db: Database, user_id: str, k: int = 10, *, explain: bool = False, store: bool = False,
              per_item: int = 3, run: str | None = None, allow_repeats: bool = False,
              same_work: str | None = None) -> UserRecommendations:
    """Top-``k`` items for one user (see :func:`recommend_users`); an unknown user is refused before the run's
    model is loaded."""
    if not user_exists(db, user_id):
        raise UnknownUser(f"unknown user(s): {user_id!r}; expected a User.id in the graph (find one with `kgrec "
                          f"users list` or `kgrec users search TEXT`; `kgrec load` or a (:User {{id}}) node adds one).")
    return recommend_users(db, [user_id], k, store=store, explain=explain, per_item=per_item, run=run,
                           allow_repeats=allow_repeats, load_links=False, same_work=same_work)[0]


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
