"""The ``graphdatascience`` client against the open-source GDS plugin.

Client 1.x asks ``gds.debug.arrow`` on connect, and that procedure exists only in Neo4j's packaged
GDS builds, not in the open GDS that the local server runs (and Apache Arrow Flight is not served
there either). :class:`OpenGdsQueryRunner` answers that one question with "Arrow disabled" when the
procedure is missing, exactly what client 2.x does on its own; every other call is untouched, all over
Bolt. On a server that has the procedure (Aura, the Docker image) the real answer is used.
"""

from __future__ import annotations

import pandas as pd
from graphdatascience import GraphDataScience
from graphdatascience.query_runner.neo4j_query_runner import Neo4jQueryRunner
from neo4j.exceptions import ClientError

from .config import Settings
from .db import Database


class OpenGdsQueryRunner(Neo4jQueryRunner):
    """A Bolt query runner that tolerates a missing ``gds.debug.arrow`` procedure."""

    def call_procedure(self, endpoint, params=None, yields=None, database=None, logging=False, custom_error=True):
        if endpoint != "gds.debug.arrow":
            return super().call_procedure(endpoint, params, yields, database, logging, custom_error)
        try:
            return super().call_procedure(endpoint, params, yields, database, logging, custom_error)
        except ClientError as e:
            if e.code != "Neo.ClientError.Procedure.ProcedureNotFound":
                raise
            return pd.DataFrame([{"listenAddress": "", "enabled": False, "running": False, "versions": []}])


def gds_for(db: Database) -> GraphDataScience:
    """A :class:`GraphDataScience` client on the driver of a :class:`~kgrec_neo4j.core.db.Database` (Bolt only).

    The client borrows the driver: close ``db``, never the client (``gds.close()`` would close the driver).
    """
    runner = OpenGdsQueryRunner(db.driver, database=db.database, auto_close=False, show_progress=False)
    return GraphDataScience(runner, arrow=False)


def connect_gds(settings: Settings, *, show_progress: bool = False) -> GraphDataScience:
    """A :class:`GraphDataScience` client with its own driver for ``settings`` (the caller closes it)."""
    import neo4j

    driver = neo4j.GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_username, settings.require_password()))
    runner = OpenGdsQueryRunner(driver, database=settings.neo4j_database, auto_close=True, show_progress=show_progress)
    return GraphDataScience(runner, arrow=False)
