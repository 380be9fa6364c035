"""Type discovery for a new domain: propose a knowledge-type pack from a sample of items.

The seed method: ask the LLM for knowledge points with **unconstrained** types on a sample of items,
embed and cluster the type names, rank the clusters by *coverage* (share of sampled items with at least
one point in the cluster) times *cohesion* (mean cosine of the members to the cluster centroid), and
keep the ``k`` best as types, plus ``Others``. The result is written as a pack file
(``schema/packs/*.yaml`` format, loadable by :func:`kgrec_neo4j.core.schema.load_pack`) **for a person to
review**: names and definitions are generated from the cluster members, not curated.

Two sources of labels:

* ``llm``: one structured request per item (schema ``{points: [{type, value}]}``, type free, 1-4 words);
  the labels clustered are the type names, the values serve as examples.
* ``offline`` (no LLM): the candidate phrases of the items (the offline extractor's chunking,
  :func:`kgrec_neo4j.extract.offline.candidate_phrases`) are the labels. Phrase clusters are value
  clusters (``black / blue / assorted colors``), so an offline proposal names *what the items talk
  about most*, not attribute kinds; its names come from the most frequent head word or the medoid.

Clustering: labels are folded (case, punctuation, plural ``s``) into keys, each key embedded once,
then average-linkage agglomerative clustering on cosine distance, cut at ``1 - min_similarity``
(every cluster's members are on average at least that similar to each other). With the bundled
MiniLM, ``Color`` / ``Colour`` / ``Colors`` are 0.92-0.97 similar, ``Color`` / ``Material`` 0.60.

Example::

    items = items_from_dataset(["../shared/data/amazon-office-2018"])
    report = discover(items, settings, extractor="offline", k=9, out="office_discovered.yaml")
    for t in report.types: print(t.name, t.coverage, t.cohesion, t.definition)
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.config import Settings
from ..core.embed import TextEncoder
from ..core.errors import InputError, KgrecError
from ..extract.base import ItemText
from .items import items_from_dataset, items_from_db, sample_items
from .models import (
    DEFAULT_MIN_SIMILARITY,
    OTHERS,
    DiscoveryReport,
    ExtractorName,
    FreeAnswer,
    FreePoint,
    Observation,
    ProposedType,
)
from .observe import llm_observations, offline_observations
from .pack import render_pack, write_pack
from .rank import cluster_labels, label_key, rank_clusters, select_types, title_name

__all__ = ["DEFAULT_MIN_SIMILARITY", "OTHERS", "DiscoveryReport", "FreeAnswer", "FreePoint", "Observation",
           "ProposedType", "cluster_labels", "discover", "items_from_dataset", "items_from_db", "label_key",
           "llm_observations", "offline_observations", "rank_clusters", "render_pack", "sample_items",
           "select_types", "title_name", "write_pack"]

log = logging.getLogger(__name__)


def discover(items: Sequence[ItemText], settings: Settings, *, k: int = 9, sample: int = 200,
             extractor: ExtractorName = "offline", seed: int = 0, name: str = "discovered", domain: str = "",
             out: str | Path | None = None, min_similarity: float | None = None,
             embedder: TextEncoder | None = None, client=None,
             max_points: int = 15, max_phrases: int = 40, concurrency: int | None = None,
             progress: bool = False, attribute_names: bool = True) -> DiscoveryReport:
    """Propose ``k`` knowledge types plus ``Others`` from a sample of ``items``.

    Args:
        items: the candidate items (see :func:`items_from_dataset`, :func:`items_from_db`).
        settings: embedding model and, for ``llm``, the endpoint.
        k: types to propose besides ``Others``.
        sample: items drawn (seeded by ``seed``) among those with text.
        extractor: ``llm`` (free-typed points) or ``offline`` (candidate phrases).
        name / domain: the pack's ``name`` and ``domain``.
        out: the pack file to write (checked by loading it back); ``None`` writes nothing.
        min_similarity: the clustering cut; default :data:`DEFAULT_MIN_SIMILARITY` of the extractor.
        embedder / client: injected embedder (a :class:`~kgrec_neo4j.core.embed.TextEncoder`) and LLM client (tests).
        attribute_names: offline: name clusters by the attribute their values share, one type per attribute,
            no clusters of function words (:mod:`.attributes`); False gives the value clusters as they are.
    """
    if extractor not in ("llm", "offline"):
        raise ValueError(f"extractor must be 'llm' or 'offline' (got {extractor!r})")
    if k < 1:
        raise ValueError(f"k must be >= 1 (got {k})")
    t0 = time.perf_counter()
    picked = sample_items(items, sample, seed=seed)
    if not picked:
        raise InputError(f"none of the {len(items)} items has a title, description or features to learn types from")
    floor = DEFAULT_MIN_SIMILARITY[extractor] if min_similarity is None else min_similarity
    failed = 0
    dropped: Counter[str] = Counter()
    llm_stats: dict[str, Any] | None = None
    if extractor == "llm":
        obs, failed, dropped, llm_stats = llm_observations(picked, settings, client=client, domain=domain,
                                                           max_points=max_points, concurrency=concurrency,
                                                           progress=progress)
        if failed == len(picked):
            raise KgrecError(f"the LLM failed on all {failed} sampled items ({dict(dropped)}); "
                             f"check the endpoint with `kgrec doctor` and `kgrec llm test TITLE`, or use "
                             f"--extractor offline")
    else:
        obs = offline_observations(picked, max_phrases=max_phrases)
    if embedder is None:
        from ..core.embed import get_embedder

        embedder = get_embedder(settings)
    ranked, counts = rank_clusters(obs, len(picked), embedder, min_similarity=floor, mode=extractor,
                                   attribute_names=attribute_names)
    if counts.get("function_word_clusters"):
        dropped["function_word_clusters"] += counts["function_word_clusters"]
    if counts["unclustered_labels"]:
        dropped["unclustered_labels"] += counts["unclustered_labels"]
    types = select_types(ranked, k, mode=extractor)
    kept_items: set[int] = set().union(*(t._item_ids for t in types))
    report = DiscoveryReport(
        extractor=extractor, pack_name=name, domain=domain, items_available=len(items), items_sampled=len(picked),
        items_with_labels=len({o.item for o in obs}), items_failed=failed, observations=len(obs),
        distinct_labels=counts["distinct_labels"], others_labels=counts["others_labels"], clusters=len(ranked),
        min_similarity=floor, k=k, types=types, runners_up=list(ranked[k:k + 6]),
        covered_by_types=round(len(kept_items) / len(picked), 4), dropped=dict(dropped), llm=llm_stats,
    )
    if out is not None:
        write_pack(types, out, name=name, domain=domain, report=report)
        report.out = str(out)
    report.seconds = round(time.perf_counter() - t0, 2)
    log.info("type discovery (%s): %d items, %d labels, %d clusters -> %s", extractor, len(picked), len(obs),
             len(ranked), [t.name for t in types])
    return report
