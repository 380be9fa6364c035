"""Items added after a run get vectors of that run at once: folded in from their knowledge and their first
interactions with the run's own item-side propagation (:func:`~kgrec_neo4j.model.foldin.fold_in_item`), so that
they can be recommended and explained before any retraining. ``kgrec update`` calls :func:`fold_in_new_items`.

What a new item reads:

* its ``HAS_KNOWLEDGE`` edges to concepts the run has a vector for (a concept grown after the run has none and is
  left out until the next training), at or above the run's confidence floor;
* its interactions: for an evaluation-mode run the train split only (a valid or test interaction is a label, never
  an input), for a serving-mode run every interaction. Each user who interacted contributes the user's LightGCN
  features and stage-1 vector, computed from the user's own edges of the same kind
  (:func:`~kgrec_neo4j.model.foldin.user_features`); an item without any has ``h_i^k = 0`` and its own ``e_i = 0``.

The items' ``gnn_embedding`` vectors are scaled by one factor to the median length of the run's trained item
vectors (:func:`_scale_to_trained`: a fold-in averages, and a short vector ranks below every trained item pointing
the same way); every vector is computed before any is written, so the items folded in together are new to each
other. The vectors are written under the run (``gnn_embedding``, ``gnn_foldin``, ``gnn_degree``, ``gnn_run``) and
marked ``gnn_folded_run``; the run's ``version`` goes up by one, which makes every serving process reload it.

The item graph gets links into a new item at once, **borrowed from its nearest trained items**
(:func:`borrow_item_links`, :func:`nearest_trained_items`): the ``neighbours`` trained items closest to it by the cosine
of their stored text vectors (:func:`text_neighbours`; setting ``borrow_from = "text"``, the default), or, for an
item without text or with ``borrow_from = "knowledge"``, through its knowledge (:func:`knowledge_neighbours`:
weighed as the item graph's concept paths weigh concepts, each concept row of unit length, so a concept held by
``d`` items counts ``1/d``; cosine over those weights), with shares ``s_w`` proportional to the cosine and summing
to one. A new item ``n`` then gets
``W(j→n) = Σ_w s_w W(j→w)`` for every item ``j`` linking to a neighbour, plus, from each neighbour itself,
``W(w→n) += s_w · max(0, max_j W(j→w))`` (the ``top_k`` largest in magnitude kept, as training keeps), each times
the setting ``borrow_scale`` (1.5 by default, chosen on valid), stored as ``ITEM_LINK {run, weight, borrowed:
true}``: its item-graph score for a user is ``borrow_scale`` times the share-weighted mean of its neighbours'
item-graph scores, where having a neighbour itself counts as that neighbour's strongest trained link in (before
the ``top_k`` cut). The second term (the neighbour's own link) stands in for
the link the item graph cannot have, ``w → w`` (its diagonal is zero): without it a user who has the new item's
closest neighbour (the previous game of a series, the same pen in another colour) got nothing from having it,
only from the items linking to it, and new items stayed below the trained ones in such a user's list
(docs/results.md, section 9). The factor: a mean of 20 neighbours' scores is lower than the score of the few
neighbours that matter; above 1 it puts new items higher among the trained ones, at a cost to the users whose next
item is a trained one (docs/results.md, section 9, "How strongly new items borrow"). Without text and without
knowledge on a concept of the run (or in a run without an item graph) a new item has no links until the next
training.
A new item also **links out**, so that a user's interaction with it counts in the item graph at once (until
2026-12-05 it linked to nothing: the item-graph part, most of a score, passed over a user's newest interactions
until the next training). Its row is its neighbours' rows: ``W(n→x) = Σ_w s_w W(w→x)`` for every trained item ``x``
a neighbour links to, plus, to each neighbour itself, ``W(n→w) += s_w · max(0, max_x W(w→x))`` (the own link the
other way round), the ``top_k`` largest, times ``borrow_scale``. Between two folded items the same rule reads the
links the other one borrowed in from trained items: ``W(o→n) = Σ_w s_w(o) W(w→n)``, the ``top_k`` largest into
``n``, times ``borrow_scale`` (borrowed twice: the factor twice). These depend on every folded item's neighbours, so
every update computes them for every folded item and writes those that changed: the links are what borrowing every
folded item at once gives, whichever update folded which item. Links out of a new item change only the scores of
the users who have it. Every borrowed link carries ``from_new`` (its source is a folded item) and ``neighbour``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, Field

from ..core.config import BORROW_SOURCES
from ..core.db import batched
from ..core.resources import cypher
from ..core.texthash import digest63
from .foldin import FoldIn, History, ItemHistory, ItemSide, fold_in_item, history_from_rows, split_foldin, user_features

if TYPE_CHECKING:  # pragma: no cover
    from ..core.db import Database

log = logging.getLogger(__name__)

# what the borrowed links are computed by, in their digest: a change of the rule makes every folded item borrow again
BORROW_RULE = "mean-of-neighbours+own-link+rows"


class FoldReport(BaseModel):
    """What one :func:`fold_in_new_items` did."""

    run: str | None = None
    skipped: str | None = Field(None, description="why nothing was folded in (no current run, an old run)")
    items: int = 0
    new_items: int = 0
    with_knowledge: int = 0
    with_interactions: int = 0
    without_anything: int = Field(0, description="neither knowledge nor interactions: a zero vector")
    users_read: int = 0
    items_linked: int = Field(0, description="items whose links borrowed from their neighbours were "
                                             "computed and written this time")
    borrowed_links: int = Field(0, description="borrowed links written this time")
    borrowed_removed: int = Field(0, description="borrowed links removed this time (replaced, or gone with no "
                                                 "replacement: an item whose neighbours went away)")
    borrow_unchanged: int = Field(0, description="items whose neighbours were as before: their links with trained "
                                                 "items kept as they were (their links from other new items follow "
                                                 "those items)")
    borrow_none: int = Field(0, description="items without borrowed links: no trained item near them (no text, no "
                                            "knowledge on a concept of the run), or none to borrow from their "
                                            "neighbours; items_linked + borrow_unchanged + borrow_none = items + kept "
                                            "(with an item graph and borrowing on)")
    norm_scale: float | None = Field(None, description="the factor the vectors of the items folded in for the first "
                                                      "time were scaled by (to the median length of the run's trained "
                                                      "item vectors); items folded in before keep theirs")
    scale_kept: int = Field(0, description="items folded in before that kept the length factor they were first given")
    kept: int = Field(0, description="items folded in before and not again: nothing they are folded in from changed")
    version: int | None = None
    seconds: float = 0.0


class Borrowed(NamedTuple):
    """What one :func:`borrow_item_links` did: ``linked``, ``unchanged`` and ``none`` count items and add up to the
    items it was given; ``written`` and ``removed`` count links."""

    linked: int  # items whose links were computed and written
    written: int  # links written
    unchanged: int  # items whose links with trained items were kept as they were
    none: int  # items left without borrowed links
    removed: int = 0  # links removed (replaced, or gone with no replacement)


class Changed(NamedTuple):
    """What an update changed, for :func:`fold_in_new_items`: the users stamped with an ingest number in ``(since,
    upto]`` (their interactions, and so their interests, changed) and the items it extracted again."""

    since: int
    upto: int
    items: tuple[str, ...] = ()


def _current_run(db: Database) -> str | None:
    rows = db.query(cypher("recommend/current_run"))
    return str(rows[0]["run"]) if len(rows) == 1 else None


def run_mode(config: str | None) -> str:
    """``evaluation`` or ``serving``: the mode a run was trained in, from its configuration (JSON)."""
    import json

    try:
        return str((json.loads(config or "{}") or {}).get("mode") or "evaluation")
    except (TypeError, ValueError):
        return "evaluation"


class _Side:
    """Item features and concept vectors of a run, read for the items and concepts an update needs only."""

    def __init__(self, db: Database, run: str, p: FoldIn) -> None:
        self.db, self.run, self.p = db, run, p
        self.item_index: dict[str, int] = {}
        self.concept_index: dict[str, int] = {}
        self._fold: list[np.ndarray] = []
        self._degree: list[int] = []
        self._concepts: list[np.ndarray] = []

    def add_concepts(self, vectors: dict[str, Any]) -> None:
        for cid, v in vectors.items():
            if cid not in self.concept_index and v is not None:
                self.concept_index[cid] = len(self._concepts)
                self._concepts.append(np.asarray(v, np.float32))

    def need_concepts(self, ids: list[str]) -> None:
        missing = [c for c in ids if c not in self.concept_index]
        for chunk in batched(missing, 5000):
            self.add_concepts({r["id"]: r["embedding"] for r in self.db.query(cypher("update/concept_vectors"),
                                                                           ids=chunk, run=self.run)})

    def need_items(self, ids: list[str]) -> None:
        missing = [i for i in ids if i not in self.item_index]
        for chunk in batched(missing, 5000):
            for r in self.db.query(cypher("update/item_features"), ids=chunk, run=self.run):
                self.item_index[r["id"]] = len(self._fold)
                self._fold.append(np.asarray(r["foldin"], np.float32))
                self._degree.append(int(r["degree"] or 0))

    def side(self) -> ItemSide:
        d = self.p.dim
        fold = np.stack(self._fold) if self._fold else np.zeros((0, (self.p.ui_layers + 1) * d), np.float32)
        layers, x1 = split_foldin(self.p, fold, self.run)
        if x1.shape[1] == 0:
            x1 = np.zeros((len(self._fold), d), np.float32)
        return ItemSide(layers=layers, degree=np.asarray(self._degree, np.int64), x1=x1,
                        concepts=np.stack(self._concepts) if self._concepts else np.zeros((0, d), np.float32))


def _history(row: dict[str, Any], side: _Side) -> History:
    # an item the run has no vector for (another new item) is unknown to the run: left out
    return history_from_rows(row["history"], row["interests"], side.item_index, side.concept_index, row["ego"],
                             recency_decay=side.p.recency_decay)[0]


def fold_in_new_items(db: Database, *, run: str | None = None, batch_size: int = 500,
                      progress: Callable[[int, int], None] | None = None, borrow_neighbours: int = 20,
                      changed: Changed | None = None) -> FoldReport:
    """Fold every item without a vector (and every item folded in before) into ``run`` (default: the current run),
    write the vectors, give them item links borrowed from their ``borrow_neighbours`` nearest trained items (0:
    none; :func:`nearest_trained_items`) and bump the run's version; see the module docstring. Idempotent.

    With ``changed`` (what ``kgrec update`` changed), an item folded in before is folded in again only when its
    inputs may have changed: it was extracted again, or a user whose interactions changed interacted with it
    (``cypher/update/items_to_fold``); the others keep their vectors, as trained items do (``FoldReport.kept``).

    An item's fold-in reads the run's trained vectors only (folded-in items are left out of its users' histories),
    and its length factor (:func:`_scale_to_trained`) is computed once, over the items folded in for the first time
    together, and kept with it (``Item.gnn_fold_scale``): an item folded in before and untouched since keeps its
    vector bit for bit, whatever items later updates fold in."""
    t0 = time.perf_counter()
    run = run or _current_run(db)
    rep = FoldReport(run=run)
    got = _fold_todo(db, run, changed=changed)
    if isinstance(got, str) or run is None:
        rep.skipped = got if isinstance(got, str) else None
        return rep
    (p, min_conf, all_interactions), todo = got
    ids = [r["id"] for r in todo]  # every item folded in (to be borrowed for, and left out of histories)
    fold = [r["id"] for r in todo if r["touched"]]
    rep.kept = len(ids) - len(fold)
    if fold:
        rep.new_items = sum(1 for r in todo if r["new"])
        kept = {r["id"]: float(r["scale"]) for r in todo if r["scale"] is not None}
        batches = []
        # the items folded into the run (these and those before) are left out of their users' histories: an item's
        # fold-in reads trained vectors only, so it does not change with the order or company it is folded in
        for rows, counts, users_read in _fold_batches(db, run, p, fold, min_confidence=min_conf,
                                                      all_interactions=all_interactions, batch_size=batch_size,
                                                      unknown=frozenset(ids)):
            batches.append(rows)
            rep.with_knowledge += counts[0]
            rep.with_interactions += counts[1]
            rep.without_anything += counts[2]
            rep.users_read += users_read
        rows_all = [r for rows in batches for r in rows]
        fresh = [r for r in rows_all if r["id"] not in kept]
        if fresh:
            rep.norm_scale = _scale_to_trained(db, run, fresh, store=True)
        for r in rows_all:  # the factor of an item folded in before is the one it was first given
            if r["id"] in kept:
                r["embedding"] = (np.asarray(r["embedding"], np.float64) * kept[r["id"]]).tolist()
                r["scale"] = kept[r["id"]]
                rep.scale_kept += 1
            else:  # (a zero vector has no factor yet: it gets one when it is first folded in from something)
                r["scale"] = rep.norm_scale if any(r["embedding"]) else None
        written = 0
        for rows in batches:
            res = db.execute(cypher("update/item_vectors"), rows=rows, run=run, version=int(todo[0]["version"]))
            written += int(res[0]["written"]) if res else 0
            if progress:
                progress(written, len(fold))
        rep.items = written
    # links written by a fold-in cut before its new version (the mark it set before writing them): serving has not
    # been told of them, so this one bumps the version even if it finds every link as it should be
    pending = bool(db.value(cypher("update/links_pending"), run=run))
    if borrow_neighbours > 0 and ids:
        rep.items_linked, rep.borrowed_links, rep.borrow_unchanged, rep.borrow_none, rep.borrowed_removed = \
            borrow_item_links(db, ids, run=run, min_confidence=min_conf, neighbours=borrow_neighbours)
    # new vectors, or links written or removed (links only removed too: an item whose neighbours all went away):
    # serving reloads the run
    if fold or rep.items_linked or rep.borrowed_links or rep.borrowed_removed or pending:
        rep.version = int(db.execute(cypher("update/run_version"), run=run)[0]["version"])
    rep.seconds = round(time.perf_counter() - t0, 3)
    log.info("folded %d items into run %s (%d new, %d kept; %d with knowledge, %d with interactions; of all %d: %d "
             "with %d borrowed item links written (%d removed), %d with their links as they were, %d without) in "
             "%.1fs: version %s",
             rep.items, run, rep.new_items, rep.kept, rep.with_knowledge, rep.with_interactions, len(ids),
             rep.items_linked, rep.borrowed_links, rep.borrowed_removed, rep.borrow_unchanged, rep.borrow_none,
             rep.seconds, rep.version)
    return rep


def _fold_todo(db: Database, run: str | None, *, changed: Changed | None = None
               ) -> tuple[tuple[FoldIn, float, bool], list[dict[str, Any]]] | str:
    """``(the run's fold-in parameters (:func:`_fold_params`), the items folded into it or to be: rows of
    ``cypher/update/items_to_fold``)``, or why none can be."""
    if run is None:
        return "no current model run (train one with `kgrec train`)"
    params = _fold_params(db, run)
    if isinstance(params, str):
        return params
    return params, db.query(cypher("update/items_to_fold"), run=run, since=changed.since if changed else None,
                            upto=changed.upto if changed else None, items=list(changed.items) if changed else [])


def _fold_params(db: Database, run: str) -> tuple[FoldIn, float, bool] | str:
    """``(fold-in parameters, confidence floor, every interaction counts)`` of ``run``, or why it cannot fold
    items in."""
    info = db.query(cypher("recommend/run"), run=run)
    if not info or info[0]["foldin"] is None:
        return f"run {run} has no fold-in data; train again"
    p = FoldIn.from_json(info[0]["foldin"])
    if not p.type_names:
        return f"run {run} was trained before items could be folded in; train again (`kgrec train`)"
    return p, float(info[0]["min_confidence"]), run_mode(info[0]["config"]) == "serving"


def _fold_batches(db: Database, run: str, p: FoldIn, ids: list[str], *, min_confidence: float,
                  all_interactions: bool, batch_size: int = 500, knowledge: bool = True,
                  unknown: frozenset[str] = frozenset()
                  ) -> Iterator[tuple[list[dict[str, Any]], tuple[int, int, int], int]]:
    """Per batch of ``ids``: the item rows to write (``id``, ``embedding``, ``foldin``, ``degree``), how many of
    them had knowledge / interactions / neither, and how many users were read. ``knowledge=False`` folds the items
    in from their interactions only (an ablation: new items without the knowledge graph); items in ``unknown`` are
    left out of the users' histories as items the run has no vector for."""
    side = _Side(db, run, p)
    type_index = {t: k for k, t in enumerate(p.type_names)}
    for chunk in batched(ids, batch_size):
        know: dict[str, list[Any]] = {}
        if knowledge:
            know = {r["item"]: r["concepts"] for r in db.query(cypher("update/fold_knowledge"), ids=chunk, run=run,
                                                                min_confidence=min_confidence)}
        side.add_concepts({c[0]: c[3] for cs in know.values() for c in cs})
        item_users: dict[str, list[list[Any]]] = {
            r["item"]: r["users"] for r in db.query(cypher("update/fold_item_users"), ids=chunk,
                                                    all_interactions=all_interactions, min_confidence=min_confidence)}
        users = sorted({u[0] for us in item_users.values() for u in us})
        urows: dict[str, dict[str, Any]] = {}
        for uchunk in batched(users, 1000):
            for r in db.query(cypher("update/fold_users"), users=uchunk, run=run, all_interactions=all_interactions,
                              min_confidence=min_confidence):
                urows[r["id"]] = r
        side.need_items(sorted({h[0] for r in urows.values() for h in r["history"]} - unknown))
        side.need_concepts(sorted({c[0] for r in urows.values() for c in r["interests"]}))
        s = side.side()
        feats = {u: user_features(p, s, _history(r, side)) for u, r in urows.items()}
        rows = []
        n_know = n_inter = n_none = 0
        for item in chunk:
            cs = [c for c in know.get(item, []) if c[1] in type_index and c[0] in side.concept_index]
            edges = [u for u in item_users.get(item, []) if u[0] in feats]
            pos = [feats[u] for u, nonneg, _ in edges if nonneg]
            neg = [(feats[u], int(n)) for u, _, n in edges if n]
            h = ItemHistory(concepts=np.asarray([side.concept_index[c[0]] for c in cs], np.int64),
                            types=np.asarray([type_index[c[1]] for c in cs], np.int64),
                            weights=np.asarray([float(c[2]) for c in cs], np.float32),
                            positive=pos, negative=[f for f, _ in neg],
                            negative_count=np.asarray([n for _, n in neg], np.float32))
            z, layers, x1 = fold_in_item(p, s, h)
            n_know += bool(cs)
            n_inter += bool(edges)
            n_none += not (cs or edges)
            fold = np.concatenate([layers.reshape(-1), x1]) if x1.size else layers.reshape(-1)
            rows.append({"id": item, "embedding": z.astype(np.float64).tolist(),
                         "foldin": fold.astype(np.float64).tolist(), "degree": len(pos)})
        yield rows, (n_know, n_inter, n_none), len(urows)


def fold_item_vectors(db: Database, ids: list[str], *, run: str, knowledge: bool = True,
                      batch_size: int = 500) -> dict[str, dict[str, Any]]:
    """The fold-in of the items ``ids`` into ``run`` as :func:`fold_in_new_items` computes it when they are new
    (none of them is known to the run while the others fold in), returned, not written: item id ->
    ``{"id", "embedding", "foldin", "degree"}``. ``knowledge=False`` leaves the items' knowledge out (their
    interactions only): the ablation "new items without the knowledge graph".

    Raises:
        ModelError: ``run`` does not exist or has no fold-in data for items.
    """
    from ..core.errors import ModelError

    params = _fold_params(db, run)
    if isinstance(params, str):
        raise ModelError(params)
    p, min_conf, all_interactions = params
    out: dict[str, dict[str, Any]] = {}
    for rows, _counts, _users in _fold_batches(db, run, p, list(ids), min_confidence=min_conf,
                                               all_interactions=all_interactions, batch_size=batch_size,
                                               knowledge=knowledge, unknown=frozenset(ids)):
        out.update({r["id"]: r for r in rows})
    _scale_to_trained(db, run, list(out.values()))
    return out


def _scale_to_trained(db: Database, run: str, rows: list[dict[str, Any]], *, store: bool = False) -> float:
    """Scale the folded-in item vectors of ``rows`` (in place, their ``embedding``) by one factor: the median length
    of the run's trained item vectors over the median length of these (those not zero), and return it (1.0 when
    either is unknown). A fold-in averages its inputs (concepts, users), and averages are shorter than what training
    gives an item, so without it a new item ranked below trained items of the same direction (docs/updates.md). The
    direction of each vector, and so which new item is closer to a user, is unchanged; the factor is the same for
    every item folded in by one call (:func:`fold_in_new_items` passes the items it folds in for the first time; the
    others keep theirs). ``store``: keep the
    trained median on the run when it was computed here (the update does; a read-only caller does not)."""
    norms = [float(np.linalg.norm(r["embedding"])) for r in rows]
    folded = float(np.median([x for x in norms if x > 0])) if any(x > 0 for x in norms) else 0.0
    got = db.query(cypher("update/trained_norm"), run=run) if folded > 0 else []
    trained = float(got[0]["median"] or 0.0) if got else 0.0
    if store and got and got[0]["computed"] and trained > 0:  # the run's first update: kept for the next ones
        db.execute(cypher("update/store_trained_norm"), run=run, median=trained)
    if folded <= 0 or trained <= 0:
        return 1.0
    scale = trained / folded
    for r in rows:
        r["embedding"] = (np.asarray(r["embedding"], np.float64) * scale).tolist()
    return scale


def knowledge_neighbours(db: Database, ids: list[str], *, run: str, min_confidence: float, neighbours: int = 20,
                         batch_size: int = 2000) -> dict[str, list[tuple[str, float]]]:
    """Per item of ``ids``: its ``neighbours`` closest trained items of ``run`` through their knowledge, as
    ``[(item id, share)]`` with shares summing to one, closest first (see the module docstring): cosine over the
    item graph's concept matrix of the trained items (a concept row of unit length, ``1/sqrt(d)`` for a concept ``d``
    trained items hold). An item without knowledge on a concept some trained item holds has no entry."""
    got = db.query(cypher("update/trained_knowledge"), run=run, min_confidence=min_confidence)
    trained = sorted((str(r[0]), list(r[1:])) for r in (got[0]["items"] if got else []))
    new: dict[str, list[str]] = {}
    for chunk in batched(ids, batch_size):
        new.update({r["item"]: r["concepts"] for r in db.query(
            cypher("update/item_concepts"), ids=chunk, run=run, min_confidence=min_confidence)})
    if not trained or not new:
        return {}
    cindex: dict[str, int] = {}

    def incidence(lists: list[list[str]], *, grow: bool) -> sp.csr_matrix:
        # items x concepts, 1 where the item holds the concept; ``grow``: concepts not seen yet get a column
        rows, cols = [], []
        for k, cs in enumerate(lists):
            for c in sorted(set(cs)):
                j = cindex.setdefault(c, len(cindex)) if grow else cindex.get(c)
                if j is not None:
                    rows.append(k)
                    cols.append(j)
        return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(lists), len(cindex)))

    k_t = incidence([cs for _, cs in trained], grow=True)
    scale = sp.diags(1.0 / np.sqrt(np.maximum(np.asarray(k_t.sum(0)).ravel(), 1.0)))  # a concept row of unit length
    k_t = (k_t @ scale).tocsr()
    norm = np.sqrt(np.asarray(k_t.multiply(k_t).sum(1)).ravel())
    order = sorted(new)
    k_n = (incidence([new[item] for item in order], grow=False) @ scale).tocsr()
    sim = (k_n @ k_t.T).tocsr()  # shared knowledge; divided by the neighbour's length (the new item's cancels)
    ds = item_datasets(db, order + [t for t, _ in trained])  # a new item's neighbours: of its own dataset
    out: dict[str, list[tuple[str, float]]] = {}
    for k, item in enumerate(order):
        a, b = sim.indptr[k], sim.indptr[k + 1]
        mine = ds.get(item) if ds else None
        cand = [(trained[int(t)][0], float(v) / float(norm[int(t)])) for t, v in zip(sim.indices[a:b], sim.data[a:b],
                                                                                strict=True)
                if v > 0 and trained[int(t)][0] != item
                and (mine is None or ds is None or ds.get(trained[int(t)][0]) == mine)]
        best = sorted(cand, key=lambda x: (-x[1], x[0]))[:neighbours]
        total = sum(c for _, c in best)
        if total > 0:
            out[item] = [(w, c / total) for w, c in best]
    return out


def item_datasets(db: Database, ids: list[str]) -> dict[str, str | None] | None:
    """Each item's dataset, or None when the graph holds one dataset at most (nothing to keep apart): a new item
    borrows links from its own dataset's items only (a walkthrough's new gaming chair borrowed 41 of its 100 links
    from two Office datasets)."""
    if len(db.query(cypher("train/datasets"))) <= 1:
        return None
    out: dict[str, str | None] = {}
    for chunk in batched(ids, 5000):
        out.update({r["id"]: r["dataset"] for r in db.query(cypher("update/item_datasets"), ids=chunk)})
    return out


def text_neighbours(db: Database, ids: list[str], *, run: str, key: str, neighbours: int = 20
                    ) -> dict[str, list[tuple[str, float]]]:
    """Per item of ``ids`` with a stored text vector of model ``key`` (:func:`~kgrec_neo4j.model.itemtext.
    store_item_text`): its ``neighbours`` closest trained items of ``run`` by the cosine of their text vectors (exact,
    over every trained item of its dataset; ties by id), as ``[(item id, share)]`` with shares proportional to the
    cosine (those above 0) and summing to one, closest first (:func:`closest_by_text`). An item without a text
    vector, or without a trained item at a positive cosine, has no entry."""
    from .itemtext import read_text_vectors

    if not ids or neighbours < 1:
        return {}
    new_ids, new = read_text_vectors(db, key, ids=ids)
    trained_ids, trained = read_text_vectors(db, key, run=run)
    if not new_ids or not trained_ids:
        return {}
    return closest_by_text(new_ids, new, trained_ids, trained, neighbours,
                           datasets=item_datasets(db, new_ids + trained_ids))


def closest_by_text(new_ids: list[str], new: np.ndarray, trained_ids: list[str], trained: np.ndarray,
                    neighbours: int, *, datasets: dict[str, str | None] | None = None
                    ) -> dict[str, list[tuple[str, float]]]:
    """:func:`text_neighbours` on vectors in memory (``trained_ids`` sorted); ``datasets``: each item's dataset
    (None: one dataset), a new item of a dataset taking neighbours of that dataset only."""
    out: dict[str, list[tuple[str, float]]] = {}
    tds = np.array([datasets.get(t) for t in trained_ids], object) if datasets else None
    # candidates from one matrix product per block of new items (fast), then the kept ones scored again one pair at
    # a time in float64 (an element-wise product summed along the vector: the same bits whatever items come along,
    # where a product's last bits depend on the block's shape): a rerun for one item writes what the update wrote
    cand_n = min(4 * neighbours + 1, len(trained_ids))
    for s in range(0, len(new_ids), 256):
        block = new[s: s + 256]
        sim = block @ trained.T
        own: list[np.ndarray | None] = []
        for k, item in enumerate(new_ids[s: s + 256]):
            d = datasets.get(item) if datasets else None
            own.append(None if tds is None or d is None else tds == d)
            if own[-1] is not None:
                sim[k, ~own[-1]] = -np.inf
        top = np.argpartition(-sim, cand_n - 1, axis=1)[:, :cand_n] if cand_n < len(trained_ids) else \
            np.broadcast_to(np.arange(len(trained_ids)), (len(block), len(trained_ids)))
        for k, item in enumerate(new_ids[s: s + 256]):
            idx = np.sort(top[k])
            mask = own[k]
            if mask is not None:
                idx = idx[mask[idx]]
            cos = (trained[idx].astype(np.float64) * block[k].astype(np.float64)).sum(1)
            order = sorted(range(len(idx)), key=lambda t: (-cos[t], idx[t]))  # ties: by id (trained_ids are sorted)
            best = [(trained_ids[idx[t]], float(cos[t])) for t in order if cos[t] > 0 and trained_ids[idx[t]] != item]
            best = best[:neighbours]
            total = sum(c for _, c in best)
            if total > 0:
                out[item] = [(w, c / total) for w, c in best]
    return out


def nearest_trained_items(db: Database, ids: list[str], *, run: str, min_confidence: float, neighbours: int = 20,
                          source: str = "text") -> dict[str, list[tuple[str, float]]]:
    """The neighbours each item of ``ids`` borrows its item links from: by ``text`` (:func:`text_neighbours`; an item
    without text, or without a trained item close to it by text, falls back to its knowledge) or by ``knowledge``
    (:func:`knowledge_neighbours`)."""
    if source not in BORROW_SOURCES:
        raise ValueError(f"source must be one of {', '.join(BORROW_SOURCES)} (got {source!r})")
    near: dict[str, list[tuple[str, float]]] = {}
    if source == "text":
        from ..core.embed import get_embedder
        from .itemtext import text_model_key

        near = text_neighbours(db, ids, run=run, key=text_model_key(get_embedder(db.settings)), neighbours=neighbours)
    rest = [item for item in ids if item not in near]
    if rest:
        near.update(knowledge_neighbours(db, rest, run=run, min_confidence=min_confidence, neighbours=neighbours))
    return near


def borrow_item_links(db: Database, ids: list[str], *, run: str, min_confidence: float, neighbours: int = 20,
                      top_k: int | None = None, batch_size: int = 500, source: str | None = None,
                      scale: float | None = None) -> Borrowed:
    """Give each folded-in item of ``ids`` item links of ``run`` borrowed from its nearest trained items (module
    docstring; ``source``: ``text`` or ``knowledge``, default the setting ``borrow_from``; by text, the missing and
    stale text vectors are embedded and stored first), replacing the ones it had (idempotent). ``top_k``: links kept
    per item (default: the run's ``item_graph_top_k``); ``scale``: the factor on every borrowed link (default: the
    setting ``borrow_scale``).

    The links of an item are a function of the rule, the run, ``top_k``, ``scale`` and its neighbours with their
    shares (which
    hold its text or knowledge and the trained items'); a digest of these is stored with them (``ITEM_LINK.digest``), and
    an item whose neighbours are as they were keeps its links unread and unwritten: every update folds in again
    the items folded in since the last training, but borrows only for those whose knowledge, or whose neighbours'
    knowledge, changed (to force it, remove ``digest`` from its links). Returns :class:`Borrowed`: ``(items linked,
    links written, items unchanged, items without links, links removed)``. The first two and the last count this
    call's writes (links written: created or given a new weight; removed: replaced or gone); items unchanged are those
    whose links with trained items were kept as they were (their links from other folded items are written where
    those change); items without links are those left without borrowed links (no neighbours: no text and no
    knowledge on a concept of the run; or nothing to borrow from them). The three item counts cover ``ids``. All
    zero for a run without an item graph."""

    info = db.query(cypher("recommend/run"), run=run)
    if not info or float(info[0]["link_weight"]) == 0.0 or int(info[0]["link_count"]) == 0:
        return Borrowed(0, 0, 0, 0)
    if top_k is None:
        top_k = link_top_k(info[0])
    source = source or db.settings.borrow_from
    scale = float(db.settings.borrow_scale if scale is None else scale)
    if source == "text":  # the new and changed items' text vectors (and any other missing or stale one)
        from ..core.embed import get_embedder
        from .itemtext import store_item_text

        store_item_text(db, get_embedder(db.settings))
    near = nearest_trained_items(db, ids, run=run, min_confidence=min_confidence, neighbours=neighbours, source=source)
    digests = {item: borrow_digest(run, top_k, near.get(item, []), scale) for item in ids}
    stored: dict[str, int | None] = {}
    for chunk in batched(ids, 20_000):
        stored.update(db.value(cypher("update/borrow_digests"), ids=chunk, run=run, folded=ids))
    # (an item without neighbours and without borrowed links is as it should be: it has nothing to store a digest on,
    # and nothing to borrow: it counts as without links, not as unchanged)
    todo = [item for item in ids if stored.get(item) != digests[item] and (stored.get(item) is not None or near.get(item))]
    unchanged = sum(1 for item in ids if stored.get(item) is not None and stored.get(item) == digests[item])
    linked = written = removed = 0
    marked = False

    def mark() -> None:  # before the first link write: cleared by the run's next version (links_pending.cypher)
        nonlocal marked
        if not marked:
            db.execute(cypher("update/links_mark"), run=run)
            marked = True

    item_id: dict[str, str] = {}  # element id -> id of the items read so far
    eid_of: dict[str, str] = {}  # id -> element id of the folded items (sources of the links between them)
    for chunk in batched(ids, 20_000):
        eid_of.update({str(i): str(e) for i, e in db.value(cypher("update/item_elements"), ids=chunk)})
    item_id.update({e: i for i, e in eid_of.items()})
    ds_all = item_datasets(db, ids)
    # 1. the items borrowing now: their links from trained items and to trained items (the links between folded items
    # are step 2's, for every folded item)
    cols: dict[str, list[tuple[str, float]]] = {}  # item -> its links in from trained items: [(source id, weight)]
    for chunk in batched(todo, batch_size):
        ws = sorted({w for item in chunk for w, _ in near.get(item, [])})
        # neighbour -> (source element ids, weights, its own element id) and (target element ids, weights): its
        # trained links in and out
        into: dict[str, tuple[list[str], np.ndarray, str]] = {}
        out: dict[str, tuple[list[str], np.ndarray]] = {}
        eid_w: dict[str, str] = {}  # neighbour -> its element id
        for wchunk in batched(ws, 2000):
            for got in db.query(cypher("update/links_into"), ids=wchunk, run=run):
                into.update({str(w): (src, np.asarray(wt, np.float64), own) for w, src, wt, own in got["links"]})
            for got in db.query(cypher("update/links_out_of"), ids=wchunk, run=run):
                out.update({str(w): (dst, np.asarray(wt, np.float64)) for w, dst, wt, own in got["links"]})
                eid_w.update({str(w): str(own) for w, _, _, own in got["links"]})
        item_id.update({e: w for w, e in eid_w.items()})
        unknown = sorted(({j for src, _, own in into.values() for j in [*src, own]}
                          | {x for dst, _ in out.values() for x in dst}) - item_id.keys())
        for echunk in batched(unknown, 20_000):
            item_id.update(db.value(cypher("update/item_ids"), eids=echunk))
        # several datasets: a link from another dataset's item reaches no user of this one (a run over several
        # datasets links across them): not borrowed
        ds = item_datasets(db, sorted(set(chunk) | {item_id[j] for src, _, own in into.values() for j in [*src, own]}
                                      | {item_id[x] for dst, _ in out.values() for x in dst}))
        rows = []
        for item in chunk:  # summed in a fixed order (neighbours closest first): a rerun writes the same bits
            mine = ds.get(item) if ds else None
            # its neighbours' links in, and each neighbour's own link
            acc: dict[str, float] = {}
            owns: set[str] = set()  # the neighbours themselves among the sources (their own links)
            for w, share in near.get(item, []):
                if w not in into:
                    continue
                src, wt, own = into[w]
                for j, x in zip(src, (share * wt).tolist(), strict=True):
                    acc[j] = acc.get(j, 0.0) + x
                # the neighbour's own link (the item graph has no w -> w): as strong as w's strongest trained link
                # into it, times the share (module docstring)
                x = share * max(float(wt.max()), 0.0)  # (a neighbour in ``into`` has at least one link in)
                if x:
                    acc[own] = acc.get(own, 0.0) + x
                    owns.add(own)
            ranked = sorted(((item_id[j], j, x) for j, x in acc.items()), key=lambda r: (-abs(r[2]), r[0]))
            best = [(j, x * scale) for i, j, x in ranked
                    if i != item and x != 0.0 and _same_dataset(ds, mine, i)][:top_k]
            cols[item] = [(item_id[j], x) for j, x in best]
            # its own links out: its neighbours' links out to trained items, and to each neighbour itself as strongly
            # as that neighbour's strongest trained link out
            acc_out: dict[str, float] = {}
            owns_out: set[str] = set()
            for w, share in near.get(item, []):
                if w not in out:
                    continue
                dst, wt = out[w]
                for x, v in zip(dst, (share * wt).tolist(), strict=True):
                    acc_out[x] = acc_out.get(x, 0.0) + v
                x = share * max(float(wt.max()), 0.0)  # (a neighbour in ``out`` has at least one link out)
                if x:
                    e = eid_w[w]
                    acc_out[e] = acc_out.get(e, 0.0) + x
                    owns_out.add(e)
            ranked_out = sorted(((item_id[x], x, v) for x, v in acc_out.items()), key=lambda r: (-abs(r[2]), r[0]))
            best_out = [(x, v * scale) for i, x, v in ranked_out
                        if i != item and v != 0.0 and _same_dataset(ds, mine, i)][:top_k]
            linked += bool(best or best_out)
            rows.append({"target": item, "digest": digests[item], "sources": [j for j, _ in best],
                         "weights": [x for _, x in best], "neighbours": [j in owns for j, _ in best],
                         "out_targets": [x for x, _ in best_out], "out_weights": [v for _, v in best_out],
                         "out_neighbours": [x in owns_out for x, _ in best_out]})
        mark()
        res = db.execute(cypher("update/borrowed_links"), rows=rows, run=run, folded=ids)
        written += int(res[0]["written"] or 0) if res else 0
        removed += int(res[0]["removed"] or 0) if res else 0
    # 2. the links between folded items, into each one from every other: the other's row is its neighbours' rows, and
    # a neighbour's link into this item is the one step 1 gave it (the factor again: borrowed twice). Computed for
    # every folded item each time (they depend on every folded item's neighbours), written where they changed: the
    # links are what borrowing every folded item at once gives, whichever update folded which item
    folded_by: dict[str, list[tuple[str, float]]] = {}  # neighbour -> [(folded item, its share of it)]
    for n in ids:
        for w, share in near.get(n, []):
            folded_by.setdefault(w, []).append((n, share))
    have: dict[str, dict[str, float]] = {}  # item -> its stored links in from folded items: {source id: weight}
    for chunk in batched(ids, 2000):
        for item, src, wt, new in db.value(cypher("update/folded_links_into"), ids=chunk, run=run):
            have[str(item)] = {str(j): float(x) for j, x, fn in zip(src, wt, new, strict=True) if fn}
            if item not in cols:  # kept as it was: its links in from trained items, as stored, in step 1's order
                cols[str(item)] = sorted(((str(j), float(x)) for j, x, fn in zip(src, wt, new, strict=True) if not fn),
                                         key=lambda r: (-abs(r[1]), r[0]))
    changed: list[dict[str, Any]] = []
    for item in ids:
        mine = ds_all.get(item) if ds_all else None
        nn: dict[str, float] = {}
        for j, b in cols.get(item, []):
            for n, share in folded_by.get(j, ()):
                if n != item:
                    nn[n] = nn.get(n, 0.0) + share * b
        best_nn = sorted(((n, x * scale) for n, x in nn.items() if x != 0.0 and _same_dataset(ds_all, mine, n)),
                         key=lambda r: (-abs(r[1]), r[0]))[:top_k]
        want, had = dict(best_nn), have.get(item, {})
        if want != had:  # the difference only: most links of a row stay as they were (cypher/update/folded_links)
            keep = [n for n, _ in best_nn if n in had and had[n] != want[n]]
            add = [n for n, _ in best_nn if n not in had]
            changed.append({"target": item, "digest": digests[item], "gone": sorted(had.keys() - want.keys()),
                            "keep": [eid_of[n] for n in keep], "keep_weights": [want[n] for n in keep],
                            "add": [eid_of[n] for n in add], "add_weights": [want[n] for n in add]})
    for part in batched(changed, batch_size):
        mark()
        res = db.execute(cypher("update/folded_links"), rows=part, run=run)
        written += int(res[0]["written"] or 0) if res else 0
        removed += int(res[0]["removed"] or 0) if res else 0
    return Borrowed(linked, written, unchanged, len(ids) - linked - unchanged, removed)


def _same_dataset(ds: dict[str, str | None] | None, mine: str | None, other: str) -> bool:
    """Whether a link between an item of dataset ``mine`` and ``other`` may be borrowed (``ds``: the items' datasets,
    None with one dataset): a link across datasets reaches no user (a run over several datasets links across them)."""
    return mine is None or ds is None or ds.get(other) == mine


def link_top_k(run_info: dict[str, Any]) -> int:
    """The item links kept per item by a run, as training kept them (a ``cypher/recommend/run`` row; a run written
    before this was stored: its override or 100)."""
    import json

    if run_info["link_top_k"] is not None:
        return int(run_info["link_top_k"])
    try:
        over = (json.loads(run_info["config"] or "{}") or {}).get("overrides") or {}
        return int(over.get("item_graph_top_k") or 100)
    except (TypeError, ValueError, AttributeError):
        return 100


def borrow_digest(run: str, top_k: int, near: list[tuple[str, float]], scale: float = 1.0) -> int:
    """A 63-bit digest of what an item's borrowed links are computed from: the rule (``BORROW_RULE``), the run,
    ``top_k``, the factor ``scale`` and the item's neighbours with their shares (closest first,
    :func:`nearest_trained_items`)."""
    return digest63((BORROW_RULE, run, int(top_k), float(scale), [(str(w), float(x)) for w, x in near]))
