"""Files shipped with the package: the Cypher queries (``cypher/``), the schema and type packs (``schema/``) and
the Maven project that assembles the local Neo4j server (``tools/neo4j/``).

They live at the top of the repository, where a person reads them. A built wheel carries them as package data
(``pyproject.toml`` maps them to ``kgrec_neo4j/cypher``, ``kgrec_neo4j/schema`` and
``kgrec_neo4j/local/assembly``); they are found there with :mod:`importlib.resources`, and in a source
checkout (or an editable install) in the repository itself.

There is one way to load a query: :func:`cypher` (``cypher("recommend/users")``), whose text goes to
:class:`~kgrec_neo4j.core.db.Database`'s ``query`` / ``write`` / ``execute``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources as _ir
from pathlib import Path

#: resource kind -> (folder inside the installed package, folder in a source checkout)
KINDS: dict[str, tuple[str, str]] = {
    "cypher": ("cypher", "cypher"),
    "schema": ("schema", "schema"),
    "assembly": ("local/assembly", "tools/neo4j"),
}
_REPO = Path(__file__).resolve().parents[2]


@cache
def folder(kind: str) -> Path:
    """The folder of one resource kind (``"cypher"``, ``"schema"`` or ``"assembly"``)."""
    if kind not in KINDS:
        raise ValueError(f"resource kind must be one of {sorted(KINDS)} (got {kind!r})")
    packaged, source = KINDS[kind]
    installed = Path(str(_ir.files("kgrec_neo4j").joinpath(packaged)))
    for base in (installed, _REPO / source):
        if base.is_dir():
            return base
    raise FileNotFoundError(f"the {kind} files are missing from this installation (looked in {installed} and "
                            f"{_REPO / source}); reinstall kgrec-neo4j")


def path(kind: str, name: str) -> Path:
    """Path of a shipped file, e.g. ``path("cypher", "load/items.cypher")``."""
    p = folder(kind) / name
    if not p.is_file():
        raise FileNotFoundError(f"no {kind} file {name!r} (looked in {p.parent})")
    return p


@cache
def cypher(name: str) -> str:
    """Text of ``cypher/<name>.cypher`` (``name`` like ``"load/items"``)."""
    return path("cypher", f"{name}.cypher").read_text(encoding="utf-8")


def cypher_names() -> list[str]:
    """Every shipped query name (``"load/items"``, ...), sorted."""
    root = folder("cypher")
    return sorted(str(p.relative_to(root).with_suffix("")) for p in root.rglob("*.cypher"))


def schema_dir() -> Path:
    return folder("schema")
