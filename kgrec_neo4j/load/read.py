"""Reading the three input formats into a :class:`Dataset` of validated records; every bad line is reported
with file, line and reason."""

from __future__ import annotations

import gzip
import json
import logging
import math
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, overload

from ..core.errors import InputError
from ..core.texthash import TEXT_FIELDS

_loads: Callable[[bytes], Any]
_JSONError: type[ValueError]
try:  # orjson parses the 450k-line files ~3x faster; the stdlib parser is the fallback
    import orjson

    _loads, _JSONError = orjson.loads, orjson.JSONDecodeError
except ImportError:  # pragma: no cover
    _loads, _JSONError = json.loads, json.JSONDecodeError

log = logging.getLogger(__name__)


Format = Literal["generic", "amazon2018", "amazon2023"]
LIST_FIELDS = ("description", "features", "categories")  # (lists of strings; the others are strings)
MAX_LINE_BYTES = 1_000_000
MAX_ISSUES_KEPT = 50
INT64 = (-(2**63), 2**63 - 1)  # what Neo4j stores as an integer
_CHUNK = 1 << 16


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
    #: item records refused (an invalid field) whose id could be read: id -> line
    refused_items: dict[str, int] = field(default_factory=dict)

    def issue(self, source: str, line: int | None, reason: str, kind: str) -> None:
        self.skipped[kind] += 1
        if len(self.issues) < MAX_ISSUES_KEPT:
            self.issues.append(Issue(source, line, reason))
        log.debug("skipped %s:%s: %s", source, line, reason)


def bounded_lines(fh: Any, limit: int = MAX_LINE_BYTES) -> Iterator[tuple[bytes, int]]:
    """``(line, length)`` per line of a binary file, never holding more than ``limit + 1`` bytes of one line: a longer
    line is read on in chunks and given as ``(b"", its length)`` (a one-line gzip bomb costs no memory)."""
    while True:
        raw = fh.readline(limit + 1)
        if not raw:
            return
        if len(raw) <= limit or raw.endswith(b"\n"):
            yield raw, len(raw)
            continue
        size = len(raw)
        while True:  # skip the rest of the overlong line
            more = fh.readline(_CHUNK)
            size += len(more)
            if not more or more.endswith(b"\n"):
                break
        yield b"", size


def _lines(path: Path, ds: Dataset) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, parsed_json)``; bad lines become issues. Handles .gz (truncation too). No line longer
    than :data:`MAX_LINE_BYTES` is ever held in memory."""
    src = str(path)
    try:
        fh = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    except OSError as e:
        raise InputError(f"cannot open file: {e.strerror or e}", source=src) from None
    n = 0
    with fh:
        try:
            for n, (raw, size) in enumerate(bounded_lines(fh), start=1):
                ds.lines_read += 1
                if size > MAX_LINE_BYTES:
                    ds.issue(src, n, f"line of {size:,} bytes exceeds the limit of {MAX_LINE_BYTES:,}", "line too long")
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
                    obj = _loads(raw.rstrip(b"\r\n"))  # (with the line break, a cut line reads as "line 2 column 1")
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


@overload
def _str(v: Any, name: str, *, required: Literal[True]) -> str: ...
@overload
def _str(v: Any, name: str, *, required: bool = False) -> str | None: ...
def _str(v: Any, name: str, *, required: bool = False) -> str | None:
    if v is None:
        if required:
            raise ValueError(f"missing required field {name!r}")
        return None
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise ValueError(f"field {name!r} must be a string (got {type(v).__name__})")
    if isinstance(v, int) and not INT64[0] <= v <= INT64[1]:
        raise ValueError(f"field {name!r} must be a string (got {_short(v)})")
    s = str(v)
    if required and not s.strip():
        raise ValueError(f"field {name!r} is empty")
    if required and s != s.strip():  # (an id: 'MU5 ' was a second user beside 'MU5')
        raise ValueError(f"field {name!r} starts or ends with a space ({s!r}): an id is compared exactly, so it "
                         f"would name another one than {s.strip()!r}; remove the spaces")
    return s


def _strlist(v: Any, name: str) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [v] if v.strip() else []
    if not isinstance(v, list):
        raise ValueError(f"field {name!r} must be a list of strings (got {type(v).__name__})")
    k = next((k for k, x in enumerate(v) if not isinstance(x, str)), None)
    if k is not None:  # which element: "(got list)" of a list said nothing
        what = "null" if v[k] is None else f"{type(v[k]).__name__} {_short(v[k])}"
        raise ValueError(f"field {name!r} must be a list of strings (got a list with {what}, item {k + 1})")
    return [x for x in v if x.strip()]


def _num(v: Any, name: str) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"field {name!r} must be a number or null (got {_short(v)})")
    try:
        f = float(v)
    except OverflowError:
        f = math.inf
    if not math.isfinite(f):
        raise ValueError(f"field {name!r} must be a finite number or null (got {_short(v)})")
    return f


def _short(v: Any, n: int = 40) -> str:
    """``repr(v)`` cut to ``n`` characters (a huge value is named, not printed)."""
    try:
        r = repr(v)
    except ValueError:  # an int past Python's digit limit for str()
        return f"an integer of more than {len(hex(v)) * 4 // 5} digits"
    return r if len(r) <= n else r[:n] + f"... ({len(r)} characters)"


@overload
def _int(v: Any, name: str, *, required: Literal[True]) -> int: ...
@overload
def _int(v: Any, name: str, *, required: bool = False) -> int | None: ...
def _int(v: Any, name: str, *, required: bool = False) -> int | None:
    if v is None:
        if required:
            raise ValueError(f"missing required field {name!r}")
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        if not (isinstance(v, float) and v.is_integer()):
            raise ValueError(f"field {name!r} must be an integer (got {_short(v)})")
        if abs(v) >= 2**53:  # a float this large is not an exact integer (JSON parsers turn huge ints into floats)
            raise ValueError(f"field {name!r} must be an integer between -2^63 and 2^63 - 1, the range Neo4j "
                             f"stores (got {_short(v)})")
        v = int(v)
    if not INT64[0] <= v <= INT64[1]:
        raise ValueError(f"field {name!r} must be an integer between -2^63 and 2^63 - 1, the range Neo4j stores "
                         f"(got {_short(v)})")
    return v


def _add_item(ds: Dataset, src: str, n: int, item: dict[str, Any]) -> None:
    prev = ds.items.get(item["id"])
    if prev is None:
        item["_line"] = f"{src}:{n}"
        ds.items[item["id"]] = item
        return
    same = all(prev.get(k) == item.get(k) for k in TEXT_FIELDS)
    if not same:
        ds.issue(src, n, f"duplicate item id {item['id']!r} with different fields; kept the first ({prev['_line']})",
                 "duplicate item")


def _item_record(ds: Dataset, src: str, n: int, obj: dict, *, id_field: str, title="title",
                 description="description", features="features", categories="categories", brand="brand") -> None:
    keys = dict(zip(TEXT_FIELDS, (title, description, features, categories, brand), strict=True))
    try:
        item: dict[str, Any] = {"id": _str(obj.get(id_field), id_field, required=True)}
        for f, key in keys.items():
            item[f] = (_strlist if f in LIST_FIELDS else _str)(obj.get(key), key)
    except ValueError as e:
        ds.issue(src, n, str(e), "invalid record")
        if isinstance(obj.get(id_field), str) and obj[id_field].strip():
            ds.refused_items.setdefault(obj[id_field], n)
        return
    # the text fields the record has (an append keeps the stored values of the others: kgrec_neo4j/load/write.py)
    item["_fields"] = [f for f, key in keys.items() if key in obj]
    _add_item(ds, src, n, item)


def _timestamp(v: int | None) -> int | None:
    """Seconds since 1970 (the HTTP service refuses a negative one too: docs/serving.md)."""
    if v is not None and v < 0:
        raise ValueError(f"timestamp must be 0 or more, seconds since 1970 (got {v})")
    return v


def _rating(v: float | None) -> float | None:
    if v is not None and not (0 <= v <= 5):
        raise ValueError(f"rating must be between 0 and 5 (got {v})")
    return v


def read_generic(items_path: Path | None, interactions_path: Path | None, *, name: str,
                 known_items: Container[str] | None = None) -> Dataset:
    """``known_items``: item ids already stored for this dataset (an appended interaction may name one of them).
    A missing file (``None``, an append) reads as an empty one."""
    ds = Dataset(name=name, format="generic", sources=[str(p) for p in (items_path, interactions_path) if p])
    src = str(items_path)
    for n, obj in _lines(items_path, ds) if items_path else ():
        _item_record(ds, src, n, obj, id_field="item_id")
    items_refused = sum(ds.skipped.values())  # (lines of the items file: malformed or invalid records)
    src = str(interactions_path)
    seen: dict[tuple[str, int], int] = {}
    unordered: dict[str, list[tuple[int, Interaction]]] = defaultdict(list)  # user -> (line, row) without a seq
    for n, obj in _lines(interactions_path, ds) if interactions_path else ():
        try:
            user = _str(obj.get("user_id"), "user_id", required=True)
            item = _str(obj.get("item_id"), "item_id", required=True)
            seq = _int(obj.get("seq"), "seq")
            rating = _rating(_num(obj.get("rating"), "rating"))
            ts = _timestamp(_int(obj.get("timestamp"), "timestamp"))
            rt = _str(obj.get("review_title"), "review_title")
            rx = _str(obj.get("review_text"), "review_text")
        except ValueError as e:
            ds.issue(src, n, str(e), "invalid record")
            continue
        if item not in ds.items and (known_items is None or item not in known_items):
            if item in ds.refused_items:  # (its record is there: the fix is on its own line)
                ds.issue(src, n, f"item {item!r}: its record ({items_path.name if items_path else 'items'} line "
                                 f"{ds.refused_items[item]}) was refused, as that line's issue says: fix it there",
                         "unknown item")
                continue
            listed = items_path.name if items_path else "the files (no items file)"
            where = f"{listed} nor in dataset {name!r}" if known_items is not None else listed
            refused = (f" (or fix its line, if it is one of the {items_refused} lines of {items_path.name} that were "
                       f"skipped)" if items_path and items_refused else "")
            ds.issue(src, n, f"item {item!r} is not in {where}: add its record to "
                             f"{items_path.name if items_path else 'an items.jsonl beside this file'}{refused}",
                     "unknown item")
            continue
        if seq is None:  # ordered below, with the user's other lines without one
            unordered[user].append((n, Interaction(user, item, -1, rating, ts, rt, rx)))
            continue
        if (user, seq) in seen:
            ds.issue(src, n, f"user {user!r} already has seq {seq} (line {seen[user, seq]})", "duplicate interaction")
            continue
        seen[user, seq] = n
        ds.interactions.append(Interaction(user, item, seq, rating, ts, rt, rx))
    # a user's lines without a seq (a day's new rows, written by hand or by another system) are in the order of their
    # timestamps, then of the file; a user whose other lines give one needs it on every line (which comes first?)
    with_seq: dict[str, int] = {}  # user -> the first line that gives a seq
    for (u, _), n in seen.items():
        with_seq.setdefault(u, n)
    for user, rows in unordered.items():
        if user in with_seq:
            for n, _ in rows:
                ds.issue(src, n, f"missing seq, while user {user!r} has one on line {with_seq[user]}: give every line "
                                 f"of a user a seq, or none (then its lines are ordered by timestamp, then by the "
                                 f"file)", "invalid record")
            continue
        rows.sort(key=lambda r: (r[1].timestamp if r[1].timestamp is not None else -1, r[0]))
        ds.interactions += [x._replace(seq=k) for k, (_, x) in enumerate(rows)]
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
            t = _timestamp(_int(obj.get(ts), ts))
            rt = _str(obj.get(title), title)
            rx = _str(obj.get(text), text)
        except ValueError as e:
            ds.issue(src, n, str(e), "invalid record")
            continue
        if i not in ds.items:  # an item of the reviews without metadata: no text field given
            ds.items[i] = {"id": i, "title": None, "description": [], "features": [], "categories": [],
                           "brand": None, "_line": f"{src}:{n}", "_fields": []}
        ds.interactions.append(Interaction(u, i, n, r, None if t is None else int(t / ts_scale), rt, rx))
    # chronological seq per user; ties keep file order
    by_user: dict[str, list[Interaction]] = defaultdict(list)
    for x in ds.interactions:
        by_user[x.user].append(x)
    out = []
    for xs in by_user.values():
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


def _first_record(path: Path) -> Any:
    """The first line of a JSON-lines file, parsed (None when it cannot be read or is not JSON)."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            head = next(bounded_lines(fh), (b"", 0))[0]
        return _loads(head)
    except (_JSONError, EOFError, OSError, zlib.error):
        return None


def detect(paths: list[Path], *, one_generic_file: bool = False, fmt: Format | None = None
           ) -> tuple[Format, dict[str, Path | None]]:
    """Find the format and files from a folder or explicit files. ``one_generic_file``: the generic format may have
    only one of its two files (an append of interactions, or of items, alone). ``fmt`` (``--format``): the format
    of a review file whose first line tells none (not JSON, or keys of neither Amazon format); its lines are then
    read and reported one by one."""
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
    for f in files:
        if not f.is_file():
            raise InputError("is not a regular file; expected a .jsonl or .jsonl.gz file", source=str(f))
    names: dict[str, Path] = {}
    for f in files:  # two days' folders, or a file beside its .gz copy: the second one silently replaced the first
        stem = f.name.split(".")[0]
        if stem in names and names[stem].resolve() == f.resolve():  # one file named twice (a folder and its file)
            continue
        if stem in names:
            raise InputError(
                f"two files named {stem}.* ({names[stem]} and {f}): a load reads one of each; load the folders one at "
                f"a time (the first, then a day's new rows with --append), or remove the extra copy; nothing was "
                f"written", source=str(f))
        names[stem] = f
    if "items" in names and "interactions" in names:
        return "generic", {"items": names["items"], "interactions": names["interactions"]}
    if "items" in names or "interactions" in names:
        if one_generic_file:
            return "generic", {"items": names.get("items"), "interactions": names.get("interactions")}
        have, missing = ("items", "interactions") if "items" in names else ("interactions", "items")
        beside = _find(names[have].parent, missing)
        if beside is not None:  # only one of the folder's two files was named
            raise InputError(f"only {names[have].name} was given; the generic format reads it with {beside} beside "
                             f"it: pass the folder (`kgrec load {names[have].parent}`) or both files (with --append, "
                             f"to a stored dataset, either may be alone)", source=str(names[have]))
        raise InputError(f"found {names[have].name} but no {missing}.jsonl[.gz] beside it (the generic format needs "
                         f"both; with --append, to a stored dataset, either may be alone)",
                         source=str(names[have].parent))
    metas = [f for n, f in names.items() if n.startswith("meta")]
    if len(metas) > 1:  # the first was read and the others left out without a word
        raise InputError(f"{len(metas)} product metadata files ({', '.join(f.name for f in metas)}): a load reads one "
                         f"review file with its meta_* file; load each pair by itself (a folder per category, or the "
                         f"two files named); nothing was written", source=str(metas[1]))
    meta = metas[0] if metas else None
    reviews = [f for n, f in names.items() if not n.startswith("meta")]
    if meta is not None:
        meta_keys = _first_record(meta)
        product = {"asin", "parent_asin", "title", "description", "category", "categories", "main_category"}
        if isinstance(meta_keys, dict) and not product & set(meta_keys):  # (a bad line of metadata is reported alone)
            raise InputError(f"{meta.name} is named like Amazon product metadata (meta_*), but its first record has "
                             f"keys {sorted(meta_keys)[:8]}, not 'asin' (2018) or 'parent_asin' (2023): move it out of "
                             f"the folder, or name the review file alone (`kgrec load FILE`)", source=str(meta), line=1)
    first: Any = None
    if len(reviews) == 1:
        first = _first_record(reviews[0])
        keys = first if isinstance(first, dict) else {}
        if "reviewerID" in keys:
            return "amazon2018", {"reviews": reviews[0], "meta": meta}
        if "user_id" in keys and "parent_asin" in keys:
            return "amazon2023", {"reviews": reviews[0], "meta": meta}
    if fmt == "generic":
        raise InputError(f"the generic format reads files named items.jsonl[.gz] and interactions.jsonl[.gz]; found "
                         f"{[f.name for f in files]}: rename them so", source=str(paths[0]))
    if not reviews and meta is not None:
        raise InputError(f"{meta.name} is product metadata without its review file: the Amazon formats read users and "
                         f"interactions from the reviews (e.g. Video_Games.jsonl.gz beside meta_Video_Games.jsonl.gz); "
                         f"pass the review file too, or the folder that holds both", source=str(meta))
    if len(reviews) != 1:
        raise InputError(
            f"cannot tell the format from {[f.name for f in files]}: expected items.jsonl + interactions.jsonl "
            f"(generic), or one review file with an optional meta_* file (Amazon 2018/2023); load one review file "
            f"at a time", source=str(paths[0]))
    if fmt is not None:  # the first line tells neither Amazon format: as given (each bad line is reported)
        return fmt, {"reviews": reviews[0], "meta": meta}
    if not isinstance(first, dict):
        raise InputError("first line is not JSON; cannot detect the format (pass --format)", source=str(reviews[0]),
                         line=1) from None
    if "item_id" in first and ("user_id" in first or "title" in first):
        kind = "interactions" if "user_id" in first else "items"
        raise InputError(f"its records look like the generic format's {kind} (keys {sorted(first)[:8]}), which it "
                         f"reads from files named items.jsonl[.gz] and interactions.jsonl[.gz]: name it "
                         f"{kind}.jsonl{'.gz' if reviews[0].suffix == '.gz' else ''}", source=str(reviews[0]), line=1)
    raise InputError(f"unknown review format (keys {sorted(first)[:8]}); pass --format", source=str(reviews[0]), line=1)


def dataset_name(paths: list[Path], name: str | None = None) -> str:
    """The dataset's name: ``name``, else the folder's name (or the folder of the first file)."""
    first = Path(paths[0])
    return name or (first.name if first.is_dir() else first.parent.name)


def read(paths: list[Path], *, fmt: Format | None = None, name: str | None = None,
         known_items: Container[str] | None = None) -> Dataset:
    """Read and validate a dataset from a folder or files (format detected unless given).

    ``known_items``: ids of items already stored for the dataset, which interactions may name without the items
    file listing them (``kgrec load --append``; the Amazon formats accept any item).
    """
    paths = [Path(p) for p in paths]
    found_fmt, files = detect(paths, one_generic_file=known_items is not None, fmt=fmt)
    fmt = fmt or found_fmt
    if fmt != found_fmt:
        raise InputError(f"files look like {found_fmt}, not {fmt}: pass --format {found_fmt}, or leave --format out "
                         f"(the format is detected)", source=str(paths[0]))
    name = dataset_name(paths, name)
    if fmt == "generic":
        return read_generic(files["items"], files["interactions"], name=name, known_items=known_items)
    reviews = files["reviews"]
    assert reviews is not None  # detect() found the review file for the Amazon formats
    if fmt == "amazon2018":
        return read_amazon2018(reviews, files["meta"], name=name)
    return read_amazon2023(reviews, files["meta"], name=name)


# --------------------------------------------------------------------------------------------
