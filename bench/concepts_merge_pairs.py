"""Merge decisions against hand labels: may two real mention texts share a concept?

``bench/data/merge_pairs.jsonl`` holds pairs of real mention texts of one type from Video Games and Office
(how they were drawn and labelled: docs/concepts.md, "The merge benchmark"), each labelled ``merge``,
``apart`` or ``ambiguous`` (left out). Both decisions are computed in this run on the same vectors (the
mention keys with the pack's abbreviations spelled out, the configured embedding model):

* ``main``: the rule before the variant guard: cosine >= floor and the *number guard* (digit groups equal,
  or one side has none) — the clustering decision of the concept stage up to commit a727e62;
* ``guard``: cosine >= floor and the variant guard alone (:func:`kgrec_neo4j.concepts.variants.compatible`);
* ``new``: the concept stage's decision now (:func:`kgrec_neo4j.concepts.variants.same_value`): the variant
  guard, then the lexical relation (same content words: together; one adds words: apart unless cosine >=
  0.93), then cosine >= floor. Content words are compared with the catalogue's makers' names at the start
  or end dropped (:func:`kgrec_neo4j.concepts.variants.maker_names` of the dataset's ``items.jsonl[.gz]``,
  the brand values the concept stage reads from the graph's items) and spelling variants as one word.

A pair is *merged* when the rule lets the two values share a concept (the complete-linkage decision for a
pair, and the projection decision when the floor is the acceptance threshold). Printed per floor:
precision and recall of ``merge``, and the counts behind them; then the errors of ``new`` at ``--floor``.

    python bench/concepts_merge_pairs.py [--floor 0.86] [--data ../shared/data] [--json out.json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgrec_neo4j.concepts.aliases import embedding_text  # noqa: E402
from kgrec_neo4j.concepts.store import encode_keys  # noqa: E402
from kgrec_neo4j.concepts.variants import Maker, compatible, maker_names, same_value, signature  # noqa: E402
from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.core.embed import get_embedder  # noqa: E402
from kgrec_neo4j.extract.base import mention_key  # noqa: E402

PAIRS = Path(__file__).resolve().parent / "data" / "merge_pairs.jsonl"
PACKS = {"vg": "video_games", "office": "office_products"}
DATASETS = {"vg": "amazon-videogames-2018", "office": "amazon-office-2018"}
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FLOORS = [0.70, 0.75, 0.78, 0.80, 0.82, 0.85, 0.86, 0.87, 0.88, 0.90, 0.91, 0.92, 0.95]
_DIGITS = re.compile(r"\d+")


def number_guard_ok(a: str, b: str) -> bool:
    """The guard of main (a727e62): digit groups, leading zeros dropped, must be equal when both have some."""
    sa = frozenset(g.lstrip("0") or "0" for g in _DIGITS.findall(a))
    sb = frozenset(g.lstrip("0") or "0" for g in _DIGITS.findall(b))
    return not sa or not sb or sa == sb


def catalogue_makers(folder: Path, pack: str) -> frozenset[Maker]:
    """The makers' names of a dataset from the ``brand`` and ``title`` of its ``items.jsonl[.gz]`` (the values the
    load stage stores on the items, and the concept stage reads back)."""
    path = next((p for p in (folder / "items.jsonl.gz", folder / "items.jsonl") if p.exists()), None)
    if path is None:
        raise SystemExit(f"{folder}: no items.jsonl[.gz]; pass --data with the folder that holds "
                         f"{', '.join(DATASETS.values())}")
    with (gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")) as f:
        items = [json.loads(line) for line in f if line.strip()]
    return maker_names(((it.get("brand"), it.get("title")) for it in items), pack)


def scores(decisions: list[bool], labels: list[str]) -> dict:
    tp = sum(d and lab == "merge" for d, lab in zip(decisions, labels))
    fp = sum(d and lab == "apart" for d, lab in zip(decisions, labels))
    fn = sum((not d) and lab == "merge" for d, lab in zip(decisions, labels))
    return {"precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "recall": round(tp / (tp + fn), 4) if tp + fn else None, "tp": tp, "fp": fp, "fn": fn}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", default=str(PAIRS))
    ap.add_argument("--floor", type=float, default=0.86, help="floor whose errors are listed (the default floor of build)")
    ap.add_argument("--data", type=Path, default=DATA, help="folder with the datasets (their items.jsonl)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    rows = [json.loads(line) for line in open(a.pairs, encoding="utf-8") if line.strip()]
    rows = [r for r in rows if r["label"] in ("merge", "apart")]
    makers = {PACKS[d]: catalogue_makers(a.data / DATASETS[d], PACKS[d]) for d in sorted({r["dataset"] for r in rows})}
    emb = get_embedder(load_settings())
    cos, main_ok, guard_ok, texts = [], [], [], []
    for r in rows:
        pack = PACKS[r["dataset"]]
        ka, kb = mention_key(r["a"]), mention_key(r["b"])
        X = encode_keys(emb, [ka, kb], pack)
        cos.append(float(X[0] @ X[1]))
        ta, tb = embedding_text(ka, pack), embedding_text(kb, pack)
        main_ok.append(number_guard_ok(ta, tb))
        guard_ok.append(compatible(signature(ta, pack), signature(tb, pack)))
        texts.append((ta, tb, pack))
    labels = [r["label"] for r in rows]
    out = {"pairs": len(rows), "merge": labels.count("merge"), "apart": labels.count("apart"),
           "by_dataset": {d: sum(r["dataset"] == d for r in rows) for d in PACKS}, "floors": [],
           "makers": {p: len(m) for p, m in makers.items()}, "load_average": round(os.getloadavg()[0], 2)}
    print(f"{len(rows)} labelled pairs ({out['merge']} merge, {out['apart']} apart)")
    print(f"{'floor':>6} | {'main P':>7} {'main R':>7} | {'guard P':>7} {'guard R':>7} | {'new P':>7} {'new R':>7} | "
          f"main tp/fp/fn | new tp/fp/fn")
    fmt = (lambda v: "   -   " if v is None else f"{v:7.3f}")
    for f in FLOORS:
        m = scores([c >= f and ok for c, ok in zip(cos, main_ok)], labels)
        g = scores([c >= f and ok for c, ok in zip(cos, guard_ok)], labels)
        n = scores([same_value(ta, tb, c, f, pack, makers[pack]) for (ta, tb, pack), c in zip(texts, cos)], labels)
        out["floors"].append({"floor": f, "main": m, "guard": g, "new": n})
        print(f"{f:6.2f} | {fmt(m['precision'])} {fmt(m['recall'])} | {fmt(g['precision'])} {fmt(g['recall'])} | "
              f"{fmt(n['precision'])} {fmt(n['recall'])} | {m['tp']}/{m['fp']}/{m['fn']} | {n['tp']}/{n['fp']}/{n['fn']}")
    errors = []
    for r, c, (ta, tb, pack) in zip(rows, cos, texts):
        merged = same_value(ta, tb, c, a.floor, pack, makers[pack])
        if merged != (r["label"] == "merge"):
            errors.append({"type": r["type"], "a": r["a"], "b": r["b"], "cos": round(c, 3), "label": r["label"]})
    out["errors_new"] = errors
    print(f"\nerrors of new at floor {a.floor}:")
    for e in errors:
        kind = "false merge" if e["label"] == "apart" else "missed merge"
        print(f"  {kind:12} {e['cos']:.3f}  [{e['type']}] {e['a']!r} / {e['b']!r}")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
