"""The in-memory training contract: :class:`TrainGraph`, plain numpy arrays indexed by position.

A :class:`TrainGraph` is filled from a GDS export of Neo4j (train edges only) or, for development and
benchmarks, from the generic jsonl files by :func:`from_jsonl`. The jsonl builder makes **proxy**
concepts (item categories, ``Key: value`` features, brand and title tokens/bigrams) because no LLM graph
is available there; every proxy knowledge type is named ``proxy:<rule>`` so it cannot be mistaken for
the project's real knowledge points.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..extract.base import KEYED_LINE

log = logging.getLogger(__name__)

PROXY_PREFIX = "proxy:"
LONG, SHORT = 0, 1


def _i64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.int64).reshape(-1)


def _f32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32).reshape(-1)


def array_order(users: np.ndarray) -> np.ndarray:
    """int64 ``(E,)``: each row's position among the rows of the same user, in array order (0, 1, ...)."""
    users = _i64(users)
    order = np.argsort(users, kind="stable")
    u = users[order]
    first = np.ones(u.size, bool)
    first[1:] = u[1:] != u[:-1]
    start = np.maximum.accumulate(np.where(first, np.arange(u.size), 0)) if u.size else np.zeros(0, np.int64)
    out = np.empty(u.size, np.int64)
    out[order] = np.arange(u.size) - start
    return out


@dataclass
class TrainGraph:
    """Users, items and concepts with train edges and held-out targets (last-two-out).

    Index ``k`` of an id list is node ``k`` of its kind. Edge arrays of one relation have equal length.

    Attributes:
        user_ids, item_ids, concept_ids (list[str]): node ids; shapes ``(|U|,)``, ``(|I|,)``, ``(|C|,)``.
        type_names (list[str]): knowledge types; ``ic_type`` indexes into it.
        ui_user, ui_item (int64 ``(|E_ui|,)``): train interactions (repeats allowed).
        ui_sign (int64 ``(|E_ui|,)``): +1 like / implicit, -1 dislike, 0 mixed.
        ui_weight (float32 ``(|E_ui|,)``): interaction weight (1.0 by default).
        ic_item, ic_concept, ic_type (int64 ``(|E_ic|,)``), ic_weight (float32): item -HAS_KNOWLEDGE-> concept.
        uc_user, uc_concept (int64 ``(|E_uc|,)``), uc_horizon (0 long, 1 short), uc_polarity (+1/-1),
            uc_weight (float32): user -INTERESTED_IN-> concept.
        valid, test (dict[int, list[int]]): user index -> held-out item indices.
        meta (dict): free-form provenance (source files, proxy flag, counts).
        ui_seq (int64 ``(|E_ui|,)``): each train interaction's ``seq`` (position in the user's history), the order
            recency weights read (:mod:`kgrec_neo4j.model.recency`). When not given, a user's interactions are taken
            to be in time order in the arrays and numbered ``0, 1, ...``.
        item_text (float32 ``(|I|, d)``): each item's text embedding, rows of unit length, zeros for an item without
            text; ``None`` when not read. The item graph's text prior reads it (:mod:`kgrec_neo4j.model.itemgraph`).
    """

    user_ids: list[str]
    item_ids: list[str]
    concept_ids: list[str]
    type_names: list[str]
    ui_user: np.ndarray
    ui_item: np.ndarray
    ui_sign: np.ndarray
    ui_weight: np.ndarray
    ic_item: np.ndarray
    ic_concept: np.ndarray
    ic_type: np.ndarray
    ic_weight: np.ndarray
    uc_user: np.ndarray
    uc_concept: np.ndarray
    uc_horizon: np.ndarray
    uc_polarity: np.ndarray
    uc_weight: np.ndarray
    valid: dict[int, list[int]] = field(default_factory=dict)
    test: dict[int, list[int]] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    ui_seq: np.ndarray | None = None
    item_text: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("ui_user", "ui_item", "ui_sign", "ic_item", "ic_concept", "ic_type",
                     "uc_user", "uc_concept", "uc_horizon", "uc_polarity"):
            setattr(self, name, _i64(getattr(self, name)))
        for name in ("ui_weight", "ic_weight", "uc_weight"):
            setattr(self, name, _f32(getattr(self, name)))
        self.ui_seq = array_order(self.ui_user) if self.ui_seq is None else _i64(self.ui_seq)

    # ------------------------------------------------------------------ sizes
    @property
    def num_users(self) -> int:
        return len(self.user_ids)

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    @property
    def num_concepts(self) -> int:
        return len(self.concept_ids)

    @property
    def num_types(self) -> int:
        return len(self.type_names)

    def summary(self) -> dict:
        """Counts for logs and reports."""
        return {
            "users": self.num_users, "items": self.num_items, "concepts": self.num_concepts,
            "types": self.num_types, "train_interactions": int(self.ui_user.size),
            "dislikes": int((self.ui_sign < 0).sum()), "item_concept_edges": int(self.ic_item.size),
            "user_concept_edges": int(self.uc_user.size),
            "valid_users": len(self.valid), "test_users": len(self.test),
        }

    # ------------------------------------------------------------ validation
    def validate(self) -> TrainGraph:
        """Check shapes, index ranges, codes and held-out leakage.

        Raises:
            ValueError: naming the bad array, its shape or the first bad index and the allowed range.
        """
        groups = {
            "ui": ("ui_user", "ui_item", "ui_sign", "ui_weight", "ui_seq"),
            "ic": ("ic_item", "ic_concept", "ic_type", "ic_weight"),
            "uc": ("uc_user", "uc_concept", "uc_horizon", "uc_polarity", "uc_weight"),
        }
        for group, names in groups.items():
            shapes = {n: getattr(self, n).shape for n in names}
            if len(set(shapes.values())) != 1:
                raise ValueError(f"{group} edge arrays must have equal length; got shapes {shapes}")
        ranges = {
            "ui_user": self.num_users, "ui_item": self.num_items,
            "ic_item": self.num_items, "ic_concept": self.num_concepts, "ic_type": self.num_types,
            "uc_user": self.num_users, "uc_concept": self.num_concepts,
        }
        for name, n in ranges.items():
            a = getattr(self, name)
            bad = np.flatnonzero((a < 0) | (a >= n))
            if bad.size:
                raise ValueError(f"{name}[{bad[0]}] = {a[bad[0]]} is out of range [0, {n}) "
                                 f"({bad.size} bad entries)")
        for name, allowed in (("ui_sign", (-1, 0, 1)), ("uc_horizon", (0, 1)), ("uc_polarity", (-1, 1))):
            a = getattr(self, name)
            bad = np.flatnonzero(~np.isin(a, allowed))
            if bad.size:
                raise ValueError(f"{name}[{bad[0]}] = {a[bad[0]]} is not one of {allowed}")
        for name in ("ui_weight", "ic_weight", "uc_weight"):
            a = getattr(self, name)
            if a.size and (not np.isfinite(a).all() or (a < 0).any()):
                raise ValueError(f"{name} must be finite and >= 0; got min {a.min()}")
        for name, n in (("user_ids", self.num_users), ("item_ids", self.num_items),
                        ("concept_ids", self.num_concepts)):
            if len(set(getattr(self, name))) != n:
                raise ValueError(f"{name} has duplicate ids ({n} ids, {len(set(getattr(self, name)))} distinct)")
        train_keys = np.unique(self.ui_user * self.num_items + self.ui_item)
        for split in ("valid", "test"):
            held = getattr(self, split)
            us = np.array([u for u, items in held.items() for _ in items], np.int64)
            its = np.array([i for items in held.values() for i in items], np.int64)
            bad = np.flatnonzero((us < 0) | (us >= self.num_users))
            if bad.size:
                raise ValueError(f"{split} has user index {us[bad[0]]}, out of range [0, {self.num_users})")
            bad = np.flatnonzero((its < 0) | (its >= self.num_items))
            if bad.size:
                raise ValueError(f"{split}[{us[bad[0]]}] has item index {its[bad[0]]}, out of range "
                                 f"[0, {self.num_items})")
            bad = np.flatnonzero(np.isin(us * self.num_items + its, train_keys))
            if bad.size:
                raise ValueError(f"{split}[{us[bad[0]]}] item {its[bad[0]]} is also a train edge of that user "
                                 f"({bad.size} such held-out pairs; held-out items must not appear in train edges)")
        return self

    # --------------------------------------------------------------- helpers
    def train_matrix(self, *, binary: bool = True, min_sign: int | None = None) -> sp.csr_matrix:
        """User x item train matrix ``(|U|, |I|)``; repeats summed, or 1 when ``binary``.

        Args:
            min_sign: keep only interactions with ``ui_sign >= min_sign`` (None keeps all).
        """
        keep = np.ones(self.ui_user.size, bool) if min_sign is None else self.ui_sign >= min_sign
        m = sp.csr_matrix(
            (np.ones(int(keep.sum()), np.float32), (self.ui_user[keep], self.ui_item[keep])),
            shape=(self.num_users, self.num_items),
        )
        m.sum_duplicates()
        if binary:
            m.data[:] = 1.0
        return m

    def recency_weights(self, decay: float) -> np.ndarray:
        """float32 ``(|E_ui|,)``: :func:`~kgrec_neo4j.model.recency.history_weights` of each train interaction."""
        from .recency import history_weights

        seq = self.ui_seq if self.ui_seq is not None else array_order(self.ui_user)  # set by __post_init__
        return history_weights(seq, decay, self.ui_user)

    def heldout(self, split: str) -> dict[int, list[int]]:
        if split not in ("valid", "test"):
            raise ValueError(f"split must be 'valid' or 'test' (got {split!r})")
        return getattr(self, split)


# ====================================================================== jsonl builder
def _read_jsonl(path: str | Path) -> Iterator[dict]:
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def sign_from_rating(rating: float | None) -> int:
    """>= 4 like (+1), <= 2 dislike (-1), 3 mixed (0), missing implicit (+1)."""
    if rating is None:
        return 1
    if rating >= 4:
        return 1
    if rating <= 2:
        return -1
    return 0


_TOKEN = re.compile(r"[a-z0-9][a-z0-9+\-']*")
_STOP = frozenset(
    "a an the and or of for to in on with by from at as is it its this that be are was new edition "
    "version pack set x vs w".split()
)


def _norm(text: str) -> str:
    return " ".join(_TOKEN.findall(text.lower()))


def proxy_item_concepts(item: dict) -> list[tuple[str, str]]:
    """PROXY knowledge points of one item as ``(type, value)``: categories, ``Key: v1, v2`` features,
    brand, title tokens and title bigrams (stop words and bare numbers dropped).

    Development only: the real concepts come from the extract/canonicalize pipeline.
    """
    out: list[tuple[str, str]] = []
    for c in item.get("categories") or []:
        out.append(("proxy:category", _norm(c)))
    for feat in item.get("features") or []:
        m = KEYED_LINE.match(feat or "")
        if m and len(m.group(2)) < 200:
            key = _norm(m.group(1)).replace(" ", "_")
            for v in m.group(2).split(","):
                if _norm(v):
                    out.append((f"proxy:{key}", _norm(v)))
    if item.get("brand"):
        out.append(("proxy:brand", _norm(item["brand"])))
    title = item.get("title") or ""
    toks = [t for t in _TOKEN.findall(title.lower()) if t not in _STOP and not t.isdigit() and len(t) > 1]
    out.extend(("proxy:title_token", t) for t in toks)
    out.extend(("proxy:title_bigram", f"{a} {b}") for a, b in zip(toks, toks[1:]))
    return [(t, v) for t, v in out if v]


def _split_last_two(seqs: dict[str, list[tuple[int, str, float | None]]]):
    """Per user, in seq order: last -> test, second-to-last -> valid (users with >= 3 interactions)."""
    for uid, rows in seqs.items():
        rows.sort(key=lambda r: r[0])
        if len(rows) >= 3:
            yield uid, rows[:-2], rows[-2], rows[-1]
        else:
            yield uid, rows, None, None


def from_jsonl(
    items_path: str | Path,
    interactions_path: str | Path,
    *,
    max_users: int | None = None,
    seed: int = 0,
    min_concept_items: int = 2,
    max_concept_share: float = 0.05,
    long_interests: int = 10,
    short_window: int = 5,
    short_interests: int = 5,
    negative_interests: int = 5,
) -> TrainGraph:
    """Build a :class:`TrainGraph` from the generic jsonl files, with PROXY concepts (dev/bench only).

    Split: per user by ``seq``, last interaction = test, second-to-last = valid (users with >= 3
    interactions); a held-out item the user already has in train (a repeat purchase) is dropped from
    the held-out lists, since it can never be ranked. Signs come from ratings (:func:`sign_from_rating`).
    Concepts come from :func:`proxy_item_concepts`, kept when on >= ``min_concept_items`` items (title
    tokens/bigrams also only when on <= ``max_concept_share`` of items). User interests use **train edges only**:
    long horizon = the
    user's top concepts over liked items, short horizon = top concepts over the last ``short_window``
    liked items, negative polarity = concepts of disliked items not among the liked ones.

    Args:
        max_users: keep a random sample of this many users (seeded); items are those they touch.
    """
    if max_users is not None and max_users < 1:
        raise ValueError(f"max_users must be >= 1 (got {max_users})")
    seqs: dict[str, list[tuple[int, str, float | None]]] = defaultdict(list)
    for r in _read_jsonl(interactions_path):
        seqs[r["user_id"]].append((int(r["seq"]), r["item_id"], r.get("rating")))
    users = sorted(seqs)
    if max_users is not None and max_users < len(users):
        rng = np.random.default_rng(seed)
        users = sorted(rng.choice(users, size=max_users, replace=False).tolist())
        seqs = {u: seqs[u] for u in users}
    items_meta = {r["item_id"]: r for r in _read_jsonl(items_path)}

    item_index: dict[str, int] = {}
    for uid in users:
        for _, iid, _ in sorted(seqs[uid], key=lambda r: r[0]):
            item_index.setdefault(iid, len(item_index))
    user_index = {u: k for k, u in enumerate(users)}

    ui_users: list[int] = []
    ui_items: list[int] = []
    ui_signs: list[int] = []
    ui_seqs: list[int] = []
    valid: dict[int, list[int]] = {}
    valid_sign: dict[int, list[int]] = {}
    test: dict[int, list[int]] = {}
    dropped = 0
    for uid, train_rows, v, t in _split_last_two(seqs):
        u = user_index[uid]
        seen = set()
        for seq, iid, rating in train_rows:
            ui_users.append(u)
            ui_items.append(item_index[iid])
            ui_signs.append(sign_from_rating(rating))
            ui_seqs.append(seq)
            seen.add(item_index[iid])
        for split, row in (("valid", v), ("test", t)):
            if row is None:
                continue
            i = item_index[row[1]]
            if i in seen:
                dropped += 1
                continue
            (valid if split == "valid" else test)[u] = [i]
            if split == "valid":
                valid_sign[u] = [sign_from_rating(row[2])]
    ui_user, ui_item, ui_sign = _i64(ui_users), _i64(ui_items), _i64(ui_signs)

    # ---- proxy concepts (item side)
    item_ids = list(item_index)
    raw = [set(proxy_item_concepts(items_meta.get(iid, {}))) for iid in item_ids]
    df = Counter(c for cs in raw for c in cs)
    max_items = max(min_concept_items, int(max_concept_share * len(item_ids)))
    # the share cap drops stop-word-like title tokens; curated fields (categories, features) keep all
    kept = sorted(c for c, n in df.items()
                  if n >= min_concept_items and (n <= max_items or not c[0].startswith("proxy:title")))
    concept_index = {c: k for k, c in enumerate(kept)}
    type_names = sorted({t for t, _ in kept})
    type_index = {t: k for k, t in enumerate(type_names)}
    ic_items: list[int] = []
    ic_concepts: list[int] = []
    ic_types: list[int] = []
    for i, cs in enumerate(raw):
        for c in sorted(cs):
            if c in concept_index:
                ic_items.append(i)
                ic_concepts.append(concept_index[c])
                ic_types.append(type_index[c[0]])
    ic_item, ic_concept, ic_type = _i64(ic_items), _i64(ic_concepts), _i64(ic_types)
    n_u, n_i, n_c = len(users), len(item_ids), len(kept)

    # ---- proxy interests (user side, train edges only)
    ic = sp.csr_matrix((np.ones(ic_item.size, np.float32), (ic_item, ic_concept)), shape=(n_i, n_c))
    liked = ui_sign > 0
    like_m = sp.csr_matrix((np.ones(int(liked.sum()), np.float32), (ui_user[liked], ui_item[liked])),
                           shape=(n_u, n_i))
    # last `short_window` liked train interactions per user (train rows are in seq order per user)
    order = np.flatnonzero(liked)
    rank_from_end = np.zeros(order.size, np.int64)
    counts: dict[int, int] = defaultdict(int)
    for k in range(order.size - 1, -1, -1):
        u = ui_user[order[k]]
        rank_from_end[k] = counts[u]
        counts[u] += 1
    recent = order[rank_from_end < short_window]
    short_m = sp.csr_matrix((np.ones(recent.size, np.float32), (ui_user[recent], ui_item[recent])),
                            shape=(n_u, n_i))
    dis = ui_sign < 0
    dis_m = sp.csr_matrix((np.ones(int(dis.sum()), np.float32), (ui_user[dis], ui_item[dis])), shape=(n_u, n_i))
    long_uc = (like_m @ ic).tocsr()
    short_uc = (short_m @ ic).tocsr()
    neg_uc = (dis_m @ ic).tocsr()
    neg_uc = (neg_uc - neg_uc.multiply(long_uc > 0)).tocsr()
    neg_uc.eliminate_zeros()

    uc_rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, int, int]] = []
    for m, top, horizon, polarity in ((long_uc, long_interests, LONG, 1), (short_uc, short_interests, SHORT, 1),
                                      (neg_uc, negative_interests, LONG, -1)):
        u_idx, c_idx, w = _top_per_row(m, top)
        uc_rows.append((u_idx, c_idx, w, horizon, polarity))
    uc_user = np.concatenate([r[0] for r in uc_rows])
    uc_concept = np.concatenate([r[1] for r in uc_rows])
    uc_weight = np.concatenate([r[2] for r in uc_rows])
    uc_horizon = np.concatenate([np.full(r[0].size, r[3]) for r in uc_rows])
    uc_polarity = np.concatenate([np.full(r[0].size, r[4]) for r in uc_rows])

    g = TrainGraph(
        user_ids=users, item_ids=item_ids, concept_ids=[f"{t}|{v}" for t, v in kept], type_names=type_names,
        ui_user=ui_user, ui_item=ui_item, ui_sign=ui_sign, ui_weight=np.ones(ui_user.size, np.float32),
        ic_item=ic_item, ic_concept=ic_concept, ic_type=ic_type, ic_weight=np.ones(ic_item.size, np.float32),
        uc_user=uc_user, uc_concept=uc_concept, uc_horizon=uc_horizon, uc_polarity=uc_polarity,
        uc_weight=uc_weight, valid=valid, test=test, ui_seq=_i64(ui_seqs),
        meta={"source": str(interactions_path), "items_source": str(items_path), "proxy_concepts": True,
              "max_users": max_users, "seed": seed, "heldout_dropped_repeats": dropped, "valid_sign": valid_sign},
    )
    log.info("built TrainGraph from %s: %s", interactions_path, g.summary())
    return g.validate()


def _top_per_row(m: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``k`` entries per row of a CSR matrix, weights normalised by the row maximum."""
    us, cs, ws = [], [], []
    for u in range(m.shape[0]):
        a, b = m.indptr[u], m.indptr[u + 1]
        if a == b:
            continue
        vals, cols = m.data[a:b], m.indices[a:b]
        if b - a > k:
            sel = np.argsort(-vals, kind="stable")[:k]
            vals, cols = vals[sel], cols[sel]
        us.append(np.full(cols.size, u, np.int64))
        cs.append(cols.astype(np.int64))
        ws.append((vals / vals.max()).astype(np.float32))
    if not us:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    return np.concatenate(us), np.concatenate(cs), np.concatenate(ws)


def dataset_paths(root: str | Path) -> tuple[Path, Path]:
    """``(items, interactions)`` paths of a generic-format dataset folder (``.jsonl`` or ``.jsonl.gz``)."""
    root = Path(root)
    out = []
    for stem in ("items", "interactions"):
        for name in (f"{stem}.jsonl.gz", f"{stem}.jsonl"):
            if (root / name).is_file():
                out.append(root / name)
                break
        else:
            raise FileNotFoundError(f"{root} has no {stem}.jsonl[.gz]; expected the generic format "
                                    f"(see the data README)")
    return out[0], out[1]
