"""Render the JSON of ``bench/train_compare.py --json`` as the markdown table of ``docs/results.md``.

One row per model: test Recall@10/20 and NDCG@10/20 as mean ± std over the seeds (sample std; a closed-form model
runs once and has std 0), valid NDCG@10 (mean), epochs (mean, best epoch in brackets), training wall time per run
(mean seconds), peak RSS (largest, MB) and the chosen settings. Ours' two parts scored alone follow its row.

    python bench/results_table.py /tmp/ml.json
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

METRICS = ("recall@10", "recall@20", "ndcg@10", "ndcg@20")


def mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _pm(values: list[float]) -> str:
    m, s = mean_std(values)
    return f"{m:.4f} ± {s:.4f}"


def _settings(r: dict) -> str:
    c = r["config"]
    if "lr" not in c:  # closed form: its chosen grid point
        return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in c.items())
    keys = ("embedding_dim", "num_layers", "lr", "weight_decay")
    if c.get("model") == "kgrec":
        keys += ("signed_weight", "centre_weight", "max_neighbors")
    out = ", ".join(f"{k.replace('embedding_', '')}={c[k]}" for k in keys if k in c)
    rec = r.get("recency") or {}
    if rec.get("gnn") is not None:
        out += f", gnn decay={rec['gnn']:g}"
    return out


def _part_settings(m: dict) -> str:
    if "params" not in m:
        return ""
    p = m["params"]
    return (f"λ={p['lam']:g}, concept_weight={p['concept_weight']:g}, decay={p.get('decay', 1.0):g}, "
            f"{p.get('solver', 'dense')}, weight={m['weight']:.3g}")


def groups(results: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        out[r["model"]].append(r)
    return out


def table(data: dict) -> str:
    lines = ["| model | seeds | R@10 | R@20 | N@10 | N@20 | valid N@10 | epochs (best) | train s | peak MB | settings |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for model, runs in groups(data["results"]).items():
        errors = [r for r in runs if "error" in r]
        runs = [r for r in runs if "error" not in r]
        if errors:
            lines.append(f"| {model} | error: {errors[0]['error']} |")
        if not runs:
            continue
        cells = " | ".join(_pm([r["test"][k] for r in runs]) for k in METRICS)
        valid = statistics.fmean(r["valid"]["ndcg@10"] for r in runs)
        ep = (f"{statistics.fmean(r['epochs'] for r in runs):.0f} ({statistics.fmean(r['best_epoch'] for r in runs):.0f})"
              if runs[0]["epochs"] else "–")
        train = statistics.fmean(r["train_seconds"] for r in runs)
        peak = max(r["peak_rss_mb"] for r in runs)
        note = " (deterministic)" if any(r.get("deterministic") for r in runs) else ""
        lines.append(f"| {model} | {len(runs)}{note} | {cells} | {valid:.4f} | {ep} | {train:.0f} | {peak:.0f} | "
                     f"{_settings(runs[0])} |")
        for part in (runs[0].get("parts") or {}):
            ms = [r["parts"][part] for r in runs if part in (r.get("parts") or {})]
            cells = " | ".join(_pm([m["test"][k] for m in ms]) for k in METRICS)
            valid = statistics.fmean(m["valid"]["ndcg@10"] for m in ms)
            lines.append(f"| &nbsp;&nbsp;{model}: {part.replace('_', ' ')} part alone | {len(ms)} | {cells} | "
                         f"{valid:.4f} | | | | {_part_settings(ms[0])} |")
    return "\n".join(lines)


BASELINES = ("pop", "itemknn", "ease", "ease-recency", "mf", "lightgcn")


def targets(data: dict, ours: str = "kgrec", metric: str = "ndcg@10") -> str:
    """Ours' mean test ``metric`` against the strongest baseline's and plain EASE's (relative gains)."""
    g = {m: [r for r in runs if "error" not in r] for m, runs in groups(data["results"]).items()}
    if not g.get(ours):
        return ""
    mean = {m: mean_std([r["test"][metric] for r in runs])[0] for m, runs in g.items() if runs}
    base = {m: v for m, v in mean.items() if m in BASELINES}
    lines = []
    if base:
        best = max(base, key=lambda m: base[m])
        lines.append(f"{ours} {mean[ours]:.4f} vs strongest baseline {best} {base[best]:.4f}: "
                     f"{100 * (mean[ours] / base[best] - 1):+.1f}% {metric}")
    if "ease" in base:
        lines.append(f"{ours} vs ease {base['ease']:.4f}: {100 * (mean[ours] / base['ease'] - 1):+.1f}%")
    parts = [r["parts"]["gnn"]["test"][metric] for r in g[ours] if "gnn" in (r.get("parts") or {})]
    gnn = mean.get(ours + "-no-item-graph", mean_std(parts)[0] if parts else None)
    if "lightgcn" in mean and gnn is not None:
        lines.append(f"{ours}'s GNN part alone {gnn:.4f} vs lightgcn {mean['lightgcn']:.4f}: "
                     f"{100 * (gnn / mean['lightgcn'] - 1):+.1f}%")
    return "\n".join(lines)


if __name__ == "__main__":
    d = json.loads(Path(sys.argv[1]).read_text())
    print(table(d))
    print()
    print(targets(d))
