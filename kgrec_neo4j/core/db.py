"""Neo4j access: one driver, parameterised queries, batched idempotent writes.

Reads and writes run in managed transactions (``session.execute_read`` / ``execute_write``), tried again within
the connection's retry window (``RETRY_WINDOW_S`` by default: a server restart under load keeps Bolt away for
40-110 s; see docs/reliability.md): after a transient error (leader switch, deadlock) with growing pauses, after a
lost server as soon as a quick look finds it back (:meth:`Database._run`); a batch either lands whole or not at
all. Every write query is an ``UNWIND $rows AS row ... MERGE`` over one batch.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING, Any, TypeVar

from .config import Settings, neo4j_address
from .errors import CredentialsRefused, KgrecError, Neo4jSettingError, Neo4jUnavailable

if TYPE_CHECKING:  # pragma: no cover
    import neo4j

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_WINDOW_S = 180.0  # max_transaction_retry_time: how long a transaction is retried on transient errors

#: Driver settings of every connection the project opens (its own driver, the GDS client on it, the
#: langchain-neo4j graph): the server sends no notifications (e.g. UnknownPropertyKeyWarning for a property
#: no node has yet), so none reach the console through the driver's ``neo4j.notifications`` logger.
NOTIFICATIONS: dict[str, Any] = {"notifications_min_severity": "OFF"}


def _graphy(v: Any) -> bool:
    """True when ``v`` is (or holds, at its first level) a node, relationship or path."""
    from neo4j.graph import Entity, Path

    if isinstance(v, Entity | Path):
        return True
    if isinstance(v, list) and v:
        return _graphy(v[0])
    if isinstance(v, dict):
        return any(isinstance(x, Entity | Path | list | dict) and _graphy(x) for x in v.values())
    return False


def _as_dict(record: Any) -> dict[str, Any]:
    """``record.data()``, without its per-value conversion when no value is a graph object (``data()`` walks every
    element of every list: 20x slower on records of long vectors)."""
    values = record.values()
    if any(_graphy(v) for v in values):
        return dict(record.data())
    return dict(zip(record.keys(), values, strict=True))


def batched(rows: Iterable[T], n: int) -> Iterator[list[T]]:
    """Yield lists of at most ``n`` rows."""
    if n < 1:
        raise ValueError(f"batch size must be >= 1 (got {n})")
    it = iter(rows)
    while chunk := list(islice(it, n)):
        yield chunk


#: the server's answer to a login while the user's logins are locked after failed ones
#: (dbms.security.auth_max_failed_attempts, dbms.security.auth_lock_time)
AUTH_RATE_LIMIT = "Neo.ClientError.Security.AuthenticationRateLimit"


def _unavailable(settings: Settings, exc: Exception) -> Neo4jUnavailable:
    from neo4j.exceptions import AuthError

    if isinstance(exc, AuthError):
        return CredentialsRefused(
            f"Neo4j at {settings.neo4j_uri} refused the credentials of user {settings.neo4j_username!r}: "
            f"set NEO4J_PASSWORD to the password the database was created with."
        )
    if getattr(exc, "code", None) == AUTH_RATE_LIMIT:
        return CredentialsRefused(
            f"Neo4j at {settings.neo4j_uri} refuses logins of user {settings.neo4j_username!r} for a few seconds "
            f"after too many failed ones: a client with a wrong NEO4J_PASSWORD (a `kgrec serve`, a scheduled job) "
            f"may still be trying. Stop it or set its password right, then run this again."
        )
    why = type(exc).__name__ + (f": {exc}" if isinstance(exc, ValueError) else "")  # ValueError: an unknown host
    return Neo4jUnavailable(
        f"Neo4j is not reachable at {settings.neo4j_uri} ({why}). "
        f"Start the local server with `kgrec db start`, or point NEO4J_URI at a running one."
    )


def _lost(settings: Settings, exc: Exception, waited_s: float) -> Neo4jUnavailable:
    """The error for a server that stopped answering in the middle of the work."""
    return Neo4jUnavailable(
        f"Neo4j at {settings.neo4j_uri} stopped answering ({type(exc).__name__}; waited {waited_s:.0f} s for it); "
        f"what was committed before is kept: start the server (`kgrec db start` for the local one) and run the "
        f"same work again")


class Database:
    """A driver bound to one database. Use as a context manager or call :meth:`close`."""

    def __init__(self, driver: neo4j.Driver, database: str, settings: Settings, *,
                 retry_window_s: float = RETRY_WINDOW_S):
        self.driver = driver
        self.database = database
        self.settings = settings
        #: how long a transaction is retried, and a server that stopped answering waited for (see :meth:`_run`)
        self.retry_window_s = retry_window_s
        self.closed = False
        #: called before every write transaction; one raises to stop writing (the writer lease's check)
        self.guards: list[Callable[[], None]] = []
        #: called by :meth:`close` before the driver closes (giving the writer lease back)
        self.on_close: list[Callable[[], None]] = []

    def _guard(self) -> None:
        for check in list(self.guards):
            check()

    def reachable(self) -> bool:
        """One quick look whether the server answers (no transaction, so no retry window): a write after a failure
        that may be the server's own (stopped, gone) is tried only when it does, instead of being retried for
        minutes."""
        try:
            self.driver.verify_connectivity()
        except Exception:  # noqa: BLE001 - unreachable, stopped, refused: all mean "do not write now"
            return False
        return True

    def _run(self, work: Callable[[neo4j.Session], T], *, write: bool = False) -> T:
        """``work(session)`` (one ``execute_read`` / ``execute_write``), tried again within the retry window from its
        first failure, with growing pauses: after a transient error (a deadlock, a leader switch) as the driver does,
        and after a lost server once a quick look (once a second) finds it back. Past the window:
        :class:`Neo4jUnavailable` for a lost server (the driver's own pauses grew past the window: a request waited
        263 s for a 180 s window, then got a bare ``ServiceUnavailable``), the last transient error otherwise. A write
        is checked by :attr:`guards` before each try; one whose commit went unanswered is never tried again (it may
        have been committed)."""
        from neo4j.exceptions import IncompleteCommit, ServiceUnavailable, SessionExpired, TransientError

        if self.closed:  # (the driver warned and went on)
            raise KgrecError("this connection is closed (Database.close, or the end of its `with` block): open "
                             "another with connect()")
        first: float | None = None  # when the first try failed: the window runs from there
        pause = 0.5
        while True:
            if write:
                self._guard()
            try:  # one try per session: the driver would retry a lost server with pauses past the window
                with self.driver.session(database=self.database, max_transaction_retry_time=-1.0) as s:  # (0: two)
                    return work(s)
            except IncompleteCommit as e:
                if write:
                    raise Neo4jUnavailable(
                        f"Neo4j at {self.settings.neo4j_uri} stopped answering while a write was committed ({e}): "
                        f"whether it was is unknown, so it was not tried again; start the server if it is down and "
                        f"run the same work again (what was committed is recognised)") from None
                lost: Exception | None = e  # (a read is tried again like any other)
            except (ServiceUnavailable, SessionExpired) as e:
                lost = e
            except TransientError:
                lost = None
                now = time.monotonic()
                first = now if first is None else first
                if now + pause > first + self.retry_window_s:
                    raise
            now = time.monotonic()
            first = now if first is None else first
            if lost is not None:
                while not self.reachable():  # the server is waited for by a quick look every second
                    if time.monotonic() >= first + self.retry_window_s:
                        raise _lost(self.settings, lost, time.monotonic() - first) from None
                    time.sleep(1.0)
                if time.monotonic() + pause > first + self.retry_window_s:  # it answers, and the work still fails
                    raise _lost(self.settings, lost, time.monotonic() - first) from None
            time.sleep(pause * random.uniform(0.8, 1.2))
            pause = min(2 * pause, 8.0)

    # -- reads -------------------------------------------------------------------------------
    def query(self, cypher: str, **params: Any) -> list[dict[str, Any]]:
        """Run a read query and return its records as dicts (nodes, relationships and paths as ``Record.data()``
        gives them)."""
        return self._run(lambda s: s.execute_read(lambda tx: [_as_dict(r) for r in tx.run(cypher, params)]))

    def value(self, cypher: str, **params: Any) -> Any:
        """First column of the first record, or ``None``."""
        rows = self.query(cypher, **params)
        return next(iter(rows[0].values())) if rows else None

    # -- writes ------------------------------------------------------------------------------
    def write(self, cypher: str, *, tx_metadata: dict[str, Any] | None = None, **params: Any) -> dict[str, int]:
        """Run one write query in a retried transaction; return its update counters. ``tx_metadata``: the
        transaction's metadata (the database's triggers read it as ``$metaData``)."""
        def work(tx: neo4j.ManagedTransaction) -> Any:
            res = tx.run(cypher, params)
            return res.consume().counters

        if tx_metadata:
            from neo4j import unit_of_work

            work = unit_of_work(metadata=tx_metadata)(work)
        c = self._run(lambda s: s.execute_write(work), write=True)
        return {k: getattr(c, k) for k in ("nodes_created", "nodes_deleted", "relationships_created",
                                            "relationships_deleted", "properties_set")}

    def write_tx(self, fn: Callable[[neo4j.ManagedTransaction], T]) -> T:
        """Run ``fn(tx)`` in one retried write transaction (all or nothing)."""
        return self._run(lambda s: s.execute_write(fn), write=True)

    def write_batches(
        self,
        cypher: str,
        rows: Iterable[dict[str, Any]],
        *,
        batch_size: int | None = None,
        params: dict[str, Any] | None = None,
        on_batch: Callable[[int], None] | None = None,
        count: str | None = None,
    ) -> int:
        """Run ``cypher`` (which reads ``$rows``) once per batch; return the number of rows written, or with
        ``count`` the sum of that column of the one record the query returns per batch (what it says it wrote).

        ``on_batch(n)`` is called after each committed batch (for progress bars).
        """
        n = 0
        extra = params or {}

        def write_rows(tx: neo4j.ManagedTransaction, chunk: list[dict[str, Any]]) -> int:
            result = tx.run(cypher, {**extra, "rows": chunk})
            if count is None:
                result.consume()
                return len(chunk)
            return int(result.single(strict=True)[count])

        for chunk in batched(rows, batch_size or self.settings.batch_size):
            n += self.write_tx(partial(write_rows, chunk=chunk))
            if on_batch:
                on_batch(len(chunk))
        return n

    def execute(self, cypher: str, **params: Any) -> list[dict[str, Any]]:
        """Run one write query in a retried transaction and return its records as dicts."""
        return self.write_tx(lambda tx: [r.data() for r in tx.run(cypher, params)])

    def close(self) -> None:
        try:
            while self.on_close:
                self.on_close.pop()()
        finally:
            self.closed = True
            self.driver.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def langchain_graph(db: Database, *, timeout_s: float | None = None) -> Any:
    """A ``langchain_neo4j.Neo4jGraph`` on the database of ``db`` (same URI, user, password and database, the
    driver settings of every connection the project opens), for code that queries Neo4j the way LangChain
    applications do (``graph.query(cypher, params)``). Its schema is not read (``refresh_schema=False``: nothing
    here generates Cypher from it). The caller closes it."""
    from langchain_neo4j import Neo4jGraph

    s = db.settings
    return Neo4jGraph(url=s.neo4j_uri, username=s.neo4j_username, password=s.require_password(), database=db.database,
                      timeout=timeout_s, refresh_schema=False, driver_config=dict(NOTIFICATIONS))


def clear_database(db: Database) -> None:
    """Delete all data (not the schema, not the writer lease) in batches small enough for any transaction memory
    limit."""
    while db.write("MATCH ()-[r]->() WITH r LIMIT 50000 DELETE r")["relationships_deleted"]:
        pass
    # the knowledge types last: the type trigger refuses to delete a type while mentions or concepts have it
    while db.write("MATCH (n) WHERE NOT n:WriterLease AND NOT n:KnowledgeType WITH n LIMIT 50000 DELETE n")[
            "nodes_deleted"]:
        pass
    db.write("MATCH (k:KnowledgeType) DELETE k")


def _check_database(driver: neo4j.Driver, settings: Settings) -> None:
    """Raise :class:`Neo4jUnavailable` naming the databases there are when ``settings.neo4j_database`` is not one."""
    from neo4j.exceptions import ClientError, Neo4jError

    name = settings.neo4j_database
    try:
        driver.execute_query("RETURN 1", database_=name)
    except ClientError as e:
        if e.code != "Neo.ClientError.Database.DatabaseNotFound":
            raise
        try:
            rows = driver.execute_query("SHOW DATABASES YIELD name WHERE name <> 'system' RETURN name",
                                        database_="system").records
            known = ", ".join(repr(r["name"]) for r in rows) or "none"
        except Neo4jError:  # no privilege to list them
            known = "not listed: no privilege"
        raise Neo4jUnavailable(
            f"Neo4j at {settings.neo4j_uri} has no database {name!r} (databases there: {known}); set "
            f"NEO4J_DATABASE to one of them (Community edition has one: 'neo4j')") from None


def connect(settings: Settings, *, wait_s: float = 0.0, retry_window_s: float = RETRY_WINDOW_S) -> Database:
    """Open a verified connection, or raise :class:`Neo4jUnavailable` / :class:`Neo4jSettingError` saying how to
    fix it (a malformed URI, a missing password, an unreachable server, refused credentials, an unknown database).

    ``wait_s`` > 0 retries connectivity for that long (used right after a server start). ``retry_window_s`` is how
    long a transaction is retried on transient errors (a service answering requests keeps it short and says 503).
    """
    import neo4j
    from neo4j.exceptions import AuthError, ClientError, ConfigurationError, ServiceUnavailable, SessionExpired

    password = settings.require_password()
    neo4j_address(settings.neo4j_uri)
    try:
        driver = neo4j.GraphDatabase.driver(
            settings.neo4j_uri,
            auth=(settings.neo4j_username, password),
            max_transaction_retry_time=retry_window_s,
            connection_acquisition_timeout=60.0,
            **NOTIFICATIONS,
        )
    except (ConfigurationError, ValueError) as e:
        raise Neo4jSettingError(f"NEO4J_URI {settings.neo4j_uri!r} is not usable: {e}") from None
    deadline = time.monotonic() + wait_s
    while True:
        try:
            driver.verify_connectivity()
            driver.verify_authentication()
            break
        except ClientError as e:  # refused credentials (AuthError), or logins locked after failed ones
            driver.close()
            if isinstance(e, AuthError) or e.code == AUTH_RATE_LIMIT:
                raise _unavailable(settings, e) from None
            raise
        except (ServiceUnavailable, SessionExpired, OSError, ValueError) as e:  # ValueError: an unresolvable address
            if time.monotonic() >= deadline:
                driver.close()
                raise _unavailable(settings, e) from None
            time.sleep(0.5)
    try:
        _check_database(driver, settings)
    except BaseException:
        driver.close()
        raise
    return Database(driver, settings.neo4j_database, settings, retry_window_s=retry_window_s)

