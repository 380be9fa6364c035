"""Render the JSON of ``bench/train_compare.py --json`` as the markdown table of ``docs/results.md``.

Each row: test Recall@10/20, NDCG@10/20, valid NDCG@10, epochs, and epoch time (wall / CPU seconds); ours'
two parts scored alone follow its row.

    python bench/results_table.py /tmp/ml.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _cells(test: dict, valid: dict) -> str:
    return " | ".join(f"{test[k]:.4f}" for k in ("recall@10", "recall@20", "ndcg@10", "ndcg@20")) + \
        f" | {valid['ndcg@10']:.4f}"


def table(data: dict) -> str:
    lines = ["| model | R@10 | R@20 | N@10 | N@20 | valid N@10 | epochs | epoch s (wall / cpu) | config |",
             "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in data["results"]:
        if "error" in r:
            lines.append(f"| {r['model']} | error: {r['error']} |")
            continue
        c = r["config"]
        conf = ", ".join(f"{k}={v}" for k, v in c.items()) if "lr" not in c else ""
        ep = f"{r['epoch_seconds']:.1f} / {r['epoch_cpu_seconds']:.1f}" if r["epochs"] else "–"
        lines.append(f"| {r['model']} | {_cells(r['test'], r['valid'])} | {r['epochs'] or '–'} | {ep} | {conf} |")
        for part, m in (r.get("parts") or {}).items():
            extra = ""
            if "params" in m:
                p = m["params"]
                extra = f"λ={p['lam']:g}, concept_weight={p['concept_weight']:g}, weight={m['weight']:.4g}"
            lines.append(f"| &nbsp;&nbsp;{r['model']}: {part.replace('_', ' ')} part alone | "
                         f"{_cells(m['test'], m['valid'])} | | | {extra} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(json.loads(Path(sys.argv[1]).read_text())))
