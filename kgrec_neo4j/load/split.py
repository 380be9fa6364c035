"""Filtering (k-core, a user sample), the last-two-out split and the rating baseline of kinds and signs."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import TYPE_CHECKING, Any, NamedTuple

from .read import Interaction

if TYPE_CHECKING:  # pragma: no cover
    from ..core.db import Database

# filtering and splitting
# --------------------------------------------------------------------------------------------

def k_core(interactions: list[Interaction], k_user: int, k_item: int) -> list[Interaction]:
    """Iteratively drop users with < k_user and items with < k_item interactions."""
    xs = interactions
    while True:
        uc = Counter(x.user for x in xs)
        ic = Counter(x.item for x in xs)
        kept = [x for x in xs if uc[x.user] >= k_user and ic[x.item] >= k_item]
        if len(kept) == len(xs):
            return kept
        xs = kept


def sample_users(interactions: list[Interaction], n: int, seed: int) -> list[Interaction]:
    """Keep the interactions of ``n`` users chosen by a seeded hash (stable across runs)."""
    users = sorted({x.user for x in interactions},
                   key=lambda u: hashlib.sha1(f"{seed}:{u}".encode()).hexdigest())
    keep = set(users[:n])
    return [x for x in interactions if x.user in keep]


def split_of(n_user: int, position: int) -> str:
    """Last-two-out: the last interaction is test, the one before it valid (users with ≥ 3)."""
    if n_user >= 3:
        if position == n_user - 1:
            return "test"
        if position == n_user - 2:
            return "valid"
    return "train"


def kind_sign(rating: float | None) -> tuple[str, int]:
    """Rating baseline: ≥4 like +1, ≤2 dislike −1, 3 mixed 0, no rating implicit +1."""
    if rating is None:
        return "implicit", 1
    if rating >= 4:
        return "like", 1
    if rating <= 2:
        return "dislike", -1
    return "mixed", 0


# splitting stored histories again
# --------------------------------------------------------------------------------------------

class SplitAgain(NamedTuple):
    """What :func:`split_again` did: ``users`` whose histories were split again, ``edges`` whose split changed, the
    ingest number the users were stamped with (None when there were none)."""

    users: int
    edges: int
    ingest: int | None = None
    examples: tuple[str, ...] = ()


def split_again(db: Database, *, dataset: str | None = None, batch_size: int = 5000) -> SplitAgain:
    """Split again, last-two-out by ``seq`` as a load does, the histories of the users with a train interaction
    after one of their valid or test ones: recorded live (``kgrec serve --writes``, ``POST
    /users/{user}/interactions``, the README's Browser snippet) after the last load split the history. A load or an
    append splits every history it touches; a live record does not, and evaluation refuses such users
    (:func:`~kgrec_neo4j.model.export.check_split_order`). Each such user's interactions with a ``seq`` get the split
    a load would give them now (the latest is test, the one before it valid), and the user is stamped with a new
    ingest number, so that the next ``kgrec update`` recomputes the user's interests (they read the train split).
    Idempotent: a second call finds no such user and writes nothing. ``dataset``: one dataset's users only."""
    from ..core.resources import cypher

    per_user: list[list[dict[str, Any]]] = []  # each user's moved rows, written in one transaction
    users: list[str] = []
    for r in db.query(cypher("interactions/late_histories"), dataset=dataset):
        seqs = [int(s) for s, _ in r["history"]]
        now = {int(s): sp for s, sp in r["history"]}
        want = {s: split_of(len(seqs), pos) for pos, s in enumerate(sorted(seqs))}
        moved = [{"user": r["user"], "seq": s, "split": sp} for s, sp in sorted(want.items()) if now[s] != sp]
        if moved:
            users.append(r["user"])
            per_user.append(moved)
    if not per_user:
        return SplitAgain(0, 0)
    ingest = int(db.execute(cypher("load/next_ingest"))[0]["ingest"])
    edges = 0
    batch: list[dict[str, Any]] = []
    for k, moved in enumerate(per_user):  # a user's history is split in one transaction, never half
        batch += moved
        if len(batch) >= batch_size or k == len(per_user) - 1:
            edges += int(db.execute(cypher("load/set_splits"), rows=batch, ingest=ingest)[0]["edges"])
            batch = []
    return SplitAgain(len(users), edges, ingest, tuple(users[:5]))
