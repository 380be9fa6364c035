"""Type packs, schema apply/check, type enforcement, vector index, and every client the design names."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kgrec_neo4j.core import schema
from kgrec_neo4j.core.errors import ConfigError, DimensionMismatch, SchemaError, UnknownTypeError

VG_TYPES = ["Functionality", "Compatibility", "Components", "User Demographics", "Usage Scenarios",
            "Game Features", "Technical Specifications", "Content Additions", "Performance Metrics", "Others"]


def test_video_games_pack_has_exactly_the_ten_seed_types():
    pack = schema.load_pack("video_games")
    assert pack.names == VG_TYPES
    assert all(t.definition and len(t.definition.splitlines()) == 1 for t in pack.types)


def test_every_shipped_pack_is_valid():
    for name in schema.available_packs():
        assert "Others" in schema.load_pack(name).names


def test_a_pack_file_that_is_not_there_is_named_as_a_file(tmp_path):
    with pytest.raises(SchemaError, match=r"type pack file '.*typo/mine.yml' not found \(looked at /"):
        schema.load_pack(str(tmp_path / "typo" / "mine.yml"))
    with pytest.raises(SchemaError, match="type pack 'nosuch' not found at .*nosuch.yaml; available: movies"):
        schema.load_pack("nosuch")


def test_bad_pack_files_are_refused(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_text("name: x\ntypes:\n  - name: A\n    definition: a\n")
    with pytest.raises(SchemaError, match="needs an 'Others' type"):
        schema.load_pack(str(p))
    p.write_text("name: x\ntypes:\n  - name: A\n")
    with pytest.raises(SchemaError, match=r"type number 1 \('A'\) needs a non-empty 'name' and 'definition'"):
        schema.load_pack(str(p))
    # a misspelled key, a type listed twice in two cases, an unknown top-level key: refused, naming it
    others = "  - name: Others\n    definition: o\n"
    p.write_text("name: x\ntypes:\n  - name: A\n    definition: a\n    exmples: [b]\n" + others)
    with pytest.raises(SchemaError, match=r"type number 1 \('A'\) has unknown key\(s\) 'exmples'; a type has name"):
        schema.load_pack(str(p))
    p.write_text("name: x\ntypes:\n  - name: Director\n    definition: a\n  - name: director\n    definition: b\n"
                 + others)
    with pytest.raises(SchemaError, match=r"type 'director' is listed twice \(as 'Director' too"):
        schema.load_pack(str(p))
    p.write_text("name: x\nkeywrods: [a]\ntypes:\n" + others)
    with pytest.raises(SchemaError, match=r"unknown key\(s\) 'keywrods'; a pack file has name, domain, types"):
        schema.load_pack(str(p))
    p.write_text("name: x\non: 1\n2: b\ntypes:\n" + others)  # YAML reads these keys as a bool and an int
    with pytest.raises(SchemaError, match=r"unknown key\(s\) '2', 'True'"):
        schema.load_pack(str(p))
    p.write_text("name: x\n")
    with pytest.raises(SchemaError, match=r"expected a non-empty list 'types' .*all but 'types' are optional"):
        schema.load_pack(str(p))
    for shipped in schema.available_packs():  # every shipped pack still loads
        schema.load_pack(shipped)
    with pytest.raises(SchemaError, match="available: .*video_games"):
        schema.load_pack("no_such_pack")


def test_apply_is_idempotent_and_check_is_clean(db, settings):
    pack = schema.load_pack("video_games")
    schema.apply(db, pack, dim=settings.embedding_dim)
    schema.apply(db, pack, dim=settings.embedding_dim)
    assert schema.check(db, pack, dim=settings.embedding_dim) == []
    assert schema.db_types(db) == sorted(VG_TYPES)
    names = {r["name"] for r in db.query("SHOW CONSTRAINTS YIELD name RETURN name")}
    assert {"user_id", "item_id", "knowledge_type_name", "concept_id", "mention_type_key"} <= names


def test_check_reports_drift(db, settings):
    pack = schema.load_pack("video_games")
    db.write("DROP CONSTRAINT concept_id")
    db.write("MATCH (k:KnowledgeType {name: 'Others'}) SET k.definition = 'changed'")
    drift = schema.check(db, pack, dim=settings.embedding_dim)
    assert "constraint concept_id is declared in schema/ but missing in the database" in drift
    assert "knowledge type 'Others' has a different definition in the database" in drift
    schema.apply(db, pack, dim=settings.embedding_dim)
    assert schema.check(db, pack, dim=settings.embedding_dim) == []


def test_uniqueness_is_enforced_by_the_database(db):
    from neo4j.exceptions import ConstraintError

    db.write("MERGE (:Item {id: 'dup-1'})")
    with pytest.raises(ConstraintError):
        db.write("CREATE (:Item {id: 'dup-1'})")


def test_unknown_type_write_is_refused_and_writes_nothing(db):
    def work(tx):
        tx.run("CREATE (:Mention {type: 'Compatibility', key: 'ps4', text: 'PS4'})")
        schema.refuse_unknown_types(tx, ["Compatibility", "Flavour"])

    with pytest.raises(UnknownTypeError) as e:
        db.write_tx(work)
    assert "'Flavour'" in str(e.value) and "Game Features" in str(e.value) and "Nothing was written" in str(e.value)
    assert "type pack ('video_games')" in str(e.value) and "--pack video_games" in str(e.value)
    assert db.value("MATCH (m:Mention {key: 'ps4'}) RETURN count(m)") == 0


def test_a_command_run_with_another_pack_than_the_databases_is_refused_before_it_writes(db, settings):
    """A database set up with one type pack and a command run with another (KGREC_TYPE_PACK forgotten): the update
    and the extraction say which pack the database holds and how to run with it, before anything is read or
    written (the update records no run)."""
    import dataclasses

    from kgrec_neo4j.core.errors import ConfigError
    from kgrec_neo4j.extract.run import build_extractor, extract_items
    from kgrec_neo4j.update import run_update

    assert schema.db_packs(db) == ["video_games"]
    schema.check_pack(db, schema.load_pack("video_games"))
    office = schema.load_pack("office_products")
    with pytest.raises(ConfigError, match=r"pack 'video_games', but this command runs with pack 'office_products'.*"
                                          r"KGREC_TYPE_PACK=video_games"):
        schema.check_pack(db, office)
    # a database whose concepts or extracted mentions use its pack is not offered the switch (`schema apply` refuses
    # it then): one pack per database is said instead
    for probe, label in (("(:Concept {id: 'pack-probe', type: 'Game Features', name: 'pack probe'})", "Concept"),
                         ("(:Mention {type: 'Game Features', key: 'pack-probe', text: 'pack probe'})", "Mention")):
        db.write(f"CREATE {probe}")
        try:
            with pytest.raises(ConfigError, match=r"A database holds one pack: its datasets all share it") as e:
                schema.check_pack(db, office)
            assert "schema apply" not in str(e.value)
        finally:
            db.write(f"MATCH (n:{label}) WHERE n.id = 'pack-probe' OR n.key = 'pack-probe' DETACH DELETE n")
    runs = db.value("MATCH (r:UpdateRun) RETURN count(r)")
    with pytest.raises(ConfigError, match="type pack 'video_games'"):
        run_update(db, dataclasses.replace(settings, type_pack="office_products"), extractor="offline")
    with pytest.raises(ConfigError, match="type pack 'video_games'"):
        extract_items(db, build_extractor(settings, "offline", pack=office), pack=office, progress=False)
    assert db.value("MATCH (r:UpdateRun) RETURN count(r)") == runs


@pytest.mark.parametrize("args", [["concepts", "report"], ["concepts", "build", "--silent"],
                                  ["concepts", "project", "--silent"],
                                  ["concepts", "grow", "--silent"], ["concepts", "families"], ["concepts", "same-work"],
                                  ["concepts", "suggest-merges"], ["concepts", "merge", "c_a", "c_b"],
                                  ["interests", "extract", "--extractor", "llm", "--users", "1", "--silent"],
                                  ["load", str(Path(__file__).parent / "data" / "vg-slice"), "--dataset", "pack-probe",
                                   "--silent"]])
def test_the_concept_commands_run_with_another_pack_than_the_databases_are_refused(db, tmp_path, args):
    """`kgrec concepts report` without --pack on an Office graph reported the 4 of its 9 types that the video-games
    pack has too (Functionality, Compatibility, Usage Scenarios, Others), saying nothing of the others; project and
    grow likewise worked on those 4 alone; families, same-work, suggest-merges and merge read the pack's rules (its
    variant guard, its title names), and the Graph-RAG interests ask for its types. Each now names the database's
    pack, as extraction and update do. `kgrec load` too: it wrote a dataset that the next extraction or update would
    type with the wrong pack (or refuse)."""
    from kgrec_neo4j.cli import cli

    assert schema.db_packs(db) == ["video_games"]
    out = ["--out", str(tmp_path)] if args[1] == "report" else []
    r = CliRunner().invoke(cli, ["--pack", "office_products", *args, *out])
    assert r.exit_code == 1, (r.output, r.exception)
    assert "Error: this database holds the knowledge types of type pack 'video_games'" in r.output, r.output
    assert "`kgrec --pack video_games ...`" in r.output, r.output
    assert not (tmp_path / "concepts-report.md").exists()
    assert db.value("MATCH (d:Dataset {name: 'pack-probe'}) RETURN count(d)") == 0


def test_vector_index_answers_and_dimension_mismatch_is_refused(db, settings):
    dim = settings.embedding_dim
    v1 = [1.0] + [0.0] * (dim - 1)
    v2 = [0.0, 1.0] + [0.0] * (dim - 2)
    db.write("UNWIND $rows AS r MERGE (c:Concept {id: r.id}) SET c.embedding = r.v, c.type = 'Others'",
             rows=[{"id": "vx-1", "v": v1}, {"id": "vx-2", "v": v2}])
    db.write("CALL db.awaitIndexes(60)")
    rows = db.query("CALL db.index.vector.queryNodes('concept_embedding', 2, $v) YIELD node, score "
                    "RETURN node.id AS id, score ORDER BY score DESC", v=v1)
    assert rows[0]["id"] == "vx-1" and rows[0]["score"] > rows[1]["score"]
    with pytest.raises(DimensionMismatch, match="rebuild-vector-index"):
        schema.apply(db, schema.load_pack("video_games"), dim=dim * 2)
    db.write("MATCH (c:Concept) WHERE c.id STARTS WITH 'vx-' DETACH DELETE c")


def test_pack_switch_refuses_types_still_in_use(db, settings):
    db.write("MATCH (k:KnowledgeType {name: 'Game Features'}) "
             "MERGE (c:Concept {id: 'c-used', type: 'Game Features'})-[:OF_TYPE]->(k)")
    vg = sorted(schema.load_pack("video_games").names)
    with pytest.raises(SchemaError, match="Game Features \\(1 concepts, 0 mentions\\).*nothing was changed.*"
                                          "`kgrec --pack video_games ...`.*neo4j/data"):
        schema.apply(db, schema.load_pack("office_products"), dim=settings.embedding_dim)
    # the refused switch writes nothing: it left the office types beside the video-games ones, and commands run
    # with either pack were then accepted
    assert schema.db_types(db) == vg and schema.db_packs(db) == ["video_games"]
    with pytest.raises(ConfigError):
        schema.check_pack(db, schema.load_pack("office_products"))
    db.write("MATCH (c:Concept {id: 'c-used'}) DETACH DELETE c")
    # extracted values of a type, before any concept: the type is in use too (it was removed as "unused")
    db.write("CREATE (:Mention {type: 'Game Features', key: 'm-used', text: 'couch co-op'})")
    with pytest.raises(SchemaError, match="Game Features \\(0 concepts, 1 mentions\\).*nothing was changed"):
        schema.apply(db, schema.load_pack("office_products"), dim=settings.embedding_dim)
    assert schema.db_types(db) == vg
    db.write("MATCH (m:Mention {key: 'm-used'}) DETACH DELETE m")
    # the ids of pruned concepts are retired on their type (`kgrec concepts prune`); a switch that removes the type
    # keeps them retired, so a pack that brings the type back never gives them to a new concept
    from kgrec_neo4j.concepts import store

    retired = store.candidate_id("Game Features", "couch co-op")
    db.write("MATCH (k:KnowledgeType {name: 'Game Features'}) SET k.retired_concepts = [$id, 'gf-alias']", id=retired)
    assert store.allocate_ids(db, "Game Features", ["couch co-op"]) != [retired]
    schema.apply(db, schema.load_pack("office_products"), dim=settings.embedding_dim)
    assert "Game Features" not in schema.db_types(db)
    schema.apply(db, schema.load_pack("video_games"), dim=settings.embedding_dim)
    assert store.allocate_ids(db, "Game Features", ["couch co-op"]) != [retired]
    assert db.value("MATCH (m:SchemaInfo) RETURN m.retired_concepts") == [retired, "gf-alias"]
    db.write("MATCH (m:SchemaInfo) REMOVE m.retired_concepts")


def test_gds_apoc_and_langchain_clients(db, settings):
    from langchain_neo4j import Neo4jGraph

    from kgrec_neo4j.core.gds import gds_for

    assert db.value("RETURN gds.version()").startswith("2.13")
    assert db.value("RETURN apoc.version()").startswith("5.26")
    db.write("UNWIND range(1, 4) AS i MERGE (u:User {id: 'g' + i}) MERGE (it:Item {id: 'gi' + i}) "
             "MERGE (u)-[:INTERACTED {seq: 0, split: 'train', sign: 1}]->(it)")
    gds = gds_for(db)
    G, _ = gds.graph.project.native("t-clients", ["User", "Item"], {"INTERACTED": {"properties": "sign"}},
                                    overwrite=True)
    rels = gds.graph.relationships.stream(G, ["INTERACTED"], ["sign"])
    assert len(rels) >= 4
    G.drop()
    graph = Neo4jGraph(url=settings.neo4j_uri, username=settings.neo4j_username, password=settings.neo4j_password,
                       database=settings.neo4j_database, refresh_schema=True)
    assert "INTERACTED" in graph.get_schema
    assert graph.query("MATCH (u:User {id: $id}) RETURN u.id AS id", params={"id": "g1"}) == [{"id": "g1"}]
    graph.close()


def test_cli_schema_and_doctor(db, settings, monkeypatch):
    from kgrec_neo4j.cli import cli

    r = CliRunner().invoke(cli, ["schema", "apply"])
    assert r.exit_code == 0, r.output
    assert "pack 'video_games' with 10 types" in r.output
    r = CliRunner().invoke(cli, ["schema", "check"])
    assert r.exit_code == 0 and "in sync" in r.output
    r = CliRunner().invoke(cli, ["doctor"])
    assert r.exit_code == 0, r.output
    for name in ("neo4j", "gds", "apoc", "vector index", "embedding model"):
        assert any(line.startswith("ok") and f" {name} " in line for line in r.output.splitlines()), (name, r.output)


def test_doctor_checks_the_type_pack_commands_run_with(db, monkeypatch):
    """`kgrec doctor` said 'ok type pack' for KGREC_TYPE_PACK=nonsense (every command then fails: no such pack) and
    for a pack other than the database's (extraction and update then refuse to run)."""
    from kgrec_neo4j.cli import cli

    assert CliRunner().invoke(cli, ["schema", "apply"]).exit_code == 0  # the database holds video_games
    r = CliRunner().invoke(cli, ["doctor"])
    assert r.exit_code == 0 and any(ln.startswith("ok    type pack") for ln in r.output.splitlines()), r.output
    for pack, words in (("nonsense", ["'nonsense' not found", "video_games"]),
                        ("office_products", ["'video_games'", "'office_products'", "KGREC_TYPE_PACK=video_games"])):
        monkeypatch.setenv("KGREC_TYPE_PACK", pack)
        r = CliRunner().invoke(cli, ["doctor"])
        assert r.exit_code == 1, r.output
        line = next(ln for ln in r.output.splitlines() if " type pack " in ln)
        assert line.startswith("FAIL") and all(w in line for w in words), line
        # its last line names the fix with the database's pack (it said "--pack NAME or KGREC_TYPE_PACK=NAME")
        assert r.output.rstrip().endswith("--pack video_games or KGREC_TYPE_PACK=video_games"), r.output


def test_a_password_in_the_llm_url_is_never_printed(db, monkeypatch):
    """`KGREC_LLM_BASE_URL=http://user:pw@host/v1 kgrec doctor` printed the password (in its LLM line), as did
    `kgrec llm status` and the settings' redacted dump."""
    from kgrec_neo4j.cli import cli
    from kgrec_neo4j.core.config import load_settings

    secret = "pw-Zq81x"
    monkeypatch.setenv("KGREC_LLM_BASE_URL", f"http://kg-user:{secret}@127.0.0.1:9/v1?api_key={secret}k")
    for args in (["doctor"], ["llm", "status"], ["llm", "status", "--json"]):
        r = CliRunner().invoke(cli, args)
        assert "127.0.0.1:9" in r.output, (args, r.output)  # the endpoint is named ...
        assert secret not in r.output and "kg-user:***@" in r.output, (args, r.output)  # ... its secrets are not
    assert secret not in repr(load_settings()) and secret not in str(load_settings().redacted())


def test_cli_reports_unreachable_neo4j_with_fix(monkeypatch):
    from kgrec_neo4j.cli import cli

    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:1")
    monkeypatch.setenv("NEO4J_PASSWORD", "whatever-pass")
    r = CliRunner().invoke(cli, ["schema", "apply"])
    assert r.exit_code == 2
    assert "Error: Neo4j is not reachable at bolt://127.0.0.1:1" in r.output and "kgrec db start" in r.output


def test_cli_reports_wrong_password(monkeypatch, settings, db):
    from kgrec_neo4j.cli import cli

    monkeypatch.setenv("NEO4J_PASSWORD", "definitely-wrong-password")
    r = CliRunner().invoke(cli, ["schema", "check"])
    assert r.exit_code == 2
    assert "refused the credentials" in r.output and "definitely-wrong" not in r.output


def test_db_start_with_a_wrong_password_exits_2_as_every_refused_login(monkeypatch, settings, db):
    """`kgrec db start` on the running server with another password than the one set at first start exited 1 (a
    server error); every other command's refused login exits 2 (docs/reliability.md, "Exit codes")."""
    import os

    from kgrec_neo4j.cli import cli
    from kgrec_neo4j.local import neo4j_server

    st = neo4j_server.status(settings.home_path / "neo4j")
    if not st.running:  # (the test server of tools/test.sh is this home's; another server cannot be started here)
        if os.environ.get("CI"):
            pytest.fail(f"the local server under {settings.home_path / 'neo4j'} is not running")
        pytest.skip("needs the local server of this home (`kgrec db start`)")
    monkeypatch.setattr(neo4j_server, "ensure_installed", lambda *a, **kw: None)
    monkeypatch.setenv("NEO4J_PASSWORD", "definitely-wrong-password")
    r = CliRunner().invoke(cli, ["db", "start"])
    assert r.exit_code == 2, r.output
    assert "rejected the credentials" in r.output and "set NEO4J_PASSWORD" in r.output, r.output
    assert "definitely-wrong" not in r.output


def test_an_unknown_pack_is_a_usage_error():
    """A misspelled `--pack` exited 1, as a failed command does; a bad option value exits 2, naming the packs."""
    from kgrec_neo4j.cli import cli

    r = CliRunner().invoke(cli, ["--pack", "office_product", "users", "list"])
    assert r.exit_code == 2, r.output
    assert "type pack 'office_product' not found" in r.output and "available: movies, office_products" in r.output
    assert "Invalid value for '--pack'" in r.output, r.output


def test_movie_people_and_ratings_get_no_family_relations(db, settings):
    """The family rule of video games (``Xbox One`` is of the ``Xbox`` family: a number or variant word dropped)
    made ``Shane Black`` a narrower ``Shane`` (black is a colour word) and ``rated PG-13`` a narrower ``rated PG`` in
    a MovieLens graph, and explanations then called them one family. The movies pack turns families off for People
    and Audience (``families: false``); its other types keep them (``outer space`` is of ``space``)."""
    from kgrec_neo4j.concepts.families import link_families

    movies = schema.load_pack("movies")
    assert not movies.get("People").families and not movies.get("Audience").families and movies.get("Setting").families
    with pytest.raises(SchemaError, match=r"type number 1 \('Others'\): families must be true or false"):
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            bad = Path(tmp) / "bad.yaml"
            bad.write_text("name: x\ntypes:\n  - name: Others\n    definition: o\n    families: maybe\n")
            schema.load_pack(str(bad))
    schema.apply(db, movies, dim=settings.embedding_dim)
    try:
        db.write("UNWIND $rows AS r MATCH (k:KnowledgeType {name: r.type}) "
                 "CREATE (m:Mention {type: r.type, key: r.key, text: r.key})"
                 "-[:CANONICAL {similarity: 1.0}]->(c:Concept {id: 'fam-' + r.key, type: r.type, name: r.key})"
                 "-[:OF_TYPE]->(k)",
                 rows=[{"type": "People", "key": "shane black"}, {"type": "People", "key": "shane"},
                       {"type": "Audience", "key": "rated pg 13"}, {"type": "Audience", "key": "rated pg"},
                       {"type": "Setting", "key": "outer space"}, {"type": "Setting", "key": "space"}])
        rep = link_families(db, movies)
        pairs = {(r["a"], r["b"]) for r in db.query(
            "MATCH (a:Concept)-[:BROADER]->(b:Concept) WHERE a.id STARTS WITH 'fam-' RETURN a.name AS a, b.name AS b")}
        assert pairs == {("outer space", "space")}, pairs
        assert rep.edges_by_type["People"] == 0 and rep.edges_by_type["Audience"] == 0
    finally:
        db.write("MATCH (c:Concept) WHERE c.id STARTS WITH 'fam-' OPTIONAL MATCH (m:Mention)-[:CANONICAL]->(c) "
                 "DETACH DELETE c, m")
        schema.apply(db, schema.load_pack("video_games"), dim=settings.embedding_dim)


def test_a_database_set_up_with_a_pack_file_names_that_file_in_its_fixes(db, settings, tmp_path):
    """`kgrec --pack mine.yaml schema apply` (a pack of `kgrec types discover`), then a command run without it was
    told to run with `kgrec --pack mine ...`, which is refused as an unknown pack: the fix now names the file."""
    from kgrec_neo4j.core import resources

    text = (resources.schema_dir() / "packs" / "video_games.yaml").read_text(encoding="utf-8")
    mine = tmp_path / "mine.yaml"
    mine.write_text(text.replace("name: video_games", "name: mine", 1), encoding="utf-8")
    own = schema.load_pack(str(mine))
    assert own.name == "mine" and own.arg == str(mine.resolve()) and schema.load_pack("movies").arg == "movies"
    schema.apply(db, own, dim=settings.embedding_dim)
    try:
        with pytest.raises(ConfigError) as caught:
            schema.check_pack(db, schema.load_pack("movies"))
        assert f"`kgrec --pack {mine.resolve()} ...`" in str(caught.value), caught.value
        assert "`kgrec --pack mine ...`" not in str(caught.value)
        assert "`kgrec --pack movies schema apply`" in str(caught.value)
        with pytest.raises(UnknownTypeError) as caught:  # a write of a type outside it names the file too
            db.write_tx(lambda tx: schema.refuse_unknown_types(tx, ["Flavour"]))
        assert f"`--pack {mine.resolve()}`" in str(caught.value) and "`--pack mine`" not in str(caught.value)
    finally:
        schema.apply(db, schema.load_pack("video_games"), dim=settings.embedding_dim)
    assert db.value("MATCH (m:SchemaInfo {id: 'schema'}) RETURN m.pack_file") is None


def test_check_says_which_types_outside_the_pack_the_graph_still_uses(db, settings):
    db.write("MATCH (k:KnowledgeType {name: 'Game Features'}) "
             "MERGE (c:Concept {id: 'c-used-2', type: 'Game Features'})-[:OF_TYPE]->(k)")
    try:
        drift = schema.check(db, schema.load_pack("office_products"), dim=settings.embedding_dim)
    finally:
        db.write("MATCH (c:Concept {id: 'c-used-2'}) DETACH DELETE c")
    lines = {d.split("'")[1]: d for d in drift if d.startswith("knowledge type") and "not in pack" in d}
    assert lines["Game Features"].endswith("the graph still uses it (1 concepts, 0 mentions)"), lines
    assert "still uses" not in lines["Content Additions"]


def test_check_names_a_type_node_without_a_name_instead_of_failing(db, settings):
    """A (:KnowledgeType) without a name (written with the trigger off): `schema check` failed with a TypeError."""
    db.write("CREATE (:KnowledgeType {definition: 'nameless'})", tx_metadata=schema.APPLY_METADATA)
    try:
        drift = schema.check(db, schema.load_pack("video_games"), dim=settings.embedding_dim)
    finally:
        db.write("MATCH (k:KnowledgeType) WHERE k.name IS NULL DELETE k")
    assert any(d.startswith("1 (:KnowledgeType) node(s) without a name") for d in drift), drift


def test_check_says_when_the_database_holds_the_same_types_under_another_packs_name(db, settings, tmp_path):
    """A pack file with the shipped pack's types under another name: `schema check` said "in sync" while every
    writing command (check_pack) refused to run with the shipped pack."""
    from kgrec_neo4j.core import resources

    text = (resources.schema_dir() / "packs" / "video_games.yaml").read_text(encoding="utf-8")
    mine = tmp_path / "mine.yaml"
    mine.write_text(text.replace("name: video_games", "name: mine", 1), encoding="utf-8")
    schema.apply(db, schema.load_pack(str(mine)), dim=settings.embedding_dim)
    try:
        drift = schema.check(db, schema.load_pack("video_games"), dim=settings.embedding_dim)
        assert drift == ["the database's knowledge types are those of pack 'mine', not of pack 'video_games' that "
                         "this command runs with (commands that write refuse to run until they agree)"], drift
        with pytest.raises(ConfigError):
            schema.check_pack(db, schema.load_pack("video_games"))
        assert schema.check(db, schema.load_pack(str(mine)), dim=settings.embedding_dim) == []
    finally:
        schema.apply(db, schema.load_pack("video_games"), dim=settings.embedding_dim)
    assert schema.check(db, schema.load_pack("video_games"), dim=settings.embedding_dim) == []
