"""Baselines on the same :class:`TrainGraph` and protocol: most-popular, ItemKNN, EASE (plain and
recency-weighted), MF-BPR, LightGCN.

Non-trainable ones (:class:`MostPopular`, :class:`ItemKNN`, :class:`EASE`) have ``fit(graph)`` and
``score(users) -> (B, |I|)``; the trainable ones (:class:`MFBPR`, :class:`LightGCNRec`) are
``nn.Module`` s trained by :func:`kgrec_neo4j.model.train.fit`. All use every train interaction as an
implicit positive (signs ignored), as is standard for these methods.
"""

from __future__ import annotations

import copy
import logging

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor, nn
from torch_geometric.nn.models import LightGCN

from .data import TrainGraph
from .gnn import _sym_bipartite
from .itemgraph import cached_fit, closed_form_weights, signed_matrix
from .recency import check_decay

log = logging.getLogger(__name__)


class MostPopular:
    """Scores every item by its number of train interactions."""

    def fit(self, graph: TrainGraph) -> MostPopular:
        self.pop = torch.from_numpy(np.bincount(graph.ui_item, minlength=graph.num_items).astype(np.float32))
        return self

    def score(self, users: Tensor) -> Tensor:
        return self.pop.unsqueeze(0).expand(users.numel(), -1)


class ItemKNN:
    """Item-based kNN: cosine similarity between item columns of the binary train matrix, top-``k`` kept.

    Args:
        k: neighbours kept per item. (default: ``100``)
        shrink: added to the cosine denominator. (default: ``0.0``)
        chunk: items per similarity block (bounds memory at ``|I| * chunk`` floats). (default: ``2048``)
    """

    def __init__(self, k: int = 100, shrink: float = 0.0, chunk: int = 2048) -> None:
        if k < 1:
            raise ValueError(f"k must be >= 1 (got {k})")
        if shrink < 0:
            raise ValueError(f"shrink must be >= 0 (got {shrink})")
        self.k, self.shrink, self.chunk = k, shrink, chunk

    def fit(self, graph: TrainGraph) -> ItemKNN:
        x = graph.train_matrix(binary=True).tocsc()
        self.x = x.tocsr()
        norms = np.sqrt(np.asarray(x.sum(0)).ravel()).astype(np.float32)
        xt = x.T.tocsr()
        n = graph.num_items
        k = min(self.k, n - 1) if n > 1 else 1
        rows, cols, vals = [], [], []
        for a in range(0, n, self.chunk):
            b = min(a + self.chunk, n)
            co = (xt @ x[:, a:b]).toarray()  # (|I|, chunk) co-occurrence
            sim = co / (norms[:, None] * norms[None, a:b] + self.shrink + 1e-12)
            sim[np.arange(a, b), np.arange(b - a)] = 0.0  # no self-similarity
            top = np.argpartition(-sim, k - 1, axis=0)[:k]  # (k, chunk)
            v = np.take_along_axis(sim, top, 0)
            rows.append(top.ravel())
            cols.append(np.tile(np.arange(a, b), k))
            vals.append(v.ravel())
        self.sim = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
        self.sim.eliminate_zeros()
        return self

    def score(self, users: Tensor) -> Tensor:
        return torch.from_numpy((self.x[users.cpu().numpy()] @ self.sim).toarray().astype(np.float32))


class EASE:
    """EASE (Steck 2019): closed-form item-item weights :math:`B = I - P\\,\\mathrm{diagMat}(1/\\mathrm{diag}(P))`,
    :math:`P = (X^\\top X + \\lambda I)^{-1}`, diagonal zero. Needs a dense ``|I| x |I|`` inverse.

    With ``decay < 1`` it is the **recency-weighted EASE** baseline: the same ``B``, and a user's history in the
    score weighted by :func:`~kgrec_neo4j.model.recency.history_weights` (the decay ours uses), so that a gain from
    order is not taken for a gain from knowledge.

    Args:
        lam: L2 regularisation :math:`\\lambda`. (default: ``500.0``)
        decay: recency decay of the history in the score, in ``(0, 1]``. (default: ``1.0``, plain EASE)
    """

    def __init__(self, lam: float = 500.0, decay: float = 1.0) -> None:
        if lam <= 0:
            raise ValueError(f"lam must be > 0 (got {lam})")
        self.lam = lam
        self.decay = check_decay(decay)

    def fit(self, graph: TrainGraph, device: str | torch.device | None = None) -> EASE:
        """Solve for ``B`` (inverting on ``device``, default the CPU; ``B`` is kept on the CPU)."""
        x = graph.train_matrix(binary=True).tocsr()
        self.b, (self.fit_seconds, self.fit_cpu_seconds), self.reused = cached_fit(
            graph, ("ease", self.lam),
            lambda: closed_form_weights(torch.from_numpy((x.T @ x).toarray().astype(np.float32)), self.lam, device))
        log.info("EASE lam=%s on %d items: %.1fs%s", self.lam, graph.num_items, self.fit_seconds,
                 " (reused)" if self.reused else "")
        self.graph = graph
        self.x = x if self.decay == 1.0 else signed_matrix(graph, 1.0, self.decay)
        return self

    def with_decay(self, decay: float) -> EASE:
        """The same fitted ``B`` scoring with another recency ``decay`` (a shallow copy; ``B`` is shared)."""
        other = copy.copy(self)
        other.decay = check_decay(decay)
        other.x = signed_matrix(self.graph, 1.0, other.decay)
        return other

    def score(self, users: Tensor) -> Tensor:
        xu = self.x[users.cpu().numpy()]
        return torch.from_numpy(np.asarray(xu @ self.b.numpy(), dtype=np.float32))


class MFBPR(nn.Module):
    """Matrix factorisation trained with BPR: score = <p_u, q_i>.

    Args:
        num_users, num_items: sizes. embedding_dim: :math:`F` (default: ``64``).
    """

    def __init__(self, num_users: int, num_items: int, embedding_dim: int = 64) -> None:
        super().__init__()
        if embedding_dim < 1:
            raise ValueError(f"embedding_dim must be >= 1 (got {embedding_dim})")
        self.num_users, self.num_items = num_users, num_items
        self.user_emb = nn.Embedding(num_users, embedding_dim)
        self.item_emb = nn.Embedding(num_items, embedding_dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.user_emb.weight, std=0.1)
        nn.init.normal_(self.item_emb.weight, std=0.1)

    def forward(self, users: Tensor | None = None, items: Tensor | None = None, **_) -> tuple[Tensor, ...]:
        """All embeddings ``(|U|, F), (|I|, F)``, or the rows of ``users``/``items``."""
        if users is not None and items is not None:
            return self.user_emb(users), self.item_emb(items)
        return self.user_emb.weight, self.item_emb.weight

    def ego(self, users: Tensor, items: Tensor) -> tuple[Tensor, Tensor]:
        return self.user_emb(users), self.item_emb(items)


class LightGCNRec(nn.Module):
    """PyG's :class:`~torch_geometric.nn.models.LightGCN` on the train user-item graph (users first).

    The symmetric-normalised adjacency is precomputed once (CSR) and passed to the model with
    ``normalize=False``.

    Args:
        graph: train graph. embedding_dim: :math:`F` (default: ``64``). num_layers: (default: ``3``).
    """

    def __init__(self, graph: TrainGraph, embedding_dim: int = 64, num_layers: int = 3) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1 (got {num_layers})")
        self.num_users, self.num_items = graph.num_users, graph.num_items
        self.model = LightGCN(graph.num_users + graph.num_items, embedding_dim, num_layers, normalize=False)
        self.register_buffer("adj", _sym_bipartite(graph.ui_user, graph.ui_item, graph.num_users, graph.num_items),
                             persistent=False)

    def reset_parameters(self) -> None:
        self.model.reset_parameters()

    def forward(self, users: Tensor | None = None, items: Tensor | None = None, **_) -> tuple[Tensor, ...]:
        emb = self.model.get_embedding(self.adj)  # (|U|+|I|, F)
        u, i = emb[: self.num_users], emb[self.num_users:]
        if users is not None and items is not None:
            return u[users], i[items]
        return u, i

    def ego(self, users: Tensor, items: Tensor) -> tuple[Tensor, Tensor]:
        w = self.model.embedding.weight
        return w[users], w[items + self.num_users]
