"""Shared fixtures. Tests marked ``neo4j`` talk to a real Neo4j (NEO4J_URI / NEO4J_PASSWORD).

Under CI (``CI=true``) a missing server fails the test instead of skipping it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("KGREC_DATA_DIR", REPO.parent / "shared" / "data")).resolve()


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "db" in getattr(item, "fixturenames", ()) or "settings_db" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.neo4j)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.fail(f"dataset folder {DATA} not found (set KGREC_DATA_DIR)")
    return DATA


@pytest.fixture(scope="session")
def settings():
    from kgrec_neo4j.core.config import load_settings

    return load_settings()


def _connect(settings):
    from kgrec_neo4j.core.db import connect
    from kgrec_neo4j.core.errors import KgrecError

    try:
        return connect(settings)
    except KgrecError as e:
        if os.environ.get("CI"):
            pytest.fail(f"Neo4j is required under CI: {e}")
        pytest.skip(f"Neo4j not available: {e}")


from kgrec_neo4j.core.db import clear_database  # noqa: E402  (re-exported for the tests)


@pytest.fixture(scope="module")
def db(settings):
    """A connection to an emptied database with the video-games schema applied (fresh per module)."""
    from kgrec_neo4j.core import schema

    d = _connect(settings)
    clear_database(d)
    schema.apply(d, schema.load_pack("video_games"), dim=settings.embedding_dim)
    yield d
    d.close()


@pytest.fixture(scope="module")
def kg(db):
    """The seeded recommendation graph of tests/_kg_fixture.py on the vg-slice (fresh per module)."""
    from _kg_fixture import build

    from kgrec_neo4j.serve import scoring

    scoring.clear_cache()
    facts = build(db)
    yield facts
    scoring.clear_cache()


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny graphs: one torch thread avoids OpenMP spin-waits on a shared, oversubscribed machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

