"""Training objectives: BPR on triples, a signed graph-structure loss and a concept-centre loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def bpr_loss(pos_scores: Tensor, neg_scores: Tensor) -> Tensor:
    r"""Bayesian personalised ranking on (user, positive item, negative item) triples.

    :math:`-\frac{1}{B}\sum \log \sigma(s^+ - s^-)`.

    Shapes: ``pos_scores (B,)``, ``neg_scores (B,)`` or ``(B, K)`` (K negatives per positive) -> scalar.
    """
    if neg_scores.dim() == 2:
        pos_scores = pos_scores.unsqueeze(1)
    return -F.logsigmoid(pos_scores - neg_scores).mean()


def signed_edge_loss(src: Tensor, dst: Tensor, sign: Tensor, *, pos_margin: float = 0.5,
                     neg_margin: float = 0.0, scale: float = 5.0) -> Tensor:
    r"""Pull the ends of positive edges together, push the ends of negative (dislike) edges apart.

    With :math:`c = \cos(h_s, h_t)`: positive edges cost :math:`\mathrm{softplus}(\gamma(m^+ - c))`,
    negative edges :math:`\mathrm{softplus}(\gamma(c - m^-))`; edges with sign 0 cost nothing.

    Shapes: ``src (E, F)``, ``dst (E, F)``, ``sign (E,)`` in {-1, 0, +1} -> scalar (mean over signed edges).
    """
    if src.shape != dst.shape:
        raise ValueError(f"src and dst must have the same shape (got {tuple(src.shape)} and {tuple(dst.shape)})")
    if sign.shape[0] != src.shape[0]:
        raise ValueError(f"sign must have one entry per edge (got {sign.shape[0]} for {src.shape[0]} edges)")
    cos = F.cosine_similarity(src, dst, dim=-1)
    pos = F.softplus(scale * (pos_margin - cos))
    neg = F.softplus(scale * (cos - neg_margin))
    loss = torch.where(sign > 0, pos, torch.where(sign < 0, neg, torch.zeros_like(cos)))
    n = (sign != 0).sum().clamp_min(1)
    return loss.sum() / n


def concept_centre_loss(concept_emb: Tensor, member_emb: Tensor, concept_index: Tensor,
                        weight: Tensor | None = None) -> Tensor:
    r"""Keep each concept near the (weighted) mean of its connected users and items.

    For edges ``(concept_index[e], member e)``: :math:`\mu_c = \sum_e w_e h_e / \sum_e w_e` over the edges
    of concept ``c``; the loss is the mean over the concepts present of :math:`\|z_c - \mu_c\|^2`.

    Shapes: ``concept_emb (|C|, F)``, ``member_emb (E, F)`` (one row per edge), ``concept_index (E,)``,
    ``weight (E,)`` -> scalar.
    """
    if member_emb.shape[0] != concept_index.shape[0]:
        raise ValueError(f"member_emb rows (got {member_emb.shape[0]}) must match concept_index "
                         f"(got {concept_index.shape[0]})")
    if concept_index.numel() == 0:
        return concept_emb.sum() * 0.0
    w = torch.ones_like(concept_index, dtype=member_emb.dtype) if weight is None else weight.to(member_emb.dtype)
    n_c = concept_emb.shape[0]
    total = torch.zeros(n_c, member_emb.shape[1], dtype=member_emb.dtype,
                        device=member_emb.device).index_add_(0, concept_index, member_emb * w.unsqueeze(1))
    mass = torch.zeros(n_c, dtype=member_emb.dtype, device=member_emb.device).index_add_(0, concept_index, w)
    present = mass > 0
    centre = total[present] / mass[present].unsqueeze(1)
    return (concept_emb[present] - centre).pow(2).sum(-1).mean()


def l2_reg(*tensors: Tensor) -> Tensor:
    """Mean over rows of the squared L2 norm, summed over ``tensors`` (batch embedding regulariser)."""
    if not tensors:
        raise ValueError("l2_reg needs at least one tensor")
    terms = [t.pow(2).sum() / max(t.shape[0], 1) for t in tensors]
    return sum(terms[1:], terms[0])
