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

**Items** fold in the same way (:func:`fold_in_item`, used by ``kgrec update`` for items added after the run)::

    stage 1    ui_i   = mean over layers k = 0..L of h_i^k         h_i^0 = e_i (0 for an item the run never saw)
                        h_i^k = sum_{u in N+(i)} h_u^(k-1) / sqrt(d_i d_u)
                        + neg_gate * mean over the item's dislikes of e_u
               x1_i   = mix_0 * ui_i + mix_1 * sum_t T_t(weighted mean of the item's concepts of type t)
    stage 2    z_i    = x1_i + sum_{edges s -> i} a_e * x1_s     (likes, dislikes from users; rev_has_knowledge:<t>)

A user's ``h_u^k`` and ``x1_u`` come from the user's own history (:func:`user_features`). With the train edges, an
item's fold-in equals its trained vector (tests/test_foldin.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
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


def valid_interest(horizon: Any, polarity: Any, weight: Any) -> bool:
    """Whether an ``INTERESTED_IN`` edge's values are ones the pipeline writes (docs/user-side.md): horizon ``long``
    or ``short``, polarity +1 or -1, a weight in (0, 1]. An edge edited by hand outside them is left out of a score
    (a weight of -3 made a user's weighted concept mean divide by almost nothing: scores of 1e12); `kgrec doctor`
    names such edges (cypher/status/bad_values.cypher)."""
    return (horizon in ("long", "short") and isinstance(polarity, int | float) and not isinstance(polarity, bool)
            and polarity in (1, -1) and isinstance(weight, int | float) and not isinstance(weight, bool)
            and 0.0 < float(weight) <= 1.0)


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
        type_names: the knowledge types, in the order of the model's type index.
        type_transforms: type index -> ``(F, F)`` weight ``W`` of the item <- concepts transform of that type.
        item_mix: ``(3,)`` the stage mix when the item side mixes concepts in (``None``: it does not).
        item_relations: like ``relations``, for the relations that end at an item (``likes``, ``dislikes``,
            ``rev_has_knowledge:<type>``).
        raw: every trained parameter of the model that the fields above do not hold as they are (the stage mix
            before its softmax; per relation ``att_src``, ``att_dst``, ``weight``, ``gate`` before softplus / tanh),
            for a warm start (``kgrec train --warm-start``); ``None`` for runs written before it was stored.
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
    type_names: list[str] = field(default_factory=list)
    type_transforms: dict[int, np.ndarray] = field(default_factory=dict)
    item_mix: np.ndarray | None = None
    item_relations: dict[str, dict[str, Any]] = field(default_factory=dict)
    raw: dict[str, Any] | None = None
    recency_decay: float | None = None
    recency_scale: float = 0.0

    # ------------------------------------------------------------------------------------------ storage
    def to_json(self) -> str:
        def arr(a: np.ndarray | None) -> list | None:
            return None if a is None else np.asarray(a, np.float64).round(8).tolist()

        def rels(rs: dict[str, dict[str, Any]]) -> dict[str, Any]:
            return {name: {"att_src": arr(r["att_src"]), "att_dst": arr(r["att_dst"]), "value": float(r["value"])}
                    for name, r in rs.items()}

        raw = None
        if self.raw is not None:
            raw = {"stage_mix": arr(self.raw.get("stage_mix")), "recency_gate": self.raw.get("recency_gate"),
                   "relations": {name: {k: arr(v) if k.startswith("att") else float(v) for k, v in r.items()}
                                 for name, r in (self.raw.get("relations") or {}).items()}}
        return json.dumps({
            "dim": self.dim, "ui_layers": self.ui_layers, "stage1": self.stage1,
            "neg_gate": arr(self.neg_gate), "mix": arr(self.mix),
            "interest_transforms": {str(g): arr(w) for g, w in self.interest_transforms.items()},
            "relations": rels(self.relations),
            "negative_slope": self.negative_slope,
            "type_names": list(self.type_names),
            "type_transforms": {str(t): arr(w) for t, w in self.type_transforms.items()},
            "item_mix": arr(self.item_mix), "item_relations": rels(self.item_relations), "raw": raw,
            "recency_decay": self.recency_decay, "recency_scale": self.recency_scale,
        })

    @classmethod
    def from_json(cls, text: str) -> FoldIn:
        d = json.loads(text)

        def arr(a: Any) -> np.ndarray | None:
            return None if a is None else np.asarray(a, np.float32)

        def rels(rs: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
            return {name: {"att_src": np.asarray(r["att_src"], np.float32),
                           "att_dst": np.asarray(r["att_dst"], np.float32), "value": float(r["value"])}
                    for name, r in (rs or {}).items()}

        raw = d.get("raw")
        if raw is not None:
            raw = {"stage_mix": arr(raw.get("stage_mix")), "recency_gate": raw.get("recency_gate"),
                   "relations": {name: {k: arr(v) if k.startswith("att") else float(v) for k, v in r.items()}
                                 for name, r in (raw.get("relations") or {}).items()}}
        return cls(dim=int(d["dim"]), ui_layers=int(d["ui_layers"]), stage1=bool(d.get("stage1", True)),
                   neg_gate=arr(d.get("neg_gate")), mix=arr(d.get("mix")),
                   interest_transforms={int(g): np.asarray(w, np.float32)
                                        for g, w in (d.get("interest_transforms") or {}).items()},
                   relations=rels(d.get("relations")),
                   negative_slope=float(d.get("negative_slope", 0.2)),
                   type_names=[str(t) for t in d.get("type_names") or []],
                   type_transforms={int(t): np.asarray(w, np.float32)
                                    for t, w in (d.get("type_transforms") or {}).items()},
                   item_mix=arr(d.get("item_mix")), item_relations=rels(d.get("item_relations")), raw=raw,
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


def split_foldin(p: FoldIn, fold: np.ndarray, run: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Stored ``gnn_foldin`` rows ``(n, (L + 1) F)`` as the item layers ``(L, n, F)`` and stage-1 outputs ``(n, F)``
    (``(n, 0)`` for a model without stage-1 outputs, e.g. LightGCN).

    Raises:
        ModelError: the rows do not match the parameters (another dimension or number of layers).
    """
    from ..core.errors import ModelError

    fold = np.asarray(fold, dtype=np.float32)
    if fold.ndim != 2:  # (no row at all: numpy cannot infer a width from zero values)
        fold = fold.reshape(len(fold), -1) if fold.size else np.zeros((len(fold), (p.ui_layers + 1) * p.dim),
                                                                       np.float32)
    dim = p.dim
    blocks = fold.shape[1] // dim if dim else 0
    if fold.shape[1] != blocks * dim or blocks not in (p.ui_layers, p.ui_layers + 1):
        raise ModelError(f"fold-in data of run {run!r} do not match its parameters (dimension {p.dim}, "
                         f"{p.ui_layers} layers; got {fold.shape[1]} values per item); train again.")
    fold = fold.reshape(len(fold), blocks, dim)
    layers = np.ascontiguousarray(fold[:, : p.ui_layers].transpose(1, 0, 2))
    x1 = fold[:, p.ui_layers] if blocks > p.ui_layers else np.zeros((len(fold), 0), np.float32)
    return layers, np.ascontiguousarray(x1)


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


def row_recency(history: Sequence[Sequence[Any]], decay: float, *, positive_only: bool = False) -> np.ndarray:
    """Per stored history row (one item; element 5 lists ``[seq, non-negative]`` of each interaction with it), the
    recency weight ``decay ** steps back`` of its latest interaction, as training weighs a history
    (:func:`~kgrec_neo4j.model.recency.history_weights`): steps back are counted over every interaction of the user
    by ``seq``, an interaction without ``seq`` (written by hand) is the latest. ``positive_only``: the latest
    non-negative interaction (0 for a row with none), as the GNN user side weighs its positive items."""
    from .recency import check_decay, steps_back

    decay = check_decay(decay)
    owner, seqs, ok = [], [], []
    for r, row in enumerate(history):
        for seq, nonneg in (row[5] if len(row) > 5 and row[5] else []):
            owner.append(r)
            seqs.append(seq)
            ok.append(bool(nonneg))
    known = [s for s in seqs if s is not None]
    latest = max(known) + 1 if known else 0
    back = steps_back(np.asarray([latest if s is None else s for s in seqs], np.int64)).astype(np.float64)
    own, keep = np.asarray(owner, np.int64), np.asarray(ok, bool) if positive_only else np.ones(len(ok), bool)
    out = np.zeros(len(history))
    np.maximum.at(out, own[keep], np.power(decay, back[keep]))
    return out.astype(np.float32)


def history_from_rows(history: Sequence[Sequence[Any]], interests: Iterable[Sequence[Any]],
                      item_index: Mapping[str, int], concept_index: Mapping[str, int], ego: Any = None,
                      recency_decay: float | None = None) -> tuple[History, np.ndarray, np.ndarray, int]:
    """A user's :class:`History` from stored rows: ``history`` rows start ``(item id, has a non-negative
    interaction, number of dislikes)`` (then last seq, last timestamp and the interactions' ``[seq,
    non-negative]``, see :func:`row_recency`), ``interests`` rows are ``(concept id, horizon, polarity, weight)``;
    items and concepts missing from the indices are left out. With ``recency_decay`` (the run's GNN user-side
    decay) the positive items carry their recency weights.

    Returns:
        the history, the index of every known item (one per row), the rows' non-negative mask, and how many rows
        named an unknown item.
    """
    items, nonneg, dislikes, rows = [], [], [], []
    unknown = 0
    for r, row in enumerate(history):
        k = item_index.get(row[0])
        if k is None:
            unknown += 1
            continue
        items.append(k)
        nonneg.append(bool(row[1]))
        dislikes.append(int(row[2] or 0))
        rows.append(r)
    idx = np.asarray(items, np.int64)
    nn_mask = np.asarray(nonneg, bool)
    dis = np.asarray(dislikes, np.float32)
    concepts, groups, weights = [], [], []
    for cid, horizon, polarity, weight in interests:
        c = concept_index.get(cid)
        if c is not None and valid_interest(horizon, polarity, weight):
            concepts.append(c)
            groups.append(group_index(horizon, polarity))
            weights.append(float(weight))
    h = History(positive=np.unique(idx[nn_mask]) if idx.size else idx, negative=idx[dis > 0],
                negative_count=dis[dis > 0], concepts=np.asarray(concepts, np.int64),
                groups=np.asarray(groups, np.int64), weights=np.asarray(weights, np.float32),
                ego=None if ego is None else np.asarray(ego, np.float32))
    if recency_decay is not None and h.positive.size:
        w = row_recency(history, recency_decay, positive_only=True)[rows]
        by_item: dict[int, float] = {}
        for k, wk in zip(idx.tolist(), w.tolist(), strict=True):
            by_item[k] = max(by_item.get(k, 0.0), wk)
        h.positive_recency = np.asarray([by_item[k] for k in h.positive.tolist()], np.float32)
    return h, idx, nn_mask, unknown


def _concept_part(transforms: dict[int, np.ndarray], keys: np.ndarray, weights: np.ndarray, rows: np.ndarray,
                  concepts: np.ndarray, dim: int) -> np.ndarray:
    """Sum over the transforms' keys of ``W_key`` applied to the weighted mean of the concept vectors with that key."""
    out = np.zeros(dim, np.float32)
    for key, wmat in transforms.items():
        m = keys == key
        if not m.any():
            continue
        wts = weights[m].astype(np.float32)
        mean = (wts @ concepts[rows[m]]) / max(float(wts.sum()), 1e-12)
        out += mean @ wmat.T
    return out


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
    user_k = _concept_part(p.interest_transforms, h.groups, h.weights, h.concepts, items.concepts, p.dim)
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


def _attend(x1: np.ndarray, edges: list[tuple[str, np.ndarray]], relations: dict[str, dict[str, Any]],
            slope: float) -> np.ndarray:
    """Stage 2 for one node: ``x1 + sum_e a_e * x1_s`` over its incoming ``edges`` (relation name, source vectors)."""
    if not edges:
        return x1
    logits, values, srcs = [], [], []
    for name, xs in edges:
        r = relations[name]
        logits.append(_leaky(xs @ r["att_src"] + float(x1 @ r["att_dst"]), slope))
        values.append(np.full(xs.shape[0], r["value"], np.float32))
        srcs.append(xs)
    logit = np.concatenate(logits)
    alpha = np.exp(logit - logit.max())
    alpha /= alpha.sum() + 1e-16  # torch_geometric's softmax adds 1e-16 to the denominator too
    val = (alpha * np.concatenate(values)).astype(np.float32)
    return (x1 + val @ np.concatenate(srcs)).astype(np.float32)


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



# ================================================================================ items
@dataclass
class UserFeatures:
    """What an item's fold-in reads of one user: ``layers (L, F)`` the user's LightGCN features ``h_u^0 ..
    h_u^(L-1)``, ``degree`` the number of the user's positive items, ``x1 (F,)`` the user's stage-1 vector."""

    layers: np.ndarray
    degree: int
    x1: np.ndarray


def user_features(p: FoldIn, items: ItemSide, h: History) -> UserFeatures:
    """A user's :class:`UserFeatures` from the user's history (``h_u^0 = e_u``, 0 for a user the run never saw)."""
    e_u = h.ego if h.ego is not None else np.zeros(p.dim, np.float32)
    layers = [e_u.astype(np.float32)]
    pos = h.positive
    w = items.dinv[pos] / np.sqrt(pos.size) if pos.size else None
    for k in range(1, p.ui_layers):
        layers.append((w @ items.layers[k - 1][pos]).astype(np.float32) if w is not None
                      else np.zeros(p.dim, np.float32))
    return UserFeatures(layers=np.stack(layers) if layers else np.zeros((0, p.dim), np.float32),
                        degree=int(pos.size), x1=stage1_user(p, items, h))


@dataclass
class ItemHistory:
    """One item's edges for its fold-in.

    Attributes:
        concepts, types, weights: ``HAS_KNOWLEDGE`` edges (index into ``ItemSide.concepts``, type index into
            ``FoldIn.type_names``, confidence).
        positive: :class:`UserFeatures` of the users with a non-negative interaction (each once).
        negative: :class:`UserFeatures` of the users who disliked it, and ``negative_count`` how many dislikes each.
        ego: the item's own trained embedding ``e_i``, or ``None`` (an item the run never saw).
    """

    concepts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    types: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    weights: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32))
    positive: list[UserFeatures] = field(default_factory=list)
    negative: list[UserFeatures] = field(default_factory=list)
    negative_count: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32))
    ego: np.ndarray | None = None


def stage1_item(p: FoldIn, items: ItemSide, h: ItemHistory) -> tuple[np.ndarray, np.ndarray]:
    """The item's LightGCN features ``h_i^0 .. h_i^(L-1)`` ``(L, F)`` and its stage-1 vector ``x1_i`` ``(F,)``."""
    e_i = (h.ego if h.ego is not None else np.zeros(p.dim, np.float32)).astype(np.float32)
    layers = [e_i]
    acc = e_i.copy()
    if p.ui_layers and h.positive:
        w = (1.0 / np.sqrt(len(h.positive))) / np.sqrt(np.maximum([u.degree for u in h.positive], 1.0))
        for k in range(p.ui_layers):  # h_i^(k+1) = sum_u h_u^k / sqrt(d_i d_u)
            hk = (w.astype(np.float32) @ np.stack([u.layers[k] for u in h.positive])).astype(np.float32)
            acc += hk
            if k + 1 < p.ui_layers:
                layers.append(hk)
    layers += [np.zeros(p.dim, np.float32)] * (p.ui_layers - len(layers))
    out_layers = np.stack(layers[: p.ui_layers]) if p.ui_layers else np.zeros((0, p.dim), np.float32)
    if not p.stage1:
        return out_layers, e_i
    ui = acc / (p.ui_layers + 1)
    if p.neg_gate is not None and h.negative:
        c = h.negative_count.astype(np.float32)
        ui = ui + p.neg_gate * (c @ np.stack([u.layers[0] for u in h.negative])) / max(float(c.sum()), 1e-12)
    if p.item_mix is None:
        return out_layers, ui.astype(np.float32)
    item_k = _concept_part(p.type_transforms, h.types, h.weights, h.concepts, items.concepts, p.dim)
    return out_layers, (p.item_mix[0] * ui + p.item_mix[1] * item_k).astype(np.float32)


def fold_in_item(p: FoldIn, items: ItemSide, h: ItemHistory) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An item's ``(z_i (F,), layers (L, F), x1_i (F,))``: its final vector, and what a user's fold-in reads of it
    (see the module docstring)."""
    layers, x1 = stage1_item(p, items, h)
    edges: list[tuple[str, np.ndarray]] = []
    if "likes" in p.item_relations and h.positive:
        edges.append(("likes", np.stack([u.x1 for u in h.positive])))
    if "dislikes" in p.item_relations and h.negative:
        edges.append(("dislikes", np.stack([u.x1 for u in h.negative])))
    for t, name in enumerate(p.type_names):
        rel = f"rev_has_knowledge:{name}"
        m = h.types == t
        if rel in p.item_relations and m.any():
            edges.append((rel, items.concepts[np.unique(h.concepts[m])]))
    return _attend(x1, edges, p.item_relations, p.negative_slope), layers, x1


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
        item_mix = None
        type_transforms: dict[int, np.ndarray] = {}
        if model.use_concepts and model.num_concepts and any(model._type_mats):
            item_mix = (torch.softmax(model.stage_mix, 0) * 3).cpu().numpy()
            type_transforms = {t: lin.weight.detach().cpu().numpy()
                               for t, (name, lin) in enumerate(zip(model._type_mats, model.type_transforms)) if name}
        value = (F.softplus(model.rel_weight) * torch.tanh(model.rel_gate)).cpu().numpy()

        def ending_at(kind: str) -> dict[str, dict[str, Any]]:
            return {r.name: {"att_src": model.att_src[k].cpu().numpy(), "att_dst": model.att_dst[k].cpu().numpy(),
                             "value": float(value[k])}
                    for k, r in enumerate(model.relations) if r.dst_kind == kind}

        recent = model.recency_decay is not None and model.use_stage1
        raw = {"stage_mix": model.stage_mix.detach().cpu().numpy(),
               "recency_gate": float(model.recency_gate) if recent else None,
               "relations": {r.name: {"att_src": model.att_src[k].cpu().numpy(),
                                      "att_dst": model.att_dst[k].cpu().numpy(),
                                      "weight": float(model.rel_weight[k]), "gate": float(model.rel_gate[k])}
                             for k, r in enumerate(model.relations)}}
        p = FoldIn(dim=d, ui_layers=model.num_ui_layers, stage1=model.use_stage1,
                   neg_gate=model.neg_gate.cpu().numpy() if model.has_negative else None, mix=mix,
                   interest_transforms=transforms, relations=ending_at("user"), negative_slope=model.negative_slope,
                   type_names=list(graph.type_names), type_transforms=type_transforms, item_mix=item_mix,
                   item_relations=ending_at("item"), raw=raw,
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
        p.type_names = list(graph.type_names)  # an item folds in from its first users only
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


def train_item_histories(p: FoldIn, side: ItemSide, graph: Any, users: list[History],
                         items: np.ndarray | None = None, *, use_negative: bool = True,
                         with_concepts: bool = True) -> list[ItemHistory]:
    """The :class:`ItemHistory` of each item of ``graph`` (all, or ``items``) from its train edges, as the model saw
    them; ``users`` are every user's histories (:func:`train_histories`), whose features the items read."""
    idx = np.arange(graph.num_items) if items is None else np.asarray(items, np.int64)
    feats: dict[int, UserFeatures] = {}

    def feat(u: int) -> UserFeatures:
        if u not in feats:
            feats[u] = user_features(p, side, users[u])
        return feats[u]

    out = []
    for i in idx.tolist():
        m = graph.ui_item == i
        us, signs = graph.ui_user[m], graph.ui_sign[m]
        pos_mask = signs >= 0 if use_negative else np.ones(signs.size, bool)
        neg_users, neg_count = (np.unique(us[signs < 0], return_counts=True) if use_negative
                                else (np.empty(0, np.int64), np.empty(0, np.int64)))
        h = ItemHistory(positive=[feat(u) for u in np.unique(us[pos_mask]).tolist()],
                        negative=[feat(u) for u in neg_users.tolist()], negative_count=neg_count.astype(np.float32),
                        ego=side.layers[0][i] if side.layers.shape[0] else None)
        if with_concepts:
            c = graph.ic_item == i
            h.concepts, h.types = graph.ic_concept[c].astype(np.int64), graph.ic_type[c].astype(np.int64)
            h.weights = graph.ic_weight[c].astype(np.float32)
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
