"""Faults under load: ``kgrec serve`` answering concurrent HTTP clients while (a) Neo4j is restarted, (b) a
training run finishes and becomes current, and (c) ``kgrec update`` is killed with SIGKILL and run again.

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

4. case (c): a change is appended (``--change-users`` users of ``--change-from`` that are not in the graph, with
   their real histories and the new items among them), then, under the same load, ``kgrec update`` is killed with
   SIGKILL when it starts the step ``--kill-at`` and run again to completion. Every answer must be wholly the run's
   answer before the update or wholly its answer after it (the update folds the new items in and bumps the run's
   version), with no error; the rerun must resume the killed update, and every new item must get a vector.

Nothing is lost: the counts of users, items, interactions and knowledge edges are the same before and after cases
(a) and (b); case (c) checks that the users, items and interactions it appended are all still there after the rerun.
The service runs with ``KGREC_SAME_WORK=keep`` (``--same-work``): the checker compares with the plain top-k.

Example::

    KGREC_HOME=$PWD/.kgrec-test NEO4J_URI=bolt://127.0.0.1:7708 NEO4J_PASSWORD=... \\
        python bench/faults_under_load.py --clients 8 --http-port 7509 -- --epochs 1 --dim 8
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
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
        after = current_run(db)
        switched = _wait_for(load, lambda r: r.get("run") == after, since=t0, timeout_s=300)
        time.sleep(settle_s)
        rows = list(load.answers)
    if tr.returncode != 0:
        return {"train_exit": tr.returncode, "train_output": tr.stdout[-1500:] + tr.stderr[-1500:]}
    snaps[after] = snapshot(db, after, users)
    run_ids = set(db.value("MATCH (r:ModelRun) RETURN collect(r.id)"))
    v = verify(rows, snaps, run_ids)
    return {"train_s": round(train_s, 1), "old_run": before, "new_run": after,
            "first_new_run_answer_s_after_train_exit": round(switched - (t0 + train_s), 2) if switched else None,
            "consistent": v["consistent"], "inconsistent": v["inconsistent"], "by_run": v["by_run"],
            "problems": v["problems"][:5], **summary(rows, rows[-1]["t"] - rows[0]["t"] if rows else 1.0)}


def _wait_for(load: Load, good: Any, *, since: float, timeout_s: float) -> float | None:
    """The end time of the first answer after ``since`` for which ``good(answer)`` holds, waiting up to
    ``timeout_s`` for one (``None``: none came)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with load.lock:
            hits = [r["t"] + r["dt"] for r in load.answers if r["t"] >= since and "error" not in r and good(r)]
        if hits or time.monotonic() > deadline:
            return min(hits) if hits else None
        time.sleep(0.2)


def make_change(db, data: Path, out: Path, *, users: int, seed: int = 0) -> dict[str, Any]:
    """A change to append: ``users`` users of ``data`` that are not in the graph, with their real interactions,
    among them items that are not in the graph either (new users and new items at once)."""
    def rows(stem: str) -> list[dict]:
        path = data / f"{stem}.jsonl"
        if not path.exists():
            path = data / f"{stem}.jsonl.gz"
        with (gzip.open(path, "rt") if path.suffix == ".gz" else path.open()) as f:
            return [json.loads(x) for x in f if x.strip()]

    stored_users = set(db.value("MATCH (u:User) RETURN collect(u.id)"))
    stored_items = set(db.value("MATCH (i:Item) RETURN collect(i.id)"))
    inter = rows("interactions")
    by_user: dict[str, list[dict]] = {}
    for r in inter:
        if r["user_id"] not in stored_users:
            by_user.setdefault(r["user_id"], []).append(r)
    candidates = sorted(u for u, rs in by_user.items() if any(r["item_id"] not in stored_items for r in rs))
    pick = random.Random(seed).sample(candidates, min(users, len(candidates)))
    change = [r for u in pick for r in by_user[u]]
    used = {r["item_id"] for r in change}
    items = [r for r in rows("items") if r["item_id"] in used and r["item_id"] not in stored_items]
    out.mkdir(parents=True, exist_ok=True)
    (out / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in items))
    (out / "interactions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in change))
    return {"users": len(pick), "interactions": len(change), "new_items": len(items)}


def case_update_killed(db, port: int, users: list[str], *, clients: int, settle_s: float, env: dict[str, str],
                       change_from: Path, change_users: int, kill_at: str, work: Path) -> dict[str, Any]:
    """(c) ``kgrec update`` killed with SIGKILL under load when it starts the step ``kill_at``, then run again.

    The change (new users of ``change_from`` with their real histories, and the new items among them) is appended
    before the load starts, so the served users' live histories stay fixed: every answer must then be wholly that
    of the run's version before the update or wholly that of its version after (the update folds the new items in
    and bumps the version), never a mix, and there must be no error."""
    from kgrec_neo4j.serve.scoring import current_run_version

    dataset = db.value("MATCH (d:Dataset) RETURN d.name ORDER BY d.name LIMIT 1")
    made = make_change(db, change_from, work / "change", users=change_users)
    subprocess.run([*KGREC, "load", str(work / "change"), "--dataset", dataset, "--append"], cwd=REPO, env=env,
                   check=True, capture_output=True)
    run, v0 = current_run_version(db)
    before = counts(db)
    snaps = {0: snapshot(db, run, users)}
    env = dict(env, PYTHONUNBUFFERED="1")
    with Load(port, users, clients=clients, seed=3) as load:
        time.sleep(settle_s)
        t0 = time.time()
        p = subprocess.Popen([*KGREC, "update", "--extractor", "offline"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        seen: list[str] = []
        assert p.stdout is not None
        for line in p.stdout:
            seen.append(line.rstrip())
            if line.startswith(f"{kill_at} ..."):
                p.kill()
                break
        p.wait(60)
        t_kill = time.time()
        killed = p.returncode == -9
        rerun = subprocess.run([*KGREC, "update", "--extractor", "offline", "--json"], cwd=REPO, env=env,
                               capture_output=True, text=True)
        t_done = time.time()
        _, v1 = current_run_version(db)
        switched = None
        while switched is None and time.time() - t_done < 120:  # the service reloads the run at its new version
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).json().get("version") == v1:
                switched = time.time()
            time.sleep(0.2)
        time.sleep(settle_s)
        rows = list(load.answers)
    if rerun.returncode != 0:
        return {"killed": killed, "rerun_exit": rerun.returncode, "rerun_output": rerun.stdout[-1500:] + rerun.stderr[-1500:]}
    rep = json.loads(rerun.stdout[rerun.stdout.index("{"):])
    snaps[1] = snapshot(db, run, users)
    run_ids = set(db.value("MATCH (r:ModelRun) RETURN collect(r.id)"))
    # an answer is consistent when it is wholly the run's answer before the update or wholly its answer after
    ok, bad, problems, by_version = 0, 0, [], {0: 0, 1: 0}
    for r in rows:
        if "error" in r:
            continue
        hit = [v for v in (0, 1) if verify([r], {run: snaps[v]}, run_ids)["consistent"] == 1]
        if hit:
            ok += 1
            for v in hit:
                by_version[v] += 1
        else:
            bad += 1
            problems += verify([r], {run: snaps[1]}, run_ids)["problems"][:1]
    after = counts(db)
    new_items = db.value("MATCH (i:Item) WHERE i.id IN $ids AND i.gnn_run = $run RETURN count(i)",
                         ids=[json.loads(x)["item_id"] for x in (work / "change" / "items.jsonl").read_text().splitlines()],
                         run=run)
    return {"change": made, "killed": killed, "kill_at": kill_at, "killed_after_s": round(t_kill - t0, 1),
            "update_output_before_kill": seen[-4:], "rerun_resumed": rep.get("resumed"),
            "rerun_status": rep.get("status"), "rerun_s": round(t_done - t_kill, 1), "version_before": v0,
            "version_after": v1, "new_items_with_a_vector": f"{new_items} of {made['new_items']}",
            "answers_matching_version_before": by_version[0], "answers_matching_version_after": by_version[1],
            "consistent": ok, "inconsistent": bad, "problems": problems[:5],
            "service_on_new_version_s_after_rerun": round(switched - t_done, 2) if switched else None,
            "users_items_interactions_kept": {k: after[k] == before[k] for k in ("users", "items", "interactions")},
            **summary(rows, rows[-1]["t"] - rows[0]["t"] if rows else 1.0)}


def _partial(res: dict[str, Any]) -> None:
    """Each case's result on stderr as soon as it is known."""
    print(json.dumps(res, default=str), file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--baseline-s", type=float, default=15)
    ap.add_argument("--settle-s", type=float, default=5)
    ap.add_argument("--http-port", type=int, required=True, help="the local Neo4j's HTTP port (for its restart)")
    ap.add_argument("--cases", default="restart,train,update")
    ap.add_argument("--change-from", type=Path, default=REPO.parent / "shared" / "data" / "amazon-videogames-2018",
                    help="case (c): a dataset folder whose users not in the graph (with items not in it either) make "
                         "the appended change")
    ap.add_argument("--same-work", default="keep", help="the service's KGREC_SAME_WORK (the checker of answers "
                    "compares with the plain top-k, so editions of owned items must not be demoted)")
    ap.add_argument("--change-users", type=int, default=10)
    ap.add_argument("--kill-at", default="interests", help="case (c): the update step at whose start it is killed")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("train_args", nargs="*", help="after --: arguments of `kgrec train` for case (b)")
    a = ap.parse_args(argv)
    from kgrec_neo4j.core.config import load_settings
    from kgrec_neo4j.core.db import connect

    os.environ["KGREC_SAME_WORK"] = a.same_work  # the checker expects the plain top-k of the run
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
            _partial(res)
        with connect(load_settings()) as db:
            res["after_a_b"] = counts(db)
        res["nothing_lost_a_b"] = res["before"] == res["after_a_b"]
        if "update" in a.cases:
            with connect(load_settings()) as db, tempfile.TemporaryDirectory() as tmp:
                res["c_update_killed"] = case_update_killed(
                    db, port, users, clients=a.clients, settle_s=a.settle_s, env=env, change_from=a.change_from,
                    change_users=a.change_users, kill_at=a.kill_at, work=Path(tmp))
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
    res["load_average_end"] = os.getloadavg()
    text = json.dumps(res, indent=2, default=str)
    print(text)
    if a.out:
        a.out.write_text(text)
    return res


if __name__ == "__main__":
    main()
