"""Explanations from stored paths: why an item is recommended, and why another one is not.

A path is one row MATCHed by ``cypher/explain/paths.cypher`` (never assembled from separate look-ups):

* ``interest`` / ``negative_interest``: ``user -INTERESTED_IN-> concept <-HAS_KNOWLEDGE- item``
  (the interest's polarity +1 / −1);
* ``liked_item`` / ``disliked_item``: ``user -INTERACTED-> item' -HAS_KNOWLEDGE-> concept
  <-HAS_KNOWLEDGE- item`` (the interaction's sign +1 / −1; mixed interactions explain nothing);
* ``item_link`` (``cypher/explain/item_link_paths.cypher``, runs that wrote an item graph):
  ``user -INTERACTED-> item' -ITEM_LINK-> item``, whose weight is its exact additive share of the
  item's score (``item_link_weight * x * ITEM_LINK.weight``); kept apart in :attr:`Explanation.links`.

Every interaction counts, whatever its split (serving reads the live graph). A path's weight is::

    weight = sign * PRODUCT_e conf(e) * att(e)        (* INTERESTED_IN.weight on interest paths)
    conf(e) = e.confidence (1 if absent),  att(e) = |e.attention| (1 if absent: no model run wrote it)

so a path is as strong as its weakest, least trusted, least attended edge, and longer paths (through a
liked item) decay by one more factor. Positive paths explain a recommendation; negative ones explain
why an item is held back ("ranked low because you disliked A, which shares *motion controls*").

Public API: :func:`explain_items` (one round trip for all k items of a user), :func:`explain`
(why / why not for one pair), :func:`verify_paths` (re-MATCH paths with a separate query),
:func:`interest_profile`, :func:`render_sentence`.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..core.db import Database
from ..core.errors import KgrecError
from ..core.resources import cypher
from ..users.interests.store import Interest
from .scoring import rank_of, scores, scoring_state

log = logging.getLogger(__name__)

PathKind = Literal["interest", "negative_interest", "liked_item", "disliked_item", "item_link"]
PATH_KINDS: tuple[str, ...] = ("interest", "negative_interest", "liked_item", "disliked_item")


class ExplainError(KgrecError):
    """An explanation that cannot be given (unknown user or item)."""


class ExplanationPath(BaseModel):
    """One stored path from the user to the item, with the weight that ranked it.

    ``rels`` are the element ids of the path's relationships in path order (used to re-MATCH it);
    ``edges`` their properties as read.
    """

    kind: PathKind
    sign: int
    weight: float
    user: str
    item: str
    concept: str | None = None  # None on item_link paths
    concept_name: str = ""
    concept_type: str | None = None
    via: str | None = None
    via_title: str | None = None
    via_kind: str | None = None
    horizon: str | None = None
    evidence: list[str] = Field(default_factory=list)
    rels: list[str]
    edges: list[dict[str, Any]] = Field(default_factory=list)

    def describe(self, item_title: str | None = None) -> str:
        """One line: the path as a chain of nodes and edges, with its weight."""
        target = item_title or self.item
        if self.kind in ("interest", "negative_interest"):
            e = self.edges[0] if self.edges else {}
            pol = "+" if self.sign > 0 else "-"
            return (f"you -INTERESTED_IN({self.horizon or 'long'}, {pol}, w={_num(e.get('weight'))})-> "
                    f"[{self.concept_name}] <-HAS_KNOWLEDGE- {target}   weight {self.weight:+.4g}")
        if self.kind == "item_link":
            e = self.edges[1] if len(self.edges) > 1 else {}
            return (f"you -INTERACTED({self.via_kind or '?'})-> {self.via_title} "
                    f"-ITEM_LINK(w={_num(e.get('weight'))})-> {target}   weight {self.weight:+.4g}")
        return (f"you -INTERACTED({self.via_kind or ('like' if self.sign > 0 else 'dislike')})-> "
                f"{self.via_title} -HAS_KNOWLEDGE-> [{self.concept_name}] <-HAS_KNOWLEDGE- {target}"
                f"   weight {self.weight:+.4g}")


class Explanation(BaseModel):
    """The best positive and negative paths between a user and an item, and their sentence."""

    user: str
    item: str
    title: str | None = None
    positive: list[ExplanationPath] = Field(default_factory=list)
    negative: list[ExplanationPath] = Field(default_factory=list)
    links: list[ExplanationPath] = Field(default_factory=list)  # item_link paths, strongest |weight| first
    link_total: float = 0.0  # the item graph's whole share of the score (all links, not only those shown)
    sentence: str = ""

    @property
    def paths(self) -> list[ExplanationPath]:
        return self.positive + self.negative

    @property
    def top(self) -> ExplanationPath | None:
        """The strongest path by |weight| (the "top explaining" path)."""
        ps = self.paths
        return max(ps, key=lambda p: abs(p.weight)) if ps else None

    @property
    def kind(self) -> str:
        """Explanation type: the kind of the strongest positive path, else of the strongest path, else 'none'."""
        if self.positive:
            return self.positive[0].kind
        if any(p.sign > 0 for p in self.links):
            return "item_link"
        return self.negative[0].kind if self.negative else "none"


class WhyReport(BaseModel):
    """``kgrec explain``: where the item stands for the user, and why."""

    user: str
    item: str
    title: str | None = None
    run: str
    score: float | None = None
    rank: int | None = None  # 1-based among items the user has not interacted with; None for those
    competing: int = 0
    k: int
    recommended: bool = False
    in_history: bool = False  # the user already interacted with the item (never recommended)
    verdict: str = ""
    explanation: Explanation


def _num(v: Any) -> str:
    return "?" if v is None else f"{float(v):.3g}"


# ---------------------------------------------------------------------------------------- paths

#: the most (interaction, concept) rows of the user's side an explanation reads (the most recent ones): bounds the
#: transaction memory of a user with a very long history
MAX_REACH = 20_000


def explain_items(db: Database, user_id: str, item_ids: list[str], *, per_item: int = 3, run: str | None = None,
                  link_weight: float = 0.0, dislike_value: float = 1.0) -> dict[str, Explanation]:
    """Best explanation paths of each item for ``user_id``, in ONE Cypher round trip (two when the run has item
    links).

    Args:
        item_ids: Item.id values (unknown ids get an empty explanation).
        per_item: paths kept per item and sign (strongest |weight| first).
        run, link_weight, dislike_value: the run whose ``ITEM_LINK`` paths to add, with its
            ``item_link_weight`` and ``item_link_dislike_value`` (:class:`~kgrec_neo4j.serve.scoring.RunModel`
            holds them); no item-link paths when ``run`` is ``None`` or ``link_weight`` is 0.

    Returns:
        item id -> :class:`Explanation` (with its sentence), for every id of ``item_ids``.
    """
    if per_item < 1:
        raise ValueError(f"per_item must be >= 1 (got {per_item})")
    items = list(dict.fromkeys(item_ids))
    out = {i: Explanation(user=user_id, item=i) for i in items}
    if not items:
        return out
    rows = db.query(cypher("explain/paths"), user=user_id, items=items, per_item=per_item, max_reach=MAX_REACH)
    for row in rows:
        e = out[row["item"]]
        e.title = row["title"]
        e.positive = [ExplanationPath(user=user_id, item=row["item"], **p) for p in row["positive"]]
        e.negative = [ExplanationPath(user=user_id, item=row["item"], **p) for p in row["negative"]]
    if run is not None and link_weight:
        for row in db.query(cypher("explain/item_link_paths"), user=user_id, items=items, run=run,
                            link_weight=float(link_weight), dislike_value=float(dislike_value),
                            per_item=per_item):
            e = out[row["item"]]
            e.links = [ExplanationPath(user=user_id, item=row["item"], **p) for p in row["paths"]]
            e.link_total = float(row["total"])
    for e in out.values():
        e.sentence = render_sentence(e)
    return out


# -------------------------------------------------------------------------------------- sentences

def _and(words: list[str]) -> str:
    words = [w for w in words if w]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _em(text: str) -> str:
    return f"*{text}*"


def short(title: str | None, n: int = 48) -> str:
    """A title cut at a word boundary to at most ``n`` characters (with an ellipsis)."""
    t = (title or "").strip().replace("*", "\u2217")  # a title's own asterisks must not read as *concept* marks
    if len(t) <= n:
        return t
    cut = t[: n - 1].rsplit(" ", 1)[0].rstrip(" -,:;(")
    return (cut or t[: n - 1]) + "…"


def _interest_clause(paths: list[ExplanationPath]) -> str:
    """'you recently showed interest in *a* (from A and B) and *b*' for positive interest paths."""
    by_horizon: dict[str, list[str]] = {}
    for p in paths:
        ev = f" (from {_and([short(t) for t in p.evidence[:2]])})" if p.evidence else ""
        by_horizon.setdefault(p.horizon or "long", []).append(_em(p.concept_name) + ev)
    parts = []
    for hz, concepts in by_horizon.items():
        verb = "recently showed interest in" if hz == "short" else "have a long-term interest in"
        parts.append(f"you {verb} {_and(concepts)}")
    return "; ".join(parts)


def _item_clauses(paths: list[ExplanationPath], verb: str) -> list[tuple[float, str]]:
    """``(weight, 'you liked A and B, which share *a* and *b*')``: interacted items grouped by the concepts
    they share with the item; the weight is that of the group's strongest path."""
    by_via: dict[str, tuple[float, list[str]]] = {}
    for p in paths:
        w, names = by_via.setdefault(short(p.via_title or p.via or "?"), (abs(p.weight), []))
        if _em(p.concept_name) not in names:
            names.append(_em(p.concept_name))
    groups: dict[tuple[str, ...], tuple[float, list[str]]] = {}
    for via, (w, names) in by_via.items():
        gw, vias = groups.setdefault(tuple(names), (w, []))
        vias.append(via)
        groups[tuple(names)] = (max(gw, w), vias)
    return [(w, f"you {verb} {_and(vias)}, which {'share' if len(vias) > 1 else 'shares'} {_and(list(names))}")
            for names, (w, vias) in groups.items()]


def _unique(seq):
    return list(dict.fromkeys(seq))


_VERBS = {"like": "liked", "implicit": "interacted with"}


def positive_clauses(e: Explanation, max_clauses: int = 2) -> list[str]:
    """Clauses for the strongest positive paths, ordered by the weight of their strongest path."""
    clauses: list[tuple[float, str]] = []
    interests = [p for p in e.positive if p.kind == "interest"]
    if interests:
        clauses.append((abs(interests[0].weight), _interest_clause(interests[:2])))
    # a liked item adds something only through a concept the interest clause does not already name
    named = {p.concept for p in interests[:2]}
    liked = [p for p in e.positive if p.kind == "liked_item" and p.concept not in named]
    for verb in dict.fromkeys(_VERBS.get(p.via_kind or "like", "liked") for p in liked):
        clauses.extend(_item_clauses([p for p in liked if _VERBS.get(p.via_kind or "like", "liked") == verb], verb))
    clauses.sort(key=lambda t: -t[0])
    return [c for _, c in clauses[:max_clauses]]


def negative_clauses(e: Explanation, max_clauses: int = 2) -> list[str]:
    """Clauses for the strongest negative paths (negative interests, dislikes)."""
    clauses: list[tuple[float, str]] = []
    neg_int = [p for p in e.negative if p.kind == "negative_interest"]
    if neg_int:
        names = _and(_unique(_em(p.concept_name) for p in neg_int[:2]))
        clauses.append((abs(neg_int[0].weight), f"you are not interested in {names}"))
    clauses.extend(_item_clauses([p for p in e.negative if p.kind == "disliked_item"], "disliked"))
    clauses.sort(key=lambda t: -t[0])
    return [c for _, c in clauses[:max_clauses]]


def link_clauses(e: Explanation, sign: int, max_items: int = 2) -> list[tuple[float, str]]:
    """``(weight, clause)`` for the strongest item-link paths of one sign: 'you liked A and B, which go with
    X' (positive), 'you disliked C, which pulls X down' (negative)."""
    ps = [p for p in e.links if p.sign == sign][:max_items]
    if not ps:
        return []
    by_verb: dict[str, list[str]] = {}
    for p in ps:
        verb = "disliked" if (p.edges and (p.edges[0].get("sign") or 0) < 0) else _VERBS.get(p.via_kind or "like", "liked")
        by_verb.setdefault(verb, []).append(short(p.via_title or p.via or "?"))
    tail = ("which go" if len(ps) > 1 else "which goes") + " with it in the item graph" if sign > 0 else \
        ("which pull" if len(ps) > 1 else "which pulls") + " it down in the item graph"
    text = "you " + _and([f"{verb} {_and(titles)}" for verb, titles in by_verb.items()])
    return [(abs(ps[0].weight), f"{text}, {tail}")]


def render_sentence(e: Explanation) -> str:
    """The explanation as a sentence, built only from ``e``'s stored paths.

    "recommended because you recently showed interest in *co-op multiplayer* (from A and B); X has
    *co-op multiplayer* and *split-screen*", plus "held back because you disliked A, which shares
    *motion controls*" when negative paths exist.
    """
    title = short(e.title or e.item, 60)
    pos, neg = positive_clauses(e), negative_clauses(e)
    pos_links, neg_links = link_clauses(e, 1), link_clauses(e, -1)
    parts = []
    if pos:
        has = _unique(_em(p.concept_name) for p in e.positive)[:3]
        parts.append(f"recommended because {'; '.join(pos)}; {title} has {_and(has)}"
                     + (f"; also, {pos_links[0][1]}" if pos_links else ""))
    elif pos_links:
        parts.append(f"recommended because {pos_links[0][1]}")
    if neg or neg_links:
        clauses = neg + [c for _, c in neg_links]
        parts.append(("held back because " if pos or pos_links else "ranked low because ") + "; ".join(clauses))
    if not parts:
        return f"No stored path connects you to {title}; its score comes from the model's collaborative signal only."
    return " ".join(p[0].upper() + p[1:] + "." for p in parts)


# ------------------------------------------------------------------------------------ why / why-not

def explain(db: Database, user_id: str, item_id: str, *, k: int = 10, per_item: int = 5,
            run: str | None = None) -> WhyReport:
    """Why (or why not) ``item_id`` is recommended to ``user_id``: its score, rank and paths.

    Raises:
        ExplainError: unknown item, or an item without an embedding of the run.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1 (got {k})")
    m, [st] = scoring_state(db, [user_id], run, links=False)
    exp = explain_items(db, user_id, [item_id], per_item=per_item, run=m.run, link_weight=m.link_weight,
                        dislike_value=m.dislike_value)[item_id]
    if exp.title is None:  # the paths query returns a row (with the title) for every item that exists
        raise ExplainError(f"unknown item {item_id!r}: expected an Item.id that was loaded (`kgrec load`).")
    title = exp.title
    if item_id not in m.index:
        raise ExplainError(f"item {item_id!r} has no vector of run {m.run!r}, so it is not scored yet; an item "
                           f"added after the run counts once `kgrec update` or a new `kgrec train` gives it one.")
    j = m.index[item_id]
    s = scores(m, [st])[0]
    in_history = bool((st.exclude == j).any())
    rank, competing = rank_of(s, j, st.exclude)
    rep = WhyReport(user=user_id, item=item_id, title=title, run=m.run, score=float(s[j]),
                    rank=rank or None, competing=competing, k=k, in_history=in_history,
                    recommended=(not in_history and 1 <= rank <= k), explanation=exp)
    rep.verdict = _verdict(rep)
    return rep


def _verdict(r: WhyReport) -> str:
    e, title = r.explanation, short(r.title or r.item, 60)
    pos = positive_clauses(e) + [c for _, c in link_clauses(e, 1)]
    neg = negative_clauses(e) + [c for _, c in link_clauses(e, -1)]
    if r.in_history:
        return (f"you already interacted with {title}, so it is not recommended to you again "
                f"(score {r.score:.4g}).")
    assert r.rank is not None  # None only for train items
    where = f"#{r.rank} of {r.competing} (score {r.score:.4g})"
    if r.recommended:
        head = f"{title} is recommended at {where}"
        if pos:
            return f"{head} because {'; '.join(pos)}" + (f"; held back a little because {'; '.join(neg)}" if neg else "") + "."
        return f"{head}; no stored path explains it: the score comes from the model's collaborative signal."
    if neg:
        tail = f" (although {'; '.join(pos)})" if pos else ""
        return f"{title} is ranked low, {where}, because {'; '.join(neg)}{tail}."
    if pos:
        return (f"{title} is ranked {where}, outside your top {r.k}: {'; '.join(pos)}, "
                f"but {r.rank - 1} items score higher.")
    return f"{title} is ranked {where}, outside your top {r.k}: no stored path connects you to it."


# ------------------------------------------------------------------------------------- validity

def verify_paths(db: Database, paths: list[ExplanationPath], *, batch_size: int = 500) -> list[bool]:
    """Re-MATCH every path with ``cypher/explain/verify_paths`` (a query separate from the one that found it).

    Returns one bool per path: its relationships still connect the same user, concept and items, with the
    same polarity / sign.
    """
    text = cypher("explain/verify_paths")
    out: list[bool] = []
    for start in range(0, len(paths), batch_size):
        chunk = paths[start: start + batch_size]
        rows = [{"n": n, "kind": p.kind, "user": p.user, "item": p.item, "concept": p.concept,
                 "via": p.via, "rels": p.rels} for n, p in enumerate(chunk)]
        got = {r["n"]: bool(r["ok"]) for r in db.query(text, paths=rows)}
        out.extend(got.get(n, False) for n in range(len(chunk)))
    return out


# -------------------------------------------------------------------------------------- profile

def interest_profile(db: Database, user_id: str, *, limit: int = 30) -> list[Interest]:
    """The user's interests (INTERESTED_IN edges), strongest (weight × confidence) first."""
    return [Interest(**r) for r in db.query(cypher("explain/profile"), user=user_id, limit=limit)]
