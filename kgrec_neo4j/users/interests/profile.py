"""A user's interest profile: top interests by horizon and polarity, as text and as a bar chart (PNG)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from ...core.db import Database
from ...core.errors import KgrecError
from ...core.resources import cypher
from ...core.words import plural
from .scope import stored_scopes
from .store import Interest, check_extractor, read_interests

GROUPS: tuple[tuple[str, int], ...] = (("long", 1), ("long", -1), ("short", 1), ("short", -1))


class UserProfile(BaseModel):
    user: str
    interactions: int
    train: int
    train_disliked: int
    disliked: int = 0
    reads: str = Field("train", description="what the shown interests read: 'train' (evaluation), 'every' split "
                                            "(serving), or 'mixed' (the extractors differ, or a switch did not finish)")
    extractor: str | None = None
    min_confidence: float = 0.0
    groups: dict[str, list[Interest]] = Field(default_factory=dict, description="'long +' -> interests")
    totals: dict[str, int] = Field(default_factory=dict, description="'long +' -> how many the user has (the groups "
                                                                     "hold the strongest `top` of them)")


def group_name(horizon: str, polarity: int) -> str:
    return f"{horizon} {'+' if polarity > 0 else '-'}"


def build_profile(db: Database, user: str, *, top: int = 10, extractor: str | None = None,
                  min_confidence: float = 0.0) -> UserProfile:
    """The ``top`` strongest interests of ``user`` per (horizon, polarity)."""
    if top < 1:
        raise ValueError(f"top must be >= 1 (got {top})")
    check_extractor(extractor)
    summary = db.query(cypher("interests/user_summary"), user=user)
    if not summary:
        raise KgrecError(f"user {user!r} is not in the database; find one with `kgrec users list` or `kgrec users "
                         f"search TEXT`, or load the dataset first")
    s = summary[0]
    ints = read_interests(db, user, extractor=extractor, min_confidence=min_confidence)
    every = {group_name(h, p): [x for x in ints if x.horizon == h and x.polarity == p] for h, p in GROUPS}
    groups = {g: xs[:top] for g, xs in every.items()}
    scopes = stored_scopes(db)
    shown = {str(scopes[ex]) for ex in ((extractor,) if extractor else ("offline", "llm"))
             if extractor or scopes[f"{ex}_state"]} or {"train"}
    reads = next(iter(shown)) if len(shown) == 1 and shown <= {"train", "every"} else "mixed"
    return UserProfile(user=user, interactions=s["interactions"], train=s["train"],
                       train_disliked=s["train_disliked"], disliked=s["disliked"], reads=reads,
                       extractor=extractor, min_confidence=min_confidence,
                       groups=groups, totals={g: len(xs) for g, xs in every.items()})


def format_profile(p: UserProfile) -> str:
    if p.reads == "every":  # serving interests read every split: the train count would be beside the point
        counts = f"{p.disliked} disliked; the interests read every interaction"
    else:
        counts = f"{p.train} train, {p.train_disliked} disliked in train" + (
            "; the interests read a mix of train-only and every interaction" if p.reads == "mixed" else "")
    lines = [f"user {p.user}: {plural(p.interactions, 'interaction')} ({counts})"
             + (f", extractor {p.extractor}" if p.extractor else "")
             + (f", confidence >= {p.min_confidence:g}" if p.min_confidence else "")]
    labels = {"long +": "long-term, positive", "long -": "long-term, negative",
              "short +": "short-term, positive", "short -": "short-term, negative"}
    for g, xs in p.groups.items():
        total = p.totals.get(g, len(xs))
        lines.append(f"{labels[g]} ({len(xs)} strongest of {total})" if total > len(xs) else f"{labels[g]} ({total})")
        for x in xs:
            ev = ", ".join(f"{i}" + (f" \"{t[:40]}\"" if t and t != i else "")
                           for i, t in zip(x.evidence[:3], x.evidence_titles[:3] or [None] * 3))
            lines.append(f"  {x.weight:6.3f}  conf {x.confidence if x.confidence is not None else 0:.2f}  "
                         + (f"{plural(x.support, 'interaction'):>15}  " if x.support is not None else "")
                         + f"{x.type or '?'}: {x.name}" + (f"  [{x.extractor}]" if p.extractor is None else "")
                         + (f"  <- {ev}" if ev else ""))
        if not xs:
            lines.append("  (none)")
    return "\n".join(lines)


def save_png(p: UserProfile, path: str | Path) -> Path:
    """Horizontal bar chart of the profile (positive weights right, negative left), one panel per horizon."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(13, 6), squeeze=False)
    for ax, horizon in zip(axes[0], ("long", "short")):
        rows = [(x, 1) for x in p.groups.get(group_name(horizon, 1), [])]
        rows += [(x, -1) for x in p.groups.get(group_name(horizon, -1), [])]
        rows.sort(key=lambda r: r[1] * r[0].weight)
        labels = [f"{x.name[:30]} ({(x.type or '?')[:14]})" for x, _ in rows]
        vals = [s * x.weight for x, s in rows]
        ax.barh(range(len(rows)), vals, color=["#2a9d8f" if v > 0 else "#e76f51" for v in vals])
        ax.set_yticks(range(len(rows)), labels, fontsize=8)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_title(f"{horizon}-term interests")
        ax.set_xlabel("weight (negative = disliked)")
        if not rows:
            ax.text(0.5, 0.5, "(none)", ha="center", va="center", transform=ax.transAxes)
    fig.suptitle(f"Interest profile of {p.user}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
