"""Explanations that tell the truth about the score: why an item is recommended, and why another one is not.

The served score (:mod:`~kgrec_neo4j.serve.scoring`) splits exactly into signed **shares**, one per neighbour of
the user (:func:`~kgrec_neo4j.serve.scoring.score_shares`): each interacted item (its terms in the folded-in
``z_u`` dotted with ``z_i``, plus its item-graph term ``w * x_uj * ITEM_LINK(j -> i).weight``), each interest
concept, and the user's own trained embedding. The shares add up to the score. A **reason** is one neighbour with
its share; its **evidence** is the stored paths that connect it to the item, each one MATCHed by
``cypher/explain/evidence.cypher`` (never assembled from separate look-ups):

* ``item_link``: ``user -INTERACTED-> j -ITEM_LINK-> item`` (it carries the reason's item-graph part exactly);
* ``shared_concept``: ``user -INTERACTED-> j -HAS_KNOWLEDGE-> concept <-HAS_KNOWLEDGE- item`` (the most
  specific concepts first: those with the fewest items);
* ``interest``: ``user -INTERESTED_IN-> concept <-HAS_KNOWLEDGE- item``;
* ``family_concept`` (only for an interacted item that shares no concept with the item): ``user -INTERACTED-> j
  -HAS_KNOWLEDGE-> c``, then ``c`` and the item's concept ``ci`` are of one family (:mod:`~kgrec_neo4j.concepts.families`):
  ``ci -BROADER-> c`` (``family="narrower"``: the item's concept is narrower), ``c -BROADER-> ci`` (``"broader"``) or
  ``c -BROADER-> parent <-BROADER- ci`` (``"sibling"``), and ``ci <-HAS_KNOWLEDGE- item``;
* ``interest_family`` (only for an interest concept the item does not have): ``user -INTERESTED_IN-> c``,
  ``ci -BROADER-> c`` (``"narrower"``: the item has a narrower value of the interest) or ``c -BROADER-> ci``
  (``"broader"``), ``ci <-HAS_KNOWLEDGE- item``.

A family path never says the two concepts are one: "its *Xbox 360* and this one's *Xbox One* are of the *Xbox*
family", "it has *Xbox One*, of that family". Shared concepts are preferred: an interacted item that shares a
concept with the item gets no family path.

A reason without a stored path (the user's own embedding, or an item or interest that acts through the model's
embeddings only) is said to have none; it is never hidden and no path is invented for it. Sentences order and
word reasons by their share: the sign of a clause is the sign of its share, and the verb is the kind of the
user's interaction ("liked", "disliked", "had mixed feelings about", "bought"), so "you disliked A, which still
goes with it in the item graph" is said when the model counts that dislike for the item. The sentence uses the
reasons' shares and their first evidence only, so it does not depend on how many paths are shown.

Public API: :func:`explain_items` (one round trip for all k items of a user), :func:`explain` (why / why not for
one pair), :func:`render_sentence`, :func:`verify_paths` (re-MATCH paths with a separate query),
:func:`interest_profile`.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from ..core.config import SAME_WORK_POLICIES
from ..core.db import Database
from ..core.errors import BadArgument, KgrecError
from ..core.resources import cypher
from ..core.schema import NEUTRAL_VERB
from ..model.foldin import valid_interest
from ..users.interests.store import Interest
from .scoring import RunModel, UserState, rank_of, removal_effects, score_shares, scores, scoring_state, stored_titles

log = logging.getLogger(__name__)

PathKind = Literal["item_link", "shared_concept", "interest", "family_concept", "interest_family"]
#: how the item's concept relates to the concept on the user's side in a family path
Family = Literal["narrower", "broader", "sibling"]
#: path kinds that go through BROADER edges, and those that start at an interest
FAMILY_KINDS = ("family_concept", "interest_family")
INTEREST_KINDS = ("interest", "interest_family")
ReasonKind = Literal["item", "interest", "profile"]

#: a reason is stated in the sentence when its |share| is at least this fraction of the sum of every |share|
MIN_STATED = 0.05
#: what is said when no reason reaches :data:`MIN_STATED`: of the reasons' sizes summed, for and against (it said
#: "of its score", which a reason of 5.3% of the score, under 5% of that sum, contradicted)
NONE_STATED = f"no single reason makes up {MIN_STATED:.0%} of its reasons' sizes summed (for and against)"
#: a reason's second part (model or item graph) is worded only when it is at least this fraction of its share
MINOR_PART = 0.1
#: at most this many clauses for and against the item
MAX_FOR, MAX_AGAINST = 3, 2
#: reasons listed per item (with their evidence); the rest are summed in ``Explanation.other``
MAX_REASONS = 10
#: the most interactions, and (interaction, concept) rows, of the user's side an explanation reads (the most recent
#: ones): bounds the transaction memory of a user with a very long history
MAX_REACH = 20_000
#: items whose paths one evidence query reads: a page of recommendations in one round trip; k=1000 in forty, where one
#: query of all of them needed more than the 1.4 GiB Neo4j gave a transaction (and the driver retried it for 79 s)
EVIDENCE_CHUNK = 25
#: the most items one request of the service explains (``explain=true``): each costs paths
MAX_EXPLAINED = 100
#: verbs of the interaction kinds (the classifier's kinds); an unknown kind reads "interacted with"
#: an implicit interaction (no rating, no review to read a sign from) is worded by the database's knowledge-type
#: pack (``implicit_verb``: "bought" for products, "watched" for films); any other kind by this table
VERBS = {"like": "liked", "dislike": "disliked", "mixed": "had mixed feelings about"}
_KIND_ORDER = ("like", "implicit", "mixed", "dislike")


class ExplainError(KgrecError):
    """An explanation that cannot be given (unknown user or item)."""


def new_items_note(new: int, blank: int, *, whose: str = "you") -> str:
    """What the ``new`` interacted items the run cannot score are, and what gives them a vector: ``kgrec update``
    for the ones without a vector yet; for the ``blank`` ones, folded in from nothing (no knowledge, no user the run
    knows), text that yields knowledge and an update again (the update extracts an item whose text changed), or a
    training run (another update alone changes nothing)."""
    n = f"the {new} items {whose} interacted with" if new > 1 else f"the item {whose} interacted with"
    waiting = new - blank
    it = "them" if blank > 1 else "it"
    later = (f"text that gives {it} knowledge (a description or features: load or post {it} again with {it}, then "
             f"`kgrec update`) or a `kgrec train` gives {it} a vector")
    if not blank:
        return (f"{n} {'are' if new > 1 else 'is'} new to the model (no vector yet): `kgrec update` folds "
                f"{'them' if new > 1 else 'it'} in from {'their' if new > 1 else 'its'} knowledge and users")
    if not waiting:
        return (f"{n} {'were' if new > 1 else 'was'} folded in from nothing (no knowledge, no user the model "
                f"knows): until {later}, {'they score' if new > 1 else 'it scores'} nothing")
    return (f"{n} {'are' if new > 1 else 'is'} new to the model: {waiting} without a vector yet (`kgrec update` "
            f"folds {'them' if waiting > 1 else 'it'} in), {blank} folded in from nothing (until {later}, "
            f"{'they score' if blank > 1 else 'it scores'} nothing)")


class NotScoredYet(ExplainError):
    """An item of the graph without a vector of the run (added after it; `kgrec update` folds it in)."""


class ExplanationPath(BaseModel):
    """One stored path from the user to the item, evidence of a reason.

    ``share`` is on the score's scale: for ``item_link`` the path's exact item-graph term
    (``w * x_uj * ITEM_LINK.weight``); for ``shared_concept`` and ``family_concept`` the GNN part of the interacted
    item's share it supports; for ``interest`` and ``interest_family`` the interest concept's share. ``rels`` are
    the element ids of the path's relationships in path order (to re-MATCH it). In a family path ``concept`` is
    the concept on the user's side (of the interacted item, or the interest), ``item_concept`` the item's.
    """

    kind: PathKind
    share: float
    user: str
    item: str
    via: str | None = None  # the interacted item (item_link, shared_concept, family_concept)
    via_title: str | None = None
    via_kind: str | None = None  # the interaction kind(s), e.g. "like" or "like+dislike"
    concept: str | None = None  # shared_concept, interest; the user's side of a family path
    concept_name: str = ""
    concept_type: str | None = None
    concept_items: int | None = None  # items that have the concept (fewer: more specific)
    family: Family | None = None  # family paths: how item_concept relates to concept
    item_concept: str | None = None  # family paths: the item's concept
    item_concept_name: str = ""
    item_concept_items: int | None = None
    parent: str | None = None  # family_concept, sibling: the broader concept both are of
    parent_name: str = ""
    link_weight: float | None = None  # item_link: the ITEM_LINK weight
    borrowed: bool = False  # item_link of a new item: borrowed from its neighbours by `kgrec update`
    neighbour: bool = False  # borrowed, and one end is among the new item's neighbours (its own link is in the weight)
    from_new: bool = False  # borrowed, and the via item is a new item: its own links out are its neighbours'
    rels: list[str]

    def describe(self, item_title: str | None = None) -> str:
        """One line: the path as a chain of nodes and edges, with its share of the score (an item link, an interest) or
        the model part of the interacted item it is evidence of (a shared or family concept: not a part of its own)."""
        target = item_title or self.item
        via = f"you -INTERACTED({self.via_kind or '?'})-> {self.via_title}"
        if self.kind == "item_link":
            how = ((", borrowed by a new item for one of its neighbours" if self.neighbour else ", borrowed by a new item")
                   if self.from_new else ", borrowed from a neighbour" if self.neighbour
                   else ", borrowed" if self.borrowed else "")
            chain = f"{via} -ITEM_LINK(w={_num(self.link_weight)}{how})-> {target}"
        else:
            start = "you -INTERESTED_IN->" if self.kind in INTEREST_KINDS else f"{via} -HAS_KNOWLEDGE->"
            concepts = f"[{self.concept_name}]"
            if self.kind in FAMILY_KINDS:
                step = (f"-BROADER-> [{self.parent_name}] <-BROADER-" if self.family == "sibling"
                        else "<-BROADER-" if self.family == "narrower" else "-BROADER->")
                concepts += f" {step} [{self.item_concept_name}]"
            chain = f"{start} {concepts} <-HAS_KNOWLEDGE- {target}"
        note = self.evidence_note()
        return f"{chain}   {note}" if note else f"{chain}   share {self.share:+.4g}"

    def evidence_note(self, digits: int = 4) -> str | None:
        """For a concept path (shared or family), what it says of its interacted item's model part: evidence, not a
        part of its own (every concept path of one interacted item carries that item's whole model part, so two of
        them read as two shares that added up to more than the reason); None for a path that is a share."""
        if self.kind not in ("shared_concept", "family_concept"):
            return None
        if self.share == 0:  # (seen under a dislike) nothing for the concept to support
            return "shared, but its model part is 0"
        kinds = (self.via_kind or "").split("+")
        disliked = "dislike" in kinds and "like" not in kinds
        if (self.share < 0) != disliked:
            # a liked item's part against the item: what they share does not make them far apart; an only disliked
            # item's part comes through the dislike graph, where what they share counts against the item, so it
            # supports a part against it, not one for it
            return f"shared, yet its model part is {self.share:+.{digits}g}"
        return f"supports its model part {self.share:+.{digits}g}"


class Reason(BaseModel):
    """One neighbour of the user and its signed share of the item's score (``gnn + item_graph``)."""

    kind: ReasonKind
    id: str | None = None  # Item.id (item) or Concept.id (interest); None for the profile
    name: str
    share: float
    gnn: float = 0.0  # through the folded-in user vector (z_u's part of this neighbour, dotted with z_i)
    item_graph: float = 0.0  # through ITEM_LINK (interacted items only): exact
    interaction: str | None = None  # item: the kind(s) of the user's interaction(s), e.g. "like", "like+dislike"
    horizon: str | None = None  # interest
    polarity: int | None = None  # interest
    rel: str | None = None  # element id of the user's edge to the neighbour (INTERACTED / INTERESTED_IN)
    # score - score without this neighbour (its edges deleted, the user folded in again); computed for the reasons
    # that could be stated. It can differ from the share: a mean or a softmax over the neighbours renormalises.
    removal: float | None = None
    paths: list[ExplanationPath] = Field(default_factory=list)

    def describe(self) -> str:
        """One line: the share, the neighbour, and how the share splits."""
        if self.kind == "profile":
            what = f"{self.name} (no stored path)"
        elif self.kind == "interest":
            what = (f"interest [{self.name}] ({self.horizon or 'long'}, {'+' if (self.polarity or 1) > 0 else '-'})"
                    + ("" if self.paths else " (no stored path)"))
        else:
            what = (f"{self.interaction or 'interaction'}: {short(self.name, 60)}  [model {self.gnn:+.4g}, item graph "
                    f"{self.item_graph:+.4g}]" + ("" if self.paths else " (no stored path)"))
        # (how the score changes when the neighbour is removed: its edges deleted, the user folded in again)
        check = "" if self.removal is None else f"  ({self.removal_text(4)})"
        return f"{self.share:+.4g}  {what}{check}"

    def removal_text(self, digits: int) -> str:
        """How the score changes when the neighbour is removed, and whether that fails the removal check (the line of
        :meth:`describe` and of the report page); empty when it was not checked."""
        if self.removal is None:
            return ""
        return (f"removing it: score {-self.removal:+.{digits}g}"
                + ("; not the way its share says: not stated" if self.disagrees else ""))

    @property
    def disagrees(self) -> bool:
        """Its removal check was run and fails: deleting its edges does not move the score against its share (a
        reason for the item does not lower it, or one against it does not raise it), so no sentence states it
        (:func:`stated_reasons`)."""
        return self.removal is not None and self.removal * self.share <= 0

    @property
    def sign(self) -> int:
        return 1 if self.share > 0 else (-1 if self.share < 0 else 0)

    @property
    def stored(self) -> bool:
        """At least one stored path connects this neighbour to the item."""
        return bool(self.paths)


class Explanation(BaseModel):
    """An item's score split into reasons (strongest |share| first), and its sentence.

    ``sum(r.share for r in reasons) + other + own == score`` (up to float rounding): ``other`` is the sum of the
    ``other_count`` reasons past the first :data:`MAX_REASONS`; ``own`` the share of the user's own interaction with
    the item itself (an item of the user's history): it is in the score, but never a reason for or against itself.

    Where the item stands, for the sentence: ``in_history`` (the user interacted with it); ``recommended`` is
    ``None`` when the caller lists the item (a top-k list: it is recommended), ``False`` when :func:`explain` found
    it is not (ranked ``rank`` of ``competing``, outside the top ``k``, or in the history).
    """

    user: str
    item: str
    title: str | None = None
    score: float | None = None  # None: the run has no vector for the item
    source: str = "model"  # model | interests | popular (a popular item for a user without edges: no shares)
    reasons: list[Reason] = Field(default_factory=list)
    other: float = 0.0
    other_count: int = 0
    abs_total: float = 0.0  # sum of |share| over every reason (listed or not): the scale of MIN_STATED
    own: float = 0.0  # the share of the user's own interaction with the item (an item in the history): not a reason
    own_interaction: str | None = None  # the kind(s) of that interaction, e.g. "dislike" (an item in the history)
    in_history: bool = False  # the user already interacted with the item
    recommended: bool | None = None  # None: listed by the caller (recommended); set by explain()
    rank: int | None = None  # explain(): 1-based among the items the user has not interacted with
    competing: int = 0
    k: int | None = None
    new_items: int = 0  # interacted items the run has no vector for yet, or a zero one (a popular fallback says so)
    blank_items: int = 0  # of them, those with a zero vector (folded in from nothing)
    sentence: str = ""
    implicit_verb: str = Field(NEUTRAL_VERB, exclude=True)  # the pack's word for an interaction without a rating

    @property
    def paths(self) -> list[ExplanationPath]:
        """Every stored path of the listed reasons, in reason order."""
        return [p for r in self.reasons for p in r.paths]

    @property
    def stated(self) -> list[Reason]:
        """The reasons the sentence states (for, then against), strongest first."""
        pos, neg = stated_reasons(self)
        return pos + neg

    @property
    def kind(self) -> str:
        """Explanation type: how the strongest positive reason reaches the item (``item_link``, ``shared_concept``,
        ``family_concept``, ``interest``, ``interest_family``, ``profile``, ``embedding`` without a stored path), or
        ``none``."""
        pos = [r for r in self.reasons if r.share > 0]
        if not pos:
            return "none"
        r = pos[0]
        if r.kind == "profile":
            return "profile"
        kinds = [p.kind for p in _evidence(r)]
        return kinds[0] if kinds else "embedding"


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
    kth_score: float | None = None  # the score of the user's k-th item (what an item needs to be recommended)
    recommended: bool = False
    in_history: bool = False  # the user already interacted with the item (never recommended)
    same_work_as: list[str] = Field(default_factory=list)  # titles of owned items this one is another edition of
    verdict: str = ""
    explanation: Explanation


def _drop_gone(db: Database, m: RunModel, masked: np.ndarray, j: int, k: int) -> None:
    """Leave out of ``masked`` the items of the loaded run ahead of item ``j`` or among the first ``k`` that are no
    longer stored (deleted or renamed since the run was loaded, e.g. in Browser): the rank and the verdict are the
    item's place in the list the service gives now, which leaves them out (``recommend._live``)."""
    finite = np.isfinite(masked)
    if not finite.any():
        return
    top = np.argpartition(-np.where(finite, masked, -np.inf), min(k, masked.size) - 1)[:k]
    ahead = np.nonzero(masked >= masked[j])[0] if np.isfinite(masked[j]) else np.empty(0, np.int64)
    idx = np.union1d(top[finite[top]], ahead)
    live = stored_titles(db, [m.ids[i] for i in idx.tolist() if i != j])
    gone = [i for i in idx.tolist() if i != j and m.ids[i] not in live]
    if gone:
        masked[gone] = -np.inf


def _num(v: Any) -> str:
    return "?" if v is None else f"{float(v):.3g}"


# ---------------------------------------------------------------------------------------- reasons

def _interaction(kinds: list[str | None], signs: list[int]) -> str:
    """The kinds of a user's interactions with one item, most positive first (``like+dislike`` when both)."""
    out = []
    for kind, sign in zip(kinds, signs, strict=True):
        out.append(kind or ("like" if sign > 0 else "dislike" if sign < 0 else "mixed"))
    known = [k for k in _KIND_ORDER if k in out] + sorted({k for k in out if k not in _KIND_ORDER})
    return "+".join(known)


def explain_items(db: Database, user_id: str, item_ids: list[str], *, per_item: int = 3, run: str | None = None,
                  model: RunModel | None = None, state: UserState | None = None) -> dict[str, Explanation]:
    """Each item's score split into reasons with their stored paths, in one Cypher round trip per
    :data:`EVIDENCE_CHUNK` items.

    Args:
        item_ids: Item.id values (an unknown id gets an empty explanation).
        per_item: concept paths shown per reason (the most specific shared concepts first), besides its item
            link or interest edge; the sentence does not depend on it.
        run: the run to explain (default: the current one).
        model, state: the run's model and the user's state as scored (:func:`~kgrec_neo4j.serve.scoring.scoring_state`);
            read here when not given.

    Returns:
        item id -> :class:`Explanation` (with its sentence), for every id of ``item_ids``.
    """
    if per_item < 1:
        raise BadArgument(f"per_item must be >= 1 (got {per_item})")
    items = list(dict.fromkeys(item_ids))
    out = {i: Explanation(user=user_id, item=i) for i in items}
    if not items:
        return out
    if model is None or state is None:
        model, [state] = scoring_state(db, [user_id], run, links=False)
    m, st = model, state
    for e in out.values():
        e.implicit_verb = m.implicit_verb
    # the paths of EVIDENCE_CHUNK items per query: one round trip for a page of recommendations, and a long list
    # (k=1000) never one query whose paths outgrow the memory Neo4j gives a transaction
    row: dict[str, Any] | None = None
    for k in range(0, len(items), EVIDENCE_CHUNK):
        rows = db.query(cypher("explain/evidence"), user=user_id, items=items[k:k + EVIDENCE_CHUNK], run=m.run,
                        per_via=max(per_item, 1), max_reach=MAX_REACH)
        if not rows:  # the user is not in the graph, or none of these items is
            continue
        if row is None:
            row = dict(rows[0])
        else:
            row["items"] = [*row["items"], *rows[0]["items"]]
    if row is None:  # (an unknown id gets an empty explanation)
        for e in out.values():
            e.sentence = render_sentence(e)
        return out
    history = {h[0]: (h[1], _interaction(h[2], h[3]), h[4]) for h in row["history"]}
    # every edge of the user to each concept, strongest first: a concept's share sums them all, and the reason is
    # named after the strongest edge whose polarity has the share's sign (a user with a long-term dislike and a
    # short-term interest in one concept is "not interested" where that is what counts against the item)
    interests: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cid, name, horizon, polarity, weight, confidence, rel in row["interests"]:
        if not valid_interest(horizon, polarity, weight):  # (left out of the score: not a reason either)
            continue
        interests[cid].append({"name": name, "horizon": horizon, "polarity": int(polarity),
                               "strength": weight * confidence, "rel": rel})
    for edges in interests.values():
        edges.sort(key=lambda x: -x["strength"])
    found = {r["item"]: r for r in row["items"]}
    targets = [i for i in items if i in found and i in m.index]
    for i in items:
        if i in found:
            out[i].title = found[i]["title"]
            out[i].source = st.source
            out[i].new_items = st.unknown_items
            out[i].blank_items = st.blank_items
            out[i].in_history = i in history or (i in m.index and bool((st.exclude == m.index[i]).any()))
            out[i].own_interaction = history[i][1] if i in history else None
    if not targets:
        for e in out.values():
            e.sentence = render_sentence(e)
        return out
    t_idx = np.asarray([m.index[i] for i in targets], np.int64)
    # the item-graph shares from the links the score was summed from: a process that holds the run's links in
    # memory (`kgrec serve`, a batch) scored with those, and the graph's may be cleared meanwhile (a newer run took
    # over; a link deleted during this read comes back without a weight); a one-off command summed the graph's
    link_w = None if m.links is not None else {
        (m.index[lk["via"]], m.index[r["item"]]): float(lk["weight"])
        for r in row["items"] if r["item"] in m.index for lk in r["links"]
        if lk["via"] in m.index and lk["weight"] is not None}
    sh = score_shares(m, st, t_idx, link_w)
    for b, i in enumerate(targets):
        e = out[i]
        e.score = float(sh.score[b])
        if st.source == "popular":
            e.sentence = render_sentence(e)
            continue
        ev = found[i]
        links = {lk["via"]: lk for lk in ev["links"]}
        shared = {s["via"]: s["concepts"] for s in ev["shared"]}
        family = {f["via"]: f["paths"] for f in ev["family"]}
        has = {h["concept"]: h["rels"] for h in ev["has"]}
        fam_has = {f["concept"]: f["paths"] for f in ev["fam_has"]}
        reasons: list[Reason] = []
        if sh.ego[b]:
            reasons.append(Reason(kind="profile", name="your taste profile learned in training",
                                  share=float(sh.ego[b]), gnn=float(sh.ego[b])))
        for n, j in enumerate(sh.items.tolist()):
            jid = m.ids[j]
            gnn, ig = float(sh.item_gnn[b, n]), float(sh.item_graph[b, n])
            if jid == i:  # the user's own interaction with the item: in its score, never a reason for or against it
                e.own += gnn + ig
                continue
            if not gnn and not ig:
                continue
            title, kind, rel = history.get(jid, (m.titles[j] or jid, None, None))
            r = Reason(kind="item", id=jid, name=title or jid, share=gnn + ig, gnn=gnn, item_graph=ig,
                       interaction=kind, rel=rel)
            lk = links.get(jid)
            if lk is not None and lk["weight"] is not None and ig:
                weight = float(m.links[j, m.index[i]]) if m.links is not None else float(lk["weight"])
                r.paths.append(ExplanationPath(kind="item_link", share=ig, user=user_id, item=i, via=jid,
                                               via_title=r.name, via_kind=kind, link_weight=weight,
                                               borrowed=bool(lk.get("borrowed")),
                                               neighbour=bool(lk.get("neighbour")),
                                               from_new=bool(lk.get("from_new")), rels=lk["rels"]))
            for c in shared.get(jid, [])[:per_item]:
                r.paths.append(ExplanationPath(kind="shared_concept", share=gnn, user=user_id, item=i, via=jid,
                                               via_title=r.name, via_kind=kind, concept=c["concept"],
                                               concept_name=c["name"], concept_type=c["type"],
                                               concept_items=c["items"], rels=c["rels"]))
            for f in family.get(jid, [])[:per_item]:  # the query gives them only when no concept is shared
                r.paths.append(ExplanationPath(kind="family_concept", share=gnn, user=user_id, item=i, via=jid,
                                               via_title=r.name, via_kind=kind, concept=f["concept"],
                                               concept_name=f["name"], concept_type=f["type"],
                                               concept_items=f["items"], family=f["family"],
                                               item_concept=f["item_concept"],
                                               item_concept_name=f["item_concept_name"],
                                               item_concept_items=f["item_concept_items"], parent=f["parent"],
                                               parent_name=f["parent_name"] or "", rels=f["rels"]))
            reasons.append(r)
        for n, c in enumerate(sh.concepts.tolist()):
            share = float(sh.concept_gnn[b, n])
            if not share:
                continue
            cid = m.concept_ids[c]
            edges = interests.get(cid) or [{"name": cid, "horizon": "long", "polarity": 1, "rel": None}]
            info = next((x for x in edges if x["polarity"] * share > 0), edges[0])
            r = Reason(kind="interest", id=cid, name=info["name"], share=share, gnn=share, horizon=info["horizon"],
                       polarity=info["polarity"], rel=info["rel"])
            # (the item side of each path comes from the query; it starts at the edge the reason is named after)
            if cid in has:
                r.paths.append(ExplanationPath(kind="interest", share=share, user=user_id, item=i, concept=cid,
                                               concept_name=info["name"], rels=[info["rel"], *has[cid]]))
            else:  # the item has a narrower (or broader) value of the interest, not the interest itself
                for f in fam_has.get(cid, [])[:per_item]:
                    r.paths.append(ExplanationPath(kind="interest_family", share=share, user=user_id, item=i,
                                                   concept=cid, concept_name=info["name"], family=f["family"],
                                                   item_concept=f["item_concept"],
                                                   item_concept_name=f["item_concept_name"],
                                                   item_concept_items=f["item_concept_items"],
                                                   rels=[info["rel"], *f["rels"]]))
            reasons.append(r)
        reasons.sort(key=lambda r: (-abs(r.share), r.kind, r.id or ""))
        e.reasons = reasons[:MAX_REASONS]
        rest = reasons[MAX_REASONS:]
        e.other, e.other_count = float(sum(r.share for r in rest)), len(rest)
        e.abs_total = float(sum(abs(r.share) for r in reasons))
        # the reasons a sentence could state are also checked by removal (see stated_reasons)
        cands = [r for r in e.reasons if abs(r.share) >= MIN_STATED * e.abs_total]
        nbrs: list[tuple[str, int | None]] = [("profile", None) if r.kind == "profile" else
                ("item", m.index[str(r.id)]) if r.kind == "item" else ("interest", m.concept_index[str(r.id)])
                for r in cands]
        for r, eff in zip(cands, removal_effects(m, st, int(t_idx[b]), nbrs, [r.item_graph for r in cands]),
                          strict=True):
            r.removal = float(eff)
        e.sentence = render_sentence(e)
    for i in items:
        if not out[i].sentence:
            out[i].sentence = render_sentence(out[i])
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


def same_work_note(titles: list[str], policy: str) -> str:
    """The sentence added to an edition or port of owned items (their ``titles``, two shown at most) under the
    ``same_work`` ``policy``."""
    shown = " and ".join(short(t) for t in titles[:2]) + (f" (and {len(titles) - 2} more)" if len(titles) > 2 else "")
    return (f" It is another edition of {shown}, which is in your history"
            + (", so it comes after every other item." if policy == "demote" else "."))


def _verb(interaction: str | None, implicit: str = NEUTRAL_VERB) -> str:
    kinds = (interaction or "").split("+") if interaction else []
    return _and([implicit if k == "implicit" else VERBS.get(k, NEUTRAL_VERB) for k in kinds]) or NEUTRAL_VERB


def _already(e: Explanation, title: str) -> str:
    """"You already interacted with X" and how: "you disliked it", "you bought it" (the item's own interaction)."""
    how = f" (you {_verb(e.own_interaction, e.implicit_verb)} it)" if e.own_interaction else ""
    return f"You already interacted with {title}{how}"


def _evidence(r: Reason) -> list[ExplanationPath]:
    """The paths that support the reason's sign: the item link when the item-graph part has the reason's sign,
    shared concepts and family paths when the GNN part has it, the interest (or interest-family) path of an
    interest."""
    out = []
    for p in r.paths:
        part = r.item_graph if p.kind == "item_link" else r.gnn
        if p.kind in INTEREST_KINDS or part * r.share > 0:
            out.append(p)
    return out


def family_phrase(p: ExplanationPath) -> str:
    """A family path in words, without saying the two concepts are one. ``its`` is the interacted item's, ``this
    one's`` the recommended item's."""
    mine, theirs = _em(p.concept_name), _em(p.item_concept_name)
    if p.family == "sibling":
        return f"its {mine} and this one's {theirs} are of the {_em(p.parent_name)} family"
    if p.family == "narrower":
        return f"this one's {theirs} is of its {mine} family"
    return f"its {mine} is of this one's {theirs} family"


def interest_family_phrase(p: ExplanationPath) -> str:
    """An interest-family path in words: the item has a narrower (or broader) value of the interest."""
    if p.family == "narrower":
        return f"it has {_em(p.item_concept_name)}, of that family"
    return f"it has {_em(p.item_concept_name)}, the family {_em(p.concept_name)} is of"


def distinct_names(reasons: list[Reason]) -> dict[str, str]:
    """The item reasons' names as one sentence shows them: cut by :func:`short`, longer where two items' cuts are the
    same ("BIC Round Stic Xtra Life Ballpoint Pen, Medium…" for a red and a black pack), whole where they still are,
    and with the item id where the whole titles are the same. Keyed by the reason's ``id``."""
    full = {r.id: (r.name or r.id).strip() for r in reasons if r.kind == "item" and r.id}
    names = {i: short(t) for i, t in full.items()}
    for n in (72, 96, 128, None):
        cut = Counter(names.values())
        clash = [i for i in names if cut[names[i]] > 1]
        if not clash:
            return names
        for i in clash:
            names[i] = short(full[i], n or len(full[i]))
    cut = Counter(names.values())
    return {i: f"{t} ({i})" if cut[t] > 1 else t for i, t in names.items()}


#: an item reason's words when its item link was borrowed by `kgrec update`, by (the user's item is the new one, the
#: other end is among the new item's neighbours): for it, for it from a dislike ("still"), against it
BORROWED_WORDS: dict[tuple[bool, bool], tuple[str, str, str]] = {
    (False, False): ("which goes with the items most like it (it is new to the model)",
                     "which still goes with the items most like it (it is new to the model)",
                     "which counts against the items most like it (it is new to the model)"),
    (False, True): ("which is among the items most like it (it is new to the model)",
                    "which is among the items most like it and still goes with it (it is new to the model)",
                    "which is among the items most like it and counts against it (it is new to the model)"),
    (True, False): ("which is new to the model: the items most like it go with this item",
                    "which is new to the model: the items most like it still go with this item",
                    "which is new to the model: the items most like it count against this item"),
    (True, True): ("which is new to the model and has this item among the items most like it",
                   "which is new to the model, has this item among the items most like it and still goes with it",
                   "which is new to the model and has this item among the items most like it, yet counts against it"),
}


def clause(r: Reason, implicit_verb: str = NEUTRAL_VERB, name: str | None = None) -> str:
    """One reason in words, by the sign of its share (see the module docstring); ``implicit_verb`` words an
    interaction without a rating (the pack's, e.g. "bought"); ``name`` is how an item reason names its item (default:
    its title cut by :func:`short`; see :func:`distinct_names`)."""
    pos = r.share > 0
    if r.kind == "profile":
        return ("your taste profile learned in training points to it" if pos
                else "your taste profile learned in training points away from it") + " (no stored path)"
    if r.kind == "interest":
        c = _em(r.name)
        has = any(p.kind == "interest" for p in r.paths)
        fam = next((p for p in r.paths if p.kind == "interest_family"), None)
        if (r.polarity or 1) < 0:
            head = f"you are not interested in {c}" + ("" if not pos else ", yet the model counts that for it")
        elif pos:
            head = (f"you recently showed interest in {c}" if r.horizon == "short"
                    else f"you have a long-term interest in {c}")
        else:
            head = f"your interest in {c} counts against it"
        agrees = pos == ((r.polarity or 1) > 0)
        if has:
            return head + (", which it has" if agrees else f" (it has {c})")
        if fam is not None:
            return head + (f"; {interest_family_phrase(fam)}" if agrees else f" ({interest_family_phrase(fam)})")
        return head + " (no stored path: through the model's embeddings)"
    # an interacted item
    head = f"you {_verb(r.interaction, implicit_verb)} {name or short(r.name)}"
    parts = sorted([(abs(r.item_graph), "ig"), (abs(r.gnn), "gnn")], reverse=True)
    phrases: list[str] = []
    concepts = [p for p in r.paths if p.kind == "shared_concept"]
    kin = [p for p in r.paths if p.kind == "family_concept"]
    kinds = (r.interaction or "").split("+")
    disliked = "dislike" in kinds and "like" not in kinds  # only disliked: the model's dislike side, not its likes'
    for size, part in parts:
        value = r.item_graph if part == "ig" else r.gnn
        if not size or value * r.share <= 0 or (phrases and size < MINOR_PART * abs(r.share)):
            continue  # a part of the other sign, or a minor second one, is in the reason's numbers, not its words
        if part == "ig":
            still = " still" if pos and disliked else ""
            # a new item's links are borrowed from the items most like it by text or knowledge (kgrec update), the user's
            # item among them or not; when the user's item is the new one, its links out are borrowed from the items
            # most like it, and go to those items themselves (neighbour) or to the items they link to
            link = next((p for p in r.paths if p.kind == "item_link" and p.borrowed), None)
            if link is not None:
                plain, still_form, against = BORROWED_WORDS[link.from_new, link.neighbour]
                phrases.append(plain if pos and not still else still_form if pos else against)
            else:
                phrases.append(f"which{still} goes with it in the item graph" if pos
                               else "which counts against it in the item graph")
        elif disliked:
            # a disliked item's model part comes through the dislike graph, whose learned gate reverses what it
            # carries (it starts at -0.5): a dislike counts against the items like it, so a share against the item
            # says what they share, never "far from it"; one for it says only that it counts for it
            phrases.append(("which counts for it in the model's embeddings" + ("" if concepts or kin
                                                                               else " (no stored path)"))
                           if pos else f"which shares {_em(concepts[0].concept_name)} with it" if concepts
                           else f"which is close to it: {family_phrase(kin[0])}" if kin
                           else "which counts against it in the model's embeddings (no stored path)")
        elif pos:
            phrases.append(f"which shares {_em(concepts[0].concept_name)} with it" if concepts
                           else f"which is close to it: {family_phrase(kin[0])}" if kin
                           else "which is close to it in the model's embeddings (no stored path)")
        else:  # a liked (or bought) item's model part against the item: what they share is said as a concession
            phrases.append("which is far from it in the model's embeddings"
                           + (f", although both have {_em(concepts[0].concept_name)}" if concepts
                              else f", although {family_phrase(kin[0])}" if kin else " (no stored path)"))
    if len(phrases) == 2:
        return f"{head}, {phrases[0]} and {phrases[1].removeprefix('which ')}"
    return f"{head}, {phrases[0]}" if phrases else head


def stated_reasons(e: Explanation) -> tuple[list[Reason], list[Reason]]:
    """The reasons a sentence states: for the item (share > 0) and against it, strongest first, at most
    :data:`MAX_FOR` / :data:`MAX_AGAINST`, each with |share| at least :data:`MIN_STATED` of the sum of every |share|
    and a removal check that agrees with its share (deleting the neighbour's edges moves the score against the
    reason: a reason for the item lowers it). A reason whose removal disagrees (a mean or softmax over the user's
    neighbours renormalises) is listed with both numbers but not stated."""
    floor = MIN_STATED * (e.abs_total or sum(abs(r.share) for r in e.reasons) + abs(e.other))
    big = [r for r in e.reasons if abs(r.share) >= floor and r.share != 0
           and not r.disagrees]
    return [r for r in big if r.share > 0][:MAX_FOR], [r for r in big if r.share < 0][:MAX_AGAINST]


def _stated_clauses(e: Explanation, pos: list[Reason], neg: list[Reason]) -> tuple[str, str]:
    """The clauses for the item and those against it, joined, every item named apart (:func:`distinct_names`)."""
    names = distinct_names(pos + neg)
    return ("; ".join(clause(r, e.implicit_verb, names.get(r.id or "")) for r in pos),
            "; ".join(clause(r, e.implicit_verb, names.get(r.id or "")) for r in neg))


def _for_and_against(pos: list[Reason], neg: list[Reason], for_it: str, against: str) -> str:
    """"for it, …; against it, …", the side whose stated reasons weigh more first (an item ranked low mostly for
    what counts against it reads that first)."""
    sides = [(sum(r.share for r in pos), f"for it, {for_it}" if for_it else ""),
             (-sum(r.share for r in neg), f"against it, {against}" if against else "")]
    if sides[1][0] > sides[0][0]:
        sides.reverse()
    return "; ".join(text for _, text in sides if text)


def render_sentence(e: Explanation) -> str:
    """The explanation as a sentence: its stated reasons in order of |share|, for then against the item (for an item
    not recommended, the side whose stated reasons weigh more first), opened by
    where the item stands: "Recommended because …" only for an item that is recommended (listed by the caller, or
    in the top k of :func:`explain`); "Ranked #R of N, outside your top k: for it, …; against it, …" for one that is
    not; "You already interacted with …" for an item of the user's history (whose own interaction is never one of
    its reasons)."""
    title = short(e.title or e.item, 60)
    if e.source == "popular":
        if e.new_items:
            return f"{title} is among the most popular items now: {new_items_note(e.new_items, e.blank_items)}."
        return f"{title} is among the most popular items now; you have no interactions or interests yet."
    if e.score is None:
        return f"{title} has no vector in this model run yet, so it is not scored."
    pos, neg = stated_reasons(e)
    for_it, against = _stated_clauses(e, pos, neg)
    if e.recommended is False:  # explain(): outside the top k, or in the history
        if e.in_history:
            head = f"{_already(e, title)}, so it is not recommended to you again"
        else:
            head = f"Ranked #{e.rank:,} of {e.competing:,}" + (f", outside your top {e.k}" if e.k else "")
        body = _for_and_against(pos, neg, for_it, against)
        if body:
            return f"{head}: {body}."
        if not e.reasons:
            return f"{head}; nothing else in the model connects you to it (score {e.score:.3g})." if e.in_history \
                else f"{head}; nothing in the model connects you to it (score {e.score:.3g})."
        return f"{head}; {NONE_STATED}."
    parts = []
    if pos:
        parts.append("recommended because " + for_it)
    if neg:
        parts.append(("held back because " if pos else "ranked low because ") + against)
    again = f"{_already(e, title)}; it is recommended again" if e.in_history else ""
    if not parts:
        if not e.reasons:
            return (f"{again}: nothing else in the model connects you to it (score {e.score:.3g})." if again
                    else f"Nothing in the model connects you to {title} (score {e.score:.3g}).")
        return (f"{again}; {NONE_STATED}." if again
                else f"{NONE_STATED[0].upper()}{NONE_STATED[1:]} for {title}: its score adds up from many small ones.")
    if again and pos:
        parts[0] = parts[0].replace("recommended because ", f"{again} because ", 1)
    elif again:
        parts.insert(0, again)
    return " ".join(p[0].upper() + p[1:] + "." for p in parts)


# ------------------------------------------------------------------------------------ why / why-not

def list_policy(db: Database, k: int, same_work: str | None) -> str:
    """The ``same_work`` policy of a list of ``k`` items (the setting's when ``None``), after checking both.

    Raises:
        BadArgument: ``k`` below 1, or an unknown policy."""
    if k < 1:
        raise BadArgument(f"k must be >= 1 (got {k})")
    policy = same_work or db.settings.same_work
    if policy not in SAME_WORK_POLICIES:
        raise BadArgument(f"same_work must be one of {', '.join(SAME_WORK_POLICIES)} (got {policy!r})")
    return policy


def explain(db: Database, user_id: str, item_id: str, *, k: int = 10, per_item: int = 5,
            run: str | None = None, same_work: str | None = None) -> WhyReport:
    """Why (or why not) ``item_id`` is recommended to ``user_id``: its score, rank and reasons.

    The rank is the item's place in the list :func:`~kgrec_neo4j.serve.recommend.recommend` gives: with ``same_work``
    ``demote`` (the default setting) an edition or port of an item the user owns comes after every other candidate.

    Raises:
        UnknownUser: an unknown user; ExplainError: an unknown item; NotScoredYet (an ExplainError): an item
            without an embedding of the run; BadArgument: ``k`` below 1 or an unknown ``same_work``.
    """
    policy = list_policy(db, k, same_work)
    m, [st] = scoring_state(db, [user_id], run, links=False)
    exp = explain_items(db, user_id, [item_id], per_item=per_item, model=m, state=st)[item_id]
    if exp.title is None:  # the evidence query returns a row (with the title) for every item that exists
        raise ExplainError(f"unknown item {item_id!r}: expected an Item.id in the graph (find one with `kgrec items "
                           f"search TEXT`; `kgrec load` adds them).")
    if item_id not in m.index:
        raise NotScoredYet(f"item {item_id!r} has no vector of run {m.run!r}, so it is not scored yet; an item "
                           f"added after the run counts once `kgrec update` or a new `kgrec train` gives it one.")
    j = m.index[item_id]
    if (st.foreign == j).any():
        raise ExplainError(f"item {item_id!r} is of dataset {m.datasets[j]!r} and user {user_id!r} of "
                           f"{st.dataset!r}: a user is recommended items of their own dataset only")
    s = scores(m, [st])[0]
    in_history = bool((st.exclude == j).any())
    masked = s.astype(np.float64, copy=True)
    masked[st.exclude] = -np.inf
    masked[st.foreign] = -np.inf  # the rank among the user's own dataset's items, as the list is made
    _drop_gone(db, m, masked, j, k)
    competing = int(np.isfinite(masked).sum())
    # editions and ports of owned items come after every other candidate (demote), as in the recommended list
    later = np.fromiter(st.same_work, np.int64) if policy == "demote" and st.same_work else np.empty(0, np.int64)
    first = masked.copy()
    first[later] = -np.inf
    ahead = int(np.isfinite(first).sum())
    if j in st.same_work and later.size:
        rank, _ = rank_of(masked, j, np.setdiff1d(np.arange(masked.size), later))
        rank += ahead if rank else 0
    else:
        rank, _ = rank_of(masked, j, later)
    listed = np.concatenate([np.sort(first[np.isfinite(first)])[::-1],
                             np.sort(masked[later][np.isfinite(masked[later])])[::-1]])
    kth = listed[k - 1] if competing >= k else None
    owned = st.same_work.get(j, [])
    rep = WhyReport(user=user_id, item=item_id, title=exp.title, run=m.run, score=float(s[j]),
                    rank=rank or None, competing=competing, k=k, kth_score=None if kth is None else float(kth),
                    in_history=in_history, recommended=(not in_history and 1 <= rank <= k), same_work_as=owned,
                    explanation=exp)
    # the sentence opens with where the item stands, as the verdict does
    exp.in_history, exp.recommended = in_history, rep.recommended
    exp.rank, exp.competing, exp.k = rep.rank, competing, k
    exp.sentence = render_sentence(exp)
    rep.verdict = _verdict(rep)
    if m.blank[j]:  # it read as an item scored like any other ("no single reason carries 5% of its score")
        linked = any(r.item_graph for r in exp.reasons)
        note = (" Its model part is zero (a zero vector: it was folded in with no knowledge and no interactions to "
                "place it by); only its item links score it." if linked else
                " It has a zero vector: it was folded in with no knowledge and no interactions to place it by, so the "
                "model connects it to no one until it has some (its text extracted, or interactions).")
        exp.sentence += note
        rep.verdict += note
    if owned and not in_history:
        note = same_work_note(owned, policy)
        exp.sentence += note
        rep.verdict += note
    return rep


def _verdict(r: WhyReport) -> str:
    e, title = r.explanation, short(r.title or r.item, 60)
    pos, neg = stated_reasons(e)
    for_it, against = _stated_clauses(e, pos, neg)
    body = _for_and_against(pos, neg, for_it, against)
    if r.in_history:
        return (f"{_already(e, title)}, so it is not recommended to you again (score {r.score:.4g})"
                + (f": {body}." if body else "."))
    assert r.rank is not None  # None only for items in the history
    where = f"#{r.rank:,} of {r.competing:,} (score {r.score:.4g})"
    if e.source == "popular":
        if e.new_items:
            return f"{title} is ranked {where} by popularity: {new_items_note(e.new_items, e.blank_items)}."
        return f"{title} is ranked {where} by popularity: you have no interactions or interests yet."
    if r.recommended:
        head = f"{title} is recommended at {where}"
        if not for_it:
            return f"{head}; {NONE_STATED}."
        return f"{head} because {for_it}" + (f"; held back because {against}" if against else "") + "."
    gap = (f", outside your top {r.k} (#{r.k} scores {r.kth_score:.4g})" if r.kth_score is not None
           else f", outside your top {r.k}")
    return f"{title} is ranked {where}{gap}" + (f": {body}." if body else f": {NONE_STATED}.")


# ------------------------------------------------------------------------------------- validity

def verify_paths(db: Database, paths: list[ExplanationPath], *, batch_size: int = 500) -> list[bool]:
    """Re-MATCH every path with ``cypher/explain/verify_paths`` (a query separate from the one that found it).

    Returns one bool per path: its relationships (by element id) still connect the same user, items and concepts,
    in the path's direction.
    """
    text = cypher("explain/verify_paths")
    out: list[bool] = []
    for start in range(0, len(paths), batch_size):
        chunk = paths[start: start + batch_size]
        rows = [{"n": n, "kind": p.kind, "user": p.user, "item": p.item, "concept": p.concept, "via": p.via,
                 "family": p.family, "item_concept": p.item_concept, "parent": p.parent, "rels": p.rels}
                for n, p in enumerate(chunk)]
        got = {r["n"]: bool(r["ok"]) for r in db.query(text, paths=rows)}
        out.extend(got.get(n, False) for n in range(len(chunk)))
    return out


# -------------------------------------------------------------------------------------- profile

def interest_profile(db: Database, user_id: str, *, limit: int = 30) -> list[Interest]:
    """The user's interests (INTERESTED_IN edges), strongest (weight × confidence) first."""
    return [Interest(**r) for r in db.query(cypher("explain/profile"), user=user_id, limit=limit)]
