"""Stage 1, closed form: the signed item–item graph with knowledge paths.

Items are linked by weights ``W (|I|, |I|)`` learned in closed form from two kinds of two-hop paths of the
train graph:

* item –user– item: the signed train matrix ``X (|U|, |I|)``, ``+1`` for a like or an implicit interaction
  and ``dislike_value`` for an explicit dislike (``< 0`` reverses what the dislike carries);
* item –concept– item: the item–concept matrix ``K (|C|, |I|)`` of ``HAS_KNOWLEDGE`` edges, each concept
  row scaled to unit length and then by ``concept_weight``.

With ``G = XᵀX + KᵀK + λI`` and ``P = G⁻¹``, ``W = I − P·diag(1/diag(P))`` with a zero diagonal: the
least-squares item-to-item regression of the stacked matrix ``[X; K]`` onto itself without self-loops
(the EASE solution of Steck, 2019, applied to the signed, concept-augmented graph). A user's score for an
item is ``x_u · W[:, i]`` — a sum over the user's items of path weights, which is also the explanation
("because you liked A"; a negative term: "because you disliked B").

``top_k`` keeps the ``k`` largest-magnitude incoming weights per item, so the graph can be stored as
``(:Item)-[:ITEM_LINK {weight}]->(:Item)`` edges and served from Neo4j.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from .data import TrainGraph

log = logging.getLogger(__name__)


def signed_matrix(graph: TrainGraph, dislike_value: float) -> sp.csr_matrix:
    """User x item train matrix, binary per pair: ``1`` for a pair with any non-negative interaction,
    ``dislike_value`` for a pair with only dislikes."""
    pos = graph.train_matrix(binary=True, min_sign=0)
    every = graph.train_matrix(binary=True)
    only_neg = (every - pos.multiply(every)).tocsr()
    only_neg.eliminate_zeros()
    return (pos + dislike_value * only_neg).tocsr().astype(np.float32)


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


def closed_form_weights(gram: Tensor, lam: float) -> Tensor:
    """``W = I - P diag(1/diag(P))``, ``P = (gram + lam I)^-1``, zero diagonal: the least-squares item-to-item
    weights without self-loops (Steck, 2019). ``gram (|I|, |I|)`` is modified in place."""
    gram.diagonal().add_(lam)
    p = torch.linalg.inv(gram)  # (cholesky_inverse is several times slower on CPU)
    w = p / (-p.diagonal()).unsqueeze(0)
    w.diagonal().zero_()
    return w


class ItemGraph:
    """The signed, concept-augmented item–item graph (see the module docstring).

    Args:
        lam: L2 regularisation :math:`\\lambda` (> 0).
        concept_weight: scale of the item–concept–item paths (0: interactions only).
        dislike_value: value of a dislike in ``X`` (1: like any interaction; 0: ignored; < 0: reversed).
        top_k: keep this many incoming weights per item (``None``: dense).
    """

    def __init__(self, lam: float = 500.0, concept_weight: float = 0.0, dislike_value: float = 1.0,
                 top_k: int | None = None) -> None:
        if lam <= 0:
            raise ValueError(f"lam must be > 0 (got {lam})")
        if concept_weight < 0:
            raise ValueError(f"concept_weight must be >= 0 (got {concept_weight})")
        if top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be >= 1 (got {top_k})")
        self.lam, self.concept_weight, self.dislike_value, self.top_k = lam, concept_weight, dislike_value, top_k

    def params(self) -> dict:
        return {"lam": self.lam, "concept_weight": self.concept_weight, "dislike_value": self.dislike_value,
                "top_k": self.top_k}

    def fit(self, graph: TrainGraph) -> ItemGraph:
        t = time.perf_counter()
        self.x = signed_matrix(graph, self.dislike_value)
        k = concept_matrix(graph, self.concept_weight)
        gram = (self.x.T @ self.x).toarray()
        if k.shape[0]:
            gram += (k.T @ k).toarray()
        g = torch.from_numpy(gram.astype(np.float32))
        del gram
        w = closed_form_weights(g, self.lam)
        del g
        if self.top_k is not None and self.top_k < graph.num_items - 1:
            w = _sparsify_columns(w, self.top_k)
        self.w = w
        self.fit_seconds = time.perf_counter() - t
        log.info("item graph %s on %d items: %.1fs", self.params(), graph.num_items, self.fit_seconds)
        return self

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


def _sparsify_columns(w: Tensor, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest-|w| entries of each column (incoming weights of each item)."""
    n = w.size(0)
    rows, cols, vals = [], [], []
    step = 2048
    for a in range(0, n, step):
        block = w[:, a: a + step]  # (n, b)
        idx = block.abs().topk(k, dim=0).indices  # (k, b)
        rows.append(idx.reshape(-1).numpy())
        cols.append(np.tile(np.arange(a, a + block.size(1)), k))
        vals.append(block.gather(0, idx).reshape(-1).numpy())
    m = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    m.eliminate_zeros()
    return m
