"""`kgrec demo` end to end, and every example the project shows a person, run against the graph it built.

The graph is the committed slice plus the users the examples name, with their interactions from the full Video
Games set, through the whole pipeline. The examples (each command's ``--help``, the README, the ``:param`` lines
of cypher/browser/) use users and items of the 2,000-user demo of the README, so they work there too.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
from pathlib import Path

import click
import pytest
from _examples import REPO, browser_params, help_examples, leaf, readme_examples, readme_python
from click.testing import CliRunner

from kgrec_neo4j.cli import cli
from kgrec_neo4j.core import resources
from kgrec_neo4j.demo import report_path

SLICE = Path(__file__).parent / "data" / "vg-slice"
DEMO_USERS, DEMO_SEED = 2000, 42  # the README's demo: `kgrec load ../shared/data/amazon-videogames-2018 --users 2000`

#: commands whose examples are only parsed (options and arguments checked by click), each with the reason
PARSE_ONLY = {
    ("db", "start"): "starts or reuses a server process", ("db", "stop"): "stops the test server",
    ("db", "install"): "runs Maven", ("db", "status"): "the local server's process state",
    ("db", "dump"): "needs the server stopped", ("db", "restore"): "replaces the database (tests/test_db_dump.py)",
    ("demo",): "the whole pipeline on 500-2,000 users (bench/, docs/results.md)",
    ("load",): "loads another dataset into the test graph", ("train",): "minutes of training; the demo trained",
    ("evaluate",): "trains every baseline", ("concepts", "build"): "rebuilds the vocabulary",
    ("concepts", "grow"): "grows the vocabulary the other examples name concepts of",
    ("types", "discover"): "embeds a 200-item sample or calls an LLM",
    ("llm", "serve"): "starts the bundled LLM server", ("serve",): "starts the HTTP service", ("llm", "test"): "calls an LLM",
    ("llm", "stop"): "stops the bundled LLM server other tests may be using",
    ("concepts", "merge"): "merges two concepts for good (the pair names concepts of the 2,000-user demo)",
}
NEEDS_LLM = ("--extractor", "llm"), ("--classifier", "llm")
SWITCHES_PACK = "--pack"
ID_OPTIONS = ("--user", "--item")
#: commands that print the id they were given (the others print titles)
PRINTS_ID = {("recommend",): "--user", ("interests", "show"): "--user", ("users", "show"): "--user",
             ("items", "show"): "--item"}


def _all_examples() -> list[tuple[str, list[str]]]:
    return help_examples(cli) + readme_examples()


def _named_ids() -> tuple[set[str], set[str]]:
    users, items = set(), set()
    for _, args in _all_examples():
        for opt, bucket in (("--user", users), ("--item", items)):
            if opt in args:
                bucket.add(args[args.index(opt) + 1])
    for params in browser_params().values():
        users |= {params["user"]} if "user" in params else set()
        items |= {params["item"]} if "item" in params else set()
    for code in readme_python():
        users |= set(re.findall(r'"(A[0-9A-Z]{9,})"', code))
    return users, items


def _demo_sample(full: Path) -> tuple[set[str], dict[str, list[dict]]]:
    """The users of the README's 2,000-user demo (the loader's seeded hash) and every user's interactions."""
    by_user: dict[str, list[dict]] = {}
    with gzip.open(full / "interactions.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            by_user.setdefault(r["user_id"], []).append(r)
    ranked = sorted(by_user, key=lambda u: hashlib.sha1(f"{DEMO_SEED}:{u}".encode()).hexdigest())
    return set(ranked[:DEMO_USERS]), by_user


@pytest.fixture(scope="module")
def dataset(data_dir, tmp_path_factory) -> Path:
    """The slice plus the example users (with all their interactions and items from the full set)."""
    full = data_dir / "amazon-videogames-2018"
    users, items = _named_ids()
    sample, by_user = _demo_sample(full)
    missing = sorted(users - sample)
    assert not missing, f"example users not in the README's {DEMO_USERS}-user demo: {missing}"
    demo_items = {r["item_id"] for u in users for r in by_user[u]}
    assert items <= demo_items, f"example items that none of the example users has: {sorted(items - demo_items)}"
    out = tmp_path_factory.mktemp("examples-data")
    shutil.copy(SLICE / "items.jsonl", out / "items.jsonl")
    shutil.copy(SLICE / "interactions.jsonl", out / "interactions.jsonl")
    have = {json.loads(line)["item_id"] for line in (SLICE / "items.jsonl").read_text().splitlines()}
    with gzip.open(full / "items.jsonl.gz", "rt", encoding="utf-8") as f, open(out / "items.jsonl", "a") as w:
        for line in f:
            if json.loads(line)["item_id"] in demo_items - have:
                w.write(line if line.endswith("\n") else line + "\n")
    with open(out / "interactions.jsonl", "a") as w:
        for u in sorted(users):
            for r in by_user[u]:
                w.write(json.dumps(r) + "\n")
    return out


@pytest.fixture(scope="module")
def demo(db, dataset, tmp_path_factory):
    """`kgrec demo` on the dataset: (its output, the number of users, the output folder)."""
    n = len({json.loads(x)["user_id"] for x in (dataset / "interactions.jsonl").read_text().splitlines()})
    out = tmp_path_factory.mktemp("demo-out")
    r = CliRunner().invoke(cli, ["demo", "--data", str(dataset), "--users", str(n), "--epochs", "3",
                                 "--models", "pop,ease,ours", "--fresh", "--yes", "--out", str(out)])
    assert r.exit_code == 0, r.output
    return r.output, n, out


def test_report_path_stays_in_the_folder(tmp_path):
    """The demo's report page is named after a user, and any string is a valid user id in the generic format."""
    ids = ["../../etc/passwd", "/abs/path", "a/b", "..", ".", "", "x" * 300, "ok-id_1.2", "sp ace", "nul\x00", "\ud800"]
    pages = [report_path(tmp_path, i) for i in ids]
    assert all(p.parent == tmp_path and p.name.startswith("report-") and len(p.name) < 120 for p in pages)
    assert len(set(pages)) == len(ids) and report_path(tmp_path, "ok-id_1.2").name == "report-ok-id_1.2.html"


def test_demo_help_names_the_models_it_evaluates_by_default():
    """`kgrec demo --help` said "(default: all)" of --models, and the demo left out ease-recency."""
    from kgrec_neo4j.demo import BASELINES

    r = CliRunner().invoke(cli, ["demo", "--help"], terminal_width=400)
    assert r.exit_code == 0, r.output
    assert f"(default: {', '.join(BASELINES)})" in " ".join(r.output.split()), r.output


def test_help_examples_keep_their_lines():
    """`kgrec serve --help` printed its two-line curl example as one line: the docstring's `\\` at the end of a
    line joined the next one to it (and lost the backslash). Every example line of every --help stands as written:
    a run of spaces inside a line is only the one before an aligned `# comment`."""
    from _examples import _walk

    joined = []
    for path, cmd in _walk(cli):
        for line in (cmd.help or "").splitlines():
            if re.search(r"\S {6,}(?!#|\s)", line):
                joined.append((" ".join(path), line.strip()))
    assert not joined, joined
    r = CliRunner().invoke(cli, ["serve", "--help"], terminal_width=400)
    lines = r.output.splitlines()
    at = next(i for i, x in enumerate(lines) if "-H 'Authorization: Bearer <secret>'" in x)
    assert lines[at].rstrip().endswith("\\") and lines[at + 1].strip().startswith("-H 'Content-Type"), r.output


def test_demo_runs_the_whole_pipeline(db, demo):
    output, n, out = demo
    for stage in ("schema", "load", "extract (offline)", "concepts build", "concepts project", "concepts grow",
                  "interactions classify", "interests (offline)", "evaluate", "train + write-back (ours)",
                  "recommend + explain", "report page"):
        assert any(line.startswith(stage) for line in output.splitlines()), (stage, output)
    assert "| pop |" in output and "| ease |" in output and "| ours |" in output
    # --fresh says that it empties the database (a full graph took a minute without a word) and counts it in the total
    lines = output.splitlines()
    assert lines[0].startswith("[0] emptying the database (") and lines[1].startswith("[1] schema"), lines[:2]
    seconds = {x[:28].strip(): float(x[28:].split("s")[0]) for x in lines
               if x[:28].strip() and re.fullmatch(r"\s*\d+\.\d", x[28:].split("s")[0])}
    assert "empty the database (--fresh)" in seconds and "total" in seconds, seconds
    assert seconds["total"] >= sum(v for k, v in seconds.items() if k != "total") - 0.05 * len(seconds), seconds
    # the models of its table: the rows of the history protocol are not more models (it said 7 for these 3)
    assert any(line.startswith("evaluate") and line.endswith("3 models on the same split") for line in
               output.splitlines()), output
    assert (out / "evaluation" / "evaluation.json").is_file()
    page = next(out.glob("report-*.html"))
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
    assert counts["embedded"] == n and counts["current"] == 1
    assert 1 <= counts["recommended"] <= 3


def _parse_only(monkeypatch, args: list[str]) -> click.testing.Result:
    """Let click parse ``args`` completely (options, choices, paths) and run no command."""
    with monkeypatch.context() as m:
        m.setattr(click.Command, "invoke", lambda self, ctx: None)
        return CliRunner().invoke(cli, args)


def _data_paths(args: list[str], data_dir: Path) -> list[str]:
    """The examples name ``../shared/data`` (the README's layout); point it at the data folder of this run."""
    return [a.replace("../shared/data", str(data_dir)) if a.startswith("../shared/data") else a for a in args]


def test_every_example_works(db, demo, data_dir, tmp_path, monkeypatch):
    examples = _all_examples()
    assert len(examples) > 60
    ran, parsed = [], []
    monkeypatch.chdir(tmp_path)  # files an example writes (report.html, profile.png, reports/) land here
    (tmp_path / "new-week").mkdir()  # the README's folder of a week's new rows (its `load --append` is parsed only)
    for where, args in examples:
        path = leaf(cli, args)
        args = _data_paths(args, data_dir)
        names_ids = any(o in args for o in ID_OPTIONS)
        reason = PARSE_ONLY.get(path) or next((f"needs an LLM ({a} {b})" for a, b in NEEDS_LLM
                                               if a in args and args[args.index(a) + 1] == b), None)
        if SWITCHES_PACK in args:
            reason = "switches the database to another knowledge-type pack"
        if reason:
            assert not names_ids, f"{where}: `kgrec {' '.join(args)}` names a user or item but is not run ({reason})"
            r = _parse_only(monkeypatch, args)
            assert r.exit_code == 0, f"{where}: `kgrec {' '.join(args)}` does not parse:\n{r.output}"
            parsed.append(path)
            continue
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 0, f"{where}: `kgrec {' '.join(args)}` failed:\n{r.output}"
        assert r.output.strip(), f"{where}: `kgrec {' '.join(args)}` printed nothing"
        if path in PRINTS_ID and PRINTS_ID[path] in args:  # (`recommend --all` names no user)
            opt = PRINTS_ID[path]
            assert args[args.index(opt) + 1] in r.output, (where, args, r.output)
        if path == ("explain",):
            assert "reasons (their shares add up to the score" in r.output \
                or "nothing in the model connects" in r.output, (where, r.output)
        if path == ("recommend",) and "--explain" in args:
            assert "because" in r.output or "shares" in r.output, (where, r.output)
        ran.append(path)
    assert {("recommend",), ("explain",), ("report",), ("interests", "show"), ("users", "show"),
            ("items", "show"), ("items", "search"), ("users", "list")} <= set(ran)
    assert ("db", "start") in parsed and ("demo",) in parsed


def _statements(name: str) -> list[str]:
    text = resources.cypher(f"browser/{name}")
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith((":", "//"))]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


# queries about what only `kgrec update` writes (the demo trains every item): tested on an updated graph instead
AFTER_UPDATE = {"new_items": "tests/test_update.py::test_new_items_browser_query_lists_them"}


@pytest.mark.parametrize("name", sorted(set(browser_params()) - set(AFTER_UPDATE)))
def test_browser_query_with_its_param_lines_finds_rows(db, demo, name):
    params = browser_params()[name]
    assert params, f"cypher/browser/{name}.cypher has no `:param` line"
    if name == "stored_recommendations":  # the file reads the edges `kgrec recommend` stores
        r = CliRunner().invoke(cli, ["recommend", "--user", params["user"]])
        assert r.exit_code == 0, r.output
    for stmt in _statements(name):
        rows = db.query(stmt, **params)
        assert rows, f"cypher/browser/{name}.cypher with {params} returns nothing"
        if name == "user_profile":
            assert rows[0]["interests"] and rows[0]["history"]
        if name == "concept_neighbourhood":
            assert rows[0]["items"] and rows[0]["users"]


def test_browser_queries_warn_of_nothing_on_a_graph_no_update_touched(db, demo, settings):
    """Pasted into Browser, no query warns of an unknown property key: the properties only `kgrec update` writes
    (a borrowed link's `borrowed`, `neighbour`) were read as `l.borrowed`, and on a graph no update had touched
    Browser showed UnknownPropertyKeyWarning under the query. (The test server's store is new each run, and the
    demo runs no update; a property key written by an earlier test would hide the warning.)"""
    from neo4j import GraphDatabase

    warned = {}
    with GraphDatabase.driver(settings.neo4j_uri,
                              auth=(settings.neo4j_username, settings.require_password())) as drv:
        for name, params in sorted(browser_params().items()):
            for stmt in _statements(name):
                args = {**params, "limit": 25} if "$limit" in stmt else params  # new_items: an integer :param
                _, summary, _ = drv.execute_query(stmt, args, database_=settings.neo4j_database)
                codes = [n.get("code", "") for n in (summary.notifications or [])]
                bad = [c for c in codes if "Unknown" in c]
                if bad:
                    warned[name] = bad
    assert warned == {}


#: properties a whole graph may lack: `rating` (an implicit data set such as Office), and what only `kgrec update`
#: writes; a Browser query reads them through a map (`properties(x).rating`), which warns of nothing
MAY_BE_ABSENT = ("rating", "borrowed", "neighbour", "gnn_folded_run")


def test_browser_queries_read_the_properties_a_graph_may_lack_through_a_map():
    """The demo's graph has every rating and the test server's store is new each run, so the test above cannot see
    a warning that only a graph without ratings gives (Office: three queries warned `rating` on every run)."""
    direct = {name: sorted(set(re.findall(r"\b[A-Za-z_]\w*\.(" + "|".join(MAY_BE_ABSENT) + r")\b",
                                          resources.cypher(f"browser/{name}"))))
              for name in browser_params()}
    assert {k: v for k, v in direct.items() if v} == {}


def test_readme_python_runs(db, demo):
    blocks = readme_python()
    assert blocks, "the README has no python example"
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})  # noqa: S102 - the README's own code


def test_readme_browser_queries_are_the_shipped_files():
    """The queries the README tells a person to paste are the files of cypher/browser/, word for word."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```cypher\n(.*?)```", readme, re.S)
    assert len(blocks) >= 3
    shipped = {name: "\n".join(_statements(name)) for name in browser_params()}
    for b in blocks:
        body = "\n".join(ln for ln in b.splitlines() if not ln.lstrip().startswith((":", "//"))).strip().rstrip(";")
        assert body in shipped.values(), f"a README query differs from every file of cypher/browser/:\n{body}"


def test_lookups_name_the_way_to_a_valid_id(db, demo):
    r = CliRunner().invoke(cli, ["items", "show", "--item", "NO-SUCH-ITEM"])
    assert r.exit_code == 1 and "item 'NO-SUCH-ITEM' is not in the database" in r.output
    assert "kgrec items search" in r.output
    r = CliRunner().invoke(cli, ["users", "show", "--user", "NO-SUCH-USER"])
    assert r.exit_code == 1 and "kgrec users list" in r.output
    r = CliRunner().invoke(cli, ["items", "search", "no such title anywhere", "--json"])
    assert r.exit_code == 0 and json.loads(r.output) == []
    users = json.loads(CliRunner().invoke(cli, ["users", "list", "--limit", "3", "--json"]).output)
    assert len(users) == 3 and users[0]["interactions"] >= users[-1]["interactions"]


def test_demo_out_under_a_file_is_refused_before_anything(db, tmp_path):
    """`kgrec demo --out` under a regular file died with a traceback (NotADirectoryError) when it made the folder,
    and with --fresh only after the database was emptied; it is refused first, naming the file, as `kgrec report
    --out` is."""
    db.execute("CREATE (:DemoOutMarker {id: 'keep'})")
    try:
        (tmp_path / "notes.txt").write_text("x")
        for out in (tmp_path / "notes.txt" / "demo", tmp_path / "notes.txt" / "a" / "b"):
            res = CliRunner().invoke(cli, ["demo", "--data", str(SLICE), "--users", "5", "--models", "pop",
                                           "--epochs", "1", "--fresh", "--yes", "--out", str(out)])
            assert res.exit_code == 1 and isinstance(res.exception, SystemExit), (res.output, res.exception)
            assert res.output.startswith(f"Error: {out}: cannot be written there: {tmp_path / 'notes.txt'} is a "
                                         f"file, not a folder"), res.output
            assert db.value("MATCH (m:DemoOutMarker) RETURN count(m)") == 1  # --fresh emptied nothing
        assert (tmp_path / "notes.txt").read_text() == "x"
    finally:
        db.execute("MATCH (m:DemoOutMarker) DELETE m")


def test_demo_refuses_an_unknown_model_before_anything(db, tmp_path):
    """`kgrec demo --models ours,popular` loaded, extracted, built concepts and interests (minutes, with --fresh after
    emptying the database) and then died with a ValueError traceback at evaluation; --models is checked first, as
    `kgrec evaluate --models` is, naming the models it knows."""
    db.execute("CREATE (:DemoOutMarker {id: 'keep'})")
    try:
        res = CliRunner().invoke(cli, ["demo", "--data", str(SLICE), "--users", "5", "--models", "ours, popular",
                                       "--epochs", "1", "--fresh", "--yes", "--out", str(tmp_path / "out")])
        assert res.exit_code == 2 and isinstance(res.exception, SystemExit), (res.output, res.exception)
        assert "Invalid value for --models: got popular; expected some of ours, lightgcn" in res.output
        assert db.value("MATCH (m:DemoOutMarker) RETURN count(m)") == 1  # --fresh emptied nothing
    finally:
        db.execute("MATCH (m:DemoOutMarker) DELETE m")


class _StopAfterLoad(Exception):
    pass


def test_the_demo_loads_the_dataset_its_pack_is_made_for(db, data_dir, tmp_path, monkeypatch):
    """`kgrec --pack movies demo` loaded the Video Games set, the one default of --data, and typed its games with
    the film types (a chosen pack's catalogue is not checked); without --data the demo loads its pack's dataset,
    and a pack of one's own needs --data."""
    import kgrec_neo4j.demo as D

    loaded: list[Path] = []

    def stop(_db, _settings, *, data, **_k):
        loaded.append(data)
        raise _StopAfterLoad

    monkeypatch.setattr(D, "run_demo", stop)
    monkeypatch.setenv("KGREC_DATA_DIR", str(data_dir))
    for pack in ("movies", "office_products", "video_games"):
        res = CliRunner().invoke(cli, ["--pack", pack, "demo", "--out", str(tmp_path / "out")])
        assert isinstance(res.exception, _StopAfterLoad), (res.output, res.exception)
    assert loaded == [data_dir / "movielens-100k", data_dir / "amazon-office-2018",
                      data_dir / "amazon-videogames-2018"]
    mine = tmp_path / "mine.yaml"
    mine.write_text("name: mine\ndomain: boats\ntypes:\n  - {name: Others, definition: anything}\n")
    res = CliRunner().invoke(cli, ["--pack", str(mine), "demo", "--out", str(tmp_path / "out")])
    assert res.exit_code == 1 and res.output.startswith(f"Error: pack {mine} has no dataset of its own: pass --data"), \
        res.output
    assert len(loaded) == 3


def test_demo_asks_before_it_reloads_a_stored_dataset_with_fewer_users(db, settings, tmp_path, monkeypatch):
    """`kgrec demo --users 5` after a demo of more users (without --fresh) reloaded the dataset down to 5 users
    without a word: the others were removed with everything derived from them. It asks first, naming what would go
    and the ways out; no answer or 'n' writes nothing, --yes (or 'y') replaces it; a sample that removes nothing
    (the same users, or more) is not asked about."""
    from kgrec_neo4j.core.db import clear_database
    from kgrec_neo4j.extract import run as extract_run
    from kgrec_neo4j.load import load

    def stop(*_a, **_k):
        raise _StopAfterLoad  # the stages after the load are not what this test is about

    monkeypatch.setattr(extract_run, "build_extractor", stop)
    clear_database(db)
    load(db, [SLICE], max_users=12, seed=settings.seed)

    def stored() -> dict:
        return db.query("CALL () { MATCH (u:User) RETURN count(u) AS users } "
                        "CALL () { MATCH ()-[x:INTERACTED]->() RETURN count(x) AS interactions } "
                        "CALL () { MATCH (i:Item) RETURN count(i) AS items } RETURN users, interactions, items")[0]

    def demo(users: int, *extra: str, answer: str | None = None) -> click.testing.Result:
        return CliRunner().invoke(cli, ["demo", "--data", str(SLICE), "--users", str(users), "--models", "pop",
                                        "--epochs", "1", "--out", str(tmp_path / "out"), *extra], input=answer)

    before = stored()
    assert before["users"] == 12
    for answer in (None, "n\n"):
        res = demo(5, answer=answer)
        assert res.exit_code == 1 and isinstance(res.exception, SystemExit), (res.output, res.exception)
        assert f"dataset 'vg-slice' is stored with 12 users ({before['interactions']} interactions" in res.output
        assert "would replace it and remove 7 users" in res.output and "Replace it? [y/N]" in res.output
        assert "not replaced; nothing was written: pass --users 12 to run on the stored users, --fresh" in res.output
        assert stored() == before
    for users in (12, 20):  # nothing stored would go: no question
        res = demo(users)
        assert isinstance(res.exception, _StopAfterLoad) and "Replace it?" not in res.output, res.output
        assert stored()["users"] == users
        # the stored sample itself: the summary said '0 users, 0 items, 0 interactions', as if nothing was loaded
        assert ("dataset vg-slice already stored as these files have it" in res.output) == (users == 12), res.output
    res = demo(5, "--yes")
    assert isinstance(res.exception, _StopAfterLoad), res.output
    assert "is stored with 20 users" in res.output and "remove 15 users" in res.output and "--yes" in res.output
    assert "removed 15 users" in res.output and stored()["users"] == 5
    # another seed's sample is not one the demo can name: --users of its count would be asked about again
    from kgrec_neo4j.load import read
    from kgrec_neo4j.load.split import sample_users

    xs = read([SLICE]).interactions
    assert {x.user for x in sample_users(xs, 12, settings.seed + 1)} != {x.user for x in sample_users(xs, 12, settings.seed)}
    clear_database(db)
    load(db, [SLICE], max_users=12, seed=settings.seed + 1)
    res = demo(5)
    assert res.exit_code == 1 and "not replaced; nothing was written: pass --fresh" in res.output, res.output
    # a stored sample that shares no user with the demo's: asked about like any other (it was refused with a fix,
    # --append, that the demo does not have), and --yes replaces it
    mine = {x.user for x in sample_users(xs, 5, settings.seed)}
    seed = next(s for s in range(1, 200) if not mine & {x.user for x in sample_users(xs, 5, s)})
    clear_database(db)
    load(db, [SLICE], max_users=5, seed=seed)
    res = demo(5, "--yes")
    assert isinstance(res.exception, _StopAfterLoad), res.output
    assert "remove 5 users" in res.output and set(db.value("MATCH (u:User) RETURN collect(u.id)")) == mine
    clear_database(db)


def test_every_command_has_an_example():
    """The README says every command's --help has an example; `kgrec llm status` and `kgrec llm stop` had none."""
    from _examples import _walk

    missing = [" ".join(path) for path, cmd in _walk(cli) if not isinstance(cmd, click.Group)
               and not re.search(r"^\s*Examples?\b.*:\s*$", cmd.help or "", re.M)]
    assert not missing, missing
