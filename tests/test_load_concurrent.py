"""Recommendations served while a training run writes its embeddings back.

Every answer must come from ONE model run: its ``run`` is a ModelRun id, each score is ``u · i`` of that
run's stored embeddings, and the list is that run's true top-k (no item of the run missing because
another run had already overwritten it). Checked three ways:

- the half-written state built on purpose (a new run's embeddings on some nodes, the old run still current);
- a process with a warm cache after a new run became current;
- eight concurrent serving processes (four keep their cache, four reload per request) during a real
  ``kgrec train`` (``bench/concurrent_serve.py``); a bigger variant is marked slow.

The write-back overwrites ``gnn_embedding`` in place batch by batch (cypher/train/embeddings_*.cypher) and
flips ``current`` after it finished; readers filter by ``gnn_run`` (cypher/recommend/*.cypher), which keeps
scores from mixing runs but does not keep the current run readable during the write-back. The tests that
show it are xfails naming the fix (docs/reliability.md, "Serving during a write-back"): strict markers on the
two deterministic tests (remove them when the fix lands), and in the concurrent ones an xfail only when
requests failed, after asserting that no answer mixed runs.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import _export_fixture
import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent


def _bench():
    spec = importlib.util.spec_from_file_location("concurrent_serve", REPO / "bench" / "concurrent_serve.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CS = _bench()

@pytest.fixture(scope="module")
def trained(db):
    """vg-slice with concepts and interests, and one current run trained in-process."""
    from kgrec_neo4j.core.schema import load_pack
    from kgrec_neo4j.model.pipeline import run_training
    from kgrec_neo4j.serve import scoring as S

    db.write("DROP INDEX item_gnn_embedding IF EXISTS")
    _export_fixture.build(db)
    res = run_training(db, type_names=load_pack("video_games").names, epochs=1, dim=8, seed=0)
    S.clear_cache()
    return res.run


def _write_run(db, run: str, rows_by_label: dict[str, list[dict]], *, current: bool) -> None:
    """Write vectors of ``run`` with the write-back's own Cypher (a run that folds a user in to the user's own
    vector); optionally finish it and make it current."""
    from kgrec_neo4j.model import runs, writeback
    from kgrec_neo4j.model.foldin import FoldIn

    if runs.get_run(db, run) is None:
        runs.create_run(db, run, model="ours", config={"test": True}, dataset=None)
        writeback.write_foldin_params(db, run, FoldIn(dim=8, ui_layers=0), min_confidence=0.0)
    for label, rows in rows_by_label.items():
        writeback._write(db, f"embeddings_{label.lower()}", rows, run=run, batch_size=50, progress=None)
    if current:
        runs.finish_run(db, run, metrics={}, status="complete")
        runs.set_current(db, run)
        writeback.clear_stale(db, run)


def _random_rows(db, run_like: str, seed: int) -> dict[str, list[dict]]:
    rng = np.random.default_rng(seed)
    out = {}
    for label in ("User", "Item"):
        ids = db.value(f"MATCH (n:{label}) WHERE n.gnn_run = $r RETURN collect(n.id)", r=run_like)
        out[label] = [{"id": i, "embedding": rng.normal(size=8).tolist()} for i in sorted(ids)]
        for row in out[label]:
            if label == "User":
                row["ego"] = row["embedding"]
            else:
                row["foldin"], row["degree"] = row["embedding"], 0
    return out


def _stored_rows(db, run: str) -> dict[str, list[dict]]:
    """The stored vectors of ``run``, as the write-back writes them (to put them back after a test)."""
    return {label: db.query(f"MATCH (n:{label}) WHERE n.gnn_run = $r RETURN n.id AS id, n.gnn_embedding AS "
                            f"embedding, n.gnn_ego AS ego, n.gnn_foldin AS foldin, n.gnn_degree AS degree", r=run)
            for label in ("User", "Item")}


def _restore(db, run: str, stored: dict[str, list[dict]]) -> None:
    """Write ``stored`` (from ``_stored_rows``) back as ``run``'s vectors, with the write-back's own Cypher."""
    from kgrec_neo4j.model import writeback

    for label, rows in stored.items():
        writeback._write(db, f"embeddings_{label.lower()}", rows, run=run, batch_size=200, progress=None)


def _check(db, answers, run_ids=None) -> dict:
    """Verify answers (as recommend_users returns them) against the snapshots of the runs they name."""
    runs = {a.run for a in answers}
    snaps = {r: CS.snapshot(db, r) for r in runs}
    ids = run_ids or {r["id"] for r in db.query("MATCH (r:ModelRun) RETURN r.id AS id")}
    rows = [{"user": a.user, "run": a.run, "items": [[r.item, r.score] for r in a.items]} for a in answers]
    return CS.verify(rows, snaps, ids)


def test_answers_match_stored_embeddings(db, trained):
    """Baseline for the checker itself: a quiet database gives consistent answers, a tampered score does not."""
    from kgrec_neo4j.serve import recommend as R

    users = db.value("MATCH (u:User) WHERE u.gnn_run = $r RETURN collect(u.id)[..20]", r=trained)
    recs = R.recommend_users(db, users, 10, store=False)
    rep = _check(db, recs)
    assert rep["consistent"] == len(users) and rep["errors"] == 0, rep
    recs[0].items[0].score += 0.5
    bad = _check(db, recs)
    assert bad["inconsistent"] == 1
    # the problem says how much of the list is off: one item's vector, not the user's side
    assert f"1 of {len(recs[0].items)} listed scores off" in bad["problems"][0], bad["problems"]


def test_half_written_writeback_still_serves_the_current_run(db, trained):
    """Half of a new run's embeddings written (as a killed or still running write-back leaves them): requests
    for every user must still be answered by the current run, completely."""
    from kgrec_neo4j.serve import recommend as R
    from kgrec_neo4j.serve import scoring as S

    before = CS.snapshot(db, trained)
    stored = _stored_rows(db, trained)
    rows = _random_rows(db, trained, seed=1)
    half = {label: r[: len(r) // 2] for label, r in rows.items()}
    try:
        _write_run(db, "ours-halfwritten-test", half, current=False)
        S.clear_cache()
        users = sorted(before["users"])
        errors, answers = [], []
        for u in users:
            try:
                answers += R.recommend_users(db, [u], 10, store=False)
            except Exception as e:  # noqa: BLE001
                errors.append(f"{u}: {type(e).__name__}: {e}")
        rows_ = [{"user": a.user, "run": a.run, "items": [[r.item, r.score] for r in a.items]} for a in answers]
        rep = CS.verify(rows_, {trained: before}, {trained, "ours-halfwritten-test"})
        assert not errors and rep["consistent"] == len(users), (
            f"{len(errors)} of {len(users)} requests failed (first: {errors[:1]}); of the answers, "
            f"{rep['inconsistent']} were not the current run's full top-k (first: {rep['problems'][:1]})")
    finally:  # put the current run back whole, with the write-back's own Cypher
        _restore(db, trained, stored)
        db.write("MATCH (r:ModelRun {id: 'ours-halfwritten-test'}) DETACH DELETE r")
        S.clear_cache()


def test_warm_cache_follows_the_new_current_run(db, trained):
    """A serving process that cached run A answers with run B once B is current (no error, no stale scores)."""
    from kgrec_neo4j.model import runs
    from kgrec_neo4j.serve import recommend as R
    from kgrec_neo4j.serve import scoring as S

    current = S.current_run(db)
    users = db.value("MATCH (u:User) WHERE u.gnn_run = $r RETURN collect(u.id)[..10]", r=current)
    stored = _stored_rows(db, current)
    S.clear_cache()
    assert {a.run for a in R.recommend_users(db, users, 10, store=False)} == {current}
    new = f"ours-warmcache-test-{os.getpid()}"
    try:
        _write_run(db, new, _random_rows(db, current, seed=2), current=True)
        recs = R.recommend_users(db, users, 10, store=False)  # same process, warm cache of the old run
        assert {a.run for a in recs} == {new}
        rep = _check(db, recs)
        assert rep["consistent"] == len(users), rep
    finally:  # the trained run current and whole again: the tests after this one start from it, not from random vectors
        _restore(db, current, stored)
        runs.set_current(db, current)
        db.write("MATCH (r:ModelRun {id: $r}) DETACH DELETE r", r=new)
        S.clear_cache()
    assert S.current_run(db) == current
    assert _check(db, R.recommend_users(db, users, 10, store=False))["consistent"] == len(users)


def test_request_across_a_flip_answers_with_one_whole_run(db, trained, monkeypatch):
    """A request that sums its users' item links in Cypher (a one-off command) while a newer run becomes current and
    clears the older run's links between its queries: it must not answer with the older run from the partly
    cleared links. Made deterministic: the flip and the clearing run just before the request's links query."""
    from kgrec_neo4j.core.resources import cypher
    from kgrec_neo4j.model import runs
    from kgrec_neo4j.serve import recommend as R
    from kgrec_neo4j.serve import scoring as S

    trained_run = S.current_run(db)
    stored = _stored_rows(db, trained_run)
    old, new = f"ours-flip-old-{os.getpid()}", f"ours-flip-new-{os.getpid()}"
    query, fired = db.query, []

    def racing_query(text, **params):
        if text == cypher("recommend/user_links") and not fired:
            fired.append(True)  # a training run finishes here: flip, then clear what other runs wrote
            _write_run(db, new, _random_rows(db, old, seed=4), current=True)
        return query(text, **params)

    try:  # run `old`: random vectors and an item graph (every item linked to 5 others), current
        _write_run(db, old, _random_rows(db, trained_run, seed=3), current=True)
        items = sorted(db.value("MATCH (i:Item) WHERE i.gnn_run = $r RETURN collect(i.id)", r=old))
        rng = np.random.default_rng(0)
        db.write("UNWIND $rows AS row MATCH (a:Item {id: row.a}), (b:Item {id: row.b}) "
                 "CREATE (a)-[:ITEM_LINK {run: $r, weight: row.w}]->(b)", r=old,
                 rows=[{"a": a, "b": items[j], "w": float(rng.uniform(0.5, 2.0))}
                       for n, a in enumerate(items) for j in rng.choice(len(items), 5, replace=False) if items[j] != a])
        db.write(cypher("train/run_set_item_links"), run=old, weight=1.0, dislike_value=-1.0, count=0, top_k=5)
        users = db.value("MATCH (u:User)-[:INTERACTED]->(:Item)-[:ITEM_LINK {run: $r}]->() WHERE u.gnn_run = $r "
                         "RETURN collect(DISTINCT u.id)[..5]", r=old)
        assert users
        S.clear_cache()
        before = CS.snapshot(db, old, users)
        monkeypatch.setattr(db, "query", racing_query)
        recs = R.recommend_users(db, users, 10, store=False, load_links=False)
        monkeypatch.setattr(db, "query", query)
        assert fired
        rep = CS.verify([{"user": a.user, "run": a.run, "items": [[r.item, r.score] for r in a.items]} for a in recs],
                        {old: before, new: CS.snapshot(db, new, users)}, {old, new})
        assert rep["consistent"] == len(users) and {a.run for a in recs} == {new}, rep
    finally:  # the trained run current and whole again
        monkeypatch.setattr(db, "query", query)
        _restore(db, trained_run, stored)
        runs.set_current(db, trained_run)
        db.write("MATCH ()-[l:ITEM_LINK]->() WHERE l.run IN $r DELETE l", r=[old, new])
        db.write("MATCH (r:ModelRun) WHERE r.id IN $r DETACH DELETE r", r=[old, new])
        S.clear_cache()


def _experiment(db, tmp_path, *, workers: int, batch_size: int, train_args: list[str], tail_s: float) -> dict:
    env = os.environ.copy()
    env["KGREC_BATCH_SIZE"] = str(batch_size)  # many small write-back transactions: a long mixed window
    rep = CS.run_experiment(db, workers=workers, out=tmp_path / "serve", train_args=train_args, env=env,
                            tail_s=tail_s, pause_s=0.1)
    print({k: v for k, v in rep.items() if k not in ("trainer_output",)})
    assert rep["trainer_rc"] == 0, rep["trainer_output"]
    assert rep["worker_rc"] == [0] * workers, rep["worker_output"]
    assert rep["new_run"] != rep["old_run"]
    # the workers did overlap the training: answers of the old run exist, and of the new one when fixed
    assert rep["by_run"].get(rep["old_run"], 0) > 0, rep
    return rep


def _no_errors(rep: dict) -> None:
    """Answers never mix runs, no request fails, and the new run is served once it is current."""
    assert rep["inconsistent"] == 0, rep["problems"]
    assert rep["errors"] == 0, f"{rep['errors']} of {rep['answers']} requests failed {rep['error_kinds']}: " \
                               f"{rep['problems'][:3]}"
    assert rep["by_run"].get(rep["new_run"], 0) > 0, rep


def test_eight_processes_recommend_during_training(db, trained, tmp_path):
    _no_errors(_experiment(db, tmp_path, workers=8, batch_size=25, train_args=["--epochs", "1", "--dim", "8"],
                           tail_s=5))


@pytest.mark.slow
def test_eight_processes_recommend_during_longer_training(db, trained, tmp_path):
    """Longer write-back (batches of 5 rows, dim 64, more epochs) and a longer tail after the flip."""
    _no_errors(_experiment(db, tmp_path, workers=8, batch_size=5, train_args=["--epochs", "5", "--dim", "64"],
                           tail_s=20))
