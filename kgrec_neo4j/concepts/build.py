"""First vocabulary: cluster, per type, the unique mention texts of a sample of items into concepts.

Per type the values are clustered with complete linkage on cosine similarity (:mod:`.cluster`), so no
concept holds two values less similar than the type's *floor*, and never two values the variant guard
keeps apart (:mod:`.variants`). The floor is ``floor`` (0.86: the merge benchmark's choice,
docs/concepts.md); a type given a target band for its number of concepts (``bands``) gets its floor moved
within ``[floor_min, floor_max]`` until the count lies in the band. A cluster becomes a ``(:Concept)`` when
its values are mentioned by at least ``min_items`` items of the whole graph (a value of one item is
knowledge no other item shares: it waits, unassigned, for projection or growth); it is named after its
medoid (the member most similar to the others), with the medoid's embedding and a stable id derived from
type + medoid key (:func:`.store.allocate_ids`). The chosen floor is stored on the ``(:KnowledgeType)``.

A type that already has a vocabulary (concepts, or a stored floor when none of its clusters was shared) is
skipped: its vocabulary only grows (``kgrec concepts grow``), so rerunning ``build`` changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable

import numpy as np
from pydantic import BaseModel, Field

from ..core.db import Database
from ..core.embed import Embedder
from ..core.errors import KgrecError
from ..core.resources import cypher
from ..core.schema import TypePack
from . import store
from .cluster import Band, FloorClustering, choose_floor, medoids
from .families import FamilyReport, link_families
from .variants import Maker

log = logging.getLogger(__name__)

DEFAULT_FLOOR = 0.86
DEFAULT_FLOOR_MIN = 0.70
DEFAULT_FLOOR_MAX = 0.92
DEFAULT_MIN_ITEMS = 2


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
    unshared: int = Field(0, description="values left unassigned: their cluster has fewer than min_items items")
    singletons: int = 0
    cluster_s: float = 0.0
    embed_s: float = 0.0
    write_s: float = 0.0
    skipped: str | None = None


class BuildReport(BaseModel):
    items_total: int
    items_sampled: int
    types: list[TypeBuild]
    families: FamilyReport | None = None
    seconds: float
    knowledge_repaired: int = 0  # items of a type built before whose knowledge edges were missing (a stopped build)


def ratio_band(n_values: int, ratio: tuple[float, float]) -> tuple[int, int]:
    """Target number of concepts for ``n_values`` unique values: ``[ceil(lo n), ceil(hi n)]`` (at least 1)."""
    lo = max(1, math.ceil(ratio[0] * n_values))
    hi = max(lo, math.ceil(ratio[1] * n_values))
    return lo, hi


def default_acceptance(floor: float) -> float:
    """Projection threshold for a type built with ``floor``: the floor itself.

    A mention joins a concept by the same pairwise decision that built it (:func:`.variants.same_value`
    against the concept's medoid). The old default ``(1 + floor) / 2`` made up for a guard that let
    ``Xbox`` and ``Xbox One`` meet; with the variant guard and the lexical relation the merge benchmark's
    precision at floor 0.86 is 0.98 (docs/concepts.md).
    """
    return floor


def sample_items(ids: list[str], *, fraction: float | None, count: int | None, seed: int) -> list[str]:
    """A deterministic sample: ids ordered by ``sha1(seed:id)``, the first ``count`` (or ``fraction``)."""
    if fraction is not None and count is not None:
        raise ValueError(f"give a fraction or a count of items, not both (got {fraction} and {count})")
    if fraction is not None and not 0.0 < fraction <= 1.0:
        raise ValueError(f"sample fraction must be in (0, 1] (got {fraction})")
    if count is not None and count < 1:
        raise ValueError(f"sample item count must be >= 1 (got {count})")
    order = sorted(ids, key=lambda i: hashlib.sha1(f"{seed}:{i}".encode()).hexdigest())
    if count is not None:
        n = count
    elif fraction is not None:
        n = max(1, round(fraction * len(order)))
    else:
        n = len(order)
    return order[:n]


def cluster_type(type_: str, keys: list[str], X: np.ndarray, *, pack: str, floor: float,
                 band: Band | None, makers: frozenset[Maker] | None = None) -> tuple[TypeBuild, np.ndarray, np.ndarray]:
    """Cluster one type's values at ``floor`` (or at the floor that meets ``band``); returns its report, labels
    ``(n,)`` and medoid indices ``(k,)``. ``makers``: the catalogue's makers' names (:func:`.store.maker_names`)."""
    t0 = time.perf_counter()
    lowest = band.floor_min if band is not None else floor
    fc = FloorClustering(X, lowest, store.guard_texts(keys, pack), pack=pack, makers=makers)
    if band is not None:
        choice = choose_floor(fc, band, floor)
        labels, chosen, met, tried = choice.labels, choice.floor, choice.band_met, choice.tried
    else:
        labels, chosen, met = fc.labels(floor), floor, None
        tried = [(round(floor, 4), int(labels.max()) + 1 if labels.size else 0)]
    med = medoids(X, labels, tie_keys=keys)
    sizes = np.bincount(labels)
    rep = TypeBuild(type=type_, values=len(keys), concepts=len(med), floor=round(chosen, 4),
                    band=[band.lo, band.hi] if band is not None else None, band_met=met, tried=tried,
                    members=len(keys), singletons=int((sizes == 1).sum()),
                    cluster_s=round(time.perf_counter() - t0, 3))
    return rep, labels, med


def shared_clusters(labels: np.ndarray, rows: list[dict], min_items: int) -> np.ndarray:
    """``(k,)`` bool: does cluster ``c`` hold values of at least ``min_items`` distinct items of the graph?

    ``rows[i]`` has ``all_items`` (items mentioning value ``i``) and ``few_items`` (their ids when fewer than
    ``min_items``).
    """
    k = int(labels.max()) + 1 if labels.size else 0
    ok = np.zeros(k, dtype=bool)
    ids: list[set[str]] = [set() for _ in range(k)]
    for lab, r in zip(labels, rows):
        if r["all_items"] >= min_items:
            ok[lab] = True
        else:
            ids[lab].update(r["few_items"] or [])
    for c in range(k):
        ok[c] = ok[c] or len(ids[c]) >= min_items
    return ok


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


def build_vocabulary(db: Database, embedder: Embedder, pack: TypePack, *, fraction: float | None = None,
                     count: int | None = None, types: list[str] | None = None, floor: float = DEFAULT_FLOOR,
                     floor_min: float = DEFAULT_FLOOR_MIN, floor_max: float = DEFAULT_FLOOR_MAX,
                     bands: dict[str, tuple[int, int]] | None = None,
                     band_ratio: tuple[float, float] | None = None, acceptance: float | None = None,
                     min_items: int = DEFAULT_MIN_ITEMS, min_confidence: float = 0.0, seed: int = 42,
                     progress: Callable[[str], None] | None = None) -> BuildReport:
    """Build the first vocabulary of every type (or of ``types``) from a sample of mentioned items.

    Args:
        fraction / count: sample size (share of mentioned items, or a number of them); neither = all.
        floor: the similarity floor (the starting floor of a band search).
        bands: per-type target ``(lo, hi)`` number of concepts; the floor of such a type is moved within
            ``[floor_min, floor_max]`` to meet it. ``band_ratio`` gives every other type the band
            ``ratio x values``. Without either, no band: every type is clustered at ``floor``.
        acceptance: projection threshold stored for the type (default: :func:`default_acceptance` of the
            chosen floor).
        min_items: a cluster becomes a concept only if its values are mentioned by this many items.
    """
    if min_items < 1:
        raise ValueError(f"min_items must be >= 1 (got {min_items})")
    from ..core.schema import check_pack

    t_start = time.perf_counter()
    check_pack(db, pack)  # with another pack than the database's, its mentions read as unknown types of this one
    store.check_model(db, embedder)
    if types is not None:
        pack.check(types)
    if bands:
        pack.check(bands)
    if bands or band_ratio:  # a bad band or floor limits: refused before any type is written
        for lo, hi in (bands or {"": (1, 1)}).values():
            Band(lo, hi, floor_min, floor_max)
    all_ids = [r["id"] for r in db.query(cypher("concepts/mentioned_items"))]
    sample = sample_items(all_ids, fraction=fraction, count=count, seed=seed)
    rows = db.query(cypher("concepts/sample_mentions"), ids=sample, min_confidence=min_confidence,
                    min_items=min_items)
    found = sorted({r["type"] for r in rows})
    pack.check(found)  # mentions of types outside the pack: refuse before any work
    vocab = store.vocabularies(db)
    in_graph = {r["type"] for r in db.query(cypher("concepts/mention_types"))}
    makers = store.maker_names(db, pack.name)
    wanted = types if types is not None else [t for t in pack.names if t in found or t in in_graph]
    out: list[TypeBuild] = []
    for type_ in wanted:
        trows = sorted((r for r in rows if r["type"] == type_), key=lambda r: r["key"])
        keys = [r["key"] for r in trows]
        v = vocab.get(type_)
        if v is not None and (v.concepts or v.floor is not None):  # built before, even if nothing was shared
            out.append(TypeBuild(type=type_, values=len(keys), concepts=vocab[type_].concepts,
                                 floor=vocab[type_].floor, acceptance=vocab[type_].acceptance,
                                 skipped="has a vocabulary already; use `kgrec concepts grow`"))
            continue
        if not keys:
            if type_ in in_graph:  # mentions outside the sample: an empty vocabulary, so that they wait and grow
                acc = round(acceptance if acceptance is not None else default_acceptance(floor), 4)
                store.write_concepts(db, type_, [], floor=floor, acceptance=acc, band=None,
                                     model=store.model_name(embedder))
                out.append(TypeBuild(type=type_, values=0, floor=floor, acceptance=acc,
                                     skipped="no mentions in the sample: empty vocabulary, `kgrec concepts grow`"))
            else:
                out.append(TypeBuild(type=type_, values=0, skipped="no mentions in the sample"))
            continue
        if progress:
            progress(f"{type_}: clustering {len(keys)} values")
        t0 = time.perf_counter()
        X = store.encode_keys(embedder, keys, pack.name)
        embed_s = time.perf_counter() - t0
        want = (bands or {}).get(type_) or (ratio_band(len(keys), band_ratio) if band_ratio else None)
        band = Band(want[0], want[1], floor_min, floor_max) if want else None
        rep, labels, med = cluster_type(type_, keys, X, pack=pack.name, floor=floor, band=band, makers=makers)
        chosen = rep.floor
        assert chosen is not None  # cluster_type reports the floor it chose
        rep.embed_s = round(embed_s, 3)
        rep.acceptance = round(acceptance if acceptance is not None else default_acceptance(chosen), 4)
        # only clusters that items share become concepts; the others' values wait for projection / growth
        shared = shared_clusters(labels, trows, min_items)
        keep = shared[labels]
        idx = np.nonzero(keep)[0]
        rep.unshared = int((~keep).sum())
        keys_k = [keys[i] for i in idx]
        labels_k = (np.cumsum(shared) - 1)[labels[idx]]
        med = np.asarray([np.nonzero(idx == m)[0][0] for m, ok in zip(med, shared) if ok], dtype=np.int64)
        X_k = X[idx]
        rep.concepts, rep.members = len(med), len(keys_k)
        rep.singletons = int((np.bincount(labels_k, minlength=len(med)) == 1).sum()) if len(med) else 0
        t0 = time.perf_counter()
        ids = store.allocate_ids(db, type_, [keys_k[m] for m in med])
        texts = {r["key"]: r["text"] for r in trows}
        crow = concept_rows(type_, keys_k, texts, X_k, labels_k, med, ids, origin="build", floor=chosen)
        rep.members = store.write_concepts(db, type_, crow, floor=chosen, acceptance=rep.acceptance,
                                           band=rep.band, model=store.model_name(embedder))
        store.derive_item_knowledge(db, [{"type": type_, "key": k} for k in keys_k], min_confidence=min_confidence)
        rep.write_s = round(time.perf_counter() - t0, 3)
        log.info("%s: %d values -> %d concepts at floor %.3f (band %s, met=%s), %d values of one item wait",
                 type_, len(keys), rep.concepts, rep.floor, rep.band, rep.band_met, rep.unshared)
        out.append(rep)
    if not out and not rows:
        raise KgrecError("no mentions found: run the extractor stage (`kgrec extract items`) before building concepts")
    built = [t.type for t in out if not t.skipped and t.concepts]
    fam = link_families(db, pack, types=built) if built else None
    # a type built before is skipped; a build stopped between a type's concepts and its items' knowledge (one
    # transaction each) left those items without it: a rerun finds them (their knowledge differs from their mentions')
    repaired = 0
    skipped = [t.type for t in out if t.skipped]
    if skipped:
        missing = [r["id"] for r in db.query(cypher("concepts/items_missing_knowledge"), types=skipped,
                                             min_confidence=min_confidence)]
        repaired = store.recompute_item_knowledge(db, missing, min_confidence=min_confidence) if missing else 0
    return BuildReport(items_total=len(all_ids), items_sampled=len(sample), types=out, families=fam,
                       seconds=round(time.perf_counter() - t_start, 3), knowledge_repaired=repaired)
