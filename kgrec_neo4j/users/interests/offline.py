"""Offline interests: ``INTERESTED_IN`` edges computed deterministically from the concepts of liked and
disliked train items. No model, no randomness: the same graph gives the same edges.

For one user, take the **train** interactions with a polarity (``sign`` +1 or −1; mixed edges, sign 0,
carry none), in ``seq`` order, each with its confidence ``c_e`` (``INTERACTED.confidence``, 1.0 when
missing) and each item concept with its ``c_h`` (``HAS_KNOWLEDGE.confidence``). Evidence of one interaction
for one concept is ``x = c_e × c_h``.

Long-term (``horizon = 'long'``), over the whole train history:
    ``P_k = Σ x`` over liked interactions whose item has concept k, ``N_k`` the same over disliked ones,
    ``support_k`` = how many interactions carry k (at least ``long_min_support``);
    ``weight = min(|P_k − N_k| / long_saturation, 1)`` (the net evidence for or against k, in fully confident
    interactions, full strength at ``long_saturation`` = 10 of them), ``polarity = sign(P_k − N_k)``.
    The weight does not depend on the rest of the history: a new interaction changes the long-term edges of its own
    item's concepts and no other (a long-term interest in role-playing does not weaken because the user bought a
    controller), so an update rewrites only those. The model reads each user's interest weights row-normalised per
    (horizon, polarity), so for a user whose concepts all stay under the cap it sees exactly the shares
    ``|P_k − N_k| / Σ |P − N|`` that the earlier form ``|P_k − N_k| / n`` gave it.

Short-term (``horizon = 'short'``), over the last ``short_window`` signed train interactions:
    ``d = short_decay ** age`` (age 0 = the latest; the default decay 1.0 counts every interaction of the window
    the same, as the benchmarks' proxy interests do, bench/train_compare.py); ``S_k = Σ sign × x × d``;
    ``weight = |S_k| / D`` with ``D = Σ_{age < short_window} short_decay ** age``, the decay mass of a full window
    (``short_window`` at decay 1: the share of the window that carries k); ``polarity = sign(S_k)``.
    Under the default a new interaction changes the values of the short-term edges of its own item's concepts and
    of the item that leaves the window, and of no other (the ``short_top`` cut may still add or drop one), so
    ``kgrec update`` rewrites only those; a decay below 1 ages every
    interaction of the window at each new one, and with it every short-term weight of the user (a normaliser over
    the user's own window, ``Σ d`` of the interactions present, would do the same to users with fewer than
    ``short_window`` of them).

Both keep the ``top`` strongest concepts per user (by ``|P_k − N_k|`` and ``|S_k|``; ties broken by concept id, and
in the short window first by the latest interaction that carries the concept) with ``weight >= min_weight``.
``evidence`` lists the items that support the edge's polarity (most recent first, at most ``max_evidence``);
``updated_seq`` is the last seq that contributed; ``confidence`` is
:func:`kgrec_neo4j.users.confidence.offline_interest_confidence`.

Speed: users are processed in batches; each batch is two reads (train interactions with the users' stored edges'
digests, then the concepts of items not seen yet, cached) and one write transaction that sends only what changed:
the new and changed edges and the keys of the removed ones, nothing for a user whose edges are as they were. The
next batch is read and computed while the previous one is being written (one writer thread).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, NamedTuple

from pydantic import BaseModel, Field

from ...core.db import Database
from ...core.resources import cypher
from ...core.texthash import digest63
from ...load.ingest import current_ingest, mark_covered
from ..confidence import offline_interest_confidence
from .scope import MODE_OF, Scope, resolve, set_scope, stored_scopes, switching
from .store import user_ids

log = logging.getLogger(__name__)

EXTRACTOR = "offline"
_MISSING = object()  # a key the user has no stored edge of
PIPELINE_BATCHES = 8  # see default_batch_size
MIN_BATCH = 250


class OfflineParams(BaseModel):
    """Parameters of the offline interest computation (see the module docstring)."""

    long_min_support: int = Field(2, ge=1)
    long_top: int = Field(20, ge=0)
    long_saturation: float = Field(10.0, gt=0.0, description="net evidence at which a long-term weight reaches 1")
    short_window: int = Field(5, ge=1)
    short_decay: float = Field(1.0, gt=0.0, le=1.0, description="per step back in the short window; 1: uniform")
    short_top: int = Field(10, ge=0)
    min_weight: float = Field(0.0, ge=0.0, le=1.0)
    max_evidence: int = Field(5, ge=1)
    evidence_weight: float = Field(0.5, gt=0.0, le=1.0)
    min_confidence: float = Field(0.0, ge=0.0, le=1.0, description="HAS_KNOWLEDGE and INTERACTED edges read")


class Event(NamedTuple):
    """One signed train interaction of a user."""

    seq: int
    item: str
    sign: int
    confidence: float


class InterestEdge(BaseModel):
    """One ``INTERESTED_IN`` edge as written."""

    concept: str
    horizon: str
    polarity: int
    weight: float
    confidence: float
    evidence: list[str]
    updated_seq: int
    support: int
    digest: int = Field(0, description="edge_digest of the values above")


class OfflineReport(BaseModel):
    users: int = 0
    users_with_interests: int = 0
    interactions_read: int = 0
    items_read: int = 0
    edges: int = 0
    created: int = 0
    changed: int = 0
    deleted: int = 0
    long: int = 0
    short: int = 0
    positive: int = 0
    negative: int = 0
    read_s: float = 0.0
    compute_s: float = 0.0
    write_s: float = 0.0
    seconds: float = 0.0
    run: str = ""
    scope: str = Field("train", description="the interactions read: 'train' (evaluation) or 'every' split (serving)")



def user_interests(events: list[Event], concepts: dict[str, list[tuple[str, float]]],
                   params: OfflineParams) -> list[InterestEdge]:
    """The offline interest edges of one user from their signed train events (seq order)."""
    return [InterestEdge.model_construct(**e) for e in _interest_rows(events, concepts, params)]


def _interest_rows(events: list[Event], concepts: dict[str, list[tuple[str, float]]],
                   params: OfflineParams) -> list[dict[str, Any]]:
    """:func:`user_interests` as the rows the write takes (one dict of :class:`InterestEdge`'s fields per edge)."""
    # (several edges without seq share the latest seq: ordered among themselves by item, whatever order they came in)
    events = sorted((e for e in events if e.sign != 0), key=lambda e: (e.seq, e.item))
    if not events:
        return []
    out: list[dict[str, Any]] = []

    # long term ----------------------------------------------------------------------------------------
    ev: dict[str, list[tuple[int, str, int, float]]] = defaultdict(list)  # concept -> (seq, item, sign, x)
    empty: list[tuple[str, float]] = []
    for seq, item, sign, conf in events:
        for cid, ch in concepts.get(item, empty):
            ev[cid].append((seq, item, sign, conf * ch))
    long_rows = []
    min_support = params.long_min_support
    for cid, rows in ev.items():
        if len(rows) < min_support:  # most concepts of a history appear once: skip them before counting seqs
            continue
        p = n = 0.0  # the evidence for and against, summed in history order
        for r in rows:
            if r[2] > 0:
                p += r[3]
            else:
                n += r[3]
        net = p - n
        if net == 0.0 or len({r[:2] for r in rows}) < min_support:
            continue
        w = min(abs(net) / params.long_saturation, 1.0)
        if w < params.min_weight or w <= 0.0:
            continue
        long_rows.append((abs(net), w, cid, 1 if net > 0 else -1, rows, p, n))
    long_rows.sort(key=lambda r: (-r[0], r[2]))
    for _, w, cid, pol, rows, p, n in long_rows[:params.long_top]:
        out.append(_edge(cid, "long", pol, w, rows, p, n, params))

    # short term ---------------------------------------------------------------------------------------
    window = events[-params.short_window:]
    dsum = sum(params.short_decay ** age for age in range(params.short_window))  # a full window's decay mass
    s: dict[str, float] = defaultdict(float)
    spos: dict[str, float] = defaultdict(float)
    sneg: dict[str, float] = defaultdict(float)
    sev: dict[str, list[tuple[int, str, int, float]]] = defaultdict(list)
    for age, e in enumerate(reversed(window)):
        d = params.short_decay ** age
        for cid, ch in concepts.get(e.item, ()):
            x = e.confidence * ch
            s[cid] += e.sign * x * d
            (spos if e.sign > 0 else sneg)[cid] += x
            sev[cid].append((e.seq, e.item, e.sign, x))
    short_rows = []
    for cid, v in s.items():
        w = abs(v) / dsum
        if v == 0.0 or w < params.min_weight or w <= 0.0:
            continue
        short_rows.append((w, cid, 1 if v > 0 else -1, sev[cid]))
    # equal weights (common in a uniform window) go to the concept seen most recently, then by concept id
    short_rows.sort(key=lambda r: (-r[0], -max(x[0] for x in r[3]), r[1]))
    for w, cid, pol, rows in short_rows[:params.short_top]:
        out.append(_edge(cid, "short", pol, w, rows, spos[cid], sneg[cid], params))
    return out


def _edge(cid: str, horizon: str, pol: int, w: float, rows: list[tuple[int, str, int, float]], p: float,
          nmass: float, params: OfflineParams) -> dict[str, Any]:
    agreeing = sorted((r for r in rows if r[2] == pol), key=lambda r: -r[0])
    evidence = list(dict.fromkeys(r[1] for r in agreeing))[:params.max_evidence]
    conf = offline_interest_confidence([r[3] for r in agreeing], p, nmass, params.evidence_weight)
    e = {"concept": cid, "horizon": horizon, "polarity": pol, "weight": round(min(w, 1.0), 6), "confidence": conf,
         "evidence": evidence, "updated_seq": max(r[0] for r in rows), "support": len({r[:2] for r in rows})}
    e["digest"] = edge_digest(e)
    return e


def edge_digest(e: dict[str, Any]) -> int:
    """A 63-bit digest of an interest edge's written values (polarity, weight, confidence, evidence, updated_seq,
    support), stored with them: the write compares this one number with the stored edge's instead of reading and
    comparing six values (one of them a list) per edge."""
    return digest63((e["polarity"], e["weight"], e["confidence"], e["evidence"], e["updated_seq"], e["support"]))


def _events(rows: list[list[Any]]) -> list[Event]:
    """A user's ``[seq, item, sign, confidence]`` rows as events; an edge without ``seq`` (typed in Browser) is one
    after the user's highest, the latest, as training and serving count it."""
    known = [r[0] for r in rows if r[0] is not None]
    latest = max(known) + 1 if known else 0
    return [Event(int(latest if s is None else s), i, int(g), float(c)) for s, i, g, c in rows]


def default_batch_size(users: int) -> int:
    """Users per batch of :func:`extract_offline`: 2,000, or fewer so that at least ``PIPELINE_BATCHES`` batches
    keep the reader and the writer busy at once (a batch is read and computed while the one before is written; with
    two or three batches, as for the users one ``kgrec update`` touches, most of the work would run one part after
    the other), but no fewer than ``MIN_BATCH`` users (each batch costs a read and a transaction of its own)."""
    return max(MIN_BATCH, min(2000, -(-users // PIPELINE_BATCHES)))


def extract_offline(
    db: Database,
    *,
    params: OfflineParams | None = None,
    users: list[str] | None = None,
    limit: int | None = None,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    scope: Scope | None = None,
) -> OfflineReport:
    """Compute and write the offline ``INTERESTED_IN`` edges of ``users`` (default: all, or the first
    ``limit`` by id). Idempotent: a rerun replaces each user's offline edges with the same ones. A run over every
    user records the ingest number it saw (:mod:`kgrec_neo4j.load.ingest`), from which ``kgrec update`` goes on.

    ``scope``: the interactions read, ``'train'`` (evaluation) or ``'every'`` split (serving); default: the stored
    one (:mod:`.scope`). A run that changes it must cover every user, and records it once it has.

    ``batch_size``: users per write transaction (default :func:`default_batch_size`).
    ``progress(done_users, total_users)`` is called after each written batch.
    """
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1 (got {batch_size})")
    params = params or OfflineParams()
    t_start = time.perf_counter()
    covered = current_ingest(db) if users is None and limit is None else None
    stored_scope = stored_scopes(db)[EXTRACTOR]
    mode = None if scope is None else MODE_OF[scope]
    scope = resolve(db, EXTRACTOR, mode, every_user=users is None and limit is None)
    changes = scope != stored_scope
    if changes:  # until every user is written, the graph holds both
        set_scope(db, EXTRACTOR, switching(scope))
    ids = users if users is not None else user_ids(db, limit=limit)
    batch_size = batch_size or default_batch_size(len(ids))
    rep = OfflineReport(users=len(ids), run=f"offline-{uuid.uuid4().hex[:8]}")
    q_train = cypher("interests/train_interactions")
    q_items, q_write = cypher("interests/item_concepts"), cypher("interests/replace_edges")
    item_cache: dict[str, list[tuple[str, float]]] = {}
    done = 0

    def write(batch: list[str], rows: list[dict]) -> float:
        t0 = time.perf_counter()
        if not rows:  # nothing of the batch changed
            return 0.0
        got = db.write_tx(lambda tx: tx.run(q_write, rows=rows, extractor=EXTRACTOR, run=rep.run).single(strict=True))
        rep.created += got["created"]
        rep.changed += got["changed"]
        rep.deleted += got["deleted"]
        return time.perf_counter() - t0

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="interests-write") as pool:
        pending: Future | None = None
        pending_n = 0
        for b0 in range(0, len(ids), batch_size):
            batch = ids[b0:b0 + batch_size]
            t0 = time.perf_counter()
            recs = db.query(q_train, users=batch, min_confidence=params.min_confidence, extractor=EXTRACTOR,
                            every_split=scope == "every")
            by_user = {r["user"]: _events(r["events"]) for r in recs}
            stored = {r["user"]: dict(r["stored"]) for r in recs}
            new_items = sorted({e.item for evs in by_user.values() for e in evs} - item_cache.keys())
            for k in range(0, len(new_items), 20_000):
                part = new_items[k:k + 20_000]
                got: dict[str, list[tuple[str, float]]] = {it: [] for it in part}
                for it, c, h in db.value(q_items, items=part, min_confidence=params.min_confidence):
                    got[it].append((c, float(h)))
                for it, cs in got.items():
                    item_cache[it] = sorted(cs)
            t1 = time.perf_counter()
            rows = []
            n_users = n_long = n_short = n_pos = n_neg = 0  # (counted here: a report field is a pydantic setattr)
            for uid in batch:
                edges = _interest_rows(by_user.get(uid, []), item_cache, params)
                # only what changed is sent: the edges that are new or whose digest differs, the keys the user no
                # longer has (a user without edges loses the old ones)
                had = stored.get(uid, {})
                keys = {f"{e['concept']}|{e['horizon']}": e for e in edges}
                upsert = {k: e for k, e in keys.items() if had.get(k, _MISSING) != e["digest"]}
                delete = [k for k in had if k not in keys]
                if upsert or delete:
                    rows.append({"user": uid, "upsert": upsert, "delete": delete})
                if edges:
                    n_users += 1
                    for e in edges:
                        if e["horizon"] == "long":
                            n_long += 1
                        else:
                            n_short += 1
                        if e["polarity"] > 0:
                            n_pos += 1
                        elif e["polarity"] < 0:
                            n_neg += 1
            rep.users_with_interests += n_users
            rep.edges += n_long + n_short
            rep.long += n_long
            rep.short += n_short
            rep.positive += n_pos
            rep.negative += n_neg
            t2 = time.perf_counter()
            rep.interactions_read += sum(len(v) for v in by_user.values())
            rep.read_s += t1 - t0
            rep.compute_s += t2 - t1
            if pending is not None:
                rep.write_s += pending.result()
                done += pending_n
                if progress:
                    progress(done, len(ids))
            pending, pending_n = pool.submit(write, batch, rows), len(batch)
        if pending is not None:
            rep.write_s += pending.result()
            done += pending_n
            if progress:
                progress(done, len(ids))
    rep.items_read = len(item_cache)
    for f in ("read_s", "compute_s", "write_s"):
        setattr(rep, f, round(getattr(rep, f), 2))
    rep.seconds = round(time.perf_counter() - t_start, 2)
    if changes:
        set_scope(db, EXTRACTOR, scope)
    rep.scope = scope
    if covered is not None:  # every user's interests follow the edges loaded before the start (for `kgrec update`)
        mark_covered(db, "interests", covered)
    log.info("offline interests: %d users, %d edges (%d long, %d short; %d created, %d changed, %d deleted) in %.1fs",
             rep.users, rep.edges, rep.long, rep.short, rep.created, rep.changed, rep.deleted, rep.seconds)
    return rep
