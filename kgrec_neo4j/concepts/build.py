"""First vocabulary: cluster, per type, the unique mention texts of a sample of items into concepts.

Per type the values are clustered with complete linkage on cosine similarity (:mod:`.cluster`), so no
concept holds two values less similar than the type's *floor*. The floor starts at ``floor`` and is
moved automatically (within ``[floor_min, floor_max]``) until the number of concepts lies in the
type's target band; the chosen floor is stored on the ``(:KnowledgeType)`` and reported. Each cluster
becomes a ``(:Concept)`` named after its medoid (the member most similar to the others), with the
medoid's embedding and a stable id derived from type + medoid key (:func:`.store.allocate_ids`).

A type that already has concepts is skipped: its vocabulary only grows (``kgrec concepts grow``), so
rerunning ``build`` changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable

import numpy as np
from pydantic import BaseModel, Field

from ..core.embed import Embedder
from ..core.errors import KgrecError
from ..core.resources import cypher
from ..core.schema import TypePack
from . import store
from .cluster import Band, FloorClustering, choose_floor, medoids

log = logging.getLogger(__name__)

DEFAULT_FLOOR = 0.82
DEFAULT_FLOOR_MIN = 0.70
DEFAULT_FLOOR_MAX = 0.92
DEFAULT_BAND_RATIO = (0.02, 0.90)


class TypeBuild(BaseModel):
    """Outcome of the first vocabulary of one type."""

    type: str
    values: int = Field(description="unique mention texts of the sample")
    concepts: int = 0
    floor: float | None = None
    acceptance: float | None = None
    band: list[int] | None = None
    band_met: bool | None = None
    tried: list[tuple[float, int]] = Field(default_factory=list, description="(floor, concepts) per try")
    members: int = 0
    singletons: int = 0
    cluster_s: float = 0.0
    embed_s: float = 0.0
    write_s: float = 0.0
    skipped: str | None = None


class BuildReport(BaseModel):
    items_total: int
    items_sampled: int
    types: list[TypeBuild]
    seconds: float


def default_band(n_values: int, ratio: tuple[float, float] = DEFAULT_BAND_RATIO) -> tuple[int, int]:
    """Target number of concepts for ``n_values`` unique values: ``[ceil(lo n), ceil(hi n)]`` (at least 1)."""
    lo = max(1, math.ceil(ratio[0] * n_values))
    hi = max(lo, math.ceil(ratio[1] * n_values))
    return lo, hi


def default_acceptance(floor: float) -> float:
    """Projection threshold for a type built with ``floor``: halfway from the floor to 1.

    Measured (docs/concepts.md, ``ours-incr`` vs ``ours-incr-strict``): compared with acceptance = floor it
    costs 0-3.9 points of coverage and lifts the smallest member pair of the worst types (Video Games
    Others 0.31 -> 0.60, Game Features 0.38 -> 0.69).
    """
    return (1.0 + floor) / 2.0


def sample_items(ids: list[str], *, fraction: float | None, count: int | None, seed: int) -> list[str]:
    """A deterministic sample: ids ordered by ``sha1(seed:id)``, the first ``count`` (or ``fraction``)."""
    if fraction is not None and count is not None:
        raise ValueError(f"give a fraction or a count of items, not both (got {fraction} and {count})")
    if fraction is not None and not 0.0 < fraction <= 1.0:
        raise ValueError(f"sample fraction must be in (0, 1] (got {fraction})")
    if count is not None and count < 1:
        raise ValueError(f"sample item count must be >= 1 (got {count})")
    order = sorted(ids, key=lambda i: hashlib.sha1(f"{seed}:{i}".encode()).hexdigest())
    n = len(order) if fraction is None and count is None else (
        count if count is not None else max(1, round(fraction * len(order))))
    return order[:n]


def cluster_type(type_: str, keys: list[str], X: np.ndarray, *, pack: str, floor: float,
                 band: Band) -> tuple[TypeBuild, np.ndarray, np.ndarray]:
    """Cluster one type's values; returns its report, labels ``(n,)`` and medoid indices ``(k,)``."""
    t0 = time.perf_counter()
    fc = FloorClustering(X, band.floor_min, store.guard_texts(keys, pack), pack=pack)
    choice = choose_floor(fc, band, floor)
    med = medoids(X, choice.labels, tie_keys=keys)
    sizes = np.bincount(choice.labels)
    rep = TypeBuild(type=type_, values=len(keys), concepts=choice.n_clusters, floor=round(choice.floor, 4),
                    band=[band.lo, band.hi], band_met=choice.band_met, tried=choice.tried,
                    members=len(keys), singletons=int((sizes == 1).sum()),
                    cluster_s=round(time.perf_counter() - t0, 3))
    return rep, choice.labels, med


def concept_rows(type_: str, keys: list[str], texts: dict[str, str], X: np.ndarray, labels: np.ndarray,
                 med: np.ndarray, ids: list[str], *, origin: str, floor: float) -> list[dict]:
    """Rows for :func:`.store.write_concepts`: one per cluster with its members and their similarity."""
    rows = []
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(len(med) + 1))
    for c, m in enumerate(med):
        idx = order[bounds[c]:bounds[c + 1]]
        sims = X[idx] @ X[m]
        rows.append({
            "id": ids[c], "type": type_, "name": texts.get(keys[m], keys[m]), "key": keys[m],
            "embedding": X[m].astype(float).tolist(), "origin": origin, "floor": floor,
            "members": [{"key": keys[i], "similarity": float(min(1.0, s))} for i, s in zip(idx, sims)],
        })
    return rows


def build_vocabulary(db, embedder: Embedder, pack: TypePack, *, fraction: float | None = None,
                     count: int | None = None, types: list[str] | None = None, floor: float = DEFAULT_FLOOR,
                     floor_min: float = DEFAULT_FLOOR_MIN, floor_max: float = DEFAULT_FLOOR_MAX,
                     bands: dict[str, tuple[int, int]] | None = None,
                     band_ratio: tuple[float, float] = DEFAULT_BAND_RATIO, acceptance: float | None = None,
                     min_confidence: float = 0.0, seed: int = 42,
                     progress: Callable[[str], None] | None = None) -> BuildReport:
    """Build the first vocabulary of every type (or of ``types``) from a sample of mentioned items.

    Args:
        fraction / count: sample size (share of mentioned items, or a number of them); neither = all.
        floor: starting similarity floor; moved within ``[floor_min, floor_max]`` to meet the band.
        bands: per-type target ``(lo, hi)`` number of concepts; other types use ``band_ratio`` x values.
        acceptance: projection threshold stored for the type (default: :func:`default_acceptance` of the
            chosen floor).
    """
    t_start = time.perf_counter()
    store.check_model(db, embedder)
    if types is not None:
        pack.check(types)
    if bands:
        pack.check(bands)
    all_ids = [r["id"] for r in db.query(cypher("concepts/mentioned_items"))]
    sample = sample_items(all_ids, fraction=fraction, count=count, seed=seed)
    rows = db.query(cypher("concepts/sample_mentions"), ids=sample, min_confidence=min_confidence)
    found = sorted({r["type"] for r in rows})
    pack.check(found)  # mentions of types outside the pack: refuse before any work
    vocab = store.vocabularies(db)
    wanted = types if types is not None else [t for t in pack.names if t in found]
    out: list[TypeBuild] = []
    for type_ in wanted:
        trows = sorted((r for r in rows if r["type"] == type_), key=lambda r: r["key"])
        keys = [r["key"] for r in trows]
        if vocab.get(type_) and vocab[type_].concepts:
            out.append(TypeBuild(type=type_, values=len(keys), concepts=vocab[type_].concepts,
                                 floor=vocab[type_].floor, acceptance=vocab[type_].acceptance,
                                 skipped="has a vocabulary already; use `kgrec concepts grow`"))
            continue
        if not keys:
            out.append(TypeBuild(type=type_, values=0, skipped="no mentions in the sample"))
            continue
        if progress:
            progress(f"{type_}: clustering {len(keys)} values")
        t0 = time.perf_counter()
        X = store.encode_keys(embedder, keys, pack.name)
        embed_s = time.perf_counter() - t0
        lo, hi = (bands or {}).get(type_) or default_band(len(keys), band_ratio)
        band = Band(lo, hi, floor_min, floor_max)
        rep, labels, med = cluster_type(type_, keys, X, pack=pack.name, floor=floor, band=band)
        rep.embed_s = round(embed_s, 3)
        rep.acceptance = round(acceptance if acceptance is not None else default_acceptance(rep.floor), 4)
        t0 = time.perf_counter()
        ids = store.allocate_ids(db, type_, [keys[m] for m in med])
        texts = {r["key"]: r["text"] for r in trows}
        crow = concept_rows(type_, keys, texts, X, labels, med, ids, origin="build", floor=rep.floor)
        rep.members = store.write_concepts(db, type_, crow, floor=rep.floor, acceptance=rep.acceptance,
                                           band=rep.band, model=store.model_name(embedder))
        store.derive_item_knowledge(db, [{"type": type_, "key": k} for k in keys], min_confidence=min_confidence)
        rep.write_s = round(time.perf_counter() - t0, 3)
        log.info("%s: %d values -> %d concepts at floor %.3f (band %s, met=%s)", type_, len(keys),
                 rep.concepts, rep.floor, rep.band, rep.band_met)
        out.append(rep)
    if not out and not rows:
        raise KgrecError("no mentions found: run the extractor stage (`kgrec extract`) before building concepts")
    return BuildReport(items_total=len(all_ids), items_sampled=len(sample), types=out,
                       seconds=round(time.perf_counter() - t_start, 3))
