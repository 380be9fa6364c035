"""The ``graphdatascience`` client (2.x), used as a user would use it.

``GraphDataScience`` takes a Bolt URI or a ``neo4j.Driver``. Client 2.x handles a server without
``gds.debug.arrow`` (the open GDS that the local server runs has neither that procedure nor an Arrow Flight
server), so no adapter is needed. :func:`gds_for` builds the client on the driver of an open
:class:`~kgrec_neo4j.core.db.Database`, so it shares that driver's settings (notifications off, retries) and
talks Bolt only (``arrow=False``). A notebook user connects with the documented constructor::

    from graphdatascience import GraphDataScience
    gds = GraphDataScience("bolt://127.0.0.1:7687", auth=("neo4j", password), arrow=False)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graphdatascience import GraphDataScience

if TYPE_CHECKING:  # pragma: no cover
    from .db import Database


def gds_for(db: Database, *, show_progress: bool = False) -> GraphDataScience:
    """A client on the driver of ``db`` (Bolt only).

    The client borrows the driver: it never closes it (not even on ``gds.close()``); close ``db``.
    """
    return GraphDataScience(db.driver, database=db.database, arrow=False, show_progress=show_progress)
