"""Ours with and without transitions in its item graph, on one GNN per seed, under both protocols.

The item graph's transitions (``TrainConfig.item_graph_transitions``, :mod:`kgrec_neo4j.model.itemgraph`: the pairs
*recent interactions → the next one* added to its least squares; on by default since this bench measured them,
``[]`` before). This measures what they do to
the model that is served (the GNN part plus the item graph, mixed with a weight chosen on valid), against the
baselines of the same split, and against the same order signal without knowledge:

* ``ease``, ``ease-recency``: the closed-form baselines (λ grid ``--ease-lambdas``, decays as usual), chosen on valid;
* ``seq-ease`` (order without knowledge): ours' item graph with concept weight 0, λ from the EASE grid
  (``--ease-lambdas``), then each transition weight of ``--betas`` tried on the best point (0 stays a candidate),
  every choice on valid;
* ``item graph``, ``item graph + transitions``: ours' item graph alone (λ × concept weight {0, 2} × decay on valid),
  then the same with the transition weights tried on its best point;
* ``ours``, ``ours + transitions``: **one** GNN trained per seed (``fit`` without its item graph, with the batch
  size and learning rate that ``kgrec train`` gives ours with its item graph, :func:`served_batch`: the GNN's
  training reads nothing else of the item graph) with each of the two item graphs attached, the mixing weight
  chosen on valid each time.

With ``--text-priors``, the items' text as a prior of the item graph (:mod:`kgrec_neo4j.model.itemgraph`, "Text prior";
the text embedded once, ``--text-cache`` keeps it): ``seq-ease + text`` (the L3AE-style baseline: ``seq-ease``'s point
with the prior, no knowledge), ``item graph + transitions + text`` and ``ours + transitions + text``, each prior weight
tried on the point's transitions over the λ grid and the concept weights again, on valid.

Closed-form fits do not depend on the seed: they are fitted once (the item graphs chosen on seed 0's valid sample,
EASE and ``ease-recency`` on every valid user, as ``fit_closed_form`` does). Test NDCG@10 and Recall@20 under (a)
train-only history and (b) history up to the target by fold-in (no refit).

``--neo4j`` reads the train graph from the database of ``NEO4J_URI`` instead (as ``kgrec train`` exports it: the
pipeline's own concepts and interests, evaluation mode), the items' text from the graph.

Example::

    python bench/transitions_served.py ../shared/data/amazon-office-2018 --seeds 0 1 2 --ease-lambdas 10,20,50 \\
        --item-graph-lambdas 20,50 --json office.json
    python bench/transitions_served.py ../shared/data/amazon-videogames-2018 --seeds 0 1 2 \\
        --ease-lambdas 20,50,100,200,500 --item-graph-lambdas 100,500 --json vg.json
    KGREC_TYPE_PACK=office_products python bench/transitions_served.py --neo4j --ease-lambdas 10,20,50 \
        --item-graph-lambdas 20,50 --text-priors 20,50,100
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.protocols import _ms  # noqa: E402
from bench.train_compare import _floats, parse_sets  # noqa: E402
from kgrec_neo4j.model.data import dataset_paths, from_jsonl  # noqa: E402
from kgrec_neo4j.model.evaluate import evaluate  # noqa: E402
from kgrec_neo4j.model.itemgraph import ItemGraph, shared_fits  # noqa: E402
from kgrec_neo4j.model.protocols import foldin_scorer, item_graph_foldin, with_valid_in_history  # noqa: E402
from kgrec_neo4j.model.train import (  # noqa: E402
    TrainConfig,
    _embedding_scorer,
    _embeddings,
    attach_item_graph,
    auto_batch_size,
    bpr_pairs,
    fit,
    fit_closed_form,
    fit_item_graph,
    valid_sample,
)


def item_graph_scorer(ig: ItemGraph, tg_b) -> Any:
    """The item graph alone on the histories of ``tg_b`` (its fold-in, as ``foldin_scorer`` adds it to ours)."""
    part = item_graph_foldin(ig, tg_b)
    return lambda users: torch.from_numpy(part(np.asarray(users.cpu(), np.int64)).astype(np.float32))


def _train_graph(a: argparse.Namespace) -> tuple[Any, str]:
    """The train graph of ``a.data`` (jsonl, proxy concepts) or of the database of ``NEO4J_URI`` (``a.neo4j``), with
    the items' text embedded when a prior is to be tried; and a name for the table."""
    from kgrec_neo4j.core.config import load_settings
    from kgrec_neo4j.core.embed import Embedder
    from kgrec_neo4j.model import itemtext

    settings = load_settings()
    encoder = Embedder(settings.embedding_model, cache_path=a.text_cache) if a.text_priors else None
    t = time.perf_counter()
    if not a.neo4j:
        items, inter = dataset_paths(a.data)
        tg = from_jsonl(items, inter)
        if encoder is not None:
            tg.item_text = itemtext.from_jsonl(items, tg.item_ids, encoder)
        return tg, a.data.name
    from kgrec_neo4j.core.db import connect
    from kgrec_neo4j.core.schema import load_pack
    from kgrec_neo4j.model.export import export_train_graph

    with connect(settings) as db:
        tg = export_train_graph(db, type_names=load_pack(settings.type_pack).names,
                                min_confidence=settings.min_confidence)
        if encoder is not None:
            tg.item_text = itemtext.from_graph(db, tg.item_ids, encoder)
    print(f"train graph exported{' and item text embedded' if encoder else ''}: {time.perf_counter() - t:.0f}s",
          flush=True)
    return tg, f"{settings.type_pack} graph of {settings.neo4j_uri}"


def served_batch(tg, cfg: TrainConfig) -> tuple[int, float]:
    """The (batch size, learning rate) that :func:`~kgrec_neo4j.model.train.fit` trains ours' GNN with when the item
    graph is part of the model (``auto_batch_size`` grows the batch of ours only then)."""
    return auto_batch_size(cfg.model_copy(update={"use_item_graph": True}), len(bpr_pairs(tg, cfg)))


def both(score_a, score_b, tg, tb) -> dict[str, float]:
    a, b = evaluate(score_a, tg, "test"), evaluate(score_b, tb, "test")
    return {"a": a["ndcg@10"], "a_recall20": a["recall@20"], "b": b["ndcg@10"], "b_recall20": b["recall@20"]}


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, nargs="?", help="a generic jsonl dataset (proxy concepts)")
    ap.add_argument("--neo4j", action="store_true",
                    help="instead of DATA: the train graph exported from the database of NEO4J_URI, as `kgrec train` "
                    "exports it (the pipeline's own concepts and interests; evaluation mode)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--betas", type=_floats, default=[0.5, 1.0], help="transition weights tried (0 always is)")
    ap.add_argument("--ease-lambdas", type=_floats, default=[20.0, 50.0, 100.0, 200.0, 500.0])
    ap.add_argument("--item-graph-lambdas", type=_floats, default=[100.0, 500.0])
    ap.add_argument("--set", action="append", default=[], metavar="ours:KEY=VALUE",
                    help="a TrainConfig field of ours' GNN (e.g. ours:bpr_on_dislikes=true)")
    ap.add_argument("--text-priors", type=_floats, default=[],
                    help="item-text prior weights mu tried on each item graph's chosen point (0 always is): adds the "
                    "rows 'seq-ease + text', 'item graph + transitions + text' and 'ours + transitions + text'")
    ap.add_argument("--text-nu", type=float, default=0.1, help="ridge of the text prior's own regression")
    ap.add_argument("--text-cache", type=Path, default=None,
                    help="SQLite cache of the item text embeddings (default: none)")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    sets = parse_sets(a.set)
    if set(sets) - {"ours"}:
        raise SystemExit(f"--set: only ours:KEY=VALUE is read here (got {sorted(set(sets) - {'ours'})})")
    per_seed = sorted(set(sets.get("ours", {})) & {"seed", "use_item_graph", "batch_size", "lr"})
    if per_seed:
        raise SystemExit(f"--set ours:{per_seed[0]}: the bench sets it for each seed (--seeds; the served batch and "
                         f"learning rate); leave it out")
    if (a.data is None) == (not a.neo4j):
        raise SystemExit("give either DATA (a jsonl dataset) or --neo4j (the graph of NEO4J_URI)")
    tg, title = _train_graph(a)
    tb = with_valid_in_history(tg)
    rows: list[dict] = []

    def emit(row: dict) -> None:
        print(json.dumps(row), flush=True)
        rows.append(row)

    base = TrainConfig(**{"model": "kgrec", "epochs": a.epochs, "patience": 10, "seed": 0, "num_threads": a.threads,
                          "item_graph_lambdas": list(a.item_graph_lambdas), "item_graph_concept_weights": [0.0, 2.0],
                          "item_graph_transitions": [], **sets.get("ours", {})})
    vu0 = valid_sample(tg, base.valid_sample, np.random.default_rng(0))
    t0 = time.perf_counter()
    with shared_fits():
        for name in ("ease", "ease-recency"):
            t = time.perf_counter()
            grid = ([{"lam": lam} for lam in a.ease_lambdas] if name == "ease" else
                    [{"lam": lam, "decay": d} for lam in a.ease_lambdas for d in base.recency_decays])
            obj, rep = fit_closed_form(tg, name, grid, num_threads=a.threads)
            fn = foldin_scorer(obj, tg, tb)
            emit({"model": name, "seed": None, "chosen": rep.config, **both(lambda u, o=obj: o.score(u), fn, tg, tb),
                  "seconds": round(time.perf_counter() - t, 1)})
            del obj
        graphs: dict[str, ItemGraph] = {}

        def item_graph(name: str, cfg: TrainConfig) -> ItemGraph:
            t = time.perf_counter()
            ig = graphs[name] = fit_item_graph(tg, cfg, vu0)[0]
            emit({"model": name, "seed": None, "chosen": ig.params(),
                  **both(ig.score, item_graph_scorer(ig, tb), tg, tb), "seconds": round(time.perf_counter() - t, 1)})
            return ig

        ig0 = item_graph("item graph", base)
        item_graph("seq-ease", base.model_copy(update={"item_graph_concept_weights": [0.0],
                                                       "item_graph_lambdas": list(a.ease_lambdas),
                                                       "item_graph_transitions": list(a.betas)}))
        seq = graphs["seq-ease"]
        igt = item_graph("item graph + transitions", base.model_copy(update={
            "item_graph_lambdas": [ig0.lam], "item_graph_concept_weights": [ig0.concept_weight],
            "item_graph_transitions": list(a.betas)}))
        if a.text_priors:
            def on_point(ig: ItemGraph) -> dict:
                # the text prior with the point's transitions, over the item graph's lambdas (and the point's own)
                # and the concept weights of its own grid
                return {"item_graph_lambdas": list(dict.fromkeys([ig.lam, *a.item_graph_lambdas])),
                        "item_graph_concept_weights": ([0.0] if ig.concept_weight == 0 else
                                                       base.item_graph_concept_weights),
                        "item_graph_transitions": [ig.transitions],
                        "item_graph_text_priors": [0.0, *a.text_priors], "item_graph_text_prior_nu": a.text_nu}
            item_graph("seq-ease + text", base.model_copy(update=on_point(seq)))
            item_graph("item graph + transitions + text", base.model_copy(update=on_point(igt)))
    print(f"closed-form fits: {time.perf_counter() - t0:.0f}s", flush=True)

    batch, lr = served_batch(tg, base)  # the same for every seed
    for seed in a.seeds:
        t = time.perf_counter()
        cfg = base.model_copy(update={"seed": seed, "use_item_graph": False, "batch_size": batch, "lr": lr})
        model, rep = fit(tg, cfg)
        emb = _embeddings(model)
        gnn_s = round(time.perf_counter() - t, 1)
        emit({"model": "GNN part", "seed": seed, **both(_embedding_scorer(model, emb=emb), foldin_scorer(model, tg, tb),
                                                          tg, tb), "epochs": rep.epochs, "best_epoch": rep.best_epoch,
              "batch_size": batch, "lr": lr, "seconds": gnn_s})
        vu = valid_sample(tg, cfg.valid_sample, np.random.default_rng(seed))
        pairs = [("ours", "item graph"), ("ours + transitions", "item graph + transitions")]
        if a.text_priors:
            pairs.append(("ours + transitions + text", "item graph + transitions + text"))
        for name, key in pairs:
            t = time.perf_counter()
            attach_item_graph(model, graphs[key], tg, cfg, np.random.default_rng(seed), vu, emb)
            emit({"model": name, "seed": seed, "chosen": {"multiplier": model.item_graph_multiplier,
                                                          **graphs[key].params()},
                  **both(_embedding_scorer(model, emb=emb), foldin_scorer(model, tg, tb), tg, tb),
                  "seconds": round(time.perf_counter() - t, 1)})

    print(f"\n{title}: test, mean ± std over seeds {a.seeds} (load average {os.getloadavg()[0]:.1f})")
    print("| model | (a) NDCG@10 | (a) Recall@20 | (b) fold-in NDCG@10 | (b) Recall@20 |")
    print("|---|---:|---:|---:|---:|")
    for name in dict.fromkeys(r["model"] for r in rows):
        cols = [[r[k] for r in rows if r["model"] == name] for k in ("a", "a_recall20", "b", "b_recall20")]
        print(f"| {name} | " + " | ".join(_ms(c) for c in cols) + " |")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    main()
