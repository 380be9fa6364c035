"""Write a trained model back into Neo4j: embeddings, edge attention and the item vector index.

Contract (``docs/graph-model.md``, "Model write-back"):

- ``User.gnn_embedding``, ``Item.gnn_embedding``, ``Concept.gnn_embedding`` (list of float) with ``gnn_run``;
- ``attention`` (``|a|``), ``attention_signed`` (``a``) and ``attention_run`` on the train edges the model
  attended over: ``HAS_KNOWLEDGE`` (matched by item id, concept id), ``INTERESTED_IN`` (user id, concept id,
  horizon, polarity) and train ``INTERACTED`` (user id, item id, ``seq``);
- the vector index ``item_gnn_embedding`` on ``Item.gnn_embedding`` (dropped and recreated when the dimension
  changes);
- ours: the stage-1 item graph as ``(:Item)-[:ITEM_LINK {run, weight}]->(:Item)`` edges, and its weight in the
  score as ``ModelRun.item_link_weight`` (``score(u, i) = <u, i> + item_link_weight * sum_j x[u, j] * w(j -> i)``
  over the user's train items ``j``).

Which attention value an edge gets: the model's last stage-2 layer attends over the edges that **end at a user
or an item**, softmax-normalised over each destination's incoming edges. An edge stores the weight of its
far end in the embedding of its user or item end: ``INTERACTED`` the weight of the item in the user's
embedding (relation ``rev_likes`` / ``rev_dislikes``), ``INTERESTED_IN`` the concept's weight in the user's
embedding (``rev_interested_in:<horizon>:<sign>``), ``HAS_KNOWLEDGE`` the concept's weight in the item's
embedding (``rev_has_knowledge:<type>``). Values are the model's signed ``alpha * weight_r * gate_r``.

All writes are batched ``UNWIND`` queries, idempotent; :func:`clear_stale` removes what other runs left.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel

from ..core.errors import ModelError
from ..core.resources import cypher
from .data import TrainGraph
from .foldin import FoldIn, ItemSide

if TYPE_CHECKING:  # pragma: no cover
    from ..core.db import Database

log = logging.getLogger(__name__)

VECTOR_INDEX = "item_gnn_embedding"
Attention = dict[str, tuple[Any, Any]]  # relation name -> (edge_index (2, E), values (E,)), as KGRecGNN gives


class WritebackReport(BaseModel):
    """Rows written per kind, the vector index action and timings."""

    run: str
    dim: int
    users: int = 0
    items: int = 0
    concepts: int = 0
    attention: dict[str, int] = {}
    attention_missing: dict[str, int] = {}
    vector_index: str = "unchanged"
    item_links: int = 0
    item_link_weight: float = 0.0
    cleared_embeddings: int = 0
    cleared_attention: int = 0
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.users + self.items + self.concepts + sum(self.attention.values()) + self.item_links


def _np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _check_matrix(name: str, emb, ids: list[str], dim: int | None) -> np.ndarray:
    a = _np(emb).astype(np.float64, copy=False)
    if a.ndim != 2 or a.shape[0] != len(ids):
        raise ValueError(f"{name} embeddings must have shape ({len(ids)}, F); got {a.shape}")
    if dim is not None and a.shape[1] != dim:
        raise ValueError(f"{name} embeddings have dimension {a.shape[1]}, user embeddings have {dim}")
    if not np.isfinite(a).all():
        raise ModelError(f"{name} embeddings contain NaN or inf ({int((~np.isfinite(a)).sum())} values); "
                         f"training diverged, nothing was written. Lower the learning rate and train again.")
    return a


def _emb_rows(ids: list[str], a: np.ndarray, **extra: np.ndarray | None) -> Iterator[dict[str, Any]]:
    """``{id, embedding, <extra>}`` per node; an ``extra`` array of ``None`` gives ``null``."""
    for k, node_id in enumerate(ids):
        row: dict[str, Any] = {"id": node_id, "embedding": a[k].tolist()}
        for key, arr in extra.items():
            row[key] = None if arr is None else arr[k].tolist()
        yield row


def foldin_rows(side: ItemSide) -> np.ndarray:
    """``(|I|, (L + 1) F)``: each item's LightGCN features and stage-1 output, concatenated (``gnn_foldin``)."""
    blocks = [side.layers[k] for k in range(side.layers.shape[0])] + [side.x1]
    return np.concatenate(blocks, axis=1).astype(np.float64)


def _write(db: Database, name: str, rows, *, run: str, batch_size: int,
           progress: Callable[[str, int], None] | None, **params: Any) -> int:
    """Run ``cypher/train/<name>`` over ``rows`` in batches (with ``params``); return the number of graph elements
    matched."""
    text = cypher(f"train/{name}")
    written = 0
    batch: list[dict[str, Any]] = []

    def flush() -> int:
        res = db.write_tx(lambda tx: tx.run(text, {**params, "rows": batch, "run": run}).single())
        if progress:
            progress(name, len(batch))
        return int(res["written"]) if res else 0

    for row in rows:
        batch.append(row)
        if len(batch) >= batch_size:
            written += flush()
            batch = []
    if batch:
        written += flush()
    return written


# ====================================================================== embeddings
def write_embeddings(db: Database, tg: TrainGraph, run: str, *, users, items, concepts=None,
                     foldin: tuple[FoldIn, ItemSide, np.ndarray] | None = None,
                     batch_size: int = 2000, progress: Callable[[str, int], None] | None = None
                     ) -> dict[str, int]:
    """Write ``gnn_embedding`` / ``gnn_run`` for every node of ``tg``, and what fold-in reads.

    Args:
        users: ``(|U|, F)`` rows aligned with ``tg.user_ids``; items ``(|I|, F)``; concepts ``(|C|, F)`` or
            ``None`` (models without concepts).
        foldin: ``(FoldIn, ItemSide, user egos)`` of the model (:mod:`~kgrec_neo4j.model.foldin`): items get
            ``gnn_foldin`` and ``gnn_degree``, users ``gnn_ego``. Without it a run cannot be served.

    Returns:
        ``{"users": n, "items": n, "concepts": n}``: nodes written (= matched in the graph).
    """
    u = _check_matrix("user", users, tg.user_ids, None)
    dim = u.shape[1]
    i = _check_matrix("item", items, tg.item_ids, dim)
    ego = fold = degree = None
    if foldin is not None:
        _, side, ego_m = foldin
        ego = _check_matrix("user ego", ego_m, tg.user_ids, dim)
        fold = foldin_rows(side)
        degree = side.degree.astype(np.int64).reshape(-1, 1)
    out = {"users": _write(db, "embeddings_user", _emb_rows(tg.user_ids, u, ego=ego), run=run,
                           batch_size=batch_size, progress=progress),
           "items": _write(db, "embeddings_item", _deg(_emb_rows(tg.item_ids, i, foldin=fold, degree=degree)),
                           run=run, batch_size=batch_size, progress=progress),
           "concepts": 0}
    if concepts is not None and tg.num_concepts:
        c = _check_matrix("concept", concepts, tg.concept_ids, dim)
        out["concepts"] = _write(db, "embeddings_concept", _emb_rows(tg.concept_ids, c), run=run,
                                 batch_size=batch_size, progress=progress)
    for kind, ids in (("users", tg.user_ids), ("items", tg.item_ids)):
        if out[kind] != len(ids):
            log.warning("wrote %d of %d %s embeddings: %d nodes were deleted since the export",
                        out[kind], len(ids), kind, len(ids) - out[kind])
    return out


def _deg(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for row in rows:
        row["degree"] = row["degree"][0] if row.get("degree") is not None else None
        yield row


def write_foldin_params(db: Database, run: str, params: FoldIn, *, min_confidence: float) -> None:
    """Store the model's fold-in parameters and the export's confidence floor on the run."""
    db.execute(cypher("train/run_set_foldin"), run=run, foldin=params.to_json(), min_confidence=float(min_confidence))


# ====================================================================== attention
def _lookup_table(attention: Attention, name: str) -> dict[tuple[int, int], float]:
    if name not in attention:
        return {}
    ei, val = attention[name]
    ei, val = _np(ei).astype(np.int64), _np(val).astype(np.float64)
    return dict(zip(zip(ei[0].tolist(), ei[1].tolist()), val.tolist()))


def attention_rows(tg: TrainGraph, attention: Attention) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
    """Rows for the attention write per relationship type, and how many exported edges had no value.

    ``attention`` is :meth:`KGRecGNN.edge_attention` output (relation name -> ``(edge_index (2, E), values)``,
    source first, per-kind node indices of ``tg``). See the module docstring for which relation each
    relationship type takes its value from.
    """
    rows: dict[str, list[dict[str, Any]]] = {"INTERACTED": [], "HAS_KNOWLEDGE": [], "INTERESTED_IN": []}
    missing = {k: 0 for k in rows}

    def add(rel_type: str, value: float | None, row: dict[str, Any]) -> None:
        if value is None:
            missing[rel_type] += 1
            return
        row["attention"], row["signed"] = abs(value), value
        rows[rel_type].append(row)

    # INTERACTED: the item's weight in the user's embedding (dislikes kept apart when the model did)
    likes, dislikes = _lookup_table(attention, "rev_likes"), _lookup_table(attention, "rev_dislikes")
    seq = tg.meta.get("ui_seq")
    if seq is None:
        raise ModelError("the train graph has no meta['ui_seq'] (the seq of each interaction), so INTERACTED "
                         "edges cannot be matched; export it with kgrec_neo4j.model.export.export_train_graph")
    if len(seq) != tg.ui_user.size:
        raise ValueError(f"meta['ui_seq'] has {len(seq)} entries, ui_user has {tg.ui_user.size}")
    for u, i, s, q in zip(tg.ui_user.tolist(), tg.ui_item.tolist(), tg.ui_sign.tolist(), _np(seq).tolist()):
        table = dislikes if s < 0 and dislikes else likes
        add("INTERACTED", table.get((i, u)), {"source": tg.user_ids[u], "target": tg.item_ids[i], "seq": int(q)})

    # HAS_KNOWLEDGE: the concept's weight in the item's embedding
    hk = {t: _lookup_table(attention, f"rev_has_knowledge:{name}") for t, name in enumerate(tg.type_names)}
    for i, c, t in zip(tg.ic_item.tolist(), tg.ic_concept.tolist(), tg.ic_type.tolist()):
        add("HAS_KNOWLEDGE", hk[t].get((c, i)),
            {"source": tg.item_ids[i], "target": tg.concept_ids[c]})

    # INTERESTED_IN: the concept's weight in the user's embedding
    groups: dict[tuple[int, int], dict[tuple[int, int], float]] = {}
    for hz, hz_name in ((0, "long"), (1, "short")):
        for pol in (1, -1):
            groups[(hz, pol)] = _lookup_table(attention, f"rev_interested_in:{hz_name}:{'+' if pol > 0 else '-'}")
    for u, c, hz, pol in zip(tg.uc_user.tolist(), tg.uc_concept.tolist(), tg.uc_horizon.tolist(),
                             tg.uc_polarity.tolist()):
        add("INTERESTED_IN", groups[(hz, pol)].get((c, u)),
            {"source": tg.user_ids[u], "target": tg.concept_ids[c], "horizon": hz, "polarity": pol})
    return rows, missing


def write_attention(db: Database, tg: TrainGraph, run: str, attention: Attention, *, batch_size: int = 5000,
                    progress: Callable[[str, int], None] | None = None) -> tuple[dict[str, int], dict[str, int]]:
    """Write ``attention``, ``attention_signed``, ``attention_run`` on the train edges (every ``INTERACTED`` edge
    for a serving run's graph); return
    ``(edges written per type, exported edges without a value per type)``."""
    rows, missing = attention_rows(tg, attention)
    files = {"INTERACTED": "attention_interacted", "HAS_KNOWLEDGE": "attention_has_knowledge",
             "INTERESTED_IN": "attention_interested_in"}
    # a serving run's train graph is every INTERACTED edge, valid and test ones too
    extra = {"INTERACTED": {"all_interactions": tg.meta.get("mode") == "serving"}}
    written = {t: _write(db, files[t], r, run=run, batch_size=batch_size, progress=progress, **extra.get(t, {}))
               for t, r in rows.items()}
    return written, missing


# ====================================================================== item links
def item_link_rows(tg: TrainGraph, item_graph) -> Iterator[dict[str, Any]]:
    """One row per source item with its outgoing links (:meth:`ItemGraph.edges`), ids from ``tg``."""
    src, dst, w = item_graph.edges()
    order = np.argsort(src, kind="stable")
    src, dst, w = src[order], dst[order], w[order]
    bounds = np.flatnonzero(np.diff(src)) + 1
    for a, b in zip(np.r_[0, bounds], np.r_[bounds, src.size]):
        if a == b:
            continue
        yield {"source": tg.item_ids[int(src[a])], "targets": [tg.item_ids[int(j)] for j in dst[a:b]],
               "weights": w[a:b].astype(np.float64).tolist()}


def write_item_links(db: Database, tg: TrainGraph, run: str, item_graph, weight: float, *,
                     batch_size: int = 500, progress: Callable[[str, int], None] | None = None) -> int:
    """Write the item graph's links of ``run`` and record ``weight`` on the run; return the links written.

    Nothing but the run's properties is written when ``weight`` is 0 (the item graph does not take part)."""
    if not np.isfinite(weight) or weight < 0:
        raise ModelError(f"item graph weight must be finite and >= 0 (got {weight}); nothing was written.")
    written = 0
    if weight > 0:
        written = _write(db, "item_links", item_link_rows(tg, item_graph), run=run, batch_size=batch_size,
                         progress=progress)
    db.execute(cypher("train/run_set_item_links"), run=run, weight=float(weight),
                dislike_value=float(item_graph.dislike_value), count=written, top_k=item_graph.top_k)
    return written


# ====================================================================== vector index, cleanup
def ensure_vector_index(db: Database, dim: int) -> str:
    """Create ``item_gnn_embedding`` for ``dim``; drop and recreate it when its dimension differs.

    Returns:
        ``"created"``, ``"recreated"`` or ``"unchanged"``.
    """
    if dim < 1:
        raise ValueError(f"dim must be >= 1 (got {dim})")
    have = db.value(cypher("train/vector_index_dim"))
    if have is not None and int(have) == dim:
        return "unchanged"
    if have is not None:
        log.info("vector index %s has dimension %s, the model gives %d: recreating it", VECTOR_INDEX, have, dim)
        db.write(cypher("train/drop_vector_index"))
    from neo4j.exceptions import ClientError

    try:
        db.write(cypher("train/create_vector_index"), dim=dim)
    except ClientError as e:  # another command created it between the check and here (schema writes are not leased)
        if "AlreadyExists" not in (e.code or ""):
            raise
        now = db.value(cypher("train/vector_index_dim"))
        if now is None or int(now) != dim:
            raise ModelError(f"the vector index {VECTOR_INDEX} was created meanwhile by another command with dimension "
                             f"{now}, this run's vectors have {dim}; rerun `kgrec train` when the other command is "
                             f"done") from None
    db.write("CALL db.awaitIndexes(300)")
    return "created" if have is None else "recreated"


def _loop(db: Database, name: str, run: str, limit: int, datasets: list[str] | None = None) -> int:
    total = 0
    while True:
        rows = db.execute(cypher(f"train/{name}"), run=run, limit=limit, datasets=datasets)
        n = int(rows[0]["cleared"]) if rows else 0
        total += n
        if n < limit:
            return total


def clear_stale(db: Database, run: str, *, limit: int = 10000,
                datasets: list[str] | None = None) -> tuple[int, int]:
    """Remove embeddings, edge attention and item links written by any other run; return ``(nodes, edges)``
    cleared.

    Also drops the previous-run copies (``gnn_prev_embedding``) that kept the old current run readable while
    ``run`` was being written; they are not counted as cleared nodes. ``datasets`` (a run trained on some
    datasets only): users, items and their edges of other datasets keep what they have.
    """
    nodes = _loop(db, "clear_stale_embeddings", run, limit, datasets)
    edges = _loop(db, "clear_stale_attention", run, limit, datasets)
    edges += _loop(db, "clear_stale_item_links", run, limit, datasets)
    _loop(db, "clear_prev_embeddings", run, limit, datasets)
    return nodes, edges


def finish_cleanup(db: Database, *, limit: int = 10000) -> str | None:
    """Clear the other runs' data for the current run when the ``kgrec train`` that made it current was stopped
    before it did (``cypher/train/pending_cleanup.cypher``), as that train would have (:func:`clear_stale`, for the
    run's dataset); return the run, or ``None`` when nothing was pending. Idempotent."""
    rows = db.query(cypher("train/pending_cleanup"))
    if not rows:
        return None
    import json

    run = rows[0]["run"]
    try:  # the run's `--dataset` (None: trained on every dataset), as its training scoped the clearing
        dataset = (json.loads(rows[0]["config"] or "{}") or {}).get("dataset")
    except (TypeError, ValueError, AttributeError):
        dataset = None
    nodes, edges = clear_stale(db, run, limit=limit, datasets=[dataset] if isinstance(dataset, str) else None)
    db.execute(cypher("train/run_set_cleared"), id=run)
    log.info("cleared what other runs left (%d nodes, %d edges) for run %s, whose training was stopped before it did",
             nodes, edges, run)
    return run


# ====================================================================== all of it
def write_back(db: Database, tg: TrainGraph, run: str, *, users, items, concepts=None,
               attention: Attention | None = None, item_graph=None, item_graph_weight: float = 0.0,
               foldin: tuple[FoldIn, ItemSide, np.ndarray] | None = None, min_confidence: float = 0.0,
               batch_size: int = 2000, progress: Callable[[str, int], None] | None = None) -> WritebackReport:
    """Embeddings (with what fold-in reads), then attention, then the vector index (the old index is dropped first
    when the dimension changed, so that no vector of the wrong size is indexed). Does not make the run current and
    does not clear other runs' values: call :func:`clear_stale` after the run became current.
    """
    t0 = time.perf_counter()
    dim = int(_np(users).shape[1]) if _np(users).ndim == 2 else 0
    have = db.value(cypher("train/vector_index_dim"))
    recreate = have is not None and int(have) != dim
    if recreate:
        db.write(cypher("train/drop_vector_index"))
    counts = write_embeddings(db, tg, run, users=users, items=items, concepts=concepts, foldin=foldin,
                              batch_size=batch_size, progress=progress)
    if foldin is not None:
        write_foldin_params(db, run, foldin[0], min_confidence=min_confidence)
    rep = WritebackReport(run=run, dim=dim, **counts)
    if attention:
        rep.attention, rep.attention_missing = write_attention(db, tg, run, attention, batch_size=batch_size,
                                                               progress=progress)
    if item_graph is not None:
        rep.item_links = write_item_links(db, tg, run, item_graph, item_graph_weight,
                                          batch_size=max(1, batch_size // 4), progress=progress)
        rep.item_link_weight = float(item_graph_weight)
    action = ensure_vector_index(db, dim)
    rep.vector_index = "recreated" if recreate else action
    rep.seconds = time.perf_counter() - t0
    log.info("write-back of run %s: %d rows in %.1fs (%s)", run, rep.rows, rep.seconds, rep.model_dump())
    return rep
