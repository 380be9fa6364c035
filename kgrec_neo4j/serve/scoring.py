"""Scoring from what the current model run wrote back: the run's item matrix (embeddings and item links),
loaded once per process, and the users' vectors and train items, read per request.

``score(u, i) = <u, i> + item_link_weight * sum_j x[u, j] * w(j -> i)`` (see ``docs/graph-model.md``, "Model
write-back"). The item embeddings of a run are loaded once per process into a numpy matrix
(:class:`ItemMatrix`, cached by database and run id); a request then costs one Cypher round trip for the users'
embeddings and train items, and a matrix product in numpy.

Public API: :func:`current_run`, :func:`item_matrix`, :func:`user_vectors`, :func:`scoring_state`,
:func:`top_k`, :func:`rank_of`, :func:`clear_cache`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..core.db import Database
from ..core.errors import KgrecError, ModelError
from ..core.resources import cypher

log = logging.getLogger(__name__)


class RecommendError(KgrecError):
    """A recommendation request that cannot be served (unknown user, no model run, no embedding)."""


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


# ------------------------------------------------------------------------------------ item matrix

@dataclass
class ItemMatrix:
    """All item embeddings of one run: ``vectors (|I|, F)`` float32, ``ids`` and ``titles`` aligned with its rows."""

    run: str
    ids: list[str]
    vectors: np.ndarray
    titles: list[str | None] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    links: sp.csr_matrix | None = None  # (|I|, |I|) ITEM_LINK weights, row = source item
    link_weight: float = 0.0
    dislike_value: float = 1.0

    def scores(self, uv: UserVectors) -> np.ndarray:
        """Scores ``(B, |I|)`` of every item for the users of ``uv``: ``<u, i>``, plus, when the run wrote item
        links, ``link_weight * sum_j x[u, j] * w(j -> i)`` over each user's train items ``j``."""
        s = uv.vectors @ self.vectors.T
        if self.links is not None and self.link_weight and len(uv.exclude):
            rows = np.repeat(np.arange(len(uv.exclude)), [e.size for e in uv.exclude])
            cols = np.concatenate(uv.exclude) if rows.size else np.empty(0, np.int64)
            vals = np.ones(rows.size, np.float32)
            if self.dislike_value != 1.0 and uv.disliked:
                only_neg = np.concatenate([np.isin(e, d) for e, d in zip(uv.exclude, uv.disliked)])
                vals[only_neg] = self.dislike_value
            x = sp.csr_matrix((vals, (rows, cols)), shape=(len(uv.exclude), len(self.ids)))
            s = s + self.link_weight * (x @ self.links).toarray()
        return s

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.ids):
            raise ValueError(f"vectors must have shape ({len(self.ids)}, F) (got {self.vectors.shape})")
        self.index = {item: k for k, item in enumerate(self.ids)}

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


_CACHE: dict[tuple[str, str, str], ItemMatrix] = {}
_CURRENT: dict[tuple[str, str], str] = {}  # (uri, database) -> run id last seen current
_CACHE_LOCK = threading.Lock()


def clear_cache() -> None:
    """Forget every cached item matrix and current run (e.g. after a run rewrote embeddings under the same id)."""
    with _CACHE_LOCK:
        _CACHE.clear()
        _CURRENT.clear()


def _cache_key(db: Database, run: str) -> tuple[str, str, str]:
    return (db.settings.neo4j_uri, db.database, run)


def item_matrix(db: Database, run: str, *, refresh: bool = False, cache_if_current: bool = False) -> ItemMatrix:
    """The item embeddings of ``run`` as a numpy matrix, loaded once per process (cached by run id).

    Args:
        cache_if_current: cache the matrix only when ``run`` is still the current run after the load (a run
            that stopped being current meanwhile may have lost its vectors to the next run's write-back).

    Raises:
        ModelError: when the run wrote no item embedding, or embeddings of different sizes.
    """
    key = _cache_key(db, run)
    with _CACHE_LOCK:
        if not refresh and key in _CACHE:
            return _CACHE[key]
    t0 = time.perf_counter()
    rows = db.query(cypher("recommend/item_embeddings"), run=run)
    if not rows:
        raise ModelError(
            f"model run {run!r} has no item embeddings: got 0 items with gnn_run = {run!r}, expected one per "
            f"trained item. Re-run the model write-back (`kgrec train`).")
    dims = {len(r["embedding"]) for r in rows}
    if len(dims) != 1:
        raise ModelError(f"item embeddings of run {run!r} have different sizes {sorted(dims)}; expected one "
                         f"size. Re-run the model write-back.")
    m = ItemMatrix(run=run, ids=[r["id"] for r in rows], titles=[r["title"] for r in rows],
                   vectors=np.asarray([r["embedding"] for r in rows], dtype=np.float32))
    _load_links(db, m)
    cache = True
    if cache_if_current:
        current = [str(r["run"]) for r in db.query(cypher("recommend/current_run"))]
        cache = current == [run]
        if not cache:
            log.info("not caching the item embeddings of run %s: the current run is now %s", run, current)
    if cache:
        with _CACHE_LOCK:
            _CACHE[key] = m
    log.info("loaded %d item embeddings (dim %d) of run %s in %.2fs", len(m.ids), m.dim, run,
             time.perf_counter() - t0)
    return m


def _load_links(db: Database, m: ItemMatrix) -> None:
    """Attach the run's ITEM_LINK edges (rows: source item) and their weight in the score, when it wrote any."""
    rows = db.query(cypher("recommend/item_links"), run=m.run)
    if not rows:
        return
    src, dst, val = [], [], []
    for r in rows:
        a = m.index.get(r["source"])
        if a is None:
            continue
        for t, w in zip(r["targets"], r["weights"]):
            b = m.index.get(t)
            if b is not None:
                src.append(a)
                dst.append(b)
                val.append(w)
    n = len(m.ids)
    m.links = sp.csr_matrix((np.asarray(val, np.float32), (np.asarray(src, np.int64), np.asarray(dst, np.int64))),
                            shape=(n, n))
    m.link_weight = float(rows[0]["weight"] or 0.0)
    m.dislike_value = float(rows[0]["dislike_value"])


# ------------------------------------------------------------------------------------- scoring

@dataclass
class UserVectors:
    """Users to score: embeddings ``(B, F)`` and, per user, the train item indices to exclude."""

    ids: list[str]
    vectors: np.ndarray
    exclude: list[np.ndarray]
    current_runs: list[str] = field(default_factory=list)
    disliked: list[np.ndarray] = field(default_factory=list)  # train items the user only disliked


def user_vectors(db: Database, user_ids: list[str], matrix: ItemMatrix, *, strict: bool = True) -> UserVectors:
    """Embeddings and train items of ``user_ids`` in one round trip.

    Args:
        strict: when ``False`` and ``matrix.run`` is no longer the one current run, return at once with only
            ``ids`` and ``current_runs`` filled (no vectors), so that the caller reloads the new current run
            instead of failing on users that have no embedding of the old one.

    Raises:
        RecommendError: naming users that do not exist or have no embedding of the run.
    """
    rows = db.query(cypher("recommend/users"), users=list(user_ids), run=matrix.run)
    missing = [r["id"] for r in rows if not r["found"]]
    if missing:
        raise RecommendError(f"unknown user(s): {', '.join(map(repr, missing[:5]))}"
                             f"{' …' if len(missing) > 5 else ''}; expected User.id values that were loaded "
                             f"(`kgrec load`).")
    current_runs = list(rows[0]["current_runs"]) if rows else []
    if current_runs != [matrix.run] and not strict:
        # the current run changed: the caller reloads the matrix of the new one and asks again
        return UserVectors(ids=[r["id"] for r in rows], vectors=np.empty((0, matrix.dim), np.float32), exclude=[],
                           current_runs=current_runs)
    no_emb = [(r["id"], r["embedding_run"]) for r in rows if r["embedding"] is None]
    if no_emb:
        u, got = no_emb[0]
        raise RecommendError(
            f"user {u!r} has no embedding of the current run {matrix.run!r} (got gnn_run = {got!r}; "
            f"{len(no_emb)} such user(s)). Users without train interactions are not trained; re-run "
            f"`kgrec train` after loading them.")
    vec = np.asarray([r["embedding"] for r in rows], dtype=np.float32)
    if vec.shape[1] != matrix.dim:
        raise ModelError(f"user embeddings have size {vec.shape[1]} but item embeddings of run "
                         f"{matrix.run!r} have size {matrix.dim}; re-run the model write-back.")
    index = matrix.index
    exclude = [np.fromiter((index[i] for i, _ in r["train_items"] if i in index), dtype=np.int64)
               for r in rows]
    disliked = [np.fromiter((index[i] for i, only_neg in r["train_items"] if only_neg and i in index),
                            dtype=np.int64) for r in rows]
    return UserVectors(ids=[r["id"] for r in rows], vectors=vec, exclude=exclude, current_runs=current_runs,
                       disliked=disliked)


def scoring_state(db: Database, user_ids: list[str], run: str | None) -> tuple[ItemMatrix, UserVectors]:
    """Item matrix and user vectors of ``run`` (default: the current run) in one round trip when warm.

    The current run id is remembered per database; the users query also returns the runs marked current
    now, and a change (a new training run) reloads the matrix and asks again (up to three tries, so that a
    flip of ``current`` during the request is followed, never answered with a mix of two runs).
    """
    key = (db.settings.neo4j_uri, db.database)
    explicit = run is not None
    if run is None:
        with _CACHE_LOCK:
            run = _CURRENT.get(key)
        if run is None:
            run = current_run(db)
    attempts = 1 if explicit else 3
    for attempt in range(attempts):
        last = attempt == attempts - 1
        try:
            m = item_matrix(db, run, cache_if_current=not explicit)
        except ModelError:
            if last:
                raise
            now = current_run(db)  # raises on none / several
            if now == run:
                raise
            run = now  # the run's vectors were cleared after a newer run became current
            continue
        uv = user_vectors(db, user_ids, m, strict=explicit or last)
        if explicit or uv.current_runs == [run] or last:
            break
        run = current_run(db)  # a new run became current: reload its matrix and ask again
    if not explicit:
        with _CACHE_LOCK:
            _CURRENT[key] = run
    return m, uv


def top_k(scores: np.ndarray, k: int, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the ``k`` best entries of ``scores (|I|,)`` (``exclude`` set to -inf), best first."""
    s = scores.astype(np.float64, copy=True)
    if exclude is not None and exclude.size:
        s[exclude] = -np.inf
    k = min(k, int(np.isfinite(s).sum()))
    if k <= 0:
        return np.empty(0, np.int64), np.empty(0)
    part = np.argpartition(-s, k - 1)[:k]
    order = part[np.lexsort((part, -s[part]))]  # score desc, ties by index (deterministic)
    return order, s[order]


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
