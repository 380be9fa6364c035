"""`kgrec demo` end to end on the committed slice: every stage runs and leaves its mark in the graph."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from kgrec_neo4j.cli import cli

SLICE = Path(__file__).parent / "data" / "vg-slice"


def test_demo_runs_the_whole_pipeline(db, tmp_path):
    r = CliRunner().invoke(cli, ["demo", "--data", str(SLICE), "--users", "40", "--epochs", "3",
                                 "--models", "pop,ease,ours", "--fresh", "--yes", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    for stage in ("schema", "load", "extract (offline)", "concepts build", "concepts project", "concepts grow",
                  "interactions classify", "interests (offline)", "evaluate", "train + write-back (ours)",
                  "recommend + explain", "report page"):
        assert any(line.startswith(stage) for line in r.output.splitlines()), (stage, r.output)
    assert "| pop |" in r.output and "| ease |" in r.output and "| ours |" in r.output
    assert (tmp_path / "evaluation" / "evaluation.json").is_file()
    page = next(tmp_path.glob("report-*.html"))
    assert "<svg" in page.read_text()
    counts = db.query(
        "CALL () { MATCH (:Item)-[m:MENTIONS]->() RETURN count(m) AS mentions } "
        "CALL () { MATCH (:Item)-[h:HAS_KNOWLEDGE]->() RETURN count(h) AS knowledge } "
        "CALL () { MATCH (:User)-[i:INTERESTED_IN]->() RETURN count(i) AS interests } "
        "CALL () { MATCH (u:User) WHERE u.gnn_embedding IS NOT NULL RETURN count(u) AS embedded } "
        "CALL () { MATCH (:User)-[x:RECOMMENDED]->() RETURN count(DISTINCT startNode(x)) AS recommended } "
        "CALL () { MATCH (m:ModelRun {current: true}) RETURN count(m) AS current } "
        "RETURN mentions, knowledge, interests, embedded, recommended, current")[0]
    assert counts["mentions"] > 0 and counts["knowledge"] > 0 and counts["interests"] > 0
    assert counts["embedded"] == 40 and counts["current"] == 1
    assert 1 <= counts["recommended"] <= 3
