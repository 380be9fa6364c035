"""Warm start (``kgrec train --warm-start``): a new training run of ours continues from a stored run's parameters
instead of a random initialisation.

What the new model starts from, for the nodes of the new export:

* a user the run trained: the user's own trained embedding (``User.gnn_ego``); a user it did not (new since):
  the user's vector folded in from the user's train edges with the run's propagation
  (:func:`~kgrec_neo4j.model.foldin.fold_in`);
* an item the run trained: its own trained embedding (the first block of ``Item.gnn_foldin``); an item folded
  into the run by ``kgrec update``: its folded-in vector; an item with neither: the random initialisation;
* a concept with a vector of the run: that vector; a concept grown since: the random initialisation;
* every small parameter (per-type and per-group transforms, the dislike gate, the stage mix, the recency gate, each relation's
  attention vectors, weight and gate) from the run's stored parameters (``ModelRun.foldin``), matched by name.

The closed-form item graph is fitted again in any case (it has no iterations to save).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.errors import ModelError
from ..core.resources import cypher
from .data import TrainGraph
from .foldin import FoldIn, ItemSide, fold_in_many, split_foldin, train_histories

if TYPE_CHECKING:  # pragma: no cover
    from ..core.db import Database

log = logging.getLogger(__name__)


@dataclass
class WarmStart:
    """Initial values for a model on ``tg`` (rows aligned with its ids; ``None`` rows keep the random ones)."""

    run: str
    params: FoldIn
    users: list[np.ndarray | None]
    items: list[np.ndarray | None]
    concepts: list[np.ndarray | None]
    counts: dict[str, int] = field(default_factory=dict)

    def apply(self, model: Any, tg: TrainGraph) -> dict[str, int]:
        """Copy the values into a :class:`~kgrec_neo4j.model.gnn.KGRecGNN` built on ``tg``; returns
        :attr:`counts` with the number of small parameters copied."""
        import torch

        p = self.params
        if model.embedding_dim != p.dim:
            raise ModelError(f"a warm start needs the embedding size of run {self.run} ({p.dim}); this model has "
                             f"{model.embedding_dim}: train with --dim {p.dim}, or cold")
        copied = 0
        with torch.no_grad():
            for emb, rows in ((model.user_emb, self.users), (model.item_emb, self.items),
                              (model.concept_emb, self.concepts[: model.num_concepts])):
                pairs = [(k, v) for k, v in enumerate(rows) if v is not None]
                if pairs:
                    emb.weight[torch.tensor([k for k, _ in pairs])] = torch.from_numpy(
                        np.stack([v for _, v in pairs]).astype(np.float32))
            if p.neg_gate is not None:
                model.neg_gate.copy_(torch.from_numpy(p.neg_gate))
                copied += 1
            names = {n: t for t, n in enumerate(p.type_names)}
            for t, name in enumerate(tg.type_names):
                w = p.type_transforms.get(names.get(name, -1))
                if w is not None and t < len(model.type_transforms):
                    model.type_transforms[t].weight.copy_(torch.from_numpy(w))
                    copied += 1
            for g, w in p.interest_transforms.items():
                model.interest_transforms[g].weight.copy_(torch.from_numpy(w))
                copied += 1
            raw = p.raw or {}
            if raw.get("stage_mix") is not None:
                model.stage_mix.copy_(torch.from_numpy(np.asarray(raw["stage_mix"], np.float32)))
                copied += 1
            if raw.get("recency_gate") is not None and getattr(model, "recency_decay", None) is not None:
                model.recency_gate.fill_(float(raw["recency_gate"]))
                copied += 1
            rels = raw.get("relations") or {}
            for k, r in enumerate(model.relations):
                v = rels.get(r.name)
                if v is None:
                    continue
                model.att_src[k] = torch.from_numpy(np.asarray(v["att_src"], np.float32))
                model.att_dst[k] = torch.from_numpy(np.asarray(v["att_dst"], np.float32))
                model.rel_weight[k] = float(v["weight"])
                model.rel_gate[k] = float(v["gate"])
                copied += 1
        self.counts["parameters"] = copied
        return self.counts


def read_warm_start(db: Database, run: str, tg: TrainGraph) -> WarmStart:
    """The initial values of ``run`` for a model on ``tg`` (see the module docstring).

    Raises:
        ModelError: no such run, or a run without the stored parameters a warm start needs (train cold once).
    """
    info = db.query(cypher("recommend/run"), run=run)
    if not info or info[0]["foldin"] is None:
        raise ModelError(f"run {run!r} has no stored parameters to start from; train without --warm-start")
    p = FoldIn.from_json(info[0]["foldin"])
    if p.raw is None or not p.type_names:
        raise ModelError(f"run {run!r} was trained before warm starts were possible (it stored no raw parameters); "
                         f"train without --warm-start once")
    counts = dict.fromkeys(("users_trained", "users_folded", "items_trained", "items_folded", "items_random",
                            "concepts_trained", "concepts_random"), 0)
    c_rows = {r["id"]: np.asarray(r["embedding"], np.float32)
              for r in db.query(cypher("recommend/concept_embeddings"), run=run)}
    concepts = [c_rows.get(c) for c in tg.concept_ids]
    counts["concepts_trained"] = sum(v is not None for v in concepts)
    counts["concepts_random"] = len(concepts) - counts["concepts_trained"]

    i_rows = {r["id"]: r for r in db.query(cypher("train/warm_items"), run=run)}
    items: list[np.ndarray | None] = []
    fold = np.zeros((tg.num_items, (p.ui_layers + 1) * p.dim), np.float32)
    degree = np.zeros(tg.num_items, np.int64)
    for k, i in enumerate(tg.item_ids):
        r = i_rows.get(i)
        if r is None:
            items.append(None)
            counts["items_random"] += 1
            continue
        f = np.asarray(r["foldin"], np.float32)
        fold[k, : f.size] = f
        degree[k] = int(r["degree"] or 0)
        if r["folded"]:
            items.append(np.asarray(r["embedding"], np.float32))
            counts["items_folded"] += 1
        else:
            items.append(f[: p.dim] if p.ui_layers else np.asarray(r["embedding"], np.float32))
            counts["items_trained"] += 1
    egos = {r["id"]: np.asarray(r["ego"], np.float32) for r in db.query(cypher("recommend/user_egos"), run=run)}
    users: list[np.ndarray | None] = [egos.get(u) for u in tg.user_ids]
    new = np.asarray([k for k, v in enumerate(users) if v is None], np.int64)
    counts["users_trained"] = len(users) - new.size
    if new.size:  # users the run did not train: folded in from their train edges with the run's propagation
        layers, x1 = split_foldin(p, fold, run)
        side = ItemSide(layers=layers, degree=degree, x1=x1 if x1.shape[1] else np.zeros((tg.num_items, p.dim)),
                        concepts=np.stack([v if v is not None else np.zeros(p.dim, np.float32) for v in concepts])
                        if concepts else np.zeros((0, p.dim), np.float32))
        z = fold_in_many(p, side, train_histories(tg, new))
        for k, u in enumerate(new.tolist()):
            users[u] = z[k]
        counts["users_folded"] = int(new.size)
    log.info("warm start from run %s: %s", run, counts)
    return WarmStart(run=run, params=p, users=users, items=items, concepts=concepts, counts=counts)
