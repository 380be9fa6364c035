"""Loaders: the three formats on real samples, bad input, splits, idempotency, k-core, the CLI."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kgrec_neo4j import load as L
from kgrec_neo4j.core.errors import InputError

SLICE = Path(__file__).parent / "data" / "vg-slice"


def write_jsonl(path: Path, rows, *, gz=False):
    data = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


# -- reading (no database) ---------------------------------------------------------------------

def test_generic_real_slice_reads_everything():
    ds = L.read([SLICE])
    assert ds.format == "generic"
    assert len(ds.interactions) == 831 and len(ds.items) == 758
    assert not ds.skipped


def test_amazon2018_sample(data_dir):
    ds = L.read([data_dir / "formats" / "amazon2018"])
    assert ds.format == "amazon2018"
    assert len(ds.interactions) == 21411
    # seq is chronological per user
    by_user = {}
    for x in ds.interactions:
        by_user.setdefault(x.user, []).append(x)
    for xs in by_user.values():
        xs.sort(key=lambda x: x.seq)
        assert [x.seq for x in xs] == list(range(len(xs)))
        ts = [x.timestamp for x in xs]
        assert ts == sorted(ts)
    assert all(x.rating is not None for x in ds.interactions)


def test_amazon2023_sample_with_meta(data_dir):
    ds = L.read([data_dir / "formats" / "amazon2023"])
    assert ds.format == "amazon2023"
    assert len(ds.interactions) == 2851
    with_title = [i for i in ds.items.values() if i["title"]]
    assert len(with_title) >= 190
    some = next(i for i in ds.items.values() if i["features"])
    assert all(isinstance(f, str) for f in some["features"])
    # timestamps converted from ms to seconds
    assert all(x.timestamp is None or x.timestamp < 4_000_000_000 for x in ds.interactions)


def test_split_last_two_out():
    assert [L.split_of(5, p) for p in range(5)] == ["train", "train", "train", "valid", "test"]
    assert [L.split_of(2, p) for p in range(2)] == ["train", "train"]


def test_kind_sign_from_rating():
    assert L.kind_sign(5.0) == ("like", 1)
    assert L.kind_sign(4.0) == ("like", 1)
    assert L.kind_sign(3.0) == ("mixed", 0)
    assert L.kind_sign(1.0) == ("dislike", -1)
    assert L.kind_sign(None) == ("implicit", 1)


def test_k_core_is_iterative():
    X = L.Interaction
    xs = [X("a", "i1", 0, None, None, None, None), X("a", "i2", 1, None, None, None, None),
          X("b", "i1", 0, None, None, None, None), X("b", "i2", 1, None, None, None, None),
          X("c", "i3", 0, None, None, None, None), X("c", "i1", 1, None, None, None, None)]
    # k=2: i3 has one interaction -> dropped; then c has one -> dropped; then i1 loses c but keeps 2
    kept = L.k_core(xs, 2, 2)
    assert {x.user for x in kept} == {"a", "b"}
    assert {x.item for x in kept} == {"i1", "i2"}


def test_bad_lines_are_reported_with_file_line_and_reason(tmp_path):
    items = write_jsonl(tmp_path / "items.jsonl", [
        {"item_id": "i1", "title": "Good", "description": [], "features": [], "categories": [], "brand": None},
        '{"item_id": "cut", "title": "a line cut short"',
        "",
        {"item_id": 7.5, "title": "wrong id type"},
        {"item_id": "i2", "title": "ok", "description": "a string is accepted as one paragraph"},
        {"item_id": "i3", "title": "bad list", "features": [1, 2]},
        {"item_id": "i1", "title": "Conflicting duplicate"},
    ])
    inter = write_jsonl(tmp_path / "interactions.jsonl", [
        {"user_id": "u1", "item_id": "i1", "seq": 0, "rating": 5},
        {"user_id": "u1", "item_id": "missing", "seq": 1},
        {"user_id": "u1", "item_id": "i2", "seq": "two"},
        {"user_id": "u1", "item_id": "i2", "seq": 0},
        {"user_id": "u1", "item_id": "i2", "seq": 2, "rating": 11},
        {"item_id": "i2", "seq": 3},
        {"user_id": "u1", "item_id": "i3", "seq": 4},
    ])
    with open(inter, "ab") as fh:
        fh.write(b'{"user_id": "u\xff", "item_id": "i1", "seq": 9}\n')
    ds = L.read([tmp_path])
    assert set(ds.items) == {"i1", "i2"}
    assert ds.items["i1"]["title"] == "Good"
    assert len(ds.interactions) == 1
    msgs = [str(i) for i in ds.issues]
    # (the column is in the line itself: the line break after a line cut short is not "line 2")
    assert f"{items}:2: malformed JSON (unexpected end of data: column 47 (char 46))" in msgs
    assert any(m.startswith(f"{items}:3: empty line") for m in msgs)
    assert any(m.startswith(f"{items}:4: field 'item_id' must be a string") for m in msgs)
    # which element is wrong (it said "must be a list of strings (got list)" of a list)
    assert f"{items}:6: field 'features' must be a list of strings (got a list with int 1, item 1)" in msgs
    assert any(m.startswith(f"{items}:7: duplicate item id 'i1'") for m in msgs)
    # an item whose record is there but was refused: the fix is on that line (it said "add its record")
    assert f"{inter}:7: item 'i3': its record (items.jsonl line 6) was refused, as that line's issue says: fix it " \
           "there" in msgs
    assert f"{inter}:2: item 'missing' is not in items.jsonl: add its record to items.jsonl (or fix its line, if it " \
           "is one of the 5 lines of items.jsonl that were skipped)" in msgs
    assert any(m.startswith(f"{inter}:3: field 'seq' must be an integer") for m in msgs)
    assert any(m.startswith(f"{inter}:4: user 'u1' already has seq 0 (line 1)") for m in msgs)
    assert any(m.startswith(f"{inter}:5: rating must be between 0 and 5") for m in msgs)
    assert any(m.startswith(f"{inter}:6: missing required field 'user_id'") for m in msgs)
    assert any(m.startswith(f"{inter}:8: not valid UTF-8") for m in msgs)
    assert sum(ds.skipped.values()) == 12


def test_an_id_with_spaces_around_it_and_a_negative_timestamp_are_bad_records(tmp_path):
    """`"user_id": "MU5 "` made a second user beside `MU5` (a blank id was refused, spaces around one were not), and a
    negative timestamp was stored where the HTTP service refuses one."""
    write_jsonl(tmp_path / "items.jsonl", [{"item_id": "i1", "title": "One"}, {"item_id": "i2 ", "title": "Two"}])
    inter = write_jsonl(tmp_path / "interactions.jsonl", [
        {"user_id": "MU5", "item_id": "i1", "seq": 0},
        {"user_id": "MU5 ", "item_id": "i1", "seq": 1},
        {"user_id": "MU6", "item_id": "i1", "seq": 0, "timestamp": -5},
        {"user_id": 12345, "item_id": "i1", "seq": 0}])  # (an integer id reads as its digits)
    ds = L.read([tmp_path])
    assert set(ds.items) == {"i1"} and [(x.user, x.seq) for x in ds.interactions] == [("MU5", 0), ("12345", 0)]
    msgs = [str(i) for i in ds.issues]
    assert f"{tmp_path / 'items.jsonl'}:2: field 'item_id' starts or ends with a space ('i2 '): an id is compared " \
           "exactly, so it would name another one than 'i2'; remove the spaces" in msgs, msgs
    assert any(m.startswith(f"{inter}:2: field 'user_id' starts or ends with a space ('MU5 ')") for m in msgs), msgs
    assert f"{inter}:3: timestamp must be 0 or more, seconds since 1970 (got -5)" in msgs, msgs


def test_truncated_gzip_keeps_lines_before_and_reports(tmp_path):
    shutil.copy(SLICE / "items.jsonl", tmp_path / "items.jsonl")
    full = gzip.compress((SLICE / "interactions.jsonl").read_bytes())
    (tmp_path / "interactions.jsonl.gz").write_bytes(full[: len(full) // 2])
    ds = L.read([tmp_path])
    assert 0 < len(ds.interactions) < 831
    assert ds.skipped["truncated gzip"] == 1
    assert "truncated or corrupt" in str(ds.issues[-1])


def test_unknown_layout_is_refused(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"x": 1}])
    write_jsonl(tmp_path / "b.jsonl", [{"x": 1}])
    with pytest.raises(InputError, match="cannot tell the format"):
        L.read([tmp_path])


def test_format_option_reads_a_review_file_whose_first_line_tells_none(data_dir, tmp_path):
    """The errors said "pass --format", and --format was ignored: the same error came back with it."""
    sample = data_dir / "formats" / "amazon2018" / "Video_Games_5.sample.json.gz"
    lines = gzip.decompress(sample.read_bytes()).splitlines()[:20]
    reviews = tmp_path / "reviews.json"
    reviews.write_bytes(b"\n".join([b"not json", *lines]) + b"\n")
    with pytest.raises(InputError, match=r"first line is not JSON; cannot detect the format \(pass --format\)"):
        L.read([reviews])
    ds = L.read([reviews], fmt="amazon2018")  # the line is reported and skipped, the rest read
    assert ds.format == "amazon2018" and len(ds.interactions) == 20 and ds.skipped == {"malformed json": 1}
    assert str(ds.issues[0]).startswith(f"{reviews}:1: malformed JSON")
    # the way out is named (it said only "files look like amazon2018, not amazon2023")
    with pytest.raises(InputError, match="look like amazon2018, not amazon2023: pass --format amazon2018, or leave "
                                         "--format out"):
        L.read([sample], fmt="amazon2023")
    # the generic format names its files; a metadata file alone needs its review file (no --format helps either)
    with pytest.raises(InputError, match="the generic format reads files named items.jsonl"):
        L.read([reviews], fmt="generic")
    meta = data_dir / "formats" / "amazon2023" / "meta_Video_Games.sample.jsonl.gz"
    for fmt in (None, "amazon2023"):
        with pytest.raises(InputError, match="product metadata without its review file") as e:
            L.read([meta], fmt=fmt)
        assert "--format" not in str(e.value)


def test_files_named_or_shaped_like_another_format_are_named(data_dir, tmp_path):
    """A folder's `meta.json` that is not product metadata (a note on the export) was read as the metadata file, one
    'missing required field asin' per line; a file of generic records under another name got "unknown review format
    (keys [item_id, seq, user_id]); pass --format". Each error now says what the file looks like and what to do."""
    sample = data_dir / "formats" / "amazon2018" / "Video_Games_5.sample.json.gz"
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / sample.name).write_bytes(sample.read_bytes())
    write_jsonl(folder / "meta.json", [{"name": "my export", "version": 2}])
    with pytest.raises(InputError, match=r"meta.json is named like Amazon product metadata \(meta_\*\), but its first "
                                         r"record has keys \['name', 'version'\]") as e:
        L.read([folder])
    assert e.value.line == 1 and "move it out of the folder, or name the review file alone" in str(e.value)
    ds = L.read([folder / sample.name])  # the way out: the review file alone
    assert ds.format == "amazon2018" and not ds.issues
    write_jsonl(folder / "meta.json", [{"asin": "B1", "title": "A game"}])  # real metadata is still read
    assert L.read([folder]).items["B1"]["title"] == "A game"
    write_jsonl(folder / "meta_Office.json", [{"asin": "B2", "title": "A stapler"}])  # a second category's metadata
    with pytest.raises(InputError, match=r"2 product metadata files \(meta.json, meta_Office.json\): a load reads one "
                                         r"review file with its meta_\* file"):
        L.read([folder])
    (folder / "meta_Office.json").unlink()
    write_jsonl(tmp_path / "data.jsonl", [{"user_id": "u1", "item_id": "i1", "seq": 0}])
    with pytest.raises(InputError, match=r"look like the generic format's interactions .* name it interactions.jsonl"):
        L.read([tmp_path / "data.jsonl"])
    write_jsonl(tmp_path / "catalogue.jsonl", [{"item_id": "i1", "title": "A game"}])
    with pytest.raises(InputError, match=r"look like the generic format's items .* name it items.jsonl"):
        L.read([tmp_path / "catalogue.jsonl"])


def test_two_folders_of_the_generic_format_are_refused_not_read_as_the_last_one(tmp_path):
    """`kgrec load day1/ day2/` read day2 only (the second interactions.jsonl replaced the first by name): a new
    dataset silently lost day1, and a reload of a stored one removed day1's rows. Refused now, naming both files."""
    rows = {"day1": [{"user_id": "u1", "item_id": "a", "timestamp": 1}],
            "day2": [{"user_id": "u1", "item_id": "b", "timestamp": 2}]}
    for day, xs in rows.items():
        (tmp_path / day).mkdir()
        write_jsonl(tmp_path / day / "items.jsonl", [{"item_id": "a", "title": "A"}, {"item_id": "b", "title": "B"}])
        write_jsonl(tmp_path / day / "interactions.jsonl", xs)
    with pytest.raises(InputError, match=r"two files named interactions\.\* \(.*day1/interactions.jsonl and "
                                         r".*day2/interactions.jsonl\): a load reads one of each; load the folders "
                                         r"one at a time .*--append.*nothing was written"):
        L.read([tmp_path / "day1", tmp_path / "day2"])
    both = L.read([tmp_path / "day1", tmp_path / "day1" / "interactions.jsonl"])  # one file named twice: read once
    assert [x.item for x in both.interactions] == ["a"]
    (tmp_path / "day1" / "interactions.jsonl.gz").write_bytes(gzip.compress(b"{}\n"))  # a file beside its copy
    with pytest.raises(InputError, match=r"two files named interactions\.\* "):
        L.read([tmp_path / "day1"])
    assert len(L.read([tmp_path / "day2"]).interactions) == 1


# -- writing (real Neo4j) ----------------------------------------------------------------------

def counts(db):
    return db.query(
        "CALL () { MATCH (u:User) RETURN count(u) AS users } "
        "CALL () { MATCH (i:Item) RETURN count(i) AS items } "
        "CALL () { MATCH ()-[e:INTERACTED]->() RETURN count(e) AS edges } "
        "RETURN users, items, edges")[0]


def test_load_slice_then_reload_is_idempotent(db):
    rep = L.load(db, [SLICE], batch_size=200)
    assert (rep.users_written, rep.items_written, rep.interactions_written) == (40, 758, 831)
    first = counts(db)
    assert first == {"users": 40, "items": 758, "edges": 831}
    L.load(db, [SLICE], batch_size=97)
    assert counts(db) == first
    # splits: every user with >= 3 interactions has exactly one valid and one test edge, the last two
    rows = db.query(
        "MATCH (u:User)-[e:INTERACTED]->() WITH u, e ORDER BY e.seq "
        "WITH u, collect(e.split) AS s RETURN u.id AS u, s")
    for r in rows:
        s = r["s"]
        if len(s) >= 3:
            assert s[-2:] == ["valid", "test"] and set(s[:-2]) == {"train"}
    rated = db.query("MATCH ()-[e:INTERACTED]->() WHERE e.rating IS NOT NULL RETURN e.rating AS r, e.kind AS k, e.sign AS s")
    assert rated and all(L.kind_sign(x["r"]) == (x["k"], x["s"]) for x in rated)
    item = db.query("MATCH (i:Item {id: 'B00L59D9HG'}) RETURN i.title AS t, i.dataset AS d")[0]
    assert item == {"t": "Nintendo 3DS Compatible with 3DS / 3DS XL / 2DS AC Adapter", "d": "vg-slice"}


def test_partial_load_then_rerun_equals_full(db, tmp_path):
    """A load that stopped after some batches, rerun, ends identical to an uninterrupted load."""
    from tests.conftest import clear_database

    clear_database(db)
    calls = {"n": 0}

    def die_after_two(stage, done, total):
        if stage == "interactions" and done > 0:  # (the call with 0 comes before the first batch)
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        L.load(db, [SLICE], batch_size=100, progress=die_after_two)
    partial = counts(db)
    assert partial["edges"] == 200
    L.load(db, [SLICE], batch_size=100)
    assert counts(db) == {"users": 40, "items": 758, "edges": 831}
    assert db.value("MATCH (d:Dataset {name: 'vg-slice'}) RETURN d.status") == "loaded"


def test_strict_refuses_everything(db, tmp_path):
    from tests.conftest import clear_database

    clear_database(db)
    shutil.copy(SLICE / "items.jsonl", tmp_path / "items.jsonl")
    lines = (SLICE / "interactions.jsonl").read_text().splitlines()
    lines[10] = "{broken"
    (tmp_path / "interactions.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"--strict: 1 bad record.*interactions.jsonl:11: malformed JSON"):
        L.load(db, [tmp_path], strict=True)
    assert counts(db) == {"users": 0, "items": 0, "edges": 0}
    rep = L.load(db, [tmp_path])
    assert rep.skipped == {"malformed json": 1}
    assert counts(db)["edges"] == 830


def test_user_sample_and_k_core(db):
    from tests.conftest import clear_database

    clear_database(db)
    rep = L.load(db, [SLICE], max_users=10, seed=1)
    assert rep.users_written == 10
    assert counts(db)["users"] == 10
    # items are only those the sampled users touched
    assert db.value("MATCH (i:Item) WHERE NOT (i)<-[:INTERACTED]-() RETURN count(i)") == 0


def test_a_k_core_that_leaves_nothing_is_refused(db, data_dir):
    """The 2018 sample has a 2-core and no 3-core: --k-core 5 used to print `written: 0 users ...`, exit 0 and leave an
    empty (:Dataset) node."""
    from kgrec_neo4j.cli import cli
    from tests.conftest import clear_database

    clear_database(db)
    sample = str(data_dir / "formats" / "amazon2018" / "Video_Games_5.sample.json.gz")
    r = CliRunner().invoke(cli, ["load", sample, "--format", "amazon2018", "--k-core", "5", "--silent"])
    assert r.exit_code == 1, r.output
    assert "--k-core 5 leaves none of the 21411 interactions read" in r.output and "Lower --k-core" in r.output
    assert counts(db) == {"users": 0, "items": 0, "edges": 0}
    assert db.value("MATCH (d:Dataset) RETURN count(d)") == 0
    r = CliRunner().invoke(cli, ["load", sample, "--format", "amazon2018", "--k-core", "2", "--silent"])
    assert r.exit_code == 0 and "written: 1372 users" in r.output, r.output


def test_an_empty_dataset_node_left_by_an_earlier_load_is_taken_over(db, data_dir):
    """A dataset node without any user or item of it (what a load that wrote nothing left before it was refused)
    does not hold its id prefix or its mode: a later load of that name with another --id-prefix loads as new."""
    from kgrec_neo4j.cli import cli
    from tests.conftest import clear_database

    clear_database(db)
    sample = str(data_dir / "formats" / "amazon2018" / "Video_Games_5.sample.json.gz")
    name = "amazon2018"  # the sample's dataset name
    db.write("MERGE (d:Dataset {name: $n}) SET d.id_prefix = '', d.status = 'loaded'", n=name)
    r = CliRunner().invoke(cli, ["load", sample, "--format", "amazon2018", "--k-core", "2", "--id-prefix", "vg5:",
                                 "--silent"])
    assert r.exit_code == 0 and "written: 1372 users" in r.output, r.output
    assert db.value("MATCH (d:Dataset {name: $n}) RETURN d.id_prefix", n=name) == "vg5:"
    assert db.value("MATCH (u:User) WHERE u.dataset = $n AND NOT u.id STARTS WITH 'vg5:' RETURN count(u)", n=name) == 0
    r = CliRunner().invoke(cli, ["load", sample, "--format", "amazon2018", "--k-core", "2", "--id-prefix", "x:",
                                 "--silent"])  # a stored dataset keeps its prefix
    assert r.exit_code == 1 and "stored with id prefix 'vg5:'" in r.output, r.output


def test_cli_load_prints_counts_and_errors(db, tmp_path, monkeypatch):
    from kgrec_neo4j.cli import cli
    from tests.conftest import clear_database

    clear_database(db)
    r = CliRunner().invoke(cli, ["load", str(SLICE), "--silent"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "written: 40 users, 758 items, 831 interactions" in r.output
    r = CliRunner().invoke(cli, ["load", str(tmp_path)])
    assert r.exit_code != 0
