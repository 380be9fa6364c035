"""The writer lease: one command at a time writes derived state into a database.

Every command that writes derived state (``load``, ``extract``, ``concepts``, ``interactions classify``,
``interests``, ``train``, ``update``, ``demo``) takes the lease first; readers (``recommend``, ``explain``,
``report``, ``serve``) never do. The lease is one node in the database it guards::

    (:WriterLease {name: 'writer', token, owner, host, pid, pid_started, acquired, heartbeat, expires})

``owner`` is the command (``kgrec train``), ``host`` / ``pid`` / ``pid_started`` the process, the times are the
server's clock in ms (``timestamp()``), so the clocks of the hosts never matter. Taking it is one write
transaction that locks the node before reading it (``cypher/lease/acquire.cypher``; the uniqueness constraint
``writer_lease_name`` makes the first ``MERGE`` safe too), so two takers are serialised and exactly one wins.

- **Held**: a second writer waits up to ``wait_s`` (``KGREC_LEASE_WAIT``, ``--wait-for-lease``) for it, then is
  refused with :class:`~kgrec_neo4j.core.errors.LeaseHeld` naming the holder (exit code 3).
- **Heartbeat**: a daemon thread moves ``expires`` to ``ttl_s`` (``KGREC_LEASE_TTL``, default 120 s) past now
  every ``ttl_s / 6``. Neo4j being away for a while is survived: a heartbeat after the expiry still renews the
  lease when nobody took it meanwhile.
- **Dead holder**: a holder on this host whose process is gone (or whose pid now belongs to a later process) is
  taken over at once; a holder on another host that stopped beating is taken over when its lease expires.
- **Lost**: when the heartbeat finds the lease taken by another writer (it expired during a long pause), the
  next write of the holder's :class:`~kgrec_neo4j.core.db.Database` raises :class:`LeaseLost` instead of
  writing: committed batches stay, the command stops, its rerun continues.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from .errors import KgrecError, LeaseHeld
from .resources import cypher

if TYPE_CHECKING:  # pragma: no cover
    from .db import Database

log = logging.getLogger(__name__)

LEASE = "writer"


class LeaseLost(KgrecError):
    """The writer lease expired and another writer took it: this command stops writing."""

    exit_code = 3


# ------------------------------------------------------------------------------------------ processes
def process_started(pid: int) -> float | None:
    """Start time (epoch seconds, this host's clock) of process ``pid``; ``None`` when there is none, NaN when it
    exists but its start time cannot be read."""
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc.create_time()
    except psutil.NoSuchProcess:
        return None
    except psutil.AccessDenied:  # it exists; its start time is unknown
        return float("nan")


def process_alive(pid: int, started: float | None) -> bool:
    """Whether the process ``pid`` that started at ``started`` still runs (a reused pid does not count)."""
    now_started = process_started(pid)
    if now_started is None:
        return False
    if started is None or now_started != now_started:  # no recorded start time, or it cannot be read: assume alive
        return True
    return abs(now_started - started) < 1.0


# ------------------------------------------------------------------------------------------ the lease
class Holder(BaseModel):
    """Who holds the lease (times in seconds, from the server's clock)."""

    token: str | None = None
    owner: str | None = None
    host: str | None = None
    pid: int | None = None
    pid_started: float | None = None
    held_s: float | None = None
    heartbeat_ago_s: float | None = None
    expires_in_s: float | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Holder:
        def s(ms: Any) -> float | None:
            return None if ms is None else round(float(ms) / 1000.0, 1)

        return cls(token=row.get("token"), owner=row.get("owner"), host=row.get("host"), pid=row.get("pid"),
                   pid_started=row.get("pid_started"), held_s=s(row.get("held_ms")),
                   heartbeat_ago_s=s(row.get("heartbeat_ago_ms")), expires_in_s=s(row.get("expires_in_ms")))

    def describe(self) -> str:
        def s(v: float | None) -> str:
            return "?" if v is None else f"{v:.0f}"

        left = self.expires_in_s
        ends = (f"expired {-left:.0f} s ago: the next writer takes it" if left is not None and left < 0 else
                f"expires in {s(left)} s without one")
        return (f"{self.owner or 'a writer'} (pid {self.pid} on host {self.host}, holding it for {s(self.held_s)} s, "
                f"last heartbeat {s(self.heartbeat_ago_s)} s ago, {ends})")

    def dead_here(self, host: str) -> bool:
        """Held by a process of ``host`` that is gone."""
        return self.host == host and self.pid is not None and not process_alive(int(self.pid), self.pid_started)


def holder(db: Database, name: str = LEASE) -> Holder | None:
    """The current holder of the lease, or ``None`` when nobody holds it."""
    rows = db.query(cypher("lease/holder"), name=name)
    if not rows or rows[0].get("token") is None:
        return None
    return Holder.from_row(rows[0])


def _ensure_constraint(db: Database) -> None:
    """The uniqueness constraint on ``WriterLease.name`` (``schema/constraints.cypher``), created when missing; a
    concurrent creation by another command is fine."""
    from neo4j.exceptions import ClientError

    from .schema import schema_statements

    if db.value("SHOW CONSTRAINTS YIELD name WHERE name = 'writer_lease_name' RETURN count(*)"):
        return
    stmt = next(s for _, s in schema_statements() if "WriterLease" in s)
    try:
        db.write(stmt)
    except ClientError as e:  # another taker created it (or an equivalent one) in the meantime
        if "AlreadyExists" not in (e.code or ""):
            raise


class WriterLease:
    """Hold the writer lease of ``db`` while a command writes; use as a context manager.

    Args:
        db: the database to guard; its writes check the lease (:meth:`check`) while it is held.
        owner: what holds it, as a person reads it (``kgrec train``).
        ttl_s: how long the lease outlives the last heartbeat.
        wait_s: how long :meth:`acquire` waits for a held lease before it raises :class:`LeaseHeld`.
        poll_s: how often a waiting taker asks again.
    """

    def __init__(self, db: Database, owner: str, *, ttl_s: float = 120.0, wait_s: float = 0.0,
                 poll_s: float = 1.0, name: str = LEASE) -> None:
        if ttl_s <= 0:
            raise ValueError(f"ttl_s must be > 0 (got {ttl_s})")
        self.db = db
        self.owner = owner
        self.name = name
        self.ttl_s = float(ttl_s)
        self.wait_s = max(0.0, float(wait_s))
        self.poll_s = poll_s
        self.token = secrets.token_hex(8)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self._started = process_started(self.pid)
        self.held = False
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- taking and giving back ---------------------------------------------------------------------
    def _try(self, dead: str | None) -> tuple[bool, Holder]:
        rows = self.db.execute(cypher("lease/acquire"), name=self.name, token=self.token, dead=dead,
                               owner=self.owner, host=self.host, pid=self.pid, pid_started=self._started,
                               ttl_ms=int(self.ttl_s * 1000))
        return bool(rows[0]["acquired"]), Holder.from_row(rows[0])

    def acquire(self) -> WriterLease:
        """Take the lease (waiting up to ``wait_s``) and start the heartbeat.

        Raises:
            LeaseHeld: another writer holds it; the message names the holder and what to do.
        """
        _ensure_constraint(self.db)
        deadline = time.monotonic() + self.wait_s
        dead: str | None = None
        waited = False
        while True:
            ok, who = self._try(dead)
            if ok:
                break
            if who.dead_here(self.host):
                log.warning("taking over the writer lease of %s: its process %s is gone", who.owner, who.pid)
                dead = who.token
                continue
            if time.monotonic() >= deadline:
                raise LeaseHeld(
                    f"another command is writing to database {self.db.database!r}: {who.describe()}. "
                    f"Wait for it to finish and rerun, or rerun with --wait-for-lease SECONDS (KGREC_LEASE_WAIT) "
                    f"to wait for it. A holder that died on another host is taken over when its lease expires.")
            if not waited:
                log.warning("waiting up to %.0f s for the writer lease held by %s", self.wait_s, who.describe())
                waited = True
            time.sleep(min(self.poll_s, max(0.0, deadline - time.monotonic())) or 0.01)
        self.held, self.lost = True, False
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{self.name}", daemon=True)
        self._thread.start()
        self.db.guards.append(self.check)
        log.info("took the writer lease %r as %s (token %s)", self.name, self.owner, self.token)
        return self

    def release(self) -> None:
        """Stop the heartbeat and give the lease back (if it is still ours). Safe to call twice."""
        if not self.held:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.held = False
        if self.check in self.db.guards:
            self.db.guards.remove(self.check)
        if not self.db.reachable():  # with the server gone, the write below would be retried for minutes
            log.warning("could not give the writer lease back (Neo4j is not reachable); it expires in %.0f s",
                        self.ttl_s)
            return
        try:
            self.db.execute(cypher("lease/release"), name=self.name, token=self.token)
        except Exception as e:  # noqa: BLE001 - the database may be what failed; the lease then expires by itself
            log.warning("could not give the writer lease back (%s); it expires in %.0f s", type(e).__name__,
                        self.ttl_s)
            log.debug("the lease release failed", exc_info=True)

    # -- while held ----------------------------------------------------------------------------------
    def renew(self) -> bool:
        """One heartbeat; False when the lease was taken over by another writer (then :attr:`lost` is set)."""
        rows = self.db.execute(cypher("lease/renew"), name=self.name, token=self.token, owner=self.owner,
                               host=self.host, pid=self.pid, pid_started=self._started,
                               ttl_ms=int(self.ttl_s * 1000))
        if not rows or not rows[0]["renewed"]:
            self.lost = True
            log.error("the writer lease %r was taken over by another writer (it expired): %s stops writing",
                      self.name, self.owner)
            return False
        return True

    def _beat(self) -> None:
        every = max(0.2, self.ttl_s / 6)
        while not self._stop.wait(every):
            try:
                if not self.renew():
                    return
            except Exception as e:  # noqa: BLE001 - Neo4j away: keep trying, a later heartbeat renews
                log.warning("writer lease heartbeat failed (%s); retrying in %.0f s", type(e).__name__, every)

    def check(self) -> None:
        """Raise :class:`LeaseLost` when the lease was taken over (called before each write of :attr:`db`)."""
        if self.lost:
            raise LeaseLost(
                f"{self.owner} lost the writer lease of database {self.db.database!r}: it expired (no heartbeat "
                f"for {self.ttl_s:.0f} s, e.g. a long pause or outage) and another writer took it. Committed "
                f"batches are kept; rerun the command when the other writer is done.")

    def __enter__(self) -> WriterLease:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
