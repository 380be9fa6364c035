"""Appending and reloading data: `kgrec load --append`, a reload that replaces one dataset's rows, ids unique per
dataset, the ingest stamps `kgrec update` works from, and the bad input of both (real Neo4j, the vg-slice)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from _kg_fixture import SLICE, slice_rows, write_dataset

from kgrec_neo4j import load as L
from kgrec_neo4j.core.db import clear_database
from kgrec_neo4j.core.errors import InputError
from kgrec_neo4j.core.resources import cypher


def edges(db, dataset: str | None = None) -> list[tuple]:
    return [tuple(r.values()) for r in db.query(
        "MATCH (u:User)-[e:INTERACTED]->(i:Item) WHERE $d IS NULL OR u.dataset = $d "
        "RETURN u.id AS u, e.seq AS s, i.id AS i, e.split AS split, e.rating AS r, e.kind AS k, e.sign AS sg, "
        "u.n_interactions AS n ORDER BY u, s", d=dataset)]


def split_slice(tmp_path: Path, keep: int = 3) -> tuple[Path, Path, set[str]]:
    """The slice as a base (each user's first ``keep`` interactions, the items they name) and an append (the rest,
    numbered from 0 again per user: the loader numbers them after the stored ones). Returns the appended users."""
    items = {r["item_id"]: r for r in slice_rows("items.jsonl")}
    base, extra = [], []
    for r in slice_rows("interactions.jsonl"):
        (base if r["seq"] < keep else extra).append(r)
    base_items = {r["item_id"] for r in base}
    first = defaultdict(lambda: None)
    for r in extra:
        first[r["user_id"]] = r["seq"] if first[r["user_id"]] is None else min(first[r["user_id"]], r["seq"])
    extra = [{**r, "seq": r["seq"] - first[r["user_id"]] + 100} for r in extra]  # any numbers: only the order counts
    a = write_dataset(tmp_path / "base" / "vg", [items[i] for i in sorted(base_items)], base)
    b = write_dataset(tmp_path / "more" / "vg", [items[i] for i in sorted(set(items) - base_items)], extra)
    return a, b, {r["user_id"] for r in extra}


def whole_then_base(db, tmp_path: Path) -> tuple[list[tuple], tuple[Path, Path, set[str]]]:
    """The edges of the slice loaded whole, then a cleared graph holding the base of :func:`split_slice` (its result
    returned): what an append of the rest must end in, and where it starts."""
    clear_database(db)
    L.load(db, [SLICE], name="vg")
    want = edges(db)
    clear_database(db)
    parts = split_slice(tmp_path)
    L.load(db, [parts[0]])
    return want, parts


def test_append_equals_one_load_of_everything(db, tmp_path):
    clear_database(db)
    L.load(db, [SLICE], name="vg")
    want = edges(db)
    clear_database(db)
    base, more, appended = split_slice(tmp_path)
    first = L.load(db, [base])
    assert first.mode == "new" and first.ingest == 1
    rep = L.load(db, [more], append=True)
    assert rep.mode == "append" and rep.ingest == 2 and rep.users_touched == len(appended)
    assert rep.interactions_written == 831 - first.interactions_written
    # the appended users' old valid / test edges became train: split again, last-two-out over the whole history
    assert rep.splits_changed > 0
    assert edges(db) == want
    stamps = {r["id"]: r["ingest"] for r in db.query("MATCH (u:User) RETURN u.id AS id, u.ingest AS ingest")}
    assert {u for u, s in stamps.items() if s == 2} == appended and set(stamps.values()) <= {1, 2}
    assert db.value("MATCH (d:Dataset {name: 'vg'}) RETURN d.interactions") == 831


def test_a_days_rows_without_seq_are_appended_in_the_files_order(db, tmp_path):
    """A day's file of new rows without `seq` (written by hand or by another system) was refused line by line
    ('missing required field 'seq''), though an append numbers its rows after the stored ones and needs only their
    order: a user's lines without one are ordered by timestamp, then by the file. A user who gives it on some lines
    needs it on all (which comes first?)."""
    want, (base, more, appended) = whole_then_base(db, tmp_path)
    rows = [json.loads(x) for x in (more / "interactions.jsonl").read_text().splitlines()]
    rows.sort(key=lambda r: (r["user_id"], r["seq"]))
    (more / "interactions.jsonl").write_text("".join(
        json.dumps({k: v for k, v in r.items() if k not in ("seq", "timestamp")}) + "\n" for r in rows))
    rep = L.load(db, [more], append=True)
    assert rep.interactions_written == len(rows) and not rep.skipped, rep.issues
    assert edges(db) == want
    # by timestamp first: the later line with the earlier timestamp comes first
    mixed = tmp_path / "mixed" / "vg"
    user, item = rows[0]["user_id"], rows[0]["item_id"]
    mixed.mkdir(parents=True)
    (mixed / "interactions.jsonl").write_text(
        json.dumps({"user_id": "new-user", "item_id": item, "timestamp": 200}) + "\n"
        + json.dumps({"user_id": "new-user", "item_id": rows[1]["item_id"], "timestamp": 100}) + "\n"
        + json.dumps({"user_id": user, "item_id": item, "seq": 7}) + "\n"
        + json.dumps({"user_id": user, "item_id": item}) + "\n")
    ds = L.read([mixed], known_items={item, rows[1]["item_id"]})
    got = sorted((x.user, x.seq, x.item) for x in ds.interactions)
    assert got == sorted([("new-user", 0, rows[1]["item_id"]), ("new-user", 1, item), (user, 7, item)]), got
    assert [str(i) for i in ds.issues] == [
        f"{mixed / 'interactions.jsonl'}:4: missing seq, while user {user!r} has one on line 3: give every line of a "
        f"user a seq, or none (then its lines are ordered by timestamp, then by the file)"]


def test_an_append_writes_each_interaction_once(db, tmp_path):
    """An append run twice, killed half way and run again, or given a newer copy of the files (the stored rows, then
    more) writes each interaction once: the rows a user's stored history already ends with are not written again."""
    want, (base, more, appended) = whole_then_base(db, tmp_path)
    extra = [r for r in (more / "interactions.jsonl").read_text().splitlines() if r.strip()]
    # half of the append lands (as a kill after some batches leaves it), then the whole file is appended again
    half = write_dataset(tmp_path / "half" / "vg", slice_rows("items.jsonl"),
                         [json.loads(x) for x in extra[: len(extra) // 2]])
    first = L.load(db, [half], append=True)
    rep = L.load(db, [more], append=True)
    assert rep.interactions_already_stored == first.interactions_written > 0
    assert rep.interactions_written == len(extra) - first.interactions_written
    assert edges(db) == want
    # the dataset lists the files of every load it is made of (each once, the latest last)
    sources = db.value("MATCH (d:Dataset {name: 'vg'}) RETURN d.sources")
    assert sources == [str(base / "items.jsonl"), str(base / "interactions.jsonl"), str(half / "items.jsonl"),
                       str(half / "interactions.jsonl"), str(more / "items.jsonl"), str(more / "interactions.jsonl")]
    # the same file again: nothing is written, no user is stamped for `kgrec update`
    again = L.load(db, [more], append=True)
    assert again.interactions_written == 0 and again.users_touched == 0 and again.splits_changed == 0
    assert again.items_written == 0  # (the items too: as stored)
    assert again.interactions_already_stored == len(extra)
    assert edges(db) == want
    # a newer copy of the whole dataset: only what is new is written
    rows = slice_rows("interactions.jsonl")
    last = {r["user_id"]: r for r in rows}
    newer = [*rows, {**last[sorted(appended)[0]], "seq": 10_000, "rating": 1.0, "review_text": "changed my mind"}]
    copy = write_dataset(tmp_path / "newer" / "vg", slice_rows("items.jsonl"), newer)
    rep = L.load(db, [copy], append=True)
    assert rep.interactions_written == 1 and rep.interactions_already_stored == len(rows) and rep.users_touched == 1
    assert len(edges(db)) == len(want) + 1


class _Killed(BaseException):
    """The process dies here (kill -9): nothing after this point is written."""


def test_an_append_killed_once_its_rows_are_written_and_run_again_splits_the_histories(db, tmp_path, monkeypatch):
    """An append killed right after its rows were written, and run again, leaves every history split last-two-out
    as one append does: the rerun finds every row stored and writes nothing, so the stored rows' new splits must
    not come after the rows (until 2026-12-03 they did, and such users kept their old valid and test edges beside
    the new ones: two of each)."""
    want, (base, more, _) = whole_then_base(db, tmp_path)
    rows_query = cypher("load/interactions")
    real = db.write_batches

    def dies_after_the_rows(query, *args, **kwargs):
        n = real(query, *args, **kwargs)
        if query == rows_query:
            raise _Killed
        return n

    monkeypatch.setattr(db, "write_batches", dies_after_the_rows)
    with pytest.raises(_Killed):
        L.load(db, [more], append=True)
    monkeypatch.undo()
    L.load(db, [more], append=True)
    assert edges(db) == want


def test_a_rerun_append_splits_again_a_history_left_with_two_test_edges(db, tmp_path):
    """A graph an append killed before 2026-12-03 left broken (the users' old valid and test edges beside the new
    ones) was not repaired by running the append again: it found every row stored and wrote nothing. A rerun now
    splits such a history again (and only such: a rerun on a sound graph still writes nothing); `kgrec doctor` names
    such users."""
    from kgrec_neo4j.local.doctor import run_checks

    want, (base, more, appended) = whole_then_base(db, tmp_path)
    L.load(db, [more], append=True)
    assert edges(db) == want
    again = L.load(db, [more], append=True)
    assert again.splits_changed == 0 and again.users_touched == 0 and again.ingest == 0
    # the broken state: each user's first two interactions kept the valid / test split of the base
    users = sorted(appended)[:5]
    db.write("MATCH (u:User)-[e:INTERACTED]->() WHERE u.id IN $users AND e.seq IN [0, 1] "
             "SET e.split = CASE e.seq WHEN 0 THEN 'valid' ELSE 'test' END", users=users)
    assert edges(db) != want
    found = {c.name: c for c in run_checks(db.settings)}["splits"]
    assert not found.ok and found.detail.startswith(f"{len(users)} users of dataset(s) vg")
    assert "kgrec interactions split" in found.fix and "append" in found.fix, found.fix
    rep = L.load(db, [more], append=True)
    assert rep.interactions_written == 0 and rep.splits_changed == 2 * len(users) and rep.users_touched == len(users)
    assert rep.ingest > 0 and db.value("MATCH (u:User) WHERE u.id IN $users RETURN collect(DISTINCT u.ingest)",
                                       users=users) == [rep.ingest]  # their interests follow at the next update
    assert edges(db) == want
    assert {c.name: c for c in run_checks(db.settings)}["splits"].ok
    # `kgrec interactions split` repairs such a history too, without the files, and then finds nothing to do
    from kgrec_neo4j.load.split import split_again

    db.write("MATCH (u:User)-[e:INTERACTED]->() WHERE u.id IN $users AND e.seq IN [0, 1] "
             "SET e.split = CASE e.seq WHEN 0 THEN 'valid' ELSE 'test' END", users=users)
    rep = split_again(db)
    assert (rep.users, rep.edges) == (len(users), 2 * len(users)) and rep.ingest is not None
    assert edges(db) == want
    assert db.value("MATCH (u:User) WHERE u.id IN $users RETURN collect(DISTINCT u.ingest)", users=users) == [rep.ingest]
    assert split_again(db) == (0, 0, None, (), 0)


def test_a_rerun_append_writes_nothing_twice_after_other_writers_reached_its_users(db, tmp_path):
    """A timestamped row the user's history holds anywhere (same item, timestamp, rating and review) is stored: an
    append run again after the service recorded an interaction of the user, or after another append reached the user,
    writes nothing (before, only rows the history ended with were recognised, and both were written again)."""
    from kgrec_neo4j.serve.record import InteractionIn, record_interaction

    clear_database(db)
    items = slice_rows("items.jsonl")[:6]
    ids = [r["item_id"] for r in items]

    def row(user: str, i: int, seq: int, ts: int) -> dict:
        return {"user_id": user, "item_id": ids[i], "seq": seq, "rating": 5.0, "timestamp": ts, "review_title": None,
                "review_text": None}

    L.load(db, [write_dataset(tmp_path / "base" / "vg", items, [row("u1", 0, 0, 100), row("u1", 1, 1, 200),
                                                                 row("u1", 2, 2, 300), row("u2", 0, 0, 100)])])
    week = write_dataset(tmp_path / "week" / "vg", [], [row("u1", 3, 0, 400), row("u2", 1, 0, 150)])
    assert L.load(db, [week], append=True).interactions_written == 2
    assert record_interaction(db, "u1", InteractionIn(item=ids[4], timestamp=500)).written  # the service, after it
    assert L.load(db, [write_dataset(tmp_path / "week2" / "vg", [], [row("u2", 2, 0, 250)])],
                  append=True).interactions_written == 1  # another append, after it
    stored = edges(db)
    again = L.load(db, [week], append=True)
    assert again.interactions_written == 0 and again.interactions_already_stored == 2 and again.users_touched == 0
    assert edges(db) == stored
    # an interaction of the file that is not stored yet is written, once; the stored ones are still recognised
    more = write_dataset(tmp_path / "more" / "vg", [], [row("u1", 3, 0, 400), row("u1", 5, 1, 600)])
    rep = L.load(db, [more], append=True)
    assert rep.interactions_written == 1 and rep.interactions_already_stored == 1
    assert db.value("MATCH (:User {id: 'u1'})-[e:INTERACTED]->() RETURN count(e)") == 6


def test_an_append_keeps_the_stored_text_a_record_leaves_out(db, tmp_path):
    """A record of a stored item that has only some text fields changes those; the others keep their stored values
    (and the text hash follows the text as stored). An append may have one of the generic files alone."""
    from kgrec_neo4j.core.texthash import text_hash

    clear_database(db)
    L.load(db, [SLICE], name="vg")
    fields = "RETURN i.title AS title, i.description AS description, i.features AS features, " \
             "i.categories AS categories, i.brand AS brand, i.current_text_hash AS h"
    item = slice_rows("items.jsonl")[0]["item_id"]  # (the slice has titles only: the item gets every field first)
    L.load(db, [write_dataset(tmp_path / "full" / "vg", [{
        "item_id": item, "title": "AC Adapter", "description": ["Charges the console."], "features": ["1.5 m cable"],
        "categories": ["Video Games", "Accessories"], "brand": "Nintendo"}], [])], append=True)
    before = db.query("MATCH (i:Item {id: $i}) " + fields, i=item)[0]
    folder = tmp_path / "retitle" / "vg"
    folder.mkdir(parents=True)
    (folder / "items.jsonl").write_text(f'{{"item_id": "{item}", "title": "A New Title"}}\n')
    rep = L.load(db, [folder], append=True)  # (no interactions file)
    assert rep.items_written == 1 and rep.items_text_kept == 1 and rep.interactions_written == 0
    after = db.query("MATCH (i:Item {id: $i}) " + fields, i=item)[0]
    assert after["title"] == "A New Title"
    assert {k: after[k] for k in ("description", "features", "categories", "brand")} == \
        {k: before[k] for k in ("description", "features", "categories", "brand")}
    assert after["h"] == text_hash(after) != before["h"]
    # interactions alone (no items file), naming the stored item
    user = edges(db)[0][0]
    only = tmp_path / "only" / "vg"
    only.mkdir(parents=True)
    (only / "interactions.jsonl").write_text(f'{{"user_id": "{user}", "item_id": "{item}", "seq": 0, "rating": 4.0}}\n')
    rep = L.load(db, [only], append=True)
    assert rep.interactions_written == 1 and rep.items_written == 0
    assert db.query("MATCH (i:Item {id: $i}) " + fields, i=item)[0] == after
    with pytest.raises(InputError, match="with --append, to a stored dataset, either may be alone"):
        L.load(db, [only], name="vg")
    # --append to a dataset that is not stored (here named by the folder) is refused, naming the stored ones
    with pytest.raises(InputError, match=r"no dataset 'elsewhere' is stored.*--dataset <name> \(stored: vg\)"):
        L.load(db, [write_dataset(tmp_path / "x" / "elsewhere", [], [])], append=True)


def test_items_as_stored_are_not_written_again(db, tmp_path):
    """A reload of the same files writes no item and says so (`items_written`); an item whose text changed is
    written, with its new text hash, and no other."""
    from kgrec_neo4j.core.texthash import text_hash

    clear_database(db)
    first = L.load(db, [SLICE], name="vg")
    assert first.items_written == first.items_read > 0
    again = L.load(db, [SLICE], name="vg")
    assert again.mode == "reload" and again.items_written == 0 and again.interactions_written == 0
    items = slice_rows("items.jsonl")
    items[0] = {**items[0], "title": "A New Title"}
    before = {r["id"]: r["h"] for r in db.query("MATCH (i:Item) RETURN i.id AS id, i.current_text_hash AS h")}
    changed = L.load(db, [write_dataset(tmp_path / "vg", items, slice_rows("interactions.jsonl"))], name="vg")
    assert changed.items_written == 1
    after = {r["id"]: r["h"] for r in db.query("MATCH (i:Item) RETURN i.id AS id, i.current_text_hash AS h")}
    item = items[0]["item_id"]
    assert after[item] == text_hash(items[0]) != before[item]
    assert {i: h for i, h in after.items() if i != item} == {i: h for i, h in before.items() if i != item}
    assert db.value("MATCH (i:Item {id: $i}) RETURN i.title", i=item) == "A New Title"


def test_a_reload_that_changes_nothing_takes_no_ingest_number(db, tmp_path):
    """A reload of unchanged files wrote nothing but took a new ingest number: the counter moved with nothing for
    `kgrec update` to do. A reload that changes an item or an interaction takes one, and so does an append."""
    from _kg_fixture import invoke_cli

    from kgrec_neo4j.load.ingest import current_ingest

    def stamped(n: int) -> set[str]:
        return set(db.value("MATCH (u:User) WHERE u.ingest >= $n RETURN collect(u.id)", n=n))

    clear_database(db)
    base, more, appended = split_slice(tmp_path)
    base_items = [json.loads(x) for x in (base / "items.jsonl").read_text().splitlines()]
    base_inter = [json.loads(x) for x in (base / "interactions.jsonl").read_text().splitlines()]
    assert L.load(db, [base]).ingest == 1
    again = L.load(db, [base])
    assert (again.mode, again.ingest, again.items_written, again.users_touched) == ("reload", 0, 0, 0)
    r = invoke_cli(["load", "--silent", str(base)])
    assert r.exit_code == 0 and "changed: nothing (no ingest number taken)" in r.output, r.output
    assert current_ingest(db) == 1
    titled = [{**base_items[0], "title": "A New Title"}, *base_items[1:]]
    assert L.load(db, [write_dataset(tmp_path / "titled" / "vg", titled, base_inter)]).ingest == 2
    rated = [{**base_inter[0], "rating": 1.0}, *base_inter[1:]]
    rep = L.load(db, [write_dataset(tmp_path / "rated" / "vg", titled, rated)])
    assert rep.ingest == 3 and stamped(3) == {rated[0]["user_id"]}
    rep = L.load(db, [more], append=True)
    assert rep.mode == "append" and rep.ingest == 4 and stamped(4) == appended
    assert current_ingest(db) == 4


def test_an_append_that_writes_nothing_takes_no_ingest_number(db, tmp_path):
    """An append of rows all stored already (the same file again, as `kgrec load <folder> --append` every day with an
    unchanged copy) wrote nothing but took a new ingest number and said "changed: 0 users stamped with ingest N"."""
    from _kg_fixture import invoke_cli

    from kgrec_neo4j.load.ingest import current_ingest

    clear_database(db)
    base, more, _ = split_slice(tmp_path)
    L.load(db, [base])
    assert L.load(db, [more], append=True).ingest == 2
    again = L.load(db, [more], append=True)
    assert (again.mode, again.ingest, again.interactions_written, again.users_touched) == ("append", 0, 0, 0)
    r = invoke_cli(["load", "--silent", str(more), "--append"])
    assert r.exit_code == 0 and "changed: nothing (no ingest number taken)" in r.output, r.output
    assert current_ingest(db) == 2


def test_appended_interaction_of_an_unknown_item_is_reported_and_skipped(db, tmp_path):
    clear_database(db)
    base, _, _ = split_slice(tmp_path)
    L.load(db, [base])
    before = edges(db)
    user = before[0][0]
    stored_item = before[0][2]
    add = write_dataset(tmp_path / "add" / "vg", [], [
        {"user_id": user, "item_id": stored_item, "seq": 0, "rating": 5.0},
        {"user_id": user, "item_id": "NO-SUCH-ITEM", "seq": 1, "rating": 1.0},
        {"user_id": "new-user", "item_id": stored_item, "seq": 0},
    ])
    with pytest.raises(InputError, match=r"--strict: 1 bad record.*interactions.jsonl:2: item 'NO-SUCH-ITEM' is not in "
                                         r"items.jsonl nor in dataset 'vg'"):
        L.load(db, [add], append=True, strict=True)
    assert edges(db) == before
    rep = L.load(db, [add], append=True)
    assert rep.skipped == {"unknown item": 1}
    assert rep.issues == [f"{add / 'interactions.jsonl'}:2: item 'NO-SUCH-ITEM' is not in items.jsonl nor in dataset "
                          f"'vg': add its record to items.jsonl"]
    mine = [e for e in edges(db) if e[0] == user]
    old_max = max(e[1] for e in before if e[0] == user)
    assert mine[-1][1:3] == (old_max + 1, stored_item)  # the next seq, after the stored ones
    assert [e for e in edges(db) if e[0] == "new-user"] == [("new-user", 0, stored_item, "train", None, "implicit", 1, 1)]


def test_cli_says_how_to_add_the_skipped_lines_of_an_append(db, tmp_path):
    """Appending the whole file again after correcting a line in the middle stores the lines around it twice (only a
    run of rows the stored history ends with is recognised): the CLI says to append only the corrected lines."""
    from _kg_fixture import invoke_cli

    clear_database(db)
    base, _, _ = split_slice(tmp_path)
    L.load(db, [base])
    stored = [e[2] for e in edges(db)][:2]
    add = tmp_path / "add" / "vg"
    add.mkdir(parents=True)
    (add / "interactions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [
        {"user_id": "u-new", "item_id": stored[0], "seq": 0}, {"user_id": "u-new", "item_id": "NO-SUCH-ITEM", "seq": 1},
        {"user_id": "u-new", "item_id": stored[1], "seq": 2}]) + '{"user_id": "u-new", "item_id": \n')
    r = invoke_cli(["load", str(add), "--append", "--silent"])
    assert r.exit_code == 0, r.output
    assert (f"{add / 'interactions.jsonl'}:2: item 'NO-SUCH-ITEM' is not in the files (no items file) nor in dataset "
            f"'vg': add its record to an items.jsonl beside this file") in r.output
    assert f"{add / 'interactions.jsonl'}:4: malformed JSON" in r.output
    assert "correct them and append a file of only those lines" in r.output
    assert "safe for rows with a timestamp, which are recognised as stored" in r.output  # as docs/updates.md says
    # a reload: running it again is the way (--yes: it removes the rows appended from the file it leaves out)
    r = invoke_cli(["load", str(base), "--silent", "--yes"])
    assert "skipped: 0" in r.output and "to add the skipped lines" not in r.output
    other = write_dataset(tmp_path / "other", [{"item_id": "o1", "title": "One"}], [
        {"user_id": "u-o", "item_id": "o1", "seq": 0}, {"user_id": "u-o", "item_id": "NO-SUCH-ITEM", "seq": 1}])
    r = invoke_cli(["load", str(other), "--silent"])
    assert r.exit_code == 0 and "item 'NO-SUCH-ITEM' is not in items.jsonl: add its record to items.jsonl" in r.output
    assert "correct them and run the same command again" in r.output


def derived(db):
    """What later stages derive, made by hand on the slice: a concept, knowledge and an interest."""
    from kgrec_neo4j.core.schema import APPLY_METADATA

    # the database was cleared: the type the trigger checks (written as `kgrec schema apply` writes types)
    db.write("MERGE (:KnowledgeType {name: 'Components'})", tx_metadata=APPLY_METADATA)
    db.write("MERGE (c:Concept {id: 'c1'}) SET c.name = 'adapter', c.type = 'Components'")
    db.write("MATCH (i:Item), (c:Concept {id: 'c1'}) WITH i, c ORDER BY i.id LIMIT 50 MERGE (i)-[:HAS_KNOWLEDGE]->(c)")
    db.write("MATCH (i:Item) WITH i ORDER BY i.id LIMIT 50 MERGE (m:Mention {type: 'Components', key: i.id}) "
             "MERGE (i)-[:MENTIONS {extractor: 'offline'}]->(m)")
    db.write("MATCH (u:User), (c:Concept {id: 'c1'}) MERGE (u)-[:INTERESTED_IN {horizon: 'long'}]->(c)")


def test_reload_replaces_the_datasets_rows_and_nothing_else(db, tmp_path):
    clear_database(db)
    items, inter = slice_rows("items.jsonl"), slice_rows("interactions.jsonl")
    a = write_dataset(tmp_path / "a" / "vg", items, inter)
    other = write_dataset(tmp_path / "b" / "other", [{**r, "item_id": "o-" + r["item_id"]} for r in items[:30]],
                  [{**r, "user_id": "o-" + r["user_id"], "item_id": "o-" + r["item_id"]} for r in inter
                   if r["item_id"] in {x["item_id"] for x in items[:30]}])
    L.load(db, [a])
    L.load(db, [other])
    derived(db)
    theirs = edges(db, "other")
    users = sorted({r["user_id"] for r in inter})
    gone_user = users[0]
    gone_item = sorted(items, key=lambda r: r["item_id"])[0]["item_id"]  # has knowledge and a mention
    changed = next(r for r in inter if r["user_id"] == users[1] and r["item_id"] != gone_item)
    inter2 = [dict(r, rating=1.0) if r is changed else r for r in inter
              if r["user_id"] != gone_user and r["item_id"] != gone_item]
    items2 = [r for r in items if r["item_id"] != gone_item]
    hit = {r["user_id"] for r in inter if r["item_id"] == gone_item and r["user_id"] != gone_user}
    a2 = write_dataset(tmp_path / "a2" / "vg", items2, inter2)
    rep = L.load(db, [a2])
    assert rep.mode == "reload" and rep.users_removed == 1 and rep.items_removed == 1
    assert rep.interactions_removed == sum(1 for r in inter if r["user_id"] == gone_user or r["item_id"] == gone_item)
    # removed rows are gone with what derives from them; the other dataset is untouched
    assert db.value("MATCH (u:User {id: $u}) RETURN count(u)", u=gone_user) == 0
    assert db.value("MATCH (i:Item {id: $i}) RETURN count(i)", i=gone_item) == 0
    assert db.value("MATCH (m:Mention {key: $i}) RETURN count(m)", i=gone_item) == 0
    assert db.value("MATCH (:Concept {id: 'c1'})<-[h:HAS_KNOWLEDGE]-() RETURN count(h)") == 49
    assert edges(db, "other") == theirs
    # the graph equals a fresh load of the new files (the same rows, splits and kinds)
    now = edges(db, "vg")
    clear_database(db)
    L.load(db, [a2])
    assert now == edges(db, "vg")
    # only the users whose interactions changed are stamped for `kgrec update`
    clear_database(db)
    L.load(db, [a])
    L.load(db, [a2])
    stamps = {r["id"]: r["ingest"] for r in db.query("MATCH (u:User) RETURN u.id AS id, u.ingest AS ingest")}
    assert {u for u, s in stamps.items() if s == 2} == hit | {changed["user_id"]}
    # an unchanged reload writes no interaction and stamps nobody
    rep = L.load(db, [a2])
    assert (rep.interactions_written, rep.interactions_removed, rep.users_touched) == (0, 0, 0)


def test_reload_that_removes_everything_needs_yes(db, tmp_path):
    clear_database(db)
    L.load(db, [SLICE], name="vg")
    empty = write_dataset(tmp_path / "e" / "vg", [], [])
    with pytest.raises(InputError, match=r"would remove all its 831 stored interactions \(40 users, 758 items\).*--yes"):
        L.load(db, [empty])
    assert len(edges(db)) == 831
    rep = L.load(db, [empty], yes=True)
    assert rep.interactions_removed == 831 and rep.users_removed == 40 and rep.items_removed == 758
    assert db.value("MATCH (n) WHERE n:User OR n:Item RETURN count(n)") == 0
    # nothing of the dataset is left: no empty (:Dataset) node either
    assert rep.dataset_removed and db.value("MATCH (d:Dataset) RETURN count(d)") == 0


def test_a_days_rows_loaded_without_append_remove_nothing(db, tmp_path):
    """A day's new rows given without --append are a reload that keeps only them: it removed the rest of the dataset
    (every other user, item and interaction, with all that derives from them) and exited 0. A reload that would remove
    more than half of the stored interactions now needs --yes, like one that removes all of them."""
    from _kg_fixture import invoke_cli

    clear_database(db)
    items = slice_rows("items.jsonl")
    inter = slice_rows("interactions.jsonl")
    L.load(db, [SLICE], name="vg")
    before = edges(db)
    last = {}
    for r in inter:
        last[r["user_id"]] = r
    day = write_dataset(tmp_path / "day" / "vg", [r for r in items if r["item_id"] in {x["item_id"] for x in
                                                                                        last.values()}],
                        list(last.values()))
    r = invoke_cli(["load", str(day), "--silent"])
    assert r.exit_code == 1, r.output
    assert (f"would remove {831 - 40} of its 831 stored interactions and 0 of its 40 users, with everything derived "
            f"from them, and keep 40; nothing was written") in r.output, r.output
    assert "to add these rows to it, pass --append; to replace it, pass --yes" in r.output
    assert edges(db) == before
    rep = L.load(db, [day], yes=True)
    assert rep.mode == "reload" and rep.interactions_removed == 831 - 40 and len(edges(db)) == 40


def test_a_reload_that_keeps_items_keeps_the_dataset(db, tmp_path):
    from _kg_fixture import invoke_cli

    clear_database(db)
    L.load(db, [SLICE], name="vg")
    items_only = write_dataset(tmp_path / "i" / "vg", slice_rows("items.jsonl")[:5], [])
    r = invoke_cli(["load", str(items_only), "--yes", "--silent"])
    assert r.exit_code == 0, r.output
    assert "removed: 831 interactions, 40 users, 753 items\n" in r.output  # no "nothing of dataset vg is left"
    assert db.value("MATCH (d:Dataset {name: 'vg'}) RETURN d.items") == 5
    empty = write_dataset(tmp_path / "e" / "vg", [], [])
    r = invoke_cli(["load", str(empty), "--yes", "--silent"])
    assert r.exit_code == 0, r.output
    assert "removed: 0 interactions, 0 users, 5 items; nothing of dataset vg is left, so it was removed too" in r.output
    assert db.value("MATCH (d:Dataset) RETURN count(d)") == 0


def test_ids_are_unique_per_dataset(db, tmp_path):
    clear_database(db)
    L.load(db, [SLICE], name="vg")
    copy = write_dataset(tmp_path / "copy", slice_rows("items.jsonl")[:20], slice_rows("interactions.jsonl")[:30])
    with pytest.raises(InputError, match=r"user ids and 20 item ids of dataset 'copy' already belong to "
                                         r"another dataset.*--id-prefix"):
        L.load(db, [copy])
    assert db.value("MATCH (d:Dataset {name: 'copy'}) RETURN count(d)") == 0
    first = L.load(db, [copy], id_prefix="copy:")
    assert first.items_written == 20 and first.interactions_written > 0
    assert first.other_datasets == ["vg"]  # named for the CLI's note: rows meant for vg go in with --append
    assert db.value("MATCH (i:Item) WHERE i.dataset = 'copy' AND NOT i.id STARTS WITH 'copy:' RETURN count(i)") == 0
    assert len(edges(db, "vg")) == 831
    with pytest.raises(InputError, match="stored with id prefix 'copy:', not 'x:'"):
        L.load(db, [copy], id_prefix="x:", append=True)
    rep = L.load(db, [copy], append=True)  # the stored prefix is used
    assert rep.id_prefix == "copy:" and rep.interactions_written == 0  # (the same rows again: already stored)
    assert rep.interactions_already_stored == first.interactions_written
    from _kg_fixture import invoke_cli

    r = invoke_cli(["load", str(copy), "--dataset", "copy2", "--id-prefix", "c2:", "--silent"])
    assert r.exit_code == 0 and ("note:    'copy2' is a new dataset beside 'copy', 'vg'; rows meant for a stored one "
                                 "are added to it with `--dataset NAME --append`") in r.output, r.output


def test_cli_append_and_reload(db, tmp_path):
    from _kg_fixture import invoke_cli

    clear_database(db)
    base, more, appended = split_slice(tmp_path)
    r = invoke_cli(["load", str(base), "--silent"])
    assert r.exit_code == 0 and "(generic, new)" in r.output and "note:" not in r.output
    r = invoke_cli(["load", str(more), "--append", "--silent"])
    assert r.exit_code == 0, r.output
    assert "(generic, append)" in r.output and f"changed: {len(appended)} users stamped with ingest 2" in r.output
    # the users written are counted with how many of them are new (the appended ones are all stored already)
    assert f"written: {len(appended)} users (0 new), " in r.output, r.output
    item = slice_rows("items.jsonl")[0]
    one = write_dataset(tmp_path / "one" / "vg", [], [{"user_id": "newcomer", "item_id": item["item_id"], "seq": 0,
                                                       "rating": 5}])
    r = invoke_cli(["load", str(one), "--append", "--dataset", "vg", "--silent"])
    assert r.exit_code == 0 and "written: 1 user (1 new), 0 items, 1 interaction" in r.output, r.output
    r = invoke_cli(["load", str(more), "--append", "--users", "5"])
    assert r.exit_code == 1 and "--append adds every record" in r.output


def test_a_reload_of_the_first_days_files_keeps_the_appended_days(db, tmp_path):
    """Day 0's files reloaded alone, after a later day was appended, removed the appended day's rows without a question
    when they were under half of the dataset (a walkthrough lost 39% of a shop's interactions so). A reload that gives
    some of the dataset's files and leaves out others now needs --yes to remove anything, and names the files left
    out; so does a reload that would remove interactions the service recorded (they are in no file)."""
    from _kg_fixture import invoke_cli

    from kgrec_neo4j.serve.record import InteractionIn, record_interaction

    clear_database(db)
    base, more, _ = split_slice(tmp_path, keep=20)
    L.load(db, [base])
    L.load(db, [more], append=True)
    before = edges(db)
    appended = sum(1 for r in slice_rows("interactions.jsonl") if r["seq"] >= 20)
    assert 0 < 2 * appended < len(before), (appended, len(before))  # under the half: the older rule let it through
    r = invoke_cli(["load", str(base), "--silent"])
    assert r.exit_code == 1, r.output
    assert f"would remove {appended} of its {len(before)} stored interactions; the dataset was also loaded from " \
           f"{(more / 'interactions.jsonl').resolve()}, which this reload leaves out, and the rows only they hold " \
           f"would go ({appended} of the {appended})" in r.output, r.output  # (its items file holds no interaction)
    assert edges(db) == before
    # the appended day given again with it, as the files of one more append: nothing removed, nothing written
    again = L.load(db, [more], append=True)
    assert again.interactions_written == 0 and edges(db) == before
    # an interaction the service recorded is in no file: a reload from files that keep every other row removes it
    user = db.value("MATCH (u:User) RETURN u.id ORDER BY u.id LIMIT 1")
    item = db.value("MATCH (i:Item) RETURN i.id ORDER BY i.id LIMIT 1")
    assert record_interaction(db, user, InteractionIn(item=item, timestamp=2_000_000_000)).written
    with_live = edges(db)
    merged = write_dataset(tmp_path / "merged" / "vg", slice_rows("items.jsonl"), slice_rows("interactions.jsonl"))
    with pytest.raises(InputError, match=r"would remove 1 interaction recorded live \(by `kgrec serve --writes`, "
                                         r"or by a Cypher client"):
        L.load(db, [merged], name="vg")
    assert edges(db) == with_live
    # an export that has the recorded interaction too, at another place of the user's history, loses nothing
    rows = [{**r, "seq": r["seq"] + 1} if r["user_id"] == user else r for r in slice_rows("interactions.jsonl")]
    first = min((r for r in rows if r["user_id"] == user), key=lambda r: r["seq"])
    export = write_dataset(tmp_path / "export" / "vg", slice_rows("items.jsonl"), [
        *rows, {**first, "seq": 0, "item_id": item, "timestamp": 2_000_000_000, "rating": None, "review_title": None,
                "review_text": None}])
    L.load(db, [export], name="vg")  # no --yes
    assert db.value("MATCH (:User {id: $u})-[e:INTERACTED {seq: 0}]->(i:Item) RETURN i.id + e.timestamp",
                    u=user) == f"{item}2000000000"
    # with --yes, day 0's files replace the dataset
    L.load(db, [base], yes=True)
    assert len(edges(db)) == len(before) - appended


def test_a_reload_from_a_copy_elsewhere_keeps_the_appended_days(db, tmp_path):
    """Day 0's files copied to another folder (a new download) and reloaded from there removed the appended day's
    rows without a question: only a reload that gave some of the stored files again was asked about. The files
    appended since the last load count whatever files the reload gives; a reload resets them."""
    import shutil

    clear_database(db)
    base, more, _ = split_slice(tmp_path, keep=20)
    L.load(db, [base])
    L.load(db, [more], append=True)
    before = edges(db)
    copy = tmp_path / "download" / "vg"
    shutil.copytree(base, copy)
    with pytest.raises(InputError, match=r"the dataset was also loaded from .*more/vg/interactions.jsonl, which this "
                                         r"reload leaves out"):
        L.load(db, [copy])
    assert edges(db) == before
    rep = L.load(db, [copy], yes=True)
    assert rep.interactions_removed > 0 and len(edges(db)) < len(before)
    # the reload replaced the appended day: a later reload from other files is not asked about it again
    assert db.value("MATCH (d:Dataset {name: 'vg'}) RETURN d.appended") == []
    L.load(db, [base])


def test_a_new_export_elsewhere_that_drops_a_first_day_row_goes_through(db, tmp_path):
    """After an append, a new export of the whole dataset in another folder that drops one row of the first day (a
    deleted review) was refused as if it lost the appended files' rows: only the rows written after the last load
    without --append count against the appended files left out."""
    clear_database(db)
    base, more, _ = split_slice(tmp_path, keep=20)
    L.load(db, [base])
    L.load(db, [more], append=True)
    before = edges(db)
    stored = db.query("MATCH (u:User)-[e:INTERACTED]->(i:Item) RETURN u.id AS u, e.seq AS s, i.id AS i, "
                      "e.rating AS r, e.timestamp AS t ORDER BY u, s")
    dropped = stored[0]  # the first user's first interaction: a row of the first day
    rows = [{"user_id": x["u"], "item_id": x["i"], "seq": x["s"], "rating": x["r"], "timestamp": x["t"]}
            for x in stored if x != dropped]
    export = write_dataset(tmp_path / "export" / "vg", slice_rows("items.jsonl"), rows)
    rep = L.load(db, [export])  # no --yes
    assert rep.interactions_removed == 1 and len(edges(db)) == len(before) - 1
    # so does one that drops a first-day item (and its rows) after another append: items were not judged by when
    # they came, and any item removed while the appended files were left out was refused
    day0 = {r["item_id"] for r in slice_rows("interactions.jsonl") if r["seq"] < 20}
    later = {r["item_id"] for r in slice_rows("interactions.jsonl") if r["seq"] >= 20}
    gone = min(i for i in day0 - later if sum(1 for x in rows if x["item_id"] == i) == 1)
    export2 = write_dataset(tmp_path / "export2" / "vg", [r for r in slice_rows("items.jsonl") if r["item_id"] != gone],
                            [x for x in rows if x["item_id"] != gone])
    new_item = {**slice_rows("items.jsonl")[0], "item_id": "B0APPENDED", "title": "An item appended alone"}
    L.load(db, [write_dataset(tmp_path / "day2" / "vg", [new_item], [])], name="vg", append=True, yes=True)
    assert db.value("MATCH (i:Item {id: 'B0APPENDED'}) RETURN i.base_load") is None
    # ... but an item that only an appended file brought is still asked about
    with pytest.raises(InputError, match=r"would remove 1 of its \d+ stored items; the dataset was also loaded from "
                                         r".*day2/vg/items.jsonl, .*, which this reload leaves out"):
        L.load(db, [export2], name="vg")
    stored_now = len(edges(db))
    export3 = write_dataset(tmp_path / "export3" / "vg", [*(r for r in slice_rows("items.jsonl")
                                                            if r["item_id"] != gone), new_item],
                            [x for x in rows if x["item_id"] != gone])
    rep = L.load(db, [export3], name="vg")  # no --yes: the first-day item goes, with its first-day row
    assert rep.items_removed == 1 and rep.interactions_removed == 1 and len(edges(db)) == stored_now - 1, rep
    assert db.value("MATCH (i:Item {id: $i}) RETURN count(i)", i=gone) == 0
    assert db.value("MATCH (i:Item {id: 'B0APPENDED'}) RETURN i.base_load")  # the reload ended with it


def test_a_reload_that_leaves_out_an_appended_repeat_purchase_is_asked_about(db, tmp_path):
    """A repeat purchase appended on a later day names an item the first day's files have too: a reload of those files
    alone must still ask before it removes the repeat (rows the files keep under other seq numbers are not lost, but
    only as many as the files have)."""
    clear_database(db)
    items = slice_rows("items.jsonl")[:2]
    ids = [r["item_id"] for r in items]
    base = write_dataset(tmp_path / "base" / "vg", items, [
        {"user_id": "u1", "item_id": ids[0], "seq": 0, "timestamp": 1_000}, {"user_id": "u1", "item_id": ids[1],
                                                                           "seq": 1, "timestamp": 2_000}])
    L.load(db, [base])
    again = write_dataset(tmp_path / "day1" / "vg", [], [{"user_id": "u1", "item_id": ids[0], "seq": 0,
                                                         "timestamp": 3_000}])
    L.load(db, [again], append=True)
    before = edges(db)
    assert len(before) == 3
    with pytest.raises(InputError, match=r"would remove 1 of its 3 stored interactions; the dataset was also loaded "
                                         r"from .*day1/vg/interactions.jsonl"):
        L.load(db, [base])
    assert edges(db) == before


def test_an_append_that_shares_nothing_with_the_dataset_is_asked_about(db, tmp_path):
    """A file of another dataset appended to a stored one (MovieLens ratings to a shop's dataset) was added without a
    word: new users, items without text, a dataset many times its size. An append whose interactions share no user and
    no item with the dataset is refused, naming the counts, unless --yes; one that shares either goes through."""
    clear_database(db)
    base, _, _ = split_slice(tmp_path, keep=3)
    L.load(db, [base])
    before = edges(db)
    stored_item = db.value("MATCH (i:Item) RETURN i.id ORDER BY i.id LIMIT 1")
    ratings = [{"user_id": f"ml-u{k}", "item_id": "ml-1", "seq": 0, "rating": 5.0} for k in range(25)]
    other = write_dataset(tmp_path / "other" / "vg", [{"item_id": "ml-1", "title": "Toy Story (1995)"}], ratings)
    with pytest.raises(InputError, match=r"none of the 25 users of the files and none of the 1 items their "
                                         r"interactions name is stored for it.*--dataset NAME.*--yes"):
        L.load(db, [other], append=True)
    assert edges(db) == before
    # a new user of a stored item, and a few new users of a new item, are an ordinary day's rows
    mine = write_dataset(tmp_path / "mine" / "vg", [], [{"user_id": "new-u", "item_id": stored_item, "seq": 0}])
    assert L.load(db, [mine], append=True).interactions_written == 1
    few = write_dataset(tmp_path / "few" / "vg", [{"item_id": "new-i", "title": "A new game"}],
                        [{"user_id": "new-v", "item_id": "new-i", "seq": 0}])
    assert L.load(db, [few], append=True).interactions_written == 1
    assert L.load(db, [other], append=True, yes=True).interactions_written == 25


def test_an_untimed_repeat_purchase_is_said_to_need_a_timestamp(db, tmp_path):
    """A repeat purchase appended without a timestamp is the user's last stored row again, as a rerun of the append
    is: it is kept as stored. The CLI said only "1 interactions already stored"; it now says that the row has no
    timestamp and that a timestamp adds a repeat."""
    from _kg_fixture import invoke_cli

    clear_database(db)
    items = slice_rows("items.jsonl")[:3]
    ids = [r["item_id"] for r in items]
    L.load(db, [write_dataset(tmp_path / "base" / "vg", items, [
        {"user_id": "u1", "item_id": ids[k], "seq": k} for k in range(3)])])
    again = write_dataset(tmp_path / "again" / "vg", [], [{"user_id": "u1", "item_id": ids[2], "seq": 0}])
    r = invoke_cli(["load", str(again), "--append", "--dataset", "vg", "--silent"])
    assert r.exit_code == 0, r.output
    assert "kept:    1 interaction already stored" in r.output and "1 of those interactions have no timestamp" \
        in r.output and "give a repeat purchase its timestamp to add it" in r.output, r.output
    timed = write_dataset(tmp_path / "timed" / "vg", [], [{"user_id": "u1", "item_id": ids[2], "seq": 0,
                                                           "timestamp": 1_700_000_000}])
    rep = L.load(db, [timed], append=True, name="vg")
    assert rep.interactions_written == 1 and rep.interactions_kept_untimed == 0


def test_a_reload_asks_before_removing_an_untimed_recorded_repeat(db, tmp_path):
    """An interaction the service recorded without a timestamp is not found in the files by its item alone: a user's
    untimed row of the same item there is the earlier interaction, not this one (a repeat). The reload that would
    remove it is refused without --yes."""
    from kgrec_neo4j.serve.record import InteractionIn, record_interaction

    clear_database(db)
    items = slice_rows("items.jsonl")[:3]
    ids = [r["item_id"] for r in items]
    base = write_dataset(tmp_path / "base" / "vg", items, [
        {"user_id": "u1", "item_id": ids[k], "seq": k} for k in range(3)])
    L.load(db, [base])
    assert record_interaction(db, "u1", InteractionIn(item=ids[0])).written  # a repeat, no timestamp
    before = edges(db)
    with pytest.raises(InputError, match=r"would remove 1 interaction recorded live \(by `kgrec serve --writes`, "
                                         r"or by a Cypher client"):
        L.load(db, [base])
    assert edges(db) == before
    # files that have it, rated: the edge is rewritten from them and is the files' now (it kept `recorded`, and the
    # next reload without it was refused as removing an interaction the service recorded)
    rated = write_dataset(tmp_path / "rated" / "vg", items, [
        {"user_id": "u1", "item_id": ids[k % 3], "seq": k, **({"rating": 4.0} if k == 3 else {})} for k in range(4)])
    assert L.load(db, [rated], name="vg").interactions_written == 1
    assert db.value("MATCH (:User {id: 'u1'})-[e:INTERACTED {seq: 3}]->() RETURN e.recorded IS NULL") is True
    assert L.load(db, [base]).interactions_removed == 1


def test_a_reload_leaving_out_an_appended_items_file_asks_before_removing_its_items(db, tmp_path):
    """Items appended alone (a catalogue file, `--append`) are rows of a file the dataset was loaded from: a reload
    of the first files that leaves it out would remove those items (with their knowledge) and needs --yes, as it
    does for interactions."""
    clear_database(db)
    rows = slice_rows("items.jsonl")
    items, later = rows[:3], rows[3:5]
    ids = [r["item_id"] for r in items]
    base = write_dataset(tmp_path / "base" / "vg", items, [
        {"user_id": "u1", "item_id": ids[k], "seq": k} for k in range(3)])
    L.load(db, [base])
    catalogue = tmp_path / "new" / "vg"
    catalogue.mkdir(parents=True)
    (catalogue / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in later))
    L.load(db, [catalogue / "items.jsonl"], append=True, name="vg")
    stored = db.value("MATCH (i:Item) RETURN count(i)")
    assert stored == 5
    with pytest.raises(InputError, match=r"would remove 2 of its 5 stored items; the dataset was also loaded from "
                                         rf"{(catalogue / 'items.jsonl').resolve()}"):
        L.load(db, [base])
    assert db.value("MATCH (i:Item) RETURN count(i)") == stored
    rep = L.load(db, [base], yes=True)
    assert rep.items_removed == 2


def test_a_reload_asks_before_removing_an_item_the_service_recorded(db, tmp_path):
    """An item posted to the service (POST /items) is in no file: a reload of the files was removing it, with its
    knowledge, without a question, while one that would remove an interaction the service recorded needs --yes. It
    needs --yes too; files that hold the item make it theirs (the mark goes, and a later reload without it is a
    plain reload's removal)."""
    from kgrec_neo4j.serve.record import ItemIn, record_item

    clear_database(db)
    rows = slice_rows("items.jsonl")
    items = rows[:3]
    ids = [r["item_id"] for r in items]
    base = write_dataset(tmp_path / "base" / "vg", items, [
        {"user_id": "u1", "item_id": ids[k], "seq": k} for k in range(3)])
    L.load(db, [base])
    posted = rows[3]["item_id"]
    assert record_item(db, ItemIn(id=posted, dataset="vg", title="A posted game")).new_item
    # a posted record of a loaded item, its text as stored, writes nothing and leaves it the files'
    assert not record_item(db, ItemIn(id=ids[0], dataset="vg", title=items[0]["title"])).written
    assert db.value("MATCH (i:Item) WHERE i.recorded IS NOT NULL RETURN collect(i.id)") == [posted]
    with pytest.raises(InputError, match=rf"would remove 1 item that the service recorded .*'{posted}'"):
        L.load(db, [base])
    assert db.value("MATCH (i:Item {id: $i}) RETURN i.title", i=posted) == "A posted game"
    # files that hold it with other text: the record the service wrote (a correction made over HTTP) was replaced
    # without a word; it needs --yes, and then the item is theirs
    more = write_dataset(tmp_path / "more" / "vg", items + [rows[3]], [
        {"user_id": "u1", "item_id": ids[k], "seq": k} for k in range(3)])
    with pytest.raises(InputError, match=rf"would replace the text of 1 item whose record the service wrote .*"
                                         rf"'{posted}'.*Pass --yes"):
        L.load(db, [more], name="vg")
    assert db.value("MATCH (i:Item {id: $i}) RETURN i.title", i=posted) == "A posted game"
    assert L.load(db, [more], name="vg", yes=True).items_written == 1  # (its text is the file's, the mark goes)
    assert db.value("MATCH (i:Item) WHERE i.recorded IS NOT NULL RETURN count(i)") == 0
    assert L.load(db, [base], yes=True).items_removed == 1
    assert record_item(db, ItemIn(id=posted, dataset="vg", title="Posted again")).new_item
    assert L.load(db, [base], yes=True).items_removed == 1


def test_a_reload_refused_for_recorded_interactions_names_the_recorded_items_it_would_remove_too(db, tmp_path):
    """After a film and a rating of it were posted to the service, a reload of the MovieLens files was refused
    naming the 9 recorded interactions only, and said that --yes replaces the dataset 'recorded interactions too':
    the posted film went with them without a word."""
    from kgrec_neo4j.serve.record import InteractionIn, ItemIn, record_interaction, record_item

    clear_database(db)
    rows = slice_rows("items.jsonl")
    ids = [r["item_id"] for r in rows[:3]]
    base = write_dataset(tmp_path / "base" / "vg", rows[:3], [
        {"user_id": "u1", "item_id": ids[k], "seq": k} for k in range(3)])
    L.load(db, [base])
    posted = rows[3]["item_id"]
    assert record_item(db, ItemIn(id=posted, dataset="vg", title="A posted game")).new_item
    assert record_interaction(db, "u1", InteractionIn(item=posted, rating=5)).written
    with pytest.raises(InputError, match=rf"would remove 1 interaction recorded live .*, and 1 item the service "
                                         rf"recorded \(POST /items\), e\.g\. '{posted}'; nothing was written\..* "
                                         r"recorded interactions and items too, pass --yes"):
        L.load(db, [base])
    assert L.load(db, [base], yes=True).items_removed == 1


def test_a_dataset_that_keeps_its_files_as_relative_paths_still_names_those_left_out(db, tmp_path, monkeypatch):
    """A dataset loaded before its node kept absolute paths has the files as they were given, relative to the folder
    the load ran in. A reload from another folder still finds the files it gives among them, and asks before
    removing the rows of those it leaves out."""
    clear_database(db)
    base, more, _ = split_slice(tmp_path, keep=20)
    L.load(db, [base])
    L.load(db, [more], append=True)
    before = edges(db)
    rel = [str(p.relative_to(tmp_path)) for d in (base, more) for p in (d / "items.jsonl", d / "interactions.jsonl")]
    db.execute("MATCH (d:Dataset {name: 'vg'}) SET d.sources = $s", s=rel)  # as a load run in tmp_path kept them
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    with pytest.raises(InputError, match=r"the dataset was also loaded from more/vg/interactions.jsonl, which "):
        L.load(db, [base])
    assert edges(db) == before


def test_a_reload_that_changes_a_review_text_forgets_its_failed_classification(db, tmp_path):
    """A reload that changes an interaction removes the earlier verdicts of its text, but kept the reason a failed
    classification left (INTERACTED.text_error, text_error_by, text_failed_at): `kgrec status` went on counting a
    failure of a text the edge no longer has, until a classification of the new one. The reload removes it too."""
    clear_database(db)
    rows = slice_rows("interactions.jsonl")
    L.load(db, [write_dataset(tmp_path / "a" / "vg", slice_rows("items.jsonl"), rows)])
    first = rows[0]
    key = {"u": first["user_id"], "s": first["seq"]}
    db.write("MATCH (:User {id: $u})-[e:INTERACTED {seq: $s}]->() SET e.text_error = 'invalid_json: x', "
             "e.text_error_by = 'llm', e.text_failed_at = datetime(), e.kind_text = 'like'", **key)
    changed = [{**first, "review_text": "A new text, written since."}, *rows[1:]]
    rep = L.load(db, [write_dataset(tmp_path / "b" / "vg", slice_rows("items.jsonl"), changed)])
    assert rep.interactions_written == 1
    assert db.query("MATCH (:User {id: $u})-[e:INTERACTED {seq: $s}]->() RETURN e.kind_text AS k, "
                    "e.text_error AS e, e.text_error_by AS by, e.text_failed_at AS at", **key) == [
        {"k": None, "e": None, "by": None, "at": None}]


def test_reviews_reloaded_without_their_metadata_file_keep_the_items_text(db, data_dir, tmp_path):
    """An Amazon folder (reviews + meta_*) loaded, then its review file reloaded alone with one review less: the
    reload was refused, saying the metadata file was 'added with --append' and its rows would go (it holds no
    interaction), and with --yes every item lost its title and the rest of its text (the reviews name items without
    any). The one review goes; the items keep their text."""
    import gzip
    import shutil

    clear_database(db)
    src = data_dir / "formats" / "amazon2023"
    folder = tmp_path / "vg23"
    folder.mkdir()
    reviews, meta = folder / "Video_Games.sample.jsonl.gz", folder / "meta_Video_Games.sample.jsonl.gz"
    with gzip.open(src / reviews.name, "rt", encoding="utf-8") as f:
        lines = f.readlines()
    named = {json.loads(line)["parent_asin"] for line in lines}
    with gzip.open(src / meta.name, "rt", encoding="utf-8") as f:  # the catalogue of the reviewed items
        catalogue = [line for line in f if json.loads(line)["parent_asin"] in named]
    with gzip.open(meta, "wt", encoding="utf-8") as f:
        f.writelines(catalogue)
    shutil.copy(src / reviews.name, reviews)
    L.load(db, [folder])
    titles = dict(db.query("MATCH (i:Item) RETURN collect([i.id, i.title]) AS t")[0]["t"])
    assert len(titles) == len(catalogue) == len(named) and all(titles.values()), titles
    users = defaultdict(int)
    for line in lines:
        users[json.loads(line)["user_id"]] += 1
    drop = next(k for k, line in enumerate(lines) if users[json.loads(line)["user_id"]] > 1)
    with gzip.open(reviews, "wt", encoding="utf-8") as f:
        f.writelines(lines[:drop] + lines[drop + 1:])
    before = len(edges(db))
    rep = L.load(db, [reviews], name="vg23")
    assert rep.mode == "reload" and rep.interactions_removed == 1 and rep.items_removed == 0, rep
    assert len(edges(db)) == before - 1
    assert dict(db.query("MATCH (i:Item) RETURN collect([i.id, i.title]) AS t")[0]["t"]) == titles
    # the catalogue's own items are its: reviews reloaded alone that would remove one are asked about
    with gzip.open(meta, "at", encoding="utf-8") as f:
        f.write(json.dumps({"parent_asin": "B0CATALOGUE", "title": "A game nobody reviewed"}) + "\n")
    L.load(db, [folder])
    with pytest.raises(InputError, match=r"would remove 1 of its \d+ stored items; the dataset was also loaded from "
                                         r".*meta_Video_Games.sample.jsonl.gz, which this reload leaves out, and "
                                         r"the items only they hold would go"):
        L.load(db, [reviews], name="vg23")


def test_an_append_names_rows_older_than_the_stored_history(db, tmp_path):
    """`seq` is the order of arrival: an appended row with a timestamp earlier than the user's newest stored one is
    numbered after it, and counts as the user's most recent interaction (recency, short-term interests, the
    last-two-out split). Nothing said so; the load now counts such rows and names their users."""
    from _kg_fixture import invoke_cli

    clear_database(db)
    items = [{"item_id": i, "title": f"item {i}"} for i in "abcd"]
    base = write_dataset(tmp_path / "base" / "tiny", items, [
        {"user_id": "u1", "item_id": "a", "timestamp": 100, "rating": 5},
        {"user_id": "u1", "item_id": "b", "timestamp": 300, "rating": 5},
        {"user_id": "u1", "item_id": "c", "timestamp": 350, "rating": 5}])
    L.load(db, [base])
    more = write_dataset(tmp_path / "more" / "tiny", [], [
        {"user_id": "u1", "item_id": "c", "timestamp": 200, "rating": 4},   # before the newest stored (350)
        {"user_id": "u1", "item_id": "d", "timestamp": 400, "rating": 5},   # later: as usual
        {"user_id": "u2", "item_id": "a", "timestamp": 50, "rating": 5}])   # a new user: nothing stored before
    rep = L.load(db, [more], append=True, name="tiny")
    assert rep.interactions_written == 3 and rep.interactions_earlier == 1 and rep.users_earlier == 1
    assert rep.users_earlier_examples == ["u1"]
    # numbered after the stored history all the same (the report says so; it changes nothing)
    assert [(r["i"], r["ts"]) for r in db.query(
        "MATCH (:User {id: 'u1'})-[e:INTERACTED]->(i:Item) RETURN i.id AS i, e.timestamp AS ts ORDER BY e.seq")] == \
        [("a", 100), ("b", 300), ("c", 350), ("c", 200), ("d", 400)]
    later = write_dataset(tmp_path / "later" / "tiny", [], [
        {"user_id": "u2", "item_id": "b", "timestamp": 10, "rating": 5}])
    r = invoke_cli(["load", str(later), "--append", "--dataset", "tiny", "--silent"])
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    assert "order: 1 appended interaction is older than its user's newest stored one (1 user: u2)" in out, out
    assert "it is numbered after the stored history and counts as the most recent" in out, out
    rep = L.load(db, [more], append=True, name="tiny")  # a rerun: nothing written, nothing to say
    assert rep.interactions_written == 0 and rep.interactions_earlier == 0


def test_an_edge_without_seq_neither_stops_an_append_nor_a_reload(db, tmp_path):
    """An INTERACTED edge typed in Browser without `seq` (serving counts it as the latest) made `kgrec load --append`
    of its user, and any reload of its dataset, stop with a Python traceback (int(None)), with or without --yes.
    The append now numbers its rows after the numbered ones and leaves the edge as it is; the reload removes it as
    any row the files no longer have."""
    clear_database(db)
    items = [{"item_id": i, "title": f"item {i}"} for i in "abcde"]
    rows = [{"user_id": "u1", "item_id": i, "timestamp": t, "rating": 5} for i, t in (("a", 100), ("b", 200),
                                                                                       ("c", 300))]
    base = write_dataset(tmp_path / "base" / "tiny", items, rows)
    L.load(db, [base])
    db.write("MATCH (u:User {id: 'u1'}), (i:Item {id: 'e'}) CREATE (u)-[:INTERACTED {rating: 1.0}]->(i) "
             "CREATE (u)-[:INTERACTED {rating: 2.0}]->(i)")  # (two to one item: the reload counted them as one)
    more = write_dataset(tmp_path / "more" / "tiny", [], [
        {"user_id": "u1", "item_id": "d", "timestamp": 400, "rating": 5}])
    rep = L.load(db, [more], append=True, name="tiny")
    assert rep.interactions_written == 1
    got = db.query("MATCH (:User {id: 'u1'})-[e:INTERACTED]->(i:Item) RETURN i.id AS i, e.seq AS s, e.split AS sp "
                   "ORDER BY i.id")
    assert [(r["i"], r["s"], r["sp"]) for r in got] == [("a", 0, "train"), ("b", 1, "train"), ("c", 2, "valid"),
                                                       ("d", 3, "test"), ("e", None, None), ("e", None, None)]
    assert L.load(db, [more], append=True, name="tiny").interactions_written == 0  # a rerun: nothing again
    # the reload: the files' rows stay, the edge without seq is in no file and goes with the rows appended since
    asked = []  # (what the reload asks about counts them too: it said 2)
    rep = L.load(db, [base], name="tiny", yes=True, confirm_removal=lambda loss: asked.append(loss) or True)
    assert rep.interactions_removed == 3 and [x.interactions_removed for x in asked] == [3]
    assert sorted(db.value("MATCH (:User {id: 'u1'})-[:INTERACTED]->(i:Item) RETURN collect(i.id)")) == ["a", "b", "c"]
    assert db.value("MATCH ()-[e:INTERACTED]->() WHERE e.seq IS NULL RETURN count(e)") == 0


def test_interactions_split_orders_a_history_by_seq_whatever_the_seqs_are(db, tmp_path):
    """`kgrec interactions split` matched each edge again by its seq as an integer: an edge typed in Browser with seq
    3.5 was never matched and its user stayed unsplit, reported again by every run. Each edge is now set by itself, in
    seq order (equal seqs by timestamp, then element id). An edge without seq is the user's latest, as training and
    serving count it: it is numbered after the others (until now it kept no split, while training read it as the
    oldest)."""
    from kgrec_neo4j.load.split import split_again

    clear_database(db)
    items = [{"item_id": i, "title": f"item {i}"} for i in "abcdef"]
    base = write_dataset(tmp_path / "base" / "tiny", items, [
        {"user_id": "u1", "item_id": i, "timestamp": t, "rating": 5} for i, t in (("a", 1), ("b", 2), ("c", 3))])
    L.load(db, [base])
    db.write("MATCH (u:User {id: 'u1'}), (d:Item {id: 'd'}), (e:Item {id: 'e'}), (f:Item {id: 'f'}) "
             "CREATE (u)-[:INTERACTED {seq: 3.5, split: 'train', rating: 5.0}]->(d) "
             "CREATE (u)-[:INTERACTED {seq: 7, split: 'train', rating: 4.0}]->(e) "
             "CREATE (u)-[:INTERACTED {rating: 2.0}]->(f)")
    rep = split_again(db)
    assert (rep.users, rep.edges, rep.examples) == (1, 4, ("u1",))
    got = db.query("MATCH (:User {id: 'u1'})-[x:INTERACTED]->(i:Item) RETURN i.id AS i, x.split AS s, x.seq AS q "
                   "ORDER BY i.id")
    assert [(r["i"], r["s"], r["q"]) for r in got] == [
        ("a", "train", 0), ("b", "train", 1), ("c", "train", 2), ("d", "train", 3.5), ("e", "valid", 7),
        ("f", "test", 8)]
    assert split_again(db).users == 0


def test_a_train_edge_without_seq_is_late_for_evaluation_and_split_again(db, tmp_path):
    """An edge typed in Browser without `seq` is the user's latest in serving; evaluation counted it neither as late
    (`seq > first held` is null for it) nor in its place: the export read it as seq 0, the oldest. Now it is a late
    train interaction (evaluation refuses the user, `kgrec status` counts it) until `kgrec interactions split`
    numbers it after the others and splits the history again."""
    from kgrec_neo4j.core.resources import cypher
    from kgrec_neo4j.load.split import split_again

    clear_database(db)
    items = [{"item_id": i, "title": f"item {i}"} for i in "abcde"]
    base = write_dataset(tmp_path / "base" / "tiny", items, [
        {"user_id": "u1", "item_id": i, "timestamp": t, "rating": 5} for i, t in (("a", 1), ("b", 2), ("c", 3))])
    L.load(db, [base])
    assert db.query(cypher("train/late_train_users"), dataset=None)[0]["users"] == 0
    db.write("MATCH (u:User {id: 'u1'}), (d:Item {id: 'd'}), (e:Item {id: 'e'}) "
             "CREATE (u)-[:INTERACTED {split: 'train', rating: 5.0, timestamp: 9}]->(e) "
             "CREATE (u)-[:INTERACTED {split: 'train', rating: 4.0, timestamp: 8}]->(d)")
    late = db.query(cypher("train/late_train_users"), dataset=None)[0]
    assert (late["users"], late["examples"]) == (1, ["u1"])
    # `kgrec doctor` names it too (it said every history was split while evaluation refused it)
    from kgrec_neo4j.local.doctor import run_checks

    found = {c.name: c for c in run_checks(db.settings)}["splits"]
    assert not found.ok and "1 user of dataset(s) tiny has train interactions after" in found.detail, found.detail
    assert "kgrec interactions split" in found.fix
    # the offline interests read such edges (they stopped at int(None))
    from kgrec_neo4j.users.interests.offline import extract_offline

    assert extract_offline(db, users=["u1"]).users == 1
    rep = split_again(db)
    assert (rep.users, rep.edges, rep.numbered) == (1, 4, 2)
    got = db.query("MATCH (:User {id: 'u1'})-[x:INTERACTED]->(i:Item) RETURN i.id AS i, x.split AS s, x.seq AS q "
                   "ORDER BY i.id")
    assert [(r["i"], r["s"], r["q"]) for r in got] == [
        ("a", "train", 0), ("b", "train", 1), ("c", "train", 2), ("d", "valid", 3), ("e", "test", 4)]
    assert db.query(cypher("train/late_train_users"), dataset=None)[0]["users"] == 0
    assert {c.name: c for c in run_checks(db.settings)}["splits"].ok
    assert split_again(db).users == 0


def test_a_load_that_changes_nothing_keeps_the_datasets_loaded_at(db, tmp_path):
    """A rerun of an append (or a reload of the files as stored) writes nothing and takes no ingest number, yet it
    set `Dataset.loaded_at` to its own time: the dataset looked freshly loaded. It is now the time of the last load
    that changed something."""
    clear_database(db)
    items = [{"item_id": i, "title": f"item {i}"} for i in "abcd"]
    base = write_dataset(tmp_path / "base" / "tiny", items, [
        {"user_id": "u1", "item_id": i, "timestamp": t, "rating": 5} for i, t in (("a", 1), ("b", 2), ("c", 3))])
    more = write_dataset(tmp_path / "more" / "tiny", [], [
        {"user_id": "u1", "item_id": "d", "timestamp": 4, "rating": 5}])
    stamp = "MATCH (d:Dataset {name: 'tiny'}) RETURN d.loaded_at AS t, d.status AS s, d.sources AS src"
    L.load(db, [base])
    first = db.query(stamp)[0]
    assert L.load(db, [base]).ingest == 0  # a reload of the files as stored
    assert db.query(stamp)[0] == first
    assert L.load(db, [more], append=True, name="tiny").ingest > 0
    appended = db.query(stamp)[0]
    assert appended["t"] > first["t"] and appended["s"] == "loaded"
    assert L.load(db, [more], append=True, name="tiny").ingest == 0  # a rerun of the append
    assert db.query(stamp)[0] == appended


def test_a_reload_refused_for_files_it_leaves_out_counts_every_row_it_would_remove(db, tmp_path):
    """The refusal of a reload that leaves out files the dataset was loaded from counted only the rows those files
    alone held ("would remove 1 of its 10620 stored interactions") while the reload, with --yes, removed 30: the rows it
    drops from the files it gives count too."""
    import shutil

    clear_database(db)
    base, more, _ = split_slice(tmp_path, keep=20)
    L.load(db, [base])
    L.load(db, [more], append=True)
    before = edges(db)
    appended = len(before) - sum(1 for r in slice_rows("interactions.jsonl") if r["seq"] < 20)
    copy = tmp_path / "download" / "vg"
    shutil.copytree(base, copy)
    rows = [json.loads(x) for x in (copy / "interactions.jsonl").read_text().splitlines() if x.strip()]
    last = max(rows, key=lambda r: (r["user_id"], r["seq"]))  # (a user's last base row: no other is numbered again)
    (copy / "interactions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows if r is not last))
    with pytest.raises(InputError) as e:
        L.load(db, [copy])
    msg = str(e.value)
    assert f"would remove {appended + 1} of its {len(before)} stored interactions" in msg, msg
    rep = L.load(db, [copy], yes=True)
    assert rep.interactions_removed == appended + 1, (rep.interactions_removed, appended)


def test_a_loads_progress_starts_each_stage_before_its_first_batch(db, tmp_path):
    """The CLI's bar of a stage was made at the first callback, after the first batch had been written: its rate was
    that batch over no time ("90800128.00row/s"). Each stage now reports 0 done before its first batch."""
    clear_database(db)
    base, _, _ = split_slice(tmp_path, keep=3)
    calls: list[tuple[str, int, int]] = []
    L.load(db, [base], progress=lambda stage, done, total: calls.append((stage, done, total)))
    stages = list(dict.fromkeys(s for s, _, _ in calls))
    assert "interactions" in stages
    for stage in stages:
        first = next(c for c in calls if c[0] == stage)
        assert first[1] == 0 and first[2] > 0, (stage, first)
