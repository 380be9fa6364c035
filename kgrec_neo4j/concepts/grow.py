"""Growth without churn: only pending mentions are clustered into new concepts.

Per type, the pending mentions (no existing concept cleared the acceptance threshold) are clustered
with the type's stored floor, exactly like the first vocabulary. A cluster becomes a new concept when
its mentions come from at least ``min_items`` distinct items (one odd phrase of one item stays pending);
then the remaining pending mentions are projected again, now that the new concepts exist.

Existing concepts (id, name, embedding, type) and existing ``CANONICAL`` edges are never written:
``write_concepts.cypher`` creates concepts ON CREATE only and member edges only for mentions without
one; ids never collide with existing ids or aliases (:func:`.store.allocate_ids`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
from pydantic import BaseModel, Field

from ..core.db import Database
from ..core.embed import Embedder
from ..core.resources import cypher
from ..core.schema import TypePack, check_pack
from . import store
from .build import concept_rows
from .cluster import FloorClustering, medoids
from .families import FamilyReport, link_families
from .project import ProjectReport, project_mentions

log = logging.getLogger(__name__)


class TypeGrowth(BaseModel):
    type: str
    pending: int
    new_concepts: int = 0
    members: int = 0
    floor: float | None = None
    skipped: str | None = None


class GrowReport(BaseModel):
    types: list[TypeGrowth] = Field(default_factory=list)
    projection: ProjectReport | None = None
    families: FamilyReport | None = None
    seconds: float = 0.0


def grow_vocabulary(db: Database, embedder: Embedder, pack: TypePack, *, types: list[str] | None = None,
                    min_items: int = 2, min_confidence: float = 0.0, stale_knowledge: bool = True,
                    progress: Callable[[str], None] | None = None) -> GrowReport:
    """Add concepts for the pending mentions of ``types`` (default: every type with a vocabulary).

    ``stale_knowledge``: the projection of the pending mentions onto the new concepts also recomputes ``HAS_KNOWLEDGE``
    of every item whose edges differ from its mentions (a scan of the whole catalogue,
    :func:`~kgrec_neo4j.concepts.project.project_mentions`); ``kgrec update`` recomputes the items it extracted itself
    and passes False (the scan was 0.4–1.0 s of each update that grew a concept on full Video Games)."""
    if min_items < 1:
        raise ValueError(f"min_items must be >= 1 (got {min_items})")
    t_start = time.perf_counter()
    check_pack(db, pack)  # with another pack than the database's only the types both have would be seen
    store.check_model(db, embedder)
    if types is not None:
        pack.check(types)
    vocab = store.vocabularies(db)
    makers = store.maker_names(db, pack.name)
    rep = GrowReport()
    for type_ in types or pack.names:
        v = vocab.get(type_)
        if v is None or v.floor is None or v.acceptance is None:
            # build makes no vocabulary for a type nothing was extracted for: building again would not help it
            waiting = db.value("MATCH (m:Mention {type: $type}) WHERE NOT EXISTS { (m)-[:CANONICAL]->(:Concept) } "
                               "RETURN count(m)", type=type_) or 0
            rep.types.append(TypeGrowth(
                type=type_, pending=waiting,
                skipped=f"no vocabulary; run `kgrec concepts build --type '{type_}'`" if waiting
                else "no mentions of this type (nothing was extracted for it)"))
            continue
        rows = sorted(db.query(cypher("concepts/pending_mentions"), type=type_), key=lambda r: r["key"])
        tg = TypeGrowth(type=type_, pending=len(rows), floor=v.floor)
        rep.types.append(tg)
        if not rows:
            continue
        if progress:
            progress(f"{type_}: clustering {len(rows)} pending mentions")
        keys = [r["key"] for r in rows]
        X = store.encode_keys(embedder, keys, pack.name)
        labels = FloorClustering(X, v.floor, store.guard_texts(keys, pack.name), pack=pack.name,
                                 makers=makers).labels(v.floor)
        k = int(labels.max()) + 1
        items_per_cluster: list[set[str]] = [set() for _ in range(k)]
        for r, lab in zip(rows, labels):
            items_per_cluster[lab].update(r["items"])
        keep = np.array([len(s) >= min_items for s in items_per_cluster])
        if not keep.any():
            continue
        # keep only the clusters with enough support, renumbered 0..k'-1
        new_label = np.cumsum(keep) - 1
        sel = keep[labels]
        idx = np.nonzero(sel)[0]
        sub_keys = [keys[i] for i in idx]
        sub_X = X[idx]
        sub_labels = new_label[labels[idx]]
        med = medoids(sub_X, sub_labels, tie_keys=sub_keys)
        ids = store.allocate_ids(db, type_, [sub_keys[m] for m in med])
        texts = {r["key"]: r["text"] for r in rows}
        crow = concept_rows(type_, sub_keys, texts, sub_X, sub_labels, med, ids, origin="grow", floor=v.floor)
        tg.new_concepts = len(crow)
        tg.members = store.write_concepts(db, type_, crow, floor=v.floor, acceptance=v.acceptance, band=None,
                                          model=store.model_name(embedder))
        store.derive_item_knowledge(db, [{"type": type_, "key": k_} for k_ in sub_keys],
                                    min_confidence=min_confidence)
        log.info("%s: %d pending -> %d new concepts (%d members)", type_, len(rows), tg.new_concepts, tg.members)
    if any(t.new_concepts for t in rep.types):
        grown = [t.type for t in rep.types if t.new_concepts]
        rep.projection = project_mentions(db, embedder, pack, types=grown, min_confidence=min_confidence,
                                          stale_knowledge=stale_knowledge)
        rep.families = link_families(db, pack, types=grown)
    rep.seconds = round(time.perf_counter() - t_start, 3)
    return rep
