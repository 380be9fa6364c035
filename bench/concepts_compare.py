"""Compare vocabularies on the same mention texts: ours vs the seed's earlier approaches.

Mention texts: typed chunks of the real item titles (``kgrec_neo4j.concepts.title_mentions``; the
offline extractor did not exist when this was written). Per dataset and type, every unique text is
embedded (MiniLM by default, abbreviations expanded) and clustered by

* ``ours``        complete linkage under the per-type floor (start 0.82, band 2%..90% of unique texts,
                  floor limits 0.70..0.92), on all texts;
* ``ours-incr``   the incremental pipeline in memory: first vocabulary from a 5 % item sample, exact
                  nearest-concept projection of the rest (acceptance = floor, number guard), growth of
                  pending texts (clusters with >= 2 items), projection again;
* ``ours-incr-strict``  the same with acceptance (1 + floor) / 2 instead of the floor;
* ``hdbscan``     sklearn HDBSCAN, one setting for all types (min_cluster_size=5, cosine via normalised
                  euclidean), noise = unassigned;
* ``kmeans10`` / ``kmeans20``  sklearn KMeans with K = 10 / 20 (every text assigned).

Each clustering is scored with :func:`kgrec_neo4j.concepts.report.type_stats` (the code that scores
the stored vocabulary). Usage::

    python bench/concepts_compare.py --out /tmp/concepts-compare   # writes compare.md, compare.json, PNGs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from kgrec_neo4j.concepts.aliases import embedding_text
from kgrec_neo4j.concepts.build import (
    DEFAULT_FLOOR,
    DEFAULT_FLOOR_MAX,
    DEFAULT_FLOOR_MIN,
    default_band,
)
from kgrec_neo4j.concepts.cluster import (
    Band,
    FloorClustering,
    choose_floor,
    compatible,
    guard_codes,
    medoids,
)
from kgrec_neo4j.concepts.report import sizes_png, stats_table, type_stats
from kgrec_neo4j.concepts.title_mentions import read_items, title_mentions
from kgrec_neo4j.core.config import load_settings
from kgrec_neo4j.core.embed import get_embedder

DATASETS = {"video_games": "amazon-videogames-2018", "office_products": "amazon-office-2018"}


def ours(X, texts, floor=DEFAULT_FLOOR):
    lo, hi = default_band(len(texts))
    fc = FloorClustering(X, DEFAULT_FLOOR_MIN, texts)
    ch = choose_floor(fc, Band(lo, hi, DEFAULT_FLOOR_MIN, DEFAULT_FLOOR_MAX), floor)
    return ch.labels, ch.floor


def project_exact(X, texts, C, ccodes, acceptance):
    """Nearest concept (exact cosine) with the acceptance threshold and the number guard; -1 = pending."""
    codes = guard_codes(texts)
    out = np.full(len(texts), -1, dtype=np.int64)
    if len(C) == 0:
        return out
    for i0 in range(0, len(texts), 4096):
        S = X[i0:i0 + 4096] @ C.T
        ok = compatible(codes[i0:i0 + 4096, None], ccodes[None, :])
        S = np.where(ok, S, -2.0)
        best = S.argmax(axis=1)
        hit = S[np.arange(S.shape[0]), best] >= acceptance
        out[i0:i0 + 4096][hit] = best[hit]
    return out


def ours_incremental(X, texts, items_of, sample_items, min_items=2, strict=False):
    """Build on the texts of sampled items, project the rest, grow pending, project again.

    ``strict``: acceptance threshold (1 + floor) / 2 instead of the floor.
    """
    n = len(texts)
    in_sample = np.array([bool(items_of[i] & sample_items) for i in range(n)])
    lab = np.full(n, -1, dtype=np.int64)
    idx = np.nonzero(in_sample)[0]
    if idx.size == 0:
        return lab, None
    sl, floor = ours(X[idx], [texts[i] for i in idx])
    lab[idx] = sl
    acc = (1.0 + floor) / 2.0 if strict else floor
    med = idx[medoids(X[idx], sl)]
    C, Ccodes = X[med], guard_codes([texts[i] for i in med])
    rest = np.nonzero(lab < 0)[0]
    pr = project_exact(X[rest], [texts[i] for i in rest], C, Ccodes, acc)
    lab[rest] = pr
    pend = np.nonzero(lab < 0)[0]
    if pend.size:
        gl = FloorClustering(X[pend], floor, [texts[i] for i in pend]).labels(floor)
        support = defaultdict(set)
        for j, g in zip(pend, gl):
            support[g] |= items_of[j]
        keep = sorted(g for g, s in support.items() if len(s) >= min_items)
        remap = {g: lab.max() + 1 + r for r, g in enumerate(keep)}
        for j, g in zip(pend, gl):
            if g in remap:
                lab[j] = remap[g]
        new_med = []
        for g in keep:
            members = pend[gl == g]
            new_med.append(members[medoids(X[members], np.zeros(members.size, dtype=np.int64))[0]])
        if new_med:
            C = np.vstack([C, X[new_med]])
            Ccodes = np.concatenate([Ccodes, guard_codes([texts[i] for i in new_med])])
        pend = np.nonzero(lab < 0)[0]
        lab[pend] = project_exact(X[pend], [texts[i] for i in pend], C, Ccodes, acc)
    return lab, floor


def hdbscan(X):
    from sklearn.cluster import HDBSCAN

    if len(X) < 5:
        return np.full(len(X), -1)
    return HDBSCAN(min_cluster_size=5, metric="euclidean", copy=True).fit_predict(X)


def kmeans(X, k, seed):
    from sklearn.cluster import KMeans

    if len(X) <= k:
        return np.arange(len(X))
    return KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(X)


def run(dataset: str, data_dir: Path, emb, seed: int, out: Path, only_ours: bool = False) -> tuple[list, dict]:
    items = [it for it in read_items(data_dir / DATASETS[dataset] / "items.jsonl.gz") if it.get("title")]
    ms = title_mentions(items, domain=dataset)
    ids = sorted({m.item_id for m in ms}, key=lambda i: hashlib.sha1(f"{seed}:{i}".encode()).hexdigest())
    sample = set(ids[:max(1, round(0.05 * len(ids)))])
    by_type: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for m in ms:
        by_type[m.type][m.key].append(m.item_id)
    stats, timing = [], {}
    for typ in sorted(by_type):
        keys = sorted(by_type[typ])
        texts = [embedding_text(k, dataset) for k in keys]
        X = emb.encode(texts)
        counts = np.array([len(by_type[typ][k]) for k in keys])
        items_of = [set(by_type[typ][k]) for k in keys]
        methods = {}
        def timed(name, fn, *args, typ=typ, **kw):
            t = time.perf_counter()
            out = fn(*args, **kw)
            timing[(typ, name)] = time.perf_counter() - t
            return out

        methods["ours"], fl = timed("ours", ours, X, texts)
        methods["ours-incr"], _ = timed("ours-incr", ours_incremental, X, texts, items_of, sample)
        methods["ours-incr-strict"], _ = timed("ours-incr-strict", ours_incremental, X, texts, items_of, sample,
                                               strict=True)
        if not only_ours:
            methods["hdbscan"] = timed("hdbscan", hdbscan, X)
            for k in (10, 20):
                methods[f"kmeans{k}"] = timed(f"kmeans{k}", kmeans, X, k, seed)
        for name, lab in methods.items():
            lab = np.asarray(lab, dtype=np.int64)
            if (lab >= 0).any():  # renumber to 0..k-1 keeping -1
                u, inv = np.unique(lab[lab >= 0], return_inverse=True)
                lab = lab.copy()
                lab[lab >= 0] = inv
            st = type_stats(typ, keys, X, counts, lab, method=name, top=3, samples=5)
            stats.append(st)
        print(f"{dataset} {typ}: {len(keys)} texts, ours floor {fl:.3f}", flush=True)
    sizes_png(stats, out / f"sizes-{dataset}.png", title=f"Concept sizes, {dataset}")
    return stats, {f"{t}|{m}": round(v, 3) for (t, m), v in timing.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/concepts-compare"))
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS))
    ap.add_argument("--only-ours", action="store_true", help="skip HDBSCAN and K-means (quick runs)")
    args = ap.parse_args()
    settings = load_settings()
    emb = get_embedder(settings)
    data_dir = Path(settings.data_dir)
    if not data_dir.is_dir():
        data_dir = Path(__file__).resolve().parents[2] / "shared" / "data"
    args.out.mkdir(parents=True, exist_ok=True)
    md, js = [], {}
    for ds in args.datasets:
        stats, timing = run(ds, data_dir, emb, settings.seed, args.out, args.only_ours)
        md.append(f"## {ds}\n\n" + stats_table(stats))
        js[ds] = {"stats": [s.model_dump() for s in stats], "seconds": timing}
    (args.out / "compare.md").write_text("\n".join(md))
    (args.out / "compare.json").write_text(json.dumps(js, indent=1))
    print("\n".join(md))


if __name__ == "__main__":
    main()
