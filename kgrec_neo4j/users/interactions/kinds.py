"""Interaction kinds: the names and signs of the four roles (like, mixed, dislike, implicit) and the rating
thresholds that decide them (:class:`KindScheme`)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

TextLabel = Literal["like", "mixed", "dislike"]
TEXT_LABELS: tuple[str, ...] = ("like", "mixed", "dislike")
ROLES: tuple[str, ...] = ("like", "mixed", "dislike", "implicit")


class KindScheme(BaseModel):
    """Names and signs of the interaction kinds.

    Attributes:
        names: role -> kind name stored on the edge (roles: like, mixed, dislike, implicit). Two roles may
            share a name (e.g. ``{"mixed": "dislike"}`` folds mixed into dislike).
        signs: kind name -> sign (+1, -1 or 0).
        like_min_rating: ratings at or above are *like*.
        dislike_max_rating: ratings at or below are *dislike*; in between is *mixed*.
    """

    model_config = ConfigDict(extra="forbid")

    names: dict[str, str] = Field(default_factory=lambda: {r: r for r in ROLES})
    signs: dict[str, int] = Field(default_factory=lambda: {"like": 1, "mixed": 0, "dislike": -1, "implicit": 1})
    like_min_rating: float = 4.0
    dislike_max_rating: float = 2.0

    def model_post_init(self, _ctx) -> None:
        missing = [r for r in ROLES if r not in self.names]
        if missing:
            raise ValueError(f"kind scheme: names must cover the roles {list(ROLES)} (missing {missing})")
        unsigned = sorted({n for n in self.names.values() if n not in self.signs})
        if unsigned:
            raise ValueError(f"kind scheme: kinds {unsigned} have no sign (got signs for {sorted(self.signs)})")
        bad = {k: s for k, s in self.signs.items() if s not in (-1, 0, 1)}
        if bad:
            raise ValueError(f"kind scheme: signs must be -1, 0 or +1 (got {bad})")
        if self.dislike_max_rating >= self.like_min_rating:
            raise ValueError(f"kind scheme: dislike_max_rating (got {self.dislike_max_rating}) must be below "
                             f"like_min_rating (got {self.like_min_rating})")

    @classmethod
    def parse(cls, spec: str | None) -> KindScheme:
        """From ``"like=+1,dislike=-1,mixed=0,implicit=+1"``; ``role:name=sign`` renames a role
        (``"implicit:clicked=+1"``), ``role:other`` folds it into another kind (``"mixed:dislike"``)."""
        scheme = cls()
        if not spec or not spec.strip():
            return scheme
        names, signs = dict(scheme.names), dict(scheme.signs)
        for part in (p.strip() for p in spec.split(",") if p.strip()):
            m = re.fullmatch(r"(\w+)(?::(\w+))?(?:=([+-]?\d))?", part)
            if not m or m.group(1) not in ROLES or (m.group(2) is None and m.group(3) is None):
                raise ValueError(f"kind spec part {part!r} must look like role=sign, role:name=sign or role:name "
                                 f"with role in {list(ROLES)} (e.g. 'mixed=-1', 'implicit:clicked=+1', 'mixed:dislike')")
            role, name, sign = m.group(1), m.group(2) or m.group(1), m.group(3)
            names[role] = name
            if sign is not None:
                signs[name] = int(sign)
        signs = {k: v for k, v in signs.items() if k in set(names.values())}
        return cls(names=names, signs=signs, like_min_rating=scheme.like_min_rating,
                   dislike_max_rating=scheme.dislike_max_rating)

    def role_of_rating(self, rating: float | None) -> str:
        if rating is None:
            return "implicit"
        if rating >= self.like_min_rating:
            return "like"
        if rating <= self.dislike_max_rating:
            return "dislike"
        return "mixed"

    def kind(self, role: str) -> str:
        return self.names[role]

    def sign(self, role: str) -> int:
        return self.signs[self.names[role]]


def rating_label(rating: float, scheme: KindScheme | None = None) -> str:
    """like / mixed / dislike of a star rating (default thresholds: ≥4, 3, ≤2)."""
    return (scheme or KindScheme()).role_of_rating(rating)
