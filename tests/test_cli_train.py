"""``kgrec evaluate`` writes the comparison table; ``kgrec train`` writes embeddings back and moves the current run."""

from __future__ import annotations

import json
import re

import _export_fixture
import pytest
from click.testing import CliRunner


@pytest.fixture(scope="module")
def kg(db):
    return _export_fixture.build(db)


def _invoke(args: list[str]):
    from kgrec_neo4j.cli import cli

    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, (r.output, r.exception)
    return r


def test_evaluate_writes_the_table(db, kg, tmp_path):
    r = _invoke(["evaluate", "--models", "ours,ease,pop", "--epochs", "2", "--dim", "8", "--out", str(tmp_path)])
    md = (tmp_path / "evaluation.md").read_text()
    data = json.loads((tmp_path / "evaluation.json").read_text())
    first = [row for row in data["rows"] if row["protocol"] == "train-only"]
    names = [row["model"] for row in first]
    assert names == ["ours", "ours/gnn part", "ours/item graph part", "ease", "pop", "ours-no-concepts",
                     "ours-no-negative", "ours-no-stage1", "ours-no-item-graph", "ours-no-recency"]
    # the second protocol: every model folded in, ours also refitted on train + valid
    second = {(row["model"], row["method"]) for row in data["rows"] if row["protocol"] == "history up to the target"}
    assert second == {(m, "fold-in") for m in ("ours", "ease", "pop", "ours-no-concepts", "ours-no-negative",
                                                "ours-no-stage1", "ours-no-item-graph", "ours-no-recency")} | {
        ("ours", "refit")}
    assert "## History up to the target" in md and "| ours | refit |" in md
    by = {row["model"]: row for row in first}
    # without the item graph, ours is its GNN part: the same seeded training
    assert by["ours-no-item-graph"]["test"] == by["ours/gnn part"]["test"]
    for row in data["rows"]:
        assert set(row["test"]) >= {"recall@10", "recall@20", "ndcg@10", "ndcg@20"}
        assert 0.0 <= row["test"]["recall@10"] <= row["test"]["recall@20"] <= 1.0
        assert row["train_seconds"] >= 0 and row["test"]["users"] == data["export"]["test_users"] > 0
        assert f"| {row['model']} |" in md
    assert "| model | Recall@10 | Recall@20 | NDCG@10 | NDCG@20 |" in md and md in r.output
    assert "`ours/gnn part` and `ours/item graph part`" in md
    # the seed and the epoch cap are said (they were only in each row's config in the JSON)
    seed = by["ours"]["config"]["seed"]
    assert f"Seed {seed} (`KGREC_SEED`), one run per model; iterative models up to 2 epochs." in md, md
    assert data["export"]["concepts"] == kg["concepts"]
    # evaluation does not touch the graph
    assert db.value("MATCH (n) WHERE n.gnn_embedding IS NOT NULL RETURN count(n)") == 0
    assert db.value("MATCH (r:ModelRun) RETURN count(r)") == 0


def test_train_writes_embeddings_back(db, kg):
    r = _invoke(["train", "--epochs", "2", "--dim", "8", "--json"])
    res = json.loads(r.output)
    run = res["run"]
    assert res["current"] and res["writeback"]["dim"] == 8
    for label in ("User", "Item", "Concept"):
        assert db.value(f"MATCH (n:{label}) RETURN count(n)") == db.value(
            f"MATCH (n:{label}) WHERE n.gnn_run = $r AND size(n.gnn_embedding) = 8 RETURN count(n)", r=run) > 0
    assert db.value("MATCH ()-[r:HAS_KNOWLEDGE]->() WHERE r.attention_run = $r RETURN count(r)", r=run) == \
        res["export"]["item_concept_edges"]
    # the item graph: its links (when valid chose a weight above 0) and its weight, on the run
    links = db.value("MATCH ()-[l:ITEM_LINK {run: $r}]->() RETURN count(l)", r=run)
    stored_links = db.query("MATCH (r:ModelRun {id: $r}) RETURN r.item_link_weight AS w, r.item_link_count AS n",
                            r=run)[0]
    assert stored_links["w"] == res["writeback"]["item_link_weight"] >= 0
    assert links == stored_links["n"] == res["writeback"]["item_links"] and (links > 0) == (stored_links["w"] > 0)
    stored = db.query("MATCH (r:ModelRun {id: $r}) RETURN r.status AS status, r.current AS current, "
                      "r.metrics AS metrics, r.config AS config", r=run)[0]
    assert stored["status"] == "complete" and stored["current"] is True
    assert json.loads(stored["metrics"])["test"]["users"] > 0 and json.loads(stored["config"])["dim"] == 8
    # the run keeps what serving needs to weigh a history by recency, and where it trained
    metrics = json.loads(stored["metrics"])
    assert metrics["recency"] == res["report"]["recency"] and set(metrics["recency"]) == {"item_graph", "gnn"}
    assert 0 < metrics["recency"]["item_graph"] <= 1 and metrics["device"] in ("cpu", "cuda", "cuda:0")

    # a baseline without write-back records its run and leaves the current one alone
    r = _invoke(["train", "--model", "mf", "--epochs", "1", "--dim", "4", "--no-writeback"])
    assert "(not current)" in r.output
    assert db.value("MATCH (r:ModelRun) WHERE r.current RETURN collect(r.id)") == [run]
    assert db.value("MATCH (n:Item) WHERE n.gnn_run <> $r RETURN count(n)", r=run) == 0

    # the item text vectors stage (3 min of a 5 min first run on 2,149 Office items) was neither timed in the summary
    # nor named beyond "item text vectors ..."
    r = _invoke(["train", "--epochs", "1", "--dim", "8"])
    said = [x for x in r.output.splitlines() if x.startswith("text:    ")]
    assert len(said) == 1 and re.fullmatch(
        r"text:    item text vectors, from which `kgrec update` finds new items' nearest trained items, in \d+\.\ds "
        r"\(each item's text is embedded once; later runs embed only new or changed text\)", said[0]), r.output
    assert "item text vectors (embedded once per item text) ..." in r.output


def test_explicit_epochs_win_for_serving_and_a_serving_run_reports_no_metrics(db, kg):
    import re

    ev = json.loads(_invoke(["train", "--epochs", "2", "--dim", "8", "--json"]).output)
    best = ev["report"]["best_epoch"]
    assert 1 <= best <= 2
    r = _invoke(["train", "--for", "serving", "--params-from", ev["run"], "--epochs", "3", "--dim", "8"])
    run = re.search(r"^run (\S+) \(", r.output, re.M).group(1)
    train = next(ln for ln in r.output.splitlines() if ln.startswith("train:"))
    assert train.startswith("train:   3 epochs ") and "(best" not in train, train
    assert f"--epochs 3 instead of the evaluation run's best epoch {best}" in train
    # nothing is held out: no metrics are printed (no zeros)
    assert not re.search(r"^(valid|test):", r.output, re.M) and "metrics: none" in r.output, r.output
    # interests of the train split only: the serving run says how the newest interactions reach them
    assert db.value("MATCH ()-[r:INTERESTED_IN]->() RETURN count(r) > 0")
    assert "kgrec interests extract --for serving" in r.output, r.output
    assert "no evaluation run of ours" not in r.output, r.output  # (it took the evaluation run's choices)
    stored = db.query("MATCH (r:ModelRun {id: $r}) RETURN r.metrics AS m, r.config AS c", r=run)[0]
    assert json.loads(stored["m"])["epochs"] == 3 and json.loads(stored["c"])["mode"] == "serving"
    # without --epochs, the evaluation run's best epoch is trained, and nothing is said about it
    r = _invoke(["train", "--for", "serving", "--params-from", ev["run"], "--dim", "8"])
    train = next(ln for ln in r.output.splitlines() if ln.startswith("train:"))
    assert train.startswith(f"train:   {best} epoch{'s' if best != 1 else ''} ") and "instead of" not in train, train
    r = _invoke(["train", "--for", "serving", "--params-from", ev["run"], "--epochs", "1", "--dim", "8"])
    assert next(ln for ln in r.output.splitlines() if ln.startswith("train:")).startswith("train:   1 epoch in "), \
        r.output
    # an explicit --dim wins too (the evaluation run trained with 8)
    r = _invoke(["train", "--for", "serving", "--params-from", ev["run"], "--epochs", "1", "--dim", "4", "--json"])
    cfg = json.loads(db.value("MATCH (r:ModelRun {id: $r}) RETURN r.config", r=json.loads(r.output)["run"]))
    assert cfg["dim"] == 4 and cfg["overrides"].get("embedding_dim", 4) == 4, cfg
    assert {len(v) for v in db.value("MATCH (i:Item) WHERE i.gnn_run = $r RETURN collect(i.gnn_embedding)",
                                      r=json.loads(r.output)["run"])} == {4}


def test_bad_model_list_is_refused(db):
    from kgrec_neo4j.cli import cli

    r = CliRunner().invoke(cli, ["evaluate", "--models", "ours,bogus"])
    assert r.exit_code != 0 and "bogus" in r.output


@pytest.mark.parametrize("args, words", [
    (["--text-prior", "20,abc"], "numbers"),
    (["--text-prior", "-5"], ">= 0"),
    (["--model", "lightgcn", "--text-prior", "20"], "ours' item graph"),
])
def test_bad_text_prior_is_refused_before_anything_runs(args, words):
    from kgrec_neo4j.cli import cli

    r = CliRunner().invoke(cli, ["train", *args])
    assert r.exit_code == 2 and words in r.output and "--text-prior" in r.output


def test_params_from_without_for_serving_is_refused_before_anything_runs():
    """`kgrec train --params-from RUN` (evaluation mode) trained a whole evaluation run and ignored the option."""
    from kgrec_neo4j.cli import cli

    r = CliRunner().invoke(cli, ["train", "--params-from", "ours-20260101-000000-abcdef", "--epochs", "1"])
    assert r.exit_code == 2, r.output
    assert "--params-from" in r.output and "--for serving" in r.output, r.output


def test_unknown_dataset_is_named_with_the_stored_ones_and_records_no_run(db, kg):
    """`kgrec train --dataset NAME` (or evaluate) of a dataset that is not stored said 'the train graph has 0 users
    and 0 items in dataset ...; load interactions first' and recorded a failed ModelRun."""
    from kgrec_neo4j.cli import cli

    db.write("MERGE (:Dataset {name: 'vg-demo'})")
    runs_before = db.value("MATCH (r:ModelRun) RETURN count(r)")
    for args in (["train", "--epochs", "1"], ["evaluate", "--models", "pop", "--no-ablations"]):
        r = CliRunner().invoke(cli, [*args, "--dataset", "vg-dem"])
        assert r.exit_code == 1, r.output
        assert "no dataset 'vg-dem' is stored" in r.output and "vg-demo" in r.output, r.output
        assert "load interactions first" not in r.output
    assert db.value("MATCH (r:ModelRun) RETURN count(r)") == runs_before


def test_an_empty_graph_is_refused_with_a_message_and_records_no_run(db, kg):
    """`kgrec train` (or evaluate) before anything was loaded died with a traceback (GDS: "A graph with name
    'kgrec_train_…' does not exist in the catalog") and recorded a failed ModelRun."""
    from kgrec_neo4j.cli import cli
    from kgrec_neo4j.core.db import clear_database

    clear_database(db)
    try:
        for args in (["train", "--epochs", "1"], ["evaluate", "--models", "pop", "--no-ablations"]):
            r = CliRunner().invoke(cli, args)
            assert r.exit_code == 1 and isinstance(r.exception, SystemExit), (r.output, r.exception)  # no traceback
            assert "the graph has 0 users and 0 items" in r.output and "kgrec load" in r.output, r.output
        assert db.value("MATCH (r:ModelRun) RETURN count(r)") == 0
    finally:
        _export_fixture.build(db)  # the graph the module's other tests read


def test_mf_writes_back_and_is_served(db, kg):
    """MF has no item-side fold-in features: its write-back stored an empty vector property and failed."""
    from kgrec_neo4j.serve.recommend import recommend

    res = json.loads(_invoke(["train", "--model", "mf", "--epochs", "1", "--dim", "4", "--json"]).output)
    run = res["run"]
    assert res["current"] and res["writeback"]["items"] == res["export"]["items"] > 0
    assert db.value("MATCH (r:ModelRun {id: $r}) RETURN r.status", r=run) == "complete"
    assert db.value("MATCH (i:Item) WHERE i.gnn_run = $r AND i.gnn_foldin = [] RETURN count(i)", r=run) == \
        res["export"]["items"]
    user = db.value("MATCH (u:User)-[:INTERACTED]->() RETURN u.id ORDER BY u.id LIMIT 1")
    rec = recommend(db, user, k=3, store=False)
    assert rec.run == run and len(rec.items) == 3


def test_a_serving_run_without_an_evaluation_run_says_it_has_no_item_graph(db, kg, monkeypatch):
    """Without an evaluation run to take the hyperparameters from, a serving run of ours has the defaults, whose item
    graph weight (chosen on valid) is 0: it wrote 0 item links and said so only in a log line that said nothing of the
    item graph."""
    from kgrec_neo4j.model import pipeline

    monkeypatch.setattr(pipeline, "serving_overrides", lambda *a, **k: (None, {}))
    r = _invoke(["train", "--for", "serving", "--epochs", "1", "--dim", "8"])
    assert "0 item links" in r.output and "no evaluation run of ours to take the hyperparameters from: this run " \
        "has the defaults and no item graph" in r.output, r.output


def test_a_serving_run_writes_attention_on_every_interaction_it_trained_on(db, kg):
    res = json.loads(_invoke(["train", "--for", "serving", "--epochs", "1", "--dim", "8", "--json"]).output)
    run, trained = res["run"], res["export"]["train_interactions"]
    assert trained == db.value("MATCH ()-[x:INTERACTED]->() RETURN count(x)")
    assert res["writeback"]["attention"]["INTERACTED"] == trained
    assert db.value("MATCH ()-[x:INTERACTED]->() WHERE x.attention_run = $r RETURN count(x)", r=run) == trained


def test_evaluate_to_a_folder_that_cannot_be_made_fails_before_training(db, kg, monkeypatch):
    """It trained every model for minutes and then failed with a traceback when the folder could not be made."""
    from kgrec_neo4j.cli import cli
    from kgrec_neo4j.model import pipeline

    def no_training(*a, **kw):
        raise AssertionError("trained although the table cannot be written")

    monkeypatch.setattr(pipeline, "train_model", no_training)
    r = CliRunner().invoke(cli, ["evaluate", "--models", "pop", "--out", "/proc/kgrec-no-such-folder/results"])
    assert r.exit_code != 0 and not isinstance(r.exception, AssertionError), (r.output, r.exception)
    assert "cannot be written there" in r.output and "--out" in r.output, r.output


def test_runs_list_and_show_name_the_serving_run_its_metrics_and_a_failure(db, kg):
    """No command listed the stored runs: which one serves, what each measured, why one failed."""
    from kgrec_neo4j.cli import cli
    from kgrec_neo4j.model import runs

    served = json.loads(_invoke(["train", "--epochs", "2", "--dim", "8", "--json"]).output)
    _invoke(["train", "--model", "pop", "--json"])
    failed = runs.new_run_id("ours")
    runs.create_run(db, failed, model="ours", config={"mode": "evaluation"}, dataset=None)
    runs.finish_run(db, failed, metrics={}, status="failed", error="ModelError: the export found no interactions")

    rows = json.loads(_invoke(["runs", "list", "--json", "--limit", "500"]).output)
    by = {r["run"]: r for r in rows}
    assert rows[0]["run"] == failed and by[failed]["state"] == "failed" and "no interactions" in by[failed]["error"]
    cur = by[served["run"]]
    assert cur["state"] == "current" and cur["mode"] == "evaluation" and cur["model"] == "ours"
    assert cur["valid"] == pytest.approx(served["report"]["valid"]["ndcg@10"])
    assert cur["test"] == pytest.approx(served["report"]["test"]["ndcg@10"])
    assert [r["state"] for r in rows].count("current") == 1
    assert db.value("MATCH (r:ModelRun) RETURN count(r)") == len(rows)
    pops = json.loads(_invoke(["runs", "list", "--model", "pop", "--json"]).output)
    assert pops and {r["model"] for r in pops} == {"pop"} and pops[0]["state"] == "complete"
    only = json.loads(_invoke(["runs", "list", "--state", "current", "--json"]).output)
    assert [r["run"] for r in only] == [served["run"]]

    table = _invoke(["runs", "list", "--limit", "2"]).output
    assert failed in table and f"{failed} failed: ModelError: the export found no interactions" in table
    assert f"(the latest 2 of {len(rows)};" in table
    # a complete run that is not current cannot be served: the next run's write-back replaced its vectors, and the
    # error blamed a missing write-back ("Re-run the model write-back")
    assert "(only the current run can be served" in table, table
    from kgrec_neo4j.core.errors import ModelError
    from kgrec_neo4j.serve import scoring as S

    old = runs.new_run_id("ours")
    runs.create_run(db, old, model="ours", config={"mode": "evaluation"}, dataset=None)
    runs.finish_run(db, old, metrics={})
    db.write("MATCH (r:ModelRun {id: $r}) SET r.stale_cleared = true", r=old)  # (it was current once)
    try:
        with pytest.raises(ModelError, match=f"{old}' can no longer be served: run '{served['run']}' became current "
                                             f"after it.*--model ours --for serving --params-from {old}"):
            S.run_model(db, old)
        with pytest.raises(ModelError, match=f"{pops[0]['run']}' has no item embeddings"):  # (never current: as before)
            S.run_model(db, pops[0]["run"])
    finally:
        db.write("MATCH (r:ModelRun {id: $r}) DETACH DELETE r", r=old)

    shown = _invoke(["runs", "show"]).output
    assert shown.startswith(f"run {served['run']}: ours, evaluation mode, current")
    # the factor an ITEM_LINK's weight is scaled by in the served score (explanations show both, and only the share)
    w = db.value("MATCH (r:ModelRun {id: $r}) RETURN r.item_link_weight", r=served["run"])
    db.write("MATCH (r:ModelRun {id: $r}) SET r.item_link_weight = 2.5", r=served["run"])  # (valid may choose 0)
    try:
        shown_ig = _invoke(["runs", "show"]).output
    finally:
        db.write("MATCH (r:ModelRun {id: $r}) SET r.item_link_weight = $w", r=served["run"], w=w)
    assert "item graph: score += 2.5 × Σ_j x_uj × ITEM_LINK(j→i).weight, x_uj = 1" in shown_ig, shown_ig
    assert (f"item graph: score += {w:.6g}" in shown) == bool(w), shown
    assert f"ndcg@10 {served['report']['valid']['ndcg@10']:.4f}" in shown and "valid NDCG@10 by epoch: " in shown
    # the epochs score the GNN part alone: next to the run's valid NDCG@10 (with the item graph) they read as
    # numbers that do not add up ("valid: ndcg@10 0.1175" over "by epoch: ..., 5: 0.0400 (best 5)") unless said
    note = "(the GNN part alone; the item graph, added after training with the weight valid chose, makes the run's " \
           "valid NDCG@10 above)"
    by_epoch = next(x for x in shown.splitlines() if x.startswith("valid NDCG@10 by epoch: "))
    weight = runs.get_run(db, served["run"]).metrics["item_graph"].get("weight")
    assert by_epoch.endswith(note) == bool(weight), (by_epoch, weight)
    for weight in (3788.0, 0.0):  # valid chose the item graph, or not (then the epochs score the whole model)
        rid = runs.new_run_id("ours")
        runs.create_run(db, rid, model="ours", config={"mode": "evaluation"}, dataset=None)
        runs.finish_run(db, rid, metrics={"valid": {"ndcg@10": 0.1175}, "epochs": 2, "best_epoch": 2,
                                          "valid_history": [{"epoch": 1, "ndcg@10": 0.03}, {"epoch": 2, "ndcg@10": 0.04}],
                                          "item_graph": {"weight": weight}})
        by_epoch = next(x for x in _invoke(["runs", "show", "--run", rid]).output.splitlines()
                        if x.startswith("valid NDCG@10 by epoch: "))
        assert by_epoch == "valid NDCG@10 by epoch: 1: 0.0300, 2: 0.0400" + (f" {note}" if weight else ""), by_epoch
    assert "error: ModelError" in _invoke(["runs", "show", "--run", failed]).output

    r = CliRunner().invoke(cli, ["runs", "show", "--run", "ours-no-such-run"])
    assert r.exit_code != 0 and "no training run 'ours-no-such-run'" in r.output and failed in r.output, r.output


def test_runs_list_and_show_print_no_metrics_for_a_serving_run(db, kg):
    """A serving run holds nothing out: `kgrec runs list` showed valid / test NDCG@10 0.0 for it, and `kgrec runs
    show` (whose default is the current run, a serving one in production) printed zeros as its valid and test
    metrics and `valid NDCG@10 by epoch: 1: 0.0000, 2: 0.0000`, epochs that were never evaluated."""
    import re

    run = json.loads(_invoke(["train", "--for", "serving", "--epochs", "2", "--dim", "8", "--json"]).output)["run"]
    (row,) = [r for r in json.loads(_invoke(["runs", "list", "--json"]).output) if r["run"] == run]
    assert row["mode"] == "serving" and row["valid"] is None and row["test"] is None, row
    shown = _invoke(["runs", "show", "--run", run]).output
    assert shown.startswith(f"run {run}: ours, serving mode, current"), shown
    assert not re.search(r"^(valid|test):", shown, re.M) and "0.0000" not in shown, shown
    assert "metrics: none (a serving run trains on every interaction and holds nothing out)" in shown, shown
    assert "by epoch" not in shown and "(best" not in shown and "epochs: 2" in shown, shown


def test_runs_list_shows_a_killed_training_run_as_abandoned_not_running(db, kg):
    """A `kgrec train` killed with SIGKILL stayed 'running' in `kgrec runs list` until the next training, as if it
    were still training. Its process is gone: it shows as abandoned, with why, and nothing is written by the reader."""
    import socket
    import subprocess

    from kgrec_neo4j.cli import cli
    from kgrec_neo4j.core.lease import process_started
    from kgrec_neo4j.core.resources import cypher
    from kgrec_neo4j.model import runs

    child = subprocess.Popen(["sleep", "30"])
    started = process_started(child.pid)
    run = runs.new_run_id("ours")
    runs.create_run(db, run, model="ours", config={"mode": "evaluation"}, dataset=None)
    db.execute(cypher("train/run_set_process"), id=run, host=socket.gethostname(), pid=child.pid, started=started)
    rows = json.loads(_invoke(["runs", "list", "--json", "--limit", "500"]).output)
    assert {r["run"]: r["state"] for r in rows}[run] == "running"  # its process runs
    child.kill()
    child.wait()
    rows = json.loads(_invoke(["runs", "list", "--json", "--limit", "500"]).output)
    row = next(r for r in rows if r["run"] == run)
    assert row["state"] == "abandoned" and "next `kgrec train` marks it failed" in row["error"]
    shown = CliRunner().invoke(cli, ["runs", "show", "--run", run]).output
    assert ", abandoned" in shown and "process ended without finishing" in shown, shown
    assert db.value("MATCH (r:ModelRun {id: $r}) RETURN r.status", r=run) == "running"  # a reader writes nothing
    db.execute("MATCH (r:ModelRun {id: $r}) DETACH DELETE r", r=run)


def _dislike_part(db, run: str) -> tuple[float, int]:
    """The item-graph part of an only-disliked item in the explanation of an item it links to (the first such pair
    by id), and how many such pairs the run has."""
    from kgrec_neo4j.serve.explain import explain
    from kgrec_neo4j.serve.scoring import clear_cache

    clear_cache()
    pairs = db.query("""
        MATCH (u:User)-[x:INTERACTED {split: 'train'}]->(j:Item)
        WITH u, j, max(x.sign) AS best WHERE best < 0
        MATCH (j)-[l:ITEM_LINK {run: $r}]->(i:Item) WHERE NOT (u)-[:INTERACTED]->(i)
        RETURN u.id AS user, j.id AS disliked, i.id AS item ORDER BY abs(l.weight) DESC, user, item""", r=run)
    assert pairs, "the fixture has users with a disliked item that links to another"
    for p in pairs[:50]:  # the first whose explanation lists the disliked item among its reasons (10 are listed)
        name = db.value("MATCH (i:Item {id: $i}) RETURN coalesce(i.title, i.id)", i=p["disliked"])[:20]
        rep = explain(db, p["user"], p["item"], k=10)
        reason = next((x for x in rep.explanation.reasons if x.kind == "item" and x.name.startswith(name)), None)
        if reason is not None:
            return reason.item_graph, len(pairs)
    raise AssertionError(f"no explanation of {len(pairs)} pairs lists the disliked item")


def test_dislike_value_is_the_runs_and_a_dislike_then_raises_nothing(db, kg):
    """`kgrec train --dislike-value 0`: an item the user only disliked adds nothing through the item graph, in the
    fit, the served score and its explanation (the run stores the value that serving and Browser read); with the
    default 1 the same dislike adds to the items it links to ('you disliked A, which still goes with it')."""
    from kgrec_neo4j.core.schema import load_pack
    from kgrec_neo4j.model.pipeline import run_training

    res = json.loads(_invoke(["train", "--epochs", "1", "--dim", "8", "--dislike-value", "0", "--json"]).output)
    assert db.value("MATCH (r:ModelRun {id: $r}) RETURN r.item_link_dislike_value", r=res["run"]) == 0.0
    # a serving run reuses it
    serving = json.loads(_invoke(["train", "--for", "serving", "--params-from", res["run"], "--epochs", "1", "--dim",
                                  "8", "--json"]).output)["run"]
    assert db.value("MATCH (r:ModelRun {id: $r}) RETURN r.item_link_dislike_value", r=serving) == 0.0
    # what it does to a served score, with the item graph in it (valid may give it no weight in a 1-epoch run)
    names = load_pack("video_games").names
    parts = {}
    for value in (1.0, 0.0):
        run = run_training(db, type_names=names, epochs=1, dim=8, seed=0,
                           overrides={"item_graph_weights": [1.0], "item_graph_dislike_value": value}).run
        assert db.value("MATCH (r:ModelRun {id: $r}) RETURN r.item_link_dislike_value", r=run) == value
        parts[value] = _dislike_part(db, run)
    assert parts[1.0][0] > 0 and parts[0.0][1] > 0 and parts[0.0][0] == 0.0, parts


@pytest.mark.parametrize(("args", "words"), [(["--model", "ease", "--dislike-value", "0"], "ease has none"),
                                             (["--dislike-value", "2"], "-1.0<=x<=1.0")])
def test_a_bad_dislike_value_is_refused_before_anything_runs(args, words):
    from kgrec_neo4j.cli import cli

    r = CliRunner().invoke(cli, ["train", *args])
    assert r.exit_code == 2 and "Invalid value for" in r.output and "dislike-value" in r.output, r.output
    assert words in r.output, r.output


def test_cli_recommend_explain_lines_add_up_to_the_score(db, kg):
    """`kgrec recommend --explain` printed the stated reasons only: a heavy user's lines summed to 4.71 + 0.82 of a
    7.46 score, the rest unsaid. A last line now carries the reasons not stated, so each item's lines add up."""
    from kgrec_neo4j.serve import recommend as R

    _invoke(["train", "--epochs", "1", "--dim", "8"])

    def unstated(u: str) -> int:
        return sum(len(r.explanation.reasons) - len(r.explanation.stated) + r.explanation.other_count
                   for r in R.recommend(db, u, 5, store=False, explain=True).items)

    users = db.value("MATCH (u:User)-[x:INTERACTED {split: 'train'}]->() WITH u, count(x) AS n "
                     "ORDER BY n DESC, u.id LIMIT 30 RETURN collect(u.id)")
    user = next((u for u in users if unstated(u)), None)
    assert user is not None, "some user of the fixture has reasons that the sentences do not state"
    out = _invoke(["recommend", "--user", user, "-k", "5", "--explain", "--no-store"]).output.splitlines()
    items = [n for n, ln in enumerate(out) if re.match(r"^\s+\d+\. ", ln)]
    assert items, out
    rests = 0
    for a, b in zip(items, [*items[1:], len(out)], strict=True):
        score = float(out[a].split()[2])
        shares = [float(m.group(1)) for ln in out[a + 1:b] if (m := re.match(r"^ {7}([+-][0-9.e+-]+)  ", ln))]
        rests += sum("more reason" in ln and "kgrec explain --user" in ln for ln in out[a + 1:b])
        assert sum(shares) == pytest.approx(score, rel=2e-3, abs=2e-3), out[a:b]
    assert rests > 0, out



def test_the_table_says_how_many_held_out_interactions_it_left_out():
    """A held-out item the user also has in train can never be ranked and is left out; evaluation.json counted them
    (`heldout_dropped`) while the table only showed fewer test users."""
    from kgrec_neo4j.model.pipeline import EvaluationRow, markdown_table

    row = EvaluationRow(model="ease", valid={"ndcg@10": 0.1}, test={"ndcg@10": 0.1, "users": 130},
                        train_seconds=1.0, eval_seconds=0.1, epochs=0, best_epoch=0, config={})
    md = markdown_table([row], {"heldout_dropped": {"repeat": 26, "unknown_node": 0, "test_repeat": 20}})
    assert "(130 test users; 20 test interactions left out: the item is in the user's train history too)" in md
    assert "left out" not in markdown_table([row], {"heldout_dropped": {"repeat": 6, "test_repeat": 0}})


def test_evaluate_refuses_a_refit_it_would_skip(db, kg, tmp_path):
    """`kgrec evaluate --train-only --refit all` ignored --refit without a word."""
    from kgrec_neo4j.cli import cli

    r = CliRunner().invoke(cli, ["evaluate", "--models", "pop", "--train-only", "--refit", "all", "--out",
                                 str(tmp_path)])
    assert r.exit_code == 2 and "--train-only skips" in r.output, r.output
    assert not (tmp_path / "evaluation.md").exists()


def test_train_refuses_epochs_for_a_closed_form_model(db, kg):
    """`kgrec train --model ease --epochs 5` said "train: 0 epochs (best 0)": --epochs was ignored without a word
    (while --dislike-value is refused for a model without an item graph)."""
    from kgrec_neo4j.cli import cli

    runs = db.value("MATCH (r:ModelRun) RETURN count(r)")
    r = CliRunner().invoke(cli, ["train", "--model", "ease", "--epochs", "5"])
    assert r.exit_code == 2 and "fitted in closed form and trains no epochs" in r.output, r.output
    assert db.value("MATCH (r:ModelRun) RETURN count(r)") == runs


def test_evaluate_takes_an_ablation_by_name(db, kg, tmp_path):
    """`kgrec evaluate --models ours-no-concepts` was refused ("expected some of ours, lightgcn, …") although the
    evaluation runs the ablations; one can now be named alone, beside a baseline."""
    r = _invoke(["evaluate", "--models", "ours-no-concepts,pop", "--no-ablations", "--epochs", "1", "--dim", "8",
                 "--train-only", "--out", str(tmp_path)])
    data = json.loads((tmp_path / "evaluation.json").read_text())
    assert [row["model"] for row in data["rows"]] == ["ours-no-concepts", "pop"], r.output
