"""Faults in the middle of a run, with the graph checked afterwards.

- ``kill -9`` of the item extractor, the interest extractor and the trainer once progress is visible in the
  database, then a rerun: the graph equals that of an uninterrupted run (counts by label and type, the
  stage's edges and their values, no duplicate, no orphan mention, no half-written item or user; for the
  trainer: every trained node carries the rerun's embedding, exactly one complete current run).
- Neo4j restarted (``server.stop`` + ``server.start``) while ``kgrec load`` writes: the load ends with exit
  code 0 and the graph equals an uninterrupted load (slow; its own server in a temporary home, because it
  restarts it). Neo4j down at start is tests/test_schema.py::test_cli_reports_unreachable_neo4j_with_fix.

The kill -9 of the loader is tests/test_reliability.py. See docs/reliability.md for the whole table.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import _export_fixture
import pytest
from _private_neo4j import start_private_neo4j

from tests.conftest import clear_database

REPO = Path(__file__).resolve().parent.parent
SLICE = REPO / "tests" / "data" / "vg-slice"


# ------------------------------------------------------------------------------------------- helpers

def kgrec(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kgrec_neo4j.cli", *args], cwd=REPO, env=env or os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(p: subprocess.Popen, timeout: float = 900) -> str:
    out, _ = p.communicate(timeout=timeout)
    assert p.returncode == 0, out[-4000:]
    return out


def parse_json(out: str) -> dict:
    """The JSON object a ``--json`` command printed (library warnings may surround it)."""
    start = out.index("{")
    return json.JSONDecoder().raw_decode(out[start:])[0]


def kill_when(p: subprocess.Popen, ready: Callable[[], bool], *, timeout: float = 600, what: str = "") -> float:
    """SIGKILL ``p`` as soon as ``ready()`` holds; fail when ``p`` ends first. Returns seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if p.poll() is not None:
            out = p.stdout.read() if p.stdout else ""
            pytest.fail(f"the process ended (exit {p.returncode}) before {what} was visible; make the run "
                        f"longer (smaller batches, more data). Output tail: {out[-2000:]}")
        if ready():
            p.send_signal(signal.SIGKILL)
            p.wait(60)
            assert p.returncode == -signal.SIGKILL
            return time.monotonic() - t0
        time.sleep(0.02)
    p.kill()
    pytest.fail(f"{what} not visible within {timeout:.0f}s")


def counts(db) -> dict:
    """Nodes by label and edges by type; the writer lease (who writes, taken by the CLI commands only, left behind
    by a kill) is bookkeeping, not graph content, and is left out."""
    nodes = {r["l"]: r["n"] for r in db.query("MATCH (n) UNWIND labels(n) AS l WITH l WHERE l <> 'WriterLease' "
                                              "RETURN l, count(*) AS n")}
    edges = {r["t"]: r["n"] for r in db.query("MATCH ()-[e]->() RETURN type(e) AS t, count(*) AS n")}
    return {"nodes": dict(sorted(nodes.items())), "edges": dict(sorted(edges.items()))}


def sub_slice(dst: Path, max_items: int) -> Path:
    """The first users of vg-slice (in file order) whose items number at most ``max_items``."""
    inter = [json.loads(line) for line in (SLICE / "interactions.jsonl").read_text().splitlines() if line.strip()]
    users: dict[str, list[dict]] = {}
    for r in inter:
        users.setdefault(r["user_id"], []).append(r)
    keep, items = [], set()
    for rows in users.values():
        new = items | {r["item_id"] for r in rows}
        if len(new) > max_items:
            break
        keep += rows
        items = new
    dst.mkdir(parents=True, exist_ok=True)
    (dst / "interactions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in keep))
    all_items = [json.loads(line) for line in (SLICE / "items.jsonl").read_text().splitlines() if line.strip()]
    (dst / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in all_items if r["item_id"] in items))
    return dst


def fresh(db, settings) -> None:
    from kgrec_neo4j.core import schema

    clear_database(db)
    db.write("DROP INDEX item_gnn_embedding IF EXISTS")
    schema.apply(db, schema.load_pack("video_games"), dim=settings.embedding_dim)


# ------------------------------------------------------------------------------------- item extractor

def extraction_state(db) -> dict:
    """Everything the extractor owns, without run ids and timestamps (they differ between runs)."""
    mentions = sorted((r["i"], r["t"], r["k"], round(r["c"], 6), r["x"]) for r in db.query(
        "MATCH (i:Item)-[e:MENTIONS]->(m:Mention) RETURN i.id AS i, m.type AS t, m.key AS k, e.confidence AS c, "
        "e.extractor AS x"))
    texts = sorted((r["t"], r["k"], r["s"]) for r in db.query(
        "MATCH (m:Mention) RETURN m.type AS t, m.key AS k, m.text AS s"))
    items = sorted((r["i"], r["h"], r["b"], r["e"]) for r in db.query(
        "MATCH (i:Item) RETURN i.id AS i, i.extract_hashes AS h, i.extracted_by AS b, i.extract_error AS e"))
    return {"counts": counts(db), "mentions": mentions, "mention_texts": texts, "items": items}


def extraction_invariants(db) -> dict:
    return {
        "orphan_mentions": db.value("MATCH (m:Mention) WHERE NOT (m)<-[:MENTIONS]-() RETURN count(m)"),
        "duplicate_edges": db.value("MATCH (i:Item)-[e:MENTIONS]->(m:Mention) WITH i, m, e.extractor AS x, "
                                    "count(e) AS c WHERE c > 1 RETURN count(*)"),
        "duplicate_mentions": db.value("MATCH (m:Mention) WITH m.type AS t, m.key AS k, count(*) AS c WHERE c > 1 "
                                       "RETURN count(*)"),
        # mentions on an item that is not marked done = a half-written item
        "half_written_items": db.value("MATCH (i:Item)-[:MENTIONS]->() WHERE i.extract_hashes IS NULL "
                                       "RETURN count(DISTINCT i)"),
    }


CLEAN_EXTRACTION = {"orphan_mentions": 0, "duplicate_edges": 0, "duplicate_mentions": 0, "half_written_items": 0}


def _kill_extractor_and_rerun(db, settings, data: Path, *, kill_after_items: int) -> dict:
    from kgrec_neo4j.core.schema import load_pack
    from kgrec_neo4j.extract.run import build_extractor, extract_items
    from kgrec_neo4j.load import load

    pack = load_pack("video_games")
    fresh(db, settings)
    load(db, [data])
    extract_items(db, build_extractor(settings, "offline", pack=pack), batch_size=5, progress=False, pack=pack)
    want = extraction_state(db)
    n_items = len(want["items"])
    assert want["mentions"] and extraction_invariants(db) == CLEAN_EXTRACTION

    fresh(db, settings)
    load(db, [data])
    args = ["extract", "items", "--extractor", "offline", "--batch-size", "5", "--silent"]
    waited = kill_when(kgrec(*args), lambda: (db.value("MATCH (i:Item) WHERE i.extract_hashes IS NOT NULL "
                                                       "RETURN count(i)") or 0) >= kill_after_items,
                       what=f"{kill_after_items} extracted items")
    done = db.value("MATCH (i:Item) WHERE i.extract_hashes IS NOT NULL RETURN collect(i.id)")
    assert kill_after_items <= len(done) < n_items
    assert extraction_invariants(db) == CLEAN_EXTRACTION
    # what the killed run committed is exactly what the uninterrupted run wrote for those items
    part = extraction_state(db)
    done_set = set(done)
    assert part["mentions"] == [m for m in want["mentions"] if m[0] in done_set]

    out = finish(kgrec(*args))
    assert f"{len(done)} skipped (already done)" in out, out
    got = extraction_state(db)
    assert extraction_invariants(db) == CLEAN_EXTRACTION
    assert got == want
    return {"items": n_items, "killed_after_s": round(waited, 1), "done_at_kill": len(done),
            "mentions": len(want["mentions"])}


def test_kill_9_extractor_then_rerun_equals_uninterrupted(db, settings, tmp_path):
    rep = _kill_extractor_and_rerun(db, settings, sub_slice(tmp_path / "slice", 200), kill_after_items=30)
    print(rep)


@pytest.mark.slow
def test_kill_9_extractor_whole_slice(db, settings):
    print(_kill_extractor_and_rerun(db, settings, SLICE, kill_after_items=200))


# --------------------------------------------------------------------------------- interest extractor

def interest_state(db) -> dict:
    edges = sorted((r["u"], r["c"], r["h"], r["p"], round(r["w"], 6), round(r["conf"], 6), tuple(r["ev"]),
                    r["seq"], r["sup"], r["x"]) for r in db.query(
        "MATCH (u:User)-[e:INTERESTED_IN]->(c:Concept) RETURN u.id AS u, c.id AS c, e.horizon AS h, "
        "e.polarity AS p, e.weight AS w, e.confidence AS conf, e.evidence AS ev, e.updated_seq AS seq, "
        "e.support AS sup, e.extractor AS x"))
    dup = db.value("MATCH (u:User)-[e:INTERESTED_IN]->(c:Concept) WITH u, c, e.horizon AS h, e.extractor AS x, "
                   "count(*) AS n WHERE n > 1 RETURN count(*)")
    return {"counts": counts(db), "edges": edges, "duplicates": dup}


def test_kill_9_interest_extractor_then_rerun_equals_uninterrupted(db, settings):
    from kgrec_neo4j.users.interests.offline import OfflineParams, extract_offline

    fresh(db, settings)
    _export_fixture.build(db)
    db.write("MATCH ()-[e:INTERESTED_IN]->() DELETE e")  # the fixture's own interests; the extractor makes them
    params = OfflineParams(min_confidence=settings.min_confidence)
    rep = extract_offline(db, params=params, batch_size=1)
    want = interest_state(db)
    assert rep.edges == len(want["edges"]) > 0 and want["duplicates"] == 0
    users_with = {e[0] for e in want["edges"]}
    db.write("MATCH ()-[e:INTERESTED_IN]->() DELETE e")

    args = ["interests", "extract", "--extractor", "offline", "--batch-size", "1", "--silent"]
    threshold = max(1, len(want["edges"]) // 4)
    kill_when(kgrec(*args), lambda: (db.value("MATCH ()-[e:INTERESTED_IN]->() RETURN count(e)") or 0) >= threshold,
              what=f"{threshold} interest edges")
    part = interest_state(db)
    assert part["duplicates"] == 0 and 0 < len(part["edges"]) < len(want["edges"])
    # every user the killed run reached has all of its edges, exactly those of the uninterrupted run
    reached = {e[0] for e in part["edges"]}
    assert reached < users_with
    assert part["edges"] == [e for e in want["edges"] if e[0] in reached]

    finish(kgrec(*args))
    assert interest_state(db) == want


# ------------------------------------------------------------------------------------------- trainer

def training_state(db, run: str) -> dict:
    """Counts and the write-back invariants of ``run``."""
    c = counts(db)
    c["nodes"].pop("ModelRun", None)
    return {
        "counts": c,
        "embedded": {label: db.value(f"MATCH (n:{label}) WHERE n.gnn_embedding IS NOT NULL RETURN count(n)")
                     for label in ("User", "Item", "Concept")},
        "of_run": {label: db.value(f"MATCH (n:{label}) WHERE n.gnn_run = $r AND n.gnn_embedding IS NOT NULL "
                                   f"RETURN count(n)", r=run) for label in ("User", "Item", "Concept")},
        "other_run_embeddings": db.value("MATCH (n) WHERE n.gnn_embedding IS NOT NULL AND n.gnn_run <> $r "
                                         "RETURN count(n)", r=run),
        "attention": {r["t"]: r["n"] for r in db.query(
            "MATCH ()-[e]->() WHERE e.attention IS NOT NULL RETURN type(e) AS t, count(e) AS n ORDER BY t")},
        "attention_other_run": db.value("MATCH ()-[e]->() WHERE e.attention IS NOT NULL AND e.attention_run <> $r "
                                        "RETURN count(e)", r=run),
        "current": db.value("MATCH (r:ModelRun) WHERE r.current RETURN collect(r.id)"),
        "current_status": db.value("MATCH (r:ModelRun) WHERE r.current RETURN collect(r.status)"),
    }


def test_kill_9_trainer_in_write_back_then_rerun(db, settings):
    fresh(db, settings)
    _export_fixture.build(db)
    env = os.environ.copy()
    env["KGREC_BATCH_SIZE"] = "10"  # many write-back transactions, so that the kill lands inside it
    train = ["train", "--epochs", "1", "--dim", "8", "--json"]

    first = parse_json(finish(kgrec(*train, env=env)))
    want = training_state(db, first["run"])
    assert want["current"] == [first["run"]] and want["other_run_embeddings"] == 0
    assert want["of_run"]["User"] > 0 and want["of_run"]["Item"] > 0

    p = kgrec(*train, env=env)
    state: dict[str, str] = {}

    def in_write_back() -> bool:
        if "run" not in state:
            rid = db.value("MATCH (r:ModelRun {status: 'running'}) RETURN r.id")
            if rid is None:
                return False
            state["run"] = rid
        return (db.value("MATCH (n) WHERE n.gnn_run = $r RETURN count(n)", r=state["run"]) or 0) >= 20

    kill_when(p, in_write_back, what="the write-back of the second run")
    killed = state["run"]
    # the killed run stays 'running' and is not current; the first run is still the current one
    assert db.value("MATCH (r:ModelRun {id: $r}) RETURN [r.status, r.current]", r=killed) == ["running", False]
    assert db.value("MATCH (r:ModelRun) WHERE r.current RETURN collect(r.id)") == [first["run"]]
    half = db.value("MATCH (n) WHERE n.gnn_run = $r RETURN count(n)", r=killed)
    print(f"killed run {killed} left {half} nodes with its embeddings")
    # the first run still serves every user, the ones the killed write-back reached included
    from kgrec_neo4j.serve import recommend as R
    from kgrec_neo4j.serve import scoring as S

    S.clear_cache()
    users = db.value("MATCH (u:User) WHERE u.gnn_prev_run = $r OR u.gnn_run = $r RETURN collect(u.id)",
                     r=first["run"])
    assert len(users) == want["of_run"]["User"]
    assert {a.run for a in R.recommend_users(db, users, 10, store=False)} == {first["run"]}
    S.clear_cache()

    rerun = parse_json(finish(kgrec(*train, env=env)))
    got = training_state(db, rerun["run"])
    assert got == {**want, "of_run": got["of_run"], "current": [rerun["run"]]}
    assert got["of_run"] == want["of_run"] and got["current_status"] == ["complete"]
    statuses = dict((r["id"], r["s"]) for r in db.query("MATCH (r:ModelRun) RETURN r.id AS id, r.status AS s"))
    # the rerun marked the killed run failed (its process is gone)
    assert statuses == {first["run"]: "complete", killed: "failed", rerun["run"]: "complete"}
    assert db.value("MATCH (r:ModelRun {id: $r}) RETURN r.error", r=killed) == "process ended without finishing"
    assert db.value("MATCH (n) WHERE n.gnn_prev_embedding IS NOT NULL OR n.gnn_prev_run IS NOT NULL "
                    "RETURN count(n)") == 0
    assert db.value("MATCH (r:ModelRun {status: 'running'}) WHERE r.current RETURN count(r)") == 0


# ----------------------------------------------------------------------------------- Neo4j restarted

@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    """A Neo4j of this module only, in a temporary home on free ports (the tests restart it)."""
    from kgrec_neo4j.core.config import load_settings
    from kgrec_neo4j.core.db import connect
    from kgrec_neo4j.local import neo4j_server as server

    home = tmp_path_factory.mktemp("neo4j-restart")
    password = "restart-test-pw"
    uri, bolt, http = start_private_neo4j(home, password)
    env = dict(os.environ, NEO4J_URI=uri, NEO4J_PASSWORD=password)
    s = load_settings(environ=env)
    db = connect(s, wait_s=60)
    yield {"home": home, "bolt": bolt, "http": http, "password": password, "env": env, "settings": s, "db": db}
    db.close()
    server.stop(home)


def _restart(srv, *, hold_s: float = 0.0) -> dict:
    """Stop the server, keep it down ``hold_s`` more seconds, start it again; return the timings."""
    from kgrec_neo4j.local import neo4j_server as server

    t0 = time.monotonic()
    server.stop(srv["home"])
    time.sleep(hold_s)
    t1 = time.monotonic()
    server.start(srv["home"], bolt_port=srv["bolt"], http_port=srv["http"], password=srv["password"], heap="1g",
                 pagecache="256m", progress=lambda s: None)
    return {"stop_s": round(t1 - t0, 1), "start_s": round(time.monotonic() - t1, 1),
            "down_s": round(time.monotonic() - t0, 1)}


def load_signature(db) -> dict:
    sig = counts(db)
    sig["duplicate_interactions"] = db.value("MATCH (u:User)-[e:INTERACTED]->() WITH u, e.seq AS s, count(*) AS c "
                                             "WHERE c > 1 RETURN count(*)")
    sig["splits"] = {r["s"]: r["n"] for r in db.query(
        "MATCH ()-[e:INTERACTED]->() RETURN e.split AS s, count(*) AS n ORDER BY s")}
    sig["dataset_status"] = db.value("MATCH (d:Dataset) RETURN collect(d.status)")
    return sig


@pytest.mark.slow
@pytest.mark.parametrize("hold_s", [0, 90], ids=["restart", "outage-2min"])
def test_neo4j_restart_during_load_is_retried(own_server, data_dir, hold_s):
    """A plain restart (30-90 s here), and an outage held two minutes: within db.connect's retry window
    (max_transaction_retry_time) the load rides it out."""
    from kgrec_neo4j.core import schema
    from kgrec_neo4j.load import load

    db, env = own_server["db"], own_server["env"]
    src = data_dir / "amazon-videogames-2018"
    clear_database(db)
    schema.apply(db, schema.load_pack("video_games"), dim=own_server["settings"].embedding_dim)
    p = kgrec("load", str(src), "--users", "3000", "--batch-size", "500", "--silent", env=env)
    t0 = time.monotonic()
    while p.poll() is None and (db.value("MATCH ()-[e:INTERACTED]->() RETURN count(e)") or 0) < 1000:
        assert time.monotonic() - t0 < 600, "the load wrote nothing for 10 minutes"
        time.sleep(0.1)
    assert p.poll() is None, "the load finished before the restart; use a larger slice"
    timing = _restart(own_server, hold_s=hold_s)
    out, _ = p.communicate(timeout=900)
    total_s = time.monotonic() - t0
    print({"restart": timing, "load_total_s": round(total_s, 1)})
    assert p.returncode == 0, f"exit {p.returncode} after a restart of {timing}: {out[-3000:]}"
    got = load_signature(db)
    assert got["duplicate_interactions"] == 0 and got["dataset_status"] == ["loaded"]

    clear_database(db)
    schema.apply(db, schema.load_pack("video_games"), dim=own_server["settings"].embedding_dim)
    load(db, [src], max_users=3000, batch_size=500)
    assert load_signature(db) == got


@pytest.mark.slow
def test_neo4j_restart_during_write_back_is_retried(own_server):
    from kgrec_neo4j.core import schema

    db, env = own_server["db"], dict(own_server["env"], KGREC_BATCH_SIZE="10")
    clear_database(db)
    db.write("DROP INDEX item_gnn_embedding IF EXISTS")
    schema.apply(db, schema.load_pack("video_games"), dim=own_server["settings"].embedding_dim)
    _export_fixture.build(db)
    p = kgrec("train", "--epochs", "1", "--dim", "8", "--json", env=env)
    t0 = time.monotonic()
    while p.poll() is None and not db.value("MATCH (n) WHERE n.gnn_run IS NOT NULL RETURN count(n) > 0"):
        assert time.monotonic() - t0 < 600, "the write-back did not start within 10 minutes"
        time.sleep(0.05)
    assert p.poll() is None, "training finished before the restart"
    timing = _restart(own_server)
    out, _ = p.communicate(timeout=900)
    print({"restart": timing})
    assert p.returncode == 0, f"exit {p.returncode} after a restart of {timing}: {out[-3000:]}"
    run = parse_json(out)["run"]
    st = training_state(db, run)
    assert st["current"] == [run] and st["current_status"] == ["complete"] and st["other_run_embeddings"] == 0
    for label in ("User", "Item", "Concept"):
        assert st["of_run"][label] == st["embedded"][label] > 0


@pytest.mark.parametrize("exc_name", ["ServiceUnavailable", "SessionExpired"])
def test_neo4j_lost_mid_command_is_a_clean_error(exc_name):
    """Neo4j going away after the retry window (ServiceUnavailable / SessionExpired raised inside a command) is
    ``Error: …`` with exit code 2 and the fix, not a traceback with exit code 1."""
    import click
    import neo4j.exceptions
    from click.testing import CliRunner

    from kgrec_neo4j.cli._common import KgrecGroup
    from kgrec_neo4j.core.config import load_settings

    @click.group(cls=KgrecGroup)
    @click.pass_context
    def root(ctx):
        ctx.obj = {"settings": load_settings(environ={"NEO4J_URI": "bolt://127.0.0.1:1", "NEO4J_PASSWORD": "x"})}

    @root.command()
    def work():
        raise getattr(neo4j.exceptions, exc_name)("Couldn't connect to 127.0.0.1:1")

    res = CliRunner().invoke(root, ["work"])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert "Neo4j at bolt://127.0.0.1:1 became unreachable during the run" in res.output
    assert exc_name in res.output and "committed batches are kept" in res.output and "kgrec db start" in res.output


class _Proxy:
    """A TCP proxy to the test server that can be cut: every connection through it closes at once."""

    def __init__(self, host: str, port: int):
        import socket
        import threading

        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.socks: list = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self.lock:
                self.socks += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self) -> None:
        import socket

        try:  # (close alone leaves a blocked accept() accepting on Linux)
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for s in self.socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass


def test_a_server_that_stops_answering_mid_session_is_a_neo4j_unavailable(settings, db):
    """A library user's connection lost after connect: a read waited 263 s (the driver's pauses grow past the
    180 s retry window) and then raised a bare ServiceUnavailable; now the server is waited for within the window and
    the error is a KgrecError with the fix."""
    from urllib.parse import urlparse

    from kgrec_neo4j.core.config import load_settings
    from kgrec_neo4j.core.db import connect
    from kgrec_neo4j.core.errors import Neo4jUnavailable

    u = urlparse(settings.neo4j_uri)
    proxy = _Proxy(u.hostname or "127.0.0.1", u.port or 7687)
    through = load_settings(environ=dict(os.environ, NEO4J_URI=f"bolt://127.0.0.1:{proxy.port}"))
    with connect(through, retry_window_s=2.0) as d:
        assert d.value("RETURN 1") == 1
        proxy.cut()
        for work in (lambda: d.value("RETURN 2"), lambda: d.write("CREATE (:Nothing)")):
            with pytest.raises(Neo4jUnavailable) as caught:
                work()
            assert f"Neo4j at bolt://127.0.0.1:{proxy.port} stopped answering" in str(caught.value)
            assert re.search(r"waited [23] s", str(caught.value)) and "kgrec db start" in str(caught.value)
    assert db.value("MATCH (n:Nothing) RETURN count(n)") == 0


def test_a_closed_connection_is_refused_with_the_fix(settings):
    """`db.close()` then a query went on (the driver only warned of a deprecated use)."""
    from kgrec_neo4j.core.db import connect
    from kgrec_neo4j.core.errors import KgrecError

    d = connect(settings)
    assert d.value("RETURN 1") == 1
    d.close()
    for work in (lambda: d.value("RETURN 1"), lambda: d.write("RETURN 1")):
        with pytest.raises(KgrecError, match="this connection is closed"):
            work()


class _FakeDriver:
    """A driver whose sessions fail as ``errors`` say, one error per try (``None``: the try succeeds)."""

    def __init__(self, errors):
        self.errors, self.tries = list(errors), 0

    def session(self, **_kw):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        return False

    def execute_write(self, fn):
        self.tries += 1
        err = self.errors.pop(0) if self.errors else None
        if err is not None:
            raise err
        return "done"

    def verify_connectivity(self):
        return None

    def close(self):
        return None


def test_a_write_whose_commit_went_unanswered_is_not_tried_again():
    """IncompleteCommit is a ServiceUnavailable the driver never retries (the commit may have landed): the quick
    looks at a lost server ran the write a second time, and a recorded interaction answered `written: false` for the
    request that wrote it."""
    from neo4j.exceptions import IncompleteCommit, TransientError

    from kgrec_neo4j.core.config import load_settings
    from kgrec_neo4j.core.db import Database
    from kgrec_neo4j.core.errors import Neo4jUnavailable

    settings = load_settings(environ={"NEO4J_PASSWORD": "x"})
    fake = _FakeDriver([IncompleteCommit("connection lost during commit")])
    with pytest.raises(Neo4jUnavailable, match="whether it was is unknown"):
        Database(fake, "neo4j", settings, retry_window_s=5).write_tx(lambda tx: None)
    assert fake.tries == 1
    # a transient error (a deadlock) is tried again, within the window, and every try passes the writer's guards
    fake = _FakeDriver([TransientError("deadlock"), TransientError("deadlock"), None])
    d = Database(fake, "neo4j", settings, retry_window_s=30)
    checks = []
    d.guards.append(lambda: checks.append(1))
    assert d.write_tx(lambda tx: None) == "done" and fake.tries == 3 and len(checks) == 3
    fake = _FakeDriver([TransientError("deadlock")] * 100)
    with pytest.raises(TransientError):  # past the window: the last transient error, as the driver raised it
        Database(fake, "neo4j", settings, retry_window_s=1).write_tx(lambda tx: None)


class _SlowDriver(_FakeDriver):
    """A fake driver whose tries take ``seconds`` each and whose quick look always finds the server."""

    def __init__(self, errors, seconds=0.0):
        super().__init__(errors)
        self.seconds = seconds

    def execute_read(self, fn):
        time.sleep(self.seconds)
        return self.execute_write(fn)


def test_the_window_runs_from_the_first_failure_and_a_failing_server_that_answers_is_not_tried_for_ever():
    """A review found two faults of the first quick-look loop: a server that answers the quick look while the work
    keeps failing was tried again at once, for ever (200,000 tries in 0.4 s); and the window ran from before the
    first try, so a try longer than the window got no retry."""
    from neo4j.exceptions import IncompleteCommit, ServiceUnavailable, TransientError

    from kgrec_neo4j.core.config import load_settings
    from kgrec_neo4j.core.db import Database
    from kgrec_neo4j.core.errors import Neo4jUnavailable

    settings = load_settings(environ={"NEO4J_PASSWORD": "x"})
    fake = _SlowDriver([ServiceUnavailable("routing failed")] * 10_000)
    t0 = time.monotonic()
    with pytest.raises(Neo4jUnavailable, match="stopped answering"):
        Database(fake, "neo4j", settings, retry_window_s=1.5).query("RETURN 1")
    assert fake.tries < 10 and time.monotonic() - t0 < 30  # (a bound against a hang, not a speed target)
    # a try of 1.2 s that fails once, with a window of 1 s: tried again, and it succeeds
    fake = _SlowDriver([TransientError("deadlock")], seconds=1.2)
    assert Database(fake, "neo4j", settings, retry_window_s=1.0).query("RETURN 1") == "done" and fake.tries == 2
    fake = _SlowDriver([ServiceUnavailable("restart")], seconds=1.2)
    assert Database(fake, "neo4j", settings, retry_window_s=1.0).query("RETURN 1") == "done" and fake.tries == 2
    # a read whose commit went unanswered is tried again (it changed nothing)
    fake = _SlowDriver([IncompleteCommit("lost")])
    assert Database(fake, "neo4j", settings, retry_window_s=5).query("RETURN 1") == "done" and fake.tries == 2
