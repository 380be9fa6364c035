"""Writing a read :class:`~kgrec_neo4j.load.read.Dataset` into Neo4j in idempotent batches."""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..core.db import Database
from ..core.errors import InputError
from ..core.resources import cypher
from .read import Format, Interaction, read
from .split import k_core, kind_sign, sample_users, split_of

log = logging.getLogger(__name__)


class LoadReport(BaseModel):
    dataset: str
    format: str
    sources: list[str]
    lines_read: int
    items_read: int
    interactions_read: int
    skipped: dict[str, int] = Field(default_factory=dict)
    issues: list[str] = Field(default_factory=list)
    users_written: int = 0
    items_written: int = 0
    interactions_written: int = 0
    splits: dict[str, int] = Field(default_factory=dict)
    seconds: float = 0.0


def load(
    db: Database,
    paths: list[Path],
    *,
    fmt: Format | None = None,
    name: str | None = None,
    strict: bool = False,
    k_core_users: int = 0,
    k_core_items: int = 0,
    max_users: int | None = None,
    seed: int = 42,
    batch_size: int = 5000,
    progress: Callable[[str, int, int], None] | None = None,
) -> LoadReport:
    """Read, validate, filter, split and write a dataset; return the report.

    ``progress(stage, done, total)`` is called after each written batch.
    """
    t0 = time.perf_counter()
    ds = read(paths, fmt=fmt, name=name)
    if not ds.interactions:
        raise InputError(
            f"no valid interactions were read ({ds.lines_read} lines, {sum(ds.skipped.values())} skipped"
            + (f"; first problem: {ds.issues[0]}" if ds.issues else "; the files are empty")
            + "); nothing was written", source=", ".join(ds.sources))
    if strict and ds.skipped:
        first = "; ".join(map(str, ds.issues[:5]))
        raise InputError(f"--strict: {sum(ds.skipped.values())} bad record(s), nothing was written. First: {first}",
                         source=", ".join(ds.sources))
    xs = ds.interactions
    if k_core_users or k_core_items:
        xs = k_core(xs, k_core_users, k_core_items)
    if max_users:
        xs = sample_users(xs, max_users, seed)
    filtered = bool(k_core_users or k_core_items or max_users)
    item_ids = {x.item for x in xs} if filtered else set(ds.items)

    by_user: dict[str, list[Interaction]] = defaultdict(list)
    for x in xs:
        by_user[x.user].append(x)
    rows: list[dict[str, Any]] = []
    splits: Counter[str] = Counter()
    for u in sorted(by_user):
        ux = sorted(by_user[u], key=lambda x: x.seq)
        for pos, x in enumerate(ux):
            split = split_of(len(ux), pos)
            kind, sign = kind_sign(x.rating)
            splits[split] += 1
            rows.append({"user": x.user, "item": x.item, "seq": x.seq, "rating": x.rating, "timestamp": x.timestamp,
                         "review_title": x.review_title, "review_text": x.review_text, "split": split,
                         "kind": kind, "sign": sign})
    report = LoadReport(dataset=ds.name, format=ds.format, sources=ds.sources, lines_read=ds.lines_read,
                        items_read=len(ds.items), interactions_read=len(ds.interactions),
                        skipped=dict(ds.skipped), issues=[str(i) for i in ds.issues], splits=dict(splits))

    def status(s: str) -> None:
        db.write(cypher("load/dataset"), name=ds.name, format=ds.format, sources=ds.sources, status=s,
                 users=len(by_user), items=len(item_ids), interactions=len(rows))

    status("loading")
    item_rows = [{k: v for k, v in ds.items[i].items() if k != "_line"} for i in sorted(item_ids)]
    user_rows = [{"id": u, "n": len(v)} for u, v in sorted(by_user.items())]
    for stage, query, data in (("items", "load/items", item_rows), ("users", "load/users", user_rows),
                               ("interactions", "load/interactions", rows)):
        done = 0

        def tick(n: int, stage=stage, total=len(data)) -> None:
            nonlocal done
            done += n
            if progress:
                progress(stage, done, total)

        written = db.write_batches(cypher(query), data, batch_size=batch_size,
                                   params={"dataset": ds.name}, on_batch=tick)
        setattr(report, f"{stage}_written", written)
    status("loaded")
    report.seconds = round(time.perf_counter() - t0, 2)
    log.info("loaded %s: %d users, %d items, %d interactions in %.1fs", ds.name, report.users_written,
             report.items_written, report.interactions_written, report.seconds)
    return report
