"""The ``kgrec`` command line.

Each module ``kgrec_neo4j/cli/<name>.py`` defines ``commands``, a list of click commands or groups;
:data:`MODULES` names them in help order. A command builds settings (flags > environment >
``kgrec.toml`` > defaults), opens the database, calls one library function and prints its report;
a :class:`~kgrec_neo4j.core.errors.KgrecError` becomes ``Error: …`` with a non-zero exit code.
"""

from __future__ import annotations

import importlib

import click

from ..core.config import load_settings
from ._common import KgrecGroup, setup_logging

MODULES = ["db", "load", "extract", "concepts", "interests", "train", "runs", "update", "status", "recommend", "serve",
           "lookup", "types", "llm", "demo"]


@click.group(cls=KgrecGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="A kgrec.toml file (default: $KGREC_CONFIG or ./kgrec.toml if present).")
@click.option("--uri", default=None, help="Neo4j Bolt URI (default $NEO4J_URI or bolt://127.0.0.1:7687).")
@click.option("--database", default=None, help="Neo4j database (default $NEO4J_DATABASE or neo4j).")
@click.option("--home", default=None, help="Working folder for the local server and caches (default .kgrec).")
@click.option("--pack", "type_pack", default=None,
              help="Knowledge-type pack: a shipped one (`kgrec types list`) or a .yaml file (default $KGREC_TYPE_PACK "
                   "or video_games).")
@click.option("--wait-for-lease", "lease_wait_s", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="A writing command waits this long for another writer to finish (default $KGREC_LEASE_WAIT "
                   "or 0: refused at once, naming the writer).")
@click.option("-v", "--verbose", count=True, help="-v for info logs, -vv for debug logs.")
@click.version_option(package_name="kgrec-neo4j")
@click.pass_context
def cli(ctx: click.Context, config_path, uri, database, home, type_pack, lease_wait_s, verbose):
    """kgrec: an LLM-built knowledge graph in Neo4j that recommends and explains.

    \b
    Example, on a fresh machine:
      export NEO4J_PASSWORD='<choose one>'
      kgrec db start && kgrec schema apply && kgrec load ../shared/data/amazon-videogames-2018
    """
    setup_logging(verbose)
    ctx.ensure_object(dict)
    settings = load_settings(
        {"neo4j_uri": uri, "neo4j_database": database, "home": home, "type_pack": type_pack,
         "lease_wait_s": lease_wait_s},
        toml_path=config_path,
    )
    if ctx.invoked_subcommand != "doctor":  # (the doctor reports it among its checks)
        from ..core.errors import SchemaError
        from ..core.schema import load_pack

        try:  # an unknown pack is refused up front, by a command that does not read it too
            load_pack(settings.type_pack)
        except SchemaError as e:
            if type_pack is None:  # KGREC_TYPE_PACK or kgrec.toml: a setting (exit 1)
                raise
            raise click.BadParameter(str(e), ctx, param_hint="'--pack'") from None  # a bad option value (exit 2)
    ctx.obj["settings"] = settings


for _name in MODULES:
    for _cmd in importlib.import_module(f"{__name__}.{_name}").commands:
        cli.add_command(_cmd)


def main() -> None:
    cli(prog_name="kgrec")
