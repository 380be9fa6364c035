"""Draw the candidate pairs of the merge benchmark from real extractor output (the labels are added by hand).

Input: the points the offline extractor wrote for a dataset (``bench/extract_offline.py --points-out``).
Per dataset, the unique mention keys of each type are embedded as the concept stage embeds them (the
pack's abbreviations spelled out, :func:`kgrec_neo4j.concepts.store.encode_keys`); every same-type pair
with cosine >= ``--min-cos`` is a candidate. Candidates are put in cosine strata (0.60-0.70, 0.70-0.75,
0.75-0.80, 0.80-0.85, 0.85-0.90, 0.90-0.95, 0.95-1.00) and ``--per-stratum`` pairs are drawn from each
(seeded), at most ``--max-type-share`` of a stratum from one type, so that the hard cases near any
floor are as frequent as the easy ones. Pairs whose two texts have the same key never occur (they are one
``Mention`` node). Output: one JSON object per line, ``{dataset, type, a, b, cos}``, unlabelled.

    python bench/merge_pairs_sample.py --points vg=/tmp/vg_points.jsonl:video_games \\
        --points office=/tmp/office_points.jsonl:office_products --out /tmp/candidates.jsonl

How the pairs in ``bench/data/merge_pairs.jsonl`` were labelled is written in docs/concepts.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgrec_neo4j.concepts.store import encode_keys  # noqa: E402
from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.core.embed import get_embedder  # noqa: E402
from kgrec_neo4j.extract.base import mention_key  # noqa: E402

STRATA = [(0.60, 0.70), (0.70, 0.75), (0.75, 0.80), (0.80, 0.85), (0.85, 0.90), (0.90, 0.95), (0.95, 1.0001)]


def read_points(path: Path) -> dict[str, dict[str, str]]:
    """type -> key -> first text seen."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    with open(path, encoding="utf-8") as f:
        for line in f:
            for p in json.loads(line)["points"]:
                k = mention_key(p["value"])
                if k:
                    out[p["type"]].setdefault(k, p["value"])
    return out


def candidates(embedder, pack: str, by_type: dict[str, dict[str, str]], min_cos: float) -> list[dict]:
    out = []
    for typ, texts in sorted(by_type.items()):
        keys = sorted(texts)
        if len(keys) < 2:
            continue
        X = encode_keys(embedder, keys, pack)
        for i0 in range(0, len(keys), 2048):
            S = X[i0:i0 + 2048] @ X.T
            r, c = np.nonzero(S >= min_cos)
            r = r + i0
            m = c > r
            for i, j in zip(r[m], c[m]):
                out.append({"type": typ, "a": texts[keys[i]], "b": texts[keys[j]],
                            "cos": round(float(S[i - i0, j]), 4)})
    return out


def draw(cands: list[dict], per_stratum: int, max_type_share: float, rng: np.random.Generator) -> list[dict]:
    picked = []
    for lo, hi in STRATA:
        pool = [c for c in cands if lo <= c["cos"] < hi]
        order = rng.permutation(len(pool))
        cap = max(1, int(max_type_share * per_stratum))
        per_type: dict[str, int] = defaultdict(int)
        got = 0
        for i in order:
            c = pool[int(i)]
            if per_type[c["type"]] >= cap:
                continue
            per_type[c["type"]] += 1
            picked.append(c)
            got += 1
            if got >= per_stratum:
                break
    return picked


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", action="append", required=True, metavar="NAME=FILE:PACK")
    ap.add_argument("--per-stratum", type=int, default=26)
    ap.add_argument("--max-type-share", type=float, default=0.4)
    ap.add_argument("--min-cos", type=float, default=0.60)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    embedder = get_embedder(load_settings())
    rng = np.random.default_rng(a.seed)
    rows = []
    for spec in a.points:
        name, rest = spec.split("=", 1)
        path, pack = rest.rsplit(":", 1)
        cands = candidates(embedder, pack, read_points(Path(path)), a.min_cos)
        got = draw(cands, a.per_stratum, a.max_type_share, rng)
        print(f"{name}: {len(cands)} candidate pairs, {len(got)} drawn", file=sys.stderr)
        rows += [{"dataset": name, **c} for c in got]
    with open(a.out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
