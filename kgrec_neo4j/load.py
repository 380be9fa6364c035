"""Load items, users and interactions into Neo4j from three formats.

Formats (all with real samples in ``../shared/data``):

- ``generic``: ``items.jsonl[.gz]`` + ``interactions.jsonl[.gz]`` (see ``docs/graph-model.md``);
- ``amazon2018``: reviews (``reviewerID, asin, overall, unixReviewTime, reviewText, summary``) and an
  optional ``meta_*`` file (``asin, title, description, feature, brand, category``);
- ``amazon2023``: reviews (``user_id, parent_asin, rating, timestamp`` in ms, ``title, text``) and an
  optional ``meta_*`` file (``parent_asin, title, features, description, store, categories, details``).

Reading is separate from writing: records are parsed and validated first (each bad line is reported
with file, line and reason, counted and skipped; ``strict`` refuses the whole input before anything
is written), then optionally filtered (iterative k-core, a user sample), split last-two-out per user
in ``seq`` order, and written in batches of idempotent ``UNWIND … MERGE`` queries. A load killed half
way and run again ends in the same graph as an uninterrupted one.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import math
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, Field

from . import resources
from .errors import InputError

try:  # orjson parses the 450k-line files ~3x faster; the stdlib parser is the fallback
    from orjson import JSONDecodeError as _JSONError, loads as _loads
except ImportError:  # pragma: no cover
    from json import JSONDecodeError as _JSONError, loads as _loads

log = logging.getLogger(__name__)

Format = Literal["generic", "amazon2018", "amazon2023"]
MAX_LINE_BYTES = 1_000_000
MAX_ISSUES_KEPT = 50


class Interaction(NamedTuple):
    user: str
    item: str
    seq: int
    rating: float | None
    timestamp: int | None
    review_title: str | None
    review_text: str | None


@dataclass
class Issue:
    source: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}" if self.line is not None else f"{self.source}: {self.reason}"


@dataclass
class Dataset:
    """What was read: items by id, interactions, and every problem met on the way."""

    name: str
    format: str
    sources: list[str]
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    interactions: list[Interaction] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    lines_read: int = 0

    def issue(self, source: str, line: int | None, reason: str, kind: str) -> None:
        self.skipped[kind] += 1
        if len(self.issues) < MAX_ISSUES_KEPT:
            self.issues.append(Issue(source, line, reason))
        log.debug("skipped %s:%s: %s", source, line, reason)


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


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------

def _lines(path: Path, ds: Dataset) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, parsed_json)``; bad lines become issues. Handles .gz (truncation too)."""
    src = str(path)
    try:
        fh = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    except OSError as e:
        raise InputError(f"cannot open file: {e.strerror or e}", source=src) from None
    n = 0
    with fh:
        try:
            for n, raw in enumerate(fh, start=1):
                ds.lines_read += 1
                if len(raw) > MAX_LINE_BYTES:
                    ds.issue(src, n, f"line of {len(raw):,} bytes exceeds the limit of {MAX_LINE_BYTES:,}", "line too long")
                    continue
                if not raw.strip():
                    ds.issue(src, n, "empty line", "empty line")
                    continue
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    ds.issue(src, n, f"not valid UTF-8 at byte {e.start}; re-encode the file as UTF-8", "not utf-8")
                    continue
                try:
                    obj = _loads(raw)
                except _JSONError as e:
                    ds.issue(src, n, f"malformed JSON ({str(e).replace('line 1 column', 'column')})", "malformed json")
                    continue
                if not isinstance(obj, dict):
                    ds.issue(src, n, f"expected a JSON object, got {type(obj).__name__}", "wrong type")
                    continue
                yield n, obj
        except (EOFError, zlib.error, gzip.BadGzipFile) as e:
            ds.issue(src, n + 1, f"compressed stream is truncated or corrupt after line {n} ({e}); "
                                 f"the lines before it were read", "truncated gzip")
        except OSError as e:
            ds.issue(src, n + 1, f"read error after line {n}: {e}", "unreadable file")


def _str(v: Any, name: str, *, required: bool = False) -> str | None:
    if v is None:
        if required:
            raise ValueError(f"missing required field {name!r}")
        return None
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise ValueError(f"field {name!r} must be a string (got {type(v).__name__})")
    s = str(v)
    if required and not s.strip():
        raise ValueError(f"field {name!r} is empty")
    return s


def _strlist(v: Any, name: str) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [v] if v.strip() else []
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ValueError(f"field {name!r} must be a list of strings (got {type(v).__name__})")
    return [x for x in v if x.strip()]


def _num(v: Any, name: str) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and math.isnan(v)):
        raise ValueError(f"field {name!r} must be a number or null (got {v!r})")
    return float(v)


def _int(v: Any, name: str, *, required: bool = False) -> int | None:
    if v is None:
        if required:
            raise ValueError(f"missing required field {name!r}")
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        raise ValueError(f"field {name!r} must be an integer (got {v!r})")
    return v


def _add_item(ds: Dataset, src: str, n: int, item: dict[str, Any]) -> None:
    prev = ds.items.get(item["id"])
    if prev is None:
        item["_line"] = f"{src}:{n}"
        ds.items[item["id"]] = item
        return
    same = all(prev.get(k) == item.get(k) for k in ("title", "description", "features", "categories", "brand"))
    if not same:
        ds.issue(src, n, f"duplicate item id {item['id']!r} with different fields; kept the first ({prev['_line']})",
                 "duplicate item")


def _item_record(ds: Dataset, src: str, n: int, obj: dict, *, id_field: str, title="title",
                 description="description", features="features", categories="categories", brand="brand") -> None:
    try:
        item = {
            "id": _str(obj.get(id_field), id_field, required=True),
            "title": _str(obj.get(title), title),
            "description": _strlist(obj.get(description), description),
            "features": _strlist(obj.get(features), features),
            "categories": _strlist(obj.get(categories), categories),
            "brand": _str(obj.get(brand), brand),
        }
    except ValueError as e:
        ds.issue(src, n, str(e), "invalid record")
        return
    _add_item(ds, src, n, item)


def _rating(v: float | None) -> float | None:
    if v is not None and not (0 <= v <= 5):
        raise ValueError(f"rating must be between 0 and 5 (got {v})")
    return v


def read_generic(items_path: Path, interactions_path: Path, *, name: str) -> Dataset:
    ds = Dataset(name=name, format="generic", sources=[str(items_path), str(interactions_path)])
    src = str(items_path)
    for n, obj in _lines(items_path, ds):
        _item_record(ds, src, n, obj, id_field="item_id")
    src = str(interactions_path)
    seen: dict[tuple[str, int], int] = {}
    for n, obj in _lines(interactions_path, ds):
        try:
            user = _str(obj.get("user_id"), "user_id", required=True)
            item = _str(obj.get("item_id"), "item_id", required=True)
            seq = _int(obj.get("seq"), "seq", required=True)
            rating = _rating(_num(obj.get("rating"), "rating"))
            ts = _int(obj.get("timestamp"), "timestamp")
            rt = _str(obj.get("review_title"), "review_title")
            rx = _str(obj.get("review_text"), "review_text")
        except ValueError as e:
            ds.issue(src, n, str(e), "invalid record")
            continue
        if item not in ds.items:
            ds.issue(src, n, f"item {item!r} is not in {items_path.name}", "unknown item")
            continue
        if (user, seq) in seen:
            ds.issue(src, n, f"user {user!r} already has seq {seq} (line {seen[user, seq]})", "duplicate interaction")
            continue
        seen[user, seq] = n
        ds.interactions.append(Interaction(user, item, seq, rating, ts, rt, rx))
    return ds


def _reviews(ds: Dataset, path: Path, *, user: str, item: str, rating: str, ts: str, ts_scale: float,
             title: str, text: str) -> None:
    """Amazon review files: seq is assigned later from (timestamp, file order)."""
    src = str(path)
    for n, obj in _lines(path, ds):
        try:
            u = _str(obj.get(user), user, required=True)
            i = _str(obj.get(item), item, required=True)
            r = _rating(_num(obj.get(rating), rating))
            t = _int(obj.get(ts), ts)
            rt = _str(obj.get(title), title)
            rx = _str(obj.get(text), text)
        except ValueError as e:
            ds.issue(src, n, str(e), "invalid record")
            continue
        if i not in ds.items:
            ds.items[i] = {"id": i, "title": None, "description": [], "features": [], "categories": [],
                           "brand": None, "_line": f"{src}:{n}"}
        ds.interactions.append(Interaction(u, i, n, r, None if t is None else int(t / ts_scale), rt, rx))
    # chronological seq per user; ties keep file order
    by_user: dict[str, list[Interaction]] = defaultdict(list)
    for x in ds.interactions:
        by_user[x.user].append(x)
    out = []
    for u, xs in by_user.items():
        xs.sort(key=lambda x: (x.timestamp if x.timestamp is not None else -1, x.seq))
        out += [x._replace(seq=k) for k, x in enumerate(xs)]
    ds.interactions = out


def read_amazon2018(reviews: Path, meta: Path | None, *, name: str) -> Dataset:
    ds = Dataset(name=name, format="amazon2018", sources=[str(p) for p in (reviews, meta) if p])
    if meta:
        for n, obj in _lines(meta, ds):
            _item_record(ds, str(meta), n, obj, id_field="asin", features="feature", categories="category")
    _reviews(ds, reviews, user="reviewerID", item="asin", rating="overall", ts="unixReviewTime", ts_scale=1,
             title="summary", text="reviewText")
    return ds


def read_amazon2023(reviews: Path, meta: Path | None, *, name: str) -> Dataset:
    ds = Dataset(name=name, format="amazon2023", sources=[str(p) for p in (reviews, meta) if p])
    if meta:
        for n, obj in _lines(meta, ds):
            details, features = obj.get("details"), obj.get("features")
            if isinstance(details, dict) and isinstance(features or [], list):  # details as "key: value" features
                extra = [f"{k}: {v}" for k, v in details.items() if isinstance(v, (str, int, float))]
                obj = {**obj, "features": [*(features or []), *extra]}
            _item_record(ds, str(meta), n, obj, id_field="parent_asin", brand="store")
    _reviews(ds, reviews, user="user_id", item="parent_asin", rating="rating", ts="timestamp", ts_scale=1000,
             title="title", text="text")
    return ds


def _find(folder: Path, stem: str) -> Path | None:
    for suffix in (".jsonl.gz", ".jsonl", ".json.gz", ".json"):
        p = folder / f"{stem}{suffix}"
        if p.is_file():
            return p
    return None


def detect(paths: list[Path]) -> tuple[Format, dict[str, Path | None]]:
    """Find the format and files from a folder or explicit files."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if ".json" in f.name)
        elif p.is_file():
            files.append(p)
        else:
            raise InputError("no such file or folder", source=str(p))
    if not files:
        raise InputError("no .json/.jsonl[.gz] files found", source=", ".join(map(str, paths)))
    names = {f.name.split(".")[0]: f for f in files}
    for f in files:
        if not f.is_file():
            raise InputError("is not a regular file; expected a .jsonl or .jsonl.gz file", source=str(f))
    if "items" in names and "interactions" in names:
        return "generic", {"items": names["items"], "interactions": names["interactions"]}
    if "items" in names or "interactions" in names:
        have, missing = ("items", "interactions") if "items" in names else ("interactions", "items")
        raise InputError(f"found {names[have].name} but no {missing}.jsonl[.gz] beside it (the generic format needs both)",
                         source=str(names[have].parent))
    meta = next((f for n, f in names.items() if n.startswith("meta")), None)
    reviews = [f for n, f in names.items() if not n.startswith("meta")]
    if len(reviews) != 1:
        raise InputError(
            f"cannot tell the format from {[f.name for f in files]}: expected items.jsonl + interactions.jsonl "
            f"(generic), or one review file with an optional meta_* file (Amazon 2018/2023); pass --format",
            source=str(paths[0]))
    with (gzip.open(reviews[0], "rt", errors="replace") if reviews[0].suffix == ".gz" else open(reviews[0], errors="replace")) as fh:
        head = fh.readline()
    try:
        first = json.loads(head)
    except json.JSONDecodeError:
        raise InputError("first line is not JSON; cannot detect the format (pass --format)", source=str(reviews[0]), line=1) from None
    if "reviewerID" in first:
        return "amazon2018", {"reviews": reviews[0], "meta": meta}
    if "user_id" in first and "parent_asin" in first:
        return "amazon2023", {"reviews": reviews[0], "meta": meta}
    raise InputError(f"unknown review format (keys {sorted(first)[:8]}); pass --format", source=str(reviews[0]), line=1)


def read(paths: list[Path], *, fmt: Format | None = None, name: str | None = None) -> Dataset:
    """Read and validate a dataset from a folder or files (format detected unless given)."""
    paths = [Path(p) for p in paths]
    found_fmt, files = detect(paths)
    fmt = fmt or found_fmt
    if fmt != found_fmt:
        raise InputError(f"files look like {found_fmt}, not {fmt}", source=str(paths[0]))
    name = name or (paths[0].name if paths[0].is_dir() else paths[0].parent.name)
    if fmt == "generic":
        return read_generic(files["items"], files["interactions"], name=name)
    if fmt == "amazon2018":
        return read_amazon2018(files["reviews"], files["meta"], name=name)
    return read_amazon2023(files["reviews"], files["meta"], name=name)


# --------------------------------------------------------------------------------------------
# filtering and splitting
# --------------------------------------------------------------------------------------------

def k_core(interactions: list[Interaction], k_user: int, k_item: int) -> list[Interaction]:
    """Iteratively drop users with < k_user and items with < k_item interactions."""
    xs = interactions
    while True:
        uc = Counter(x.user for x in xs)
        ic = Counter(x.item for x in xs)
        kept = [x for x in xs if uc[x.user] >= k_user and ic[x.item] >= k_item]
        if len(kept) == len(xs):
            return kept
        xs = kept


def sample_users(interactions: list[Interaction], n: int, seed: int) -> list[Interaction]:
    """Keep the interactions of ``n`` users chosen by a seeded hash (stable across runs)."""
    users = sorted({x.user for x in interactions},
                   key=lambda u: hashlib.sha1(f"{seed}:{u}".encode()).hexdigest())
    keep = set(users[:n])
    return [x for x in interactions if x.user in keep]


def split_of(n_user: int, position: int) -> str:
    """Last-two-out: the last interaction is test, the one before it valid (users with ≥ 3)."""
    if n_user >= 3:
        if position == n_user - 1:
            return "test"
        if position == n_user - 2:
            return "valid"
    return "train"


def kind_sign(rating: float | None) -> tuple[str, int]:
    """Rating baseline: ≥4 like +1, ≤2 dislike −1, 3 mixed 0, no rating implicit +1."""
    if rating is None:
        return "implicit", 1
    if rating >= 4:
        return "like", 1
    if rating <= 2:
        return "dislike", -1
    return "mixed", 0


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------

def load(
    db,
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
    rows, splits = [], Counter()
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
        db.write(resources.cypher("load/dataset"), name=ds.name, format=ds.format, sources=ds.sources, status=s,
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

        written = db.write_batches(resources.cypher(query), data, batch_size=batch_size,
                                   params={"dataset": ds.name}, on_batch=tick)
        setattr(report, f"{stage}_written", written)
    status("loaded")
    report.seconds = round(time.perf_counter() - t0, 2)
    log.info("loaded %s: %d users, %d items, %d interactions in %.1fs", ds.name, report.users_written,
             report.items_written, report.interactions_written, report.seconds)
    return report
