"""The writer lease (kgrec_neo4j/core/lease.py): one writer at a time, readers never wait, a dead holder's lease is
taken over, a lost lease stops its holder's writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from kgrec_neo4j.cli import cli
from kgrec_neo4j.core.errors import LeaseHeld
from kgrec_neo4j.core.lease import LeaseLost, WriterLease, holder

REPO = Path(__file__).resolve().parent.parent
SLICE = REPO / "tests" / "data" / "vg-slice"


@pytest.fixture()
def free_lease(db):
    db.write("MATCH (l:WriterLease) DETACH DELETE l")
    yield db
    db.write("MATCH (l:WriterLease) DETACH DELETE l")


def test_second_writer_is_refused_naming_the_holder_and_readers_do_not_wait(free_lease, settings):
    db = free_lease
    with WriterLease(db, "kgrec train (test)"):
        who = holder(db)
        assert who is not None and who.owner == "kgrec train (test)" and who.pid == os.getpid()
        for args in (["load", "--silent", str(SLICE)], ["train", "--epochs", "1"], ["extract", "items"],
                     ["concepts", "project"], ["interests", "extract"], ["interactions", "classify"]):
            r = CliRunner().invoke(cli, args)
            assert r.exit_code == 3, (args, r.output, r.exception)
            assert "another command is writing to database" in r.output and "kgrec train (test)" in r.output
            assert f"pid {os.getpid()}" in r.output and "--wait-for-lease" in r.output
        # readers never take the lease
        t0 = time.monotonic()
        r = CliRunner().invoke(cli, ["interests", "show", "nobody"])
        assert r.exit_code == 1 and "lease" not in r.output and time.monotonic() - t0 < 30
        r = CliRunner().invoke(cli, ["doctor"])
        assert "writer lease" in r.output and "held by kgrec train (test)" in r.output
    assert holder(db) is None


def test_a_waiting_writer_gets_the_lease_when_the_holder_finishes(free_lease):
    db = free_lease
    lease = WriterLease(db, "first writer").acquire()
    threading.Timer(2.0, lease.release).start()
    t0 = time.monotonic()
    with WriterLease(db, "second writer", wait_s=60, poll_s=0.2):
        waited = time.monotonic() - t0
        assert holder(db).owner == "second writer"
    assert 1.5 <= waited < 30
    with pytest.raises(LeaseHeld):  # without waiting, a held lease is refused at once
        with WriterLease(db, "third writer"):
            with WriterLease(db, "fourth writer"):
                pass


def test_exactly_one_of_many_concurrent_takers_wins(free_lease, settings):
    from kgrec_neo4j.core.db import connect

    dbs = [connect(settings) for _ in range(6)]
    won, refused = [], []
    barrier = threading.Barrier(len(dbs))

    def take(k: int) -> None:
        barrier.wait()
        try:
            won.append(WriterLease(dbs[k], f"taker {k}").acquire())
        except LeaseHeld:
            refused.append(k)

    threads = [threading.Thread(target=take, args=(k,)) for k in range(len(dbs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert len(won) == 1 and len(refused) == len(dbs) - 1
        assert holder(free_lease).owner == won[0].owner
        assert free_lease.value("MATCH (l:WriterLease) RETURN count(l)") == 1
    finally:
        for lease in won:
            lease.release()
        for d in dbs:
            d.close()


def test_a_killed_holder_on_this_host_is_taken_over_at_once(free_lease):
    code = textwrap.dedent("""
        import time
        from kgrec_neo4j.core.config import load_settings
        from kgrec_neo4j.core.db import connect
        from kgrec_neo4j.core.lease import WriterLease
        WriterLease(connect(load_settings()), "doomed writer", ttl_s=600).acquire()
        print("held", flush=True)
        time.sleep(600)
    """)
    p = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "held"
        assert holder(free_lease).owner == "doomed writer"
        with pytest.raises(LeaseHeld, match="doomed writer"):
            WriterLease(free_lease, "impatient").acquire()
        p.send_signal(signal.SIGKILL)
        p.wait(30)
        t0 = time.monotonic()
        with WriterLease(free_lease, "successor"):  # the lease has 600 s left, but its process is gone
            assert holder(free_lease).owner == "successor"
        assert time.monotonic() - t0 < 10
    finally:
        if p.poll() is None:
            p.kill()


def test_a_silent_holder_on_another_host_expires(free_lease):
    other = WriterLease(free_lease, "writer elsewhere", ttl_s=3)
    other.host = "another-host"  # its process cannot be checked from here: only expiry frees it
    other.acquire()
    other._stop.set()  # the other host goes silent: no more heartbeats
    with pytest.raises(LeaseHeld, match="writer elsewhere"):
        WriterLease(free_lease, "me").acquire()
    with WriterLease(free_lease, "me", wait_s=30, poll_s=0.5):
        assert holder(free_lease).owner == "me"


def test_heartbeats_keep_a_long_writer_and_a_lost_lease_stops_writing(free_lease):
    db = free_lease
    lease = WriterLease(db, "long writer", ttl_s=2).acquire()
    try:
        time.sleep(5)  # longer than the ttl: only the heartbeats keep it
        with pytest.raises(LeaseHeld):
            WriterLease(db, "intruder").acquire()
        lease._stop.set()  # the holder pauses (no heartbeat) past its expiry ...
        time.sleep(3)
        with WriterLease(db, "next writer"):  # ... and the next writer takes it
            assert not lease.renew() and lease.lost
            with pytest.raises(LeaseLost, match="lost the writer lease"):
                db.write("CREATE (:LeaseProbe)")
        assert db.value("MATCH (n:LeaseProbe) RETURN count(n)") == 0
    finally:
        lease.release()
    db.write("CREATE (:LeaseProbe)")  # released: the connection writes again
    db.write("MATCH (n:LeaseProbe) DELETE n")


def test_emptying_the_database_keeps_the_lease(free_lease):
    """`kgrec demo --fresh` empties the database while holding the lease: the lease survives (and a lease node wiped
    by hand is taken again by the next heartbeat, not reported lost)."""
    from kgrec_neo4j.core.db import clear_database

    with WriterLease(free_lease, "kgrec demo") as lease:
        clear_database(free_lease)
        assert holder(free_lease).owner == "kgrec demo"
        free_lease.write("MATCH (l:WriterLease) DETACH DELETE l")
        assert lease.renew() and not lease.lost and holder(free_lease).owner == "kgrec demo"


def test_a_lease_is_not_given_back_for_minutes_when_the_server_is_gone(free_lease, monkeypatch, caplog):
    """The server stopped under a writing command: the command's own transaction failed after its retry window, and
    giving the lease back was then retried for as long again (a walkthrough waited 9 min, with a 120-line traceback).
    With the server unreachable the release now gives up at once, in one line; the lease expires by itself."""
    import logging

    from neo4j.exceptions import ServiceUnavailable

    lease = WriterLease(free_lease, "writer of a stopped server", ttl_s=30).acquire()
    calls = []

    def gone():
        raise ServiceUnavailable("Couldn't connect to 127.0.0.1:7688")

    monkeypatch.setattr(lease.db.driver, "verify_connectivity", gone)
    monkeypatch.setattr(lease.db, "execute", lambda *a, **k: calls.append(a))
    t0 = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="kgrec_neo4j.core.lease"):
        lease.release()
    assert time.monotonic() - t0 < 15 and not calls and not lease.held
    msgs = [r for r in caplog.records if "could not give the writer lease back" in r.getMessage()]
    assert len(msgs) == 1 and "not reachable" in msgs[0].getMessage() and msgs[0].exc_info is None


def test_an_expired_holder_is_described_as_expired():
    from kgrec_neo4j.core.lease import Holder

    h = Holder(owner="kgrec update", pid=7, host="h", held_s=600.0, heartbeat_ago_s=596.0, expires_in_s=-476.0)
    assert h.describe().endswith("expired 476 s ago: the next writer takes it)") and "-476" not in h.describe()
    assert Holder(owner="w", expires_in_s=30.0).describe().endswith("expires in 30 s without one)")


def test_doctor_with_a_wrong_password_names_the_password_not_a_server_start(settings):
    import dataclasses

    from kgrec_neo4j.local.doctor import run_checks

    bad = dataclasses.replace(settings, neo4j_password="not-the-password-1")
    neo = {c.name: c for c in run_checks(bad)}["neo4j"]
    assert not neo.ok and "NEO4J_PASSWORD" in neo.fix and "db start" not in neo.fix, neo
