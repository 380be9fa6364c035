"""Cypher files (``cypher/``) and schema files (``schema/``) shipped with the package.

In a source checkout (and an editable install) they are read from the repository's top-level
``cypher/`` and ``schema/`` folders; in a built wheel they are package data under this package.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent
_REPO = _PKG.parent.parent


def _folder(kind: str) -> Path:
    if kind not in ("cypher", "schema"):
        raise ValueError(f"resource kind must be 'cypher' or 'schema' (got {kind!r})")
    for base in (_REPO / kind, _PKG / kind):
        if base.is_dir():
            return base
    raise FileNotFoundError(f"the {kind}/ folder is missing from this installation (looked in {_REPO} and {_PKG})")


def path(kind: str, name: str) -> Path:
    """Path of a shipped file, e.g. ``path("cypher", "load/items.cypher")``."""
    p = _folder(kind) / name
    if not p.is_file():
        raise FileNotFoundError(f"no {kind} file {name!r} (looked in {p.parent})")
    return p


@lru_cache(maxsize=None)
def cypher(name: str) -> str:
    """Text of ``cypher/<name>.cypher`` (``name`` like ``"load/items"``)."""
    return path("cypher", f"{name}.cypher").read_text(encoding="utf-8")


def schema_dir() -> Path:
    return _folder("schema")
