"""Faults under load: ``kgrec serve`` answering concurrent HTTP clients while (a) Neo4j is restarted and (b) a
training run finishes and becomes current.

On the local server of ``KGREC_HOME`` (``kgrec db start``; NEO4J_URI points at it), whose graph holds a current,
servable run (e.g. after ``kgrec demo --data tests/data/vg-slice --users 40 --models ours --fresh --yes``):

1. baseline: ``--clients`` threads send ``GET /users/{u}/recommendations`` for random users for ``--baseline-s``
   seconds with nothing happening;
2. case (a): the same load while ``kgrec db stop`` + ``kgrec db start`` restart Neo4j. Counted: answers, errors
   (and whether each fell while Neo4j was down), and the recovery time from Neo4j being ready again to the first
   good answer after it; the service is never restarted;
3. case (b): the same load while ``kgrec train`` runs to completion; every answer is checked against the stored
   vectors of the run it names (``bench/concurrent_serve.py``'s :func:`verify`: its scores are that run's and the
   list is that run's true top-k), so an answer mixing two runs is counted as inconsistent.

Nothing is lost: the counts of users, items and interactions are compared before and after.

Example::

    KGREC_HOME=$PWD/.kgrec-test NEO4J_URI=bolt://127.0.0.1:7708 NEO4J_PASSWORD=... \\
        python bench/faults_under_load.py --clients 8 --http-port 7509 -- --epochs 1 --dim 8
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from concurrent_serve import snapshot, verify  # noqa: E402
from serve_http import _free_port, _pct, start_service  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
KGREC = [sys.executable, "-m", "kgrec_neo4j.cli"]


class Load:
    """``clients`` threads asking for random users until :meth:`stop`; every answer and error is kept with its
    time."""

    def __init__(self, port: int, users: list[str], *, clients: int, k: int = 10, seed: int = 0):
        self.port, self.users, self.k = port, users, k
        self.answers: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self.threads = [threading.Thread(target=self._client, args=(seed * 100 + c,), daemon=True)
                        for c in range(clients)]

    def _client(self, seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30) as h:
            while not self._stop.is_set():
                u = rng.choice(self.users)
                t0 = time.time()
                try:
                    r = h.get(f"/users/{u}/recommendations", params={"k": self.k})
                    if r.status_code == 200:
                        body = r.json()
                        row = {"t": t0, "dt": time.time() - t0, "user": u, "run": body["run"],
                               "items": [[it["item"], it["score"]] for it in body["items"]]}
                    else:
                        row = {"t": t0, "dt": time.time() - t0, "user": u,
                               "error": f"HTTP {r.status_code}: {r.text[:200]}"}
                except httpx.HTTPError as e:
                    row = {"t": t0, "dt": time.time() - t0, "user": u, "error": f"{type(e).__name__}: {e}"}
                    time.sleep(0.2)
                with self.lock:
                    self.answers.append(row)

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self.threads:
            t.join(timeout=60)


def counts(db) -> dict[str, int]:
    return {"users": db.value("MATCH (u:User) RETURN count(u)"), "items": db.value("MATCH (i:Item) RETURN count(i)"),
            "interactions": db.value("MATCH ()-[x:INTERACTED]->() RETURN count(x)"),
            "has_knowledge": db.value("MATCH ()-[h:HAS_KNOWLEDGE]->() RETURN count(h)")}


def summary(rows: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    ok = [r for r in rows if "error" not in r]
    kinds: dict[str, int] = {}
    for r in rows:
        if "error" in r:
            kinds[r["error"][:60]] = kinds.get(r["error"][:60], 0) + 1
    return {"answers": len(ok), "errors": len(rows) - len(ok), "error_kinds": kinds,
            "answers_per_s": round(len(ok) / seconds, 1), **_pct([r["dt"] for r in ok])}


def case_restart(db_cmd_env: dict[str, str], port: int, users: list[str], *, clients: int, http_port: int,
                 settle_s: float) -> dict[str, Any]:
    """(a) restart Neo4j under load; errors are classified by whether they fell while Neo4j was down."""
    with Load(port, users, clients=clients, seed=1) as load:
        time.sleep(settle_s)
        t_down = time.time()
        subprocess.run([*KGREC, "db", "stop"], cwd=REPO, env=db_cmd_env, check=True, capture_output=True)
        subprocess.run([*KGREC, "db", "start", "--http-port", str(http_port)], cwd=REPO, env=db_cmd_env, check=True,
                       capture_output=True)
        t_up = time.time()
        deadline = time.monotonic() + 300
        recovered = None
        while time.monotonic() < deadline and recovered is None:
            time.sleep(0.2)
            with load.lock:
                good = [r["t"] + r["dt"] for r in load.answers if "error" not in r and r["t"] >= t_up]
            recovered = min(good) if good else None
        time.sleep(settle_s)
        rows = list(load.answers)
    errs = [r for r in rows if "error" in r]
    # an error belongs to the outage when its request was in flight at some point between stop and ready
    outside = [r for r in errs if r["t"] + r["dt"] < t_down or r["t"] > t_up]
    return {"neo4j_down_s": round(t_up - t_down, 1),
            "recovery_s_after_neo4j_ready": round(recovered - t_up, 2) if recovered else None,
            "errors_outside_the_outage": len(outside), "first_errors_outside": [r["error"] for r in outside[:3]],
            **summary(rows, rows[-1]["t"] - rows[0]["t"] if rows else 1.0)}


def case_training(db, port: int, users: list[str], *, clients: int, train_args: list[str], settle_s: float,
                  env: dict[str, str]) -> dict[str, Any]:
    """(b) a training run finishes under load; every answer checked against the run it names."""
    from kgrec_neo4j.serve.scoring import current_run

    before = current_run(db)
    snaps = {before: snapshot(db, before, users)}
    with Load(port, users, clients=clients, seed=2) as load:
        time.sleep(settle_s)
        t0 = time.time()
        tr = subprocess.run([*KGREC, "train", *train_args], cwd=REPO, env=env, capture_output=True, text=True)
        train_s = time.time() - t0
        time.sleep(max(settle_s, 6.0))  # the service polls for a new run every 2 s
        rows = list(load.answers)
    after = current_run(db)
    if tr.returncode != 0:
        return {"train_exit": tr.returncode, "train_output": tr.stdout[-1500:] + tr.stderr[-1500:]}
    snaps[after] = snapshot(db, after, users)
    run_ids = set(db.value("MATCH (r:ModelRun) RETURN collect(r.id)"))
    v = verify(rows, snaps, run_ids)
    switch = [r["t"] for r in rows if r.get("run") == after]
    return {"train_s": round(train_s, 1), "old_run": before, "new_run": after,
            "first_new_run_answer_s_after_train_exit": round(min(switch) - (t0 + train_s), 2) if switch else None,
            "consistent": v["consistent"], "inconsistent": v["inconsistent"], "by_run": v["by_run"],
            "problems": v["problems"][:5], **summary(rows, rows[-1]["t"] - rows[0]["t"] if rows else 1.0)}


def _partial(res: dict[str, Any]) -> None:
    """Each case's result on stderr as soon as it is known."""
    print(json.dumps(res, default=str), file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--baseline-s", type=float, default=15)
    ap.add_argument("--settle-s", type=float, default=5)
    ap.add_argument("--http-port", type=int, required=True, help="the local Neo4j's HTTP port (for its restart)")
    ap.add_argument("--cases", default="restart,train")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("train_args", nargs="*", help="after --: arguments of `kgrec train` for case (b)")
    a = ap.parse_args(argv)
    from kgrec_neo4j.core.config import load_settings
    from kgrec_neo4j.core.db import connect

    env = dict(os.environ)
    res: dict[str, Any] = {"load_average_start": os.getloadavg(), "clients": a.clients}
    with connect(load_settings()) as db:
        users = db.value("MATCH (u:User)-[:INTERACTED]->() RETURN collect(DISTINCT u.id)")
        res["before"] = counts(db)
    port = _free_port()
    svc = start_service(port)
    try:
        with Load(port, users, clients=a.clients) as load:
            time.sleep(a.baseline_s)
        res["baseline"] = summary(load.answers, a.baseline_s)
        _partial(res)
        if "restart" in a.cases:
            res["a_neo4j_restart"] = case_restart(env, port, users, clients=a.clients, http_port=a.http_port,
                                                  settle_s=a.settle_s)
            _partial(res)
        if "train" in a.cases:
            with connect(load_settings()) as db:
                res["b_training_finishes"] = case_training(db, port, users, clients=a.clients,
                                                           train_args=a.train_args, settle_s=a.settle_s, env=env)
        res["service_pid_unchanged"] = svc.poll() is None
    finally:
        svc.terminate()
        try:
            svc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # uvicorn waits for open keep-alive connections
            svc.kill()
            svc.wait(timeout=30)
    with connect(load_settings()) as db:
        res["after"] = counts(db)
    res["nothing_lost"] = res["before"] == res["after"]
    res["load_average_end"] = os.getloadavg()
    text = json.dumps(res, indent=2, default=str)
    print(text)
    if a.out:
        a.out.write_text(text)
    return res


if __name__ == "__main__":
    main()
