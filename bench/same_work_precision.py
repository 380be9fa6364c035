"""Precision of the SAME_WORK links (editions and ports) on a hand-labelled sample of real Video Games pairs.

The links are computed exactly as ``kgrec concepts same-work`` computes them
(:func:`kgrec_neo4j.concepts.works.same_work_pairs` with the offline extractor's ``work_name``), over every
titled item of the dataset, with each item's platforms taken from its title by the extractor's platform
patterns (what the extractor writes as ``Compatibility`` mentions for this title-only dataset). No Neo4j.

    python bench/same_work_precision.py                                  # precision on bench/data/same_work_pairs.jsonl
    python bench/same_work_precision.py --draw 160 --seed 17 --out new.jsonl   # a new sample to label by hand

A labelled line is ``{a, b, title_a, title_b, kind, label, note}`` with ``label`` ``same`` (one work: another
edition, platform or packaging), ``different`` or ``ambiguous`` (the titles cannot tell; left out of the
precision); the rules are in docs/concepts.md ("Editions and ports").
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgrec_neo4j.concepts.works import same_work_pairs  # noqa: E402
from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.core.schema import load_pack  # noqa: E402
from kgrec_neo4j.extract.base import mention_key  # noqa: E402
from kgrec_neo4j.extract.offline import OfflineExtractor  # noqa: E402

HERE = Path(__file__).resolve().parent
LABELS = HERE / "data" / "same_work_pairs.jsonl"


class _NoEmbedder:
    """work_name and the platform patterns never embed anything."""

    dim = 8

    def encode(self, texts):
        return np.zeros((len(texts), self.dim), dtype=np.float32)


def compute_pairs(data: Path) -> tuple[list[dict], dict[str, str], dict]:
    ex = OfflineExtractor(load_settings(), load_pack("video_games"), embedder=_NoEmbedder())
    rows, titles = [], {}
    with gzip.open(data / "items.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            it = json.loads(line)
            if not it.get("title"):
                continue
            _, pts = ex._patterns(it["title"], in_title=True)
            platforms = sorted({mention_key(p.value) for p in pts if p.type == "Compatibility"})
            rows.append({"id": it["item_id"], "title": it["title"], "platforms": platforms})
            titles[it["item_id"]] = it["title"]
    pairs, rep = same_work_pairs(rows, ex.work_name, pack="video_games")
    return pairs, titles, rep.model_dump()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(HERE.parents[1] / "shared/data/amazon-videogames-2018"))
    ap.add_argument("--labels", default=str(LABELS))
    ap.add_argument("--draw", type=int, default=0, help="draw this many pairs to label instead of measuring")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    pairs, titles, rep = compute_pairs(Path(a.data))
    print(json.dumps({k: v for k, v in rep.items() if k != "skipped_groups"}), file=sys.stderr)
    if a.draw:
        rng = random.Random(a.seed)
        out = open(a.out, "w", encoding="utf-8") if a.out else sys.stdout
        for p in rng.sample(pairs, min(a.draw, len(pairs))):
            out.write(json.dumps({"a": p["a"], "b": p["b"], "title_a": titles[p["a"]], "title_b": titles[p["b"]],
                                  "kind": p["kind"], "label": None, "note": ""}, ensure_ascii=False) + "\n")
        return
    made = {(p["a"], p["b"]): p for p in pairs}
    labelled = [json.loads(line) for line in open(a.labels, encoding="utf-8") if line.strip()]
    tally: Counter = Counter()
    by_kind: dict[str, Counter] = {}
    wrong = []
    for lab in labelled:
        p = made.get((lab["a"], lab["b"]))
        if p is None:
            tally["no_longer_linked"] += 1
            continue
        if lab["label"] == "ambiguous":
            tally["ambiguous"] += 1
            continue
        ok = lab["label"] == "same"
        tally["same" if ok else "different"] += 1
        by_kind.setdefault(p["kind"], Counter())["same" if ok else "different"] += 1
        if not ok:
            wrong.append(f"{lab['title_a']}  <->  {lab['title_b']}  ({lab.get('note', '')})")
    n = tally["same"] + tally["different"]
    res = {
        "links": len(pairs), "labelled": len(labelled), "still_linked": n,
        "no_longer_linked": tally["no_longer_linked"], "ambiguous": tally["ambiguous"],
        "precision": round(tally["same"] / n, 4) if n else None,
        "by_kind": {k: {"pairs": c["same"] + c["different"],
                        "precision": round(c["same"] / (c["same"] + c["different"]), 4)} for k, c in sorted(by_kind.items())},
        "wrong": wrong,
    }
    print(json.dumps(res, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
