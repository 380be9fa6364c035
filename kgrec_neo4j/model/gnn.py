"""The seed's relation-aware two-stage GNN over users, items and knowledge concepts.

Stage 1 encodes three graphs separately:

* item <- concepts, one learned transform per knowledge type,
* user <- interest concepts, one learned transform per (horizon, polarity),
* the signed user-item graph: LightGCN-style propagation over positive edges, and a separate one-hop
  propagation over dislike edges through a learned signed gate (initialised to reverse).

Stage 2 propagates over one fused graph of users, items and concepts with relation-aware attention:
a GAT-style score per edge (per-relation projection vectors), softmax-normalised over each node's
incoming edges, times a positive relation weight and a signed gate per relation (initialised
positive for likes/interests, negative for dislikes and negative interests). Per-edge attention values
are kept for explanations (:meth:`KGRecGNN.edge_attention`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.utils import softmax

from .data import TrainGraph
from .recency import check_decay, pair_weights

if TYPE_CHECKING:  # pragma: no cover
    from .itemgraph import ItemGraph

INTEREST_GROUPS = (("long", 1), ("short", 1), ("long", -1), ("short", -1))


def _to_csr(a: Tensor) -> Tensor:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return a.to_sparse_csr()


def _sparse(row: np.ndarray, col: np.ndarray, val: np.ndarray, shape: tuple[int, int]) -> Tensor:
    """Coalesced COO tensor from numpy triplets (duplicates summed)."""
    idx = torch.from_numpy(np.stack([row, col]).astype(np.int64))
    return torch.sparse_coo_tensor(idx, torch.from_numpy(val.astype(np.float32)), shape).coalesce()


def _row_normalised(row, col, w, shape) -> Tensor:
    m = _sparse(row, col, w, shape)
    idx, val = m.indices(), m.values()
    deg = torch.zeros(shape[0]).index_add_(0, idx[0], val)
    return _to_csr(torch.sparse_coo_tensor(idx, val / deg[idx[0]].clamp_min(1e-12), shape, is_coalesced=True))


def _row_normalised_max(row: np.ndarray, col: np.ndarray, w: np.ndarray, shape: tuple[int, int]) -> Tensor:
    """Row-normalised CSR ``(rows, cols)`` with the largest ``w`` of each (row, col) pair (a repeat counts once)."""
    m = pair_weights(row, col, w, shape).tocoo()
    return _row_normalised(m.row.astype(np.int64), m.col.astype(np.int64), m.data, shape)


def _side_by_side(blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]], rows: int, cols: int) -> Tensor:
    """CSR ``(rows, len(blocks) * cols)``: each block's (row, col, weight) triplets row-normalised on their own and
    placed in columns ``k * cols ..`` (block ``k``)."""
    idx, val = [], []
    for k, (r, c, w) in enumerate(blocks):
        m = _row_normalised(r, c, w, (rows, cols)).to_sparse_coo().coalesce()
        idx.append(m.indices() + torch.tensor([[0], [k * cols]]))
        val.append(m.values())
    out = torch.sparse_coo_tensor(torch.cat(idx, 1), torch.cat(val), (rows, len(blocks) * cols)).coalesce()
    return _to_csr(out)


def _sym_bipartite(users: np.ndarray, items: np.ndarray, n_u: int, n_i: int) -> Tensor:
    """Symmetric-normalised adjacency ``(|U|+|I|, |U|+|I|)`` of a binary bipartite graph."""
    n = n_u + n_i
    keys = np.unique(users * n_i + items)
    u, i = keys // n_i, keys % n_i + n_u
    row, col = np.concatenate([u, i]), np.concatenate([i, u])
    deg = np.bincount(row, minlength=n).astype(np.float32)
    dinv = np.zeros(n, np.float32)
    dinv[deg > 0] = deg[deg > 0] ** -0.5
    return _to_csr(_sparse(row, col, dinv[row] * dinv[col], (n, n)))


class _WeightedSpMM(torch.autograd.Function):
    """``out[dst] += val * x[src]`` over fixed, (dst, src)-sorted edges, differentiable in ``val`` and ``x``.

    ``torch.sparse.mm`` would materialise a dense ``(N, N)`` gradient for the sparse values; here the
    value gradient is computed per edge in chunks, and ``x``'s gradient by the transposed sparse product.
    """

    @staticmethod
    def forward(ctx, val, x, src, dst, perm_t, n):
        idx = torch.stack([dst, src])
        out = torch.sparse.mm(torch.sparse_coo_tensor(idx, val, (n, n), is_coalesced=True), x)
        ctx.save_for_backward(val, x, src, dst, perm_t)
        ctx.n = n
        return out

    @staticmethod
    def backward(ctx, grad_out):
        val, x, src, dst, perm_t = ctx.saved_tensors
        n = ctx.n
        grad_val = grad_x = None
        if ctx.needs_input_grad[0]:
            grad_val = torch.empty_like(val)
            step = 1 << 18
            for a in range(0, val.numel(), step):
                b = min(a + step, val.numel())
                grad_val[a:b] = (grad_out[dst[a:b]] * x[src[a:b]]).sum(-1)
        if ctx.needs_input_grad[1]:
            idx_t = torch.stack([src[perm_t], dst[perm_t]])
            at = torch.sparse_coo_tensor(idx_t, val[perm_t], (n, n), is_coalesced=True)
            grad_x = torch.sparse.mm(at, grad_out)
        return grad_val, grad_x, None, None, None, None


class _FixedSpMM(torch.autograd.Function):
    """``A @ x`` for a constant CSR ``A`` whose transpose is cached (autograd would re-sort ``A^T`` each step)."""

    @staticmethod
    def forward(ctx, x, a, a_t):
        ctx.a_t = a_t
        return torch.sparse.mm(a, x)

    @staticmethod
    def backward(ctx, grad_out):
        return torch.sparse.mm(ctx.a_t, grad_out), None, None


def weighted_spmm(val: Tensor, x: Tensor, src: Tensor, dst: Tensor, perm_t: Tensor) -> Tensor:
    """Differentiable ``A @ x`` with ``A[dst, src] = val``; edges sorted by (dst, src), ``perm_t`` sorts them
    by (src, dst). Shapes: ``val (E,)``, ``x (N, F)`` -> ``(N, F)``."""
    return _WeightedSpMM.apply(val, x, src, dst, perm_t, x.size(0))


def _csr_t(a: Tensor) -> Tensor:
    """Transpose of a CSR matrix, as CSR."""
    return _to_csr(a.to_sparse_coo().t().coalesce())


def _transpose_perm(src: Tensor, dst: Tensor) -> Tensor:
    return torch.from_numpy(np.lexsort((dst.numpy(), src.numpy())))


@dataclass(frozen=True)
class Relation:
    """A directed relation of the fused graph (``src_kind`` -> ``dst_kind``), with its sign."""

    name: str
    src_kind: str  # "user" | "item" | "concept"
    dst_kind: str
    negative: bool


class KGRecGNN(nn.Module):
    r"""Relation-aware two-stage GNN (users, items, concepts) from the seed design.

    Args:
        graph (TrainGraph): the train graph; its edges become buffers of the model.
        embedding_dim (int): size :math:`F` of every embedding. (default: ``64``)
        num_ui_layers (int): propagation layers of the stage-1 positive user-item graph. (default: ``2``)
        num_fused_layers (int): stage-2 attention layers over the fused graph. (default: ``1``)
        use_concepts (bool): use item concepts and user interests (ablation: ``False``). (default: ``True``)
        use_negative (bool): keep dislike edges as negative relations; when ``False`` they are dropped
            from the graph. (default: ``True``)
        use_stage1 (bool): when ``False`` the fused graph starts from raw embeddings. (default: ``True``)
        negative_slope (float): LeakyReLU slope of the attention scores. (default: ``0.2``)
        recency_decay (float, optional): short-term interests on the user side: stage 1 adds to each user
            ``softplus(recency_gate) * sum_j r_j x1_j / sum_j r_j`` over the user's positive train items ``j``, with
            ``r_j`` their :func:`~kgrec_neo4j.model.recency.history_weights` and ``x1_j`` their stage-1 vectors.
            ``None``: no recency term. (default: ``None``)

    Shapes:
        - forward output: users :math:`(|U|, F)`, items :math:`(|I|, F)`, concepts :math:`(|C|, F)`
        - :meth:`edge_attention`: relation name -> :math:`(2, |E_r|)` edge index and :math:`(|E_r|,)` values
    """

    # buffers registered in __init__ (declared for the type checker: nn.Module's attribute lookup is untyped)
    f_src: Tensor
    f_dst: Tensor
    f_rel: Tensor
    f_last_count: Tensor
    f_ptr: Tensor
    f_perm_t: Tensor
    f_last_perm_t: Tensor
    rel_negative: Tensor
    rel_interest: Tensor

    def __init__(
        self,
        graph: TrainGraph,
        embedding_dim: int = 64,
        num_ui_layers: int = 2,
        num_fused_layers: int = 1,
        *,
        use_concepts: bool = True,
        use_negative: bool = True,
        use_stage1: bool = True,
        negative_slope: float = 0.2,
        recency_decay: float | None = None,
    ) -> None:
        super().__init__()
        if embedding_dim < 1:
            raise ValueError(f"embedding_dim must be >= 1 (got {embedding_dim})")
        if num_ui_layers < 0:
            raise ValueError(f"num_ui_layers must be >= 0 (got {num_ui_layers})")
        if num_fused_layers < 1:
            raise ValueError(f"num_fused_layers must be >= 1 (got {num_fused_layers})")
        if graph.num_users < 1 or graph.num_items < 1:
            raise ValueError(f"graph needs users and items (got {graph.num_users} users, {graph.num_items} items)")
        self.num_users, self.num_items = graph.num_users, graph.num_items
        self.num_concepts = graph.num_concepts if use_concepts else 0
        self.num_types = graph.num_types
        self.embedding_dim = embedding_dim
        self.num_ui_layers = num_ui_layers
        self.num_fused_layers = num_fused_layers
        self.use_concepts, self.use_negative, self.use_stage1 = use_concepts, use_negative, use_stage1
        self.negative_slope = negative_slope
        n_u, n_i, n_c, d = self.num_users, self.num_items, self.num_concepts, embedding_dim
        self.offset = {"user": 0, "item": n_u, "concept": n_u + n_i}
        self.num_nodes = n_u + n_i + n_c

        self.user_emb = nn.Embedding(n_u, d)
        self.item_emb = nn.Embedding(n_i, d)
        self.concept_emb = nn.Embedding(max(n_c, 1), d)

        # ---------------- stage-1 graphs (buffers) and parameters
        pos = graph.ui_sign >= 0 if use_negative else np.ones(graph.ui_sign.size, bool)
        neg = (graph.ui_sign < 0) & use_negative
        self._fixed("a_pos", a_pos=_sym_bipartite(graph.ui_user[pos], graph.ui_item[pos], n_u, n_i))
        has_neg = bool(neg.any())
        self.has_negative = has_neg
        if has_neg:
            u, i = graph.ui_user[neg], graph.ui_item[neg]
            w = np.ones(u.size, np.float32)
            # rows: users then items; a user's dislikes averaged, an item's dislikers averaged
            self._fixed("a_neg", a_neg=_row_normalised(
                np.concatenate([u, i + n_u]), np.concatenate([i + n_u, u]), np.concatenate([w, w]),
                (n_u + n_i, n_u + n_i)))
        self.neg_gate = nn.Parameter(torch.empty(d))
        # short-term interests: the user's recency-weighted mean of its positive items' stage-1 vectors
        self.recency_decay = None if recency_decay is None else check_decay(recency_decay)
        if self.recency_decay is not None:
            r = graph.recency_weights(self.recency_decay)
            self._fixed("a_recent", a_recent=_row_normalised_max(graph.ui_user[pos], graph.ui_item[pos], r[pos],
                                                                (n_u, n_i)))
        self.recency_gate = nn.Parameter(torch.empty(()))

        self.type_transforms = nn.ModuleList(nn.Linear(d, d, bias=False) for _ in range(self.num_types))
        self.interest_transforms = nn.ModuleList(nn.Linear(d, d, bias=False) for _ in INTEREST_GROUPS)
        # per knowledge type (items) and per interest group (users) one row-normalised matrix over the concepts,
        # laid side by side in one block matrix: sum_t M_t lin_t(c) = [M_1 .. M_T] @ [lin_1(c); ..; lin_T(c)] is
        # one sparse product instead of T (2.5x faster on full Video Games: fewer passes over the output)
        self._type_mats: list[str] = []  # per type: its name when the type has edges, else "" (fold-in reads it)
        self._interest_mats: list[str] = []
        if use_concepts and n_c:
            blocks = []
            for t in range(self.num_types):
                m = graph.ic_type == t
                self._type_mats.append(f"type_{t}" if m.any() else "")
                if m.any():
                    blocks.append((graph.ic_item[m], graph.ic_concept[m], graph.ic_weight[m]))
            if blocks:
                self._fixed("m_types", m_types=_side_by_side(blocks, n_i, n_c))
            blocks = []
            for g, (hz, pol) in enumerate(INTEREST_GROUPS):
                m = (graph.uc_horizon == (0 if hz == "long" else 1)) & (graph.uc_polarity == pol)
                if not use_negative and pol < 0:
                    m[:] = False
                self._interest_mats.append(f"interest_{g}" if m.any() else "")
                if m.any():
                    blocks.append((graph.uc_user[m], graph.uc_concept[m], graph.uc_weight[m]))
            if blocks:
                self._fixed("m_interests", m_interests=_side_by_side(blocks, n_u, n_c))

        # ---------------- stage-2 fused graph: relations in both directions
        rels: list[Relation] = []
        srcs, dsts, rel_ids = [], [], []

        def add(name, sk, dk, negative, s, t):
            if s.size == 0:
                return
            for (nm, a, b, x, y) in ((name, sk, dk, s, t), (f"rev_{name}", dk, sk, t, s)):
                key = np.unique(x * self.num_nodes + y)  # one edge per (src, dst) and relation
                rels.append(Relation(nm, a, b, negative))
                srcs.append(key // self.num_nodes)
                dsts.append(key % self.num_nodes)
                rel_ids.append(np.full(key.size, len(rels) - 1, np.int64))

        off_i, off_c = self.offset["item"], self.offset["concept"]
        add("likes", "user", "item", False, graph.ui_user[pos], graph.ui_item[pos] + off_i)
        if has_neg:
            add("dislikes", "user", "item", True, graph.ui_user[neg], graph.ui_item[neg] + off_i)
        if use_concepts and n_c:
            for t, tname in enumerate(graph.type_names):
                m = graph.ic_type == t
                add(f"has_knowledge:{tname}", "item", "concept", False,
                    graph.ic_item[m] + off_i, graph.ic_concept[m] + off_c)
            for hz, pol in INTEREST_GROUPS:
                m = (graph.uc_horizon == (0 if hz == "long" else 1)) & (graph.uc_polarity == pol)
                if not use_negative and pol < 0:
                    continue
                add(f"interested_in:{hz}:{'+' if pol > 0 else '-'}", "user", "concept", pol < 0,
                    graph.uc_user[m], graph.uc_concept[m] + off_c)
        self.relations: list[Relation] = rels
        src = torch.from_numpy(np.concatenate(srcs))
        dst = torch.from_numpy(np.concatenate(dsts))
        rel = torch.from_numpy(np.concatenate(rel_ids))
        # sort by (dst, src) so every sparse matrix built from these edges is already coalesced
        order = torch.from_numpy(np.lexsort((src.numpy(), dst.numpy())))
        src, dst, rel = src[order], dst[order], rel[order]
        # the last layer only needs edges that end at users or items
        self.register_buffer("f_src", src, persistent=False)
        self.register_buffer("f_dst", dst, persistent=False)
        self.register_buffer("f_rel", rel, persistent=False)
        k_last = int((dst < off_c).sum())  # edges are sorted by dst and concepts come last: a prefix
        self.register_buffer("f_last_count", torch.tensor(k_last), persistent=False)
        self.register_buffer("f_ptr", torch.cat([torch.zeros(1, dtype=torch.long),
                                                 torch.cumsum(torch.bincount(dst, minlength=self.num_nodes), 0)]),
                             persistent=False)
        self.register_buffer("f_perm_t", _transpose_perm(src, dst), persistent=False)
        self.register_buffer("f_last_perm_t", _transpose_perm(src[:k_last], dst[:k_last]), persistent=False)
        n_r = len(rels)
        self.att_src = nn.Parameter(torch.empty(n_r, d))
        self.att_dst = nn.Parameter(torch.empty(n_r, d))
        self.rel_weight = nn.Parameter(torch.empty(n_r))  # softplus -> positive weight per relation
        self.rel_gate = nn.Parameter(torch.empty(n_r))  # tanh -> signed gate per relation
        self.register_buffer("rel_negative", torch.tensor([r.negative for r in rels], dtype=torch.bool),
                             persistent=False)
        self.register_buffer("rel_interest", torch.tensor([r.name.startswith("interested_in") and not r.negative
                                                           for r in rels], dtype=torch.bool), persistent=False)
        self.stage_mix = nn.Parameter(torch.empty(3))
        self._attention: Tensor | None = None
        self.item_graph: ItemGraph | None = None  # the closed-form stage-1 item graph, once attached
        self.item_graph_weight = 0.0
        self.item_graph_multiplier: float | None = None  # the weight in units of std(GNN) / std(item graph)
        self.reset_parameters()

    # ------------------------------------------------------------------ init
    def reset_parameters(self) -> None:
        """(Re-)initialise every parameter in place."""
        for emb in (self.user_emb, self.item_emb, self.concept_emb):
            nn.init.normal_(emb.weight, std=0.1)
        with torch.no_grad():
            self.neg_gate.fill_(-0.5)  # dislikes start by reversing what they carry
            for lin in self.type_transforms:
                cast(nn.Linear, lin).weight.copy_(torch.eye(self.embedding_dim))
            for lin, (_, pol) in zip(self.interest_transforms, INTEREST_GROUPS):
                cast(nn.Linear, lin).weight.copy_(torch.eye(self.embedding_dim) * (1.0 if pol > 0 else -0.5))
            nn.init.normal_(self.att_src, std=0.01)
            nn.init.normal_(self.att_dst, std=0.01)
            # softplus^-1: positive interests start stronger (1.5) than the rest (1.0)
            w = torch.where(self.rel_interest, torch.tensor(1.5), torch.tensor(1.0))
            self.rel_weight.copy_(torch.log(torch.expm1(w)))
            self.rel_gate.copy_(torch.where(self.rel_negative, torch.tensor(-0.5), torch.tensor(1.5)))
            self.stage_mix.fill_(1.0)
            self.recency_gate.fill_(0.5413)  # softplus^-1(1): the recent items start at full weight
        self._attention = None

    def _fixed(self, name: str, **kw) -> None:
        """Register constant CSR ``kw[name]`` and its cached transpose ``name + '_t'``."""
        a = kw[name]
        self.register_buffer(name, a, persistent=False)  # rebuilt from the graph, not saved
        self.register_buffer(name + "_t", _csr_t(a), persistent=False)

    def _mm(self, name: str, x: Tensor) -> Tensor:
        return _FixedSpMM.apply(x, getattr(self, name), getattr(self, name + "_t"))

    # ----------------------------------------------------------------- stage 1
    def stage1(self) -> Tensor:
        """Stage-1 node features ``(|U|+|I|+|C|, F)`` from the three separate graphs."""
        x0 = torch.cat([self.user_emb.weight, self.item_emb.weight, self.concept_emb.weight[: self.num_concepts]])
        if not self.use_stage1:
            return x0
        n_ui = self.num_users + self.num_items
        ui0 = x0[:n_ui]
        # positive interaction graph: LightGCN mean over layers
        h, acc = ui0, ui0
        for _ in range(self.num_ui_layers):
            h = self._mm("a_pos", h)
            acc = acc + h
        ui = acc / (self.num_ui_layers + 1)
        if self.has_negative:  # dislike graph kept apart: one hop, signed gate per dimension
            ui = ui + self.neg_gate * self._mm("a_neg", ui0)
        users, items = ui[: self.num_users], ui[self.num_users:]
        if self.use_concepts and self.num_concepts:
            c = x0[n_ui:]
            # lin(M c) = M lin(c): transform the small concept table, once per type / group
            item_k = self._concept_side("m_types", self._type_mats, self.type_transforms, c)
            user_k = self._concept_side("m_interests", self._interest_mats, self.interest_transforms, c)
            mix = torch.softmax(self.stage_mix, 0) * 3
            items = mix[0] * items + mix[1] * item_k if isinstance(item_k, Tensor) else items
            users = mix[0] * users + mix[2] * user_k if isinstance(user_k, Tensor) else users
            return torch.cat([self._recent(users, items), items, c])
        return torch.cat([self._recent(users, items), items])

    def _concept_side(self, name: str, present: list[str], transforms: nn.ModuleList, c: Tensor) -> Tensor | int:
        """``sum_g M_g lin_g(c)`` over the groups with edges, as one product with the block matrix ``name``
        (0 when no group has edges)."""
        lins = [cast(nn.Linear, lin) for p, lin in zip(present, transforms) if p]
        if not lins:
            return 0
        w = torch.stack([lin.weight for lin in lins])  # (G, F_out, F_in)
        y = torch.einsum("cf,gof->gco", c, w).reshape(-1, c.size(1))  # (G * |C|, F): group g's rows g*|C|..
        return self._mm(name, y)

    def _recent(self, users: Tensor, items: Tensor) -> Tensor:
        """Stage-1 users plus their recency-weighted item means (when ``recency_decay`` is set)."""
        if self.recency_decay is None:
            return users
        return users + F.softplus(self.recency_gate) * self._mm("a_recent", items)

    # ----------------------------------------------------------------- stage 2
    def _attention_values(self, x: Tensor, src: Tensor, dst: Tensor, rel: Tensor, group: Tensor,
                          num_groups: int) -> Tensor:
        """Signed attention ``(E,)``: softmax of GAT-style scores over each ``group`` (= destination node),
        times the relation's positive weight and signed gate."""
        s_src = x @ self.att_src.t()  # (N, R): per node and relation a scalar, gathered per edge
        s_dst = x @ self.att_dst.t()
        logit = F.leaky_relu(s_src[src, rel] + s_dst[dst, rel], self.negative_slope)
        alpha = softmax(logit, group, num_nodes=num_groups)
        return alpha * F.softplus(self.rel_weight)[rel] * torch.tanh(self.rel_gate)[rel]

    def _fused_full(self, x: Tensor) -> Tensor:
        """All stage-2 layers over the whole fused graph; returns ``(N, F)`` (concept rows unchanged in the
        last layer, which only feeds users and items)."""
        att = None
        for layer in range(self.num_fused_layers):
            last = layer == self.num_fused_layers - 1
            k = int(self.f_last_count) if last else self.f_src.numel()
            src, dst, rel = self.f_src[:k], self.f_dst[:k], self.f_rel[:k]
            val = self._attention_values(x, src, dst, rel, dst, x.size(0))  # (E,)
            perm_t = self.f_last_perm_t if last else self.f_perm_t
            x = x + weighted_spmm(val, x, src, dst, perm_t)  # residual relation-aware propagation
            att = val
        assert att is not None  # num_fused_layers >= 1 (checked in __init__)
        self._attention = att.detach()
        return x

    def stage2(self, x: Tensor, nodes: Tensor | None = None, max_neighbors: int | None = None) -> Tensor:
        """Stage-2 output rows for ``nodes`` (unique global node ids, ``(M,)``), or all nodes when ``None``.

        With ``nodes`` given, the last layer runs only on the edges that end at those nodes, which keeps a
        training step cheap. Exact when ``max_neighbors`` is ``None``; otherwise a node with more incoming
        edges attends over ``max_neighbors`` of them drawn uniformly (GraphSAGE-style sampling, training only).
        """
        if nodes is None:
            return self._fused_full(x)
        for _ in range(self.num_fused_layers - 1):  # earlier layers need the whole graph
            x = self._fused_full(x)
        ptr = self.f_ptr
        start, count = ptr[nodes], ptr[nodes + 1] - ptr[nodes]
        take = count if max_neighbors is None else count.clamp(max=max_neighbors)
        local = torch.repeat_interleave(torch.arange(nodes.numel(), device=x.device), take)  # (E_b,)
        slot = torch.arange(local.numel(), device=x.device) - torch.repeat_interleave(torch.cumsum(take, 0) - take, take)
        if max_neighbors is not None:
            c = count[local]
            drawn = (torch.rand(local.numel(), device=x.device) * c).long()
            slot = torch.where(c > max_neighbors, drawn, slot)
        eid = start[local] + slot
        src, rel = self.f_src[eid], self.f_rel[eid]
        # one gather for the nodes and their neighbours: each gather from x costs a full (N, F) gradient buffer
        both = x[torch.cat([nodes, src])]
        xn, xs = both[: nodes.numel()], both[nodes.numel():]  # (M, F), (E_b, F)
        # one relation's projection per edge: (E_b, F) products, not (E_b, R) (R relations) then a gather
        s_src = (xs * self.att_src[rel]).sum(-1)
        s_dst = (xn @ self.att_dst.t())[local, rel]
        logit = F.leaky_relu(s_src + s_dst, self.negative_slope)
        alpha = softmax(logit, local, num_nodes=nodes.numel())
        val = alpha * F.softplus(self.rel_weight)[rel] * torch.tanh(self.rel_gate)[rel]
        msg = xs * val.unsqueeze(-1)  # (E_b, F)
        return xn + torch.zeros(nodes.numel(), x.size(1), device=x.device, dtype=x.dtype).index_add_(0, local, msg)

    def forward(self, users: Tensor | None = None, items: Tensor | None = None,
                max_neighbors: int | None = None) -> tuple[Tensor, ...]:
        """Embeddings after both stages.

        Args:
            users, items: optional index tensors ``(B,)`` / ``(M,)``. When both are given only those rows are
                computed (the training path) and ``(users (B, F), items (M, F))`` is returned.
            max_neighbors: neighbour sampling cap of the stage-2 step on that path (``None``: exact).

        Returns:
            users ``(|U|, F)``, items ``(|I|, F)``, concepts ``(|C|, F)`` (``(0, F)`` without concepts).
        """
        x = self.stage1()  # (N, F)
        self.last_stage1 = x  # kept for graph-structure losses (concept centres) of this step
        if users is not None and items is not None:
            nodes, inv = torch.unique(torch.cat([users, items + self.num_users]), return_inverse=True)
            out = self.stage2(x, nodes, max_neighbors)[inv]
            return out[: users.numel()], out[users.numel():]
        x = self.stage2(x)
        u, i = x[: self.num_users], x[self.num_users: self.num_users + self.num_items]
        return u, i, x[self.num_users + self.num_items:]

    # ------------------------------------------------------------- inference
    def attach_item_graph(self, item_graph: ItemGraph, weight: float) -> None:
        """Add the closed-form stage-1 item graph (:class:`~kgrec_neo4j.model.itemgraph.ItemGraph`) to the
        score: ``score(u, i) = <u, i> + weight * item_graph.score(u)[i]`` (``weight`` chosen on valid)."""
        if weight < 0:
            raise ValueError(f"weight must be >= 0 (got {weight})")
        self.item_graph, self.item_graph_weight = item_graph, float(weight)

    def score(self, users: Tensor, emb: tuple[Tensor, Tensor] | None = None) -> Tensor:
        """Scores ``(B, |I|)`` of all items for ``users`` ``(B,)``: the embedding dot product, plus the item
        graph's term when one is attached."""
        u, i = emb if emb is not None else self.forward()[:2]
        s = u[users] @ i.t()
        if self.item_graph is not None and self.item_graph_weight:
            s = s + self.item_graph_weight * self.item_graph.score(users).to(s.device)
        return s

    @torch.no_grad()
    def recommend(self, users: Tensor, k: int, exclude=None) -> tuple[Tensor, Tensor]:
        """Top-``k`` items per user.

        Args:
            users: user indices ``(B,)``.
            k: list length, ``1 <= k <= |I|``.
            exclude: ``scipy.sparse`` user x item matrix (e.g. :meth:`TrainGraph.train_matrix`) or a list of
                item-index iterables aligned with ``users``; those items get score ``-inf``.

        Returns:
            ``(items (B, k), scores (B, k))``.
        """
        if not 1 <= k <= self.num_items:
            raise ValueError(f"k must be in [1, {self.num_items}] (got {k})")
        self.eval()
        scores = self.score(users)
        if exclude is not None:
            mask_scores_(scores, users, exclude)
        s, idx = scores.topk(k, dim=1)
        return idx, s

    @torch.no_grad()
    def edge_attention(self) -> dict[str, tuple[Tensor, Tensor]]:
        """Last-layer signed attention per relation: name -> ``(edge_index (2, E_r), values (E_r,))``.

        ``edge_index`` holds per-kind node indices (user / item / concept positions of the
        :class:`TrainGraph`), source first. Values are ``alpha * weight_r * gate_r`` (negative for
        relations that suppress).
        """
        if self._attention is None:
            self.eval()
            self.forward()
        assert self._attention is not None  # the full forward pass records it
        attention = self._attention
        k = int(self.f_last_count)
        src, dst, rel = self.f_src[:k], self.f_dst[:k], self.f_rel[:k]
        out = {}
        for r_id, r in enumerate(self.relations):
            m = rel == r_id
            if m.any():
                s = src[m] - self.offset[r.src_kind]
                t = dst[m] - self.offset[r.dst_kind]
                out[r.name] = (torch.stack([s, t]), attention[m])
        return out

    def relation_weights(self) -> dict[str, float]:
        """Effective signed weight ``softplus(w_r) * tanh(g_r)`` per relation."""
        w = (F.softplus(self.rel_weight) * torch.tanh(self.rel_gate)).detach().cpu().tolist()
        return {r.name: v for r, v in zip(self.relations, w)}

    def extra_repr(self) -> str:
        return (f"users={self.num_users}, items={self.num_items}, concepts={self.num_concepts}, "
                f"dim={self.embedding_dim}, ui_layers={self.num_ui_layers}, fused_layers={self.num_fused_layers}, "
                f"relations={len(self.relations)}, fused_edges={self.f_src.numel()}, recency_decay={self.recency_decay}")


def mask_scores_(scores: Tensor, users: Tensor, exclude) -> Tensor:
    """Set ``scores[b, i] = -inf`` for items to exclude for ``users[b]``; in place, returns ``scores``."""
    if hasattr(exclude, "tocsr"):
        m = exclude.tocsr()[users.cpu().numpy()]
        rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
        cols = m.indices
    else:
        rows = np.array([b for b, items in enumerate(exclude) for _ in items], np.int64)
        cols = np.array([i for items in exclude for i in items], np.int64)
    if rows.size:
        scores[torch.from_numpy(rows).to(scores.device), torch.from_numpy(cols.astype(np.int64)).to(scores.device)] = -torch.inf
    return scores
