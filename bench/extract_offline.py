"""Benchmark: the offline extractor over every Video Games item (no Neo4j needed).

Reads ``items.jsonl.gz``, runs :class:`OfflineExtractor` in batches (as ``kgrec extract items`` does),
and prints items/s, total time, phrases embedded, and points per item by type. By default the
embedding cache lives in a fresh temporary folder, so the first pass is *cold* (every phrase is sent
to the model); ``--passes 2`` runs again on the same cache to time the *warm* case. Wall time depends on
what else runs on the machine, so the
process CPU time of the extraction is printed too (``extract_cpu_s``, all threads together).

    python bench/extract_offline.py [--data ../shared/data/amazon-videogames-2018] [--pack video_games]
                                    [--batch-size 256] [--limit N] [--passes 2] [--home DIR] [--json out.json]
                                    [--points-out points.jsonl] [--profile] [--baseline]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.core.db import batched  # noqa: E402
from kgrec_neo4j.core.schema import load_pack  # noqa: E402
from kgrec_neo4j.extract.base import ItemText  # noqa: E402
from kgrec_neo4j.extract.offline import OfflineExtractor  # noqa: E402


def read_items(path: Path, limit: int | None) -> list[ItemText]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        items = [ItemText(**json.loads(line)) for line in f]
    return items[:limit] if limit else items


BASELINE = {"phrase_vectors": "model", "min_support": 1}  # the typing before the catalogue pass and word vectors


def one_pass(settings, pack, items, batch_size: int, points_out: Path | None = None,
             profile: bool = False, options: dict | None = None) -> dict:
    ex = OfflineExtractor(settings, pack, **(options or {}))
    t0 = time.perf_counter()
    _ = ex.embedder  # model load counted separately
    ex._prototypes()
    t_load = time.perf_counter() - t0
    by_type: Counter = Counter()
    dropped: Counter = Counter()
    without = 0
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
    sink = open(points_out, "w", encoding="utf-8") if points_out else None
    t1 = time.perf_counter()
    c1 = time.process_time()
    if prof:
        prof.enable()
    ex.prepare(items)  # the catalogue pass `kgrec extract` makes (phrase support), timed with the extraction
    for chunk in batched(items, batch_size):
        for r in ex.extract(chunk):
            by_type.update(p.type for p in r.points)
            dropped.update(r.dropped)
            without += not r.points
            if sink:
                sink.write(json.dumps({"item": r.item_id, "points": [p.model_dump() for p in r.points]}) + "\n")
    if prof:
        prof.disable()
    t_extract = time.perf_counter() - t1
    cpu_extract = time.process_time() - c1
    if sink:
        sink.close()
    n = len(items)
    emb = ex.embedder
    res = {
        "items": n,
        "model_load_s": round(t_load, 2),
        "extract_s": round(t_extract, 2),
        "total_s": round(t_load + t_extract, 2),
        "items_per_s": round(n / t_extract, 1),
        "extract_cpu_s": round(cpu_extract, 2),  # CPU seconds of all threads: what a loaded machine cannot hide
        "phrases_typed": int(ex.stats["phrases_embedded"]),
        "embedder_model_calls": getattr(emb, "calls", None),
        "embedder_cache_hits": getattr(emb, "hits", None),
        "points": sum(by_type.values()),
        "points_per_item": round(sum(by_type.values()) / n, 3),
        "points_per_item_by_type": {t: round(by_type[t] / n, 3) for t in pack.names},
        "items_without_points": without,
        "points_by_source": {k[7:]: int(v) for k, v in ex.stats.items() if k.startswith("points_")},
        "dropped": dict(dropped),
    }
    if prof:
        res["profile"] = profile_summary(prof, t_extract)
    return res


def profile_summary(prof, wall: float, top: int = 12) -> list[dict]:
    """Where the extraction time went: the functions with the largest cumulative time (cProfile)."""
    import pstats

    st = pstats.Stats(prof)
    rows = []
    for (file, line, fn), (_cc, _nc, tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        rows.append({"function": f"{Path(file).name}:{line}({fn})", "cumulative_s": round(ct, 2),
                     "own_s": round(tt, 2), "share": round(ct / wall, 3) if wall else 0.0})
    rows.sort(key=lambda r: -r["cumulative_s"])
    wanted = [r for r in rows if "offline.py" in r["function"] or "embed.py" in r["function"]
              or "linear" in r["function"] or "tokeniz" in r["function"]]
    return wanted[:top]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/amazon-videogames-2018"))
    ap.add_argument("--pack", default="video_games")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--passes", type=int, default=2, help="1 = cold only, 2 = cold then warm cache")
    ap.add_argument("--home", default=None, help="settings home (embedding cache); default: a new temp folder")
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--points-out", default=None, help="write every item's points here (jsonl, first pass)")
    ap.add_argument("--profile", action="store_true", help="profile the first pass (cProfile summary in the output)")
    ap.add_argument("--baseline", action="store_true",
                    help="also run the baseline typing (every phrase through the model, no support count) on the same "
                         "items, each with its own cold cache, and print the ratio of the two rates")
    a = ap.parse_args()

    home = a.home or tempfile.mkdtemp(prefix="kgrec-bench-extract-")
    settings = load_settings({"home": home})
    pack = load_pack(a.pack)
    items = read_items(Path(a.data) / "items.jsonl.gz", a.limit)
    print(f"{len(items)} items from {a.data}; pack {pack.name}; cache {home}; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    out = {"cpus": os.cpu_count(), "load_average_start": round(os.getloadavg()[0], 2), "passes": []}
    for i in range(a.passes):
        from kgrec_neo4j.core import embed

        embed._shared.clear()  # a fresh embedder each pass (cache file kept)
        res = one_pass(settings, pack, items, a.batch_size, Path(a.points_out) if a.points_out and i == 0 else None,
                       profile=a.profile and i == 0)
        res["cache"] = "cold" if i == 0 and not a.home else "warm"
        res["load_average_end"] = round(os.getloadavg()[0], 2)
        out["passes"].append(res)
        print(json.dumps(res, indent=2), flush=True)
    if a.baseline:
        from kgrec_neo4j.core import embed

        embed._shared.clear()
        base_home = tempfile.mkdtemp(prefix="kgrec-bench-extract-base-")
        res = one_pass(load_settings({"home": base_home}), pack, items, a.batch_size, options=BASELINE,
                       profile=a.profile)
        res["cache"] = "cold"
        res["options"] = BASELINE
        res["load_average_end"] = round(os.getloadavg()[0], 2)
        out["baseline"] = res
        first = out["passes"][0]
        out["ratio_items_per_s"] = round(first["items_per_s"] / max(1e-9, res["items_per_s"]), 2)
        out["ratio_cpu"] = round(res["extract_cpu_s"] / max(1e-9, first["extract_cpu_s"]), 2)
        print(json.dumps(res, indent=2), flush=True)
        print(f"default vs baseline: {out['ratio_items_per_s']}x items/s, {out['ratio_cpu']}x less CPU", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
