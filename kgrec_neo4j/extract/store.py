"""Store extraction results: ``(:Item)-[:MENTIONS {confidence, extractor, run}]->(:Mention {type, key, text})``.

One write transaction per batch of results does, all or nothing:

1. refuse the batch if a point's type is not a ``(:KnowledgeType)`` of the database
   (:func:`kgrec_neo4j.core.schema.refuse_unknown_types`; the error names the type and the allowed ones);
2. delete the ``MENTIONS`` edges from this extractor of the batch's items extracted without error (an item's
   mentions are replaced atomically, so a rerun gives the same graph);
3. ``MERGE`` each mention by ``(type, key)`` (``text`` = the first surface form seen) and its edge;
4. mark done items (``extracted_by``, ``text_hash``, ``extract_hashes`` = ``["<extractor>:<hash>"]``)
   and failed items (``extract_error``, ``extract_error_by``, ``extract_failed_at``). Nothing of a failed
   answer is written, and a failed item keeps what an earlier extraction of this extractor stored, whole: its
   mentions and the ``extract_hashes`` entry naming the text they came from. So a failed re-extraction (new
   text, ``--force``, a flaky endpoint) loses no knowledge; an item whose current text is not done is
   retried by the next run;
5. delete mentions that no item mentions any more.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from pydantic import BaseModel, Field

from ..core.config import stored_error
from ..core.db import Database, batched
from ..core.resources import cypher
from ..core.schema import TypePack, refuse_unknown_types
from .base import MAX_VALUE_WORDS, ItemResult, mention_key

log = logging.getLogger(__name__)


class StoreReport(BaseModel):
    """What :func:`write_results` wrote.

    Attributes:
        items_done: items whose mentions were written (possibly zero mentions).
        items_failed: items recorded as failed (``extract_error`` set).
        items_missing: result item ids with no ``(:Item)`` in the database (nothing written for them).
        mentions_written: ``MENTIONS`` edges written.
        mentions_created: new ``(:Mention)`` nodes.
        mentions_deleted: mentions removed because no item mentions them any more.
        points_by_type: points written per type.
        dropped: points not written, by reason (``empty_value``, ``too_long``, ``duplicate``).
        batches: write transactions committed.
        knowledge_items: items extracted after the concept stage whose ``HAS_KNOWLEDGE`` edges were recomputed.
        users_stamped: the users of those whose knowledge changed, stamped for ``kgrec update`` (interests to
            compute again).
    """

    items_done: int = 0
    items_failed: int = 0
    items_missing: list[str] = Field(default_factory=list)
    mentions_written: int = 0
    mentions_created: int = 0
    mentions_deleted: int = 0
    points_by_type: dict[str, int] = Field(default_factory=dict)
    dropped: dict[str, int] = Field(default_factory=dict)
    batches: int = 0
    knowledge_items: list[str] = Field(default_factory=list)
    users_stamped: set[str] = Field(default_factory=set)

    def add(self, other: StoreReport) -> None:
        self.knowledge_items += other.knowledge_items
        self.users_stamped |= other.users_stamped
        self.items_done += other.items_done
        self.items_failed += other.items_failed
        self.items_missing += other.items_missing
        self.mentions_written += other.mentions_written
        self.mentions_created += other.mentions_created
        self.mentions_deleted += other.mentions_deleted
        self.batches += other.batches
        for src, dst in ((other.points_by_type, self.points_by_type), (other.dropped, self.dropped)):
            for k, v in src.items():
                dst[k] = dst.get(k, 0) + v


def mention_rows(results: list[ItemResult]) -> tuple[list[dict[str, Any]], Counter]:
    """Rows for ``write_mentions.cypher``: one per (item, type, key), the most confident point kept."""
    dropped: Counter = Counter()
    best: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in results:
        if r.error is not None:
            continue
        for p in r.points:
            text = " ".join(p.value.split())
            key = mention_key(text)
            if not key:
                dropped["empty_value"] += 1
                continue
            if len(text.split()) > MAX_VALUE_WORDS:
                dropped["too_long"] += 1
                continue
            k = (r.item_id, p.type, key)
            row = {"item_id": r.item_id, "type": p.type, "key": key, "text": text,
                   "confidence": float(p.confidence)}
            if k in best:
                dropped["duplicate"] += 1
                if row["confidence"] <= best[k]["confidence"]:
                    continue
            best[k] = row
    return list(best.values()), dropped


def write_results(db: Database, results: list[ItemResult], *, extractor: str, run: str, pack: TypePack,
                  batch_size: int = 256, knowledge: bool = True) -> StoreReport:
    """Write ``results`` of ``extractor`` in batches of ``batch_size`` items, one transaction each. With
    ``knowledge``, an item extracted after the concept stage (it had ``HAS_KNOWLEDGE`` edges, or a mention of it
    has a concept) gets them recomputed from its new mentions in the same transaction (the edges of values it lost
    went on pointing at their concepts), and its users stamped for ``kgrec update``, which computes their interests
    again; ``kgrec update`` does both in its own steps.

    Raises:
        UnknownTypeError: a point's type is outside ``pack`` or the database's knowledge types; the
            batch is refused whole (earlier batches stay written).
        ValueError: ``extractor`` or ``run`` is empty, or ``batch_size`` < 1.
    """
    if not extractor or not run:
        raise ValueError(f"extractor and run must be non-empty (got extractor={extractor!r}, run={run!r})")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1 (got {batch_size})")
    report = StoreReport()
    for chunk in batched(results, batch_size):
        report.add(_write_batch(db, chunk, extractor=extractor, run=run, pack=pack, knowledge=knowledge))
    return report


def _write_batch(db: Database, results: list[ItemResult], *, extractor: str, run: str, pack: TypePack,
                 knowledge: bool = True) -> StoreReport:
    rows, dropped = mention_rows(results)
    types = sorted({r["type"] for r in rows})
    pack.check(types)  # fails before opening a transaction; the database check below is the authority
    ids = list(dict.fromkeys(r.item_id for r in results))
    last: dict[str, ItemResult] = {r.item_id: r for r in results}  # one result per item: the last one wins
    done = [{"item_id": i, "text_hash": last[i].text_hash} for i in ids if last[i].error is None]
    failed = [{"item_id": i, "error": stored_error(last[i].error, db.settings), "text_hash": last[i].text_hash}
              for i in ids if last[i].error is not None]
    failed_ids = {f["item_id"] for f in failed}
    rows = [r for r in rows if r["item_id"] not in failed_ids]

    def work(tx) -> StoreReport:
        refuse_unknown_types(tx, types)
        found = set(tx.run(cypher("extract/existing_items"), ids=ids).single()["found"])
        old = tx.run(cypher("extract/clear_mentions"), ids=[d["item_id"] for d in done],
                     extractor=extractor).single()["old"]
        c = tx.run(cypher("extract/write_mentions"), rows=rows, extractor=extractor, run=run).consume().counters
        tx.run(cypher("extract/mark_done"), rows=done, extractor=extractor).consume()
        tx.run(cypher("extract/mark_failed"), rows=failed, extractor=extractor).consume()
        deleted = tx.run(cypher("extract/delete_orphans"), old=old).single()["deleted"] if old else 0
        again: list[str] = []
        stamped: list[str] = []
        changed: list[str] = []
        if knowledge and done:
            again = tx.run(cypher("extract/items_with_knowledge"), ids=[d["item_id"] for d in done]).single()["ids"]
            if again:
                before = {r[0]: r[1] for r in tx.run(cypher("extract/knowledge_of"), ids=again).single()["rows"]}
                tx.run(cypher("concepts/item_knowledge"), ids=again,
                       min_confidence=db.settings.min_confidence).consume()
                after = {r[0]: (r[1], r[2]) for r in tx.run(cypher("extract/knowledge_of"), ids=again).single()["rows"]}
                # the users of the items whose knowledge changed, or may change when the next update places a value
                # it mentions, stamped in the same transaction (a run stopped later loses nothing): `kgrec update`
                # computes their interests again (every user of the item: a few more than the train ones); an item
                # whose knowledge came out the same changes no interest
                changed = [i for i in again if i not in after or before.get(i) != after[i][0] or after[i][1]]
            # an item without knowledge yet that now mentions a value the next update places gets knowledge then
            seen = set(again)
            rest = [d["item_id"] for d in done if d["item_id"] not in seen]
            if rest:
                changed += [r[0] for r in tx.run(cypher("extract/knowledge_of"), ids=rest).single()["rows"] if r[2]]
            if changed:
                ingest = tx.run(cypher("load/next_ingest")).single()["ingest"]
                stamped = tx.run(cypher("update/stamp_item_users"), ids=changed, ingest=ingest,
                                 every_split=True).single()["ids"]
        written = [r for r in rows if r["item_id"] in found]
        return StoreReport(
            items_done=sum(1 for d in done if d["item_id"] in found),
            items_failed=sum(1 for f in failed if f["item_id"] in found),
            items_missing=[i for i in ids if i not in found],
            mentions_written=len(written),
            mentions_created=c.nodes_created,
            mentions_deleted=deleted,
            points_by_type=dict(Counter(r["type"] for r in written)),
            dropped={k: v for k, v in dropped.items() if v},
            batches=1,
            knowledge_items=list(again),
            users_stamped=set(stamped),
        )

    rep = db.write_tx(work)
    if rep.items_missing:
        log.warning("%d result items are not in the database (first: %s); nothing written for them",
                    len(rep.items_missing), rep.items_missing[0])
    return rep
