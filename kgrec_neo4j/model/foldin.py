"""Fold-in: a user's vector computed from a trained model's stored item and concept vectors and the user's
*current* edges, with the model's own propagation. No retraining, any history, new users too.

Serving (``kgrec_neo4j.serve``) and the second evaluation protocol (history up to the target) both use it. It is
plain numpy, so a serving process never imports torch.

What a user's vector is in :class:`~kgrec_neo4j.model.gnn.KGRecGNN` (one fused layer, the default), and so what this
module recomputes::

    stage 1    ui_u   = mean over layers k = 0..L of h_u^k         h_u^0 = e_u (the user's own embedding, 0 if unknown)
                        h_u^k = sum_{i in N+(u)} h_i^(k-1) / sqrt(d_u d_i)   (LightGCN over positive edges)
                        + neg_gate * mean over the user's dislikes of e_i    (the dislike graph, one hop)
               x1_u   = mix_0 * ui_u + mix_2 * sum_g T_g(mean_g of e_c)      (interest groups g, weighted means)
    stage 2    z_u    = x1_u + sum_{edges s -> u} a_e * x1_s                 (relation-aware attention over the
                        a_e = softmax_u(leaky(x1_s.att_src[r] + x1_u.att_dst[r])) * softplus(w_r) * tanh(g_r)

Per item the run stores ``h_i^0 .. h_i^(L-1)`` (``h_i^0 = e_i``), the stage-1 output ``x1_i``, the final ``z_i``
and the positive degree ``d_i`` of the train graph; per concept its embedding (``x1_c = e_c``); per trained user
``e_u``; and the small parameters below (:class:`FoldIn`) on the ``(:ModelRun)``. With the train history, a trained
user's fold-in equals the trained vector (tests/test_foldin.py); the item degrees stay those of training.

A LightGCN baseline is the same computation without dislikes, interests and stage 2 (:meth:`FoldIn.for_lightgcn`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: interest groups (horizon, polarity) in the order KGRecGNN uses
INTEREST_GROUPS: tuple[tuple[str, int], ...] = (("long", 1), ("short", 1), ("long", -1), ("short", -1))


def group_index(horizon: str | int | None, polarity: int | float | None) -> int:
    """Index in :data:`INTEREST_GROUPS` of an ``INTERESTED_IN`` edge (horizon ``long``/``short`` or 0/1)."""
    short = str(horizon).lower() in ("short", "1", "short-term", "short_term")
    negative = polarity is not None and float(polarity) < 0
    return (1 if short else 0) + (2 if negative else 0)


@dataclass
class FoldIn:
    """The small trained parameters fold-in needs (stored as JSON on the run).

    Attributes:
        dim: embedding size :math:`F`.
        ui_layers: LightGCN layers :math:`L` of stage 1 (0: the user's own embedding only).
        stage1: stage 1 on (False: the model's ablation without stage 1; x1 = raw embeddings).
        neg_gate: ``(F,)`` signed gate of the dislike graph, or ``None`` when the model had no dislike edges.
        mix: ``(3,)`` stage mix (ui, item concepts, user interests); ``None`` when the user side has no interests.
        interest_transforms: group index -> ``(F, F)`` weight ``W`` (``y = x @ W.T``) of the groups the model has.
        relations: relation name -> ``{"att_src": (F,), "att_dst": (F,), "value": float}`` for the relations that
            end at a user (``rev_likes``, ``rev_dislikes``, ``rev_interested_in:<horizon>:<+|->``); empty: no stage 2.
        negative_slope: LeakyReLU slope of the attention logits.
        recency_decay: the user side's recency decay (short-term interests), or ``None`` when the model has none:
            stage 1 adds ``recency_scale * sum_j r_j x1_j / sum_j r_j`` over the positive items ``j`` with their
            :attr:`History.positive_recency` ``r_j``.
        recency_scale: ``softplus(recency_gate)`` of the trained model.
    """

    dim: int
    ui_layers: int
    stage1: bool = True
    neg_gate: np.ndarray | None = None
    mix: np.ndarray | None = None
    interest_transforms: dict[int, np.ndarray] = field(default_factory=dict)
    relations: dict[str, dict[str, Any]] = field(default_factory=dict)
    negative_slope: float = 0.2
    recency_decay: float | None = None
    recency_scale: float = 0.0

    # ------------------------------------------------------------------------------------------ storage
    def to_json(self) -> str:
        def arr(a: np.ndarray | None) -> list | None:
            return None if a is None else np.asarray(a, np.float64).round(8).tolist()

        return json.dumps({
            "dim": self.dim, "ui_layers": self.ui_layers, "stage1": self.stage1,
            "neg_gate": arr(self.neg_gate), "mix": arr(self.mix),
            "interest_transforms": {str(g): arr(w) for g, w in self.interest_transforms.items()},
            "relations": {name: {"att_src": arr(r["att_src"]), "att_dst": arr(r["att_dst"]),
                                 "value": float(r["value"])} for name, r in self.relations.items()},
            "negative_slope": self.negative_slope,
            "recency_decay": self.recency_decay, "recency_scale": self.recency_scale,
        })

    @classmethod
    def from_json(cls, text: str) -> FoldIn:
        d = json.loads(text)

        def arr(a: Any) -> np.ndarray | None:
            return None if a is None else np.asarray(a, np.float32)

        return cls(dim=int(d["dim"]), ui_layers=int(d["ui_layers"]), stage1=bool(d.get("stage1", True)),
                   neg_gate=arr(d.get("neg_gate")), mix=arr(d.get("mix")),
                   interest_transforms={int(g): np.asarray(w, np.float32)
                                        for g, w in (d.get("interest_transforms") or {}).items()},
                   relations={name: {"att_src": np.asarray(r["att_src"], np.float32),
                                     "att_dst": np.asarray(r["att_dst"], np.float32), "value": float(r["value"])}
                              for name, r in (d.get("relations") or {}).items()},
                   negative_slope=float(d.get("negative_slope", 0.2)),
                   recency_decay=None if d.get("recency_decay") is None else float(d["recency_decay"]),
                   recency_scale=float(d.get("recency_scale", 0.0)))

    @classmethod
    def for_lightgcn(cls, dim: int, layers: int) -> FoldIn:
        """LightGCN: mean over layers of the positive propagation, nothing else."""
        return cls(dim=dim, ui_layers=layers)


@dataclass
class ItemSide:
    """The stored per-item and per-concept vectors of a run, aligned with ``item_ids`` / ``concept_ids``.

    Attributes:
        layers: ``(L, |I|, F)`` the item LightGCN features ``h_i^0 .. h_i^(L-1)`` (``h_i^0 = e_i``).
        degree: ``(|I|,)`` positive train degree ``d_i`` (0: the item had no positive train edge).
        x1: ``(|I|, F)`` stage-1 output of each item (the values stage 2 attends over).
        concepts: ``(|C|, F)`` concept embeddings (stage-1 output of a concept is its embedding).
    """

    layers: np.ndarray
    degree: np.ndarray
    x1: np.ndarray
    concepts: np.ndarray

    def __post_init__(self) -> None:
        d = self.degree.astype(np.float32)
        # an item without positive train edges counts as degree 1 when a live history reaches it
        self.dinv = (1.0 / np.sqrt(np.maximum(d, 1.0))).astype(np.float32)


@dataclass
class History:
    """One user's current edges, as indices into the run's items and concepts.

    Attributes:
        positive: items with at least one non-negative interaction (each once).
        negative: items with a dislike, and ``negative_count`` how many dislikes each (repeats count, as in training).
        concepts, groups, weights: ``INTERESTED_IN`` edges (concept index, :func:`group_index`, weight).
        ego: the user's own trained embedding ``e_u`` of this run, or ``None`` (a user the run did not train).
        positive_recency: ``(len(positive),)`` recency weight of each positive item
            (:func:`~kgrec_neo4j.model.recency.item_weights` with the run's ``recency_decay`` over the user's whole
            ordered history), or ``None``: every item weighs the same (exact only when the run has no recency).
    """

    positive: np.ndarray
    negative: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    negative_count: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32))
    concepts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    groups: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    weights: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32))
    ego: np.ndarray | None = None
    positive_recency: np.ndarray | None = None


def _recent(p: FoldIn, items: ItemSide, h: History) -> np.ndarray | float:
    """The short-term term of stage 1: ``recency_scale`` times the recency-weighted mean of the positive items'
    stage-1 vectors (0 without recency or positive items)."""
    if p.recency_decay is None or not h.positive.size:
        return 0.0
    r = (np.ones(h.positive.size, np.float32) if h.positive_recency is None
         else np.asarray(h.positive_recency, np.float32))
    return p.recency_scale * (r @ items.x1[h.positive]) / max(float(r.sum()), 1e-12)


def _leaky(x: np.ndarray, slope: float) -> np.ndarray:
    return np.where(x >= 0, x, slope * x)


def stage1_user(p: FoldIn, items: ItemSide, h: History) -> np.ndarray:
    """The user's stage-1 vector ``x1_u`` ``(F,)``."""
    e_u = h.ego if h.ego is not None else np.zeros(p.dim, np.float32)
    if not p.stage1:
        return e_u.astype(np.float32)
    acc = e_u.astype(np.float32).copy()
    pos = h.positive
    if p.ui_layers and pos.size:
        du = 1.0 / np.sqrt(pos.size)
        w = items.dinv[pos] * du  # (n,)
        for k in range(p.ui_layers):  # h_u^(k+1) = sum_i h_i^k / sqrt(d_u d_i)
            acc += w @ items.layers[k][pos]
    ui = acc / (p.ui_layers + 1)
    if p.neg_gate is not None and h.negative.size:
        c = h.negative_count.astype(np.float32)
        ui = ui + p.neg_gate * (c @ items.layers[0][h.negative]) / max(float(c.sum()), 1e-12)
    if p.mix is None:
        return (ui + _recent(p, items, h)).astype(np.float32)
    user_k = np.zeros(p.dim, np.float32)
    for g, wmat in p.interest_transforms.items():
        m = h.groups == g
        if not m.any():
            continue
        wts = h.weights[m].astype(np.float32)
        mean = (wts @ items.concepts[h.concepts[m]]) / max(float(wts.sum()), 1e-12)
        user_k += mean @ wmat.T
    return (p.mix[0] * ui + p.mix[2] * user_k + _recent(p, items, h)).astype(np.float32)


def _edges(p: FoldIn, items: ItemSide, h: History) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    """``(relation name, source kind "item"/"concept", source indices (n,), source vectors (n, F))`` of the
    stage-2 edges that end at the user."""
    out: list[tuple[str, str, np.ndarray, np.ndarray]] = []
    if "rev_likes" in p.relations and h.positive.size:
        out.append(("rev_likes", "item", h.positive, items.x1[h.positive]))
    if "rev_dislikes" in p.relations and h.negative.size:
        out.append(("rev_dislikes", "item", h.negative, items.x1[h.negative]))
    for g, (hz, pol) in enumerate(INTEREST_GROUPS):
        name = f"rev_interested_in:{hz}:{'+' if pol > 0 else '-'}"
        m = h.groups == g
        if name in p.relations and m.any():
            src = np.unique(h.concepts[m])
            out.append((name, "concept", src, items.concepts[src]))
    return out


def _attention(p: FoldIn, x1: np.ndarray, edges: list[tuple[str, str, np.ndarray, np.ndarray]]) -> np.ndarray:
    """The stage-2 coefficient ``a_e`` (attention times the relation's value) of each edge of ``edges``, in
    order: ``z_u = x1_u + sum_e a_e x1_src(e)``."""
    logits, values = [], []
    for name, _kind, _src, xs in edges:
        r = p.relations[name]
        logits.append(_leaky(xs @ r["att_src"] + float(x1 @ r["att_dst"]), p.negative_slope))
        values.append(np.full(xs.shape[0], r["value"], np.float32))
    logit = np.concatenate(logits)
    alpha = np.exp(logit - logit.max())
    alpha /= alpha.sum() + 1e-16  # torch_geometric's softmax adds 1e-16 to the denominator too
    return (alpha * np.concatenate(values)).astype(np.float32)


def fold_in(p: FoldIn, items: ItemSide, h: History) -> np.ndarray:
    """The user's final vector ``z_u`` ``(F,)`` (see the module docstring)."""
    x1 = stage1_user(p, items, h)
    edges = _edges(p, items, h)
    if not edges:
        return x1
    val = _attention(p, x1, edges)
    return (x1 + val @ np.concatenate([xs for *_, xs in edges])).astype(np.float32)


@dataclass
class FoldInParts:
    """``z_u`` split into one additive part per neighbour of the user (:func:`fold_in_parts`).

    Attributes:
        ego: ``(F,)`` the part of the user's own trained embedding ``e_u`` (zero for a user the run did not train).
        items: ``(n,)`` item indices: every item of ``History.positive`` and ``History.negative``, each once.
        item_parts: ``(n, F)`` each item's part (its LightGCN terms, its dislike-graph term, its stage-2 terms).
        concepts: ``(m,)`` concept indices of the user's interests, each once.
        concept_parts: ``(m, F)`` each interest concept's part (its interest-transform terms, its stage-2 terms).
    """

    ego: np.ndarray
    items: np.ndarray
    item_parts: np.ndarray
    concepts: np.ndarray
    concept_parts: np.ndarray

    def total(self) -> np.ndarray:
        """The sum of the parts: :func:`fold_in` of the same history."""
        return (self.ego + self.item_parts.sum(0) + self.concept_parts.sum(0)).astype(np.float32)


def fold_in_parts(p: FoldIn, items: ItemSide, h: History) -> FoldInParts:
    """:func:`fold_in` split exactly into one part per neighbour: for the attention coefficients of this history
    (they depend on the whole neighbourhood through the softmax and ``x1_u``), ``z_u`` is linear in ``e_u``, in the
    vectors of the user's items and in those of its interest concepts, so it is the sum of ``e_u``'s part, one
    part per interacted item and one per interest concept (``FoldInParts.total() == fold_in(...)``, tested).

    Each term of :func:`stage1_user` and of the stage-2 sum goes to the neighbour it comes from: a positive item
    ``j`` gets ``mix_0 * sum_k h_j^k / sqrt(d_u d_j) / (L+1)`` and ``a_e x1_j``; a disliked item the dislike-graph
    term ``mix_0 * neg_gate * c_j e_j / sum c`` and ``a_e x1_j``; an interest concept ``c`` of group ``g`` gets
    ``mix_2 * T_g(w_c e_c / sum_g w)`` and ``a_e e_c``; ``e_u`` gets ``mix_0 * e_u / (L+1)``.
    """
    d = p.dim
    all_items = np.union1d(h.positive, h.negative).astype(np.int64)
    all_concepts = np.unique(h.concepts).astype(np.int64)
    ipart = np.zeros((all_items.size, d), np.float32)
    cpart = np.zeros((all_concepts.size, d), np.float32)
    e_u = (h.ego if h.ego is not None else np.zeros(d, np.float32)).astype(np.float32)
    if not p.stage1:
        ego: np.ndarray = e_u.copy()
    else:
        mix0 = 1.0 if p.mix is None else float(p.mix[0])
        ego = (mix0 * e_u / (p.ui_layers + 1)).astype(np.float32)
        pos = h.positive
        if p.ui_layers and pos.size:
            w = items.dinv[pos] / np.sqrt(pos.size)  # (n,)
            acc = np.zeros((pos.size, d), np.float32)
            for k in range(p.ui_layers):
                acc += w[:, None] * items.layers[k][pos]
            np.add.at(ipart, np.searchsorted(all_items, pos), mix0 * acc / (p.ui_layers + 1))
        if p.neg_gate is not None and h.negative.size:
            c = h.negative_count.astype(np.float32)
            term = p.neg_gate[None, :] * (c[:, None] * items.layers[0][h.negative]) / max(float(c.sum()), 1e-12)
            np.add.at(ipart, np.searchsorted(all_items, h.negative), mix0 * term)
        if p.mix is not None:
            for g, wmat in p.interest_transforms.items():
                m = h.groups == g
                if not m.any():
                    continue
                wts = h.weights[m].astype(np.float32)
                term = (wts[:, None] * items.concepts[h.concepts[m]]) / max(float(wts.sum()), 1e-12)
                np.add.at(cpart, np.searchsorted(all_concepts, h.concepts[m]), float(p.mix[2]) * term @ wmat.T)
    if p.recency_decay is not None and h.positive.size:  # the short-term term (see _recent): one part per item
        r = (np.ones(h.positive.size, np.float32) if h.positive_recency is None
             else np.asarray(h.positive_recency, np.float32))
        term = p.recency_scale * (r[:, None] * items.x1[h.positive]) / max(float(r.sum()), 1e-12)
        np.add.at(ipart, np.searchsorted(all_items, h.positive), term.astype(np.float32))
    ego = ego.astype(np.float32)
    edges = _edges(p, items, h)
    if edges:
        x1 = stage1_user(p, items, h)
        val = _attention(p, x1, edges)
        start = 0
        for _name, kind, src, xs in edges:
            v = val[start: start + src.size]
            start += src.size
            if kind == "item":
                np.add.at(ipart, np.searchsorted(all_items, src), v[:, None] * xs)
            else:
                np.add.at(cpart, np.searchsorted(all_concepts, src), v[:, None] * xs)
    return FoldInParts(ego=ego, items=all_items, item_parts=ipart, concepts=all_concepts, concept_parts=cpart)


def fold_in_many(p: FoldIn, items: ItemSide, histories: list[History]) -> np.ndarray:
    """``(B, F)`` :func:`fold_in` for each history."""
    if not histories:
        return np.empty((0, p.dim), np.float32)
    return np.stack([fold_in(p, items, h) for h in histories])


# ================================================================================ from a trained model (torch)
def export_kgrec(model: Any, graph: Any) -> tuple[FoldIn, ItemSide, np.ndarray]:
    """``(FoldIn, ItemSide, user egos (|U|, F))`` of a trained :class:`~kgrec_neo4j.model.gnn.KGRecGNN` on ``graph``
    (the :class:`~kgrec_neo4j.model.data.TrainGraph` it was built from)."""
    import torch
    import torch.nn.functional as F

    model.eval()
    with torch.no_grad():
        n_u, n_i, d = model.num_users, model.num_items, model.embedding_dim
        x0 = torch.cat([model.user_emb.weight, model.item_emb.weight])  # (|U|+|I|, F)
        layers = [x0[n_u:]]
        h = x0
        for _ in range(max(model.num_ui_layers - 1, 0)):
            h = model._mm("a_pos", h)
            layers.append(h[n_u:])
        x1 = model.stage1()
        concepts = model.concept_emb.weight[: model.num_concepts]
        pos = graph.ui_sign >= 0 if model.use_negative else np.ones(graph.ui_sign.size, bool)
        pairs = np.unique(graph.ui_user[pos] * n_i + graph.ui_item[pos])
        degree = np.bincount(pairs % n_i, minlength=n_i).astype(np.int64)
        mix = None
        transforms: dict[int, np.ndarray] = {}
        if model.use_concepts and model.num_concepts and any(model._interest_mats):
            mix = (torch.softmax(model.stage_mix, 0) * 3).cpu().numpy()
            transforms = {g: lin.weight.detach().cpu().numpy()
                          for g, (name, lin) in enumerate(zip(model._interest_mats, model.interest_transforms)) if name}
        value = (F.softplus(model.rel_weight) * torch.tanh(model.rel_gate)).cpu().numpy()
        relations = {r.name: {"att_src": model.att_src[k].cpu().numpy(), "att_dst": model.att_dst[k].cpu().numpy(),
                              "value": float(value[k])}
                     for k, r in enumerate(model.relations) if r.dst_kind == "user"}
        recent = model.recency_decay is not None and model.use_stage1
        p = FoldIn(dim=d, ui_layers=model.num_ui_layers, stage1=model.use_stage1,
                   neg_gate=model.neg_gate.cpu().numpy() if model.has_negative else None, mix=mix,
                   interest_transforms=transforms, relations=relations, negative_slope=model.negative_slope,
                   recency_decay=model.recency_decay if recent else None,
                   recency_scale=float(F.softplus(model.recency_gate)) if recent else 0.0)
        side = ItemSide(layers=np.stack([t.cpu().numpy() for t in layers]).astype(np.float32), degree=degree,
                        x1=x1[n_u: n_u + n_i].cpu().numpy().astype(np.float32),
                        concepts=concepts.cpu().numpy().astype(np.float32))
        return p, side, model.user_emb.weight.cpu().numpy().astype(np.float32)


def export_lightgcn(model: Any, graph: Any) -> tuple[FoldIn, ItemSide, np.ndarray]:
    """The same for :class:`~kgrec_neo4j.model.baselines.LightGCNRec` (every interaction a positive edge)."""
    import torch

    model.eval()
    with torch.no_grad():
        n_u, n_i = model.num_users, model.num_items
        w = model.model.embedding.weight
        layers = [w[n_u:]]
        h = w
        for _ in range(model.model.num_layers - 1):
            h = torch.sparse.mm(model.adj, h)
            layers.append(h[n_u:])
        pairs = np.unique(graph.ui_user * n_i + graph.ui_item)
        degree = np.bincount(pairs % n_i, minlength=n_i).astype(np.int64)
        p = FoldIn.for_lightgcn(int(w.shape[1]), model.model.num_layers)
        side = ItemSide(layers=np.stack([t.cpu().numpy() for t in layers]).astype(np.float32), degree=degree,
                        x1=np.zeros((n_i, 0), np.float32), concepts=np.zeros((0, int(w.shape[1])), np.float32))
        return p, side, w[:n_u].cpu().numpy().astype(np.float32)


def train_histories(graph: Any, users: np.ndarray | None = None, *, extra: dict[int, list[int]] | None = None,
                    use_negative: bool = True, with_interests: bool = True,
                    ego: np.ndarray | None = None, recency_decay: float | None = None) -> list[History]:
    """The :class:`History` of each user of ``graph`` (all users, or ``users``) from its train edges, as the model
    saw them; ``extra`` adds items per user as positive interactions (the held-out valid item, for the protocol
    "history up to the target"), as the user's latest ones. With ``recency_decay`` each history carries its
    positive items' recency weights (:attr:`History.positive_recency`)."""
    n_i = graph.num_items
    idx = np.arange(graph.num_users) if users is None else np.asarray(users, np.int64)
    order = np.argsort(graph.ui_user, kind="stable")
    bounds = np.searchsorted(graph.ui_user[order], np.arange(graph.num_users + 1))
    uc_order = np.argsort(graph.uc_user, kind="stable")
    uc_bounds = np.searchsorted(graph.uc_user[uc_order], np.arange(graph.num_users + 1))
    rec = None if recency_decay is None else graph.recency_weights(recency_decay)
    out = []
    for u in idx.tolist():
        rows = order[bounds[u]: bounds[u + 1]]
        items, signs = graph.ui_item[rows], graph.ui_sign[rows]
        pos_mask = signs >= 0 if use_negative else np.ones(signs.size, bool)
        pos = np.unique(items[pos_mask])
        if extra and u in extra:
            pos = np.union1d(pos, np.asarray(extra[u], np.int64))
        neg_items, neg_count = (np.unique(items[signs < 0], return_counts=True) if use_negative
                                else (np.empty(0, np.int64), np.empty(0, np.int64)))
        h = History(positive=pos.astype(np.int64), negative=neg_items.astype(np.int64),
                    negative_count=neg_count.astype(np.float32), ego=None if ego is None else ego[u])
        if rec is not None and recency_decay is not None:
            r = np.zeros(n_i, np.float32)
            np.maximum.at(r, items[pos_mask], rec[rows][pos_mask])
            new = np.asarray((extra or {}).get(u, []), np.int64)
            if new.size:  # the extra items come after the train ones: one step back each for the others
                r *= np.float32(recency_decay) ** new.size
                r[new] = np.float32(recency_decay) ** np.arange(new.size - 1, -1, -1, dtype=np.float32)
            h.positive_recency = r[h.positive]
        if with_interests:
            r = uc_order[uc_bounds[u]: uc_bounds[u + 1]]
            h.concepts = graph.uc_concept[r].astype(np.int64)
            h.groups = (graph.uc_horizon[r] + 2 * (graph.uc_polarity[r] < 0)).astype(np.int64)
            h.weights = graph.uc_weight[r].astype(np.float32)
        assert n_i > 0
        out.append(h)
    return out


def export_mf(model: Any, graph: Any) -> tuple[FoldIn, ItemSide, np.ndarray]:
    """Matrix factorisation: a user is its own embedding (a user it did not train folds in to zero)."""
    import torch

    with torch.no_grad():
        users, items = (t.cpu().numpy().astype(np.float32) for t in model())
    n_i, d = items.shape
    side = ItemSide(layers=np.zeros((0, n_i, d), np.float32), degree=np.zeros(n_i, np.int64),
                    x1=np.zeros((n_i, 0), np.float32), concepts=np.zeros((0, d), np.float32))
    return FoldIn(dim=d, ui_layers=0), side, users


def export_model(model: Any, graph: Any) -> tuple[FoldIn, ItemSide, np.ndarray] | None:
    """:func:`export_kgrec`, :func:`export_lightgcn` or :func:`export_mf` by the model's class; ``None`` for
    models without embeddings."""
    name = type(model).__name__
    fn = {"KGRecGNN": export_kgrec, "LightGCNRec": export_lightgcn, "MFBPR": export_mf}.get(name)
    return fn(model, graph) if fn else None
