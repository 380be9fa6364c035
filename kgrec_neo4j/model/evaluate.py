"""Full-ranking evaluation: every item scored, the user's train items masked to ``-inf``, then top-K."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from .data import TrainGraph

ScoreFn = Callable[[Tensor], Tensor]  # user indices (B,) -> scores (B, |I|)


def ranking_metrics(topk: np.ndarray, targets: list[list[int]], ks: tuple[int, ...] = (10, 20)) -> dict[str, float]:
    """Sums of Recall@K and NDCG@K over users.

    Args:
        topk: ``(B, max(ks))`` ranked item indices per user.
        targets: held-out items per user (non-empty lists).

    Returns:
        ``{"recall@K": sum, "ndcg@K": sum}`` (divide by the user count for means).
    """
    out = {f"{m}@{k}": 0.0 for k in ks for m in ("recall", "ndcg")}
    disc = 1.0 / np.log2(np.arange(2, max(ks) + 2))
    for row, tgt in zip(topk, targets):
        tset = set(tgt)
        hits = np.fromiter((i in tset for i in row), bool, count=len(row))
        for k in ks:
            h = hits[:k]
            out[f"recall@{k}"] += h.sum() / len(tset)
            idcg = disc[: min(len(tset), k)].sum()
            out[f"ndcg@{k}"] += float((disc[:k] * h).sum() / idcg)
    return out


@torch.no_grad()
def evaluate(score_fn: ScoreFn, graph: TrainGraph, split: str = "valid", *, ks: tuple[int, ...] = (10, 20),
             batch_size: int = 1024, device: str | torch.device = "cpu",
             users: np.ndarray | None = None) -> dict[str, float]:
    """Recall@K and NDCG@K (means over users with held-out items) for one split.

    Args:
        score_fn: maps user indices ``(B,)`` to scores ``(B, |I|)`` (tensor or numpy).
        split: ``"valid"`` or ``"test"``.
        batch_size: users per scoring batch (bounds memory at ``batch_size * |I|`` floats).
        users: optional subset of user indices to evaluate.

    Returns:
        ``{"recall@10": ..., "ndcg@10": ..., ..., "users": n}``.
    """
    return evaluate_mixtures([score_fn], [[1.0]], graph, split, ks=ks, batch_size=batch_size, device=device,
                             users=users)[0]


@torch.no_grad()
def evaluate_mixtures(score_fns: list[ScoreFn], mixtures: list[list[float]], graph: TrainGraph,
                      split: str = "valid", *, ks: tuple[int, ...] = (10, 20), batch_size: int = 1024,
                      device: str | torch.device = "cpu", users: np.ndarray | None = None) -> list[dict[str, float]]:
    """:func:`evaluate` of ``sum_k m[k] * score_fns[k]`` for every mixture ``m`` of ``mixtures``, each scorer
    called once per batch (a weight grid, or a model and each of its parts, for the price of one scoring).
    A scorer with weight 0 in a mixture does not take part in it (its scores may be anything)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1 (got {batch_size})")
    if any(k < 1 or k > graph.num_items for k in ks):
        raise ValueError(f"every K must be in [1, {graph.num_items}] (got {ks})")
    if not score_fns or not mixtures or any(len(m) != len(score_fns) or not any(m) for m in mixtures):
        raise ValueError(f"every mixture needs one weight per scorer, not all 0 ({len(score_fns)} scorers, "
                         f"mixtures {mixtures})")
    held = graph.heldout(split)
    eval_users = np.array(sorted(u for u, it in held.items() if it), np.int64)
    if users is not None:
        eval_users = np.intersect1d(eval_users, np.asarray(users, np.int64))
    seen = graph.train_matrix(binary=True).tocsr()
    # several datasets in one export: a user is ranked against items of their own dataset only, as serving does
    u_ds, i_ds = graph.meta.get("user_dataset"), graph.meta.get("item_dataset")
    i_code = torch.from_numpy(np.asarray(i_ds, np.int64)) if u_ds is not None and i_ds is not None else None
    totals = [{f"{m}@{k}": 0.0 for k in ks for m in ("recall", "ndcg")} for _ in mixtures]
    kmax = max(ks)
    needed = [any(m[k] for m in mixtures) for k in range(len(score_fns))]
    for a in range(0, eval_users.size, batch_size):
        ub = eval_users[a: a + batch_size]
        u = torch.from_numpy(ub).to(device)
        scored = [_tensor(fn(u)) if need else None for fn, need in zip(score_fns, needed)]
        sub = seen[ub]
        rows = torch.from_numpy(np.repeat(np.arange(ub.size), np.diff(sub.indptr)))
        cols = torch.from_numpy(sub.indices.astype(np.int64))
        targets = [held[int(x)] for x in ub]
        for mix, tot in zip(mixtures, totals):
            scores: Tensor | None = None
            for w, s in zip(mix, scored):
                if w and s is not None:
                    s = s.float()
                    term = s * w if w != 1.0 else s
                    if scores is None:
                        scores = term.clone() if term is s else term  # masked in place below: never a scorer's own
                    else:
                        scores = scores + term.to(scores.device)
            assert scores is not None  # checked above: some scorer has a weight
            scores[rows.to(scores.device), cols.to(scores.device)] = -math.inf
            if i_code is not None:
                mine = torch.from_numpy(np.asarray(u_ds, np.int64)[ub])[:, None]
                other = (i_code[None, :] != mine) & (i_code[None, :] >= 0) & (mine >= 0)
                scores[other.to(scores.device)] = -math.inf
            topk = scores.topk(kmax, dim=1).indices.cpu().numpy()
            for key, v in ranking_metrics(topk, targets, ks).items():
                tot[key] += v
    n = max(eval_users.size, 1)
    out = []
    for tot in totals:
        res = {key: v / n for key, v in tot.items()}
        res["users"] = int(eval_users.size)
        out.append(res)
    return out


def _tensor(scores: Tensor | np.ndarray) -> Tensor:
    return torch.from_numpy(scores) if isinstance(scores, np.ndarray) else scores


def standardised(score_fn: ScoreFn) -> ScoreFn:
    """Per-user z-scores of ``score_fn`` (so differently scaled models can be mixed)."""

    def fn(users: Tensor) -> Tensor:
        s = score_fn(users)
        s = torch.from_numpy(s) if isinstance(s, np.ndarray) else s
        s = s.float()
        return (s - s.mean(1, keepdim=True)) / s.std(1, keepdim=True).clamp_min(1e-8)

    return fn


def mixed(score_fns: list[ScoreFn], weights: list[float]) -> ScoreFn:
    """``sum_k w_k * z_k(users)`` over standardised scorers ``(B, |I|)``."""
    if len(score_fns) != len(weights):
        raise ValueError(f"one weight per scorer (got {len(weights)} weights for {len(score_fns)} scorers)")
    if not score_fns:
        raise ValueError("mixed needs at least one scorer")
    zs = [standardised(f) for f in score_fns]

    def fn(users: Tensor) -> Tensor:
        terms = [w * z(users) for w, z in zip(weights, zs)]
        return sum(terms[1:], terms[0])

    return fn
