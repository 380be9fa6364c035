"""Bad settings and bad numbers end in one clear line and a consistent exit code, never a traceback.

Exit codes: 2 when Neo4j cannot be used (a malformed URI, an unknown database, a missing or refused password, an
unreachable server; `kgrec doctor` too), 2 for a malformed option (click), 3 when another writer holds the lease,
1 for every other error.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kgrec_neo4j.cli import cli
from kgrec_neo4j.core.config import neo4j_address
from kgrec_neo4j.core.errors import Neo4jSettingError

BAD_URIS = ["http://127.0.0.1:7474", "127.0.0.1:7687", "bolt://127.0.0.1:notaport", "bolt://:7687",
            "bolt://127.0.0.1:0", "ftp://127.0.0.1:7687", ""]


def clean(r, code: int) -> str:
    """The command failed with ``code`` and an ``Error:`` line, without a traceback."""
    assert r.exit_code == code, (r.output, r.exception)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output and "Error" in r.output, r.output
    return r.output


@pytest.mark.parametrize("uri", BAD_URIS)
def test_malformed_uri_is_named_with_an_example(uri):
    with pytest.raises(Neo4jSettingError, match="NEO4J_URI.*e.g. NEO4J_URI=bolt://127.0.0.1:7687"):
        neo4j_address(uri)


def test_good_uris_parse():
    assert neo4j_address("bolt://127.0.0.1:7688") == ("bolt", "127.0.0.1", 7688)
    assert neo4j_address("neo4j+s://abc.databases.neo4j.io") == ("neo4j+s", "abc.databases.neo4j.io", 7687)


@pytest.mark.parametrize("uri", BAD_URIS[:3])
@pytest.mark.parametrize("command", [["schema", "apply"], ["doctor"], ["interests", "show", "u1"], ["db", "start"],
                                     ["load", "--silent", "tests/data/vg-slice"]])
def test_malformed_uri_is_a_clean_error_in_every_command(monkeypatch, uri, command):
    """The exact inputs that ended in a raw traceback (and crashed `kgrec doctor`)."""
    monkeypatch.setenv("NEO4J_URI", uri)
    monkeypatch.setenv("NEO4J_PASSWORD", "any-password-1")
    out = clean(CliRunner().invoke(cli, command), 2)
    assert "NEO4J_URI" in out and repr(uri) in out


def test_unknown_database_is_a_clean_error(db, monkeypatch):
    monkeypatch.setenv("NEO4J_DATABASE", "nosuchdb")
    for command in (["schema", "apply"], ["interests", "show", "u1"], ["recommend", "--user", "u1"], ["doctor"],
                    ["train", "--epochs", "1"]):
        out = clean(CliRunner().invoke(cli, command), 2)
        assert "no database 'nosuchdb'" in out and "'neo4j'" in out and "NEO4J_DATABASE" in out, out


def test_one_cause_one_exit_code(db, settings, monkeypatch):
    # credentials: missing and refused are the same cause
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    assert "NEO4J_PASSWORD is not set" in clean(CliRunner().invoke(cli, ["schema", "check"]), 2)
    # Neo4j down: a command and the doctor agree
    monkeypatch.setenv("NEO4J_PASSWORD", settings.neo4j_password)
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:1")
    assert "not reachable" in clean(CliRunner().invoke(cli, ["schema", "check"]), 2)
    out = clean(CliRunner().invoke(cli, ["doctor"]), 2)
    assert "FAIL  neo4j" in out


@pytest.mark.parametrize("args", [
    ["interests", "show", "u1", "--top", "0"],
    ["interests", "show", "u1", "--top", "-3"],
    ["load", "tests/data/vg-slice", "--batch-size", "0"],
    ["load", "tests/data/vg-slice", "--users", "0"],
    ["load", "tests/data/vg-slice", "--k-core", "-1"],
    ["interests", "extract", "--batch", "0"],
    ["interests", "extract", "--short-decay", "1.5"],
    ["demo", "--users", "0"],
    ["db", "start", "--http-port", "70000"],
    ["--wait-for-lease", "-1", "train"],
    ["recommend", "--history", "B000ECX0GU:9"],  # (a rating out of 0-5 exited 1 with the session model's message)
    ["recommend", "--history", "B000ECX0GU:-1,B0001CJCE2"],
])
def test_bad_numbers_are_usage_errors(args):
    """`kgrec interests show USER --top 0` raised ValueError; every numeric option now states its range."""
    out = clean(CliRunner().invoke(cli, args), 2)
    assert "Invalid value" in out


@pytest.mark.parametrize("var,value", [("KGREC_BATCH_SIZE", "0"), ("KGREC_EMBEDDING_DIM", "-1"),
                                       ("KGREC_MIN_CONFIDENCE", "2"), ("KGREC_LEASE_TTL", "0"),
                                       ("KGREC_LLM_CONCURRENCY", "nan")])
def test_bad_numbers_in_the_environment_name_the_variable(monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    out = clean(CliRunner().invoke(cli, ["interests", "show", "u1"]), 1)
    assert var in out


def test_concepts_build_without_mentions_names_the_command_that_extracts_them(db):
    """It said to run `kgrec extract`, a command group that only prints its help."""
    assert db.value("MATCH (m:Mention) RETURN count(m)") == 0
    out = clean(CliRunner().invoke(cli, ["concepts", "build"]), 1)
    assert "`kgrec extract items`" in out


def test_concepts_grow_tells_a_type_without_mentions_from_one_without_a_vocabulary(db):
    """A type nothing was extracted for (the movies pack's Style and Tone in a MovieLens graph) was noted "no
    vocabulary; run `kgrec concepts build`" after a build, which makes no vocabulary for it. It now says there are no
    mentions of it; a type with mentions and no vocabulary names the build of that type."""
    db.write("CREATE (:Mention {type: 'Others', key: 'grow probe', text: 'grow probe', pending: true})")
    try:
        r = CliRunner().invoke(cli, ["concepts", "grow"])
    finally:
        db.write("MATCH (m:Mention {key: 'grow probe'}) DETACH DELETE m")
    assert r.exit_code == 0, (r.output, r.exception)
    games = next(ln for ln in r.output.splitlines() if ln.startswith("Game Features"))
    others = next(ln for ln in r.output.splitlines() if ln.startswith("Others"))
    assert "no mentions of this type" in games and "concepts build" not in games, games
    assert "`kgrec concepts build --type 'Others'`" in others, others


@pytest.mark.parametrize("args, words", [
    (["--band", "Compatibility=9:2"], "9:2"),
    (["--band", "Compatibility=0:5"], "0:5"),
    (["--band", "Compatibility=5:9", "--floor-min", "0.9", "--floor-max", "0.8"], "--floor-min"),
    (["--band", "Compatibility=5:9", "--floor-max", "0.8"], "--floor 0.86 (the default) is outside"),
    (["--band", "Compatibility=5:9", "--floor", "0.95"], "--floor 0.95 is outside"),
])
def test_concepts_build_bad_band_is_a_usage_error_before_anything_is_written(db, args, words):
    """A band LO > HI (or floor limits the wrong way round) raised ValueError in the middle of the build, after
    the types before it were written, with a traceback."""
    out = clean(CliRunner().invoke(cli, ["concepts", "build", "--silent", *args]), 2)
    assert "Invalid value" in out and words in out, out


def test_llm_test_of_an_empty_title_is_refused_before_any_request():
    """`kgrec llm test ""` sent an empty title to the model."""
    out = clean(CliRunner().invoke(cli, ["llm", "test", "  ", "--base-url", "http://127.0.0.1:9/v1"]), 2)
    assert "TEXT" in out and "is empty" in out


@pytest.mark.parametrize("content", [b"not a model\n", b"GGUF\x03\x00\x00\x00 cut short"])
def test_llm_serve_of_a_file_that_is_not_a_model_says_so(tmp_path, monkeypatch, content):
    """`kgrec llm serve --model bad.gguf` printed the server process's Python traceback (and looked for the relative
    path in the server's folder)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.gguf").write_bytes(content)
    out = clean(CliRunner().invoke(cli, ["--home", "home", "llm", "serve", "--model", "bad.gguf", "--port", "0"]), 1)
    assert len(out.strip().splitlines()) == 1, out
    assert f"{tmp_path / 'bad.gguf'} could not be loaded as a GGUF model" in out, out
    if content.startswith(b"GGUF"):  # read by the server: its log says why
        assert str(tmp_path / "home" / "llm" / "server.log") in out, out


def test_an_unknown_pack_is_refused_before_any_command_runs(db, monkeypatch):
    """`kgrec --pack nonsense load DIR` loaded the data: load does not read the pack, so nothing refused it. A bad
    `--pack` is a bad option value (exit 2, as click's own; it exited 1); a bad KGREC_TYPE_PACK a bad setting (1)."""
    from kgrec_neo4j.core.errors import SchemaError
    from kgrec_neo4j.core.schema import load_pack

    with pytest.raises(SchemaError) as e:
        load_pack("nonsense")
    nodes = db.value("MATCH (n) RETURN count(n)")
    out = clean(CliRunner().invoke(cli, ["--pack", "nonsense", "load", "--silent", "tests/data/vg-slice"]), 2)
    assert "Invalid value for '--pack'" in out, out
    assert str(e.value) in out, out
    assert db.value("MATCH (n) RETURN count(n)") == nodes
    monkeypatch.setenv("KGREC_TYPE_PACK", "nonsense")
    for command in (["load", "--silent", "tests/data/vg-slice"], ["llm", "status"], ["items", "list"]):
        assert str(e.value) in clean(CliRunner().invoke(cli, command), 1), command
    assert db.value("MATCH (n) RETURN count(n)") == nodes


@pytest.mark.parametrize("args", [
    ["evaluate", "--models", "pop", "--no-ablations", "--out", "{file}/results"],
    ["concepts", "report", "--out", "{file}/reports"],
    ["types", "discover", "--data", "tests/data/vg-slice", "--sample", "20", "--out", "{file}/mine.yaml"],
])
def test_out_under_a_file_is_refused_before_the_work(db, tmp_path, args):
    """`kgrec evaluate`, `concepts report` and `types discover` with --out under a regular file died with a
    NotADirectoryError traceback, evaluate and discover after all their work; they are refused first, as `kgrec
    report --out` and `kgrec demo --out` are."""
    from pathlib import Path

    (tmp_path / "notes.txt").write_text("x")
    args = [a.replace("{file}", str(tmp_path / "notes.txt")) for a in args]
    args = [str(Path(__file__).parent.parent / a) if a.startswith("tests/") else a for a in args]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit), (res.output, res.exception)
    assert res.output.startswith(f"Error: {args[-1]}: cannot be written there: {tmp_path / 'notes.txt'} is a file, "
                                 f"not a folder"), res.output
    assert (tmp_path / "notes.txt").read_text() == "x"


#: dataset folders of another domain than video games, and the pack their items are typed with
DOMAIN_PACKS = {"amazon-office-2018": "office_products", "movielens-100k": "movies"}
#: commands that never read the active pack (they load rows, or propose a pack)
PACKLESS = {"load", "types", "db"}


def test_examples_on_another_domains_data_run_with_its_pack():
    """`kgrec demo --help` showed `kgrec demo --data ../shared/data/amazon-office-2018 ...`: run as written, it typed
    every office product with the video-games types (Game Features, Compatibility, ...). Every example of a --help
    or of the README that runs a pack-reading command on another domain's data now names that domain's pack (a demo
    without --data runs on its pack's dataset, which must be that pack's domain)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _examples import help_examples, readme_examples

    from kgrec_neo4j.cli.demo import DEMO_DATA

    wrong, seen = [], 0
    for where, args in help_examples(cli) + readme_examples():
        given, rest = (args[1], args[2:]) if args[:1] == ["--pack"] else (None, args)
        if not rest or rest[0] in PACKLESS:
            continue
        if rest[0] == "demo" and "--data" not in rest:  # the demo loads its pack's dataset: `kgrec --pack movies demo`
            rest = [*rest, "--data", DEMO_DATA[given or "video_games"]]
        for folder, pack in DOMAIN_PACKS.items():
            if any(folder in a for a in rest):
                seen += 1
                if given != pack:
                    wrong.append((where, " ".join(args)))
    assert seen and not wrong, wrong


def test_types_list_shows_the_shipped_packs_and_the_active_one():
    """A new domain's user had no command that named the packs (`kgrec types` only had `discover`; the --pack help
    named the default alone): `kgrec types list` shows each with its domain and types, the active one marked."""
    r = CliRunner().invoke(cli, ["--pack", "movies", "types", "list"])
    assert r.exit_code == 0, (r.output, r.exception)
    lines = r.output.splitlines()
    for name in ("video_games", "office_products", "movies"):
        assert any(ln[2:].startswith(name + ":") for ln in lines), r.output
    assert [ln for ln in lines if ln.startswith("*")] == ["* movies: Feature films"]
    assert "Genre, Themes, Setting, People" in r.output and "Game Features" in r.output


def test_a_query_past_the_transaction_memory_limit_is_an_error_with_the_fix(db):
    """A query that needed more transaction memory than the server allows (`kgrec recommend --explain` for a user
    with 490 ratings did) ended, after the retry window, in a traceback of the driver's TransientError. It is now an
    `Error:` that says to give the server more memory, and how. The error is the real server's."""
    from neo4j.exceptions import TransientError

    from kgrec_neo4j.cli._common import MEMORY_POOL_FULL

    with db.driver.session(database=db.database) as ses, pytest.raises(TransientError) as caught:
        ses.run("UNWIND range(1, 3000) AS x WITH collect(apoc.text.repeat('x', 1000000) + toString(x)) AS c "
                "RETURN size(c)").consume()
    assert caught.value.code == MEMORY_POOL_FULL

    @cli.command("memory-probe")
    def probe():
        raise caught.value

    try:
        r = CliRunner().invoke(cli, ["memory-probe"])
    finally:
        cli.commands.pop("memory-probe")
    out = clean(r, 1)
    assert "more transaction memory than the server allows" in out
    assert "`KGREC_NEO4J_HEAP=4g kgrec db start`" in out and "dbms.memory.transaction.total.max" in out


def test_db_start_takes_its_http_port_from_the_environment_too(monkeypatch, tmp_path):
    """tools/demo.sh runs `kgrec db start` with no option: the HTTP (Browser) port could not be chosen for it, and a
    second server on one machine clashed on 7474. KGREC_DB_HTTP_PORT gives it; --http-port still wins."""
    from types import SimpleNamespace

    from click.testing import CliRunner

    from kgrec_neo4j.cli import cli
    from kgrec_neo4j.local import neo4j_server as server

    asked: list = []
    monkeypatch.setattr(server, "ensure_installed", lambda home, progress=None: None)
    monkeypatch.setattr(server, "start", lambda home, **kw: asked.append(kw["http_port"]) or SimpleNamespace(
        uri="bolt://127.0.0.1:7687", browser_url=None))
    monkeypatch.setenv("NEO4J_PASSWORD", "a-password-for-the-test")
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:7687")
    home = ["--home", str(tmp_path)]
    monkeypatch.delenv("KGREC_DB_HTTP_PORT", raising=False)
    assert CliRunner().invoke(cli, [*home, "db", "start"]).exit_code == 0
    monkeypatch.setenv("KGREC_DB_HTTP_PORT", "7499")
    r = CliRunner().invoke(cli, [*home, "db", "start"])
    assert r.exit_code == 0, r.output
    assert CliRunner().invoke(cli, [*home, "db", "start", "--http-port", "7498"]).exit_code == 0
    assert asked == [None, 7499, 7498]
    monkeypatch.setenv("KGREC_DB_HTTP_PORT", "port")
    r = CliRunner().invoke(cli, [*home, "db", "start"])
    assert r.exit_code == 2 and "'--http-port'" in r.output and "'port' is not a valid integer" in r.output, r.output


def test_tables_print_seconds_with_one_decimal_and_counts_in_the_singular(capsys):
    """`kgrec runs list` printed train_s as 123.4000 and `kgrec concepts build` its seconds as 12.3400 (every float
    of a table had 4 decimals); a metric keeps 4. A count of one is singular ('1 user', not '1 users')."""
    from kgrec_neo4j.cli._common import echo_table, plural

    echo_table([{"run": "r1", "valid": 0.05, "train_s": 123.4, "seconds": 12.34}])
    out = capsys.readouterr().out.splitlines()
    assert out[2].split() == ["r1", "0.0500", "123.4", "12.3"], out
    assert (plural(1, "user"), plural(0, "user"), plural(2, "interest edge")) == ("1 user", "0 users", "2 interest edges")
    # the demo printed '1 family relations'
    assert (plural(1, "family relation"), plural(3, "family", "families")) == ("1 family relation", "3 families")
