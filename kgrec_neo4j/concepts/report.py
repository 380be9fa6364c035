"""Quality report of a vocabulary, per type: the same numbers for ours and for other clusterings.

:func:`type_stats` is pure (texts, vectors, counts, labels → :class:`TypeStats`) so the compare bench
can score HDBSCAN or K-means with exactly the code that scores the stored vocabulary
(:func:`concepts_report`).

Definitions (per type):
    mentions       item-level mentions (``MENTIONS`` edges) of the type's values
    unique texts   distinct values (``Mention`` nodes)
    coverage       share of mentions whose value has a concept
    intra          pairwise cosine similarity of the members of one concept (concepts with >= 2
                   members); *mean* is the mean over concepts of their mean, *min* the smallest pair
    nearest-other  per concept, the largest similarity of its vector to another concept's vector of the
                   same type (quantiles); low = distinct concepts
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from ..core.db import Database
from ..core.embed import Embedder
from ..core.resources import cypher
from ..core.schema import TypePack, check_pack
from . import store
from .cluster import medoids

log = logging.getLogger(__name__)

MAX_PAIRWISE = 4000  # members of one concept beyond which intra similarity is computed on a sample


class LargeConcept(BaseModel):
    name: str
    size: int
    samples: list[str]


class TypeStats(BaseModel):
    type: str
    method: str = "ours"
    mentions: int
    unique_texts: int
    concepts: int
    coverage: float
    singletons: int
    mean_intra: float | None
    min_intra: float | None
    nearest_other: dict[str, float] = Field(default_factory=dict, description="quantiles p10/p50/p90/max")
    sizes: list[int] = Field(default_factory=list, exclude=True)
    largest: list[LargeConcept] = Field(default_factory=list)


def type_stats(type_: str, texts: list[str], X: np.ndarray, counts: np.ndarray, labels: np.ndarray, *,
               concept_vectors: np.ndarray | None = None, concept_names: list[str] | None = None,
               method: str = "ours", top: int = 5, samples: int = 6, seed: int = 0) -> TypeStats:
    """Statistics of one type's clustering.

    Args:
        texts: ``(n,)`` unique values; X: ``(n, d)`` their normalised embeddings.
        counts: ``(n,)`` number of mentions of each value.
        labels: ``(n,)`` concept index ``0..k-1``, or -1 for values without a concept.
        concept_vectors: ``(k, d)`` vectors of the concepts (default: each cluster's medoid).
    """
    n = len(texts)
    if X.shape[0] != n or counts.shape[0] != n or labels.shape[0] != n:
        raise ValueError(f"texts, X, counts and labels must have the same length "
                         f"(got {n}, {X.shape[0]}, {counts.shape[0]}, {labels.shape[0]})")
    assigned = labels >= 0
    k = int(labels.max()) + 1 if assigned.any() else 0
    total = int(counts.sum())
    cov = float(counts[assigned].sum() / total) if total else 0.0
    sizes = np.bincount(labels[assigned], minlength=k) if k else np.zeros(0, np.int64)
    rng = np.random.default_rng(seed)
    means, mins = [], []
    members: list[np.ndarray] = []
    for c in range(k):
        idx = np.nonzero(labels == c)[0]
        members.append(idx)
        if idx.size < 2:
            continue
        if idx.size > MAX_PAIRWISE:
            idx = rng.choice(idx, MAX_PAIRWISE, replace=False)
        S = X[idx] @ X[idx].T
        iu = np.triu_indices(idx.size, 1)
        means.append(float(S[iu].mean()))
        mins.append(float(S[iu].min()))
    if concept_vectors is None and k:
        lab = labels.copy()
        med = medoids(X[assigned], lab[assigned])
        concept_vectors = X[assigned][med]
        names = [texts[i] for i in np.nonzero(assigned)[0][med]]
    else:
        names = concept_names or [f"concept {c}" for c in range(k)]
    nearest: dict[str, float] = {}
    if k >= 2:
        assert concept_vectors is not None  # given, or the medoids computed above whenever k > 0
        C = concept_vectors.astype(np.float32)
        best = np.empty(k, dtype=np.float32)
        for i0 in range(0, k, 2048):
            S = C[i0:i0 + 2048] @ C.T
            S[np.arange(S.shape[0]), np.arange(i0, i0 + S.shape[0])] = -np.inf
            best[i0:i0 + S.shape[0]] = S.max(axis=1)
        q = np.quantile(best, [0.1, 0.5, 0.9])
        nearest = {"p10": round(float(q[0]), 4), "p50": round(float(q[1]), 4), "p90": round(float(q[2]), 4),
                   "max": round(float(best.max()), 4)}
    largest = []
    for c in np.argsort(-sizes, kind="stable")[:top]:
        idx = members[c]
        pick = idx[np.argsort(-counts[idx], kind="stable")][:samples]
        largest.append(LargeConcept(name=names[c], size=int(sizes[c]), samples=[texts[i] for i in pick]))
    return TypeStats(type=type_, method=method, mentions=total, unique_texts=n, concepts=k, coverage=round(cov, 4),
                     singletons=int((sizes == 1).sum()), mean_intra=round(float(np.mean(means)), 4) if means else None,
                     min_intra=round(float(np.min(mins)), 4) if mins else None, nearest_other=nearest,
                     sizes=sorted(sizes.tolist(), reverse=True), largest=largest)


class ConceptsReport(BaseModel):
    types: list[TypeStats]
    markdown: str
    png: str | None = None


def stats_table(stats: list[TypeStats]) -> str:
    """Markdown table, one row per (type, method)."""
    head = ("| type | method | item mentions | unique texts | concepts | singletons | coverage | mean intra | "
            "min intra | nearest-other p10 / p50 / p90 / max |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
    lines = []
    for s in stats:
        no = s.nearest_other
        near = " / ".join(f"{no[q]:.2f}" for q in ("p10", "p50", "p90", "max")) if no else "-"
        f = (lambda v: "-" if v is None else f"{v:.3f}")
        lines.append(f"| {s.type} | {s.method} | {s.mentions} | {s.unique_texts} | {s.concepts} | {s.singletons} | "
                     f"{s.coverage:.1%} | {f(s.mean_intra)} | {f(s.min_intra)} | {near} |")
    return head + "\n".join(lines) + "\n"


def largest_markdown(stats: list[TypeStats]) -> str:
    out = []
    for s in stats:
        out.append(f"**{s.type}** ({s.method})\n")
        for c in s.largest:
            out.append(f"- {c.name} ({c.size}): " + "; ".join(c.samples))
        out.append("")
    return "\n".join(out)


def sizes_png(stats: list[TypeStats], path: str | Path, title: str = "Concept sizes per type") -> str:
    """Rank/size plot (log-log) of cluster sizes, one panel per type, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    types = list(dict.fromkeys(s.type for s in stats))
    methods = list(dict.fromkeys(s.method for s in stats))
    colour = {m: f"C{i % 10}" for i, m in enumerate(methods)}  # one colour per method in every panel
    cols = min(4, len(types)) or 1
    rows = (len(types) + cols - 1) // cols or 1
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax, t in zip(axes.flat, types):
        for s in (x for x in stats if x.type == t):
            if s.sizes:
                ax.loglog(np.arange(1, len(s.sizes) + 1), s.sizes, color=colour[s.method],
                          label=f"{s.method} ({s.concepts})")
        ax.set_title(t, fontsize=9)
        ax.set_xlabel("rank", fontsize=8)
        ax.set_ylabel("members", fontsize=8)
        if ax.get_lines():
            ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(types):]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return str(path)


def concepts_report(db: Database, embedder: Embedder, pack: TypePack, *, types: list[str] | None = None,
                    png_path: str | Path | None = None, top: int = 5) -> ConceptsReport:
    """Report of the stored vocabulary (all mentions of each type, assigned or not)."""
    check_pack(db, pack)  # with another pack than the database's only the types both have would be seen
    store.check_model(db, embedder)
    if types is not None:
        pack.check(types)
    stats = []
    for type_ in types or pack.names:
        rows = db.query(cypher("concepts/report_mentions"), type=type_)
        if not rows:
            continue
        rows.sort(key=lambda r: r["key"])
        keys = [r["key"] for r in rows]
        X = store.encode_keys(embedder, keys, pack.name)
        counts = np.asarray([r["mentions"] for r in rows], dtype=np.int64)
        crow = db.query(cypher("concepts/concept_vectors"), type=type_)
        cindex = {r["id"]: i for i, r in enumerate(crow)}
        labels = np.asarray([cindex.get(r["concept"], -1) if r["concept"] else -1 for r in rows], dtype=np.int64)
        # concepts without members (possible after a merge) still count as concepts
        C = np.asarray([r["embedding"] for r in crow], dtype=np.float32) if crow else None
        st = type_stats(type_, [r["text"] or r["key"] for r in rows], X, counts, labels, concept_vectors=C,
                        concept_names=[r["name"] for r in crow], top=top)
        st.concepts = len(crow)
        stats.append(st)
    md = ("# Concept vocabulary report\n\n" + stats_table(stats) + "\n## Coverage and sharing\n\n"
          + coverage_markdown(coverage_stats(db)) + "\n## Largest concepts\n\n" + largest_markdown(stats))
    png = sizes_png(stats, png_path) if png_path and stats else None
    return ConceptsReport(types=stats, markdown=md, png=png)


SIZE_BUCKETS = ((1, 1), (2, 2), (3, 5), (6, 10), (11, 50), (51, None))


class TypeCoverage(BaseModel):
    """Coverage and sharing of one type (or ``all``): the targets of docs/concepts.md."""

    type: str
    mentions: int = 0
    canonical: int = 0
    item_mentions: int = 0
    canonical_item_mentions: int = 0
    concepts: int = 0
    single_item: int = Field(0, description="concepts that exactly one item has")
    sizes: dict[str, int] = Field(default_factory=dict, description="concepts by number of items")

    @property
    def coverage(self) -> float:
        return self.canonical / self.mentions if self.mentions else 0.0

    @property
    def item_coverage(self) -> float:
        return self.canonical_item_mentions / self.item_mentions if self.item_mentions else 0.0

    @property
    def single_item_share(self) -> float:
        return self.single_item / self.concepts if self.concepts else 0.0


def _bucket(n: int) -> str:
    for lo, hi in SIZE_BUCKETS:
        if n >= lo and (hi is None or n <= hi):
            return f"{lo}" if lo == hi else (f"{lo}+" if hi is None else f"{lo}-{hi}")
    return "0"


def coverage_stats(db: Database) -> list[TypeCoverage]:
    """Per type and for ``all`` types: share of mentions with a concept, and concepts by number of items."""
    out: dict[str, TypeCoverage] = {}
    total = TypeCoverage(type="all")
    for r in db.query(cypher("concepts/coverage")):
        tc = out.setdefault(r["type"], TypeCoverage(type=r["type"]))
        for f in ("mentions", "canonical", "item_mentions", "canonical_item_mentions"):
            setattr(tc, f, int(r[f]))
            setattr(total, f, getattr(total, f) + int(r[f]))
    for r in db.query(cypher("concepts/concept_items")):
        for tc in (out.setdefault(r["type"], TypeCoverage(type=r["type"])), total):
            tc.concepts += 1
            tc.single_item += int(r["items"] == 1)
            b = _bucket(int(r["items"]))
            tc.sizes[b] = tc.sizes.get(b, 0) + 1
    return [*sorted(out.values(), key=lambda t: t.type), total]


def coverage_markdown(stats: list[TypeCoverage]) -> str:
    """The coverage table (markdown): mentions with a concept, and concepts by number of items."""
    heads = [_bucket(lo) for lo, _ in SIZE_BUCKETS]
    # (values: the type's Mention nodes, one per distinct text; item mentions: the MENTIONS edges, one per item and
    # value, as the first table counts them; one item: the share of the concepts of one item, the "1 items" count)
    lines = ["| type | values | with a concept | item mentions | with a concept | concepts | one item | "
             + " | ".join(f"{h} items" for h in heads) + " |",
             "|---|---:|---:|---:|---:|---:|---:|" + "---:|" * len(heads)]
    for t in stats:
        lines.append(f"| {t.type} | {t.mentions} | {t.coverage:.1%} | {t.item_mentions} | {t.item_coverage:.1%} | "
                     f"{t.concepts} | {t.single_item_share:.1%} | "
                     + " | ".join(str(t.sizes.get(h, 0)) for h in heads) + " |")
    return "\n".join(lines) + "\n"
