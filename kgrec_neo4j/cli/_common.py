"""Helpers shared by the CLI modules: settings from flags, opening the database, errors, progress."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ..core.config import Settings
from ..core.errors import KgrecError, RecordsFailed
from ..core.words import plural  # noqa: F401  (the commands import it from here)

if TYPE_CHECKING:  # pragma: no cover
    from ..core.db import Database


def pass_settings(fn: Callable) -> Callable:
    """Decorator: inject the :class:`Settings` built by the root group as the first argument."""

    @click.pass_context
    @functools.wraps(fn)
    def wrapper(ctx: click.Context, *args, **kwargs):
        return ctx.invoke(fn, ctx.obj["settings"], *args, **kwargs)

    return wrapper


def open_db(settings: Settings, *, wait_s: float = 0.0, writer: str | None = None) -> Database:
    """Connect, turning an unreachable server into a clear error (raised, shown by :func:`main`).

    ``writer`` (the command, e.g. ``"kgrec train"``): the command writes derived state, so it takes the database's
    writer lease (:mod:`kgrec_neo4j.core.lease`) before it returns, and closing the database gives it back.
    Readers pass nothing and never wait for a writer.
    """
    from ..core.db import connect

    db = connect(settings, wait_s=wait_s)
    if writer is not None:
        try:
            take_lease(db, settings, writer)
        except BaseException:
            db.close()
            raise
    return db


def take_lease(db: Database, settings: Settings, writer: str) -> None:
    """Take the database's writer lease for the command ``writer`` (waiting ``settings.lease_wait_s`` for it);
    closing ``db`` gives it back. For a command that takes it only once it knows it has work (``kgrec update``)."""
    from ..core.lease import WriterLease

    lease = WriterLease(db, writer, ttl_s=settings.lease_ttl_s, wait_s=settings.lease_wait_s).acquire()
    db.on_close.append(lease.release)


def echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, default=str, ensure_ascii=False))


def echo_table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> None:
    """Print rows as an aligned text table."""
    if not rows:
        click.echo("(no rows)")
        return
    cols = columns or list(rows[0])
    cells = [[_fmt(r.get(c), c) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    click.echo("  ".join("-" * w for w in widths))
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)))


def item_title(title: str | None, item: str) -> str:
    """An item's title as the CLI prints it: ``(untitled <item id>)`` for an item without one (or a blank one)."""
    return title if title and title.strip() else f"(untitled {item})"


def with_titles(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with an ``item`` and a ``title``, the title as :func:`item_title` prints it (for :func:`echo_table`)."""
    return [{**r, "title": item_title(r.get("title"), r["item"])} for r in rows]


def _fmt(v: Any, column: str = "") -> str:
    """A cell: a float with 4 decimals (a metric, a weight), one of seconds (a ``seconds`` or ``..._s`` column) with
    1 (``kgrec runs list`` printed ``train_s`` as ``123.4000``)."""
    if isinstance(v, float):
        return f"{v:.1f}" if column == "seconds" or column.endswith("_s") else f"{v:.4f}"
    return "" if v is None else str(v)


silent_option = click.option("--silent", is_flag=True, help="No progress bars.")
batch_size_option = click.option("--batch-size", type=click.IntRange(1), default=None, help="Rows per write transaction.")
min_confidence_option = click.option(
    "--min-confidence", type=click.FloatRange(0, 1), default=None,
    help="Only edges with at least this confidence are read by this stage.",
)

allow_failures_option = click.option(
    "--allow-failures", is_flag=True,
    help="Exit 0 when the run finished but some records failed (they are still named and counted); without it "
         "such a run exits 4.")


def end_with_failures(failed: int, message: str, *, allow: bool) -> None:
    """The end of a command that finished with ``failed`` records failed (nothing when none did), after its summary:
    ``message`` (how many failed, where their reasons are, that the rest was written, how to retry them) is the last
    line, on stderr, and the exit code is 4 (:class:`RecordsFailed`: ``Error: <message>``), or 0 with
    ``--allow-failures`` (``allow``)."""
    if failed <= 0:
        return
    if allow:
        click.echo(f"{message} (exit code 0: --allow-failures)", err=True)
        return
    raise RecordsFailed(f"{message}, or pass --allow-failures to accept them (exit code 0)")


class KgrecCommandError(click.ClickException):
    """A :class:`KgrecError` shown as ``Error: <message>`` with the error's exit code."""

    def __init__(self, err: KgrecError):
        super().__init__(str(err))
        # click declares exit_code a ClassVar, but its main() reads it from the instance: set per error
        self.exit_code = err.exit_code  # type: ignore[misc]


def warn_unserved_model(settings: Settings) -> None:
    """Say so when KGREC_LLM_MODEL is not among the models the endpoint lists (``GET /models``): a server that ignores
    the name (llama.cpp) answered with its own model, and the answers were cached and the items marked done under the
    wrong name, without a word (only `kgrec doctor` said it). An endpoint that does not list its models, or does not
    answer (the run itself says so), is not warned about."""
    if not (settings.llm_base_url and settings.llm_model):
        return
    from ..core.errors import LLMError
    from ..llm.endpoint import list_models

    try:
        models = list_models(settings.llm_base_url, settings.llm_api_key, timeout_s=5.0)
    except LLMError:
        return
    if models and settings.llm_model not in models:
        click.echo(f"warning: KGREC_LLM_MODEL is {settings.llm_model!r}, which the endpoint does not serve (it serves "
                   f"{', '.join(map(repr, models[:5]))}); a server that ignores the name answers with its own model, "
                   f"and its answers are cached and its items marked done under {settings.llm_model!r}", err=True)


class KgrecGroup(click.Group):
    """A click group that turns library errors into clean CLI errors (no traceback)."""

    def invoke(self, ctx: click.Context):
        from neo4j.exceptions import ServiceUnavailable, SessionExpired, TransientError

        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # click printed a bare "Aborted!" and exited 1
            click.echo("\ninterrupted: what was written before it is kept (`kgrec status` shows where the graph "
                       "stands); run the command again to go on", err=True)
            ctx.exit(130)
        except KgrecError as e:
            raise KgrecCommandError(e) from e
        except (ServiceUnavailable, SessionExpired) as e:
            raise KgrecCommandError(_lost_neo4j(ctx, e)) from e
        except TransientError as e:
            if e.code != MEMORY_POOL_FULL:
                raise
            raise KgrecCommandError(_out_of_memory(e)) from e


#: the server's error for a transaction past its memory limit (transient: it is retried for the retry window first)
MEMORY_POOL_FULL = "Neo.TransientError.General.MemoryPoolOutOfMemoryError"


def _out_of_memory(exc: Exception) -> KgrecError:
    """The error for a query that needs more transaction memory than the server allows, after the retries of db.py
    (it was a traceback), with the fix."""
    from ..core.db import RETRY_WINDOW_S

    why = getattr(exc, "message", None) or str(exc)
    return KgrecError(
        f"Neo4j refused a query of this command: it needs more transaction memory than the server allows ({why}; "
        f"retried for {RETRY_WINDOW_S:.0f} s). Committed batches are kept. Give the server more memory and rerun the "
        f"same command: the local server with `kgrec db stop` then `KGREC_NEO4J_HEAP=4g kgrec db start` (its "
        f"transaction limit is 70% of the heap), another server by raising dbms.memory.transaction.total.max "
        f"(and dbms.memory.transaction.max)")


def _lost_neo4j(ctx: click.Context, exc: Exception) -> KgrecError:
    """The error for Neo4j going away in the middle of a command (after the retry window of db.py ran out)."""
    from ..core.db import RETRY_WINDOW_S
    from ..core.errors import Neo4jUnavailable

    settings = (ctx.obj or {}).get("settings") if isinstance(ctx.obj, dict) else None
    where = f" at {settings.neo4j_uri}" if settings is not None else ""
    return Neo4jUnavailable(
        f"Neo4j{where} became unreachable during the run ({type(exc).__name__}; transactions are retried for "
        f"up to {RETRY_WINDOW_S:.0f} s); committed batches are kept: start the server (`kgrec db start`) and "
        f"rerun the same command")


def setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
