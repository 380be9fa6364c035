"""``(:ModelRun)`` nodes: every stored embedding, attention value and recommendation names the run that made it.

A run is ``(:ModelRun {id, created, model, config (JSON), metrics (JSON), dataset, status, current})``;
``status`` goes ``running`` -> ``complete`` | ``failed``, and exactly one run is ``current``: the one whose
embeddings are in the graph (see ``docs/graph-model.md``, "Model write-back").
"""

from __future__ import annotations

import json
import secrets
import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..core.errors import ModelError
from ..core.resources import cypher

if TYPE_CHECKING:  # pragma: no cover
    from ..core.db import Database

STATUSES = ("running", "complete", "failed")
#: the error of a run whose process ended without finishing it (killed): ``kgrec train`` marks it failed
ABANDONED = "process ended without finishing"


class ModelRun(BaseModel):
    """One training run as stored in Neo4j (``config`` and ``metrics`` decoded from their JSON strings)."""

    id: str
    created: str | None = None
    model: str
    config: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    dataset: str | None = None
    status: str
    current: bool = False
    finished: str | None = None
    error: str | None = None
    item_link_weight: float | None = None  # w of the served score's item-graph part (None: no item links)
    item_link_dislike_value: float | None = None  # x_uj of an item the user only disliked

    def held_out(self, split: str) -> dict[str, Any] | None:
        """The run's metrics on ``split`` (``valid`` or ``test``), or ``None`` when it measured nothing there: a
        serving run trains on every interaction and holds nothing out (its stored metrics are zeros over 0 users)."""
        m = self.metrics.get(split)
        if not isinstance(m, dict) or not m or self.config.get("mode") == "serving" or m.get("users") == 0:
            return None
        return m

    def summary(self) -> dict[str, Any]:
        """One row of ``kgrec runs list``: what the run was (model, mode, data set) and what it measured.

        ``valid`` / ``test`` are NDCG@10 (``None`` for a serving run, which holds nothing out); ``epochs`` the epochs
        trained (``None`` for a closed-form model); ``state`` is ``current`` for the one run whose embeddings are in the
        graph, else the status.
        """
        m, c = self.metrics, self.config
        valid, test = self.held_out("valid"), self.held_out("test")
        return {"run": self.id, "model": self.model, "mode": c.get("mode"), "dataset": self.dataset,
                "created": (self.created or "")[:19].replace("T", " "),
                "state": "current" if self.current else self.status,
                "valid": valid.get("ndcg@10") if valid else None, "test": test.get("ndcg@10") if test else None,
                "epochs": m.get("epochs") or None, "train_s": m.get("train_seconds"),
                "warm_start": c.get("warm_start"), "params_from": c.get("params_from"), "error": self.error}


def new_run_id(model: str) -> str:
    """``<model>-<UTC yyyymmdd-hhmmss>-<6 hex>``, e.g. ``ours-20250101-120000-a1b2c3``."""
    if not model or not model.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"model must be a short alphanumeric name (got {model!r})")
    return f"{model}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"


def _json(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def dataset_names(db: Database) -> str | None:
    """The loaded datasets' names joined with ``,`` (``None`` when no ``(:Dataset)`` exists)."""
    names = [r["name"] for r in db.query(cypher("train/datasets"))]
    return ",".join(names) or None


def create_run(db: Database, run_id: str, *, model: str, config: dict[str, Any],
               dataset: str | None) -> None:
    """Create ``(:ModelRun {status: 'running', current: false})``.

    Raises:
        ModelError: a run with this id exists already.
    """
    if get_run(db, run_id) is not None:
        raise ModelError(f"a ModelRun with id {run_id!r} exists already; choose another run id")
    db.execute(cypher("train/run_create"), id=run_id, model=model, config=_json(config), dataset=dataset)


def finish_run(db: Database, run_id: str, *, metrics: dict[str, Any], status: str = "complete",
               error: str | None = None) -> None:
    """Store a run's metrics and final status (``complete`` or ``failed``, with ``error``)."""
    if status not in STATUSES[1:]:
        raise ValueError(f"status must be one of {STATUSES[1:]} (got {status!r})")
    if not db.execute(cypher("train/run_finish"), id=run_id, metrics=_json(metrics), status=status, error=error):
        raise ModelError(f"no ModelRun with id {run_id!r} to finish; create it with create_run first")


def set_current(db: Database, run_id: str) -> None:
    """Mark ``run_id`` as the one current run, all others not current, in one transaction.

    Raises:
        ModelError: no such run, or it is not ``complete``.
    """
    run = get_run(db, run_id)
    if run is None:
        raise ModelError(f"no ModelRun with id {run_id!r}; `kgrec train` creates runs")
    if run.status != "complete":
        raise ModelError(f"run {run_id!r} has status {run.status!r}; only a complete run can become current")
    rows = db.execute(cypher("train/run_set_current"), id=run_id)
    if not rows or rows[0]["current"] != 1:
        raise ModelError(f"setting run {run_id!r} current left {rows[0]['current'] if rows else 0} current runs, "
                         f"expected exactly 1")


def _decode(row: dict[str, Any]) -> ModelRun:
    out = dict(row)
    for k in ("config", "metrics"):
        try:
            out[k] = json.loads(out.get(k) or "{}")
        except (TypeError, json.JSONDecodeError):
            out[k] = {"raw": out.get(k)}
    out["model"] = out.get("model") or "unknown"
    out["status"] = out.get("status") or "unknown"
    return ModelRun(**out)


def get_run(db: Database, run_id: str) -> ModelRun | None:
    rows = db.query(cypher("train/run_get"), id=run_id, current_only=False)
    return _decode(rows[0]) if rows else None


def current_run(db: Database) -> ModelRun | None:
    """The current run, or ``None``. Raises :class:`ModelError` when more than one is marked current."""
    rows = db.query(cypher("train/run_get"), id=None, current_only=True)
    if len(rows) > 1:
        raise ModelError(f"{len(rows)} ModelRuns are marked current ({', '.join(r['id'] for r in rows)}), expected "
                         f"exactly one; fix with `MATCH (r:ModelRun) SET r.current = (r.id = '<id>')`")
    return _decode(rows[0]) if rows else None


def abandoned_runs(db: Database, *, host: str | None = None) -> list[str]:
    """The ids of the runs still marked ``running`` by a process of this host (``host``) that has ended: killed
    before it could finish them. Read only: the next ``kgrec train`` marks them failed. Runs of other hosts are not
    checked (their processes cannot be seen from here)."""
    import socket

    from ..core.lease import process_alive

    rows = db.query(cypher("train/running_runs_on_host"), host=host or socket.gethostname())
    return [r["id"] for r in rows if not process_alive(int(r["pid"]), r["started"])]


def list_runs(db: Database, *, model: str | None = None, status: str | None = None) -> list[ModelRun]:
    """Every run, newest first; only those of ``model`` and with ``status`` (``current``: the current run) when
    given."""
    out = [_decode(r) for r in db.query(cypher("train/run_get"), id=None, current_only=status == "current")]
    return [r for r in out if (model is None or r.model == model)
            and (status in (None, "current") or r.status == status)]
