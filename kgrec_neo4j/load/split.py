"""Filtering (k-core, a user sample), the last-two-out split and the rating baseline of kinds and signs."""

from __future__ import annotations

import hashlib
from collections import Counter

from .read import Interaction

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
