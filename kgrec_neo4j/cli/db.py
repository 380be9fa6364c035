"""``kgrec db``, ``kgrec schema`` and ``kgrec doctor``."""

from __future__ import annotations

from pathlib import Path

import click

from ..core.config import Settings, neo4j_address
from ._common import echo_json, open_db, pass_settings, plural


def _server_home(settings: Settings) -> Path:
    return settings.home_path / "neo4j"


def _ports(settings: Settings) -> tuple[str, int]:
    _, host, port = neo4j_address(settings.neo4j_uri)
    return host, port


@click.group()
def db():
    """Run the local Neo4j 5.26 Community server (with GDS and APOC) built from Maven Central.

    \b
    Example:
      export NEO4J_PASSWORD='<choose one>'
      kgrec db start        # first run resolves the jars with Maven (a few minutes)
      kgrec db status
      kgrec db stop
    """


@db.command("install")
@pass_settings
def db_install(settings: Settings):
    """Resolve the Neo4j, GDS and APOC jars with Maven into <home>/neo4j (once; idempotent).

    \b
    Example:
      kgrec db install
    """
    from ..local import neo4j_server as server

    server.ensure_installed(_server_home(settings), progress=lambda msg: click.echo(msg, err=True))
    click.echo(f"installed in {_server_home(settings)}")


@db.command("start")
@click.option("--http-port", type=click.IntRange(1, 65535), default=None, envvar="KGREC_DB_HTTP_PORT",
              show_envvar=True,
              help="HTTP (Browser) port of a new start  [default: 7474] (the Bolt port is NEO4J_URI's; the variable "
                   "serves tools/demo.sh too). A running server keeps its port: asking for another one is refused "
                   "(stop it first).")
@click.option("--timeout", "timeout_s", type=float, default=300, show_default=True,
              help="Seconds to wait until GDS answers.")
@pass_settings
def db_start(settings: Settings, http_port: int | None, timeout_s: float):
    """Install (once) and start the local server; wait until `RETURN gds.version()` answers.

    The password comes from NEO4J_PASSWORD and is set on the first start. Bolt and HTTP listen on
    127.0.0.1 only; data lives in <home>/neo4j. Prints the Bolt URI and the Neo4j Browser URL
    (http://127.0.0.1:<http-port>/browser/).

    \b
    Example:
      kgrec db start --http-port 7475
    """
    from ..local import neo4j_server as server

    home = _server_home(settings)
    password = settings.require_password()
    host, port = _ports(settings)
    if host not in ("127.0.0.1", "localhost"):
        raise click.ClickException(f"NEO4J_URI points at {host}; `kgrec db start` only runs a local server on 127.0.0.1")
    server.check_password(password)  # before the install: a short one was refused after 180 MB were assembled
    server.ensure_installed(home, progress=lambda msg: click.echo(msg, err=True))
    info = server.start(home, bolt_port=port, http_port=http_port, password=password,
                        username=settings.neo4j_username, heap=settings.neo4j_heap,
                        pagecache=settings.neo4j_pagecache, timeout_s=timeout_s)
    click.echo(info.uri)
    if info.browser_url:
        click.echo(f"Browser: {info.browser_url}  (user {settings.neo4j_username}, the password of NEO4J_PASSWORD; "
                   f"queries to paste: cypher/browser/)")


@db.command("stop")
@pass_settings
def db_stop(settings: Settings):
    """Stop the local server (graceful, then forced after a timeout).

    \b
    Example:
      kgrec db stop
    """
    from ..local import neo4j_server as server

    click.echo("stopped" if server.stop(_server_home(settings)) else "not running")


@db.command("dump")
@click.option("--to", "to_dir", type=click.Path(file_okay=False), default=None,
              help="Folder of the archive  [default: <home>/neo4j/dumps].")
@pass_settings
def db_dump(settings: Settings, to_dir: str | None):
    """Back up the local server's database into one archive file (`neo4j-admin database dump`), named
    <database>-<UTC time>.dump. Neo4j Community dumps only a stopped database: stop the server first.

    \b
    Example:
      kgrec db stop && kgrec db dump && kgrec db start
    """
    from ..local import neo4j_server as server

    path = server.dump(_server_home(settings), database=settings.neo4j_database,
                       to=Path(to_dir) if to_dir else None)
    click.echo(f"{path}  ({path.stat().st_size / 2**20:.1f} MiB; `kgrec db restore {path} --yes` brings it back)")


@db.command("restore")
@click.argument("dump_file", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Replace the current database (asked, since its content is replaced).")
@pass_settings
def db_restore(settings: Settings, dump_file: str, yes: bool):
    """Replace the local server's database with a dump (of `kgrec db dump` or `neo4j-admin database dump`). The
    server must be stopped; a load that fails puts the previous database back.

    \b
    Example:
      kgrec db stop && kgrec db restore .kgrec/neo4j/dumps/neo4j-20261203-120000.dump --yes && kgrec db start
    """
    from ..local import neo4j_server as server

    if not yes:
        raise click.UsageError(f"this replaces the database {settings.neo4j_database!r} of the local server with "
                               f"{dump_file}; add --yes to do it (`kgrec db dump` backs up the current one first)")
    server.restore(_server_home(settings), Path(dump_file), database=settings.neo4j_database)
    click.echo(f"restored {dump_file} into {settings.neo4j_database!r}; `kgrec db start` serves it")


@db.command("status")
@pass_settings
def db_status(settings: Settings):
    """Print whether the local server runs, its pid, URI and versions.

    \b
    Example:
      kgrec db status
    """
    from ..local import neo4j_server as server

    st = server.status(_server_home(settings))
    echo_json(st.model_dump())
    if not st.running:
        raise SystemExit(3)


@click.group()
def schema():
    """Constraints, indexes and knowledge types of the active type pack.

    \b
    Example:
      kgrec schema apply            # idempotent
      kgrec --pack office_products schema apply
      kgrec schema check            # drift between schema/ files and the database
    """


@schema.command("apply")
@click.option("--rebuild-vector-index", is_flag=True, help="Drop and recreate the concept vector index "
              "(after changing the embedding model).")
@pass_settings
def schema_apply(settings: Settings, rebuild_vector_index: bool):
    """Create constraints, indexes, the KnowledgeType nodes of the pack and the type triggers (idempotent).

    The triggers (schema/triggers/, APOC, needs apoc.trigger.enabled=true as in the local server) make the
    database refuse a mention, concept, HAS_KNOWLEDGE or INTERESTED_IN of a type outside the pack, whoever
    writes it.

    \b
    Example:
      kgrec schema apply
    """
    from ..core import schema as sch

    pack = sch.load_pack(settings.type_pack)
    with open_db(settings) as d:
        rep = sch.apply(d, pack, dim=settings.embedding_dim, rebuild_vector_index=rebuild_vector_index)
    click.echo(f"schema applied: {rep['statements']} statements, pack {pack.name!r} with {len(rep['types'])} types: "
               + ", ".join(rep["types"]))
    if rep["removed_types"]:
        click.echo("removed unused types: " + ", ".join(rep["removed_types"]))
    trg = rep["triggers"]
    if trg["unavailable"]:
        click.echo(f"warning: type triggers not installed: {trg['unavailable']}", err=True)
    else:
        names = ", ".join(trg["installed"] + trg["unchanged"])
        state = "active" if trg["active"] else "installed; the server runs them within its apoc.trigger.refresh interval"
        click.echo(f"type triggers ({names}): {state}; the database refuses any other knowledge type from every client")


@schema.command("check")
@pass_settings
def schema_check(settings: Settings):
    """Report drift between schema/ files (constraints, indexes, types, triggers) and the database; exit 1 if any.

    \b
    Example:
      kgrec schema check
    """
    from ..core import schema as sch

    pack = sch.load_pack(settings.type_pack)
    with open_db(settings) as d:
        drift = sch.check(d, pack, dim=settings.embedding_dim)
    if not drift:
        click.echo(f"in sync with schema/ and pack {pack.name!r}")
        return
    for line in drift:
        click.echo(f"drift: {line}")
    if any("the graph still uses it" in line for line in drift):  # apply refuses to drop a type in use
        raise click.ClickException(
            f"{plural(len(drift), 'difference')}; the graph uses knowledge types outside pack {pack.name!r}: run "
            f"the commands with the pack the data was built with (`kgrec --pack NAME_OR_FILE ...`; `kgrec status` "
            f"names it), or start from an empty database")
    if any(line.startswith("the database's knowledge types are those of pack") for line in drift):
        raise click.ClickException(
            f"{plural(len(drift), 'difference')}; run the commands with the database's pack (`kgrec status` names "
            f"it), or make the database's pack {pack.name!r} with `kgrec --pack {pack.arg} schema apply`")
    raise click.ClickException(f"{plural(len(drift), 'difference')}; run `kgrec schema apply`")


@click.command()
@pass_settings
def doctor(settings: Settings):
    """Check Neo4j, GDS, APOC, vector indexes, the embedding model and the LLM endpoint.

    \b
    Example:
      kgrec doctor
    """
    from ..local.doctor import run_checks

    results = run_checks(settings)
    width = max(len(r.name) for r in results)
    for r in results:
        click.echo(f"{'ok  ' if r.ok else 'FAIL'}  {r.name.ljust(width)}  {r.detail}")
        if not r.ok and not r.required and r.fix:  # a failed optional check: its fix too (the exit code stays 0)
            click.echo(f"      {''.ljust(width)}  fix: {r.fix}")
    bad = [r for r in results if not r.ok and r.required]
    if bad:
        err = click.ClickException(f"{plural(len(bad), 'check')} failed: " + "; ".join(f"{r.name}: {r.fix}" for r in bad))
        err.exit_code = max(r.exit_code for r in bad)  # type: ignore[misc]  # 2 when Neo4j cannot be used
        raise err


commands = [db, schema, doctor]
