"""Benchmark: `kgrec update` against the full pipeline from `extract` to `interests`, in one run.

A seeded sample of a dataset's users is split into a base and a change: ``--new-share`` of the items held back
(with every interaction on them), and users' last interactions held back until the change holds ``--new-share`` of
all interactions (those on the new items included; when they alone are more, no other is held back).
The base goes through every stage as the stage commands run them (load, offline extraction, concepts build /
project / grow / same-work, lexicon classification, offline interests: the timed "full" part; then a short training run so
that the update has a current run to fold new items into). The change is appended (`kgrec load --append`) and
`kgrec update` brings the graph up to date: the timed "update" part. Prints both times, their ratio and what the
update did. Needs a running Neo4j (NEO4J_URI / NEO4J_PASSWORD) that it may CLEAR: use a scratch database.

With ``--next-update`` the base is split once more the same way (seed + 1), and that earlier change is appended and
updated first: both updates are timed against the same full pipeline. ``--updates N`` splits N - 1 earlier changes
(seeds + 1 .. + N - 1) and updates them all in turn with no training between them: every update reads the links of the
items folded in since the training, so this shows how an update's cost grows between trainings. The first update
after a fresh pipeline is also the first time the server runs the update's queries (the pipeline only ever creates
interest edges; an update mostly rewrites them); the next one is an update as a graph that is kept up to date every day runs it.

    python bench/update_incremental.py --data ../shared/data/amazon-videogames-2018 --users 1500 --yes

The issue's target (update <= 5% of the full pipeline) is for the full Video Games graph; on a sample the fixed
costs of an update (loading the embedder, one query per stage) weigh more, so the ratio there is an upper bound.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import gzip
import json
import os
import sys
import tempfile
import threading
import time
import traceback
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.core.db import clear_database, connect  # noqa: E402


def _read(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        return [json.loads(x) for x in f if x.strip()]


def _find(folder: Path, stem: str) -> Path:
    for name in (f"{stem}.jsonl.gz", f"{stem}.jsonl"):
        if (folder / name).exists():
            return folder / name
    raise SystemExit(f"{folder}: no {stem}.jsonl(.gz)")


def _write(folder: Path, items: list[dict], inter: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in items))
    (folder / "interactions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in inter))
    return folder


def split(data: Path, out: Path, *, users: int, share: float, seed: int) -> tuple[Path, Path, dict]:
    """The sampled base and change folders (see the module docstring) and their sizes."""
    items, inter = _read(_find(data, "items")), _read(_find(data, "interactions"))
    rng = np.random.default_rng(seed)
    all_users = sorted({r["user_id"] for r in inter})
    keep = set(rng.choice(all_users, min(users, len(all_users)), replace=False).tolist())
    inter = [r for r in inter if r["user_id"] in keep]
    used = sorted({r["item_id"] for r in inter})
    new = set(rng.choice(used, max(1, int(share * len(used))), replace=False).tolist())
    rest = [r for r in inter if r["item_id"] not in new]
    by_user: dict[str, list[dict]] = {}
    for r in rest:
        by_user.setdefault(r["user_id"], []).append(r)
    # new interactions: ``share`` of all of them in total, those on the new items included
    held_n = max(1, int(share * len(inter)) - (len(inter) - len(rest)))
    candidates = sorted((u for u, rs in by_user.items() if len(rs) > 2))
    held: set[tuple[str, int]] = set()
    for u in rng.permutation(candidates)[:held_n].tolist():
        held.add((u, max(r["seq"] for r in by_user[u])))
    base = [r for r in rest if (r["user_id"], r["seq"]) not in held]
    more = [r for r in inter if r["item_id"] in new or (r["user_id"], r["seq"]) in held]
    base_items = {r["item_id"] for r in base}
    name = data.name
    a = _write(out / "base" / name, [r for r in items if r["item_id"] in base_items], base)
    b = _write(out / "more" / name, [r for r in items if r["item_id"] in new and r["item_id"] not in base_items],
               more)
    return a, b, {"users": len(keep), "base_items": len(base_items), "base_interactions": len(base),
                  "new_items": len(new - base_items), "new_interactions": len(more)}


def server_cpu() -> float | None:
    """CPU seconds used so far by the local Neo4j of ``KGREC_HOME`` (``<home>/neo4j/run/neo4j.pid``), or ``None``
    when it is not a local server of this machine. With this process's own CPU time it gives each part's CPU
    seconds, a steadier measure than wall time when other jobs share the cores."""
    home = os.environ.get("KGREC_HOME")
    try:
        pid = int((Path(home) / "neo4j" / "run" / "neo4j.pid").read_text().split()[0]) if home else None
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split() if pid else None
    except (OSError, ValueError):
        return None
    if not fields:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class Clock:
    """Wall seconds, this process's CPU seconds and the local server's CPU seconds since it was made."""

    def __init__(self) -> None:
        self.wall, self.cpu, self.server, self.load = time.perf_counter(), time.process_time(), server_cpu(), \
            os.getloadavg()[0]

    def read(self) -> dict[str, float | None]:
        server = server_cpu()
        return {"wall_s": round(time.perf_counter() - self.wall, 2),
                "cpu_s": round(time.process_time() - self.cpu, 2),
                "server_cpu_s": round(server - self.server, 2) if server is not None and self.server is not None
                else None,
                "load_start": round(self.load, 2), "load_end": round(os.getloadavg()[0], 2)}


@contextlib.contextmanager
def query_times(enabled: bool):
    """With ``enabled``: wall seconds and calls of every database call (query, value, write, execute, write_tx)
    made inside the block, by thread and query (its first line), summed; yields the dict it fills."""
    from kgrec_neo4j.core import db as dbmod

    times: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    if not enabled:
        yield times
        return
    lock = threading.Lock()
    saved = {name: getattr(dbmod.Database, name) for name in ("query", "value", "write", "execute", "write_tx")}

    def timed(name: str, orig):
        def call(self, first, *a, **k):
            t = time.perf_counter()
            try:
                return orig(self, first, *a, **k)
            finally:
                what = first.strip().splitlines()[0][:80] if isinstance(first, str) else \
                    f"write_tx from {traceback.extract_stack()[-2].name}"
                with lock:
                    e = times[f"{threading.current_thread().name[:16]:16} {name:8} {what}"]
                    e[0] += time.perf_counter() - t
                    e[1] += 1
        return call

    for name, orig in saved.items():
        setattr(dbmod.Database, name, timed(name, orig))
    try:
        yield times
    finally:
        for name, orig in saved.items():
            setattr(dbmod.Database, name, orig)


def _history(db, run: str) -> list[dict]:
    """The run's valid NDCG@10 per epoch (epoch 0: a warm start before any training)."""
    m = db.value("MATCH (r:ModelRun {id: $id}) RETURN r.metrics", id=run)
    return (json.loads(m) if isinstance(m, str) else m)["valid_history"]


def _cpu_ratio(full: dict, upd: dict) -> float | None:
    """The update's CPU seconds (this process and the local Neo4j) over the full pipeline's."""
    if full["server_cpu_s"] is None or upd["server_cpu_s"] is None:
        return None
    return round((upd["cpu_s"] + upd["server_cpu_s"]) / (full["cpu_s"] + full["server_cpu_s"]), 4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/amazon-videogames-2018"))
    ap.add_argument("--pack", default="video_games")
    ap.add_argument("--users", type=int, default=1500, help="sampled users (0: all)")
    ap.add_argument("--new-share", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--yes", action="store_true", help="clear the database without asking")
    ap.add_argument("--epochs", type=int, default=3, help="epochs of each training run")
    ap.add_argument("--dim", type=int, default=16)
    ap.add_argument("--warm", action="store_true",
                    help="also train cold and warm-started on the updated graph: valid NDCG@10 per epoch, and the "
                         "epoch where the warm start reaches the cold start's best (0: before any training)")
    ap.add_argument("--solver", default="auto", choices=["auto", "dense", "sparse"],
                    help="item-graph solver of the training run (not timed)")
    ap.add_argument("--next-update", action="store_true",
                    help="time the update after another one: the base is split once more, that first change is "
                         "appended and updated (timed and reported as well), then the timed change; the base is then "
                         "about 2 x --new-share smaller")
    ap.add_argument("--updates", type=int, default=None,
                    help="time this many successive updates with no training between them (each a change of "
                         "--new-share, split from the base as --next-update splits its first one; the base is then "
                         "about N x --new-share smaller): what a graph kept up to date every day, and trained now and "
                         "then, pays as the items folded in since its training add up (default 1; 2 with "
                         "--next-update)")
    ap.add_argument("--profile-queries", action="store_true",
                    help="print each update's database calls by thread and query, summed (the calls are timed, "
                         "which adds a little to the update's time)")
    ap.add_argument("--cprofile", type=Path, default=None,
                    help="write a cProfile of the last update (this process's side) to this file")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if not args.yes:
        raise SystemExit("this benchmark clears the database: pass --yes (and point NEO4J_URI at a scratch one)")

    from kgrec_neo4j.concepts import build_vocabulary, grow_vocabulary, project_mentions
    from kgrec_neo4j.concepts.works import link_same_work
    from kgrec_neo4j.core import schema
    from kgrec_neo4j.core.embed import get_embedder
    from kgrec_neo4j.core.lease import WriterLease
    from kgrec_neo4j.core.schema import load_pack
    from kgrec_neo4j.extract.run import build_extractor, extract_items
    from kgrec_neo4j.load import load
    from kgrec_neo4j.model.pipeline import run_training
    from kgrec_neo4j.update import run_update
    from kgrec_neo4j.users.interactions import classify_interactions, make_classifier
    from kgrec_neo4j.users.interests.offline import extract_offline

    settings = load_settings({"type_pack": args.pack})  # `kgrec update` extracts with it too
    pack = load_pack(args.pack)
    with tempfile.TemporaryDirectory() as tmp:
        base, more, sizes = split(args.data, Path(tmp), users=args.users or 10**9, share=args.new_share,
                                  seed=args.seed)
        changes = [more]
        n_updates = args.updates or (2 if args.next_update else 1)
        for k in range(1, n_updates):  # the changes before `more`, split from the base the same way: updated first
            base, first, sizes_first = split(base, Path(tmp) / f"earlier{k}", users=10**9, share=args.new_share,
                                             seed=args.seed + k)
            changes.insert(0, first)
            sizes = {**sizes_first, "next_update": sizes.get("next_update") or {
                key: sizes[key] for key in ("new_items", "new_interactions")}}
        print(f"sample: {sizes}", flush=True)
        with connect(settings) as db:
            clear_database(db)
            schema.apply(db, pack, dim=settings.embedding_dim)
            load(db, [base])
            emb = get_embedder(settings)  # loaded once before either timing: both runs pay it the same way
            secs: dict[str, float] = {}

            def timed(name: str, fn):
                t = time.perf_counter()
                out = fn()
                secs[name] = time.perf_counter() - t
                print(f"  {name}: {secs[name]:.1f}s", flush=True)
                return out

            t0 = time.perf_counter()
            clock_full = Clock()
            timed("extract", lambda: extract_items(db, build_extractor(settings, "offline", pack=pack), pack=pack,
                                                   progress=False))
            timed("concepts build", lambda: build_vocabulary(db, emb, pack, fraction=0.5, seed=0))
            timed("concepts project", lambda: project_mentions(db, emb, pack))
            timed("concepts grow", lambda: grow_vocabulary(db, emb, pack))
            timed("concepts same-work", lambda: link_same_work(db, pack, settings=settings))
            timed("classify", lambda: classify_interactions(db, make_classifier("lexicon", settings)))
            timed("interests", lambda: extract_offline(db))
            full = time.perf_counter() - t0
            full_clock = clock_full.read()
            print(f"full pipeline extract..interests: {full:.1f}s; training the run to update ...", flush=True)
            over = {"item_graph_concept_weights": [1.0], "item_graph_weights": [1.0], "patience": 10**6}
            res = run_training(db, type_names=pack.names, model="ours", epochs=args.epochs, dim=args.dim, seed=0,
                               overrides={**over, "item_graph_solver": args.solver})
            timings = []
            for k, change in enumerate(changes):
                load(db, [change], append=True)
                print(f"update {k + 1} of {len(changes)} ...", flush=True)
                t = time.perf_counter()
                clock_upd = Clock()
                prof = cProfile.Profile() if args.cprofile and k == len(changes) - 1 else None
                with query_times(args.profile_queries) as qt:
                    if prof:
                        prof.enable()
                    # the writer lease, taken as `kgrec update` takes it (once it has found work)
                    held: list = []
                    take = functools.partial(lambda h: h.append(WriterLease(db, "bench update").acquire()), held)
                    rep = run_update(db, settings, extractor="offline", lease=take)
                    for lease in held:
                        lease.release()
                    if prof:
                        prof.disable()
                        prof.dump_stats(str(args.cprofile))
                timings.append((time.perf_counter() - t, clock_upd.read(), rep))
                print(f"  update {k + 1}: {timings[-1][0]:.1f}s, ratio {timings[-1][0] / full:.3f}; steps: "
                      + ", ".join(f"{s.step} {s.seconds:.2f}s" for s in rep.steps)
                      + f"; {rep.items_folded} items folded ({rep.items_new} new), {rep.borrowed_links} borrowed "
                        f"links written", flush=True)
                for what, (secs_q, n) in sorted(qt.items(), key=lambda x: -x[1][0])[:25]:
                    print(f"    {secs_q:6.2f}s {n:4d}x {what}", flush=True)
            upd, upd_clock, rep = timings[-1]
            warm = None
            if args.warm:  # cold and warm training on the updated graph, the same epochs: valid NDCG@10 per epoch
                curves = {}
                for name, ws in (("cold", False), ("warm", res.run)):
                    r = run_training(db, type_names=pack.names, model="ours", epochs=args.epochs, dim=args.dim,
                                     seed=1, overrides=over, warm_start=ws, write=False)
                    curves[name] = [(h["epoch"], h["ndcg@10"]) for h in _history(db, r.run)]
                best_epoch, target = max(curves["cold"], key=lambda x: x[1])
                reach = next((e for e, v in curves["warm"] if v >= target), None)
                warm = {"curves": curves, "cold_best": target, "cold_best_epoch": best_epoch,
                        "warm_epochs_to_cold_best": reach}
                print(f"warm start: {warm}", flush=True)
    load_avg = os.getloadavg()
    out = {"sample": sizes, "full_seconds": round(full, 2), "stage_seconds": {k: round(v, 2) for k, v in secs.items()},
           "update_seconds": round(upd, 2), "ratio": round(upd / full, 4), "run": res.run,
           "earlier_updates": [{"update_seconds": round(s, 2), "ratio": round(s / full, 4), "update_clock": c,
                                "cpu_ratio": _cpu_ratio(full_clock, c), "update": r.model_dump(mode="json")}
                               for s, c, r in timings[:-1]],
           "full_clock": full_clock, "update_clock": upd_clock,
           "cpu_ratio": _cpu_ratio(full_clock, upd_clock),
           "update": rep.model_dump(mode="json"), "warm_start": warm, "loadavg": load_avg}
    for k, e in enumerate(out["earlier_updates"]):
        print(f"earlier update {k + 1}: {e['update_seconds']:.1f}s, ratio {e['ratio']:.3f}, CPU ratio {e['cpu_ratio']}")
    print(f"full pipeline extract..interests: {full:.1f}s; update: {upd:.1f}s; ratio {upd / full:.3f} "
          f"(target <= 0.05 on the full graph); load average {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}")
    print(f"full: {full_clock}; update: {upd_clock}; CPU ratio (this process + Neo4j) {out['cpu_ratio']}")
    print(f"update: {json.dumps(out['update'], default=str)[:1500]}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
