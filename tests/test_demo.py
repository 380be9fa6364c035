"""`kgrec demo` end to end on the committed slice: every stage runs and leaves its mark in the graph."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from kgrec_neo4j.cli import cli
from kgrec_neo4j.demo import report_path

SLICE = Path(__file__).parent / "data" / "vg-slice"


def _hostile_slice(folder: Path) -> Path:
    """The slice with every user id starting with ``../../escaped/`` (any string is a valid id in the generic format):
    the report page, named after a user, must still land in --out."""
    folder.mkdir()
    shutil.copyfile(SLICE / "items.jsonl", folder / "items.jsonl")
    with open(folder / "interactions.jsonl", "w") as f:
        for line in (SLICE / "interactions.jsonl").read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                f.write(json.dumps({**row, "user_id": "../../escaped/" + row["user_id"]}) + "\n")
    return folder


def test_report_path_stays_in_the_folder(tmp_path):
    ids = ["../../etc/passwd", "/abs/path", "a/b", "..", ".", "", "x" * 300, "ok-id_1.2", "sp ace", "nul\x00", "\ud800"]
    pages = [report_path(tmp_path, i) for i in ids]
    assert all(p.parent == tmp_path and p.name.startswith("report-") and len(p.name) < 120 for p in pages)
    assert len(set(pages)) == len(ids) and report_path(tmp_path, "ok-id_1.2").name == "report-ok-id_1.2.html"


def test_demo_runs_the_whole_pipeline(db, tmp_path):
    out = tmp_path / "out" / "demo"
    r = CliRunner().invoke(cli, ["demo", "--data", str(_hostile_slice(tmp_path / "hostile")), "--users", "40",
                                 "--epochs", "3", "--models", "pop,ease,ours", "--fresh", "--yes", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "out" / "escaped").exists()
    tmp_path = out
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
