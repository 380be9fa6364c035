"""Offline type discovery on Office against the hand-written ``office_products`` pack, value clusters vs attributes.

Runs ``discover(..., extractor="offline", k=9, sample=200)`` on the Office items twice in one run: with the
value clusters named as they are (``attribute_names=False``, the method before) and named by the attribute
their values share (the default). Each proposed type is matched to the nearest type of the shipped pack: the
cosine (bundled MiniLM) between the proposal (its name and examples) and the pack type (its name, definition
and examples); a proposal *matches* a pack type at cosine >= ``--match`` (0.5). Printed per run: the proposals
with their nearest pack type, how many of the pack's 8 types (Others aside) some proposal matches, and how many
proposals match none.

    python bench/discover_compare.py [--data ../shared/data/amazon-office-2018] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.core.embed import get_embedder  # noqa: E402
from kgrec_neo4j.core.schema import load_pack  # noqa: E402
from kgrec_neo4j.discover import OTHERS, discover, items_from_dataset  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/amazon-office-2018"))
    ap.add_argument("--pack", default="office_products")
    ap.add_argument("--k", type=int, default=9)
    ap.add_argument("--sample", type=int, default=200)
    ap.add_argument("--match", type=float, default=0.5)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    settings = load_settings()
    emb = get_embedder(settings)
    pack = load_pack(a.pack)
    shipped = [t for t in pack.types if t.name != OTHERS]
    P = emb.encode([f"{t.name}: {t.definition} e.g. {', '.join(t.examples[:5])}".lower() for t in shipped])
    items = items_from_dataset([a.data])
    out = {"load_average": round(os.getloadavg()[0], 2), "runs": {}}
    for label, attr in (("value clusters (before)", False), ("attributes (now)", True)):
        rep = discover(items, settings, k=a.k, sample=a.sample, extractor="offline", seed=0, attribute_names=attr)
        props = [t for t in rep.types if t.name != OTHERS]
        V = emb.encode([f"{t.name}: {', '.join(t.examples[:5])}".lower() for t in props])
        S = V @ P.T
        rows, found = [], set()
        for t, s in zip(props, S):
            j = int(np.argmax(s))
            ok = float(s[j]) >= a.match
            if ok:
                found.add(shipped[j].name)
            rows.append({"proposed": t.name, "coverage": t.coverage, "examples": t.examples[:5],
                         "nearest": shipped[j].name, "cos": round(float(s[j]), 3), "matches": ok})
        res = {"types": rows, "pack_types_found": sorted(found), "found": len(found), "of": len(shipped),
               "matching_none": sum(not r["matches"] for r in rows), "dropped": rep.dropped,
               "covered_by_types": rep.covered_by_types}
        out["runs"][label] = res
        print(f"\n== {label}: {res['found']} of {res['of']} pack types found, {res['matching_none']} of "
              f"{len(rows)} proposals match none; dropped {rep.dropped}")
        for r in rows:
            print(f"  {r['proposed']:<22} cov {r['coverage']:.3f}  -> {r['nearest']:<24} {r['cos']:.2f} "
                  f"{'' if r['matches'] else '(none)'}  e.g. {', '.join(r['examples'][:4])}")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
