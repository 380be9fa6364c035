"""A Neo4j of one test module only, in a temporary home on free ports (for tests that stop and start it)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_private_neo4j(home: Path, password: str) -> tuple[str, int, int]:
    """Start a small server in ``home``: ``(bolt uri, bolt port, http port)``. Outside CI a machine that cannot
    start it skips the test; under CI that is a failure."""
    from kgrec_neo4j.local import neo4j_server as server

    bolt, http = free_port(), free_port()
    try:
        uri = server.start(home, bolt_port=bolt, http_port=http, password=password, heap="1g", pagecache="256m",
                           progress=lambda s: None).uri
    except Exception as e:  # noqa: BLE001
        if os.environ.get("CI"):
            raise
        pytest.skip(f"could not start a private Neo4j: {e}")
    return uri, bolt, http
