"""Confidence in [0, 1] on every derived edge, from documented parts, and a report of its distribution.

Parts and formulas (all results clamped to [0, 1]):

``HAS_KNOWLEDGE`` (written by the concept stage, ``cypher/concepts/item_knowledge.cypher``)
    per mention of the item on the concept ``p = self_report × projection_similarity`` (the extractor's
    confidence on ``MENTIONS`` times ``CANONICAL.similarity``); ``confidence = 1 − Π(1 − p)`` over the
    item's mentions on the concept (noisy-OR: more independent support, more confidence);
    ``support`` = number of such mentions. :func:`knowledge_confidence` is the same formula in Python.

``INTERACTED`` (``kgrec interactions classify``)
    rating alone: :func:`rating_confidence` (how far the rating is from the mixed middle: 1★/5★ → 1.0,
    2★/4★ → 0.8, 3★ → 0.6); text alone: the text classifier's self-report; both:
    :func:`agreement_confidence` (noisy-OR when they agree, lowered by the other side's confidence when
    they disagree); neither (implicit): a fixed prior (default 0.5).

``INTERESTED_IN`` offline (``kgrec interests extract --extractor offline``)
    per supporting train interaction ``p = evidence_weight × conf(INTERACTED) × conf(HAS_KNOWLEDGE)``;
    ``confidence = noisy_or(p) × consistency`` where ``consistency = |P − N| / (P + N)`` compares the
    evidence for and against the concept (:func:`offline_interest_confidence`).

``INTERESTED_IN`` LLM (``--extractor llm``)
    per update ``p = self_report × projection_similarity``; merged into the edge's previous confidence
    by :func:`update_confidence` (noisy-OR when the update goes the edge's way, lowered when it goes
    against it).

``--min-confidence`` (setting ``min_confidence``) decides what later stages read: the interest stage
reads ``HAS_KNOWLEDGE`` and ``INTERACTED`` edges with ``confidence >= min_confidence`` (an edge without a
confidence counts as 1.0); the training export is expected to apply the same filter to all three.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, Field

from ..core.db import Database
from ..core.errors import KgrecError
from ..core.resources import cypher

EDGE_TYPES: tuple[str, ...] = ("HAS_KNOWLEDGE", "INTERESTED_IN", "INTERACTED")


def clamp01(x: float) -> float:
    if x != x:  # NaN
        return 0.0
    return 0.0 if x < 0 else 1.0 if x > 1 else float(x)


def noisy_or(ps: Iterable[float]) -> float:
    """``1 − Π(1 − p)``: the chance that at least one of independent pieces of evidence is right."""
    q = 1.0
    for p in ps:
        q *= 1.0 - clamp01(p)
    return clamp01(1.0 - q)


def rating_confidence(rating: float, like_min: float = 4.0, dislike_max: float = 2.0,
                      scale_max: float = 5.0) -> float:
    """How clearly a star rating says like or dislike: 0.6 at the mixed middle, 1.0 at the ends."""
    mid = (like_min + dislike_max) / 2.0
    half = max(scale_max - mid, 1e-9)
    return round(0.6 + 0.4 * min(1.0, abs(rating - mid) / half), 4)


def agreement_confidence(rating_conf: float, text_conf: float, agrees: bool,
                         prefer: Literal["rating", "text"] = "rating") -> float:
    """Confidence of an edge that has a rating and a text verdict.

    Agreeing: noisy-OR of both. Disagreeing: the preferred side's confidence times
    ``1 − text_conf / 2`` (or ``1 − rating_conf / 2`` when the text is preferred): a confident
    contradiction halves it at most.
    """
    rc, tc = clamp01(rating_conf), clamp01(text_conf)
    if agrees:
        return round(noisy_or([rc, tc]), 4)
    if prefer == "rating":
        return round(rc * (1.0 - 0.5 * tc), 4)
    return round(tc * (1.0 - 0.5 * rc), 4)


def knowledge_confidence(self_reports: Iterable[float], similarities: Iterable[float]) -> float:
    """``HAS_KNOWLEDGE`` confidence from its mentions (same formula as ``item_knowledge.cypher``)."""
    return round(noisy_or(clamp01(s) * clamp01(m) for s, m in zip(self_reports, similarities)), 4)


def offline_interest_confidence(evidence: Iterable[float], pos_mass: float, neg_mass: float,
                                evidence_weight: float = 0.5) -> float:
    """Offline ``INTERESTED_IN`` confidence.

    Args:
        evidence: per supporting interaction, ``conf(INTERACTED) × conf(HAS_KNOWLEDGE)``.
        pos_mass / neg_mass: summed evidence for and against the concept (≥ 0).
        evidence_weight: what one fully confident interaction is worth (0.5: one → 0.5, two → 0.75).
    """
    total = pos_mass + neg_mass
    consistency = abs(pos_mass - neg_mass) / total if total > 0 else 0.0
    return round(noisy_or(evidence_weight * clamp01(e) for e in evidence) * consistency, 4)


def llm_update_confidence(self_report: float, similarity: float) -> float:
    """Confidence of one LLM interest update: self-report × projection similarity."""
    return round(clamp01(self_report) * clamp01(similarity), 4)


def update_confidence(old: float | None, p: float, same_direction: bool) -> float:
    """Merge an update's confidence ``p`` into an edge's previous confidence ``old``.

    Same direction: noisy-OR. Against the edge: ``max(old, p) × (1 − min(old, p))`` (conflicting
    evidence lowers it). No previous edge: ``p``.
    """
    if old is None:
        return round(clamp01(p), 4)
    if same_direction:
        return round(noisy_or([old, p]), 4)
    return round(max(old, p) * (1.0 - min(old, p)), 4)


# ------------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------------

QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)


class EdgeConfidence(BaseModel):
    """The confidence distribution of one edge type."""

    edge_type: str
    edges: int
    with_confidence: int
    out_of_range: int = Field(0, description="confidence outside [0, 1] (should be 0)")
    mean: float | None = None
    quantiles: dict[str, float] = Field(default_factory=dict, description="'p10' -> value")
    histogram: list[int] = Field(default_factory=list, description="counts per bin of width 1/bins over [0, 1]")
    at_or_above_min: int = 0


class ConfidenceReport(BaseModel):
    min_confidence: float
    bins: int
    edges: list[EdgeConfidence]


def confidence_report(db: Database, *, edge_types: Iterable[str] = EDGE_TYPES, bins: int = 10,
                      min_confidence: float = 0.0) -> ConfidenceReport:
    """Counts, mean, quantiles and a histogram of ``confidence`` per edge type.

    For ``INTERACTED`` only classified edges (those with a ``kind_source``) are counted.
    """
    if not 1 <= bins <= 100:
        raise ValueError(f"bins must be in 1..100 (got {bins})")
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be in [0, 1] (got {min_confidence})")
    template = cypher("interests/confidence_histogram")
    out = []
    for t in edge_types:
        if t not in EDGE_TYPES:
            raise KgrecError(f"unknown edge type {t!r}; expected one of {', '.join(EDGE_TYPES)}")
        # the relationship type is interpolated only after the allow-list check above
        text = template.replace("$REL", t)
        rec = db.query(text, bins=bins, qs=list(QUANTILES), min_confidence=min_confidence,
                       only_classified=(t == "INTERACTED"))[0]
        hist = [0] * bins
        for b in rec["hist"]:
            if b["bin"] is not None:
                hist[min(max(int(b["bin"]), 0), bins - 1)] += b["n"]
        qs = {}
        if rec["with_confidence"]:
            qs = {f"p{int(q * 100)}": round(v, 4) for q, v in zip(QUANTILES, rec["quantiles"])}
        out.append(EdgeConfidence(edge_type=t, edges=rec["edges"], with_confidence=rec["with_confidence"],
                                  out_of_range=rec["out_of_range"],
                                  mean=None if rec["mean"] is None else round(rec["mean"], 4),
                                  quantiles=qs, histogram=hist, at_or_above_min=rec["kept"]))
    return ConfidenceReport(min_confidence=min_confidence, bins=bins, edges=out)


def format_report(rep: ConfidenceReport, width: int = 40) -> str:
    """The report as text: one block per edge type with quantiles and a bar histogram."""
    lines = []
    for e in rep.edges:
        lines.append(f"{e.edge_type}: {e.edges} edges, {e.with_confidence} with confidence"
                     + (f", {e.out_of_range} OUT OF [0,1]" if e.out_of_range else "")
                     + (f", mean {e.mean:.3f}" if e.mean is not None else "")
                     + f", {e.at_or_above_min} >= {rep.min_confidence:g}")
        if e.quantiles:
            lines.append("  quantiles: " + "  ".join(f"{k}={v:.3f}" for k, v in e.quantiles.items()))
        top = max(e.histogram) if e.histogram and max(e.histogram) > 0 else 0
        for b, n in enumerate(e.histogram):
            if not top:
                break
            lo, hi = b / rep.bins, (b + 1) / rep.bins
            bar = "#" * max(1 if n else 0, round(width * n / top))
            lines.append(f"  [{lo:.2f}, {hi:.2f}{']' if b == rep.bins - 1 else ')'} {n:>9}  {bar}")
    return "\n".join(lines)

