"""The two evaluation protocols, on the same split (last-two-out) and the same full ranking.

* **train-only** (``a``): a test user's history is the train split; the valid item is not seen (what
  :func:`~kgrec_neo4j.model.train.fit` reports).
* **history up to the target** (``b``): at test time the valid interaction is part of the user's history, as it is
  in serving, where every interaction counts. Two ways to get there:

  - *fold-in*: the model trained under (a), applied to the longer history without training: exact for the item
    graph, EASE and ItemKNN (``x_u W``), the model's own propagation for ours and LightGCN
    (:mod:`~kgrec_neo4j.model.foldin`), the counts for most-popular. MF has no fold-in of its own here: its
    user vector is a free parameter, so (b) for MF is the refit.
  - *refit*: the same model retrained on train + valid with the hyperparameters and number of epochs chosen on
    valid under (a) (nothing is selected on test), for reference.

Either way the valid item is masked out of the test ranking together with the train items.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from .data import TrainGraph

ScoreFn = Callable[[Any], Any]


log = logging.getLogger(__name__)

def with_valid_in_history(tg: TrainGraph) -> TrainGraph:
    """A copy of ``tg`` whose valid items are train interactions (after the user's train ones, each with the sign
    its edge has: ``meta["valid_sign"]``, read with the held-out items; +1 where the export kept none), with no valid
    split left; test is unchanged. Until 2026-12-04 every valid interaction was added as a like, 1-star ratings
    included (in a 150-user MovieLens graph 31 of 150 were dislikes and 37 neutral), where serving counts its sign."""
    users = np.array([u for u, items in tg.valid.items() for _ in items], np.int64)
    items = np.array([i for its in tg.valid.values() for i in its], np.int64)
    known = tg.meta.get("valid_sign")
    if known is None:
        known = {}
        if tg.valid:
            log.warning("the graph has no signs of its valid interactions (meta['valid_sign']): they join the history "
                        "as likes")
    bad = [u for u, its in tg.valid.items() if u in known and len(known[u]) != len(its)]
    if bad:
        raise ValueError(f"meta['valid_sign'] of user index {bad[0]} has {len(known[bad[0]])} signs for "
                         f"{len(tg.valid[bad[0]])} valid items")
    signs = np.array([s for u, its in tg.valid.items() for s in known.get(u, [1] * len(its))], np.int64)
    order = np.lexsort((np.r_[np.zeros(tg.ui_user.size), np.ones(users.size)], np.r_[tg.ui_user, users]))
    cat = lambda a, b: np.concatenate([a, b])[order]  # noqa: E731
    meta = dict(tg.meta)
    # the valid interaction is the user's latest: one seq after the user's last train one
    seq = np.asarray(tg.ui_seq, np.int64)
    last = np.full(tg.num_users, -1, np.int64)
    np.maximum.at(last, tg.ui_user, seq)
    ui_seq = cat(seq, last[users] + 1)
    if "ui_seq" in meta:
        meta["ui_seq"] = ui_seq
    meta["protocol"] = "history up to the target"
    return TrainGraph(
        user_ids=tg.user_ids, item_ids=tg.item_ids, concept_ids=tg.concept_ids, type_names=tg.type_names,
        ui_user=cat(tg.ui_user, users), ui_item=cat(tg.ui_item, items),
        ui_sign=cat(tg.ui_sign, signs),
        ui_weight=cat(tg.ui_weight, np.ones(users.size, np.float32)),
        ic_item=tg.ic_item, ic_concept=tg.ic_concept, ic_type=tg.ic_type, ic_weight=tg.ic_weight,
        uc_user=tg.uc_user, uc_concept=tg.uc_concept, uc_horizon=tg.uc_horizon, uc_polarity=tg.uc_polarity,
        uc_weight=tg.uc_weight, valid={}, test=dict(tg.test), meta=meta, ui_seq=ui_seq,
        item_text=tg.item_text)


def _rows(m: sp.csr_matrix, users: Any) -> sp.csr_matrix:
    return m[np.asarray(users.cpu() if hasattr(users, "cpu") else users, np.int64)]


def foldin_scorer(obj: Any, tg: TrainGraph, tg_b: TrainGraph) -> ScoreFn | None:
    """The score function of a model trained on ``tg`` applied to the histories of ``tg_b`` without training, or
    ``None`` when the model has no fold-in (MF: use the refit)."""
    import torch

    from .foldin import export_model, fold_in_many, train_histories
    from .itemgraph import signed_matrix

    name = type(obj).__name__
    if name == "MostPopular":
        pop = torch.from_numpy(np.bincount(tg_b.ui_item, minlength=tg_b.num_items).astype(np.float32))
        return lambda users: pop.unsqueeze(0).expand(len(users), -1)
    if name in ("EASE", "ItemKNN"):
        decay = float(getattr(obj, "decay", 1.0))  # recency-weighted EASE weighs the longer history the same way
        x = signed_matrix(tg_b, 1.0, decay) if decay < 1.0 else tg_b.train_matrix(binary=True).tocsr()
        w = obj.b.numpy() if name == "EASE" else obj.sim
        return lambda users: torch.from_numpy(np.asarray(_rows(x, users) @ w, dtype=np.float32)
                                              if name == "EASE" else (_rows(x, users) @ w).toarray().astype(np.float32))
    if name == "MFBPR":
        return None
    exported = export_model(obj, tg)
    if exported is None:
        return None
    p, side, ego = exported
    with torch.no_grad():
        items = (obj()[1]).cpu().numpy().astype(np.float32)
    lightgcn = name == "LightGCNRec"
    use_negative = not lightgcn and bool(getattr(obj, "use_negative", True))
    with_interests = not lightgcn and bool(getattr(obj, "use_concepts", True))
    ig = getattr(obj, "item_graph", None)
    ig_w = float(getattr(obj, "item_graph_weight", 0.0) or 0.0)
    ig_part = item_graph_foldin(ig, tg_b) if ig is not None and ig_w else None

    def score(users: Any) -> Any:
        u = np.asarray(users.cpu() if hasattr(users, "cpu") else users, np.int64)
        hs = train_histories(tg_b, u, use_negative=use_negative, with_interests=with_interests, ego=ego,
                             recency_decay=p.recency_decay)
        s = fold_in_many(p, side, hs) @ items.T
        if ig_part is not None:
            s = s + ig_w * ig_part(u)
        return torch.from_numpy(s.astype(np.float32))

    return score


def item_graph_foldin(ig: Any, tg_b: TrainGraph) -> Callable[[np.ndarray], np.ndarray]:
    """The item graph's scores on the histories of ``tg_b`` (its fold-in: each user's signed, recency-weighted
    history times ``W``), as a function of user indices returning a dense ``(B, |I|)`` array."""
    from .itemgraph import signed_matrix

    x_b = signed_matrix(tg_b, ig.dislike_value, ig.decay).tocsr()
    w = ig.w if isinstance(ig.w, sp.spmatrix) else ig.w.numpy()

    def part(u: np.ndarray) -> np.ndarray:
        out = x_b[u] @ w
        return out.toarray() if sp.issparse(out) else np.asarray(out)

    return part


def refit_overrides(report: Any) -> dict[str, Any]:
    """``TrainConfig`` overrides that retrain a model with what (a) chose on valid: its configuration, the best
    epoch as the number of epochs, the item graph's chosen grid points."""
    cfg = dict(report.config)
    best = max(int(report.best_epoch or report.epochs or 1), 1)
    cfg.update(epochs=best, patience=best)
    ig = (report.parts or {}).get("item_graph") or {}
    if ig.get("params"):
        cfg["item_graph_lambdas"] = [ig["params"]["lam"]]
        cfg["item_graph_concept_weights"] = [ig["params"]["concept_weight"]]
        cfg["item_graph_transitions"] = [ig["params"].get("transitions", 0.0)]
        cfg["item_graph_text_priors"] = [ig["params"].get("text_prior", 0.0)]
    if ig.get("multiplier") is not None:
        cfg["item_graph_weights"] = [ig["multiplier"]]
    decay = (getattr(report, "recency", None) or {}).get("item_graph")
    if decay is not None:
        cfg["recency_decays"] = [decay]
    return cfg
