"""Clustering with a similarity floor: no cluster holds two values less similar than the floor.

Pure numpy/scipy. The method is *complete-linkage* agglomerative clustering on cosine distance, cut at
distance ``1 - floor``: a complete-linkage merge height is the largest distance inside the merged
cluster, so every pair of members of a flat cluster has cosine similarity >= ``floor`` — or the same
content words (:func:`.variants.lexical_key`: ``Sid Meier's Civilization IV`` / ``Sid Meiers Civilization
4``), which count as distance 0 when the texts are given; a pair where one value adds words to the other
(``Sonic`` / ``Sonic Generations``) counts as far apart below :data:`.variants.CONTAIN_FLOOR`.

Memory stays bounded without an ``n x n`` matrix:

1. The *threshold graph* (edges between values with similarity >= the lowest floor that will be tried,
   and between values with the same content words) is built block by block (``block x n`` similarities at
   a time) as a sparse matrix.
2. A complete-linkage cluster at any floor >= that lowest floor lies inside one connected component of
   the graph, so every component is clustered on its own: exactly (scipy ``linkage`` on its condensed
   distances, ``m (m-1) / 2`` float64) when it has at most ``dense_limit`` values (12,000 → 0.58 GB),
   else by a greedy leader pass that admits a value to a cluster only if it clears the floor against
   *every* member (the same guarantee, found greedily).
3. The trees are kept, so cutting at another floor (the per-type band search) is cheap.

A *variant guard* (on by default, :mod:`.variants`) keeps values apart whose numbers or variant words
differ (``PlayStation 4`` / ``PlayStation 3``, ``Xbox`` / ``Xbox One``, ``1TB`` / ``2TB``, ``Final Fantasy X``
/ ``Final Fantasy IV``, ``Cherry MX Blue`` / ``Cherry MX Brown``): small sentence encoders rate such pairs
0.85-0.95 similar although they name different things.

Shapes: ``X`` is ``(n, d)`` float32 with L2-normalised rows; labels are ``(n,)`` int64 in ``0..k-1``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from . import variants

log = logging.getLogger(__name__)

_CANNOT = 4.0  # distance given to guarded pairs: larger than any cosine distance (max 2)


class GuardCodes:
    """Vectorised variant guard (:mod:`.variants`) over ``n`` texts: three ``(n,)`` int64 code columns.

    ``main`` numbers the distinct (numbers, variant words) pairs, ``units`` the distinct unit sets (0 = none),
    ``squashed`` the distinct letter-and-digit strings. Two rows are compatible when their ``main`` codes are
    equal and their units agree (equal, or one has none), or when their squashed strings are equal.
    """

    def __init__(self, sigs: Sequence[variants.Signature]):
        ids_main: dict[tuple[frozenset[str], frozenset[str]], int] = {}
        ids_units: dict[frozenset[str], int] = {frozenset(): 0}
        ids_sq: dict[str, int] = {}
        n = len(sigs)
        self.main = np.empty(n, dtype=np.int64)
        self.units = np.empty(n, dtype=np.int64)
        self.squashed = np.empty(n, dtype=np.int64)
        for i, s in enumerate(sigs):
            self.main[i] = ids_main.setdefault((s.numbers, s.words), len(ids_main))
            self.units[i] = ids_units.setdefault(s.units, len(ids_units))
            # an empty squashed string never matches another one
            self.squashed[i] = ids_sq.setdefault(s.squashed, len(ids_sq)) if s.squashed else -1 - i

    @classmethod
    def of(cls, texts: Sequence[str], pack: str = "") -> GuardCodes:
        return cls([variants.signature(t, pack) for t in texts])

    def __len__(self) -> int:
        return int(self.main.size)

    def take(self, idx: np.ndarray) -> GuardCodes:
        out = GuardCodes([])
        out.main, out.units, out.squashed = self.main[idx], self.units[idx], self.squashed[idx]
        return out

    def compatible(self, i: np.ndarray | int, j: np.ndarray | int) -> np.ndarray:
        """Element-wise (broadcasting) compatibility of rows ``i`` and ``j``."""
        ui, uj = self.units[i], self.units[j]
        same = (self.main[i] == self.main[j]) & ((ui == 0) | (uj == 0) | (ui == uj))
        return np.asarray(same | (self.squashed[i] == self.squashed[j]))


def guard_codes(texts: Sequence[str], pack: str = "") -> GuardCodes:
    """Guard codes of ``texts`` (the embedded texts) for the active ``pack``."""
    return GuardCodes.of(texts, pack)


def lexical_groups(lexical: Sequence[frozenset[str]]) -> np.ndarray:
    """``(n,)`` int64: equal ids for values with the same (non-empty) content words, a unique negative id else."""
    ids: dict[frozenset[str], int] = {}
    return np.asarray([ids.setdefault(k, len(ids)) if k else -1 - i for i, k in enumerate(lexical)], dtype=np.int64)


def threshold_graph(X: np.ndarray, floor: float, *, codes: GuardCodes | None = None,
                    groups: np.ndarray | None = None, block: int = 2048) -> csr_matrix:
    """Sparse symmetric ``(n, n)`` graph of pairs with similarity >= ``floor`` (guarded pairs left out).

    With ``groups`` (:func:`lexical_groups`), values with the same content words are joined too, whatever
    their similarity (weight 1: one value, :func:`.variants.same_value`). Peak memory is one ``(block, n)``
    float32 block of similarities.
    """
    n = X.shape[0]
    rows, cols, vals = [], [], []
    for i0 in range(0, n, block):
        S = X[i0:i0 + block] @ X.T  # (b, n)
        r, c = np.nonzero(S >= floor)
        r_abs = r + i0
        keep = c > r_abs
        if codes is not None:
            keep &= codes.compatible(r_abs, c)
        rows.append(r_abs[keep])
        cols.append(c[keep])
        vals.append(S[r[keep], c[keep]])
    if groups is not None and n:
        order = np.argsort(groups, kind="stable")
        bounds = np.flatnonzero(np.diff(groups[order])) + 1
        for members in np.split(order, bounds):
            if members.size < 2 or groups[members[0]] < 0:
                continue
            r, c = np.triu_indices(members.size, 1)
            r, c = members[r], members[c]
            keep = np.einsum("ij,ij->i", X[r], X[c]) < floor  # pairs at or above the floor are in already
            if codes is not None:
                keep &= codes.compatible(r, c)
            rows.append(np.minimum(r, c)[keep])
            cols.append(np.maximum(r, c)[keep])
            vals.append(np.ones(int(keep.sum()), dtype=np.float32))
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    v = np.concatenate(vals).astype(np.float32) if vals else np.zeros(0, np.float32)
    g = coo_matrix((np.concatenate([v, v]), (np.concatenate([r, c]), np.concatenate([c, r]))), shape=(n, n))
    return g.tocsr()


def condensed_distances(X: np.ndarray, codes: GuardCodes | None = None, *, block: int = 1024,
                        lexical: list[frozenset[str]] | None = None, near: float = 0.0) -> np.ndarray:
    """Condensed cosine distances ``1 - x_i . x_j`` (``(n (n-1) / 2,)`` float64), guarded pairs set far apart.

    With ``lexical`` (each value's :func:`.variants.lexical_key`), pairs closer than ``1 - near`` follow the
    lexical relation of :func:`.variants.same_value`: the same content words (or spelling variants of them) →
    distance 0; one value adding words to the other → far apart unless the cosine reaches
    :data:`.variants.CONTAIN_FLOOR`. Pairs with the same content words are at distance 0 however far apart.
    """
    n = X.shape[0]
    out = np.empty(n * (n - 1) // 2, dtype=np.float64)
    groups = lexical_groups(lexical) if lexical is not None else None
    pos = 0
    for i0 in range(0, n, block):
        S = X[i0:i0 + block] @ X.T
        for r in range(S.shape[0]):
            i = i0 + r
            d = 1.0 - S[r, i + 1:].astype(np.float64)
            if groups is not None:
                d[groups[i + 1:] == groups[i]] = 0.0
            if lexical is not None:
                for jj in np.nonzero(d <= 1.0 - near)[0]:
                    rel = variants.lexical_relation(lexical[i], lexical[i + 1 + jj])
                    if rel == "equal":
                        d[jj] = 0.0
                    elif rel != "other" and d[jj] > 1.0 - variants.CONTAIN_FLOOR:
                        d[jj] = _CANNOT
            if codes is not None:
                d[~codes.compatible(i, np.arange(i + 1, n))] = _CANNOT
            out[pos:pos + d.size] = d
            pos += d.size
    np.clip(out, 0.0, None, out=out)
    return out


def greedy_floor(X: np.ndarray, floor: float, graph: csr_matrix, codes: GuardCodes | None = None) -> np.ndarray:
    """Leader clustering with a complete-link check (for components too large for exact linkage).

    Seeds are taken in order of decreasing degree in ``graph``; a seed's unassigned neighbours are
    offered in order of decreasing similarity and admitted only if their similarity to every member
    is >= ``floor`` (and the number guard allows it). Returns ``(n,)`` labels.
    """
    n = X.shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    g = graph.tocsr()
    order = np.argsort(-np.diff(g.indptr), kind="stable")
    k = 0
    for v in order:
        if labels[v] >= 0:
            continue
        members = [v]
        labels[v] = k
        nb = g.indices[g.indptr[v]:g.indptr[v + 1]]
        sims = g.data[g.indptr[v]:g.indptr[v + 1]]
        for u in nb[np.argsort(-sims, kind="stable")]:
            if labels[u] >= 0:
                continue
            if codes is not None and not np.all(codes.compatible(u, np.asarray(members))):
                continue
            if np.min(X[members] @ X[u]) >= floor:
                members.append(u)
                labels[u] = k
        k += 1
    return labels


@dataclass
class FloorClustering:
    """Clusters of one set of values at any floor >= ``min_floor``, from trees built once.

    Args:
        X: ``(n, d)`` L2-normalised embeddings.
        min_floor: the lowest floor that :meth:`labels` will be asked for.
        texts: the values as embedded (for the variant guard and the lexical relation); ``None`` turns both off.
        pack: the type pack whose variant words apply (:data:`.variants.PACK_VARIANT_WORDS`).
        makers: the catalogue's makers' names (:func:`.variants.maker_names`; default the pack's list).
        dense_limit: largest component clustered exactly (memory ``~ 8 * m^2 / 2`` bytes).
    """

    X: np.ndarray
    min_floor: float
    texts: list[str] | None = None
    dense_limit: int = 12_000
    pack: str = ""
    makers: frozenset[variants.Maker] | None = None
    codes: GuardCodes | None = field(init=False, default=None)
    lexical: list[frozenset[str]] | None = field(init=False, default=None)
    components: list[np.ndarray] = field(init=False, default_factory=list)
    trees: dict[int, np.ndarray] = field(init=False, default_factory=dict)
    graph: csr_matrix | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if not 0.0 < self.min_floor < 1.0:
            raise ValueError(f"min_floor must be in (0, 1) (got {self.min_floor})")
        if self.X.ndim != 2:
            raise ValueError(f"X must be (n, d) (got shape {self.X.shape})")
        if self.texts is not None and len(self.texts) != self.X.shape[0]:
            raise ValueError(f"texts has {len(self.texts)} entries but X has {self.X.shape[0]} rows")
        self.X = np.ascontiguousarray(self.X, dtype=np.float32)
        self.codes = guard_codes(self.texts, self.pack) if self.texts is not None else None
        self.lexical = [variants.lexical_key(t, self.pack, self.makers) for t in self.texts] \
            if self.texts is not None else None
        n = self.X.shape[0]
        if n == 0:
            return
        self.graph = threshold_graph(self.X, self.min_floor, codes=self.codes,
                                     groups=lexical_groups(self.lexical) if self.lexical is not None else None)
        ncomp, comp = connected_components(self.graph, directed=False)
        order = np.argsort(comp, kind="stable")
        bounds = np.searchsorted(comp[order], np.arange(ncomp + 1))
        self.components = [order[bounds[i]:bounds[i + 1]] for i in range(ncomp)]
        for ci, idx in enumerate(self.components):
            if 2 <= idx.size <= self.dense_limit:
                codes = self.codes.take(idx) if self.codes is not None else None
                lex = [self.lexical[i] for i in idx] if self.lexical is not None else None
                self.trees[ci] = linkage(condensed_distances(self.X[idx], codes, lexical=lex, near=self.min_floor),
                                         method="complete")
        big = [c.size for c in self.components if c.size > self.dense_limit]
        log.debug("floor clustering: n=%d, %d components, largest %d, %d above dense limit %s",
                  n, ncomp, max(c.size for c in self.components), len(big), big)

    def labels(self, floor: float) -> np.ndarray:
        """``(n,)`` labels of the complete-linkage clusters at ``floor`` (numbered by first member)."""
        if floor < self.min_floor - 1e-12 or floor >= 1.0:
            raise ValueError(f"floor must be in [min_floor={self.min_floor}, 1) (got {floor})")
        n = self.X.shape[0]
        raw = np.full(n, -1, dtype=np.int64)
        k = 0
        for ci, idx in enumerate(self.components):
            if idx.size == 1:
                raw[idx] = k
                k += 1
            elif ci in self.trees:
                lab = fcluster(self.trees[ci], t=1.0 - floor, criterion="distance")
                raw[idx] = lab - 1 + k
                k += int(lab.max())
            else:
                assert self.graph is not None  # components exist only once the graph is built
                sub = self.graph[idx][:, idx]
                sub = sub.multiply(sub >= floor).tocsr()
                codes = self.codes.take(idx) if self.codes is not None else None
                lab = greedy_floor(self.X[idx], floor, sub, codes)
                raw[idx] = lab + k
                k += int(lab.max()) + 1
        return renumber(raw)


def renumber(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered ``0..k-1`` in order of first appearance (deterministic output)."""
    _, first, inv = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty_like(first)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[inv].astype(np.int64)


@dataclass(frozen=True)
class Band:
    """Wanted number of clusters ``[lo, hi]`` and the floors that may be tried ``[floor_min, floor_max]``."""

    lo: int
    hi: int
    floor_min: float = 0.70
    floor_max: float = 0.92

    def __post_init__(self):
        if not 1 <= self.lo <= self.hi:
            raise ValueError(f"band needs 1 <= lo <= hi (got lo={self.lo}, hi={self.hi})")
        if not 0.0 < self.floor_min <= self.floor_max < 1.0:
            raise ValueError(f"floor limits need 0 < floor_min <= floor_max < 1 "
                             f"(got {self.floor_min}, {self.floor_max})")


@dataclass
class FloorChoice:
    floor: float
    labels: np.ndarray
    n_clusters: int
    band_met: bool
    tried: list[tuple[float, int]]


def choose_floor(fc: FloorClustering, band: Band, start: float, *, steps: int = 12) -> FloorChoice:
    """The floor nearest ``start`` (clamped to the band's limits) whose cluster count lies in the band.

    The count rises with the floor, so a bisection between ``start`` and the limit on the side that
    moves the count toward the band finds it. If even the limit misses the band, or the count jumps over it
    between two floors, ``start`` is kept and ``band_met`` is False (``tried`` holds the counts found): a floor
    lowered to the limit would merge values the type's own floor keeps apart (Office: *aluminum* into *steel* at
    0.73) for a band it still misses (until 2026-12-04 the limit was used).
    """
    f = min(max(start, band.floor_min), band.floor_max)
    tried: list[tuple[float, int]] = []

    def count(fl: float) -> tuple[np.ndarray, int]:
        lab = fc.labels(fl)
        k = int(lab.max()) + 1 if lab.size else 0
        tried.append((round(fl, 4), k))
        return lab, k

    lab, k = count(f)
    if band.lo <= k <= band.hi or lab.size == 0:
        return FloorChoice(f, lab, k, band.lo <= k <= band.hi, tried)
    if k > band.hi:  # too many: lower the floor
        lo_f, hi_f = band.floor_min, f
        lab_l, k_l = count(lo_f)
        if k_l > band.hi:
            return FloorChoice(f, lab, k, False, tried)
        best = (lo_f, lab_l, k_l)
    else:  # too few: raise the floor
        lo_f, hi_f = f, band.floor_max
        lab_h, k_h = count(hi_f)
        if k_h < band.lo:
            return FloorChoice(f, lab, k, False, tried)
        best = (hi_f, lab_h, k_h)
    found = False
    for _ in range(steps):
        mid = round((lo_f + hi_f) / 2, 4)
        lab_m, k_m = count(mid)
        if band.lo <= k_m <= band.hi:
            best, found = (mid, lab_m, k_m), True
            # move toward start while staying in the band
            if mid < f:
                lo_f = mid
            else:
                hi_f = mid
            if abs(hi_f - lo_f) < 0.005:
                break
            continue
        if k_m > band.hi:
            hi_f = mid
        else:
            lo_f = mid
        if abs(hi_f - lo_f) < 0.002:
            break
    if not found:  # the count jumps over the band between two floors: no floor meets it, keep the start
        return FloorChoice(f, lab, k, False, tried)
    return FloorChoice(best[0], best[1], best[2], True, tried)


def medoids(X: np.ndarray, labels: np.ndarray, tie_keys: list[str] | None = None) -> np.ndarray:
    """``(k,)`` index of each cluster's medoid: the member with the largest summed similarity to the others.

    Ties go to the smallest ``tie_keys`` entry (deterministic ids).
    """
    k = int(labels.max()) + 1 if labels.size else 0
    out = np.empty(k, dtype=np.int64)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    for c in range(k):
        idx = order[bounds[c]:bounds[c + 1]]
        if idx.size == 1:
            out[c] = idx[0]
            continue
        score = (X[idx] @ X[idx].T).sum(axis=1)
        score = np.round(score, 5)
        cand = idx[score == score.max()]
        if tie_keys is not None and cand.size > 1:
            cand = np.array(sorted(cand, key=lambda i: tie_keys[i]))
        out[c] = cand[0]
    return out


def min_pairwise(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``(k,)`` smallest pairwise similarity inside each cluster (1.0 for singletons)."""
    k = int(labels.max()) + 1 if labels.size else 0
    out = np.ones(k, dtype=np.float64)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    for c in range(k):
        idx = order[bounds[c]:bounds[c + 1]]
        if idx.size > 1:
            out[c] = float((X[idx] @ X[idx].T).min())
    return out
