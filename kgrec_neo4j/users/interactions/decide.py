"""The decision per edge: the final kind, sign and confidence from the rating and the text verdict."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from ..confidence import agreement_confidence, rating_confidence
from .classifiers import TextVerdict
from .kinds import KindScheme


class EdgeDecision(BaseModel):
    kind: str
    sign: int
    kind_source: str
    confidence: float
    kind_text: str | None = None
    text_confidence: float | None = None
    text_agrees: bool | None = None


def decide(rating: float | None, verdict: TextVerdict | None, scheme: KindScheme,
           prefer: Literal["rating", "text"] = "rating", implicit_confidence: float = 0.5) -> EdgeDecision:
    """Kind, sign, source and confidence of one edge from its rating and its text verdict."""
    if prefer not in ("rating", "text"):
        raise ValueError(f"prefer must be 'rating' or 'text' (got {prefer!r})")
    if verdict is None:
        if rating is None:
            return EdgeDecision(kind=scheme.kind("implicit"), sign=scheme.sign("implicit"), kind_source="none",
                                confidence=implicit_confidence)
        role = scheme.role_of_rating(rating)
        return EdgeDecision(kind=scheme.kind(role), sign=scheme.sign(role), kind_source="rating",
                            confidence=rating_confidence(rating, scheme.like_min_rating, scheme.dislike_max_rating))
    text_kind = scheme.kind(verdict.label)
    if rating is None:
        return EdgeDecision(kind=text_kind, sign=scheme.sign(verdict.label), kind_source="text",
                            confidence=round(verdict.confidence, 4), kind_text=text_kind,
                            text_confidence=verdict.confidence)
    role = scheme.role_of_rating(rating)
    agrees = role == verdict.label
    rc = rating_confidence(rating, scheme.like_min_rating, scheme.dislike_max_rating)
    conf = agreement_confidence(rc, verdict.confidence, agrees, prefer=prefer)
    if agrees:
        source, winner = "rating+text", role
    elif prefer == "rating":
        source, winner = "rating>text", role
    else:
        source, winner = "text>rating", verdict.label
    return EdgeDecision(kind=scheme.kind(winner), sign=scheme.sign(winner), kind_source=source, confidence=conf,
                        kind_text=text_kind, text_confidence=verdict.confidence, text_agrees=agrees)
