"""`kgrec status` counts what the graph holds and what `kgrec update` would do, without writing; its pending counts
are what the update then does, and after the update it shows nothing pending, as the update itself then says."""

from __future__ import annotations

from click.testing import CliRunner
from test_update import appended_world, snapshot

from kgrec_neo4j.cli import cli
from kgrec_neo4j.status import graph_status
from kgrec_neo4j.update import run_update


def test_status_counts_what_the_update_then_does(db, settings, tmp_path):
    run, new_items, touched = appended_world(db, settings, tmp_path, seed=3)
    before = snapshot(db)
    st = graph_status(db, settings, extractor="offline")
    assert snapshot(db) == before  # read only
    assert st.pack == "video_games" and st.pack_arg is None  # the default pack: a plain command runs with it
    # a pack chosen for this command (flag, KGREC_TYPE_PACK, kgrec.toml) may not be there for the next: it is named
    import copy

    chosen = copy.copy(settings)
    chosen.type_pack_chosen = True
    assert graph_status(db, chosen, extractor="offline").pack_arg == "video_games"
    p = st.pending
    assert p.anything and p.resume is None and p.items_failed_before == 0 and p.items_unhashed == 0, p
    assert p.items_to_extract == len(new_items) == p.items_without_vector, p
    assert p.interactions_new > 0 and p.users_changed >= len(touched), (p, len(touched))
    assert st.run is not None and st.run["run"] == run and st.run["version"] == 0 and st.items_folded == 0
    appended = db.value("MATCH ()-[e:INTERACTED]->() WHERE e.ingest = $n RETURN count(e)",
                        n=db.value("MATCH (s:UpdateState) RETURN s.ingest"))
    assert st.interactions_since_run == p.interactions_new == appended > 0, (st.interactions_since_run, appended)
    assert st.counts["items"] == db.value("MATCH (i:Item) RETURN count(i)")
    assert st.counts["items_extracted"] == st.counts["items"] - len(new_items)

    rep = run_update(db, settings, extractor="offline")
    assert (rep.items_extracted, rep.users_changed, rep.items_new) == (p.items_to_extract, p.users_changed,
                                                                       p.items_without_vector), rep

    after = graph_status(db, settings, extractor="offline")
    assert not after.pending.anything, after.pending
    assert after.run["version"] == 1 and after.items_folded == rep.items_folded, (after.run, rep.items_folded)
    assert after.last_update is not None and after.last_update["id"] == rep.id
    out = CliRunner().invoke(cli, ["status", "--extractor", "offline"])
    assert out.exit_code == 0, (out.output, out.exception)
    assert "pending:   nothing: `kgrec update` would find nothing new" in out.output, out.output
    assert f"model:     run {run} " in out.output and f"last {rep.id}" in out.output, out.output
    assert f"{appended:,} interactions (" in out.output and "arrived since it was trained" in out.output, out.output
    # an evaluation run: a plain warm start learns from the train split only, and the hint says so
    assert st.run["mode"] == "evaluation", st.run
    assert ("`kgrec train --warm-start` learns from those in the train split" in out.output
            and "`kgrec train --for serving --warm-start` from every one" in out.output), out.output
    upd = CliRunner().invoke(cli, ["update", "--extractor", "offline"])
    assert upd.exit_code == 0 and upd.output.startswith("nothing new since the last update"), upd.output

    # an interaction the service records (serve --writes) takes no ingest number: it counts as arrived since the run
    from kgrec_neo4j.serve.record import InteractionIn, record_interaction

    user, item = db.query("MATCH (u:User)-[:INTERACTED]->(i:Item) RETURN u.id AS u, i.id AS i LIMIT 1")[0].values()
    assert record_interaction(db, user, InteractionIn(item=item, rating=5, timestamp=1_900_000_000)).written
    live = graph_status(db, settings, extractor="offline")
    assert live.interactions_since_run == appended + 1, (live.interactions_since_run, appended)
    assert live.pending.interactions_unclassified == 1 and live.pending.anything, live.pending


def test_status_of_a_loaded_graph_says_what_is_left(db, settings, tmp_path):
    """Loaded, nothing built: every item to extract, every user's interests, no run; the CLI names `kgrec update`."""
    from _kg_fixture import slice_rows, write_dataset

    from kgrec_neo4j.core.db import clear_database
    from kgrec_neo4j.load import load

    clear_database(db)
    folder = write_dataset(tmp_path / "vg", slice_rows("items.jsonl"), slice_rows("interactions.jsonl"))
    load(db, [folder])
    st = graph_status(db, settings, extractor="offline")
    users = db.value("MATCH (u:User) RETURN count(u)")
    assert st.run is None and st.pending.items_without_vector == 0 and st.pending.users_changed == users
    assert st.pending.items_to_extract == st.counts["items"] > 0 and st.counts["items_extracted"] == 0
    out = CliRunner().invoke(cli, ["status", "--extractor", "offline"]).output
    assert "model:     no run trained yet" in out and f"{st.counts['items']:,} new or changed items to extract" in out
    assert out.rstrip().endswith("run `kgrec update` to do it"), out
    js = CliRunner().invoke(cli, ["status", "--json"])
    assert js.exit_code == 0 and '"anything": true' in js.output, js.output



def test_status_and_update_agree_before_a_vocabulary_and_a_run(db, settings, tmp_path):
    """Extracted but no vocabulary yet, then a vocabulary but no run: mentions of a type without a vocabulary and
    items without a vector while no run is current are no work of an update (it projects no such mention and has no
    run to fold into). The status counted the mentions as pending, and the update, counting both, ran every time: a
    new UpdateRun and ingest number, every step done with nothing to do. Both now see nothing, and once a vocabulary
    is built, the same mentions to project."""
    from _kg_fixture import slice_rows, write_dataset

    from kgrec_neo4j.concepts.build import build_vocabulary
    from kgrec_neo4j.core import schema
    from kgrec_neo4j.core.db import clear_database
    from kgrec_neo4j.core.embed import get_embedder
    from kgrec_neo4j.load import load
    from kgrec_neo4j.model.runs import current_run

    clear_database(db)
    pack = schema.load_pack("video_games")
    schema.apply(db, pack, dim=settings.embedding_dim)
    load(db, [write_dataset(tmp_path / "vg", slice_rows("items.jsonl"), slice_rows("interactions.jsonl"))])
    assert run_update(db, settings, extractor="offline").status == "complete"  # the extraction
    assert db.value("MATCH (m:Mention) RETURN count(m)") > 0 and current_run(db) is None

    def status_then_update() -> int:
        """The status's pending mentions, after checking that the update then finds work exactly when it said so."""
        p = graph_status(db, settings, extractor="offline").pending
        runs = db.value("MATCH (r:UpdateRun) RETURN count(r)")
        rep = run_update(db, settings, extractor="offline")
        assert (rep.status == "nothing") == (not p.anything), (p, [s.summary for s in rep.steps])
        assert db.value("MATCH (r:UpdateRun) RETURN count(r)") == runs + (rep.status != "nothing")
        return p.mentions_unprojected

    assert status_then_update() == 0  # no vocabulary, no run: nothing
    build_vocabulary(db, get_embedder(settings), pack, fraction=0.25, seed=settings.seed)
    unprojected = db.value("MATCH (m:Mention) WHERE m.pending IS NULL AND NOT EXISTS { (m)-[:CANONICAL]->() } "
                           "RETURN count(m)")
    assert status_then_update() == unprojected > 0  # the update projects them
    assert status_then_update() == 0  # still no run: nothing to fold the items into


def test_status_says_when_the_writer_holding_the_lease_is_gone(db, tmp_path):
    """A `kgrec update` killed with -9 leaves the writer lease behind; on its host the next writer takes it over at
    once. The status says so: it showed the dead process as holding it for two more minutes (until 2026-12-03)."""
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    db.write("MATCH (l:WriterLease) DETACH DELETE l")
    code = textwrap.dedent("""
        import os
        from kgrec_neo4j.core.config import load_settings
        from kgrec_neo4j.core.db import connect
        from kgrec_neo4j.core.lease import WriterLease
        WriterLease(connect(load_settings()), "kgrec update", ttl_s=600).acquire()
        os._exit(0)  # dies holding it, as a killed process does
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent, timeout=120)
    try:
        assert done.returncode == 0
        out = CliRunner().invoke(cli, ["status", "--extractor", "offline"])
        assert out.exit_code == 0, (out.output, out.exception)
        line = next(x for x in out.output.splitlines() if x.startswith("writer:"))
        assert "kgrec update" in line and "its process is gone" in line, line
        assert "takes it over at once" in line, line
    finally:
        db.write("MATCH (l:WriterLease) DETACH DELETE l")


def test_status_says_an_update_at_work_is_not_cut_short(db, settings):
    """While `kgrec update` runs, its run is `running` in the graph, as a cut one's is: the status said "was cut
    short: the next update resumes it" and "run `kgrec update` to do it", which the writer lease then refuses (until
    2026-12-03). It says the update is at work; once its process is gone, that the next update resumes it."""
    from kgrec_neo4j.core.lease import WriterLease

    db.write("MATCH (l:WriterLease) DETACH DELETE l")
    db.write("MATCH (r:UpdateRun {status: 'running'}) SET r.status = 'set-aside-by-test'")
    db.write("CREATE (:UpdateRun {id: 'update-at-work', status: 'running', started: datetime(), ingest: 1, "
             "previous: 0, items: [], steps: ['extract']})")
    try:
        with WriterLease(db, "kgrec update"):  # (this process: alive)
            out = CliRunner().invoke(cli, ["status", "--extractor", "offline"])
            assert out.exit_code == 0, (out.output, out.exception)
            assert "update update-at-work is at work now" in out.output, out.output
            assert "cut short" not in out.output and "run `kgrec update` to do it" not in out.output, out.output
            st = graph_status(db, settings, extractor="offline")
            assert st.pending.resume == "update-at-work" and st.pending.running
        out = CliRunner().invoke(cli, ["status", "--extractor", "offline"])
        assert "update update-at-work was cut short: the next update resumes it" in out.output, out.output
        assert out.output.rstrip().endswith("run `kgrec update` to do it"), out.output
    finally:
        db.write("MATCH (r:UpdateRun {id: 'update-at-work'}) DETACH DELETE r")
        db.write("MATCH (r:UpdateRun {status: 'set-aside-by-test'}) SET r.status = 'running'")
        db.write("MATCH (l:WriterLease) DETACH DELETE l")


def test_status_names_the_extractor_it_counted_for_in_the_command_it_gives(db, tmp_path):
    """`kgrec status --extractor llm` counts what `kgrec update --extractor llm` would do (every item the LLM has not
    extracted): the command it ends with names that extractor; a plain `kgrec update` would not do that work (until
    2026-12-03 it said "run `kgrec update` to do it")."""
    from _kg_fixture import slice_rows, write_dataset

    from kgrec_neo4j.core.db import clear_database
    from kgrec_neo4j.load import load

    clear_database(db)
    load(db, [write_dataset(tmp_path / "vg", slice_rows("items.jsonl"), slice_rows("interactions.jsonl"))])
    out = CliRunner().invoke(cli, ["status", "--extractor", "llm"])
    assert out.exit_code == 0, (out.output, out.exception)
    assert "new or changed items to extract with llm" in out.output, out.output
    assert out.output.rstrip().endswith("run `kgrec update --extractor llm` to do it"), out.output
    plain = CliRunner().invoke(cli, ["status"]).output
    assert plain.rstrip().endswith("run `kgrec update` to do it"), plain


def test_a_few_interactions_since_the_run_are_not_said_to_be_none():
    """Six interactions the service recorded on MovieLens read '6 interactions (0.0% of all) arrived since it was
    trained'."""
    from kgrec_neo4j.cli.status import _share

    assert _share(6, 100_006) == "under 0.1%"
    assert (_share(50, 100_000), _share(1, 10), _share(0, 10)) == ("0.1%", "10.0%", "0.0%")


def test_status_names_the_databases_pack_in_the_command_it_gives(db, settings, tmp_path):
    """A database set up with the office pack, `kgrec status` run without `--pack`: the command it ends with runs
    with the database's pack (until 2026-12-04 it said "run `kgrec update` to do it", which the update then refused:
    "this database holds the knowledge types of type pack 'office_products', but this command runs with pack
    'video_games'")."""
    from _kg_fixture import slice_rows, write_dataset

    from kgrec_neo4j.core import schema
    from kgrec_neo4j.core.db import clear_database
    from kgrec_neo4j.load import load

    clear_database(db)
    schema.apply(db, schema.load_pack("office_products"), dim=settings.embedding_dim)
    try:
        load(db, [write_dataset(tmp_path / "vg", slice_rows("items.jsonl"), slice_rows("interactions.jsonl"))])
        out = CliRunner().invoke(cli, ["status", "--extractor", "offline"])
        assert out.exit_code == 0, (out.output, out.exception)
        assert out.output.rstrip().endswith("run `kgrec --pack office_products update` to do it"), out.output
        # run with the database's pack, the command it gives still names it: without --pack it would be refused
        same = CliRunner().invoke(cli, ["--pack", "office_products", "status", "--extractor", "offline"]).output
        assert same.rstrip().endswith("run `kgrec --pack office_products update` to do it"), same
    finally:
        clear_database(db)
        schema.apply(db, schema.load_pack("video_games"), dim=settings.embedding_dim)
