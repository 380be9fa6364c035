"""Ours' GNN part trained as a residual of the item graph, against the usual mixing (train-only protocol).

The question: is there anything left for the GNN part to learn once the item graph has order and the items' text?
On Office, ``seq-ease + text`` (the item graph with recency, transitions and the text prior, no knowledge: section 4
of docs/results.md, "The items' text as a prior") is level with ours, and the GNN part mixed in with a weight
chosen on valid adds nothing measurable. Here the GNN part is trained **on top of** that item graph instead of
beside it: ``fit(..., offset=S)`` adds the item graph's scores ``S`` (scaled to unit standard deviation over the
valid users, times ``t``) to the GNN's own in every BPR pair and in the valid ranking that stops it, so its
gradients come from the pairs that the item graph gets wrong. Rows (test NDCG@10 and Recall@20, one split,
every choice on valid):

* ``item graph``: the item graph alone (``--graph seq-ease``: concept weight 0, λ from ``--lambdas``, the
  transition weights of ``--betas``, then the text priors of ``--text-priors``, each on the point before, as
  ``bench/transitions_served.py`` chooses ``seq-ease + text``; ``--graph ours``: with the concept weights {0, 2});
* ``mixed`` (``t`` 0): the GNN trained alone, then ``gnn + m · S`` with ``m`` chosen on valid (as ``kgrec train``
  attaches its item graph);
* ``residual t``: the GNN trained with the offset ``t · S``; served as ``gnn + m · t · S``, ``m`` ∈ {¼ … 4} on valid.

The GNN part is ours' default configuration (``TrainConfig``, patience 10, 50 epochs), the batch and learning rate
``kgrec train`` gives it (``served_batch``). Proxy concepts of the jsonl (``from_jsonl``). Example::

    python bench/residual_gnn.py ../shared/data/amazon-office-2018 --seeds 0 1 2 --scales 0,1,3 \\
        --text-cache emb.sqlite --json residual-office.json
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.protocols import _ms  # noqa: E402
from bench.train_compare import _floats  # noqa: E402
from bench.transitions_served import served_batch  # noqa: E402
from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.core.embed import Embedder  # noqa: E402
from kgrec_neo4j.model import itemtext  # noqa: E402
from kgrec_neo4j.model.data import dataset_paths, from_jsonl  # noqa: E402
from kgrec_neo4j.model.evaluate import evaluate  # noqa: E402
from kgrec_neo4j.model.itemgraph import ItemGraph, shared_fits  # noqa: E402
from kgrec_neo4j.model.train import TrainConfig, _embedding_scorer, _embeddings, fit, fit_item_graph, valid_sample  # noqa: E402,E501


def item_graph(tg, base: TrainConfig, a: argparse.Namespace) -> ItemGraph:
    """The item graph of ``--graph``, every choice on seed 0's valid sample (as ``transitions_served.py``)."""
    vu0 = valid_sample(tg, base.valid_sample, np.random.default_rng(0))
    with shared_fits():
        if a.graph == "seq-ease":
            point = fit_item_graph(tg, base.model_copy(update={
                "item_graph_concept_weights": [0.0], "item_graph_lambdas": list(a.lambdas),
                "item_graph_transitions": list(a.betas)}), vu0)[0]
        else:
            ig0 = fit_item_graph(tg, base.model_copy(update={"item_graph_concept_weights": [0.0, 2.0],
                                                             "item_graph_lambdas": list(a.lambdas)}), vu0)[0]
            point = fit_item_graph(tg, base.model_copy(update={
                "item_graph_lambdas": [ig0.lam], "item_graph_concept_weights": [ig0.concept_weight],
                "item_graph_transitions": list(a.betas)}), vu0)[0]
        if not a.text_priors:
            return point
        return fit_item_graph(tg, base.model_copy(update={
            "item_graph_lambdas": list(dict.fromkeys([point.lam, *a.lambdas])),
            "item_graph_concept_weights": [0.0] if point.concept_weight == 0 else [0.0, 2.0],
            "item_graph_transitions": [point.transitions], "item_graph_text_priors": [0.0, *a.text_priors]}), vu0)[0]


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, help="a generic jsonl dataset (proxy concepts)")
    ap.add_argument("--graph", choices=["seq-ease", "ours"], default="seq-ease")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--scales", type=_floats, default=[0.0, 1.0, 3.0],
                    help="offset scales t tried (0: the GNN trained alone, then mixed)")
    ap.add_argument("--lambdas", type=_floats, default=[10.0, 20.0, 50.0])
    ap.add_argument("--betas", type=_floats, default=[0.5, 1.0])
    ap.add_argument("--text-priors", type=_floats, default=[20.0, 50.0, 100.0])
    ap.add_argument("--text-cache", type=Path, default=None)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    items, inter = dataset_paths(a.data)
    tg = from_jsonl(items, inter)
    if a.text_priors:
        tg.item_text = itemtext.from_jsonl(items, tg.item_ids,
                                           Embedder(load_settings().embedding_model, cache_path=a.text_cache))
    base = TrainConfig(model="kgrec", epochs=a.epochs, patience=10, seed=0, item_graph_transitions=[])
    t = time.perf_counter()
    ig = item_graph(tg, base, a)
    users = torch.arange(tg.num_users)
    scores = torch.cat([ig.score(users[b: b + 1024]).float() for b in range(0, tg.num_users, 1024)])
    vu = torch.from_numpy(np.asarray(sorted(tg.valid), np.int64))
    unit = scores / float(scores[vu].std())
    rows: list[dict] = []

    def emit(row: dict) -> None:
        print(json.dumps(row), flush=True)
        rows.append(row)

    test = evaluate(lambda u: scores[u], tg, "test")
    emit({"model": "item graph", "seed": None, "chosen": ig.params(), "ndcg": test["ndcg@10"],
          "recall20": test["recall@20"], "seconds": round(time.perf_counter() - t, 1)})
    batch, lr = served_batch(tg, base)
    for seed in a.seeds:
        for scale in a.scales:
            t = time.perf_counter()
            cfg = base.model_copy(update={"seed": seed, "use_item_graph": False, "batch_size": batch, "lr": lr})
            model, rep = fit(tg, cfg, offset=unit * scale if scale > 0 else None)
            gnn = _embedding_scorer(model, emb=_embeddings(model))
            # mixed: the item graph's weight in units of the GNN's score spread; residual: around the trained offset
            spread = float(gnn(vu).std()) if scale == 0 else scale
            grid = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0] if scale == 0 else [0.25, 0.5, 1.0, 2.0, 4.0]
            best = max(((evaluate(lambda u, w=m * spread, g=gnn: g(u) + w * unit[u], tg, "valid")["ndcg@10"], m)
                        for m in grid), key=lambda x: x[0])
            test = evaluate(lambda u, w=best[1] * spread, g=gnn: g(u) + w * unit[u], tg, "test")
            emit({"model": "mixed" if scale == 0 else f"residual {scale:g}", "seed": seed, "multiplier": best[1],
                  "valid": best[0], "ndcg": test["ndcg@10"], "recall20": test["recall@20"], "epochs": rep.epochs,
                  "best_epoch": rep.best_epoch, "seconds": round(time.perf_counter() - t, 1)})
    print(f"\n{a.data.name}, item graph {a.graph}{' + text' if a.text_priors else ''}: test, mean ± std over seeds "
          f"{a.seeds} (train-only history; load average {os.getloadavg()[0]:.1f})")
    print("| model | NDCG@10 | Recall@20 | epochs (best) |")
    print("|---|---:|---:|---:|")
    for name in dict.fromkeys(r["model"] for r in rows):
        got = [r for r in rows if r["model"] == name]
        ep = ", ".join(f"{r['epochs']} ({r['best_epoch']})" for r in got if "epochs" in r)
        print(f"| {name} | {_ms([r['ndcg'] for r in got])} | {_ms([r['recall20'] for r in got])} | {ep} |")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=2, default=float))
    return rows


if __name__ == "__main__":
    main()
