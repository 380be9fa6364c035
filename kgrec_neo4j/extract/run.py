"""Run an extractor over the items in Neo4j: read, skip done ones, extract in batches, store, report.

An item is *done* for an extractor when its ``extract_hashes`` holds ``"<extractor>:<text hash>"`` for
its current text; a rerun skips it unless the text changed (or ``force``). Any extractor with
``.name`` and ``.extract(list[ItemText]) -> list[ItemResult]`` works (and, optionally, ``.prepare(catalogue,
keep=ids)``, called with every item of a dataset before that dataset's items are extracted): the offline one
(:class:`~kgrec_neo4j.extract.offline.OfflineExtractor`) and the LLM one
(``kgrec_neo4j.extract.llm.LLMExtractor``). Review text is read only for an extractor with
``use_reviews = True``, and only from training interactions.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from ..core.config import DEFAULT_PACK, Settings, stored_error
from ..core.db import Database, batched
from ..core.errors import ConfigError, KgrecError
from ..core.resources import cypher
from ..core.schema import TypePack, check_pack, check_pack_fits, load_pack
from ..core.texthash import item_text, text_hash
from .base import Extractor, ItemResult, ItemText
from .store import StoreReport, write_results

log = logging.getLogger(__name__)

EXTRACTORS = ("llm", "offline")
MAX_REVIEWS_PER_ITEM = 20


class ExtractionReport(BaseModel):
    """What one :func:`extract_items` run did.

    Attributes:
        extractor / run: extractor name and the run id stamped on every ``MENTIONS`` edge.
        items_seen: items read from the database (after ``item_ids``).
        items_done / items_skipped / items_failed: extracted now / already done for this text / failed.
        items_missing: result ids the database did not have.
        points: mentions written; ``points_by_type`` per type, ``points_per_item_by_type`` per done item.
        items_without_points: done items that got no point at all.
        failures_by_reason: failed items by the first part of their error message.
        failed_items: the first failed items (at most 10), each ``{"item": id, "error": message}``.
        dropped: points or candidates not written, by reason (extractor's and store's together).
        mentions_created / mentions_deleted: ``(:Mention)`` nodes created / removed as orphans.
        extractor_stats: the extractor's ``.stats`` (calls, tokens, cache hits, ... when it has them).
        seconds / items_per_second: wall time of the run and throughput over the extracted items.
    """

    extractor: str
    run: str
    items_seen: int = 0
    items_done: int = 0
    items_skipped: int = 0
    items_failed: int = 0
    items_missing: int = 0
    points: int = 0
    points_by_type: dict[str, int] = Field(default_factory=dict)
    points_per_item_by_type: dict[str, float] = Field(default_factory=dict)
    points_per_item: float = 0.0
    items_without_points: int = 0
    knowledge_recomputed: int = 0  # items extracted after the concept stage: HAS_KNOWLEDGE follows their mentions
    users_stamped: int = 0  # users of those whose knowledge changed: `kgrec update` computes their interests again
    failures_by_reason: dict[str, int] = Field(default_factory=dict)
    failed_items: list[dict[str, str]] = Field(default_factory=list)
    dropped: dict[str, int] = Field(default_factory=dict)
    mentions_created: int = 0
    mentions_deleted: int = 0
    extractor_stats: dict[str, Any] = Field(default_factory=dict)
    seconds: float = 0.0
    items_per_second: float = 0.0


def read_items(db: Database, *, item_ids: list[str] | None = None, with_reviews: bool = False,
               max_reviews: int = MAX_REVIEWS_PER_ITEM) -> list[tuple[ItemText, list[str]]]:
    """``(ItemText, extract_hashes)`` of the items (all, or ``item_ids``), in id order."""
    return [(it, hashes) for it, hashes, _ in _read_items(db, item_ids, with_reviews, max_reviews)]


def _read_items(db: Database, item_ids: list[str] | None, with_reviews: bool,
                max_reviews: int = MAX_REVIEWS_PER_ITEM) -> list[tuple[ItemText, list[str], str | None]]:
    """:func:`read_items` with each item's dataset."""
    rows = db.query(cypher("extract/read_items"), ids=item_ids)
    reviews: dict[str, list[str]] = {}
    if with_reviews and rows:
        for chunk in batched([r["item_id"] for r in rows], 2000):
            for r in db.query(cypher("extract/read_reviews"), ids=chunk, max_reviews=max_reviews):
                reviews[r["item_id"]] = r["reviews"]
    out = []
    for r in rows:
        it = ItemText(item_id=r["item_id"], **item_text(r), reviews=reviews.get(r["item_id"], []))
        out.append((it, list(r["hashes"] or []), r["dataset"]))
    return out


def store_text_hashes(db: Database, *, batch_size: int = 5000) -> int:
    """Hash the text of the items that have no stored hash (``Item.current_text_hash``: written by another client,
    or loaded before the hash was stored) and store it, as ``kgrec load`` does; returns how many were hashed. After
    that every item's hash is in the graph, and finding new or changed text reads no text."""
    rows = [{"id": r["item_id"], "text_hash": text_hash(r)} for r in db.query(cypher("extract/unhashed_items"))]
    db.write_batches(cypher("extract/store_text_hashes"), rows, batch_size=batch_size)
    return len(rows)


def _reason(error: str) -> str:
    head = error.split(":", 1)[0].strip()
    return head[:80] or "unknown"


def _stats(extractor: Extractor) -> dict[str, Any]:
    st = getattr(extractor, "stats", None)
    if st is None:
        return {}
    if hasattr(st, "model_dump"):
        st = st.model_dump()
    elif dataclasses.is_dataclass(st) and not isinstance(st, type):
        st = dataclasses.asdict(st)
    try:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in dict(st).items()}
    except (TypeError, ValueError):
        return {"stats": str(st)}


def extract_items(db: Database, extractor: Extractor, *, limit: int | None = None, batch_size: int | None = None,
                  progress: bool = True, item_ids: list[str] | None = None, force: bool = False,
                  pack: TypePack | None = None, run: str | None = None, knowledge: bool = True) -> ExtractionReport:
    """Extract knowledge points of the database's items with ``extractor`` and store them.

    Args:
        db: an open :class:`~kgrec_neo4j.core.db.Database`.
        extractor: has ``.name`` and ``.extract(items) -> results`` (offline or LLM).
        limit: extract at most this many items (those not done yet, in id order).
        batch_size: items per ``extract`` call and per write transaction (default: the extractor's
            ``default_batch``, else 256; the LLM extractor's is a few rounds of its requests in flight).
        progress: show a tqdm progress bar.
        item_ids: only these items.
        force: re-extract items that are already done for their current text.
        pack: the type pack (default: ``extractor.pack``, else the settings' pack of ``db``).
        run: run id stamped on the edges (default ``"<extractor>-<UTC time>"``).
        knowledge: an item extracted after the concept stage gets its ``HAS_KNOWLEDGE`` edges recomputed from its
            new mentions, and the users with an interaction on it are stamped for `kgrec update`, which computes
            their interests again, in the transaction that writes its mentions (``kgrec update`` passes ``False``:
            its own steps do both).

    Per-item failures (``ItemResult.error``, or no result for an item) are recorded on the item and
    counted; an exception raised by ``extractor.extract`` itself (endpoint down, bad configuration)
    stops the run: batches already written stay, and a rerun continues with the items not done.
    """
    batch_size = batch_size or int(getattr(extractor, "default_batch", 256))
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1 (got {batch_size})")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0 (got {limit})")
    name = getattr(extractor, "name", None)
    if not name:
        raise ValueError(f"extractor {extractor!r} has no .name")
    pack = pack or getattr(extractor, "pack", None) or load_pack(db.settings.type_pack)
    check_pack(db, pack)  # before any item is read or extracted (an LLM's work would be refused at the first write)
    run = run or f"{name}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    t0 = time.perf_counter()

    items = _read_items(db, item_ids, bool(getattr(extractor, "use_reviews", False)))
    pending: list[tuple[ItemText, str | None]] = []
    skipped = 0
    for it, hashes, dataset in items:
        if not force and f"{name}:{it.text_hash()}" in hashes:
            skipped += 1
        else:
            pending.append((it, dataset))
    if limit is not None:
        pending = pending[:limit]
    if not any(hashes for _, hashes, _ in items) and (item_ids is None or not db.value(cypher("extract/any_extracted"))):
        # the database's first extraction (`kgrec update` names its items): does the catalogue suit the pack? Every
        # item read is judged, not only the first --limit ones: a trial run of a few items is a first extraction too,
        # and after it no extraction is the first
        check_pack_fits(pack, [it.catalogue_text() for it, _, _ in items],
                        chosen=db.settings.type_pack_chosen or pack.name != DEFAULT_PACK)
    log.info("extract %s: %d items, %d already done, %d to extract", name, len(items), skipped, len(pending))
    by_dataset: dict[str | None, list[ItemText]] = {}
    for it, dataset in pending:
        by_dataset.setdefault(dataset, []).append(it)

    store = StoreReport()
    failures: Counter = Counter()
    dropped: Counter = Counter()
    failed_items: list[dict[str, str]] = []
    done_ids: list[str] = []  # extracted without error by this run (a failed item keeps an earlier extraction)
    extracted = 0
    from ..core.progress import bar as progress_bar

    with progress_bar(total=len(pending), desc=f"extract ({name})", unit="item", disable=not progress) as bar:
        for dataset, group in sorted(by_dataset.items(), key=lambda x: (x[0] is not None, x[0] or "")):
            _prepare(db, extractor, dataset, group, [it for it, _, d in items if d == dataset],
                     some=item_ids is not None)
            for chunk in batched(group, batch_size):
                results = extractor.extract(chunk)
                results = _check_results(chunk, results, name)
                for r in results:
                    if r.error is not None:
                        failures[_reason(r.error)] += 1
                        if len(failed_items) < 10:
                            failed_items.append({"item": r.item_id, "error": stored_error(r.error, db.settings,
                                                                                          limit=300)})
                    else:
                        done_ids.append(r.item_id)
                    dropped.update(r.dropped)
                store.add(write_results(db, results, extractor=name, run=run, pack=pack, batch_size=len(chunk),
                                        knowledge=knowledge))
                extracted += len(chunk)
                if failures:  # the bar counts the items gone through; the failed ones are said beside it
                    bar.set_postfix(failed=sum(failures.values()), refresh=False)
                bar.update(len(chunk))

    seconds = time.perf_counter() - t0
    dropped.update(store.dropped)
    done = store.items_done
    report = ExtractionReport(
        extractor=name, run=run, items_seen=len(items), items_done=done, items_skipped=skipped,
        items_failed=store.items_failed, items_missing=len(store.items_missing),
        points=store.mentions_written, points_by_type=dict(sorted(store.points_by_type.items())),
        points_per_item_by_type={k: round(v / done, 3) for k, v in sorted(store.points_by_type.items())} if done else {},
        points_per_item=round(store.mentions_written / done, 3) if done else 0.0,
        failures_by_reason=dict(failures), failed_items=failed_items, dropped=dict(dropped),
        mentions_created=store.mentions_created, mentions_deleted=store.mentions_deleted,
        extractor_stats=_stats(extractor), seconds=round(seconds, 2),
        items_per_second=round(extracted / seconds, 2) if seconds > 0 else 0.0,
    )
    if done:
        report.items_without_points = _items_without_points(db, done_ids, name)
    report.knowledge_recomputed, report.users_stamped = len(store.knowledge_items), len(store.users_stamped)
    return report


def _prepare(db: Database, extractor: Extractor, dataset: str | None, pending: list[ItemText],
             read: list[ItemText], *, some: bool) -> None:
    """Let an extractor that judges a phrase by how many items share it (offline) count over the items of
    ``dataset``, so that an item gets the points it gets with its dataset alone in the database. ``pending``: the
    dataset's items to extract; ``read``: its items read for this run; ``some``: only some items were asked for."""
    prepare = getattr(extractor, "prepare", None)
    by_catalogue = getattr(extractor, "prepare_catalogue", None)
    if some and callable(by_catalogue) and not getattr(extractor, "use_reviews", False):
        # some items only (`kgrec update`, --item): their support is still counted over the whole dataset, as a
        # full extraction counts it, from the other items' cached signatures (their rule pass only when missing)
        catalogue = [(str(i), h) for i, h in db.value(cypher("extract/catalogue_hashes"), dataset=dataset) or []]
        by_catalogue(catalogue, lambda ids: [it for it, _ in read_items(db, item_ids=ids)], pending)
    elif callable(prepare):
        prepare(read, keep={it.item_id for it in pending})


def _items_without_points(db: Database, ids: list[str], extractor: str) -> int:
    n = 0
    for chunk in batched(ids, 5000):
        n += db.value(
            "UNWIND $ids AS id MATCH (i:Item {id: id}) WHERE $ex IN coalesce(i.extracted_by, []) "
            "AND NOT (i)-[:MENTIONS {extractor: $ex}]->() RETURN count(i)", ids=chunk, ex=extractor) or 0
    return n


def _check_results(items: list[ItemText], results: list[ItemResult], name: str) -> list[ItemResult]:
    """One result per item: a missing result becomes a failure, a stray one is ignored."""
    by_id = {r.item_id: r for r in results}
    out = []
    for it in items:
        r = by_id.get(it.item_id)
        if r is None:
            r = ItemResult(item_id=it.item_id, text_hash=it.text_hash(),
                           error=f"no result: extractor {name!r} returned nothing for this item")
        out.append(r)
    stray = set(by_id) - {it.item_id for it in items}
    if stray:
        log.warning("extractor %s returned results for %d items it was not given; ignored", name, len(stray))
    return out


def extractor_name(settings: Settings, name: str) -> str:
    """``auto`` as the commands take it: the LLM extractor when an endpoint is configured, else the offline one."""
    if name == "auto":
        return "llm" if settings.llm_base_url else "offline"
    return name


def marked_name(settings: Settings, name: str) -> str:
    """The name the extractor ``name`` marks its items done with (``extract_hashes``, ``extract_error_by``): the LLM
    extractor's names its model, ``llm:<model>`` (:func:`~kgrec_neo4j.core.config.llm_model_name`, as
    :class:`~.llm.LLMExtractor` does), so that another model's extraction is not taken for this one's. ``kgrec update``
    and ``kgrec status`` look for it."""
    from ..core.config import llm_model_name

    return f"llm:{llm_model_name(settings)}" if name == "llm" else name


def check_extractor(settings: Settings, name: str) -> None:
    """Raise :class:`ConfigError` when the extractor ``name`` cannot run with ``settings`` (unknown, or ``"llm"``
    without an endpoint): before any work is recorded (``kgrec update`` checks it first)."""
    if name not in EXTRACTORS:
        raise ConfigError(f"unknown extractor {name!r}; expected one of {', '.join(EXTRACTORS)}")
    if name == "llm" and not settings.llm_base_url:
        raise ConfigError(
            "the LLM extractor needs an OpenAI-compatible endpoint, but KGREC_LLM_BASE_URL is not set. "
            "Set KGREC_LLM_BASE_URL (and KGREC_LLM_MODEL, OPENAI_API_KEY if the endpoint wants one), "
            "or use `--extractor offline`."
        )


def close_extractor(extractor: Extractor) -> None:
    """Close what an extractor of :func:`build_extractor` holds open (the LLM one: its HTTP pool, event loop and
    answer cache; the offline one holds nothing)."""
    close = getattr(extractor, "close", None)
    if callable(close):
        close()


def build_extractor(settings: Settings, name: str, *, pack: TypePack | None = None,
                    concurrency: int | None = None, use_reviews: bool = False):
    """The extractor called ``name`` (``"llm"`` or ``"offline"``) for ``settings``.

    Raises:
        ConfigError: unknown name, or ``"llm"`` without an endpoint (``KGREC_LLM_BASE_URL``).
    """
    check_extractor(settings, name)
    if concurrency is not None and concurrency < 1:
        raise ValueError(f"concurrency must be >= 1 (got {concurrency})")
    pack = pack or load_pack(settings.type_pack)
    if name == "offline":
        from .offline import OfflineExtractor

        return OfflineExtractor(settings, pack, use_reviews=use_reviews)
    try:
        from .llm import LLMExtractor
    except ImportError as e:
        raise KgrecError(f"the LLM extractor is not available in this installation ({e}); "
                         f"use `--extractor offline`") from e
    ex = LLMExtractor(settings, pack, concurrency=concurrency)
    if use_reviews:
        ex.use_reviews = True  # read_items then adds the review text of training interactions
    return ex
