"""Faults with the data checked afterwards: kill -9 of the loader, secrets never in logs, loopback only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kgrec_neo4j import load as L
from tests.conftest import clear_database

REPO = Path(__file__).resolve().parent.parent


def graph_signature(db) -> dict:
    """Node and edge counts by type, plus duplicate checks. The writer lease node is left out: a command leaves it
    (empty) behind, a library call takes none, and emptying the database keeps it."""
    nodes = {r["l"]: r["n"] for r in db.query("MATCH (n) UNWIND labels(n) AS l WITH l WHERE l <> 'WriterLease' "
                                              "RETURN l, count(*) AS n")}
    edges = {r["t"]: r["n"] for r in db.query("MATCH ()-[e]->() RETURN type(e) AS t, count(*) AS n")}
    dup = db.value("MATCH (u:User)-[e:INTERACTED]->() WITH u, e.seq AS s, count(*) AS c WHERE c > 1 RETURN count(*)")
    return {"nodes": nodes, "edges": edges, "duplicate_interactions": dup}


def kgrec(*args, env=None):
    return subprocess.Popen([sys.executable, "-m", "kgrec_neo4j.cli", *args], cwd=REPO, env=env or os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_kill_9_loader_then_rerun_equals_uninterrupted(db, data_dir):
    """Uninterrupted load vs. a load killed with SIGKILL mid-write and rerun: same graph."""
    src = data_dir / "amazon-videogames-2018"
    clear_database(db)
    L.load(db, [src], max_users=1500, batch_size=1000)
    want = graph_signature(db)
    clear_database(db)
    p = kgrec("load", str(src), "--users", "1500", "--batch-size", "500", "--silent")
    deadline = time.time() + 300
    while time.time() < deadline and p.poll() is None:
        if (db.value("MATCH ()-[e:INTERACTED]->() RETURN count(e)") or 0) >= 1000:
            break
        time.sleep(0.05)
    assert p.poll() is None, "the loader finished before it could be killed; use a larger slice"
    p.send_signal(signal.SIGKILL)
    p.wait(30)
    partial = graph_signature(db)
    assert partial != want
    assert db.value("MATCH (d:Dataset) RETURN d.status") == "loading"
    p = kgrec("load", str(src), "--users", "1500", "--batch-size", "500", "--silent")
    out, _ = p.communicate(timeout=600)
    assert p.returncode == 0, out
    assert graph_signature(db) == want


def test_kill_9_loader_small(db):
    """The same property on the committed slice, fast enough for the default run."""
    slice_ = REPO / "tests" / "data" / "vg-slice"
    clear_database(db)
    L.load(db, [slice_])
    want = graph_signature(db)
    clear_database(db)
    env = os.environ.copy()
    p = kgrec("load", str(slice_), "--batch-size", "20", "--silent", env=env)
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        if (db.value("MATCH ()-[e:INTERACTED]->() RETURN count(e)") or 0) >= 40:
            break
        time.sleep(0.02)
    if p.poll() is None:
        p.send_signal(signal.SIGKILL)
        p.wait(30)
    p = kgrec("load", str(slice_), "--silent")
    out, _ = p.communicate(timeout=300)
    assert p.returncode == 0, out
    assert graph_signature(db) == want


def test_password_never_printed_or_logged(db, settings, tmp_path):
    password = settings.neo4j_password
    assert password
    env = os.environ.copy()
    p = kgrec("-vv", "load", str(REPO / "tests" / "data" / "vg-slice"), "--silent", env=env)
    out, _ = p.communicate(timeout=300)
    assert p.returncode == 0, out
    assert password not in out
    p = kgrec("-vv", "doctor", env=env)
    out, _ = p.communicate(timeout=300)
    assert password not in out
    # wrong password: the error names the user, never a password
    env["NEO4J_PASSWORD"] = "wrong-" + password
    p = kgrec("schema", "check", env=env)
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 2 and "refused the credentials" in out and password not in out
    # the local server's files (when the tests run against it): logs, conf, run state
    home = settings.home_path / "neo4j"
    scanned = 0
    for sub in ("logs", "conf", "run"):
        for f in (home / sub).glob("**/*"):
            if f.is_file():
                scanned += 1
                assert password.encode() not in f.read_bytes(), f
    if os.environ.get("CI"):
        assert scanned > 0, f"no server files found under {home} to scan"


def test_local_server_binds_loopback_only(settings):
    """Every listening socket of the local server is on 127.0.0.1."""
    from kgrec_neo4j.local import neo4j_server as server

    st = server.status(settings.home_path / "neo4j")
    if not st.running:
        if os.environ.get("CI"):
            pytest.fail("the local server is not running under CI")
        pytest.skip("tests are not running against the project's local server")
    pid = st.pid
    out = subprocess.run(["ss", "-ltnp"], capture_output=True, text=True).stdout
    mine = [line for line in out.splitlines() if f"pid={pid}," in line]
    assert mine, out
    for line in mine:
        local = line.split()[3]
        assert local.startswith("127.0.0.1:") or local.startswith("[::ffff:127.0.0.1]:"), line


def test_local_server_files_are_owner_only(settings):
    """The store (every review), the system database, the logs, the configuration and the run files of the local
    server: no group or other permission on any of them (they were created with the default umask)."""
    from kgrec_neo4j.local import neo4j_server as server

    home = settings.home_path / "neo4j"
    if not server.status(home).running:
        if os.environ.get("CI"):
            pytest.fail("the local server is not running under CI")
        pytest.skip("tests are not running against the project's local server")
    checked, wide = 0, []
    for sub in ("conf", "data", "logs", "run", "import"):
        for p in [home / sub, *(home / sub).rglob("*")]:
            if p.is_symlink() or not p.exists():
                continue
            checked += 1
            if p.stat().st_mode & 0o077:
                wide.append(f"{oct(p.stat().st_mode & 0o777)} {p.relative_to(home)}")
    assert checked > 20 and (home / "data" / "databases" / "system").is_dir()
    assert not wide, f"{len(wide)} of {checked} paths readable by others, e.g. {wide[:8]}"
