"""Compare our model with the baselines on one dataset (generic jsonl, PROXY concepts), over several seeds.

Every model sees the same TrainGraph (last-two-out split; with ``--max-users`` one sample drawn with
``--sample-seed``); hyperparameters are chosen on valid only; test is evaluated once per model and seed. Each
model group runs in its own forked process: the closed-form models together, each other baseline alone, ours and
its ablations together; inside a group the closed-form fits (EASE, the item graph) are computed once and shared
(they do not depend on the seed; a shared fit counts the seconds it took in every run that uses it), and each
run's peak RSS is sampled during that run. The closed-form models (pop, itemknn, ease, ease-recency) do not
depend on the seed: they run once and count for every seed (std 0).

Models: ``pop``, ``itemknn``, ``ease``, ``ease-recency`` (EASE with the recency decay chosen on valid), ``mf``,
``lightgcn``, ``kgrec`` (ours) and its ablations ``kgrec-no-concepts``, ``kgrec-no-negative``, ``kgrec-no-stage1``,
``kgrec-no-item-graph`` (= ours' GNN part trained alone), ``kgrec-no-recency``.

Examples:
    python bench/train_compare.py /work/shared/data/movielens-100k --seeds 0,1,2 --json /tmp/ml.json
    python bench/train_compare.py /work/shared/data/amazon-videogames-2018 --max-users 5000 \
        --models ease,ease-recency,lightgcn,kgrec --set lightgcn:lr=0.001 --set kgrec:embedding_dim=128
    python bench/results_table.py /tmp/ml.json        # the markdown table of docs/results.md
"""

from __future__ import annotations

import os

# Idle OpenMP threads must sleep, not spin: on a shared, oversubscribed machine spinning made a 2-thread
# training step 15x slower than a 1-thread one. Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing as mp  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import psutil  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgrec_neo4j.model.data import TrainGraph, dataset_paths, from_jsonl  # noqa: E402
from kgrec_neo4j.model.itemgraph import shared_fits  # noqa: E402
from kgrec_neo4j.model.recency import DEFAULT_DECAYS  # noqa: E402
from kgrec_neo4j.model.train import CLOSED_FORM, TrainConfig, fit, fit_closed_form  # noqa: E402

ABLATIONS: dict[str, dict[str, Any]] = {
    "kgrec-no-concepts": {"use_concepts": False},
    "kgrec-no-negative": {"use_negative": False},
    "kgrec-no-stage1": {"use_stage1": False},
    "kgrec-no-item-graph": {"use_item_graph": False},
    "kgrec-no-recency": {"use_recency": False},
}


def _floats(s: str) -> list[float]:
    return [float(x) for x in s.split(",")]


def emit(rows: list[dict], row: dict, path: Path | None) -> None:
    """Print one result row as JSON, keep it, and rewrite ``path`` (when given) with every row so far."""
    print(json.dumps(row), flush=True)
    rows.append(row)
    if path:
        path.write_text(json.dumps(rows, indent=1))


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_sets(items: list[str]) -> dict[str, dict[str, Any]]:
    """``["lightgcn:lr=0.001", "kgrec:num_layers=3"]`` -> ``{"lightgcn": {"lr": 0.001}, "kgrec": {...}}``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        model, sep, rest = item.partition(":")
        key, eq, val = rest.partition("=")
        if not sep or not eq or not key:
            raise SystemExit(f"--set {item!r}: expected MODEL:KEY=VALUE, e.g. lightgcn:lr=0.001")
        out.setdefault(model, {})[key] = _value(val)
    return out


def train_config(name: str, seed: int, args: argparse.Namespace, sets: dict[str, dict[str, Any]]) -> TrainConfig:
    """The TrainConfig of a trainable model: shared flags, then ours' flags, then ``--set`` for this model (an
    ablation also takes ``--set kgrec:...``, so it differs from ours only in what it ablates)."""
    base: dict[str, Any] = {"embedding_dim": args.dim, "epochs": args.epochs, "batch_size": args.batch_size,
                            "lr": args.lr, "patience": args.patience, "seed": seed, "max_seconds": args.max_seconds,
                            "valid_sample": args.valid_sample, "num_threads": args.threads, "device": args.device}
    if name == "lightgcn":
        kw = {**base, "model": "lightgcn", "num_layers": args.lightgcn_layers}
    elif name == "mf":
        kw = {**base, "model": "mf"}
    else:
        kw = {**base, "model": "kgrec", "num_layers": args.ui_layers, "signed_weight": args.signed_weight,
              "centre_weight": args.centre_weight, "max_neighbors": args.max_neighbors,
              "item_graph_lambdas": args.item_graph_lambdas,
              "item_graph_concept_weights": args.item_graph_concept_weights,
              "item_graph_top_k": args.item_graph_top_k or None, "item_graph_solver": args.item_graph_solver,
              "item_graph_neighbours": args.item_graph_neighbours, "recency_decays": args.recency_decays,
              **sets.get("kgrec", {})}
        kw.update(ABLATIONS.get(name, {}))
    if name != "kgrec":
        kw.update(sets.get(name, {}))
    return TrainConfig(**kw)


class PeakRSS:
    """Peak resident memory of this process during a ``with`` block (sampled every 0.1 s, MB)."""

    def __enter__(self) -> PeakRSS:
        self.proc = psutil.Process()
        self.mb = self.proc.memory_info().rss / 2**20
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            self.mb = max(self.mb, self.proc.memory_info().rss / 2**20)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.mb = max(self.mb, self.proc.memory_info().rss / 2**20)


def run_model(graph: TrainGraph, name: str, seed: int, args: argparse.Namespace, sets: dict) -> dict:
    """One (model, seed) in this process; the report as a dict with the run's own peak RSS."""
    try:
        with PeakRSS() as peak:
            if name in CLOSED_FORM:
                grid = {"pop": None,
                        "itemknn": [{"k": k} for k in args.knn_k],
                        "ease": [{"lam": lam} for lam in args.ease_lambdas],
                        "ease-recency": [{"lam": lam, "decay": d} for lam in args.ease_lambdas
                                         for d in args.recency_decays]}[name]
                _, rep = fit_closed_form(graph, name, grid, seed=seed, num_threads=args.threads)
            else:
                _, rep = fit(graph, train_config(name, seed, args, sets), progress=args.progress)
        out = rep.model_dump()
        out.update(model=name, seed=seed, peak_rss_mb=round(peak.mb, 1), peak_rss_process_mb=rep.peak_rss_mb)
        return out
    except Exception as e:  # report and keep the other models running
        return {"model": name, "seed": seed, "error": repr(e)}


def _group(graph: TrainGraph, names: list[str], seeds: list[int], args: argparse.Namespace, sets: dict,
           queue) -> None:
    """Every (model, seed) of ``names`` in one process, closed-form fits shared (they do not depend on the seed;
    a shared fit counts its own seconds in each run). A closed-form model runs for the first seed only."""
    with shared_fits():
        for name in names:
            for seed in seeds[:1] if name in CLOSED_FORM else seeds:
                queue.put(run_model(graph, name, seed, args, sets))
    queue.put(None)


def run_group(graph: TrainGraph, names: list[str], seeds: list[int], args: argparse.Namespace, sets: dict):
    """Yield the reports of :func:`_group` run in a child process: forked on the CPU; spawned where CUDA is
    available (a forked child cannot use CUDA once the parent has touched it)."""
    ctx = mp.get_context("spawn" if args.device != "cpu" and torch.cuda.is_available() else "fork")
    q = ctx.Queue()
    proc = ctx.Process(target=_group, args=(graph, names, seeds, args, sets, q))
    proc.start()
    while (rep := q.get()) is not None:
        yield rep
    proc.join()


def run_one(graph: TrainGraph, name: str, seed: int, args: argparse.Namespace, sets: dict) -> dict:
    """One (model, seed) in a forked process."""
    return next(iter(run_group(graph, [name], [seed], args, sets)))


def process_groups(models: list[str]) -> list[list[str]]:
    """The closed-form models together, each other baseline alone, ours and its ablations together."""
    closed = [m for m in models if m in CLOSED_FORM]
    ours = [m for m in models if m.startswith("kgrec")]
    rest = [[m] for m in models if m not in closed and m not in ours]
    return ([closed] if closed else []) + rest + ([ours] if ours else [])


def _line(rep: dict) -> str:
    te = rep["test"]
    return (f"{rep['model']:<20} seed {rep['seed']}  R@10 {te['recall@10']:.4f}  R@20 {te['recall@20']:.4f}  "
            f"N@10 {te['ndcg@10']:.4f}  N@20 {te['ndcg@20']:.4f}  | valid N@10 {rep['valid']['ndcg@10']:.4f} "
            f"| train {rep['train_seconds']:.0f}s wall, {rep['train_cpu_seconds']:.0f}s cpu; epochs {rep['epochs']} "
            f"(best {rep['best_epoch']}); peak RSS {rep['peak_rss_mb']:.0f} MB; recency {rep.get('recency')}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", type=Path)
    p.add_argument("--models", default="pop,itemknn,ease,ease-recency,mf,lightgcn,kgrec")
    p.add_argument("--max-users", type=int, default=None)
    p.add_argument("--sample-seed", type=int, default=0, help="seed of the --max-users sample")
    p.add_argument("--seeds", default="0,1,2", help="model seeds (comma-separated)")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--epochs", type=int, default=300, help="at most this many epochs (patience stops earlier)")
    p.add_argument("--batch-size", type=int, default=2048)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--patience", type=int, default=10)
    p.add_argument("--max-seconds", type=float, default=None)
    p.add_argument("--valid-sample", type=int, default=10000)
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda")
    p.add_argument("--lightgcn-layers", type=int, default=3)
    p.add_argument("--ui-layers", type=int, default=2)
    p.add_argument("--signed-weight", type=float, default=0.1)
    p.add_argument("--centre-weight", type=float, default=0.01)
    p.add_argument("--max-neighbors", type=int, default=8)
    p.add_argument("--knn-k", type=lambda s: [int(x) for x in s.split(",")], default=[50, 200])
    p.add_argument("--ease-lambdas", type=_floats, default=[100.0, 500.0])
    p.add_argument("--recency-decays", type=_floats, default=list(DEFAULT_DECAYS),
                   help="recency decay grid of ease-recency and of ours' item graph (1 = unordered)")
    p.add_argument("--item-graph-lambdas", type=_floats, default=[500.0])
    p.add_argument("--item-graph-concept-weights", type=_floats, default=[0.0, 2.0])
    p.add_argument("--item-graph-top-k", type=int, default=100, help="item links per item (0: dense)")
    p.add_argument("--item-graph-solver", default="auto", choices=("auto", "dense", "sparse"))
    p.add_argument("--item-graph-neighbours", type=int, default=256)
    p.add_argument("--set", action="append", default=[], metavar="MODEL:KEY=VALUE",
                   help="a TrainConfig field of one model (repeatable); kgrec:... also reaches the ablations")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--progress", action="store_true")
    args = p.parse_args()
    sets = parse_sets(args.set)
    seeds = [int(s) for s in args.seeds.split(",")]

    t = time.perf_counter()
    graph = from_jsonl(*dataset_paths(args.dataset), max_users=args.max_users, seed=args.sample_seed)
    print(f"# {args.dataset.name}: {graph.summary()} (PROXY concepts; built in {time.perf_counter() - t:.1f}s)",
          flush=True)
    print(f"# cores: {os.cpu_count()}, load average at start: {os.getloadavg()}", flush=True)
    results: list[dict] = []
    for names in process_groups(args.models.split(",")):
        for rep in run_group(graph, names, seeds, args, sets):
            reps = [rep]
            if rep["model"] in CLOSED_FORM and "error" not in rep:  # the same numbers count for every seed
                reps += [{**rep, "seed": s, "deterministic": True} for s in seeds[1:]]
            for r in reps:
                results.append(r)
                _print(r)
            if args.json:
                _write(args, graph, results)
    print(f"# load average at end: {os.getloadavg()}")
    from bench.results_table import table

    print(table({"results": results}))


def _print(rep: dict) -> None:
    if "error" in rep:
        print(f"{rep['model']} seed {rep['seed']}: ERROR {rep['error']}", flush=True)
        return
    print(_line(rep) + (" (deterministic: the first seed's run)" if rep.get("deterministic") else ""), flush=True)
    for part, m in (rep.get("parts") or {}).items():
        print(f"  {part + ' alone':<20} N@10 {m['test']['ndcg@10']:.4f}  N@20 {m['test']['ndcg@20']:.4f} "
              f"| valid N@10 {m['valid']['ndcg@10']:.4f}"
              + (f"  {m['params']}, weight {m['weight']:.4g}" if "params" in m else ""), flush=True)


def _write(args: argparse.Namespace, graph: TrainGraph, results: list[dict]) -> None:
    args.json.write_text(json.dumps({"dataset": str(args.dataset), "graph": graph.summary(),
                                     "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                                     "load_average_end": os.getloadavg(), "results": results}, indent=1))


if __name__ == "__main__":
    main()
