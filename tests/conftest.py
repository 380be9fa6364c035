"""Shared fixtures. Tests marked ``neo4j`` talk to a real Neo4j (NEO4J_URI / NEO4J_PASSWORD).

Under CI (``CI=true``) a missing server fails the test instead of skipping it.
"""

from __future__ import annotations

import contextlib
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


@contextlib.contextmanager
def triggers_paused(db):
    """Write as if the type triggers did not exist (data from before they were installed, or from a server
    without them); they run again afterwards."""
    from kgrec_neo4j.core import schema

    names = list(schema.trigger_statements())
    for name in names:
        schema._system(db, "CALL apoc.trigger.stop($database, $name) YIELD name RETURN name",
                       database=db.database, name=name)
    _wait_triggers(db, names, paused=True)
    try:
        yield
    finally:
        for name in names:
            schema._system(db, "CALL apoc.trigger.start($database, $name) YIELD name RETURN name",
                           database=db.database, name=name)
        _wait_triggers(db, names, paused=False)


def _wait_triggers(db, names, *, paused: bool, timeout_s: float = 60.0) -> None:
    import time

    from kgrec_neo4j.core import schema

    deadline = time.monotonic() + timeout_s
    while True:
        active = schema.active_triggers(db)
        if all(n in active and bool(active[n]["paused"]) == paused for n in names):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"triggers {names} not {'paused' if paused else 'running'} after {timeout_s:.0f} s")
        time.sleep(0.25)


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

