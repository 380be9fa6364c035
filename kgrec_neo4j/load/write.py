"""Writing a read :class:`~kgrec_neo4j.load.read.Dataset` into Neo4j in idempotent batches.

Three modes, chosen by what is stored (docs/updates.md):

* **new** (the dataset is not stored): every user, item and interaction is written;
* **reload** (the dataset is stored, no ``append``): the files replace the dataset's rows. Interactions, users and
  items the files no longer have are removed with everything derived from them; new or changed interactions are
  written; unchanged rows are not touched. A reload that would remove every stored interaction (an empty file),
  interactions the service recorded (in no file), any interaction or item while it leaves out files the dataset was
  also loaded from (a day's files reloaded alone after later days were appended), or more than half of them (a batch of
  new rows given without ``append``) needs ``yes``; when it leaves nothing of
  the dataset, its ``(:Dataset)`` node goes too. A load killed half way and run again is a reload that writes what
  is missing;
* **append** (``append``, to a stored dataset): the files add interactions to the stored users (numbered after the
  user's stored ones, in the files' order: the next ``seq``), new users and new items; an interaction may name an
  item stored for the dataset. The histories of the users it touches are split again, last-two-out. A user's rows
  that the stored history already ends with (same items and content, in order) are not written again: an append run
  twice, killed and run again, or given a newer copy of the files writes each interaction once (a true repeat of the
  user's last interactions, with nothing to tell them apart, needs a timestamp or a review that differs). Nor is a
  row **with a timestamp** that the user's history holds anywhere (same item, timestamp, rating and review): an append
  rerun after another writer reached the user (``kgrec serve --writes``, another append) writes nothing twice. A record
  of a stored item keeps the stored values of the text fields it does not have (a review of an item without
  metadata changes none).

Other datasets are never touched. User and item ids are unique per dataset: a load whose ids belong to another
dataset is refused, naming them; ``id_prefix`` stores a dataset's ids with a prefix. Every user whose interactions
a load changes is stamped with the load's *ingest* number (``User.ingest``; new and changed edges carry it too), the
mark ``kgrec update`` works from; a load that changes nothing (a reload of the files as stored, an append of rows
all stored already) takes no number. Every item written carries the hash
of its text (``Item.current_text_hash``, :mod:`kgrec_neo4j.core.texthash`), from which ``kgrec update`` finds new and
changed text without reading it.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, Field

from ..core.db import Database, batched
from ..core.errors import InputError
from ..core.resources import cypher
from ..core.texthash import TEXT_FIELDS, text_hash
from ..core.words import plural
from .ingest import current_ingest
from .read import Dataset, Format, Interaction, dataset_name, read
from .split import k_core, kind_sign, sample_users, split_of

log = logging.getLogger(__name__)

Mode = Literal["new", "reload", "append"]
Progress = Callable[[str, int, int], None]
SHOWN_IDS = 5


class LoadReport(BaseModel):
    dataset: str
    format: str
    sources: list[str]
    lines_read: int
    items_read: int
    interactions_read: int
    skipped: dict[str, int] = Field(default_factory=dict)
    issues: list[str] = Field(default_factory=list)
    mode: str = "new"
    other_datasets: list[str] = Field(default_factory=list, description="a new dataset: the datasets stored beside "
                                                                          "it (an append meant for one of them?)")
    ingest: int = Field(0, description="the load's ingest number; 0: none taken (a load that changed nothing)")
    id_prefix: str = ""
    users_written: int = 0
    users_new: int = 0  # of users_written, those not stored before
    items_written: int = 0
    interactions_written: int = 0
    splits: dict[str, int] = Field(default_factory=dict)
    splits_changed: int = 0
    users_touched: int = 0
    interactions_already_stored: int = Field(0, description="appended rows found stored already (a rerun, a resumed "
                                                            "append, a newer copy of the files): not written again")
    interactions_kept_untimed: int = Field(0, description="of those, rows without a timestamp: a true repeat of the "
                                                          "user's last interactions looks the same")
    interactions_earlier: int = Field(0, description="appended rows whose timestamp is earlier than their user's "
                                                     "newest stored interaction: numbered after it (arrival order), "
                                                     "they count as the user's most recent")
    users_earlier: int = Field(0, description="the users with such rows")
    users_earlier_examples: list[str] = Field(default_factory=list, description="up to 5 of them")
    items_text_kept: int = Field(0, description="appended records of stored items without some text field: the "
                                                "stored values of those were kept")
    interactions_removed: int = 0
    users_removed: int = 0
    items_removed: int = 0
    dataset_removed: bool = Field(False, description="a reload left nothing of the dataset: its (:Dataset) node was "
                                                     "removed too")
    seconds: float = 0.0


class ReloadLoss(BaseModel):
    """What a reload would remove of a stored dataset (passed to ``load``'s ``confirm_removal`` before anything is
    written)."""

    dataset: str
    stored_users: int
    stored_interactions: int
    stored_items: int
    users: int = Field(description="users of the files (after the filters): those the dataset keeps or gets")
    users_removed: int
    interactions_removed: int
    items_removed: int
    stored_sample: bool = Field(False, description="the stored users and items are the seeded sample of stored_users "
                                                   "users of these files: loading that many removes nothing")


def _row(user: str, item: str, seq: int, x: Interaction, split: str) -> dict[str, Any]:
    kind, sign = kind_sign(x.rating)
    return {"user": user, "item": item, "seq": seq, "rating": x.rating, "timestamp": x.timestamp,
            "review_title": x.review_title, "review_text": x.review_text, "split": split, "kind": kind, "sign": sign}


def _content(r: dict[str, Any] | list[Any]) -> tuple[Any, ...]:
    """What a reload compares of one interaction besides its key: rating, timestamp and review."""
    if isinstance(r, dict):
        return r["rating"], r["timestamp"], r["review_title"], r["review_text"]
    return tuple(r[2:6])


def _splits(seqs: Iterable[int]) -> dict[int, str]:
    """Last-two-out split of one user's history, by seq."""
    ordered = sorted(seqs)
    return {s: split_of(len(ordered), pos) for pos, s in enumerate(ordered)}


def _split_twice(splits: Iterable[str]) -> bool:
    """Whether a user's stored history has more than one valid or more than one test interaction, which no load
    writes: an append killed between its rows and their new splits, before 2026-12-03, left the old valid and test
    edges beside the new ones, and a rerun that finds every row stored splits such a history again."""
    n = Counter(splits)
    return n["valid"] > 1 or n["test"] > 1


def _prefix(info: dict[str, Any] | None, given: str | None, name: str) -> str:
    stored = info["id_prefix"] if info else None
    if given is not None and stored is not None and given != stored:
        raise InputError(f"dataset {name!r} is stored with id prefix {stored!r}, not {given!r}; reload or append "
                         f"it with the same --id-prefix (or without the option)", source=name)
    return given if given is not None else (stored or "")


def _check_ids(db: Database, name: str, users: list[str], items: list[str]) -> None:
    """Refuse ids that belong to another dataset (ids are unique per dataset)."""
    found = {"users": 0, "items": 0}
    shown: list[str] = []
    for kind, ids in (("users", users), ("items", items)):
        for chunk in batched(ids, 20_000):
            r = db.query(cypher("load/foreign_ids"), users=chunk if kind == "users" else [],
                         items=chunk if kind == "items" else [], dataset=name, limit=SHOWN_IDS)[0]
            found[kind] += r[f"n_{kind}"]
            shown += [f"{kind[:-1]} {x}" for x in r[kind]]
    if found["users"] or found["items"]:
        raise InputError(
            f"{plural(found['users'], 'user id')} and {plural(found['items'], 'item id')} of dataset {name!r} already belong to "
            f"another dataset (ids are unique per dataset; first: {', '.join(shown[:SHOWN_IDS])}); nothing was "
            f"written. Load it with --id-prefix '<prefix>' to keep its ids apart, or under the other dataset's name "
            f"with --append", source=name)


def _check_read(ds: Dataset, mode: Mode, strict: bool) -> None:
    if strict and ds.skipped:
        first = "; ".join(map(str, ds.issues[:5]))
        raise InputError(f"--strict: {plural(sum(ds.skipped.values()), 'bad record')}, nothing was written. First: {first}",
                         source=", ".join(ds.sources))
    if ds.interactions or mode == "reload" or (mode == "append" and ds.items):
        return
    raise InputError(
        f"no valid interactions were read ({ds.lines_read} lines, {sum(ds.skipped.values())} skipped"
        + (f"; first problem: {ds.issues[0]}" if ds.issues else "; the files are empty")
        + "); nothing was written", source=", ".join(ds.sources))


def _fresh_rows(xs: list[Interaction], prefix: str) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every interaction as a row, split last-two-out per user; and each user's interaction count."""
    by_user: dict[str, list[Interaction]] = defaultdict(list)
    for x in xs:
        by_user[x.user].append(x)
    rows: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for u in sorted(by_user):
        ux = sorted(by_user[u], key=lambda x: x.seq)
        split = _splits(x.seq for x in ux)
        rows += [_row(prefix + u, prefix + x.item, x.seq, x, split[x.seq]) for x in ux]
        counts[prefix + u] = len(ux)
    return rows, counts


def already_stored(stored: list[tuple[Any, ...]], new: list[tuple[Any, ...]]) -> int:
    """How many of a user's appended rows ``new`` (in order) are already stored: the longest run of them, from the
    first, that equals the end of the stored history ``stored`` (rows compared by item and content). A rerun of an
    append, an append killed half way and run again, and a newer copy of the files (the stored history, then more)
    all start with rows the history ends with."""
    if not stored or not new:
        return 0
    for m in range(min(len(stored), len(new)), 0, -1):
        if stored[len(stored) - m] == new[0] and stored[len(stored) - m:] == new[:m]:
            return m
    return 0


def stored_elsewhere(stored: list[tuple[Any, ...]], new: list[tuple[Any, ...]]) -> list[bool]:
    """For each row of ``new`` (rows compared by item and content, the timestamp at index 2): whether it has a
    timestamp and an equal row is in ``stored``, each stored row standing for one appended row at most. A timestamped
    row stored anywhere in the history is the same interaction (another writer appended after it), not a repeat."""
    left = Counter(t for t in stored if t[2] is not None)
    out = []
    for t in new:
        hit = t[2] is not None and left[t] > 0
        if hit:
            left[t] -= 1
        out.append(hit)
    return out


class _Appended(NamedTuple):
    rows: list[dict[str, Any]]
    moved: list[dict[str, Any]]
    counts: dict[str, int]
    skipped: int
    untimed: int
    earlier: dict[str, int]


def _append_rows(db: Database, xs: list[Interaction], prefix: str) -> _Appended:
    """New rows numbered after each user's stored interactions, the stored interactions whose split changes (also
    those of a user without new rows whose history is split twice, :func:`_split_twice`), the
    touched users' interaction counts, how many rows were already stored (:func:`already_stored`: not written
    again, so an append is idempotent), how many of those have no timestamp (a repeat of the user's last
    interactions cannot be told from a rerun without one), and per user the new rows whose timestamp is earlier than
    the user's newest stored one (numbered after it all the same: ``seq`` is the order of arrival)."""
    by_user: dict[str, list[Interaction]] = defaultdict(list)
    for x in xs:
        by_user[prefix + x.user].append(x)
    stored: dict[str, list[list[Any]]] = {}
    for chunk in batched(sorted(by_user), 10_000):
        for r in db.query(cypher("load/user_histories"), users=chunk):
            stored[r["user"]] = r["edges"]
    rows: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    skipped = untimed = 0
    earlier: dict[str, int] = {}
    for u in sorted(by_user):
        history = stored.get(u, [])
        # an edge without seq (typed in Browser without one: serving counts it as the latest) has no place in the
        # order: no split, and no load wrote it (it is no row of the files to find stored again)
        numbered = [e for e in history if e[0] is not None]
        old = {int(e[0]): e[1] for e in numbered}
        start = max(old, default=-1) + 1
        new = sorted(by_user[u], key=lambda x: x.seq)  # the files' order: seq (generic) or time (Amazon)
        have = [(e[2], *e[3:7]) for e in numbered]
        want = [(prefix + x.item, x.rating, x.timestamp, x.review_title, x.review_text) for x in new]
        done = already_stored(have, want)
        # the rest: a timestamped row stored before other writers' rows is stored too (the rows matched above aside)
        unnumbered = [(e[2], *e[3:7]) for e in history if e[0] is None]  # (found as stored by their timestamp)
        hit = stored_elsewhere(have[: len(have) - done] + unnumbered, want[done:])
        rest = [x for x, h in zip(new[done:], hit, strict=True) if not h]
        skipped += done + sum(hit)
        untimed += sum(1 for w in want[:done] if w[2] is None)  # (a row found elsewhere has a timestamp)
        seqs = {start + k: x for k, x in enumerate(rest)}
        newest = max((e[4] for e in history if e[4] is not None), default=None)
        late = sum(1 for x in rest if newest is not None and x.timestamp is not None and x.timestamp < newest)
        if late:
            earlier[u] = late
        if not seqs:
            if _split_twice(old.values()):  # left so by an append killed before 2026-12-03: split again
                split = _splits(old)
                moved += [{"user": u, "seq": s, "split": split[s]} for s, was in old.items() if split[s] != was]
                counts[u] = len(split)
            continue  # nothing new for this user: untouched
        split = _splits([*old, *seqs])
        rows += [_row(u, prefix + x.item, s, x, split[s]) for s, x in seqs.items()]
        moved += [{"user": u, "seq": s, "split": split[s]} for s, was in old.items() if split[s] != was]
        counts[u] = len(split)
    return _Appended(rows, moved, counts, skipped, untimed, earlier)


def _keep_stored_text(db: Database, item_rows: list[dict[str, Any]], stored: set[str]
                      ) -> tuple[list[dict[str, Any]], int]:
    """An append's item rows, where a stored item keeps the stored values of the text fields its record does not
    have (an item named by reviews without metadata has none: it is not written at all). Returns the rows and how
    many stored items kept some field."""
    partial = {r["id"]: r for r in item_rows if r["id"] in stored and len(r["_fields"]) < len(TEXT_FIELDS)}
    if not partial:
        return item_rows, 0
    old: dict[str, dict[str, Any]] = {}
    for chunk in batched(sorted(partial), 10_000):
        old.update({r["id"]: r for r in db.query(cypher("load/stored_item_text"), ids=chunk)})
    out = []
    for r in item_rows:
        if r["id"] in partial:
            if not r["_fields"]:
                continue
            r = {**r, **{f: old[r["id"]][f] for f in TEXT_FIELDS if f not in r["_fields"]}}
            r["text_hash"] = text_hash(r)
        out.append(r)
    return out, len(partial)


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
    progress: Progress | None = None,
    append: bool = False,
    yes: bool = False,
    id_prefix: str | None = None,
    confirm_removal: Callable[[ReloadLoss], bool] | None = None,
    check_items: Callable[[list[dict[str, Any]]], None] | None = None,
) -> LoadReport:
    """Read, validate, filter, split and write a dataset (new, reload or ``append``; see the module docstring).

    ``progress(stage, done, total)`` is called with ``done`` 0 before a stage's first batch, then after each written
    batch. ``yes`` allows a reload that removes more than half (or all) of the dataset's stored interactions.
    ``id_prefix`` is prepended to every user and item id of the dataset.
    ``confirm_removal``: asked, before anything is written, whether a reload may remove what it would remove of the
    stored dataset (users, interactions or items the files no longer have: :class:`ReloadLoss`); a reload that
    removes nothing is not asked about. Without it a reload removes them (the files replace the dataset's rows).
    ``check_items``: called with the records of the items to write (their text fields, ids without the prefix) before
    anything is written; an error it raises stops the load (``kgrec demo`` checks the catalogue against the type pack).

    Raises:
        InputError: nothing valid to write, ``strict`` with a bad record, a k-core that leaves no interaction, ids of
            another dataset, filters with ``append``, ``append`` to a dataset that is not stored, a reload that would
            remove more than half of the stored interactions without ``yes``, a removal ``confirm_removal`` refused,
            an append that shares no user and no item with the stored dataset without ``yes``; nothing is written
            then.
    """
    t0 = time.perf_counter()
    paths = [Path(p) for p in paths]
    name = dataset_name(paths, name)
    found = db.query(cypher("load/dataset_info"), name=name)
    # a dataset node without a user or an item of it (left by a load that wrote nothing) is a dataset not stored
    info = found[0] if found and not found[0]["empty"] else None
    prefix = _prefix(info, id_prefix, name)
    filtered = bool(k_core_users or k_core_items or max_users)
    if append and filtered:
        raise InputError("--append adds every record of the files; --k-core and --users select from whole loads "
                         "(drop them, or reload the dataset with them)", source=name)
    if append and info is None:
        names = [r["name"] for r in db.query(cypher("train/datasets"))]
        raise InputError(
            f"--append adds to a stored dataset, and no dataset {name!r} is stored (its name comes from the folder or "
            f"file unless --dataset gives it); nothing was written. Name the stored one with --dataset <name> "
            f"(stored: {', '.join(names) or 'none'}), or load without --append to create {name!r}", source=name)
    mode: Mode = "new" if info is None else ("append" if append else "reload")
    others = [r["name"] for r in db.query(cypher("train/datasets")) if r["name"] != name] if mode == "new" else []
    known = None
    if mode == "append":
        known = {i[len(prefix):] for i in db.query(cypher("load/stored_items"), dataset=name)[0]["ids"]
                 if i.startswith(prefix)}
    ds = read(paths, fmt=fmt, name=name, known_items=known)
    _check_read(ds, mode, strict)
    xs = ds.interactions
    if k_core_users or k_core_items:
        xs = k_core(xs, k_core_users, k_core_items)
    pool = xs
    if max_users:
        xs = sample_users(xs, max_users, seed)
    if ds.interactions and not xs:
        raise InputError(f"--k-core {max(k_core_users, k_core_items)} leaves none of the {len(ds.interactions)} "
                         f"interactions read (no user and item keep that many interactions with each other); nothing "
                         f"was written. Lower --k-core or drop it", source=", ".join(ds.sources))
    item_ids = sorted({x.item for x in xs} if filtered else set(ds.items))
    item_rows = [{**{k: v for k, v in ds.items[i].items() if k not in ("_line", "_fields")}, "id": prefix + i,
                  "_fields": list(ds.items[i].get("_fields", TEXT_FIELDS)), "text_hash": text_hash(ds.items[i])}
                 for i in item_ids if i in ds.items]
    if check_items is not None:
        check_items([ds.items[i] for i in item_ids if i in ds.items])
    report = LoadReport(dataset=ds.name, format=ds.format, sources=ds.sources, lines_read=ds.lines_read,
                        items_read=len(ds.items), interactions_read=len(ds.interactions), skipped=dict(ds.skipped),
                        issues=[str(i) for i in ds.issues], mode=mode, id_prefix=prefix, other_datasets=others)
    _check_ids(db, name, sorted({prefix + x.user for x in xs}), [r["id"] for r in item_rows])

    moved: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    drop_users: list[str] = []
    drop_items: list[str] = []
    if mode == "append":
        if xs and not yes:
            _check_append_overlap(db, name, info, ds, xs, prefix, known or set())
        got = _append_rows(db, xs, prefix)
        rows, moved, counts = got.rows, got.moved, got.counts
        report.interactions_already_stored, report.interactions_kept_untimed = got.skipped, got.untimed
        report.interactions_earlier = sum(got.earlier.values())
        report.users_earlier, report.users_earlier_examples = len(got.earlier), sorted(got.earlier)[:5]
        touched = set(counts)
        item_rows, report.items_text_kept = _keep_stored_text(db, item_rows, {prefix + i for i in known or ()})
    else:
        rows, counts = _fresh_rows(xs, prefix)
        touched = set(counts)
        if mode == "reload":
            # (with confirm_removal, the caller's question decides a removal of everything too)
            left_out = _sources_left_out(info["sources"] if info else None, ds.sources)
            # files appended since the last load: a reload from other files (a new download, a renamed export)
            # that would remove rows they brought is asked about as a reload of the first day's files is
            given = set(_resolved(ds.sources))
            appended_any = [f for f in (info or {}).get("appended") or [] if f not in given
                            and not any(Path(f).parts[-len(Path(x).parts):] == Path(x).parts for x in left_out)]
            appended_out = [f for f in appended_any if not _catalogue_file(f)]  # (the files of rows)
            stored = db.query(cypher("load/stored_items"), dataset=name)[0]
            stored_items = set(stored["ids"])
            drop_items = sorted(stored_items - {r["id"] for r in item_rows})
            recorded = dict(stored["recorded"])  # id -> its stored text hash
            live_items = sorted(set(drop_items) & recorded.keys())
            rows, moved, removed, touched, drop_users, stored_counts = _diff(
                db, name, rows, counts, yes=yes or confirm_removal is not None,
                left_out=[f for f in left_out if not _catalogue_file(f)],
                appended_out=appended_out, base_ingest=(info or {}).get("base_ingest"), live_items=live_items)
            # an item the files name without any text (reviews reloaded without their metadata file) keeps its
            # stored text: the files say nothing of it (written, it lost its title and the rest)
            item_rows = [r for r in item_rows if r["_fields"] or r["id"] not in stored_items]
            # (items appended alone): leaving out files the dataset was loaded from, any item it would remove is
            # asked about; leaving out only the files appended since, the items the last load without --append did
            # not end with (a new export that drops a first-day item goes through, as its rows do)
            later_items = sorted(set(drop_items) - set(stored["base"]))
            asked, files_out = (drop_items, left_out) if left_out else (later_items, appended_any)
            if asked and files_out and not (yes or confirm_removal is not None):
                raise InputError(f"reloading dataset {name!r} from these files would remove {len(asked)} of its "
                                 f"{len(stored_items)} stored items; the dataset was also loaded from "
                                 f"{_files_shown(files_out)}, which this reload leaves out, and the items only they "
                                 f"hold would go; nothing was written. A reload replaces the dataset's rows "
                                 f"with the files': to reload it whole, give files that hold every row (the appended "
                                 f"ones too); pass --append to add these rows, or --yes to replace the dataset by "
                                 f"these files alone", source=name)
            if live_items and not (yes or confirm_removal is not None):
                raise InputError(f"reloading dataset {name!r} from these files would remove "
                                 f"{len(live_items)} item{'' if len(live_items) == 1 else 's'} that the service recorded "
                                 f"(`kgrec serve --writes`, POST /items: they are in no "
                                 f"file), e.g. {', '.join(map(repr, live_items[:3]))}; nothing was written. A reload "
                                 f"replaces the dataset's rows with the files': to add these rows, pass --append; to "
                                 f"replace it, recorded items too, pass --yes", source=name)
            # an item whose record the service wrote (POST /items) and the files give with other text: the reload
            # would replace the record (a correction made over HTTP) without a word
            rewritten = sorted(r["id"] for r in item_rows if r["id"] in recorded and recorded[r["id"]] != r["text_hash"])
            if rewritten and not (yes or confirm_removal is not None):  # (the demo reloads its own slice)
                raise InputError(f"reloading dataset {name!r} from these files would replace the text of "
                                 f"{len(rewritten)} item{'' if len(rewritten) == 1 else 's'} whose record the service "
                                 f"wrote (`kgrec serve --writes`, POST /items), e.g. "
                                 f"{', '.join(map(repr, rewritten[:3]))}, with the files' text; nothing was written. "
                                 f"Pass --yes to take the files' text, or put the recorded text in the files first",
                                 source=name)
            if confirm_removal is not None and (removed or drop_users or drop_items):
                n_stored = len(stored_counts[0])
                same = sample_users(pool, n_stored, seed) if max_users else pool
                loss = ReloadLoss(dataset=name, stored_users=n_stored, stored_interactions=stored_counts[1],
                                  stored_items=len(stored_items), users=len(counts), users_removed=len(drop_users),
                                  interactions_removed=sum(r["edges"] for r in removed),
                                  items_removed=len(drop_items),
                                  stored_sample=bool(max_users) and {prefix + x.user for x in same} == stored_counts[0]
                                  and {prefix + x.item for x in same} == stored_items)
                if not confirm_removal(loss):
                    raise InputError(f"reloading dataset {name!r} would remove {loss.users_removed} of its "
                                     f"{loss.stored_users} users, {loss.interactions_removed} interactions and "
                                     f"{loss.items_removed} items, and that was refused; nothing was written",
                                     source=name)
    report.splits = dict(Counter(r["split"] for r in rows))
    user_rows = [{"id": u, "n": counts[u]} for u in sorted(touched) if u in counts]

    def status(s: str) -> None:
        # (a load without --append ends with every stored row its files': later ingest numbers are appends')
        base = current_ingest(db) if s == "loaded" and mode != "append" else None
        # (loaded_at: when a load last changed something; a rerun that writes nothing keeps it)
        db.write(cypher("load/dataset"), name=ds.name, format=ds.format, sources=_resolved(ds.sources), status=s,
                 id_prefix=prefix, append=mode == "append", base_ingest=base,
                 changed=s == "loaded" and bool(report.ingest))

    def write(stage: str, query: str, data: list[dict[str, Any]], size: int = batch_size, count: str | None = None
              ) -> int:
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(stage, done, len(data))

        if progress and data:  # (the bar starts before the first batch: started after it, its rate was that batch
            progress(stage, 0, len(data))  # over no time at all, "90800128.00row/s")
        return db.write_batches(cypher(query), data, batch_size=size,
                                params={"dataset": ds.name, "ingest": report.ingest, "recorded": False},
                                on_batch=tick, count=count)

    status("loading")
    report.items_written = write("items", "load/items", item_rows, count="written")  # (new or changed ones)
    # a load that changes nothing (a reload of the files as stored, an append of rows all stored already) takes no
    # ingest number: the counter stays, and `kgrec update` has nothing to do
    if mode == "new" or report.items_written or any((removed, user_rows, rows, moved, drop_users, drop_items)):
        report.ingest = int(db.execute(cypher("load/next_ingest"))[0]["ingest"])
    report.interactions_removed = write("removed", "load/delete_interactions", removed, count="deleted")
    report.users_new = write("users", "load/users", user_rows, count="new")
    report.users_written = len(user_rows)
    # the stored rows' new splits before the rows that cause them: an append killed between the two and run again
    # finds the rows stored, writes nothing, and would leave the old valid and test edges beside the new ones
    report.splits_changed = write("splits", "load/set_splits", moved)
    report.interactions_written = write("interactions", "load/interactions", rows)
    for chunk in batched(drop_users, 2000):
        report.users_removed += db.write_tx(partial(_remove, "load/delete_users", users=chunk, dataset=ds.name))
    for chunk in batched(drop_items, 500):
        db.write_tx(partial(_remove, "load/delete_items", items=chunk, dataset=ds.name))
        report.items_removed += len(chunk)
    report.users_touched = len(touched)
    status("loaded")
    if mode == "reload":  # nothing of it left (an empty file, --yes): no empty (:Dataset) node either
        report.dataset_removed = bool(db.write(cypher("load/drop_empty_dataset"), name=ds.name)["nodes_deleted"])
    report.seconds = round(time.perf_counter() - t0, 2)
    log.info("loaded %s (%s, ingest %d): %d users, %d items, %d interactions written, %d interactions, %d users, "
             "%d items removed in %.1fs", ds.name, mode, report.ingest, report.users_written, report.items_written,
             report.interactions_written, report.interactions_removed, report.users_removed, report.items_removed,
             report.seconds)
    return report


def _remove(query: str, tx: Any, *, dataset: str, items: list[str] | None = None, users: list[str] | None = None
            ) -> int:
    """Remove ``items`` or ``users`` of ``dataset`` (``query``: load/delete_items or load/delete_users) in ``tx``, and
    give every run that scored one a new version in the same transaction (cypher/load/removed_runs.cypher: a running
    service loads the run again without them). Returns the nodes deleted."""
    runs = tx.run(cypher("load/removed_runs"), items=items or [], users=users or [], dataset=dataset).single()["runs"]
    deleted = tx.run(cypher(query), ids=items if items is not None else users, dataset=dataset).consume().counters
    for run in runs:
        tx.run(cypher("update/run_version"), run=run).consume()
    return int(deleted.nodes_deleted)


def _resolved(sources: Iterable[str]) -> list[str]:
    """The files of a load as absolute paths (as the dataset node records them: a later load from another folder
    names the same file alike)."""
    return [str(Path(s).resolve()) for s in sources]


APPEND_ALONE_USERS = 20  # an append of this many users or more that shares nothing with the dataset is asked about


def _check_append_overlap(db: Database, name: str, info: dict[str, Any] | None, ds: Any, xs: list[Any], prefix: str,
                          known: set[str]) -> None:
    """Refuse an append whose interactions share no user and no item with the stored dataset, when it is in another
    format or of :data:`APPEND_ALONE_USERS` users or more: a file of another dataset (another shop's reviews, 16,053
    users) was added to it without a word, its items without text.

    Raises:
        InputError: naming the counts, the formats when they differ, and --dataset / --yes."""
    users = sorted({prefix + x.user for x in xs})
    items = {x.item for x in xs}
    stored_fmt = (info or {}).get("format")
    other_format = bool(stored_fmt and ds.format and stored_fmt != ds.format)
    # (a few new users of new items, in the dataset's own format, are an ordinary day's rows)
    if not other_format and len(users) < APPEND_ALONE_USERS:
        return
    if items & known or db.value(cypher("load/stored_users_among"), ids=users, dataset=name):
        return
    formats = f" (it is {ds.format}; the dataset was loaded as {stored_fmt})" if other_format else ""
    raise InputError(f"appending to dataset {name!r}: none of the {len(users):,} users of the files and none of the "
                     f"{len(items):,} items their interactions name is stored for it{formats}, so they may be another "
                     f"dataset's; nothing was written. Load them as a dataset of their own (--dataset NAME, without "
                     f"--append), or pass --yes to add them to {name!r}", source=", ".join(ds.sources))


def _sources_left_out(stored: list[str] | None, given: list[str]) -> list[str]:
    """The files a stored dataset was also loaded from (``--append``) that a reload from ``given`` leaves out, when
    the reload gives some of its files again: a day's files reloaded alone, after later days were appended. A reload
    from other files only (a renamed export) leaves nothing out by this rule."""
    given_abs = set(_resolved(given))

    def given_again(s: str) -> bool:
        p = Path(s)
        if p.is_absolute():
            return str(p.resolve()) in given_abs
        # kept as given (a load before the node kept absolute paths): relative to a folder not known now; a given
        # file that ends with the path is that file
        tail = p.parts[next((k for k, x in enumerate(p.parts) if x != ".."), len(p.parts)):]
        return bool(tail) and any(Path(g).parts[-len(tail):] == tail for g in given_abs)

    seen = [given_again(s) for s in stored or []]
    if not any(seen):
        return []
    return [s if not Path(s).is_absolute() else str(Path(s).resolve())
            for s, again in zip(stored or [], seen, strict=True) if not again]


def _catalogue_file(path: str) -> bool:
    """Whether a dataset's file holds items alone (Amazon metadata ``meta*``, the generic ``items`` file): a reload
    that leaves it out loses none of the interactions."""
    stem = Path(path).name.split(".")[0]
    return stem == "items" or stem.startswith("meta")


def _files_shown(files: list[str]) -> str:
    """The first files of a list, for a message."""
    return ", ".join(files[:4]) + (f" and {len(files) - 4} more" if len(files) > 4 else "")


def _diff(db: Database, name: str, rows: list[dict[str, Any]], counts: dict[str, int], *, yes: bool,
          left_out: list[str] | None = None, live_items: list[str] | None = None,
          appended_out: list[str] | None = None, base_ingest: int | None = None
          ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], set[str], list[str],
                     tuple[set[str], int]]:
    """A reload against what is stored: ``(rows to write (new or changed), split changes, interactions to remove,
    touched users, users to remove, (the stored users' ids, how many interactions are stored))``.

    Without ``yes``, a reload is refused when it would remove: every stored interaction; interactions the service
    recorded (in no file: a reload of the files would lose them; the refusal names the recorded items it would
    remove too, ``live_items``, which the same --yes removes); any interaction while it leaves out files the
    dataset was also loaded from (``left_out``: the rows appended from them would go), or any interaction written
    after the dataset's last load without --append (its ingest number above ``base_ingest``; every one when that is
    not stored) while it leaves out files appended since (``appended_out``); more than half of them."""
    stored: dict[str, dict[tuple[int | None, str], list[Any]]] = {}
    more: Counter[tuple[str, str]] = Counter()  # (user, item): its edges without seq beyond the one keyed
    for r in db.query(cypher("load/stored_interactions"), dataset=name):
        # (an edge without seq, typed in Browser without one, is in no file: the reload removes it as any row the
        # files no longer have; several to one item are one key, and one removal row deletes them all)
        edges: dict[tuple[int | None, str], list[Any]] = {}
        for e in r["edges"]:
            key = (None if e[0] is None else int(e[0]), e[1])
            more[r["user"], e[1]] += key[0] is None and key in edges
            edges[key] = e
        stored[r["user"]] = edges
    total = sum(len(v) for v in stored.values()) + sum(more.values())
    new_keys = {(r["user"], r["seq"], r["item"]) for r in rows}
    removed: list[dict[str, Any]] = [{"user": u, "seq": s, "item": i, "edges": 1 + (more[u, i] if s is None else 0)}
                                     for u, edges in stored.items() for (s, i) in edges if (u, s, i) not in new_keys]
    n_removed = sum(r["edges"] for r in removed)
    if total and n_removed == total and not yes:
        items = len({i for edges in stored.values() for (_, i) in edges})
        raise InputError(f"reloading dataset {name!r} from these files would remove all its {total} stored "
                         f"interactions ({len(stored)} users, {items} items) and everything derived from them; "
                         f"nothing was written. Pass --yes to do that, or --append to add to it", source=name)
    # a recorded interaction the files have too (the same item and timestamp, at another place of the history: an
    # export of the application's own records) is not lost by the reload; one without a timestamp cannot be told
    # from the user's earlier interaction with the item (a repeat), so it is
    in_files = {(r["user"], r["item"], r["timestamp"]) for r in rows if r["timestamp"] is not None}
    live = sum(1 for u, edges in stored.items() for (s, i), e in edges.items()
               if e[7] and (u, s, i) not in new_keys and (u, i, e[3]) not in in_files)
    if live and not yes:
        also = (f", and {len(live_items)} item{'' if len(live_items) == 1 else 's'} the service recorded (POST "
                f"/items), e.g. {', '.join(map(repr, live_items[:3]))}" if live_items else "")
        raise InputError(f"reloading dataset {name!r} from these files would remove {live} "
                         f"interaction{'' if live == 1 else 's'} recorded live (by `kgrec serve --writes`, or by a "
                         f"Cypher client with `recorded` set, as the README's Browser example does: they are in no "
                         f"file), of {n_removed} it would remove{also}; nothing was written. A reload replaces the "
                         f"dataset's rows with the files': to add these rows, pass --append; to replace it, recorded "
                         f"interactions {'and items ' if live_items else ''}too, pass --yes", source=name)
    # rows the files still have under other seq numbers (a history numbered again) are not lost with the files left
    # out: per user and item, the stored interactions beyond the files' count are (an appended repeat purchase is)
    in_files_n = Counter((r["user"], r["item"]) for r in rows)
    stored_n = Counter((u, i) for u, edges in stored.items() for (_, i) in edges)
    lost = [r for r in removed if stored_n[r["user"], r["item"]] > in_files_n[r["user"], r["item"]]]
    # of those, the ones written after the last load without --append (the appends', the service's: no ingest): a
    # reload that leaves out the files appended since is asked about those only (a new export may drop a first-day row)
    ingests = [stored[r["user"]][(r["seq"], r["item"])][8] for r in lost]
    later = [r for r, n in zip(lost, ingests, strict=True) if base_ingest is None or n is None or n > base_ingest]
    out = (left_out or []) if lost and left_out else (appended_out or []) if later and appended_out else []
    if out and not yes:
        n = sum(r["edges"] for r in (lost if lost and left_out else later))  # (edges, as n_removed counts them)
        # (the count is every row it would remove: those of the files left out are named apart; it said "1 of its
        # 10620" for a reload that removed 30)
        raise InputError(f"reloading dataset {name!r} from these files would remove {n_removed} of its {total} "
                         f"stored interactions; the dataset was also loaded from {_files_shown(out)}, which "
                         f"this reload leaves out, and the rows only they hold would go ({n} of the {n_removed}); "
                         f"nothing was written. A reload "
                         f"replaces the dataset's rows with the files': to reload it whole, give files that hold every "
                         f"row (the appended ones too); pass --append to add these rows, or --yes to replace the "
                         f"dataset by these files alone",
                         source=name)
    if 2 * n_removed > total and not yes:  # most of it: a batch of new rows loaded without --append, as a rule
        gone = len(set(stored) - set(counts))
        raise InputError(f"reloading dataset {name!r} from these files would remove {n_removed} of its {total} "
                         f"stored interactions and {gone} of its {len(stored)} users, with everything derived from "
                         f"them, and keep {total - n_removed}; nothing was written. A reload replaces the "
                         f"dataset's rows with the files': to add these rows to it, pass --append; to replace it, "
                         f"pass --yes", source=name)
    write: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    for r in rows:
        old = stored.get(r["user"], {}).get((r["seq"], r["item"]))
        if old is None or _content(old) != _content(r):
            write.append(r)
        elif old[6] != r["split"]:
            moved.append({"user": r["user"], "seq": r["seq"], "split": r["split"]})
    touched: set[str] = {r["user"] for r in write} | {m["user"] for m in moved} | {r["user"] for r in removed}
    touched |= set(counts) - set(stored)  # new users, also those without interactions written yet
    drop = sorted(set(stored) - set(counts))
    return write, moved, removed, touched - set(drop), drop, (set(stored), total)
