"""`kgrec db dump` / `kgrec db restore`: a backup of the local server's database, and a restore that loses nothing
when it fails (a private server: the test stops and starts it)."""

from __future__ import annotations

import pytest
from _private_neo4j import free_port, start_private_neo4j
from click.testing import CliRunner

PASSWORD = "dump-test-pw-1"


def _cli(args: list[str], env: dict[str, str]):
    from kgrec_neo4j.cli import cli

    return CliRunner().invoke(cli, args, env=env)


def _state(uri: str) -> dict:
    from kgrec_neo4j.core.config import load_settings
    from kgrec_neo4j.core.db import connect

    with connect(load_settings(environ={"NEO4J_URI": uri, "NEO4J_PASSWORD": PASSWORD}), wait_s=60) as db:
        return {"values": sorted(db.value("MATCH (t:T) RETURN collect(t.v)")),
                "constraints": sorted(r["name"] for r in db.query("SHOW CONSTRAINTS YIELD name RETURN name"))}


def _write(uri: str, cypher: str) -> None:
    from kgrec_neo4j.core.config import load_settings
    from kgrec_neo4j.core.db import connect

    with connect(load_settings(environ={"NEO4J_URI": uri, "NEO4J_PASSWORD": PASSWORD}), wait_s=60) as db:
        for statement in cypher.split(";"):
            db.write(statement)


def test_dump_then_restore_brings_the_database_back_and_a_failed_restore_loses_nothing(tmp_path):
    from kgrec_neo4j.local import neo4j_server as server

    home = tmp_path / "neo4j"  # <KGREC_HOME>/neo4j, where `kgrec db` keeps the local server
    uri, bolt, http = start_private_neo4j(home, PASSWORD)
    env = {"KGREC_HOME": str(tmp_path), "NEO4J_URI": uri, "NEO4J_PASSWORD": PASSWORD}

    def restart() -> None:
        server.start(home, bolt_port=bolt, http_port=http, password=PASSWORD, heap="1g", pagecache="256m",
                     progress=lambda s: None)

    try:
        _write(uri, "CREATE CONSTRAINT t_v IF NOT EXISTS FOR (t:T) REQUIRE t.v IS UNIQUE;"
                    "UNWIND [1, 2, 3] AS v CREATE (:T {v: v})")
        before = _state(uri)
        assert before == {"values": [1, 2, 3], "constraints": ["t_v"]}

        r = _cli(["db", "dump"], env)
        assert r.exit_code != 0 and "is running" in r.output and "`kgrec db stop`" in r.output, r.output

        server.stop(home)
        r = _cli(["db", "dump", "--to", str(tmp_path / "backups")], env)
        assert r.exit_code == 0, r.output
        (dump,) = (tmp_path / "backups").iterdir()
        assert dump.name.startswith("neo4j-") and dump.suffix == ".dump" and dump.stat().st_size > 0
        assert str(dump) in r.output

        restart()
        _write(uri, "MATCH (t:T) DETACH DELETE t; CREATE (:T {v: 99})")
        changed = _state(uri)
        server.stop(home)

        r = _cli(["db", "restore", str(dump)], env)
        assert r.exit_code != 0 and "--yes" in r.output, r.output
        damaged = tmp_path / "damaged.dump"
        damaged.write_bytes(dump.read_bytes()[: dump.stat().st_size // 3])
        r = _cli(["db", "restore", str(damaged), "--yes"], env)
        assert r.exit_code != 0 and "the database is as it was before" in r.output, r.output
        restart()
        assert _state(uri) == changed  # the failed restore put the previous store back
        server.stop(home)

        r = _cli(["db", "restore", str(dump), "--yes"], env)
        assert r.exit_code == 0, r.output
        restart()
        assert _state(uri) == before
    finally:
        server.stop(home)


def test_restore_of_a_missing_file_names_it(tmp_path):
    r = _cli(["db", "restore", str(tmp_path / "nope.dump"), "--yes"],
             {"KGREC_HOME": str(tmp_path), "NEO4J_PASSWORD": PASSWORD})
    assert r.exit_code != 0 and "no dump file" in r.output and "nope.dump" in r.output, r.output
    # the folder `kgrec db dump` writes to by default (the message said <home>/dumps, the help <home>/neo4j/dumps)
    assert f"(in {(tmp_path / 'neo4j' / 'dumps').resolve()} by default)" in " ".join(r.output.split()), r.output


@pytest.mark.parametrize("cmd", [["db", "dump"], ["db", "restore", "x.dump", "--yes"]])
def test_dump_and_restore_without_a_local_database_name_the_fix(tmp_path, cmd):
    (tmp_path / "x.dump").write_bytes(b"x")
    r = CliRunner().invoke(__import__("kgrec_neo4j.cli", fromlist=["cli"]).cli,
                           [c if c != "x.dump" else str(tmp_path / "x.dump") for c in cmd],
                           env={"KGREC_HOME": str(tmp_path), "NEO4J_PASSWORD": PASSWORD})
    assert r.exit_code != 0 and "no local Neo4j database" in r.output and "kgrec db start" in r.output, r.output


@pytest.mark.parametrize("fails", ["load", "second move"])
def test_a_restore_that_fails_midway_leaves_the_store_as_it_was(tmp_path, monkeypatch, fails):
    """Whatever step of a restore fails (the load, or moving the second store folder aside), every store file is
    where it was with its content: a failure before a folder was moved must not delete it."""
    from pathlib import Path

    from kgrec_neo4j.core.errors import ServerError
    from kgrec_neo4j.local import neo4j_server as server

    d = server._dirs(tmp_path)
    for sub in ("databases/neo4j", "transactions/neo4j"):
        (d["data"] / sub).mkdir(parents=True)
        (d["data"] / sub / "store").write_text(sub)
    (d["run"]).mkdir()
    dump = tmp_path / "x.dump"
    dump.write_bytes(b"archive")
    monkeypatch.setattr(server, "_stopped_for", lambda home, proc, what: d)
    monkeypatch.setattr(server, "_java", lambda: "java")

    def admin(d_, java, args, **kw):
        (d["data"] / "databases" / "neo4j").mkdir(parents=True, exist_ok=True)  # a half-made store
        (d["data"] / "databases" / "neo4j" / "partial").write_text("half")
        raise ServerError("loading x.dump failed")

    monkeypatch.setattr(server, "_admin", admin)
    if fails == "second move":
        real = Path.replace

        def replace(self, target):
            if self.name == "neo4j" and self.parent.name == "transactions":
                raise OSError("device busy")
            return real(self, target)

        monkeypatch.setattr(Path, "replace", replace)
    with pytest.raises((ServerError, OSError)):
        server.restore(tmp_path, dump)
    for sub in ("databases/neo4j", "transactions/neo4j"):
        assert sorted(p.name for p in (d["data"] / sub).iterdir()) == ["store"], sub
        assert (d["data"] / sub / "store").read_text() == sub
    assert not list(d["run"].glob(".kgrec-restore-*"))  # the work folder is gone


def test_a_restore_into_a_database_the_server_does_not_have_is_refused(tmp_path, monkeypatch):
    """With NEO4J_DATABASE naming a database the local server does not have (set for another server), `kgrec db
    restore` loaded the dump into a new store folder that no server serves (Neo4j Community serves its one default
    database) and said `kgrec db start` serves it. It is refused, as `kgrec db dump` refuses it, naming the ones there
    are; nothing is loaded."""
    from kgrec_neo4j.core.errors import ServerError
    from kgrec_neo4j.local import neo4j_server as server

    d = server._dirs(tmp_path)
    for sub in ("databases/neo4j", "databases/system"):
        (d["data"] / sub).mkdir(parents=True)
    d["run"].mkdir()
    dump = tmp_path / "x.dump"
    dump.write_bytes(b"archive")
    monkeypatch.setattr(server, "_stopped_for", lambda home, proc, what: d)
    monkeypatch.setattr(server, "_java", lambda: "java")
    loads = []
    monkeypatch.setattr(server, "_admin", lambda *a, **kw: loads.append(a))
    with pytest.raises(ServerError) as err:
        server.restore(tmp_path, dump, database="other")
    assert "'other'" in str(err.value) and "neo4j" in str(err.value) and "NEO4J_DATABASE" in str(err.value)
    assert not loads and sorted(p.name for p in (d["data"] / "databases").iterdir()) == ["neo4j", "system"]
    assert not list(d["run"].glob(".kgrec-restore-*"))


def test_an_interrupted_restore_is_named_before_a_start_or_a_dump_and_a_new_restore_clears_it(tmp_path, monkeypatch):
    """A restore killed during its load left the database it replaced in the run folder, and `kgrec db start` then
    served the half-loaded one (or an empty one) without a word. Start and dump refuse, naming both ways out; a
    restore that completes replaces what the interrupted one left."""
    from kgrec_neo4j.core.errors import ServerError
    from kgrec_neo4j.local import neo4j_server as server

    d = server._dirs(tmp_path)
    (d["data"] / "databases" / "neo4j").mkdir(parents=True)
    left = d["run"] / ".kgrec-restore-killed"
    (left / "previous" / "0").mkdir(parents=True)
    (left / "previous" / "0" / "store").write_text("the database before")
    (left / "database").write_text("neo4j")
    monkeypatch.setattr(server, "ensure_installed", lambda home, progress=None: None)
    monkeypatch.setattr(server, "_stopped_for", lambda home, proc, what: d)
    with pytest.raises(ServerError, match="was interrupted") as err:
        server.start(tmp_path, password=PASSWORD, bolt_port=free_port(), http_port=free_port())
    assert str(left / "previous") in str(err.value) and "kgrec db restore FILE --yes" in str(err.value)
    with pytest.raises(ServerError, match="was interrupted"):
        server.dump(tmp_path, to=tmp_path / "out")

    monkeypatch.setattr(server, "_java", lambda: "java")
    monkeypatch.setattr(server, "_admin", lambda *a, **kw: None)  # a load that succeeds
    dump = tmp_path / "x.dump"
    dump.write_bytes(b"archive")
    server.restore(tmp_path, dump)
    assert not list(d["run"].glob(".kgrec-restore-*"))


def test_a_short_password_is_refused_before_the_install(tmp_path, monkeypatch):
    """`kgrec db start` with a password under 8 characters on a fresh home assembled Neo4j (about 180 MB) and only
    then refused the password."""
    from kgrec_neo4j.local import neo4j_server

    def no_install(*a, **kw):
        raise AssertionError("installed before the password was checked")

    monkeypatch.setattr(neo4j_server, "ensure_installed", no_install)
    r = _cli(["db", "start"], {"KGREC_HOME": str(tmp_path), "NEO4J_PASSWORD": "short",
                               "NEO4J_URI": "bolt://127.0.0.1:7999"})
    assert r.exit_code == 2 and "at least 8 characters" in r.output, (r.output, r.exception)
