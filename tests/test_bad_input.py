"""The bad-input corpus (tests/data/bad/): message, exit code and what was stored, for each."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kgrec_neo4j.cli import cli
from tests.conftest import clear_database

BAD = Path(__file__).parent / "data" / "bad"


def run(*args):
    return CliRunner().invoke(cli, ["load", "--silent", *map(str, args)])


def stored(db):
    return db.query(
        "CALL () { MATCH (i:Item) RETURN collect(i.id) AS items } "
        "CALL () { MATCH (u:User) RETURN collect(u.id) AS users } "
        "CALL () { MATCH ()-[e:INTERACTED]->() RETURN count(e) AS edges } RETURN items, users, edges")[0]


@pytest.fixture()
def empty_db(db):
    clear_database(db)
    return db


def test_malformed_and_empty_lines(empty_db):
    r = run(BAD / "malformed")
    assert r.exit_code == 0, r.output
    assert "skipped: 3 (empty line: 1, malformed json: 1, wrong type: 1)" in r.output
    assert f"{BAD / 'malformed' / 'items.jsonl'}:2: malformed JSON" in r.output
    assert f"{BAD / 'malformed' / 'interactions.jsonl'}:2: expected a JSON object, got list" in r.output
    s = stored(empty_db)
    assert sorted(s["items"]) == ["b1", "b3"] and s["edges"] == 2


def test_wrong_types(empty_db):
    r = run(BAD / "wrong-types")
    # every interaction is bad -> nothing to load: a clear error, exit code 1, nothing stored
    assert r.exit_code == 1
    assert "Error:" in r.output and "no valid interactions were read" in r.output
    assert "field 'item_id' must be a string" in r.output or "rating" in r.output
    assert stored(empty_db) == {"items": [], "users": [], "edges": 0}


def test_duplicates_keep_first_and_report(empty_db):
    r = run(BAD / "duplicates")
    assert r.exit_code == 0, r.output
    assert "duplicate item id 'b1' with different fields; kept the first" in r.output
    assert "user 'u1' already has seq 1" in r.output
    assert empty_db.value("MATCH (i:Item {id: 'b1'}) RETURN i.title") == "Good item one"
    assert stored(empty_db)["edges"] == 3


def test_non_utf8_line(empty_db):
    r = run(BAD / "non-utf8")
    assert r.exit_code == 0, r.output
    assert f"{BAD / 'non-utf8' / 'items.jsonl'}:2: not valid UTF-8" in r.output
    assert sorted(stored(empty_db)["items"]) == ["b1", "b3"]


def test_empty_files(empty_db):
    r = run(BAD / "empty")
    assert r.exit_code == 1
    assert "no valid interactions were read (0 lines, 0 skipped; the files are empty); nothing was written" in r.output
    assert stored(empty_db) == {"items": [], "users": [], "edges": 0}


def test_truncated_gzip(empty_db):
    r = run(BAD / "truncated-gz")
    assert r.exit_code == 0, r.output
    assert "truncated gzip: 1" in r.output and "compressed stream is truncated or corrupt" in r.output
    assert 0 < stored(empty_db)["edges"] < 2000


def test_truncated_gzip_strict_writes_nothing(empty_db):
    r = run("--strict", BAD / "truncated-gz")
    assert r.exit_code == 1 and "--strict" in r.output and "nothing was written" in r.output
    assert stored(empty_db)["edges"] == 0


def test_ten_megabyte_line(empty_db, tmp_path):
    shutil.copytree(BAD / "duplicates", tmp_path / "big")
    with open(tmp_path / "big" / "items.jsonl", "a") as f:
        f.write(json.dumps({"item_id": "huge", "title": "x" * 10_000_000}) + "\n")
    r = run(tmp_path / "big")
    assert r.exit_code == 0, r.output
    assert "items.jsonl:5: line of 10,000,0" in r.output and "exceeds the limit" in r.output
    assert "huge" not in stored(empty_db)["items"]


def test_hostile_ids_are_stored_verbatim_and_run_nothing(empty_db):
    r = run(BAD / "hostile")
    assert r.exit_code == 0, r.output
    s = stored(empty_db)
    hostile = ["q'uote", 'dq"uote', "back\\slash", "x'}) MATCH (n) DETACH DELETE n //", "$param {a: 1}", "`tick`"]
    assert sorted(s["items"]) == sorted(hostile + ["plain"])
    assert sorted(s["users"]) == sorted(hostile + ["u-plain"])
    assert s["edges"] == 7
    for h in hostile:
        assert empty_db.value("MATCH (:User {id: $h})-[:INTERACTED]->(i:Item {id: $h}) RETURN i.title", h=h) == f"title with {h}"


def test_unreadable_file_names_the_file(empty_db, tmp_path):
    (tmp_path / "items.jsonl").write_text("")
    (tmp_path / "interactions.jsonl").mkdir()
    r = run(tmp_path)
    assert r.exit_code == 1 and "interactions.jsonl" in r.output


def _generic(folder: Path, interactions: list[str]) -> Path:
    """A generic dataset: two items and the given interaction lines (raw text, so out-of-range numbers stay exact)."""
    folder.mkdir()
    (folder / "items.jsonl").write_text('{"item_id": "b1", "title": "one"}\n{"item_id": "b2", "title": "two"}\n')
    (folder / "interactions.jsonl").write_text("".join(x + "\n" for x in interactions))
    return folder


HUGE = [
    '{"user_id": "u1", "item_id": "b1", "seq": 0, "rating": 5}',
    '{"user_id": "u1", "item_id": "b2", "seq": 9223372036854775808, "rating": 4}',
    '{"user_id": "u2", "item_id": "b1", "seq": 0, "timestamp": 9223372036854775808}',
    '{"user_id": "u2", "item_id": "b2", "seq": 1, "timestamp": 18446744073709551616}',
    '{"user_id": "u3", "item_id": "b2", "seq": -9223372036854775809}',
    '{"user_id": "u3", "item_id": "b1", "seq": 1e300}',
    '{"user_id": 9223372036854775808, "item_id": "b1", "seq": 3}',
    '{"user_id": "u4", "item_id": "b1", "seq": 9223372036854775807, "timestamp": 0}',  # (a timestamp is >= 0)
]


def test_integers_neo4j_cannot_store_are_bad_records(empty_db, tmp_path):
    """A seq or timestamp >= 2^63 passed validation; the driver raised OverflowError mid-load (a traceback, items
    and users written, the Dataset left at `loading`, --strict did not catch it)."""
    data = _generic(tmp_path / "huge", HUGE)
    r = run(data)
    assert r.exit_code == 0 and r.exception is None, (r.output, r.exception)
    assert "skipped: 6 (invalid record: 6)" in r.output
    assert "interactions.jsonl:2: field 'seq' must be an integer between -2^63 and 2^63 - 1" in r.output
    assert "interactions.jsonl:3: field 'timestamp' must be an integer between" in r.output
    s = stored(empty_db)
    assert s["edges"] == 2 and sorted(s["users"]) == ["u1", "u4"]
    assert empty_db.value("MATCH (d:Dataset) RETURN d.status") == "loaded"
    assert empty_db.value("MATCH (:User {id: 'u4'})-[e:INTERACTED]->() RETURN e.seq") == 2**63 - 1


def test_integers_neo4j_cannot_store_are_refused_by_strict(empty_db, tmp_path):
    r = run("--strict", _generic(tmp_path / "huge", HUGE))
    assert r.exit_code == 1 and r.exception is None or isinstance(r.exception, SystemExit)
    assert "--strict: 6 bad records, nothing was written" in r.output
    assert stored(empty_db) == {"items": [], "users": [], "edges": 0}
    assert empty_db.value("MATCH (d:Dataset) RETURN count(d)") == 0


def test_a_one_line_gzip_bomb_is_skipped_without_reading_it_whole(tmp_path):
    """A line was read whole before the 1 MB limit was checked: a one-line gzip bomb exhausted memory."""
    import gzip
    import tracemalloc

    from kgrec_neo4j.load import read

    folder = tmp_path / "bomb"
    folder.mkdir()
    (folder / "items.jsonl").write_text('{"item_id": "b1", "title": "one"}\n')
    chunk = b" " * (1 << 20)
    with gzip.open(folder / "interactions.jsonl.gz", "wb", compresslevel=1) as f:
        f.write(b'{"user_id": "u1", "item_id": "b1", "seq": 0}\n{"user_id": "u1", "item_id": "b1", "seq": 1, "x": "')
        for _ in range(96):  # one line of 96 MB (96 kB compressed)
            f.write(chunk)
        f.write(b'"}\n{"user_id": "u1", "item_id": "b1", "seq": 2}\n')
    assert (folder / "interactions.jsonl.gz").stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        ds = read([folder])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [x.seq for x in ds.interactions] == [0, 2]
    assert ds.skipped["line too long"] == 1
    assert any("interactions.jsonl.gz:2: line of 100,663,3" in str(i) for i in ds.issues), ds.issues
    assert peak < 16 * (1 << 20), f"peak traced memory {peak / 2**20:.0f} MB while reading a 96 MB line"


@pytest.mark.parametrize("given, other", [("items.jsonl", "interactions.jsonl"), ("interactions.jsonl", "items.jsonl")])
def test_one_generic_file_whose_other_file_lies_beside_it_says_to_pass_the_folder(empty_db, tmp_path, given, other):
    """`kgrec load folder/items.jsonl` said 'found items.jsonl but no interactions.jsonl[.gz] beside it' although the
    folder has it; it names the file it did not read and says to pass the folder (or both files)."""
    folder = tmp_path / "vg"
    shutil.copytree(Path(__file__).parent / "data" / "vg-slice", folder)
    r = run(folder / given)
    assert r.exit_code == 1, r.output
    assert "no interactions.jsonl" not in r.output and "no items.jsonl" not in r.output, r.output
    assert str(folder / other) in r.output and f"kgrec load {folder}" in r.output, r.output
    assert stored(empty_db) == {"items": [], "users": [], "edges": 0}
