"""Scoring in serving mode: the current run's model, loaded once per process, applied to each user's edges as
they are in the graph at the time of the request.

``score(u, i) = <z_u, z_i> + item_link_weight * sum_j x[u, j] * w(j -> i)`` where

* ``z_i`` is the item's stored vector and ``z_u`` the user's vector **folded in** from the user's current edges
  with the model's own propagation (:mod:`kgrec_neo4j.model.foldin`): every interaction counts, with or without a
  ``split``, written by the loader or by any Cypher client; a user the run never saw gets a vector too;
* the item-graph part sums the run's ``ITEM_LINK`` weights over every item ``j`` the user interacted with
  (``x = 1``, or the run's dislike value for an item the user only disliked, times ``j``'s recency weight when the
  run chose a decay on valid): exact for any history.

Recency (:mod:`kgrec_neo4j.model.recency`): a user's interactions are ordered by ``seq``; one ``r`` steps back
from the latest weighs ``decay ** r`` (an edge without ``seq``, e.g. written by hand, counts as the latest). The
item graph and the GNN user side each use the decay their run chose, as in training.

Every interacted item is excluded from the ranking unless ``allow_repeats`` (which still excludes the items the
user only disliked). A user with no edges at all is
ranked by current popularity, and says so (``source = "popular"``); a user with interests but no interactions is
folded in from the interests (``source = "interests"``). Interactions only with items the run has no vector for
yet (new items, until ``kgrec update`` folds them in) count as no interactions: such a user falls back the same
way, and ``unknown_items`` says why. What a run needs is loaded once per process and cached
by run id (:class:`RunModel`); a request then costs one Cypher round trip for the users' edges and numpy work.

The score also splits exactly into signed shares, one per neighbour of the user (:func:`score_shares`): that is
what explanations rank and word (:mod:`kgrec_neo4j.serve.explain`).

Public API: :func:`current_run`, :func:`run_model`, :func:`read_users`, :func:`read_train_users`,
:func:`scoring_state`, :func:`scores`, :func:`score_shares`, :func:`top_k`, :func:`top_k_rows`, :func:`rank_of`,
:func:`clear_cache`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import scipy.sparse as sp

from ..core.db import Database, batched
from ..core.errors import KgrecError, ModelError
from ..core.resources import cypher
from ..core.schema import NEUTRAL_VERB
from ..load.split import kind_sign
from ..model.foldin import FoldIn, History, ItemSide, fold_in, fold_in_parts, history_from_rows, row_recency, split_foldin

log = logging.getLogger(__name__)

Source = Literal["model", "interests", "popular"]


class RecommendError(KgrecError):
    """A recommendation request that cannot be served (unknown user, no model run)."""


class UnknownUser(RecommendError):
    """A user id that is not in the graph."""


# ---------------------------------------------------------------------------------------------- runs

def current_run(db: Database) -> str:
    """Id of the ``(:ModelRun {current: true})``.

    Raises:
        RecommendError: when no run is current (train a model first) or several are (the write-back
            contract says exactly one).
    """
    rows = db.query(cypher("recommend/current_run"))
    if not rows:
        raise RecommendError(
            "no current model run: got no (:ModelRun {current: true}), expected exactly one. "
            "Train a model (`kgrec train`) so that its embeddings are written back, then recommend.")
    if len(rows) > 1:
        ids = ", ".join(str(r["run"]) for r in rows)
        raise RecommendError(
            f"{len(rows)} model runs are marked current ({ids}); expected exactly one. "
            f"Mark one with `MATCH (r:ModelRun) SET r.current = (r.id = '<id>')`.")
    return str(rows[0]["run"])


def stored_titles(db: Database, ids: Sequence[str]) -> dict[str, str | None]:
    """The items of ``ids`` stored now, each with its title as stored now (cypher/recommend/items_live.cypher): a
    running service scores with the run it loaded, in which an item deleted or renamed since is still there."""
    out: dict[str, str | None] = {}
    for part in batched(list(ids), 20_000):
        out.update({r["id"]: r["title"] for r in db.query(cypher("recommend/items_live"), ids=part)})
    return out


def current_run_version(db: Database) -> tuple[str, int]:
    """Id and version of the current run (see :func:`current_run`, which raises the same errors)."""
    rows = db.query(cypher("recommend/current_run"))
    run = current_run(db) if len(rows) != 1 else str(rows[0]["run"])
    return run, int(rows[0]["version"])


# ------------------------------------------------------------------------------------------ the model

@dataclass
class RunModel:
    """Everything of one run that scoring reads, aligned with ``ids`` (items) and ``concept_ids``.

    Attributes:
        vectors: ``(|I|, F)`` item vectors ``z_i``.
        side, foldin: the stored fold-in features and parameters (:mod:`kgrec_neo4j.model.foldin`).
        version: the run's version when it was loaded; ``kgrec update`` bumps it when it folds new items into the run,
            and a cached model of an older version is loaded again.
        links: ``(|I|, |I|)`` ITEM_LINK weights (row: source item) or ``None``; ``link_weight`` its weight in the
            score and ``dislike_value`` the value of an only-disliked item in ``x``; ``link_decay`` the recency
            decay of ``x`` (1: every interaction weighs the same).
        popularity: ``(|I|,)`` interactions per item when the run was loaded (the fallback ranking).
    """

    run: str
    ids: list[str]
    titles: list[str | None]
    vectors: np.ndarray
    side: ItemSide
    foldin: FoldIn
    concept_ids: list[str] = field(default_factory=list)
    links: sp.csr_matrix | None = None  # None with link_weight > 0: each request sums its own links in Cypher
    link_weight: float = 0.0
    dislike_value: float = 1.0
    link_decay: float = 1.0
    min_confidence: float = 0.0
    popularity: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32))
    user_egos: dict[str, np.ndarray] | None = None  # every trained user's e_u, when preloaded (a service)
    popularity_loaded_at: float | None = None
    version: int = 0  # the run's version when loaded (`kgrec update` bumps it when it folds items in)
    implicit_verb: str = NEUTRAL_VERB  # the database's pack: "you bought X" for an interaction without a rating
    index: dict[str, int] = field(default_factory=dict)
    concept_index: dict[str, int] = field(default_factory=dict)
    # items whose vector is zero: folded in by `kgrec update` from nothing (no knowledge on a concept of the run, no
    # user the run can place); they carry nothing in any score, as an item without a vector
    blank: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    # each item's dataset (None: an item without one); a user is recommended items of their own dataset only
    datasets: list[str | None] = field(default_factory=list)
    _foreign: dict[str | None, np.ndarray] = field(default_factory=dict)
    _names: frozenset[str | None] | None = None

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.ids):
            raise ValueError(f"vectors must have shape ({len(self.ids)}, F) (got {self.vectors.shape})")
        self.index = {item: k for k, item in enumerate(self.ids)}
        self.concept_index = {c: k for k, c in enumerate(self.concept_ids)}
        self.blank = np.logical_not(self.vectors.any(axis=1))

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def foreign(self, dataset: str | None) -> np.ndarray:
        """Indices of the items of another dataset than ``dataset``: never recommended to its users (a run trained
        over several datasets scores every item for every user; until 2026-12-04 an Office user was recommended
        Video Games items). Empty for a user without a dataset, and for items without one."""
        if dataset is None or not self.datasets:
            return np.empty(0, np.int64)
        got = self._foreign.get(dataset)
        if got is None:  # (computed once per dataset and run model)
            got = np.fromiter((k for k, d in enumerate(self.datasets) if d is not None and d != dataset), np.int64)
            self._foreign[dataset] = got
        return got

    def holds(self, dataset: str) -> bool:
        """Whether the run has a vector for some item of ``dataset`` (a run trained on another dataset has none)."""
        if self._names is None:
            self._names = frozenset(self.datasets)
        return not self.datasets or dataset in self._names

    def popular(self, db: Database, max_age_s: float = 300.0) -> np.ndarray:
        """Users per item now, not counting those who only disliked it (read when first needed, then at most every
        ``max_age_s``)."""
        now = time.monotonic()
        if self.popularity_loaded_at is None or now - self.popularity_loaded_at > max_age_s:
            pop = {r["id"]: r["interactions"] for r in db.query(cypher("recommend/popularity"))}
            self.popularity = np.asarray([pop.get(i, 0) for i in self.ids], np.float32)
            self.popularity_loaded_at = now
        return self.popularity


_CACHE: dict[tuple[str, str, str], RunModel] = {}
_CURRENT: dict[tuple[str, str], str] = {}  # (uri, database) -> run id last seen current
_CACHE_LOCK = threading.Lock()
_LOAD_LOCKS: dict[tuple[str, str, str], threading.Lock] = {}  # one load of a run at a time
KEEP_RUNS = 2  # run models kept per database (the current one and the one before)


def clear_cache() -> None:
    """Forget every cached run model and current run (e.g. after a run rewrote its vectors under the same id)."""
    with _CACHE_LOCK:
        _CACHE.clear()
        _CURRENT.clear()


def _cache_key(db: Database, run: str) -> tuple[str, str, str]:
    return (db.settings.neo4j_uri, db.database, run)


def run_model(db: Database, run: str, *, refresh: bool = False, cache_if_current: bool = False,
              cache: bool = True, preload_users: bool = False, links: bool = True) -> RunModel:
    """The model of ``run``, loaded once per process (cached by run id; concurrent callers wait for one load).

    Args:
        refresh: load it again even when cached. cache: keep what was loaded in the cache.
        preload_users: also load every trained user's own embedding (a long-running service: its answers then
            stay those of this run after a newer run replaced the stored values).
        links: load the run's item links (a process that scores many users); without them each request sums the
            links of its user's items in Cypher (a one-off command: nothing large to load).
        cache_if_current: cache it only when ``run`` is still the current run after the load (a run that stopped
            being current meanwhile may have lost its vectors to the next run's write-back).

    Raises:
        ModelError: the run wrote no item vectors, vectors of different sizes, or no fold-in data.
    """
    key = _cache_key(db, run)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if not refresh and _serves(hit, preload_users, links):
            return hit  # type: ignore[return-value]
        load_lock = _LOAD_LOCKS.setdefault(key, threading.Lock())
    with load_lock:
        with _CACHE_LOCK:
            hit = _CACHE.get(key)
        if not refresh and _serves(hit, preload_users, links):
            return hit  # type: ignore[return-value]  # loaded by the caller this one waited for
        return _load_run(db, run, key, cache=cache, cache_if_current=cache_if_current, preload_users=preload_users,
                         links=links)


def _serves(m: RunModel | None, preload_users: bool, links: bool) -> bool:
    """A cached model answers a request that needs ``preload_users`` / ``links`` when it has them."""
    return m is not None and (m.user_egos is not None or not preload_users) \
        and (m.links is not None or not links or not m.link_weight)


def _implicit_verb(pack: str | None) -> str:
    """The pack's word for an interaction without a rating ("bought", "watched"); the neutral one when the database
    names no pack, or one this installation cannot read (the explanation must not fail on it)."""
    from ..core.errors import SchemaError
    from ..core.schema import load_pack

    try:
        return load_pack(pack).implicit_verb if pack else NEUTRAL_VERB
    except SchemaError:
        return NEUTRAL_VERB


def _load_run(db: Database, run: str, key: tuple[str, str, str], *, cache: bool, cache_if_current: bool,
              preload_users: bool, links: bool) -> RunModel:
    t0 = time.perf_counter()
    info = db.query(cypher("recommend/run"), run=run)
    if not info:
        raise ModelError(f"no (:ModelRun {{id: {run!r}}}); pick one with `MATCH (r:ModelRun) RETURN r.id, r.status` or train one")
    rows = db.query(cypher("recommend/item_embeddings"), run=run)
    if not rows:
        now = [str(r["run"]) for r in db.query(cypher("recommend/current_run"))]
        if info[0]["was_current"] and now and run not in now:  # a later run's write-back replaced its vectors
            raise ModelError(
                f"model run {run!r} can no longer be served: run {now[0]!r} became current after it, and its "
                f"write-back replaced every other run's vectors and item links (the graph keeps the current run's "
                f"only). Serve the current run (leave the run out), or train {run!r}'s configuration again "
                f"(`kgrec train --model {info[0]['model'] or 'MODEL'} --for serving --params-from {run}`)")
        raise ModelError(
            f"model run {run!r} has no item embeddings: got 0 items with gnn_run = {run!r}, expected one per "
            f"trained item. Re-run the model write-back (`kgrec train`).")
    if info[0]["foldin"] is None or any(r["foldin"] is None for r in rows):
        raise ModelError(f"model run {run!r} has no fold-in data (it was trained before serving read live edges); "
                         f"train again with `kgrec train` to serve from the live graph.")
    dims = {len(r["embedding"]) for r in rows}
    if len(dims) != 1:
        raise ModelError(f"item embeddings of run {run!r} have different sizes {sorted(dims)}; expected one "
                         f"size. Re-run the model write-back.")
    params = FoldIn.from_json(info[0]["foldin"])
    link_decay = (json.loads(info[0]["metrics"] or "{}").get("recency") or {}).get("item_graph")
    dim = dims.pop()
    if dim != params.dim:
        raise ModelError(f"item embeddings of run {run!r} have dimension {dim}, its fold-in parameters {params.dim}; "
                         f"train again.")
    if len({len(r["foldin"]) for r in rows}) != 1:  # read while a write-back rewrote some of them
        raise ModelError(f"fold-in data of run {run!r} have different sizes across items; read them again")
    layers, x1 = split_foldin(params, np.asarray([r["foldin"] for r in rows], dtype=np.float32), run)
    crow = db.query(cypher("recommend/concept_embeddings"), run=run)
    concepts = (np.asarray([r["embedding"] for r in crow], dtype=np.float32) if crow
                else np.zeros((0, dim), np.float32))
    side = ItemSide(layers=layers, degree=np.asarray([r["degree"] or 0 for r in rows], np.int64), x1=x1,
                    concepts=concepts)
    m = RunModel(run=run, ids=[r["id"] for r in rows], titles=[r["title"] for r in rows],
                 vectors=np.asarray([r["embedding"] for r in rows], dtype=np.float32), side=side, foldin=params,
                 concept_ids=[r["id"] for r in crow], datasets=[r.get("dataset") for r in rows],
                 link_weight=float(info[0]["link_weight"]),
                 dislike_value=float(info[0]["dislike_value"]), min_confidence=float(info[0]["min_confidence"]),
                 link_decay=float(link_decay) if link_decay else 1.0,
                 version=int(info[0]["version"]), implicit_verb=_implicit_verb(info[0]["pack_file"] or info[0]["pack"]))
    if m.link_weight and links:
        _load_links(db, m)
    if preload_users:
        m.user_egos = {r["id"]: np.asarray(r["ego"], np.float32)
                       for r in db.query(cypher("recommend/user_egos"), run=run)}
    if cache and cache_if_current:
        current = [str(r["run"]) for r in db.query(cypher("recommend/current_run"))]
        cache = current == [run]
        if not cache:
            log.info("not caching the model of run %s: the current run is now %s", run, current)
    if cache:
        with _CACHE_LOCK:
            _CACHE[key] = m
            same_db = [k for k in _CACHE if k[:2] == key[:2] and k != key]
            for old in same_db[: max(0, len(same_db) - (KEEP_RUNS - 1))]:  # oldest first (insertion order)
                del _CACHE[old]
    log.info("loaded run %s: %d items (dim %d), %d concepts, %s item links in %.2fs", run, len(m.ids), m.dim,
             len(m.concept_ids), 0 if m.links is None else m.links.nnz, time.perf_counter() - t0)
    return m


def _load_links(db: Database, m: RunModel) -> None:
    """Attach the run's ITEM_LINK edges (rows: source item)."""
    src, dst, val = [], [], []
    for r in db.query(cypher("recommend/item_links"), run=m.run):
        a = m.index.get(r["source"])
        if a is None:
            continue
        for t, w in zip(r["targets"], r["weights"], strict=True):
            b = m.index.get(t)
            if b is not None:
                src.append(a)
                dst.append(b)
                val.append(w)
    n = len(m.ids)
    m.links = sp.csr_matrix((np.asarray(val, np.float32), (np.asarray(src, np.int64), np.asarray(dst, np.int64))),
                            shape=(n, n))


# ------------------------------------------------------------------------------------------- users

@dataclass
class UserState:
    """One user's live edges as the run sees them.

    Attributes:
        history: the fold-in view (:class:`~kgrec_neo4j.model.foldin.History`).
        exclude: item indices the user interacted with (never recommended unless repeats are allowed).
        disliked: of them, those the user only disliked (never recommended, repeats allowed or not).
        link_x: ``(items, values)``: the user's row of ``x`` for the item-graph part.
        interactions: interacted items (known to the run or not); ``unknown_items`` of them the run has no
            vector for, or a zero one (:attr:`RunModel.blank`): they count in no score until a run or an update
            gives them one.
        source: ``model`` (interactions with items of the run), ``interests`` (interests, and no interaction with
            an item of the run) or ``popular`` (neither: no edges, or only interactions with items the run has no
            vector for yet).
        foreign: item indices of another dataset than the user's (:meth:`RunModel.foreign`): never recommended.
    """

    id: str
    history: History
    exclude: np.ndarray
    link_x: tuple[np.ndarray, np.ndarray]
    interactions: int = 0
    unknown_items: int = 0
    blank_items: int = 0  # of ``unknown_items``, those with a zero vector (folded in from nothing)
    interests: int = 0
    trained: bool = False
    source: Source = "model"
    link_scores: tuple[np.ndarray, np.ndarray] | None = None  # (items, values) summed in Cypher (no links in memory)
    link_recency: dict[int, float] = field(default_factory=dict)  # item -> recency weight in x (decay < 1 only)
    same_work: dict[int, list[str]] = field(default_factory=dict)  # item -> titles of the owned editions / ports
    popular: np.ndarray | None = None  # the fallback ranking, for a user without edges
    disliked: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    foreign: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # items of another dataset
    dataset: str | None = None  # the user's (or, for a user without one, the one dataset of their items)
    run_lacks_dataset: bool = False  # the run has no item of the user's dataset (trained on another)


def _user_state(m: RunModel, row: dict) -> UserState:
    ego = m.user_egos.get(row["id"]) if m.user_egos is not None else row.get("ego")
    h, idx, nn_mask, unknown = history_from_rows(row["history"], row["interests"], m.index, m.concept_index, ego,
                                                 recency_decay=m.foldin.recency_decay)
    n_concepts = int(h.concepts.size)
    x_val = np.where(nn_mask, 1.0, m.dislike_value).astype(np.float32)
    link_recency: dict[int, float] = {}
    if m.link_decay < 1.0 and idx.size:
        known = [r for r, hr in enumerate(row["history"]) if hr[0] in m.index]
        w_link = row_recency(row["history"], m.link_decay)[known]
        x_val = (x_val * w_link).astype(np.float32)
        link_recency = dict(zip(idx.tolist(), w_link.tolist(), strict=True))
    n_interactions = len(row["history"])
    dataset = row.get("dataset")
    if dataset is None and m.datasets and idx.size:  # a user without one (typed in by hand): their items' dataset
        seen = {m.datasets[i] for i in idx.tolist()} - {None}
        dataset = seen.pop() if len(seen) == 1 else None
    # interactions only with items the run has no vector for yet (new items, until `kgrec update` folds them in), or a
    # zero one (folded in from nothing), are no usable history: such a user is scored like one without interactions
    # (interests, else popularity)
    blank = int(m.blank[idx].sum()) if idx.size else 0
    usable = idx.size > blank or (ego is not None and n_interactions > 0)
    source: Source = "model" if usable else ("interests" if n_concepts and m.foldin.mix is not None
                                             else "popular")
    return UserState(id=row["id"], history=h, exclude=np.unique(idx), link_x=(idx, x_val), interactions=n_interactions,
                     unknown_items=unknown + blank, blank_items=blank, interests=n_concepts, trained=ego is not None,
                     source=source,
                     link_recency=link_recency,
                     same_work={m.index[i]: list(owned) for i, owned in row.get("same_work") or [] if i in m.index},
                     disliked=np.unique(idx[~nn_mask]),  # (one history row per item)
                     foreign=m.foreign(dataset), dataset=dataset,
                     run_lacks_dataset=dataset is not None and not m.holds(dataset))


def read_users(db: Database, user_ids: list[str], m: RunModel) -> tuple[list[UserState], list[str]]:
    """The users' live edges, and the runs marked current once they were read.

    Raises:
        UnknownUser: naming the ids that are not in the graph.
    """
    states, current, _ = _read_users(db, user_ids, m)
    return states, current


def _read_users(db: Database, user_ids: list[str], m: RunModel) -> tuple[list[UserState], list[str], int]:
    """:func:`read_users`, and the version of ``m``'s run now."""
    rows = db.query(cypher("recommend/users"), users=list(user_ids), run=m.run, min_confidence=m.min_confidence)
    missing = [r["id"] for r in rows if not r["found"]]
    if missing:
        raise UnknownUser(f"unknown user(s): {', '.join(map(repr, missing[:5]))}{' …' if len(missing) > 5 else ''};"
                          f" expected User.id values in the graph (find one with `kgrec users list` or `kgrec users "
                          f"search TEXT`; `kgrec load` or a (:User {{id}}) node adds one).")
    return _finish_states(db, [_user_state(m, r) for r in rows], m)


#: the id a session's list (:func:`read_session`) answers under: no user of the graph has it
SESSION = "(session)"


class UnknownItems(RecommendError):
    """Items of a session's history that are not in the graph."""


def read_session(db: Database, history: Sequence[tuple[str, float | None]], m: RunModel
                 ) -> tuple[list[UserState], list[str], int]:
    """The state of a visitor who is no user of the graph, from ``history``: ``(item id, rating or None)`` in the
    order they came (the last is the most recent), scored as a user with these interactions and nothing else
    (no interests, no embedding of their own), the rating read as the loader reads it (>= 4 like, <= 2 dislike, 3
    mixed, none implicit). Nothing is written. Raises :class:`UnknownItems` naming the items not in the graph."""
    ids = [i for i, _ in history]
    row = db.query(cypher("recommend/session"), items=sorted(set(ids)))[0]
    missing = sorted(set(ids) - set(row["found"]))
    if missing:
        raise UnknownItems(f"item(s) not in the graph: {', '.join(map(repr, missing[:5]))}"
                           f"{' …' if len(missing) > 5 else ''}; a session's history names stored items (find one "
                           f"with `kgrec items search TEXT`)")
    signed = [(item, kind_sign(rating)[1]) for item, rating in history]  # (the loader's rule)
    by_item: dict[str, list] = {}
    for seq, (item, sign) in enumerate(signed):
        r = by_item.setdefault(item, [item, False, 0, seq, None, []])
        r[1] = r[1] or sign >= 0
        r[2] += sign < 0
        r[3] = seq
        r[5].append([seq, sign >= 0])
    # the session's dataset is its items' when they are of one (another dataset's items are never recommended, the
    # popular fallback included)
    dataset = row["datasets"][0] if len(row["datasets"]) == 1 else None
    rows = {"id": SESSION, "dataset": dataset, "found": True, "ego": None, "history": list(by_item.values()),
            "interests": [], "same_work": [[i, owned] for i, owned in row["same_work"] if i not in by_item]}
    return _finish_states(db, [_user_state(m, rows)], m, session=signed)


def _finish_states(db: Database, states: list[UserState], m: RunModel, *,
                   session: Sequence[tuple[str, int]] | None = None) -> tuple[list[UserState], list[str], int]:
    """The item-graph sums of ``states`` when the run's links are not in memory (``session``: its ``(item, sign)``
    interactions instead of a stored user's), the popular fallback, and the runs marked current with the run's
    version, read last (see below)."""
    if m.links is None and m.link_weight:
        if session is not None:  # the user's links summed from the session's items
            by_user = {r["id"]: r for r in db.query(
                cypher("recommend/session_links"), id=SESSION, run=m.run, dislike_value=m.dislike_value,
                history=[list(h) for h in session])}
        else:
            by_user = {r["id"]: r for r in db.query(cypher("recommend/user_links"),
                                                   users=[s.id for s in states if s.interactions],
                                                   run=m.run, dislike_value=m.dislike_value)}
        for s in states:
            r = by_user.get(s.id)
            idx = [m.index.get(i) for i in r["items"]] if r else []
            keep = [k for k, j in enumerate(idx) if j is not None]
            w = [r["weights"][k] for k in keep] if r else []
            if s.link_recency and r:
                w = [wk * s.link_recency.get(m.index.get(r["sources"][k], -1), 1.0) for k, wk in zip(keep, w, strict=True)]
            s.link_scores = (np.asarray([idx[k] for k in keep], np.int64), np.asarray(w, np.float32))
    if any(s.source == "popular" for s in states):
        pop = m.popular(db)
        for s in states:
            if s.source == "popular":
                s.popular = pop
    # The runs marked current and the run's version, read AFTER everything above: a newer run is made current
    # before the older run's vectors, links and previous slots are cleared (``writeback.clear_stale``), so when
    # this still names ``m``'s run, nothing read above was cleared yet; a flip seen here makes the caller read
    # again with the newer run. (Read at the start, it let a request that ran across a flip answer with the old
    # run from partly cleared links.)
    now = db.query(cypher("recommend/current_run"))
    current = [str(r["run"]) for r in now]
    version = next((int(r["version"]) for r in now if str(r["run"]) == m.run), m.version)
    return states, current, version


def read_train_users(db: Database, user_ids: list[str], m: RunModel) -> list[UserState]:
    """The users' **train-split** edges as the run sees them, for an offline evaluation of the run (a valid or test
    interaction is a label, never an input); serving reads every edge (:func:`read_users`). Users not in the graph
    are left out. The item-graph part reads the run's links in memory (``run_model(..., links=True)``).

    Raises:
        ScopeError: the users' interest edges read every split (``kgrec interests extract --for serving``), so their
            held-out interactions would reach the scores through them."""
    from ..users.interests.scope import check_for_evaluation

    check_for_evaluation(db)
    rows = db.query(cypher("update/fold_users"), users=list(user_ids), run=m.run, all_interactions=False,
                    min_confidence=m.min_confidence)
    return [_user_state(m, r) for r in rows]


def user_exists(db: Database, user_id: str) -> bool:
    """Cheap check, before anything is loaded."""
    return bool(db.value(cypher("recommend/user_exists"), id=user_id))


def scoring_state(db: Database, user_ids: list[str], run: str | None = None, *, links: bool = True,
                  session: Sequence[tuple[str, float | None]] | None = None) -> tuple[RunModel, list[UserState]]:
    """The run model (default: the current run) and the users' live states, never from two different runs.

    The current run id is remembered per database; after the users' reads, the runs marked current now and the
    run's version are read, and a change (a new training run, or new items folded into the run by ``kgrec update``)
    reloads the model and asks again (up to three tries, so that a flip of ``current`` during the request is followed, never
    answered with a mix of two runs). ``links=False``: a request for a few users sums their item links in Cypher
    instead of loading the run's links. ``session``: one visitor's history instead of users (:func:`read_session`).
    """
    key = (db.settings.neo4j_uri, db.database)
    explicit = run is not None
    if run is None:
        with _CACHE_LOCK:
            run = _CURRENT.get(key)
        if run is None:
            run = current_run(db)
    attempts = 1 if explicit else 3
    stale = False
    for attempt in range(attempts):
        last = attempt == attempts - 1
        try:
            m = run_model(db, run, cache_if_current=not explicit, links=links, refresh=stale)
        except ModelError:
            if last:
                raise
            now = current_run(db)  # raises on none / several
            if now == run:
                time.sleep(0.2)  # read in the middle of a write-back: read the same run again
            run = now  # or the run's vectors were cleared after a newer run became current
            continue
        states, current, version = (_read_users(db, user_ids, m) if session is None
                                    else read_session(db, session, m))
        stale = current == [run] and version != m.version  # items were folded into the run: load it again
        if explicit or (current == [run] and not stale) or last:
            break
        if not stale:
            run = current_run(db)  # a new run became current: reload its model and ask again
    if not explicit:
        with _CACHE_LOCK:
            _CURRENT[key] = run
    return m, states


def scores(m: RunModel, states: list[UserState]) -> np.ndarray:
    """``(B, |I|)`` scores of every item for each user (see the module docstring). A ``popular`` user's row is the
    items' popularity."""
    z = np.stack([fold_in(m.foldin, m.side, s.history) for s in states]) if states else np.empty((0, m.dim))
    out = (z @ m.vectors.T).astype(np.float32)
    for b, s in enumerate(states):
        if s.link_scores is not None:  # summed by Cypher: duplicate targets add up
            np.add.at(out[b], s.link_scores[0], m.link_weight * s.link_scores[1])
    if m.links is not None and m.link_weight:
        rows = np.repeat(np.arange(len(states)), [s.link_x[0].size for s in states])
        cols = np.concatenate([s.link_x[0] for s in states]) if rows.size else np.empty(0, np.int64)
        vals = np.concatenate([s.link_x[1] for s in states]) if rows.size else np.empty(0, np.float32)
        x = sp.csr_matrix((vals, (rows, cols)), shape=(len(states), len(m.ids)))
        out += m.link_weight * (x @ m.links).toarray()
    for b, s in enumerate(states):
        if s.source == "popular" and s.popular is not None:
            out[b] = s.popular
    return out


@dataclass
class Shares:
    """One user's scores of some items, split into signed shares that add up to each score.

    For the attention coefficients of the user's current history, the folded-in ``z_u`` is linear in the user's
    neighbours (:func:`~kgrec_neo4j.model.foldin.fold_in_parts`), and so is the item-graph part, so for each item
    ``i``::

        score(u, i) = ego . z_i + sum_j (part_j . z_i + w * x_uj * W(j -> i)) + sum_c part_c . z_i

    Attributes:
        targets: ``(B,)`` the scored item indices.
        score: ``(B,)`` their scores (the sum of every share below).
        ego: ``(B,)`` the share of the user's own trained embedding (0 for a user the run did not train).
        items: ``(n,)`` the user's interacted items known to the run; ``item_gnn`` ``(B, n)`` each one's share
            through the GNN and ``item_graph`` ``(B, n)`` through its ``ITEM_LINK`` to the item.
        concepts: ``(m,)`` the user's interest concepts; ``concept_gnn`` ``(B, m)`` their shares.
    """

    targets: np.ndarray
    score: np.ndarray
    ego: np.ndarray
    items: np.ndarray
    item_gnn: np.ndarray
    item_graph: np.ndarray
    concepts: np.ndarray
    concept_gnn: np.ndarray


def score_shares(m: RunModel, st: UserState, targets: np.ndarray,
                 link_weights: dict[tuple[int, int], float] | None = None) -> Shares:
    """The scores of ``targets`` for user ``st``, split into one signed share per neighbour (see :class:`Shares`).

    Args:
        link_weights: ``(source item, target item) -> ITEM_LINK weight`` (e.g. read with the explanation's
            evidence); ``None``: from the run's links in memory (``m.links``). Pairs missing from it weigh 0.

    A ``popular`` user has no model score: every share is 0 and ``score`` is the item's popularity.
    """
    targets = np.asarray(targets, np.int64)
    parts = fold_in_parts(m.foldin, m.side, st.history)
    z_i = m.vectors[targets]  # (B, F)
    ego = z_i @ parts.ego
    item_gnn = (z_i @ parts.item_parts.T).astype(np.float32)  # (B, n)
    concept_gnn = (z_i @ parts.concept_parts.T).astype(np.float32)  # (B, m)
    items = parts.items
    item_graph = np.zeros_like(item_gnn)
    if m.link_weight and items.size and targets.size:
        x_idx, x_val = st.link_x
        xv = dict(zip(x_idx.tolist(), x_val.tolist()))
        x = np.asarray([xv.get(j, 0.0) for j in items.tolist()], np.float32)
        if link_weights is None:
            if m.links is None:
                raise ValueError("score_shares needs link_weights when the run's links are not loaded")
            w = m.links[items][:, targets].toarray().T  # (B, n)
        else:
            w = np.asarray([[link_weights.get((j, t), 0.0) for j in items.tolist()] for t in targets.tolist()],
                           np.float32).reshape(targets.size, items.size)
        item_graph = (m.link_weight * w * x[None, :]).astype(np.float32)
    score = ego + item_gnn.sum(1) + item_graph.sum(1) + concept_gnn.sum(1)
    if st.source == "popular":
        zero = np.zeros_like
        pop = st.popular if st.popular is not None else np.zeros(len(m.ids), np.float32)
        return Shares(targets, pop[targets].astype(np.float32), zero(ego), items, zero(item_gnn), zero(item_graph),
                      parts.concepts, zero(concept_gnn))
    return Shares(targets, score.astype(np.float32), ego.astype(np.float32), items, item_gnn, item_graph,
                  parts.concepts, concept_gnn)


def without_neighbour(st: UserState, kind: str, idx: int | None) -> UserState:
    """A copy of ``st`` without one neighbour, as if its edges were deleted: an interacted item (``kind == "item"``,
    a run item index: every INTERACTED edge to it), an interest concept (``"interest"``, a run concept index: every
    INTERESTED_IN edge to it), or the learned profile (``"profile"``: the user's own embedding set to zero)."""
    h = st.history
    if kind == "profile":
        return replace(st, history=replace(h, ego=None))
    if kind == "item":
        keep_n = h.negative != idx
        x_idx, x_val = st.link_x
        keep_x = x_idx != idx
        keep_p = h.positive != idx
        rec = None if h.positive_recency is None else h.positive_recency[keep_p]
        return replace(st, history=replace(h, positive=h.positive[keep_p], negative=h.negative[keep_n],
                                           negative_count=h.negative_count[keep_n], positive_recency=rec),
                       link_x=(x_idx[keep_x], x_val[keep_x]), link_scores=None)
    if kind == "interest":
        keep = h.concepts != idx
        return replace(st, history=replace(h, concepts=h.concepts[keep], groups=h.groups[keep],
                                           weights=h.weights[keep]))
    raise ValueError(f"kind must be item, interest or profile (got {kind!r})")


def removal_effects(m: RunModel, st: UserState, target: int, neighbours: list[tuple[str, int | None]],
                    item_graph: list[float]) -> np.ndarray:
    """``score(u, i) - score(u without the neighbour, i)`` for each neighbour (see :func:`without_neighbour`): the
    user folded in again without it, and its item-graph term (``item_graph``, one per neighbour: 0 for interests
    and the profile) taken out, which is exact since the item-graph part is a plain sum."""
    z_i = m.vectors[target]
    full = float(fold_in(m.foldin, m.side, st.history) @ z_i)
    out = [full - float(fold_in(m.foldin, m.side, without_neighbour(st, kind, idx).history) @ z_i) + ig
           for (kind, idx), ig in zip(neighbours, item_graph, strict=True)]
    return np.asarray(out, np.float64)


def top_k(scores: np.ndarray, k: int, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the ``k`` best entries of ``scores (|I|,)`` (``exclude`` set to -inf), best first."""
    s = scores.astype(np.float64, copy=True)
    if exclude is not None and exclude.size:
        s[exclude] = -np.inf
    if k <= 0:
        return np.empty(0, np.int64), np.empty(0)
    return top_k_rows(s[None, :], k)[0]


def top_k_rows(scores: np.ndarray, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`top_k` of every row of ``scores (B, |I|)`` in one vectorised pass (excluded entries already set to
    -inf); a row with fewer than ``k`` finite entries returns only those.

    Ties are broken by index, as :func:`rank_of` breaks them, also at the ``k``-th place: the list of ``k`` is the
    first ``k`` of the list of ``k + 1``, and each item's rank is :func:`rank_of`'s (items tied at the ``k``-th
    score, as the popularity counts of a ``popular`` user often are, were picked at random by the partition)."""
    if scores.shape[0] == 0:
        return []
    if scores.shape[1] == 0:
        return [(np.empty(0, np.int64), np.empty(0)) for _ in range(scores.shape[0])]
    k = max(1, min(k, scores.shape[1]))
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(scores, part, axis=1)
    kth = vals.min(axis=1)  # the k-th best score of each row
    # rows where more items tie at the k-th score than the partition kept: take the lowest indices of the tie
    straddle = np.flatnonzero(np.count_nonzero(scores >= kth[:, None], axis=1) > k)
    for b in straddle.tolist():
        above = np.flatnonzero(scores[b] > kth[b])
        tied = np.flatnonzero(scores[b] == kth[b])[: k - above.size]
        part[b] = np.concatenate([above, tied])
        vals[b] = scores[b, part[b]]
    out = []
    for b in range(scores.shape[0]):
        idx, v = part[b], vals[b]
        keep = np.isfinite(v)
        idx, v = idx[keep], v[keep].astype(np.float64)
        order = np.lexsort((idx, -v))  # score desc, ties by index (deterministic)
        out.append((idx[order], v[order]))
    return out


def rank_of(scores: np.ndarray, item: int, exclude: np.ndarray | None = None) -> tuple[int, int]:
    """1-based rank of ``item`` among the non-excluded items, and how many items compete."""
    s = scores.astype(np.float64, copy=True)
    if exclude is not None and exclude.size:
        s[exclude] = -np.inf
    competing = int(np.isfinite(s).sum())
    if not np.isfinite(s[item]):
        return 0, competing
    better = int((s > s[item]).sum()) + int(((s == s[item]) & (np.arange(s.size) < item)).sum())
    return better + 1, competing
