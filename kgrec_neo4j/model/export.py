"""Export the **train** graph from Neo4j through GDS into a :class:`~kgrec_neo4j.model.data.TrainGraph`.

The train graph is projected into GDS with one Cypher aggregation (``cypher/train/project.cypher``):
every ``User``, ``Item`` and ``Concept`` node, train ``INTERACTED`` edges only (``split = 'train'`` is a
``WHERE`` of the projection query itself, so valid / test interactions can never reach the model),
``HAS_KNOWLEDGE`` and ``INTERESTED_IN``, each filtered by ``confidence >= min_confidence`` (an edge without
``confidence`` counts as 1.0). The projection is streamed back with ``gds.graph.relationshipProperty.stream``
(one record of aligned lists per property) into numpy arrays, GDS node ids are mapped back to the nodes' ``id``
with ``gds.util.asNode``, and the in-memory graph is dropped. Held-out valid / test interactions are
read with plain Cypher: they are labels, never graph edges.

The client is ``graphdatascience`` 2.x built on the database's driver, Bolt only (:mod:`kgrec_neo4j.core.gds`):
the projection is a GDS graph, and everything read back is streamed through GDS procedures.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.errors import ModelError
from ..core.resources import cypher
from ..core.words import plural
from .data import LONG, SHORT, TrainGraph
from .recency import latest_when_missing

if TYPE_CHECKING:  # pragma: no cover
    from graphdatascience import GraphDataScience
    from torch_geometric.data import HeteroData

    from ..core.db import Database

log = logging.getLogger(__name__)

GRAPH_PREFIX = "kgrec_train_"
NODE_LABELS = ("User", "Item", "Concept")
#: the properties the export reads (confidence of INTERACTED / INTERESTED_IN only filters, in the projection)
STREAMED: dict[str, tuple[str, ...]] = {
    "INTERACTED": ("seq", "sign", "weight"),
    "HAS_KNOWLEDGE": ("type", "confidence"),
    "INTERESTED_IN": ("horizon", "polarity", "weight"),
}
assert (LONG, SHORT) == (0, 1)  # project.cypher writes horizon as 0 long / 1 short


# ====================================================================== GDS client
def open_gds(db: Database) -> GraphDataScience:
    """A ``GraphDataScience`` client on ``db``'s driver, Bolt only (see :mod:`kgrec_neo4j.core.gds`).
    Close ``db``; the client borrows its driver.

    Raises:
        ModelError: GDS is not installed in the database.
    """
    from neo4j.exceptions import ClientError

    from ..core.gds import gds_for

    try:
        return gds_for(db)
    except ClientError as e:
        msg = str(e.message or "")
        if ("gds." in msg and "no procedure" in msg.lower()) or "Unknown function 'gds." in msg:
            raise ModelError(f"the database has no Graph Data Science plugin ({msg}); start the bundled "
                             f"server with `kgrec db start`, which installs GDS") from None
        raise


# ====================================================================== projection
def project_train_graph(gds: GraphDataScience, *, graph_name: str, type_names: list[str],
                        min_confidence: float = 0.0, dataset: str | None = None, all_interactions: bool = False):
    """Project the train graph into GDS (``cypher/train/project.cypher``) and return the client's Graph.

    Args:
        type_names: the pack's knowledge types; ``HAS_KNOWLEDGE.type`` is the concept type's index here.
        min_confidence: edges with ``coalesce(confidence, 1.0) < min_confidence`` are left out.
        dataset: keep only the users and items of this dataset (``None``: all).
        all_interactions: every INTERACTED edge is a train edge (serving mode), whatever its split.
    """
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be in [0, 1] (got {min_confidence})")
    if gds.graph.exists(graph_name):
        gds.graph.drop(graph_name)
    gds.run_cypher(cypher("train/project"), {
        "graph_name": graph_name, "min_confidence": float(min_confidence), "dataset": dataset,
        "all_interactions": bool(all_interactions),
        "type_index": {name: k for k, name in enumerate(type_names)},
    })
    return gds.graph.get(graph_name)


def _node_ids(gds: GraphDataScience, graph_name: str, label: str) -> tuple[list[str], dict[int, int]]:
    """Sorted original ids of ``label`` nodes and GDS node id -> position in that list."""
    df = gds.run_cypher(cypher("train/node_ids"), {"graph_name": graph_name, "label": label})
    node_ids, ids = (list(df.iloc[0][k] or []) for k in ("node_ids", "ids")) if len(df) else ([], [])
    missing = sum(x is None for x in ids)
    if missing:
        raise ModelError(f"{plural(missing, label + ' node')} {'has' if missing == 1 else 'have'} no `id` property; "
                         f"every {label} needs one "
                         f"(load data with `kgrec load`)")
    ids = [str(x) for x in ids]
    order = sorted(range(len(ids)), key=ids.__getitem__)
    sorted_ids = [ids[k] for k in order]
    if len(set(sorted_ids)) != len(sorted_ids):
        raise ModelError(f"{label}.id is not unique in the projection; apply the schema (`kgrec schema apply`)")
    return sorted_ids, {int(node_ids[k]): pos for pos, k in enumerate(order)}


def _lookup(index: dict[int, int], gds_ids) -> np.ndarray:
    return np.fromiter((index[int(x)] for x in gds_ids), dtype=np.int64, count=len(gds_ids))


def _stream(gds: GraphDataScience, G, rel_type: str) -> dict[str, np.ndarray]:
    """One relationship type's edges: ``sourceNodeId``, ``targetNodeId`` (GDS ids) and one array per property.

    Each property comes as one record of aligned lists (``cypher/train/stream_property.cypher``); one row per
    edge and property over Bolt is about 10x slower in the Python driver. All properties of a type are
    streamed in the same order (concurrency 1), which is checked by comparing their target lists.
    """
    props = STREAMED[rel_type]
    if rel_type not in G.relationship_types():
        return {"sourceNodeId": np.zeros(0, np.int64), "targetNodeId": np.zeros(0, np.int64),
                **{p: np.zeros(0) for p in props}}
    out: dict[str, np.ndarray] = {}
    for k, prop in enumerate(props):
        df = gds.run_cypher(cypher("train/stream_property"), {
            "graph_name": G.name(), "property": prop, "rel_type": rel_type, "with_source": k == 0})
        row = df.iloc[0]
        target = np.asarray(row["target"], dtype=np.int64)
        if k == 0:
            out["sourceNodeId"], out["targetNodeId"] = np.asarray(row["source"], dtype=np.int64), target
        elif not np.array_equal(target, out["targetNodeId"]):
            raise ModelError(f"GDS streamed the {rel_type} properties {props[0]!r} and {prop!r} in different orders; "
                             f"this export cannot align them (GDS {gds.server_version()})")
        out[prop] = np.asarray(row["value"], dtype=np.float64)
    return out


# ====================================================================== held-out labels
def read_heldout(db: Database, user_index: dict[str, int], item_index: dict[str, int],
                 train_pairs: set[tuple[int, int]], *, dataset: str | None = None,
                 signs: dict[int, list[int]] | None = None
                 ) -> tuple[dict[int, list[int]], dict[int, list[int]], dict[str, int]]:
    """Valid and test items per user index, from a plain Cypher read of valid / test edges.

    A held-out item the user also has among the exported train edges (a repeat purchase) is dropped, as in
    :func:`~kgrec_neo4j.model.data.from_jsonl`: it can never be ranked.

    ``signs`` (when given) gets, per user index, the sign of each of its valid items (aligned with ``valid[u]``):
    what the "history up to the target" protocol adds to the history (:func:`~.protocols.with_valid_in_history`).

    Returns:
        ``(valid, test, dropped)``; ``dropped`` counts by reason (``repeat``, ``unknown_node``), and ``test_repeat``
        the repeats among the test interactions (what the table's test users lack).
    """
    held: dict[str, dict[int, list[int]]] = {"valid": {}, "test": {}}
    dropped = {"repeat": 0, "unknown_node": 0, "test_repeat": 0}
    rows = db.query(cypher("train/heldout"), dataset=dataset)
    cols = rows[0] if rows else {"users": [], "items": [], "splits": [], "signs": []}
    for user, item, split, sign in zip(cols["users"], cols["items"], cols["splits"], cols["signs"]):
        u, i = user_index.get(user), item_index.get(item)
        if u is None or i is None:
            dropped["unknown_node"] += 1
            continue
        if (u, i) in train_pairs:
            dropped["repeat"] += 1
            dropped["test_repeat"] += split == "test"
            continue
        items = held[split].setdefault(u, [])
        if i not in items:
            items.append(i)
            if split == "valid" and signs is not None:
                signs.setdefault(u, []).append(int(sign))
    return held["valid"], held["test"], dropped


def dataset_codes(db: Database, user_ids: list[str], item_ids: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """Per user and per item of an export, the index of its dataset (-1: none), or None when the users and items
    are of one dataset at most: :func:`~kgrec_neo4j.model.evaluate.evaluate` then ranks each user's own dataset's
    items only (a run trained over two datasets ranked every item of both for every user)."""
    if len(db.query(cypher("train/datasets"))) <= 1:
        return None
    rows = db.query(cypher("train/node_datasets"))[0]
    users, items = dict(rows["users"]), dict(rows["items"])
    names = sorted({d for d in [*users.values(), *items.values()] if d is not None})
    if len(names) <= 1:
        return None
    code = {d: k for k, d in enumerate(names)}
    return (np.asarray([code.get(users.get(u), -1) for u in user_ids], np.int64),
            np.asarray([code.get(items.get(i), -1) for i in item_ids], np.int64))


def check_split_order(db: Database, dataset: str | None = None) -> None:
    """Refuse evaluation when some user has a train interaction after a valid or test one (``seq``): recorded live
    after the last load split the history (``cypher/train/late_train_users``). Until 2026-12-04 evaluation trained
    on those interactions and dropped the test users whose item came again among them, without a word.

    Raises:
        ModelError: naming how many users, a few of them, and the ways out."""
    late = db.query(cypher("train/late_train_users"), dataset=dataset)[0]
    if late["users"]:
        n = int(late["users"])
        named = [d for d in late["datasets"] if d is not None]
        of = f" of dataset{'s' if len(named) > 1 else ''} {', '.join(map(repr, named))}" if named else ""
        others = ("; or evaluate another dataset alone (`--dataset NAME`)"
                  if dataset is None and len(db.query(cypher("train/datasets"))) > len(named) else "")
        raise ModelError(
            f"{n} user{'s have' if n != 1 else ' has'} train interactions after their valid or test ones (e.g. "
            f"{', '.join(map(repr, late['examples']))}{of}): recorded live (`kgrec serve --writes`, Browser; an "
            "interaction without seq is the latest) since the last load split the histories, so evaluation would "
            "train on what came after its targets. Split their histories again, last-two-out as a load does "
            "(`kgrec interactions split`, then `kgrec update` for their interests), or train for serving "
            f"(`kgrec train --for serving`){others}")


# ====================================================================== export
def export_train_graph(db: Database, *, type_names: list[str], min_confidence: float = 0.0,
                       dataset: str | None = None, gds: GraphDataScience | None = None,
                       keep_projection: bool = False, all_interactions: bool = False,
                       check_interests: bool = True, check_splits: bool = True) -> TrainGraph:
    """Project the train graph with GDS, stream it into a :class:`TrainGraph` and drop the projection.

    Node indices follow the nodes' ``id`` in sorted order (stable across exports of the same graph).
    ``ui_seq`` holds the ``seq`` of each train interaction (int64 ``(|E_ui|,)``, aligned with ``ui_user``): the order
    recency weights read, and what write-back uses to find the edge (also in ``meta["ui_seq"]``). ``meta`` holds
    the GDS graph name, the filters, timings and the counts.

    Args:
        type_names: the active pack's knowledge types (``ic_type`` indexes into it).
        min_confidence: drop edges whose ``confidence`` (1.0 when absent) is lower.
        dataset: export one dataset's users and items only (``None``: everything).
        gds: a client from :func:`open_gds` (one is opened on ``db``'s driver when ``None``).
        keep_projection: leave the GDS graph in the catalog (for inspection; the name is in ``meta``).
        all_interactions: serving mode: every INTERACTED edge is a train edge and nothing is held out
            (evaluation mode, the default, keeps the valid / test splits out of training).
        check_interests: in evaluation mode, refuse interests that read valid and test
            (:func:`~kgrec_neo4j.users.interests.scope.check_for_evaluation`); off for a model that does not read them,
            or where the caller checked already.
        check_splits: in evaluation mode, refuse train interactions after held-out ones (:func:`check_split_order`);
            off where the caller checked already.

    Raises:
        ModelError: a concept's type is outside ``type_names``, or the graph has no users or items.
        ScopeError: evaluation mode with interests extracted for serving, or stale (``check_interests``).
        ModelError: evaluation mode with train interactions after held-out ones (:func:`check_split_order`).
    """
    if check_interests and not all_interactions:
        from ..users.interests.scope import check_for_evaluation

        check_for_evaluation(db, dataset)
    if check_splits and not all_interactions:
        check_split_order(db, dataset)
    if not type_names:
        raise ValueError("type_names must list the pack's knowledge types (got an empty list)")
    bad = db.query(cypher("train/unknown_types"), types=list(type_names))
    if bad:
        raise ModelError(
            "concept(s) with a knowledge type outside the pack: "
            + ", ".join(f"{r['id']} ({r['type']!r})" for r in bad)
            + f"; allowed: {', '.join(type_names)}. Use the pack the graph was built with (KGREC_TYPE_PACK).")
    gds = gds or open_gds(db)
    name = f"{GRAPH_PREFIX}{uuid.uuid4().hex[:12]}"
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    try:
        G = project_train_graph(gds, graph_name=name, type_names=list(type_names),
                                min_confidence=min_confidence, dataset=dataset, all_interactions=all_interactions)
        times["project_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        labels = set(G.node_labels())  # a graph without concepts yet (no extraction) projects no Concept
        (user_ids, u_map), (item_ids, i_map), (concept_ids, c_map) = (
            _node_ids(gds, name, label) if label in labels else ([], {}) for label in NODE_LABELS)
        ui, ic, uc = (_stream(gds, G, t) for t in ("INTERACTED", "HAS_KNOWLEDGE", "INTERESTED_IN"))
        times["stream_s"] = time.perf_counter() - t1
        projected = {"nodes": int(G.node_count()), "relationships": int(G.relationship_count())}
    finally:
        if not keep_projection and gds.graph.exists(name):
            gds.graph.drop(name)
    if not user_ids or not item_ids:
        raise ModelError(f"the train graph has {len(user_ids)} users and {len(item_ids)} items"
                         + (f" in dataset {dataset!r}" if dataset else "")
                         + "; load interactions first (`kgrec load <folder>`)")

    ui_user = _lookup(u_map, ui["sourceNodeId"])
    ui_item = _lookup(i_map, ui["targetNodeId"])
    ic_item = _lookup(i_map, ic["sourceNodeId"])
    ic_concept = _lookup(c_map, ic["targetNodeId"])
    uc_user = _lookup(u_map, uc["sourceNodeId"])
    uc_concept = _lookup(c_map, uc["targetNodeId"])
    # an edge without seq (projected as NaN) is the user's latest, as serving counts it
    ui["seq"] = latest_when_missing(ui["seq"], ui_user)
    # users in sorted-id order, then seq: each user's train history stays in time order
    order = np.lexsort((ui["seq"], ui_user))
    ui_user, ui_item = ui_user[order], ui_item[order]
    ui_sign = ui["sign"][order].astype(np.int64)
    ui_weight = ui["weight"][order]
    ui_seq = ui["seq"][order].astype(np.int64)

    t2 = time.perf_counter()
    train_pairs = set(zip(ui_user.tolist(), ui_item.tolist()))
    valid: dict[int, list[int]] = {}
    test: dict[int, list[int]] = {}
    dropped: dict[str, int] = {}
    valid_sign: dict[int, list[int]] = {}
    if not all_interactions:
        valid, test, dropped = read_heldout(db, {u: k for k, u in enumerate(user_ids)},
                                            {i: k for k, i in enumerate(item_ids)}, train_pairs, dataset=dataset,
                                            signs=valid_sign)
    times["heldout_s"] = time.perf_counter() - t2
    times["total_s"] = time.perf_counter() - t0

    codes = dataset_codes(db, user_ids, item_ids) if dataset is None else None
    tg = TrainGraph(
        user_ids=user_ids, item_ids=item_ids, concept_ids=concept_ids, type_names=list(type_names),
        ui_user=ui_user, ui_item=ui_item, ui_sign=ui_sign, ui_weight=ui_weight,
        ic_item=ic_item, ic_concept=ic_concept, ic_type=ic["type"].astype(np.int64), ic_weight=ic["confidence"],
        uc_user=uc_user, uc_concept=uc_concept, uc_horizon=uc["horizon"].astype(np.int64),
        uc_polarity=uc["polarity"].astype(np.int64), uc_weight=uc["weight"],
        valid=valid, test=test, ui_seq=ui_seq,
        meta={"source": "neo4j", "gds_graph": name, "min_confidence": float(min_confidence), "dataset": dataset,
              "proxy_concepts": False, "projected": projected, "heldout_dropped": dropped, "valid_sign": valid_sign,
              "mode": "serving" if all_interactions else "evaluation",
              "timings": {k: round(v, 3) for k, v in times.items()}, "ui_seq": ui_seq},
    )
    if codes is not None:  # several datasets: evaluation ranks each user's own dataset's items only
        tg.meta["user_dataset"], tg.meta["item_dataset"] = codes
    tg.validate()
    log.info("exported train graph %s in %.1fs: %s", name, times["total_s"], tg.summary())
    return tg


# ====================================================================== PyG
def to_hetero_data(tg: TrainGraph) -> HeteroData:
    """The train graph as a PyG ``HeteroData`` (held-out labels are not part of it).

    Node types ``user`` ``(|U|,)``, ``item`` ``(|I|,)``, ``concept`` ``(|C|,)`` with ``num_nodes`` and
    ``ids`` (the original id strings). Edge types, each with ``edge_index`` ``(2, E)`` (source first):

    - ``('user', 'interacted', 'item')``: ``sign`` long ``(E,)``, ``edge_weight`` float ``(E,)``;
    - ``('item', 'has_knowledge', 'concept')``: ``knowledge_type`` long ``(E,)`` (index into
      ``data.type_names``), ``edge_weight`` float ``(E,)`` (the confidence);
    - ``('user', 'interested_in', 'concept')``: ``horizon`` long (0 long, 1 short), ``polarity`` long
      (+1 / -1), ``edge_weight`` float.

    Add reverse edges with ``torch_geometric.transforms.ToUndirected()`` when a model needs them.
    """
    import torch
    from torch_geometric.data import HeteroData

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a))

    data = HeteroData()
    for kind, ids in (("user", tg.user_ids), ("item", tg.item_ids), ("concept", tg.concept_ids)):
        data[kind].num_nodes = len(ids)
        data[kind].ids = list(ids)
    e = data["user", "interacted", "item"]
    e.edge_index = t(np.stack([tg.ui_user, tg.ui_item]))
    e.sign, e.edge_weight = t(tg.ui_sign), t(tg.ui_weight)
    e = data["item", "has_knowledge", "concept"]
    e.edge_index = t(np.stack([tg.ic_item, tg.ic_concept]))
    e.knowledge_type, e.edge_weight = t(tg.ic_type), t(tg.ic_weight)
    e = data["user", "interested_in", "concept"]
    e.edge_index = t(np.stack([tg.uc_user, tg.uc_concept]))
    e.horizon, e.polarity, e.edge_weight = t(tg.uc_horizon), t(tg.uc_polarity), t(tg.uc_weight)
    data.type_names = list(tg.type_names)
    return data


def summary(tg: TrainGraph) -> dict[str, Any]:
    """``tg.summary()`` plus the export's timings and projection counts (JSON-safe)."""
    out = dict(tg.summary())
    for k in ("projected", "timings", "heldout_dropped", "min_confidence", "dataset", "mode"):
        if k in tg.meta:
            out[k] = tg.meta[k]
    return out
