"""Filtering (k-core, a user sample), the last-two-out split and the rating baseline of kinds and signs."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

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
    ingest number the users were stamped with (None when there were none), up to five of the users, and how many
    edges without ``seq`` were numbered after their user's others."""

    users: int
    edges: int
    ingest: int | None = None
    examples: tuple[str, ...] = ()
    numbered: int = 0


def split_again(db: Database, *, dataset: str | None = None, batch_size: int = 500,
                before_writing: Callable[[], None] | None = None) -> SplitAgain:
    """Split again, last-two-out by ``seq`` as a load does, the histories that are no longer split so: a train
    interaction after one of the user's valid or test ones (recorded live: ``kgrec serve --writes``, ``POST
    /users/{user}/interactions``, the README's Browser snippet, after the last load split the history; a load or an
    append splits every history it touches, a live record does not, and evaluation refuses such users:
    :func:`~kgrec_neo4j.model.export.check_split_order`), or more than one valid or test interaction (an append killed
    before 2026-12-03; ``kgrec doctor``'s ``splits`` check). Each such user's interactions get the split a load
    would give them now, those without a ``seq`` (typed in Browser: the latest, as training and serving count them)
    numbered after the others (the latest is test, the one before it valid), in one transaction per batch of
    users, each user under a lock on its node (``cypher/interactions/split_again``: a history is never half split,
    and a live record waits for it); a user whose splits change is stamped with a new ingest number, so that the next
    ``kgrec update`` recomputes the user's interests (they read the train split). Idempotent: a second call finds no
    such user and writes nothing. ``dataset``: one dataset's users only. ``before_writing``: called once there is
    something to split, before the first write (the CLI takes the writer lease there: with nothing to split, a
    command behind a long ``kgrec update`` neither waits nor fails)."""
    from ..core.resources import cypher

    def late() -> list[str]:
        return [r["user"] for r in db.query(cypher("interactions/late_histories"), dataset=dataset)]

    users = late()
    if users and before_writing is not None:
        before_writing()  # (it may wait for another writer: the histories are read again after it)
        users = late()
    if not users:
        return SplitAgain(0, 0)
    ingest = int(db.execute(cypher("load/next_ingest"))[0]["ingest"])
    n = edges = numbered = 0
    examples: list[str] = []
    for k in range(0, len(users), batch_size):
        r = db.execute(cypher("interactions/split_again"), users=users[k:k + batch_size], ingest=ingest)[0]
        n, edges, numbered = n + int(r["users"]), edges + int(r["edges"]), numbered + int(r["numbered"])
        examples += r["examples"]
    return SplitAgain(n, edges, ingest if n else None, tuple(examples[:5]), numbered)
