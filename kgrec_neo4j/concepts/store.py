"""Reads and writes of the concept layer shared by build, project, grow and merge."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import numpy as np
from pydantic import BaseModel

from ..core.db import Database
from ..core.embed import Embedder, model_tag
from ..core.errors import ConfigError, KgrecError
from ..core.resources import cypher
from ..core.schema import check_dimension, refuse_unknown_types
from . import variants
from .aliases import embedding_text
from .variants import Maker

log = logging.getLogger(__name__)


class VocabularyParams(BaseModel):
    """What a type's vocabulary was built with (stored on its ``(:KnowledgeType)``)."""

    type: str
    floor: float | None = None
    acceptance: float | None = None
    concepts: int = 0



def check_model(db: Database, embedder: Embedder) -> None:
    """Refuse an embedding model whose dimension differs from the ``concept_embedding`` index, or that
    is not the model the existing vocabularies were built with (vectors of two models don't compare)."""
    check_dimension(db, embedder.dim)
    want = _model_name_only(model_name(embedder))
    used = {r["m"] for r in db.query(cypher("concepts/vocabulary_models"))}
    other = sorted(m for m in used if _model_name_only(m) != want)
    if other:
        raise ConfigError(
            f"the concept vocabulary was built with embedding model {', '.join(other)} but the configured model "
            f"is {want}. Set KGREC_EMBEDDING_MODEL to the model the vocabulary was built with, or start a new "
            f"vocabulary (delete the Concept nodes, then `kgrec concepts build`)."
        )


def _model_name_only(tag: str) -> str:
    """``model_tag`` without its path hash (the same model folder may live at different paths)."""
    return tag.rsplit("-", 1)[0] if tag.count("-") >= 2 else tag


def vocabularies(db: Database) -> dict[str, VocabularyParams]:
    """Per knowledge type: floor, acceptance threshold and concept count (types of the database)."""
    return {r["type"]: VocabularyParams(**r) for r in db.query(cypher("concepts/vocabulary"))}


def encode_keys(embedder: Embedder, keys: list[str], pack: str) -> np.ndarray:
    """``(len(keys), dim)`` embeddings of mention keys (abbreviations expanded, see :mod:`.aliases`)."""
    return embedder.encode([embedding_text(k, pack) for k in keys])


def maker_names(db: Database, pack: str) -> frozenset[Maker]:
    """The makers' names of the graph's catalogue (:func:`.variants.maker_names` of its items' brand and title;
    the pack's list when no item has a brand)."""
    return variants.maker_names(((r["brand"], r["title"]) for r in db.query(cypher("concepts/item_brands"))), pack)


def guard_texts(keys: list[str], pack: str) -> list[str]:
    """The texts the number guard reads (the embedded texts)."""
    return [embedding_text(k, pack) for k in keys]


def candidate_id(type_: str, key: str, salt: int = 0) -> str:
    """Concept id from its type and its medoid's key (``salt`` > 0 only after a collision)."""
    raw = f"{type_}\x1f{key}" + (f"\x1f{salt}" if salt else "")
    return "c_" + hashlib.sha1(raw.encode("utf-8")).hexdigest()[:16]


def allocate_ids(db: Database, type_: str, keys: list[str]) -> list[str]:
    """Fresh concept ids for new concepts of ``type_`` (medoid ``keys``); ids in use or kept as aliases
    of merged concepts are never reused (a salt is added until the id is free)."""
    ids = [candidate_id(type_, k) for k in keys]
    salts = [0] * len(keys)
    for _ in range(100):
        taken: set[str] = set()
        for r in db.query(cypher("concepts/taken_ids"), ids=ids):
            taken.update(r["taken"])
        dup = {x for x in ids if ids.count(x) > 1} if len(set(ids)) != len(ids) else set()
        clash = [i for i, x in enumerate(ids) if x in taken or x in dup]
        if not clash:
            return ids
        seen: set[str] = set()
        for i in clash:
            if ids[i] in dup and ids[i] not in seen and ids[i] not in taken:
                seen.add(ids[i])  # first of a duplicate group keeps its id
                continue
            salts[i] += 1
            ids[i] = candidate_id(type_, keys[i], salts[i])
    raise KgrecError(f"could not allocate free concept ids for type {type_!r} after 100 tries")


def write_concepts(db: Database, type_: str, rows: list[dict[str, Any]], *, floor: float, acceptance: float,
                   band: list[int] | None, model: str) -> int:
    """Create concepts of one type with their members in one transaction (unknown type: nothing written).

    ``rows``: ``{id, type, name, key, embedding, origin, floor, members: [{key, similarity}]}``.
    Returns the number of member edges created.
    """
    def work(tx) -> int:
        refuse_unknown_types(tx, [type_])
        n = 0
        for i in range(0, len(rows), 500):
            rec = tx.run(cypher("concepts/write_concepts"), rows=rows[i:i + 500]).single()
            n += rec["members"] if rec else 0
        tx.run(cypher("concepts/set_vocabulary"), type=type_, floor=floor, acceptance=acceptance, band=band,
               model=model).consume()
        return n

    return db.write_tx(work)


def model_name(embedder: Embedder) -> str:
    """Short name of the embedder's model folder (stored with each type's vocabulary)."""
    return model_tag(embedder.model_path)


def derive_item_knowledge(db: Database, mention_rows: list[dict[str, str]], *, min_confidence: float,
                          batch_size: int = 2000, items: list[str] | None = None) -> int:
    """Recompute ``HAS_KNOWLEDGE`` for every item that mentions one of ``mention_rows`` (``{type, key}``), and for
    the ``items`` given.

    Returns the number of items updated.
    """
    if not mention_rows and not items:
        return 0
    ids: set[str] = set(items or ())
    for i in range(0, len(mention_rows), 10_000):
        ids.update(r["id"] for r in db.query(cypher("concepts/items_of_mentions"), rows=mention_rows[i:i + 10_000]))
    return recompute_item_knowledge(db, sorted(ids), min_confidence=min_confidence, batch_size=batch_size)


def stale_knowledge_items(db: Database, *, min_confidence: float) -> list[str]:
    """Items whose ``HAS_KNOWLEDGE`` edges differ from what their mentions with a concept give now: extracted after
    those mentions had concepts (a new item whose points are all known, an item extracted again), so that no
    projection of a new mention recomputed them (``cypher/concepts/stale_knowledge_items.cypher``)."""
    return [r["id"] for r in db.query(cypher("concepts/stale_knowledge_items"), min_confidence=min_confidence)]


def recompute_item_knowledge(db: Database, item_ids: list[str], *, min_confidence: float,
                             batch_size: int = 2000) -> int:
    """Recompute ``HAS_KNOWLEDGE`` of the items ``item_ids`` from their mentions now: edges no mention supports any
    more are removed (an item extracted again), the others written. Returns the number of items."""
    text = cypher("concepts/item_knowledge")
    for i in range(0, len(item_ids), batch_size):
        db.write(text, ids=item_ids[i:i + batch_size], min_confidence=min_confidence)
    return len(item_ids)
