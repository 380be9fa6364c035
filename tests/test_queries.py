"""Every shipped query file is used and valid: each ``cypher/<stage>/<name>.cypher`` is referenced by the code,
and every file (the Browser pack included) passes ``EXPLAIN`` on the real server, so that a typo fails CI and
not a user."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kgrec_neo4j.core import resources

PKG = Path(__file__).resolve().parent.parent / "kgrec_neo4j"
NAMES = resources.cypher_names()


def _package_source() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in PKG.rglob("*.py"))


def _referenced(name: str, source: str) -> bool:
    """``"stage/name"`` literally, or ``f"stage/{...}"`` together with the literal ``"name"``."""
    stage, leaf = name.split("/", 1)
    if f'"{name}"' in source:
        return True
    return f'f"{stage}/{{' in source and f'"{leaf}"' in source


def test_query_files_are_found():
    assert len(NAMES) > 50 and "recommend/users" in NAMES


def test_every_query_file_is_referenced_by_the_code():
    source = _package_source()
    unused = [n for n in NAMES if not n.startswith("browser/") and not _referenced(n, source)]
    assert not unused, f"query files no code loads (delete them or use them): {unused}"


def test_reference_check_can_fail():
    assert not _referenced("recommend/no_such_query", _package_source())


def _statements(text: str) -> list[str]:
    """The Cypher statements of a file: comments and Browser ``:param`` lines dropped, split on ``;``; a
    ``$REL`` template slot (an allow-listed relationship type the code puts in) filled with one such type."""
    text = text.replace("$REL", "INTERACTED")
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith((":", "//"))]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


@pytest.mark.parametrize("name", NAMES)
def test_query_passes_explain(db, name):
    stmts = _statements(resources.cypher(name))
    assert stmts, f"{name} holds no statement"
    with db.driver.session(database=db.database) as s:
        for stmt in stmts:
            s.run("EXPLAIN " + stmt).consume()


def test_explain_catches_a_typo(db):
    from neo4j.exceptions import CypherSyntaxError

    with pytest.raises(CypherSyntaxError):
        with db.driver.session(database=db.database) as s:
            s.run("EXPLAIN MATCH (u:User) RETRUN u").consume()


def test_schema_statements_parse():
    from kgrec_neo4j.core.schema import schema_statements

    stmts = schema_statements()
    assert stmts and all(re.match(r"(CREATE|DROP) ", s, re.I) for _, s in stmts)
