"""Stage 1, closed form: the signed item–item graph with knowledge paths.

Items are linked by weights ``W (|I|, |I|)`` learned in closed form from two kinds of two-hop paths of the
train graph:

* item –user– item: the signed train matrix ``X (|U|, |I|)``, ``+1`` for a like or an implicit interaction
  and ``dislike_value`` for an explicit dislike (``< 0`` reverses what the dislike carries);
* item –concept– item: the item–concept matrix ``K (|C|, |I|)`` of ``HAS_KNOWLEDGE`` edges, each concept
  row scaled to unit length and then by ``concept_weight``.

With ``G = XᵀX + KᵀK + λI`` and ``P = G⁻¹``, ``W = I − P·diag(1/diag(P))`` with a zero diagonal: the
least-squares item-to-item regression of the stacked matrix ``Y = [X; K]`` onto itself without self-loops
(the EASE solution of Steck, 2019, applied to the signed, concept-augmented graph). Column ``i`` of that
solution is the ridge regression of item ``i`` on every other item: ``W[-i, i] = (G[-i, -i] + λI)⁻¹ G[-i, i]``.

A user's score for an item is ``r_u · W[:, i]``, where ``r_u`` is ``X``'s row with each item weighted by its
recency (:func:`~kgrec_neo4j.model.recency.history_weights`, ``decay`` chosen on valid; ``decay = 1`` is the
unordered history) — a sum over the user's items of path weights, which is also the explanation ("because you
recently liked A"; a negative term: "because you disliked B"). Recency changes the score only, not ``W``.

Two solvers (``solver``; ``"auto"`` picks by catalogue size, ``dense_max_items``):

* ``dense``: the exact inverse, ``O(|I|³)`` time and ``O(|I|²)`` memory (2.3 GB at 17k items).
* ``sparse``: each item's column is the same ridge regression restricted to its ``neighbours`` candidate items,
  the ones with the largest ``|G[i, j]|`` (items that share users or concepts with it). ``G`` is never formed
  whole: each item's ``(m+1) × (m+1)`` block comes from ``Y``'s columns, and a batch of items is solved with
  one batched Cholesky. ``O(|I|·m³)`` time and ``O(|I|·m)`` memory: linear in the catalogue.

**Transitions** (``transitions = β > 0``): what a user takes up *next*. Each train interaction ``t`` of a user after
the first is a pair: its source ``s_t`` is the user's ``transition_window`` interactions before it, the one just
before weighted 1 and each earlier one by another factor ``transition_decay``, its target ``e_t`` the item it is
(values as in ``X``). With ``S`` and ``T`` their stacked rows, ``W`` minimises
``‖Y − YW‖² + β‖T − SW‖² + λ‖W‖²`` with a zero diagonal (the sequence-aware linear model of Choi et al., 2021,
SLIST, on the concept-augmented ``Y``): with ``G = YᵀY + βSᵀS + λI``, ``P = G⁻¹`` and ``D = Sᵀ(T − S)``,
``W = I + βPD − P·diag(c)`` with ``c_j = (1 + β(PD)_jj) / P_jj``; column ``i`` is again the ridge regression of
item ``i`` on every other item, now with the pairs' rows added: ``W[-i, i] = (G[-i, -i])⁻¹ (Gy[-i, i] +
β(SᵀT)[-i, i])``. ``β = 0`` is the solution above. The links become directed (a game people play after another
links more strongly that way round); they are still item links of the same kind and explain the same way. The
recency decay weighs the history of the score; ``transition_decay`` weighs the pairs' sources in the fit.

**Text prior** (``text_prior = μ > 0``, with ``TrainGraph.item_text`` ``E``: each item's text embedding, rows of unit
length, zeros without text): ``W`` also minimises ``μ‖W − W_f‖²``, where ``W_f = I − Q·diag(1/diag Q)``, ``Q = (EEᵀ +
νI)⁻¹``, is the zero-diagonal regression of each item's text on the other items' texts (EASE on the text; the form of
L3AE, CIKM 2025). Closed form: ``P = (G + (λ + μ)I)⁻¹`` and ``W = I + βPD + μPW_f − P·diag(c)`` with ``c`` such that
``diag(W) = 0``; by Woodbury ``μPW_f`` is a rank-``d`` product plus terms ``P·diag(·)`` that ``c`` absorbs
(:func:`_prior_factors`), so no second ``|I| × |I|`` inverse. An item without text has a zero column and row in
``W_f``: its links in and out are only shrunk by the extra ``μ``. The sparse solver adds ``μ`` to each block's ridge,
``μ·W_f[N, i]`` to its right-hand side, and each item's nearest items by text to its candidates (a link the text alone
carries needs its source among them).

``top_k`` keeps the ``k`` largest-magnitude incoming weights per item, so the graph can be stored as
``(:Item)-[:ITEM_LINK {weight}]->(:Item)`` edges and served from Neo4j.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from scipy.linalg import get_lapack_funcs
from threadpoolctl import threadpool_limits
from torch import Tensor

from .data import TrainGraph
from .recency import check_decay, pair_weights

log = logging.getLogger(__name__)

SOLVERS = ("auto", "dense", "sparse")

# the L2 grid that `kgrec train` tries by default for the item graph and for the EASE baselines (chosen on valid). On
# full Video Games (the pipeline's graph) lambda 100 beat 500 by 3% valid / 3% test NDCG@10 for the item graph alone
# (docs/results.md section 1); 500 was the default before. Office's best lambda (50, from {5, ..., 500} in
# bench/train_compare.py) is outside this grid: benches pass wider grids. Each value costs one dense fit per concept
# weight (about 35 s at 17k items on 2 cores).
DEFAULT_LAMBDAS: tuple[float, ...] = (100.0, 500.0)

# BLAS threads of the CPU Cholesky inverse (scipy's OpenBLAS, not torch's): torch's thread count for the run, but one
# below BLAS_SMALL items. Measured on the 2-core machine: at 8k items two threads took 3.0 s against 5.6 s for one on
# an idle machine, and the same as one (5.8 s) next to another busy process; at 3k items, next to another busy
# process, two threads took 2.8-6.8 s against 0.38 s for one (OpenBLAS workers spin while they wait).
BLAS_SMALL = 4096
BLAS_THREADS: int | None = None  # set to force a count (benchmarks)

# closed-form fits shared within a `shared_fits()` block: key -> (graph, result, (wall, CPU) seconds of the fit)
_FITS: dict[tuple, tuple[TrainGraph, Any, tuple[float, float]]] | None = None


@contextlib.contextmanager
def shared_fits() -> Iterator[None]:
    """Inside the block, closed-form weights with equal inputs (the same graph object and parameters) are computed
    once and reused: a fit does not depend on a seed, so runs of several seeds or ablations can share it. A reused
    fit reports the seconds the original fit took. Benchmarks use it; nothing is shared outside the block."""
    global _FITS
    outer = _FITS
    _FITS = {} if outer is None else outer
    try:
        yield
    finally:
        _FITS = outer


def cached_fit(graph: TrainGraph, key: tuple, compute: Callable[[], Any]
               ) -> tuple[Any, tuple[float, float], bool]:
    """``(result, (wall, CPU) seconds of the fit, reused)``: ``compute()`` once per ``(graph, key)`` inside
    :func:`shared_fits`, every time outside."""
    full = (id(graph), *key)
    if _FITS is not None and full in _FITS and _FITS[full][0] is graph:
        return _FITS[full][1], _FITS[full][2], True
    t, c = time.perf_counter(), time.process_time()
    out = compute()
    seconds = (time.perf_counter() - t, time.process_time() - c)
    if _FITS is not None:
        _FITS[full] = (graph, out, seconds)
    return out, seconds, False


def signed_matrix(graph: TrainGraph, dislike_value: float, decay: float = 1.0) -> sp.csr_matrix:
    """User x item train matrix, one entry per pair: ``1`` for a pair with any non-negative interaction,
    ``dislike_value`` for a pair with only dislikes; times the pair's recency weight when ``decay < 1`` (the
    weight of its latest interaction, :func:`~kgrec_neo4j.model.recency.history_weights`)."""
    pos = graph.train_matrix(binary=True, min_sign=0)
    every = graph.train_matrix(binary=True)
    only_neg = (every - pos.multiply(every)).tocsr()
    only_neg.eliminate_zeros()
    x = (pos + dislike_value * only_neg).tocsr().astype(np.float32)
    if check_decay(decay) < 1.0:
        w = pair_weights(graph.ui_user, graph.ui_item, graph.recency_weights(decay), x.shape)
        x = x.multiply(w).tocsr().astype(np.float32)
        x.eliminate_zeros()
    return x


def concept_matrix(graph: TrainGraph, concept_weight: float) -> sp.csr_matrix:
    """Concept x item matrix ``(|C|, |I|)``, rows scaled to length ``concept_weight`` (0 rows when no concepts)."""
    if graph.num_concepts == 0 or graph.ic_item.size == 0 or concept_weight == 0:
        return sp.csr_matrix((0, graph.num_items), dtype=np.float32)
    k = sp.csr_matrix((np.ones(graph.ic_item.size, np.float32), (graph.ic_concept, graph.ic_item)),
                      shape=(graph.num_concepts, graph.num_items))
    k.sum_duplicates()
    k.data[:] = 1.0
    norm = np.sqrt(np.asarray(k.sum(1)).ravel()).clip(min=1.0)
    return (sp.diags(concept_weight / norm) @ k).tocsr().astype(np.float32)


def transition_matrices(graph: TrainGraph, dislike_value: float, window: int,
                        decay: float) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The transition pairs' sources ``S`` and targets ``T`` (both ``(pairs, |I|)``, float32; module docstring).

    A user's train interactions are ordered by ``seq`` (ties keep the arrays' order); every interaction after the
    user's first whose value is not 0 is a pair (a like or implicit one is ``1``, a dislike ``dislike_value``); its
    source row holds the ``window`` interactions before it, the one just before weighted by its value, each earlier
    one by another factor ``decay``.
    """
    if window < 1 or not 0.0 < decay <= 1.0:
        raise ValueError(f"transition window must be >= 1 and decay in (0, 1] (got {window}, {decay})")
    seq = graph.ui_seq if graph.ui_seq is not None else np.arange(graph.ui_user.size)  # set by __post_init__
    order = np.lexsort((seq, graph.ui_user))
    users, items = graph.ui_user[order], graph.ui_item[order]
    value = np.where(graph.ui_sign[order] < 0, np.float32(dislike_value), np.float32(1.0)).astype(np.float32)
    target = np.flatnonzero((np.r_[False, users[1:] == users[:-1]]) & (value != 0))
    rows, cols, vals = [], [], []
    for lag in range(1, window + 1):
        t = target[target >= lag]
        t = t[users[t - lag] == users[t]]
        if t.size == 0:
            break
        rows.append(np.searchsorted(target, t))
        cols.append(items[t - lag])
        vals.append(value[t - lag] * np.float32(decay ** (lag - 1)))
    n = graph.num_items
    cat = (lambda a, dt: np.concatenate(a).astype(dt) if a else np.zeros(0, dt))  # noqa: E731
    src = sp.csr_matrix((cat(vals, np.float32), (cat(rows, np.int64), cat(cols, np.int64))),
                        shape=(target.size, n), dtype=np.float32)
    src.sum_duplicates()
    src.eliminate_zeros()
    tgt = sp.csr_matrix((value[target], (np.arange(target.size), items[target])), shape=(target.size, n),
                        dtype=np.float32)
    return src, tgt


def closed_form_weights(gram: Tensor, lam: float, device: str | torch.device | None = None,
                        transitions: tuple[float, sp.spmatrix] | None = None,
                        prior: tuple[float, float, np.ndarray] | None = None) -> Tensor:
    """``W = I - P diag(1/diag(P))``, ``P = (gram + lam I)^-1``, zero diagonal: the least-squares item-to-item
    weights without self-loops (Steck, 2019). ``gram (|I|, |I|)`` is overwritten when it is on ``device`` (on the
    CPU ``W`` takes its memory).

    With ``transitions = (β, D)``, ``D = Sᵀ(T − S)`` sparse (``gram`` already holding ``βSᵀS``): ``W = I + βPD −
    P·diag(c)``, ``c_j = (1 + β(PD)_jj) / P_jj``, the zero-diagonal solution with the transition pairs (module
    docstring); ``β = 0`` gives the formula above.

    Args:
        device: where to invert (default: ``gram``'s device). A CUDA device inverts 17k items in about a second
            where two CPU cores take minutes; the weights always come back on the CPU.
    """
    dev = torch.device(device) if device is not None else gram.device
    g = gram if dev == gram.device else gram.to(dev)
    mu = prior[0] if prior is not None else 0.0
    g.diagonal().add_(lam + mu)
    p = spd_inverse_(g)
    del g
    beta, d = transitions if transitions is not None and transitions[0] else (0.0, None)
    if d is None and not mu:
        p.div_((-p.diagonal()).unsqueeze(0))  # column j divided by -P[j, j]
        p.diagonal().zero_()
        return p.cpu()
    # W = I + βPD + μPW_f − P·diag(c) with c_j such that W_jj = 0; any term P·diag(·) folds into that last one
    diag = torch.ones(p.size(0), dtype=p.dtype, device=p.device)
    pd_t = None
    if d is not None:
        dt = sp.csr_matrix(d.T, dtype=np.float32)  # Dᵀ P = (P D)ᵀ, P symmetric: a sparse-times-dense product
        with warnings.catch_warnings():  # torch calls its sparse CSR support beta; this product is all it is used for
            warnings.simplefilter("ignore", UserWarning)
            dt_t = torch.sparse_csr_tensor(torch.from_numpy(dt.indptr.astype(np.int64)),
                                           torch.from_numpy(dt.indices.astype(np.int64)), torch.from_numpy(dt.data),
                                           size=dt.shape, dtype=p.dtype, device=p.device)
        pd_t = dt_t @ p  # (P D)ᵀ
        del dt_t
        diag += beta * pd_t.diagonal()
    low = _prior_factors(p, *prior) if prior is not None and mu else None
    if low is not None:
        diag += (low[0] * low[1]).sum(1)
    p.mul_((-diag / p.diagonal()).unsqueeze(0))  # P diag(-c)
    if pd_t is not None:
        p.add_(pd_t.T, alpha=beta)
        del pd_t
    if low is not None:
        p.addmm_(low[0], low[1].T)
    p.diagonal().zero_()  # I + ... − P diag(c) has a zero diagonal up to rounding
    return p.cpu()


def _text_regression(nu: float, text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(E, C)`` in float64, both ``(|I|, d)``, with ``W_f[j, i] = E[j] · C[i]`` for ``j ≠ i``: the text prior's
    off-diagonal weights. ``W_f = I − Q·diag(1/q)``, ``Q = (EEᵀ + νI)⁻¹``, ``q = diag(Q)``: the zero-diagonal ridge
    regression of each item's text vector on the other items' (EASE on the text). By Woodbury ``Q = (I − E·M·Eᵀ)/ν``
    with the small ``M = (EᵀE + νI)⁻¹`` (``d × d``), so ``W_f[j, i] = −Q[j, i] / q_i = e_jᵀ M e_i / (ν q_i)``."""
    e = np.ascontiguousarray(text, dtype=np.float64)
    em = e @ np.linalg.inv(e.T @ e + nu * np.eye(e.shape[1]))
    q = (1.0 - (em * e).sum(1)) / nu
    return e, em / (nu * q)[:, None]


def _prior_factors(p: Tensor, mu: float, nu: float, text: np.ndarray) -> tuple[Tensor, Tensor]:
    """``(A, B)``, both ``(|I|, d)``, with ``μ·P·W_f = A Bᵀ + P·diag(·)`` for the text prior (:func:`_text_regression`:
    ``W_f = I − diag(·) + E·Cᵀ`` off its diagonal, so ``A = μ·P·E``, ``B = C``): one ``|I|² d`` product, no second
    ``|I| × |I|`` inverse."""
    e, c = (torch.from_numpy(x).to(device=p.device, dtype=p.dtype) for x in _text_regression(nu, text))
    return (p @ e).mul_(mu), c


def spd_inverse_(a: Tensor) -> Tensor:
    """The inverse of a symmetric positive definite matrix, row-major (a contiguous ``a`` is overwritten).

    On the CPU: Cholesky in place (LAPACK ``potrf`` then ``potri``), half the work of an LU inverse and no second
    matrix (1.1 GB less at 17k items); the result shares ``a``'s memory. Elsewhere:
    ``torch.linalg.inv``.
    """
    if a.device.type != "cpu" or a.dtype not in (torch.float32, torch.float64):
        p = torch.linalg.inv(a)
        # LAPACK-style results are column-major; P is symmetric, so its transpose is the same matrix in row-major
        # order, which every later product needs (a column-major W made each scoring batch copy all of it)
        return p.mT if not p.is_contiguous() and p.mT.is_contiguous() else p
    if not a.is_contiguous():
        a = a.contiguous()
    n = a.size(0)
    f = a.numpy().T  # column-major view of the same memory (a is symmetric: the same matrix)
    potrf, potri = get_lapack_funcs(("potrf", "potri"), (f,))
    threads = BLAS_THREADS or (1 if n < BLAS_SMALL else torch.get_num_threads())
    with threadpool_limits(limits=threads, user_api="blas"):
        c, info = potrf(f, lower=0, clean=0, overwrite_a=1)
        if info < 0:
            raise ValueError(f"LAPACK potrf refused argument {-info} of the item-item matrix")
        if info > 0:
            raise ValueError(f"the item-item matrix plus lambda I is not positive definite (LAPACK potrf info {info}): "
                             "raise lambda")
        p, info = potri(c, lower=0, overwrite_c=1)
    if info != 0:
        raise ValueError(f"the item-item matrix could not be inverted (LAPACK potri info {info}): raise lambda")
    # potri leaves the upper triangle of the column-major P, i.e. the lower triangle of its row-major view; copy it
    # to the other half block by block (bounded extra memory)
    out = p.T  # row-major
    step = 1024
    for i in range(0, n, step):
        j = min(i + step, n)
        blk = out[i:j, i:j]
        blk[...] = np.tril(blk) + np.tril(blk, -1).T
        if j < n:
            out[i:j, j:] = out[j:, i:j].T
    return torch.from_numpy(out)


class ItemGraph:
    """The signed, concept-augmented item–item graph (see the module docstring).

    Args:
        lam: L2 regularisation :math:`\\lambda` (> 0).
        concept_weight: scale of the item–concept–item paths (0: interactions only).
        dislike_value: value of a dislike in ``X`` (1: like any interaction; 0: ignored; < 0: reversed).
        top_k: keep this many incoming weights per item (``None``: dense; with the sparse solver, all
            ``neighbours``).
        decay: recency decay of the user's history in the score (1: unordered). Does not change ``W``.
        solver: ``"dense"``, ``"sparse"`` or ``"auto"`` (sparse above ``dense_max_items`` items).
        dense_max_items: the largest catalogue ``"auto"`` solves densely.
        neighbours: candidate items per item of the sparse solver.
        block: items per batched solve of the sparse solver (bounds memory at ``block * neighbours²`` floats).
        transitions: weight ``β`` of the transition pairs in the fit (0: none; module docstring).
        transition_window: interactions before a pair's target in its source.
        transition_decay: factor per step further back in a pair's source.
    """

    def __init__(self, lam: float = 500.0, concept_weight: float = 0.0, dislike_value: float = 1.0,
                 top_k: int | None = None, decay: float = 1.0, *, solver: str = "auto",
                 dense_max_items: int = 20000, neighbours: int = 256, block: int = 64, transitions: float = 0.0,
                 transition_window: int = 10, transition_decay: float = 0.5, text_prior: float = 0.0,
                 text_prior_nu: float = 0.1) -> None:
        if lam <= 0:
            raise ValueError(f"lam must be > 0 (got {lam})")
        if concept_weight < 0:
            raise ValueError(f"concept_weight must be >= 0 (got {concept_weight})")
        if top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be >= 1 (got {top_k})")
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {', '.join(SOLVERS)} (got {solver!r})")
        if dense_max_items < 1 or neighbours < 1 or block < 1:
            raise ValueError(f"dense_max_items, neighbours and block must be >= 1 (got {dense_max_items}, "
                             f"{neighbours}, {block})")
        if transitions < 0 or transition_window < 1 or not 0.0 < transition_decay <= 1.0:
            raise ValueError(f"transitions must be >= 0, transition_window >= 1 and transition_decay in (0, 1] (got "
                             f"{transitions}, {transition_window}, {transition_decay})")
        self.lam, self.concept_weight, self.dislike_value, self.top_k = lam, concept_weight, dislike_value, top_k
        self.transitions, self.transition_window = float(transitions), int(transition_window)
        self.transition_decay = float(transition_decay)
        if text_prior < 0 or text_prior_nu <= 0:
            raise ValueError(f"text_prior must be >= 0 and text_prior_nu > 0 (got {text_prior}, {text_prior_nu})")
        self.text_prior, self.text_prior_nu = float(text_prior), float(text_prior_nu)
        self.decay = check_decay(decay)
        self.solver, self.dense_max_items, self.neighbours, self.block = solver, dense_max_items, neighbours, block
        self.solved_with = ""
        self.fit_seconds = 0.0
        self.reused = False

    def params(self) -> dict:
        return {"lam": self.lam, "concept_weight": self.concept_weight, "dislike_value": self.dislike_value,
                "top_k": self.top_k, "decay": self.decay, "solver": self.solved_with or self.solver,
                **({"transitions": self.transitions, "transition_window": self.transition_window,
                    "transition_decay": self.transition_decay} if self.transitions else {}),
                **({"text_prior": self.text_prior, "text_prior_nu": self.text_prior_nu} if self.text_prior else {}),
                **({"neighbours": self.neighbours} if self.solved_with == "sparse" else {})}

    def fit(self, graph: TrainGraph, device: str | torch.device | None = None) -> ItemGraph:
        """Solve for ``W`` (the dense solver inverts on ``device``, default the CPU; ``W`` is kept on the CPU)."""
        t = time.perf_counter()
        self.graph = graph
        x = signed_matrix(graph, self.dislike_value)
        use_sparse = self.solver == "sparse" or (self.solver == "auto" and graph.num_items > self.dense_max_items)
        self.solved_with = "sparse" if use_sparse else "dense"
        key = ("item_graph", self.lam, self.concept_weight, self.dislike_value, self.top_k, self.solved_with,
               self.neighbours if use_sparse else None, self.transitions,
               (self.transition_window, self.transition_decay) if self.transitions else None,
               (self.text_prior, self.text_prior_nu) if self.text_prior else None)
        self.w, seconds, self.reused = cached_fit(graph, key, lambda: self._solve(graph, x, device))
        self.x = x if self.decay == 1.0 else signed_matrix(graph, self.dislike_value, self.decay)
        # a reused fit counts the seconds the original fit took
        self.fit_seconds = time.perf_counter() - t + (seconds[0] if self.reused else 0.0)
        self.fit_cpu_seconds = seconds[1]
        log.info("item graph %s on %d items: %.1fs%s", self.params(), graph.num_items, self.fit_seconds,
                 " (reused)" if self.reused else "")
        return self

    def _solve(self, graph: TrainGraph, x: sp.csr_matrix,
               device: str | torch.device | None = None) -> Tensor | sp.csr_matrix:
        k = concept_matrix(graph, self.concept_weight)
        s_t = (transition_matrices(graph, self.dislike_value, self.transition_window, self.transition_decay)
               if self.transitions else None)
        prior = None
        if self.text_prior:
            if graph.item_text is None:
                raise ValueError("the text prior needs the items' text embeddings (TrainGraph.item_text); none were "
                                 "read")
            prior = (self.text_prior, self.text_prior_nu, graph.item_text)
        if self.solved_with == "sparse":
            y = sp.vstack([x, k]).tocsr() if k.shape[0] else x
            if s_t is None:
                w_s = sparse_closed_form(y, self.lam, self.neighbours, self.top_k, block=self.block, prior=prior)
            else:
                root = np.float32(np.sqrt(self.transitions))
                w_s = sparse_closed_form(sp.vstack([y, root * s_t[0]]).tocsr(), self.lam, self.neighbours, self.top_k,
                                         block=self.block, target=sp.vstack([y, root * s_t[1]]).tocsr(), prior=prior)
            return _within_datasets(w_s, graph.meta.get("item_dataset"))
        gram = (x.T @ x).toarray()
        if k.shape[0]:
            gram += (k.T @ k).toarray()
        extra = None
        if s_t is not None:
            src, tgt = s_t
            ss = (src.T @ src).tocsr()
            gram += self.transitions * ss.toarray()
            extra = (self.transitions, (src.T @ tgt).tocsr() - ss)
        g = torch.from_numpy(gram.astype(np.float32))
        del gram
        w = closed_form_weights(g, self.lam, device, extra, prior)
        del g
        codes = graph.meta.get("item_dataset")
        if self.top_k is not None and self.top_k < graph.num_items - 1:
            return _sparsify_columns(w, self.top_k, codes)
        return w

    def with_decay(self, decay: float) -> ItemGraph:
        """The same fitted ``W`` scoring with another recency ``decay`` (a shallow copy; ``W`` is shared)."""
        other = copy.copy(self)
        other.decay = check_decay(decay)
        other.x = signed_matrix(self.graph, self.dislike_value, other.decay)
        return other

    def score(self, users: Tensor) -> Tensor:
        """Scores ``(B, |I|)`` for user indices ``(B,)``."""
        xu = self.x[users.cpu().numpy()]
        if isinstance(self.w, sp.spmatrix):
            return torch.from_numpy((xu @ self.w).toarray().astype(np.float32))
        return torch.from_numpy(np.asarray(xu @ self.w.numpy(), dtype=np.float32))

    def edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Non-zero weights as ``(src item, dst item, weight)`` arrays (``score(u, dst) += x[u, src] * w``)."""
        w = self.w if isinstance(self.w, sp.spmatrix) else sp.csr_matrix(self.w.numpy())
        coo = w.tocoo()
        return coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(np.float32)


def _gather_columns(csc: sp.csc_matrix, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices, values and position in ``cols`` of every stored entry of the columns ``cols`` of ``csc``."""
    ptr = csc.indptr
    lengths = ptr[cols + 1] - ptr[cols]
    total = int(lengths.sum())
    at = np.repeat(ptr[cols] - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
    return csc.indices[at], csc.data[at], np.repeat(np.arange(cols.size), lengths)


def candidate_neighbours(y: sp.csr_matrix, m: int, *, chunk: int = 256) -> np.ndarray:
    """int64 ``(|I|, m)``: per item the ``m`` other items with the largest ``|(YᵀY)[i, j]|``, ``-1`` padded
    (fewer when fewer items share a row of ``Y`` with it). ``YᵀY`` is formed ``chunk`` rows at a time."""
    ycsr = y.tocsr()
    yt = ycsr.T.tocsr()  # (|I|, rows)
    n = y.shape[1]
    out = np.full((n, m), -1, np.int64)
    for a in range(0, n, chunk):
        s = (yt[a: a + chunk] @ ycsr).tocsr()  # (chunk, |I|)
        for j in range(s.shape[0]):
            i = a + j
            ind, val = s.indices[s.indptr[j]: s.indptr[j + 1]], s.data[s.indptr[j]: s.indptr[j + 1]]
            keep = (ind != i) & (val != 0)
            ind, val = ind[keep], val[keep]
            if ind.size > m:
                ind = ind[np.argpartition(-np.abs(val), m - 1)[:m]]
            out[i, : ind.size] = ind
    return out


def _with_text_candidates(cand: np.ndarray, text: np.ndarray, k: int, m: int) -> np.ndarray:
    """``(|I|, m)``: each item's candidates ``cand`` followed by its ``k`` nearest items by text
    (:func:`~kgrec_neo4j.model.itemtext.text_knn`), those already in ``cand`` left out, ``-1`` padded."""
    from .itemtext import text_knn

    n = cand.shape[0]
    out = np.full((n, m), -1, np.int64)
    out[:, : cand.shape[1]] = cand
    if k < 1:
        return out
    near = text_knn(np.asarray(text, np.float32), k + cand.shape[1])
    for i in range(n):
        lo, hi = near.indptr[i], near.indptr[i + 1]
        if lo == hi:
            continue
        row = out[i]
        used = int((row >= 0).sum())
        have = set(row[:used].tolist())
        nearest = near.indices[lo:hi][np.argsort(-near.data[lo:hi], kind="stable")]
        add = [int(j) for j in nearest if int(j) not in have][: min(k, m - used)]
        row[used: used + len(add)] = add
    return out


def sparse_closed_form(y: sp.csr_matrix, lam: float, neighbours: int, top_k: int | None = None, *,
                       block: int = 64, target: sp.csr_matrix | None = None,
                       prior: tuple[float, float, np.ndarray] | None = None) -> sp.csr_matrix:
    """The item graph's columns as ridge regressions on each item's candidate neighbours (the sparse solver).

    For item ``i`` with candidates ``N`` (:func:`candidate_neighbours`): ``W[N, i] = (G[N, N] + λI)⁻¹ G[N, i]``,
    ``G = YᵀY``; with every other item as a candidate that is exactly the dense solution's column. ``G[N ∪ {i},
    N ∪ {i}]`` of a whole block of items comes from one sparse product of ``Y``'s columns (rows relabelled per
    item, so no cross-item products are formed), then one batched Cholesky solves the block.

    Args:
        y: ``(rows, |I|)`` the stacked ``[X; K]``.
        neighbours: candidates per item ``m`` (capped at ``|I| - 1``).
        top_k: incoming weights kept per item (``None``: all ``m``).
        block: items solved together.
        target: ``(rows, |I|)``, what each item's column regresses on in place of its own column of ``y`` (the
            transitions: ``y = [X; K; √β S]``, ``target = [X; K; √β T]``, so ``G[N, N]`` gains ``βSᵀS`` and
            ``G[N, i]`` gains ``β(SᵀT)[N, i]``); ``None``: ``y``.
        prior: ``(μ, ν, E)``, the text prior (module docstring): ``W[N, i] = (G[N, N] + (λ + μ)I)⁻¹ (G[N, i] +
            μ·W_f[N, i])``, ``W_f``'s entries computed from ``E`` as needed (:func:`_text_regression`).

    Returns:
        CSR ``(|I|, |I|)``: ``W[j, i]`` is the weight of link ``j -> i``; zero diagonal.
    """
    n, rows = y.shape[1], y.shape[0]
    m = max(1, min(neighbours, n - 1))
    keep_k = m if top_k is None else min(top_k, m)
    if prior is not None and prior[0]:
        # a quarter of the candidates by text, the rest by |G| (a link the text alone carries needs its source here);
        # with every other item a candidate, the text fills the slots that |G| leaves empty
        full = m >= n - 1
        by_text = m if full else max(1, m // 4)
        cand = _with_text_candidates(candidate_neighbours(y, m if full else m - by_text), prior[2], by_text, m)
    else:
        cand = candidate_neighbours(y, m)
    if target is not None and target.shape != y.shape:
        raise ValueError(f"target must have y's shape {y.shape} (got {target.shape})")
    # the item's own column comes from `target`: column n + i of the stacked [y, target]
    ycsc = (y if target is None else sp.hstack([y, target])).tocsc().astype(np.float32)
    own = 0 if target is None else n
    out_src, out_dst, out_val = [], [], []
    eye = np.arange(m)
    width = m + 1
    mu, text, coef = 0.0, None, None
    if prior is not None and prior[0]:
        mu = prior[0]
        text, coef = (x.astype(np.float32) for x in _text_regression(prior[1], prior[2]))
    block = max(1, min(block, 100_000_000 // max(rows, 1)))  # bounds the index below at 400 MB
    slot_of = np.empty(block * rows, np.int32)  # (item of the block, row of Y) -> a row of the block's matrix
    for a in range(0, n, block):
        items = np.arange(a, min(a + block, n))
        b = items.size
        cols = np.concatenate([cand[items], items[:, None] + own], 1)  # (b, m + 1): candidates, then the item
        ok = cols >= 0
        flat = np.flatnonzero(ok.ravel())
        r, v, slot = _gather_columns(ycsc, cols.ravel()[flat])
        col = flat[slot]  # column of the block's stacked matrix, in 0 .. b * (m + 1)
        # rows of Y kept apart per item of the block, so the product has no cross-item terms; equal keys share a
        # row (the last write wins), no sort needed
        key = r + (col // width) * rows
        slot_of[key] = np.arange(key.size, dtype=np.int32)
        ptr = np.concatenate([[0], np.cumsum(np.bincount(col, minlength=b * width))])
        z = sp.csc_matrix((v, slot_of[key], ptr), shape=(key.size, b * width))
        zz = (z.T.tocsr() @ z).tocoo()  # block diagonal: (b (m+1), b (m+1))
        g = np.zeros(b * width * width, np.float32)
        g[zz.row.astype(np.int64) * width + zz.col % width] = zz.data
        g = g.reshape(b, width, width)
        rhs = np.ascontiguousarray(g[:, :m, m])
        lhs = np.ascontiguousarray(g[:, :m, :m])
        lhs[:, eye, eye] = np.where(ok[:, :m], lhs[:, eye, eye] + lam + mu, 1.0)  # padding solves to 0
        if text is not None and coef is not None:  # + μ W_f[N, i] = μ E[N] · coef[i]
            rhs += mu * np.where(ok[:, :m], np.einsum("bmd,bd->bm", text[np.maximum(cand[items], 0)], coef[items]), 0.0)
        chol, _ = torch.linalg.cholesky_ex(torch.from_numpy(lhs))
        w = torch.cholesky_solve(torch.from_numpy(rhs).unsqueeze(-1), chol).squeeze(-1).numpy()
        w = np.where(ok[:, :m], w, 0.0)
        sel = np.argpartition(-np.abs(w), keep_k - 1, axis=1)[:, :keep_k] if keep_k < m else np.tile(eye, (b, 1))
        src = np.take_along_axis(cols[:, :m], sel, 1)
        val = np.take_along_axis(w, sel, 1)
        good = (src >= 0) & (val != 0)
        out_src.append(src[good])
        out_dst.append(np.broadcast_to(items[:, None], src.shape)[good])
        out_val.append(val[good].astype(np.float32))
    return sp.csr_matrix((np.concatenate(out_val), (np.concatenate(out_src), np.concatenate(out_dst))),
                         shape=(n, n), dtype=np.float32)


def _within_datasets(w: sp.csr_matrix, codes: np.ndarray | None) -> sp.csr_matrix:
    """``w`` without its links between items of two datasets (``codes``: each item's dataset index, -1 none; None:
    one dataset). A run over several datasets linked them through shared concepts, and no user of one dataset is
    ever recommended the other's items: such links only took the places of links that count."""
    if codes is None:
        return w
    coo = w.tocoo()
    c = np.asarray(codes, np.int64)
    keep = (c[coo.row] == c[coo.col]) | (c[coo.row] < 0) | (c[coo.col] < 0)
    return sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=w.shape)


def _sparsify_columns(w: Tensor, k: int, codes: np.ndarray | None = None) -> sp.csr_matrix:
    """Keep the ``k`` largest-|w| entries of each column (incoming weights of each item); with ``codes`` (each item's
    dataset index, -1 none), among the items of the column's own dataset only (:func:`_within_datasets`)."""
    n = w.size(0)
    rows, cols, vals = [], [], []
    step = 2048
    c = None if codes is None else torch.from_numpy(np.asarray(codes, np.int64))
    for a in range(0, n, step):
        block = w[:, a: a + step]  # (n, b)
        if c is not None:
            cross = (c[:, None] != c[None, a: a + block.size(1)]) & (c[:, None] >= 0) & (c[None, a: a + block.size(1)] >= 0)
            block = block.masked_fill(cross, 0.0)
        idx = block.abs().topk(k, dim=0).indices  # (k, b)
        rows.append(idx.reshape(-1).numpy())
        cols.append(np.tile(np.arange(a, a + block.size(1)), k))
        vals.append(block.gather(0, idx).reshape(-1).numpy())
    m = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    m.eliminate_zeros()
    return m
