"""Neo4j-native use: Browser on the local server, types refused by the database for every client (APOC
triggers), a user's own GDS client, float32 vector properties, and no driver notifications on the console."""

from __future__ import annotations

import logging
import os
import shutil
import urllib.request

import numpy as np
import pytest
from neo4j import GraphDatabase
from neo4j.exceptions import ClientError

from kgrec_neo4j.core import schema

BAD_TYPE = "Nonsense"


def _server(settings):
    from kgrec_neo4j.local import neo4j_server

    st = neo4j_server.status(settings.home_path / "neo4j")
    if not st.running or not st.http_url:
        if os.environ.get("CI"):
            pytest.fail(f"the local server under {settings.home_path / 'neo4j'} is not running")
        pytest.skip("these checks need the local server (`kgrec db start`)")
    return st


@pytest.fixture()
def plain(settings):
    """A plain driver, as Browser or a user's script would open it: none of the project's settings."""
    drv = GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_username, settings.require_password()))
    yield drv
    drv.close()


def _run(drv, settings, cypher: str, **params):
    with drv.session(database=settings.neo4j_database) as s:
        return s.run(cypher, params).data()


# ------------------------------------------------------------------------------------------------ Browser


def test_browser_is_served_by_the_local_server(settings):
    st = _server(settings)
    assert st.browser_url == f"{st.http_url}/browser/"
    with urllib.request.urlopen(st.browser_url, timeout=30) as r:
        assert r.status == 200
        page = r.read().decode("utf-8", "replace")
    assert "<title>Neo4j Browser</title>" in page and "<script" in page
    # the page loads its application bundle from the same server
    with urllib.request.urlopen(st.http_url + "/", timeout=30) as r:
        discovery = r.read().decode()
    assert "bolt" in discovery


def _chromium_binary() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required under CI (apt-get install -y chromium)")
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    return binary


def test_browser_connects_and_shows_the_explanation_paths(db, settings):
    """What a person does: open Browser, connect, paste the `:param` lines and the query of
    cypher/browser/explanation_paths.cypher, and read the paths."""
    from _cdp import Chromium

    from kgrec_neo4j.core.resources import cypher

    st = _server(settings)
    db.write("MERGE (u:User {id: 'tb-u'}) MERGE (i:Item {id: 'tb-i', title: 'Co-op Quest'}) "
             "MERGE (j:Item {id: 'tb-j', title: 'Co-op Saga'}) "
             "MERGE (c:Concept {id: 'tb-c'}) SET c.type = 'Game Features', c.name = 'co-op multiplayer' "
             "MERGE (u)-[:INTERESTED_IN {horizon: 'long', polarity: 1, weight: 0.8, confidence: 0.9}]->(c) "
             "MERGE (u)-[:INTERACTED {seq: 0, split: 'train', sign: 1}]->(j) "
             "MERGE (i)-[:HAS_KNOWLEDGE {confidence: 0.9}]->(c) MERGE (j)-[:HAS_KNOWLEDGE {confidence: 0.8}]->(c)")
    text = cypher("browser/explanation_paths")
    params = [ln.lstrip("/ ").strip() for ln in text.splitlines() if ln.lstrip("/ ").startswith(":param")]
    query = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("//")).strip()
    assert [p.split("=>")[0] for p in params] == [":param user ", ":param item "]
    c = Chromium(_chromium_binary())
    try:
        c.send("Page.navigate", url=st.browser_url)
        c.wait_for("!!document.querySelector('[data-testid=password]')")
        assert c.js("document.querySelector('[data-testid=boltaddress]').value") == f"127.0.0.1:{st.bolt_port}"
        c.set_value("[data-testid=username]", settings.neo4j_username)
        c.set_value("[data-testid=password]", settings.require_password())
        c.js("document.querySelector('[data-testid=connect]').click()")
        c.wait_for("document.body.innerText.includes('You are connected as user')")
        c.type_command(":param user => 'tb-u'", shows='"user": "tb-u"')
        c.type_command(":param item => 'tb-i'", shows='"item": "tb-i"')
        # the two paths drawn: the interest (u -> concept <- item) and the interaction (u -> item -> concept <- item)
        c.type_command(query, shows="Displaying 4 nodes, 5 relationships")
        body = c.body_text()
        assert "INTERESTED_IN (1)" in body and "INTERACTED (1)" in body and "HAS_KNOWLEDGE (2)" in body
    finally:
        c.close()
        db.write("MATCH (n) WHERE n.id STARTS WITH 'tb-' DETACH DELETE n")


def test_db_start_prints_the_browser_url(db, settings):
    from click.testing import CliRunner

    from kgrec_neo4j.cli import cli

    st = _server(settings)
    r = CliRunner().invoke(cli, ["db", "start", "--http-port", str(st.http_port)])  # already running: reused
    assert r.exit_code == 0, r.output
    assert f"Browser: {st.http_url}/browser/" in r.output
    r = CliRunner().invoke(cli, ["db", "start"])  # no port asked for: the running server, whatever its port
    assert r.exit_code == 0, r.output
    assert f"Browser: {st.http_url}/browser/" in r.output
    other = st.http_port + 1
    r = CliRunner().invoke(cli, ["db", "start", "--http-port", str(other)])  # it would not listen there
    assert r.exit_code != 0
    assert f"with HTTP on port {st.http_port}, not {other}; stop it first" in r.output


# ------------------------------------------------------------------------------------------------ types


def test_triggers_are_installed_and_active(db):
    names = set(schema.trigger_statements())
    assert names == {"kgrec_types"}
    assert names <= set(schema.active_triggers(db))
    assert schema.trigger_drift(db) == []
    rep = schema.install_triggers(db, wait_s=10)  # idempotent: nothing reinstalled
    assert rep["unchanged"] == sorted(names) and not rep["installed"] and rep["active"]


@pytest.mark.parametrize("cypher, what", [
    ("CREATE (:Mention {type: 'Nonsense', key: 'x', text: 'x'})", "Mention of type 'Nonsense'"),
    ("CREATE (:Mention {key: 'untyped', text: 'untyped'})", "Mention of type null"),
    ("CREATE (:Concept {id: 't-bad', type: 'Nonsense', name: 'x'})", "Concept of type 'Nonsense'"),
    ("MATCH (c:Concept {id: 't-good'}) SET c.type = 'Nonsense'", "Concept of type 'Nonsense'"),
    ("MATCH (m:Mention {key: 't-good'}) REMOVE m.type", "Mention of type null"),
    ("MATCH (i:Item {id: 't-item'}) CREATE (i)-[:HAS_KNOWLEDGE]->(:Concept {id: 't-bad2', type: 'Nonsense'})",
     "Concept of type 'Nonsense'"),
    ("MATCH (i:Item {id: 't-item'}), (m:Mention {key: 't-good'}) CREATE (i)-[:HAS_KNOWLEDGE]->(m)",
     "HAS_KNOWLEDGE to a node that is not a Concept"),
    ("MATCH (u:User {id: 't-user'}), (i:Item {id: 't-item'}) CREATE (u)-[:INTERESTED_IN]->(i)",
     "INTERESTED_IN to a node that is not a Concept"),
    ("MATCH (n:Item {id: 't-item'}) SET n:Mention", "Mention of type null"),
    # the list of allowed types is the database's own: a client may not add to it, rename in it or take from it
    ("CREATE (:KnowledgeType {name: 'Nonsense'}) CREATE (:Mention {type: 'Nonsense', key: 'y', text: 'y'})",
     "a KnowledgeType 'Nonsense' written outside `kgrec schema apply`"),
    ("MATCH (k:KnowledgeType {name: 'Others'}) SET k.name = 'Misc'", "KnowledgeType 'Misc' written outside"),
    ("CREATE (:KnowledgeType)", "a KnowledgeType without a name written outside"),  # (a null emptied the allowed)
    ("MATCH (k:KnowledgeType {name: 'Compatibility'}) DETACH DELETE k",
     "the KnowledgeType 'Compatibility' deleted (or its label or name removed) while mentions or concepts have"),
    ("MATCH (k:KnowledgeType {name: 'Compatibility'}) REMOVE k:KnowledgeType", "the KnowledgeType 'Compatibility' deleted"),
    ("MATCH (k:KnowledgeType {name: 'Compatibility'}) REMOVE k.name", "the KnowledgeType 'Compatibility' deleted"),
])
def test_database_refuses_bad_types_from_a_plain_driver(db, plain, settings, cypher, what):
    db.write("MERGE (:Item {id: 't-item'}) MERGE (:User {id: 't-user'}) "
             "MERGE (c:Concept {id: 't-good'}) SET c.type = 'Compatibility', c.name = 'PS4' "
             "MERGE (m:Mention {type: 'Compatibility', key: 't-good'}) SET m.text = 'PS4'")
    before = db.value("MATCH (n) RETURN count(n) + COUNT { ()-[]->() }")
    with pytest.raises(ClientError) as e:
        _run(plain, settings, cypher)
    msg = e.value.message
    assert what in msg, msg
    assert "Compatibility" in msg and "Game Features" in msg and "kgrec schema apply" in msg  # names the allowed types
    allowed = msg.split("must be one of the active pack:", 1)[1]
    assert "Nonsense" not in allowed and "Misc" not in allowed, msg  # a type the refused transaction wrote is not one
    # nor is one it took away while in use missing from them (the refusal keeps it: the list lacked it)
    assert "Compatibility" in allowed and "Game Features" in allowed, msg
    assert db.value("MATCH (n) RETURN count(n) + COUNT { ()-[]->() }") == before  # the transaction was rolled back
    assert db.value("MATCH (c:Concept {id: 't-good'}) RETURN c.type") == "Compatibility"
    assert db.value("MATCH (m:Mention {key: 't-good'}) RETURN m.type") == "Compatibility"
    assert schema.db_types(db) == sorted(schema.load_pack("video_games").names)


def test_a_type_nothing_uses_may_be_deleted_and_apply_writes_it_back(db, plain, settings):
    db.write("MATCH (n) WHERE (n:Mention OR n:Concept) AND n.type = 'Others' DETACH DELETE n")
    _run(plain, settings, "MATCH (k:KnowledgeType {name: 'Others'}) DETACH DELETE k")
    assert "Others" not in schema.db_types(db)
    schema.apply(db, schema.load_pack("video_games"), dim=settings.embedding_dim)  # its writes carry the metadata
    assert schema.db_types(db) == sorted(schema.load_pack("video_games").names)


def test_good_writes_and_deletes_pass_and_a_bad_row_refuses_its_whole_batch(db, plain, settings):
    rows = [{"type": "Compatibility", "key": "t-ok-1"}, {"type": "Game Features", "key": "t-ok-2"}]
    _run(plain, settings, "UNWIND $rows AS r CREATE (:Mention {type: r.type, key: r.key, text: r.key})", rows=rows)
    _run(plain, settings, "MATCH (i:Item {id: 't-item'}), (c:Concept {id: 't-good'}) MERGE (i)-[:HAS_KNOWLEDGE]->(c)")
    with pytest.raises(ClientError, match="Nonsense"):
        _run(plain, settings, "UNWIND $rows AS r CREATE (:Mention {type: r.type, key: r.key, text: r.key})",
             rows=[{"type": "Compatibility", "key": "t-ok-3"}, {"type": BAD_TYPE, "key": "t-bad-3"}])
    assert db.value("MATCH (m:Mention) WHERE m.key STARTS WITH 't-ok-' RETURN count(m)") == 2
    # created and deleted in one transaction, then deleted: both pass
    _run(plain, settings, "CREATE (m:Mention {type: 'Others', key: 't-tmp'}) DELETE m")
    _run(plain, settings, "MATCH (m:Mention) WHERE m.key STARTS WITH 't-ok-' DETACH DELETE m")
    assert db.value("MATCH (m:Mention) WHERE m.key STARTS WITH 't-' RETURN count(m)") == 1  # t-good


def test_schema_check_reports_a_missing_trigger_and_apply_restores_it(db, settings):
    schema._system(db, "CALL apoc.trigger.drop($database, 'kgrec_types') YIELD name RETURN name", database=db.database)
    assert any("kgrec_types" in d and "not installed" in d for d in schema.check(db, schema.load_pack("video_games"),
                                                                               dim=settings.embedding_dim))
    from click.testing import CliRunner

    from kgrec_neo4j.cli import cli

    r = CliRunner().invoke(cli, ["doctor"])  # an optional check: exit 0, but its fix is shown (it was not)
    assert r.exit_code == 0 and "FAIL  type triggers" in r.output and "fix: run `kgrec schema apply`" in r.output, \
        r.output
    rep = schema.apply(db, schema.load_pack("video_games"), dim=settings.embedding_dim)
    assert rep["triggers"]["installed"] == ["kgrec_types"] and rep["triggers"]["active"]
    assert schema.check(db, schema.load_pack("video_games"), dim=settings.embedding_dim) == []


# ------------------------------------------------------------------------------------------------ GDS


def test_a_plain_graphdatascience_client_connects(db, settings):
    from graphdatascience import GraphDataScience

    # exactly what a notebook user types (Arrow discovery on, as by default)
    gds = GraphDataScience(settings.neo4j_uri, auth=(settings.neo4j_username, settings.require_password()),
                           database=settings.neo4j_database)
    try:
        assert str(gds.server_version()).startswith("2.13")
        db.write("UNWIND range(1, 3) AS k MERGE (u:User {id: 'tg-u' + k}) MERGE (i:Item {id: 'tg-i' + k}) "
                 "MERGE (u)-[:INTERACTED {seq: 0, split: 'train', sign: 1}]->(i)")
        G, res = gds.graph.project.native("t-plain", ["User", "Item"], {"INTERACTED": {"properties": "sign"}},
                                          overwrite=True)
        assert res.relationship_count >= 3
        rels = gds.graph.relationships.stream(G, ["INTERACTED"], ["sign"])
        assert len(rels) >= 3
        G.drop()
    finally:
        gds.close()


def test_the_project_client_borrows_the_driver(db):
    from kgrec_neo4j.core.gds import gds_for

    gds = gds_for(db)
    assert str(gds.server_version()).startswith("2.13")
    gds.close()
    assert db.value("RETURN 1") == 1  # the database's driver is still open


# ------------------------------------------------------------------------------------------------ vectors


def test_vectors_are_stored_as_float32(db, settings):
    """A float32 value read back differs from the float64 written (0.1 is not a float32); a list of floats
    would come back exactly."""
    from kgrec_neo4j.core.resources import cypher

    dim = settings.embedding_dim
    v = np.full(dim, 0.1)
    db.write(cypher("concepts/write_concepts"), rows=[{
        "id": "t-vec", "type": "Others", "name": "vec", "key": "vec", "embedding": v.tolist(), "origin": "build",
        "floor": 0.5, "members": []}])
    got = np.asarray(db.value("MATCH (c:Concept {id: 't-vec'}) RETURN c.embedding"))
    assert got.shape == (dim,) and np.array_equal(got, v.astype(np.float32).astype(np.float64))
    assert not np.array_equal(got, v)
    # the vector index reads it
    db.write("CALL db.awaitIndexes(60)")
    hit = db.value("CALL db.index.vector.queryNodes('concept_embedding', 1, $v) YIELD node RETURN node.id", v=v.tolist())
    assert hit == "t-vec"
    # the write-back stores float32 too, and the previous-run copy keeps it
    db.write("MERGE (:Item {id: 't-vec-item'}) MERGE (:User {id: 't-vec-user'})")
    e, fold = [0.1, 0.2, 0.3], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    for run in ("t-run-1", "t-run-2"):
        db.write(cypher("train/embeddings_item"), rows=[{"id": "t-vec-item", "embedding": e, "foldin": fold,
                                                          "degree": 3}], run=run)
        db.write(cypher("train/embeddings_user"), rows=[{"id": "t-vec-user", "embedding": e, "ego": e}], run=run)
    row = db.query("MATCH (i:Item {id: 't-vec-item'}), (u:User {id: 't-vec-user'}) "
                   "RETURN i.gnn_embedding AS e, i.gnn_prev_embedding AS p, i.gnn_run AS run, i.gnn_foldin AS f, "
                   "i.gnn_prev_foldin AS pf, i.gnn_degree AS d, u.gnn_embedding AS ue, u.gnn_ego AS ego, "
                   "u.gnn_prev_ego AS pego")[0]

    def f32(x: list[float]) -> list[float]:
        return np.asarray(x, dtype=np.float32).astype(np.float64).tolist()

    assert row["e"] == f32(e) and row["p"] == f32(e) and row["run"] == "t-run-2"
    assert row["f"] == f32(fold) and row["pf"] == f32(fold) and row["d"] == 3
    assert row["ue"] == f32(e) and row["ego"] == f32(e) and row["pego"] == f32(e)
    # a run written without fold-in vectors leaves none in the main slot
    db.write(cypher("train/embeddings_item"), rows=[{"id": "t-vec-item", "embedding": e}], run="t-run-3")
    assert db.value("MATCH (i:Item {id: 't-vec-item'}) RETURN i.gnn_foldin") is None
    db.write("MATCH (n) WHERE n.id IN ['t-vec', 't-vec-item', 't-vec-user'] DETACH DELETE n")


# ------------------------------------------------------------------------------------------------ notifications

UNKNOWN_PROPERTY = "MATCH (u:User) WHERE u.no_such_property_anywhere = 1 RETURN count(u) AS n"


def _notification_records(caplog):
    return [r for r in caplog.records if r.name.startswith("neo4j.notifications")]


def test_a_plain_driver_logs_the_notification(plain, settings, caplog):
    """The control: without the filters, the driver logs the server's UnknownPropertyKeyWarning."""
    with caplog.at_level(logging.INFO, logger="neo4j"):
        _run(plain, settings, UNKNOWN_PROPERTY)
    assert any("UnknownPropertyKey" in r.getMessage() for r in _notification_records(caplog))


def test_no_connection_of_the_project_logs_notifications(db, settings, caplog):
    from kgrec_neo4j.core.gds import gds_for

    with caplog.at_level(logging.INFO, logger="neo4j"):
        assert db.query(UNKNOWN_PROPERTY)[0]["n"] >= 0
        assert gds_for(db).run_cypher(UNKNOWN_PROPERTY)["n"][0] >= 0
    assert _notification_records(caplog) == []

