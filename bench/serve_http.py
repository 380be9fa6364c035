"""Serving benchmark: ``kgrec serve`` over HTTP with concurrent clients, write-to-visible latency, and batch
recommendation, each next to a baseline measured in the same run.

On the graph NEO4J_URI points at (it must hold a current, servable run):

1. baseline: the library in this process, one request at a time (``recommend`` with and without explanations);
2. HTTP: ``kgrec serve`` started as its own process; ``--clients`` client threads send requests for random users
   for ``--seconds`` each, recommend-only and then recommend + explain; p50 / p95 / p99 and requests/s;
3. write -> visible: for ``--writes`` users, an interaction with their top item is committed through the driver
   and the next HTTP answer is checked to exclude it; the time from the commit to that answer; then the same
   through the service itself (``kgrec serve --writes``: ``POST /users/{user}/interactions``, then the next
   answer), and ``--clients`` threads posting interactions of random users with random items for ``--seconds``
   (p50 / p95 / p99, writes/s), next to the recommendations' requests/s of step 2; every posted edge is removed
   afterwards;
4. batch: ``recommend_users`` over every user in chunks (``--no-store`` and storing ``RECOMMENDED`` edges), in
   users/s, against one user per call (the baseline) on a sample.

Example::

    NEO4J_URI=bolt://127.0.0.1:7687 NEO4J_PASSWORD=... python bench/serve_http.py --clients 8 --seconds 30
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parent.parent
TOKEN = secrets.token_urlsafe(16)  # a service that writes (--writes) needs one; a read-only one ignores it
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def _pct(xs: list[float]) -> dict[str, float]:
    if not xs:
        return {}
    a = np.sort(np.asarray(xs)) * 1000
    return {"n": len(xs), "p50_ms": round(float(np.percentile(a, 50)), 1),
            "p95_ms": round(float(np.percentile(a, 95)), 1), "p99_ms": round(float(np.percentile(a, 99)), 1)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_service(port: int, *, writes: bool = False) -> subprocess.Popen:
    """``kgrec serve`` on ``port``, healthy. Its stderr goes to a file (named on stdout), never to a pipe: a pipe
    nobody reads fills up (64 kB: a few hundred of the driver's retry warnings during a Neo4j outage) and then
    blocks every thread of the service that logs, the run watcher included."""
    log_path = Path(tempfile.mkstemp(prefix="kgrec-serve-", suffix=".log")[1])
    print(f"kgrec serve on port {port}: its log is {log_path}", file=sys.stderr, flush=True)
    with log_path.open("w") as log:
        p = subprocess.Popen([sys.executable, "-m", "kgrec_neo4j.cli", "serve", "--port", str(port),
                              *(["--writes"] if writes else [])], cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=log, text=True,
                             env={**os.environ, **({"KGREC_SERVE_TOKEN": TOKEN} if writes else {})})
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5, headers=HEADERS).status_code == 200:
                return p
        except httpx.HTTPError:
            pass
        if p.poll() is not None:
            raise RuntimeError(f"kgrec serve exited: {log_path.read_text()[-2000:]}")
        time.sleep(0.5)
    p.kill()
    raise RuntimeError("kgrec serve did not become healthy in 15 minutes")


def _clients(port: int, *, clients: int, seconds: float, seed: int, send) -> float:
    """``clients`` threads, each with its own HTTP client, calling ``send(client, rng)`` until ``seconds`` have
    passed; returns the wall time."""
    stop = time.monotonic() + seconds

    def client(c: int) -> None:
        rng = random.Random(seed * 100 + c)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, headers=HEADERS) as h:
            while time.monotonic() < stop:
                send(h, rng)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - t0


def http_load(port: int, users: list[str], *, clients: int, seconds: float, explain: bool, k: int,
              seed: int = 0) -> dict:
    lat: list[float] = []
    errors: list[str] = []
    runs: set[str] = set()
    lock = threading.Lock()

    def send(h: httpx.Client, rng: random.Random) -> None:
        u = rng.choice(users)
        t0 = time.perf_counter()
        r = h.get(f"/users/{u}/recommendations", params={"k": k, "explain": str(explain).lower()})
        dt = time.perf_counter() - t0
        with lock:
            if r.status_code == 200:
                lat.append(dt)
                runs.add(r.json()["run"])
            else:
                errors.append(f"{r.status_code} {r.text[:200]}")

    wall = _clients(port, clients=clients, seconds=seconds, seed=seed, send=send)
    return {"clients": clients, "explain": explain, **_pct(lat), "requests_per_s": round(len(lat) / wall, 1),
            "errors": len(errors), "first_errors": errors[:3], "runs": sorted(runs)}


def in_process(db, users: list[str], *, n: int, explain: bool, k: int, seed: int = 0) -> dict:
    from kgrec_neo4j.serve.recommend import recommend_users

    rng = random.Random(seed)
    recommend_users(db, users[:1], k, store=False)  # warm the model
    lat = []
    for _ in range(n):
        u = rng.choice(users)
        t0 = time.perf_counter()
        recommend_users(db, [u], k, store=False, explain=explain)
        lat.append(time.perf_counter() - t0)
    return {"explain": explain, **_pct(lat)}


def write_to_visible(db, port: int, users: list[str], *, n: int, k: int) -> dict:
    out, misses = [], 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, headers=HEADERS) as h:
        for u in users[:n]:
            top = h.get(f"/users/{u}/recommendations", params={"k": k}).json()["items"][0]["item"]
            db.write("MATCH (u:User {id: $u}), (i:Item {id: $i}) CREATE (u)-[:INTERACTED {seq: 99999, rating: 5.0, "
                     "bench: true}]->(i)", u=u, i=top)
            t0 = time.perf_counter()
            items = [it["item"] for it in h.get(f"/users/{u}/recommendations", params={"k": k}).json()["items"]]
            out.append(time.perf_counter() - t0)
            misses += top in items
            db.write("MATCH (:User {id: $u})-[x:INTERACTED {bench: true}]->() DELETE x", u=u)
    return {**_pct(out), "answers_still_showing_the_item": misses}


def _remove_posted(db, posted: list[tuple[str, int]]) -> None:
    """Remove the edges the service recorded (user, seq), and count them out of their users' interactions."""
    rows = [{"user": u, "seq": q} for u, q in posted]
    for i in range(0, len(rows), 1000):
        db.write("UNWIND $rows AS row MATCH (u:User {id: row.user})-[x:INTERACTED {seq: row.seq}]->() DELETE x "
                 "SET u.n_interactions = u.n_interactions - 1", rows=rows[i:i + 1000])


def post_to_visible(db, port: int, users: list[str], *, n: int, k: int) -> dict:
    """``POST /users/{user}/interactions`` of the user's top item: the POST's time, and the next answer's (as
    :func:`write_to_visible` times the answer after a driver commit)."""
    out, writes, misses, posted = [], [], 0, []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, headers=HEADERS) as h:
            for u in users[:n]:
                top = h.get(f"/users/{u}/recommendations", params={"k": k}).json()["items"][0]["item"]
                t0 = time.perf_counter()
                r = h.post(f"/users/{u}/interactions", json={"item": top, "rating": 5.0})
                writes.append(time.perf_counter() - t0)
                assert r.status_code == 201, r.text
                posted.append((u, r.json()["seq"]))
                t0 = time.perf_counter()
                items = [it["item"] for it in h.get(f"/users/{u}/recommendations", params={"k": k}).json()["items"]]
                out.append(time.perf_counter() - t0)
                misses += top in items
    finally:
        _remove_posted(db, posted)
    return {"post": _pct(writes), "next_answer": _pct(out), "answers_still_showing_the_item": misses}


def post_load(db, port: int, users: list[str], items: list[str], *, clients: int, seconds: float,
              seed: int = 0) -> dict:
    """``clients`` threads posting interactions (random user, random item) for ``seconds``."""
    lat: list[float] = []
    errors: list[str] = []
    posted: list[tuple[str, int]] = []
    lock = threading.Lock()

    def send(h: httpx.Client, rng: random.Random) -> None:
        u, i = rng.choice(users), rng.choice(items)
        t0 = time.perf_counter()
        r = h.post(f"/users/{u}/interactions", json={"item": i})
        dt = time.perf_counter() - t0
        with lock:
            if r.status_code == 201:
                lat.append(dt)
                posted.append((u, r.json()["seq"]))
            else:
                errors.append(f"{r.status_code} {r.text[:200]}")

    try:
        wall = _clients(port, clients=clients, seconds=seconds, seed=seed, send=send)
    finally:
        seqs: dict[str, list[int]] = {}
        for u, q in posted:
            seqs.setdefault(u, []).append(q)
        dup = sum(len(v) - len(set(v)) for v in seqs.values())  # two writes given one seq: the lock failed
        _remove_posted(db, posted)
    return {"clients": clients, **_pct(lat), "writes_per_s": round(len(lat) / wall, 1), "errors": len(errors),
            "first_errors": errors[:3], "duplicate_seqs": dup}


def batch(db, users: list[str], *, k: int, chunk: int, sample: int) -> dict:
    from kgrec_neo4j.serve.recommend import recommend, recommend_users

    t0 = time.perf_counter()
    recommend_users(db, users, k, store=False, chunk=chunk)
    no_store = time.perf_counter() - t0
    t0 = time.perf_counter()
    recommend_users(db, users, k, store=True, chunk=chunk)
    store = time.perf_counter() - t0
    t0 = time.perf_counter()
    for u in users[:sample]:
        recommend(db, u, k, store=False)
    one = (time.perf_counter() - t0) / sample
    return {"users": len(users), "chunk": chunk, "users_per_s_no_store": round(len(users) / no_store, 1),
            "users_per_s_store": round(len(users) / store, 1),
            "baseline_one_call_per_user_users_per_s": round(1 / one, 1),
            "ratio_batch_vs_one_call": round((len(users) / no_store) * one, 1)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--baseline-requests", type=int, default=200)
    ap.add_argument("--writes", type=int, default=30)
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--batch-sample", type=int, default=100)
    ap.add_argument("--skip-batch", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    from kgrec_neo4j.core.config import load_settings
    from kgrec_neo4j.core.db import connect

    res: dict = {"load_average_start": os.getloadavg()}
    with connect(load_settings()) as db:
        users = db.value("MATCH (u:User)-[:INTERACTED]->() RETURN collect(DISTINCT u.id)")
        res["graph"] = {"users": len(users), "items": db.value("MATCH (i:Item) RETURN count(i)"),
                        "item_links": db.value("MATCH ()-[l:ITEM_LINK]->() RETURN count(l)")}
        res["baseline_in_process"] = [in_process(db, users, n=a.baseline_requests, explain=e, k=a.k)
                                      for e in (False, True)]
        port = _free_port()
        t0 = time.monotonic()
        svc = start_service(port, writes=True)
        res["service_start_s"] = round(time.monotonic() - t0, 1)
        try:
            res["http"] = [http_load(port, users, clients=a.clients, seconds=a.seconds, explain=e, k=a.k)
                           for e in (False, True)]
            res["write_to_visible"] = write_to_visible(db, port, users, n=a.writes, k=a.k)
            res["post_to_visible"] = post_to_visible(db, port, users[a.writes:], n=a.writes, k=a.k)
            items = db.value("MATCH (i:Item) WHERE i.gnn_embedding IS NOT NULL RETURN collect(i.id)")
            res["posts"] = post_load(db, port, users, items, clients=a.clients, seconds=a.seconds)
        finally:
            svc.terminate()
            svc.wait(timeout=30)
        if not a.skip_batch:
            res["batch"] = batch(db, users, k=a.k, chunk=a.chunk, sample=a.batch_sample)
    if res["write_to_visible"].get("p50_ms"):  # the next answer after a POST against after a driver commit
        res["post_to_visible"]["next_answer_p50_ratio_vs_driver_commit"] = round(
            res["post_to_visible"]["next_answer"]["p50_ms"] / res["write_to_visible"]["p50_ms"], 2)
    for h, b in zip(res["http"], res["baseline_in_process"], strict=True):
        h["p95_ratio_vs_in_process_one_client"] = round(h["p95_ms"] / b["p95_ms"], 2) if b.get("p95_ms") else None
    res["load_average_end"] = os.getloadavg()
    text = json.dumps(res, indent=2)
    print(text)
    if a.out:
        a.out.write_text(text)
    return res


if __name__ == "__main__":
    main()
