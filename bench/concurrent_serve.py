"""Concurrent recommendation requests while a training run writes its embeddings back.

Two roles in one script:

``worker``  one serving process: asks :func:`kgrec_neo4j.serve.recommend.recommend_users` for the top-k of a few
            random users in a loop (``store=False``) until a stop file appears, and appends one JSON line per
            answer (``run``, ``user``, ``[item, score]`` pairs) or per error to its output file. ``--cold``
            forgets the cached item matrix and current run before every request (like a fresh
            ``kgrec recommend`` process); without it the process keeps its cache (like a long-lived server).

``run``     the whole experiment on the database named by NEO4J_URI (which must hold a current run):
            snapshot the current run's embeddings, start ``kgrec train`` and N workers, stop the workers a few
            seconds after the trainer exits, snapshot the new run and check every answer with :func:`verify`.

The check (:func:`verify`): an answer is consistent with one model run when its ``run`` is a ModelRun id,
each score equals the score of that run's stored vectors for the user's edges (fold-in plus item links), and the
list is the true top-k of that run over all of its items with the user's interacted items excluded (so a model
missing items that another run had already overwritten is caught too).

Example::

    NEO4J_URI=bolt://127.0.0.1:7795 NEO4J_PASSWORD=... python bench/concurrent_serve.py run \\
        --workers 8 --out /tmp/serve -- --epochs 2 --dim 8
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------------------------- worker

def worker(users: list[str], out: Path, stop: Path, *, seed: int, cold: bool, k: int = 10, per_request: int = 3,
           pause_s: float = 0.0, max_seconds: float = 900.0) -> int:
    """Serve requests until ``stop`` exists; return the number of requests made."""
    from kgrec_neo4j.core.config import load_settings
    from kgrec_neo4j.core.db import connect
    from kgrec_neo4j.serve import recommend as R
    from kgrec_neo4j.serve import scoring as S

    rng = random.Random(seed)
    n = 0
    deadline = time.monotonic() + max_seconds
    with connect(load_settings()) as db, open(out, "a", buffering=1) as f:
        while not stop.exists() and time.monotonic() < deadline:
            batch = rng.sample(users, min(per_request, len(users)))
            if cold:
                S.clear_cache()
            t0 = time.time()
            try:
                recs = R.recommend_users(db, batch, k, store=False)
                for rec in recs:
                    f.write(json.dumps({"t": t0, "dt": time.time() - t0, "user": rec.user, "run": rec.run,
                                        "cold": cold, "items": [[r.item, r.score] for r in rec.items]}) + "\n")
            except Exception as e:  # noqa: BLE001 - every failure is the measurement
                f.write(json.dumps({"t": t0, "dt": time.time() - t0, "users": batch,
                                    "error": f"{type(e).__name__}: {e}"}) + "\n")
            n += 1
            if pause_s:
                time.sleep(pause_s)
    return n


# ---------------------------------------------------------------------------------------- snapshots

def snapshot(db, run: str, users: list[str] | None = None) -> dict[str, Any]:
    """What run ``run`` must answer: its model as stored (loaded without the serving cache) and the live state of
    ``users`` (default: every user the run trained). Users' edges do not change during an experiment."""
    from kgrec_neo4j.serve import scoring as S

    m = S.run_model(db, run, refresh=True, cache=False)
    if users is None:
        users = db.value("MATCH (u:User) WHERE u.gnn_run = $r OR u.gnn_prev_run = $r RETURN collect(u.id)", r=run)
    states, _ = S.read_users(db, sorted(users), m)
    return {"run": run, "model": m, "states": {s.id: s for s in states}, "users": sorted(users)}


def full_scores(snap: dict[str, Any], user: str) -> np.ndarray:
    """Every item's score for ``user`` as the serving path must give it with this run (fold-in + item links)."""
    from kgrec_neo4j.serve import scoring as S

    return S.scores(snap["model"], [snap["states"][user]])[0].astype(np.float64)


def read_answers(paths: list[Path]) -> list[dict[str, Any]]:
    out = []
    for p in paths:
        if p.exists():
            out += [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
    return out


def verify(answers: list[dict[str, Any]], snapshots: dict[str, dict[str, Any]], run_ids: set[str], *,
           tol: float = 1e-3, t0: float | None = None) -> dict[str, Any]:
    """Check each answer against the snapshot of its run; return counts and the first problems found (``t0``: the
    wall time the training started, to say when a bad answer was asked)."""
    problems: list[str] = []
    ok = errors = 0
    by_run: dict[str, int] = {}
    error_kinds: dict[str, int] = {}
    for a in answers:
        if "error" in a:
            errors += 1
            kind = a["error"].split(":", 1)[0]
            error_kinds[kind] = error_kinds.get(kind, 0) + 1
            if len(problems) < 20:
                problems.append(f"error: {a['error'][:300]}")
            continue
        run = a["run"]
        by_run[run] = by_run.get(run, 0) + 1
        bad = None
        if run not in run_ids:
            bad = f"run {run!r} is not a ModelRun id"
        elif run not in snapshots:
            bad = f"run {run!r} has no snapshot (a run other than the two compared)"
        else:
            snap = snapshots[run]
            m = snap["model"]
            if a["user"] not in snap["states"]:
                bad = f"user {a['user']} is not in the snapshot of run {run}"
            else:
                full = full_scores(snap, a["user"])
                missing = [item for item, _ in a["items"] if item not in m.index]
                if missing:
                    bad = f"item {missing[0]} has no vector of run {run}"
                else:
                    wants = [(item, score, float(full[m.index[item]])) for item, score in a["items"]]
                    off = [(i, s, w) for i, s, w in wants if abs(w - s) > tol * max(1.0, abs(w))]
                    if off:  # all of the list off: the user's side differs; some items: those items' vectors
                        item, score, want = off[0]
                        rel = [abs(s - w) / max(1.0, abs(w)) for _, s, w in off]  # (as the tolerance)
                        bad = (f"user {a['user']} item {item}: score {score:.6f} != the score of run {run} = "
                               f"{want:.6f}; {len(off)} of {len(a['items'])} listed scores off (by "
                               f"{min(rel):.3f}..{max(rel):.3f} of max(1, |score|))"
                               + (f", a {'cold' if a['cold'] else 'warm'} worker" if "cold" in a else "")
                               + (f", asked {a['t'] - t0:+.2f} s from the training's start" if "t" in a and t0
                                  else ""))
                if bad is None:
                    full[snap["states"][a["user"]].exclude] = -np.inf
                    listed = {item for item, _ in a["items"]}
                    k = len(a["items"])
                    if k < min(10, int(np.isfinite(full).sum())):
                        bad = f"user {a['user']}: {k} items returned, run {run} has more candidates"
                    elif k:
                        kth = min(score for _, score in a["items"])
                        others = [full[j] for i, j in m.index.items() if i not in listed and np.isfinite(full[j])]
                        if others and max(others) > kth + tol * max(1.0, abs(kth)):
                            bad = (f"user {a['user']}: not the top-{k} of run {run} (an unlisted item scores "
                                   f"{max(others):.6f} > {kth:.6f}); the answer saw only part of the run's items")
        if bad:
            if len(problems) < 20:
                problems.append(bad)
        else:
            ok += 1
    return {"answers": len(answers), "consistent": ok, "errors": errors, "error_kinds": error_kinds,
            "inconsistent": len(answers) - ok - errors, "by_run": by_run, "problems": problems}


# ------------------------------------------------------------------------------------------- driver

def run_experiment(db, *, workers: int, out: Path, train_args: list[str], cold_workers: int | None = None,
                   tail_s: float = 5.0, pause_s: float = 0.0, env: dict[str, str] | None = None,
                   timeout_s: float = 900.0) -> dict[str, Any]:
    """Start ``kgrec train <train_args>`` and ``workers`` serving processes; verify every answer."""
    from kgrec_neo4j.serve import scoring as S

    out.mkdir(parents=True, exist_ok=True)
    env = dict(env or os.environ)
    old = S.current_run(db)
    before = snapshot(db, old)
    users = before["users"]
    (out / "users.json").write_text(json.dumps(users))
    stop = out / "stop"
    stop.unlink(missing_ok=True)
    cold_workers = workers // 2 if cold_workers is None else cold_workers
    procs = []
    for w in range(workers):
        args = [sys.executable, str(Path(__file__).resolve()), "worker", "--users", str(out / "users.json"),
                "--out", str(out / f"worker-{w}.jsonl"), "--stop", str(stop), "--seed", str(w), "--pause", str(pause_s)]
        if w < cold_workers:
            args.append("--cold")
        procs.append(subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True))
    # let every worker serve the old run before the training starts
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if all((out / f"worker-{w}.jsonl").exists() and (out / f"worker-{w}.jsonl").stat().st_size
               for w in range(workers)):
            break
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.2)
    t0, wall0 = time.monotonic(), time.time()
    trainer = subprocess.run([sys.executable, "-m", "kgrec_neo4j.cli", "train", *train_args], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=timeout_s)
    train_s = time.monotonic() - t0
    time.sleep(tail_s)
    stop.touch()
    worker_out = []
    for p in procs:
        try:
            o, _ = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            o, _ = p.communicate()
        worker_out.append((p.returncode, o[-2000:]))
    new = S.current_run(db)
    snaps = {old: before}
    if new != old:
        snaps[new] = snapshot(db, new, users)
    run_ids = {r["id"] for r in db.query("MATCH (r:ModelRun) RETURN r.id AS id")}
    answers = read_answers([out / f"worker-{w}.jsonl" for w in range(workers)])
    report = verify(answers, snaps, run_ids, t0=wall0)
    report.update({"old_run": old, "new_run": new, "trainer_rc": trainer.returncode,
                   "train_window": [round(wall0, 2), round(wall0 + train_s, 2)],
                   "trainer_output": (trainer.stdout + trainer.stderr)[-3000:], "train_seconds": round(train_s, 1),
                   "workers": workers, "cold_workers": cold_workers,
                   "worker_rc": [rc for rc, _ in worker_out],
                   "worker_output": [o for rc, o in worker_out if rc != 0]})
    lat = sorted(a["dt"] for a in answers if "error" not in a)
    if lat:
        report["latency_ms"] = {"p50": round(1000 * lat[len(lat) // 2], 1),
                                "p95": round(1000 * lat[int(0.95 * (len(lat) - 1))], 1)}
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("worker")
    w.add_argument("--users", type=Path, required=True, help="JSON list of user ids")
    w.add_argument("--out", type=Path, required=True)
    w.add_argument("--stop", type=Path, required=True)
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--cold", action="store_true")
    w.add_argument("--pause", type=float, default=0.0, help="seconds between requests")
    r = sub.add_parser("run")
    r.add_argument("--workers", type=int, default=8)
    r.add_argument("--cold-workers", type=int, default=None)
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--pause", type=float, default=0.0, help="seconds between a worker's requests")
    r.add_argument("train_args", nargs="*", help="arguments of `kgrec train` (after --)")
    a = ap.parse_args(argv)
    if a.cmd == "worker":
        worker(json.loads(a.users.read_text()), a.out, a.stop, seed=a.seed, cold=a.cold, pause_s=a.pause)
        return 0
    from kgrec_neo4j.core.config import load_settings
    from kgrec_neo4j.core.db import connect

    with connect(load_settings()) as db:
        rep = run_experiment(db, workers=a.workers, out=a.out, train_args=a.train_args, cold_workers=a.cold_workers,
                             pause_s=a.pause)
    print(json.dumps(rep, indent=2))
    return 0 if rep["errors"] == 0 and rep["inconsistent"] == 0 and rep["trainer_rc"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
