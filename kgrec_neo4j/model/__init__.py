"""Recommender model, baselines and evaluation harness (in-memory; fed from a GDS export or jsonl).

Names are imported on first use, so that ``kgrec_neo4j.model.foldin`` (numpy only, used by serving) does not pull
in torch: ``from kgrec_neo4j.model import KGRecGNN`` still works.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {"TrainGraph": "data", "from_jsonl": "data", "evaluate": "evaluate", "KGRecGNN": "gnn",
          "TrainConfig": "train", "TrainReport": "train", "fit": "train", "fit_closed_form": "train"}
__all__ = list(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
