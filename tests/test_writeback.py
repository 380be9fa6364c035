"""Write-back: embeddings on every node, attention on the train edges, the vector index, ModelRun.current."""

from __future__ import annotations

import _export_fixture
import numpy as np
import pytest
import torch

from kgrec_neo4j.core.errors import ModelError
from kgrec_neo4j.core.schema import load_pack


@pytest.fixture(scope="module")
def tg(db):
    from kgrec_neo4j.model.export import export_train_graph

    db.write("DROP INDEX item_gnn_embedding IF EXISTS")  # the db fixture empties data, not indexes
    _export_fixture.build(db)
    return export_train_graph(db, type_names=load_pack("video_games").names)


def _model_output(tg, dim: int, seed: int):
    from kgrec_neo4j.model.gnn import KGRecGNN

    torch.manual_seed(seed)
    m = KGRecGNN(tg, embedding_dim=dim).eval()
    with torch.no_grad():
        u, i, c = m()
    return u, i, c, m.edge_attention()


def _run(db, tg, dim: int, seed: int) -> tuple[str, object, tuple]:
    from kgrec_neo4j.model import runs, writeback

    out = _model_output(tg, dim, seed)
    run = runs.new_run_id("ours")
    runs.create_run(db, run, model="ours", config={"dim": dim}, dataset=runs.dataset_names(db))
    rep = writeback.write_back(db, tg, run, users=out[0], items=out[1], concepts=out[2], attention=out[3],
                               batch_size=300)
    runs.finish_run(db, run, metrics={"recall@20": 0.1})
    runs.set_current(db, run)
    rep.cleared_embeddings, rep.cleared_attention = writeback.clear_stale(db, run, limit=500)
    return run, rep, out


def _index_dim(db):
    return db.value("SHOW VECTOR INDEXES YIELD name, options WHERE name = 'item_gnn_embedding' "
                    "RETURN options.indexConfig['vector.dimensions']")


def test_write_back_then_rerun_replaces_and_moves_current(db, tg):
    from kgrec_neo4j.model import runs

    run1, rep1, out1 = _run(db, tg, dim=8, seed=1)
    for label, n in (("User", rep1.users), ("Item", rep1.items), ("Concept", rep1.concepts)):
        assert n == db.value(f"MATCH (n:{label}) RETURN count(n)") == \
            db.value(f"MATCH (n:{label}) WHERE n.gnn_run = $r AND size(n.gnn_embedding) = 8 RETURN count(n)", r=run1)
    assert rep1.vector_index == "created" and _index_dim(db) == 8
    # stored vectors are the model's rows
    k = 5
    got = db.value("MATCH (i:Item {id: $id}) RETURN i.gnn_embedding", id=tg.item_ids[k])
    assert np.allclose(got, out1[1][k].cpu().numpy(), atol=1e-6)

    # attention on exactly the exported train edges; held-out interactions carry none
    for rel, n in (("INTERACTED", tg.ui_user.size), ("HAS_KNOWLEDGE", tg.ic_item.size),
                   ("INTERESTED_IN", tg.uc_user.size)):
        assert rep1.attention[rel] == n == db.value(
            f"MATCH ()-[r:{rel}]->() WHERE r.attention_run = $r AND r.attention = abs(r.attention_signed) "
            f"RETURN count(r)", r=run1)
    assert db.value("MATCH ()-[r:INTERACTED]->() WHERE r.split <> 'train' AND r.attention IS NOT NULL "
                    "RETURN count(r)") == 0
    assert db.value("MATCH (u:User)-[r:INTERACTED]->() WHERE r.sign < 0 RETURN max(r.attention_signed)") < 0
    assert db.value("MATCH ()-[r:INTERESTED_IN]->() WHERE r.polarity < 0 RETURN max(r.attention_signed)") < 0

    run2, rep2, out2 = _run(db, tg, dim=12, seed=2)
    assert rep2.vector_index == "recreated" and _index_dim(db) == 12
    assert db.value("MATCH (n:User|Item|Concept) WHERE n.gnn_run = $r AND size(n.gnn_embedding) = 12 "
                    "RETURN count(n)", r=run2) == tg.num_users + tg.num_items + tg.num_concepts
    assert db.value("MATCH (n) WHERE n.gnn_run = $r RETURN count(n)", r=run1) == 0
    assert db.value("MATCH ()-[r]->() WHERE r.attention_run = $r RETURN count(r)", r=run1) == 0
    assert db.value("MATCH (r:ModelRun) WHERE r.current RETURN collect(r.id)") == [run2]
    assert runs.current_run(db).id == run2 and runs.get_run(db, run1).current is False
    assert runs.get_run(db, run1).metrics == {"recall@20": 0.1}


def test_stale_values_of_filtered_edges_are_cleared(db, tg):
    """Edges left out of a later run's graph (here by min-confidence) lose the old run's attention."""
    from kgrec_neo4j.model import runs, writeback
    from kgrec_neo4j.model.export import export_train_graph

    high = export_train_graph(db, type_names=load_pack("video_games").names, min_confidence=0.9)
    u, i, c, att = _model_output(high, 8, 3)
    run = runs.new_run_id("ours")
    runs.create_run(db, run, model="ours", config={}, dataset=None)
    rep = writeback.write_back(db, high, run, users=u, items=i, concepts=c, attention=att)
    runs.finish_run(db, run, metrics={})
    runs.set_current(db, run)
    nodes, edges = writeback.clear_stale(db, run)
    assert nodes == 0 and edges > 0
    assert db.value("MATCH ()-[r]->() WHERE r.attention IS NOT NULL RETURN count(r)") == sum(rep.attention.values())
    assert db.value("MATCH ()-[r:HAS_KNOWLEDGE]->() WHERE r.attention IS NOT NULL "
                    "AND coalesce(r.confidence, 1.0) < 0.9 RETURN count(r)") == 0


def test_runs_guard_their_invariants(db, tg):
    from kgrec_neo4j.model import runs, writeback

    run = runs.new_run_id("mf")
    runs.create_run(db, run, model="mf", config={}, dataset=None)
    with pytest.raises(ModelError, match="exists already"):
        runs.create_run(db, run, model="mf", config={}, dataset=None)
    with pytest.raises(ModelError, match="status 'running'"):
        runs.set_current(db, run)
    with pytest.raises(ModelError, match="no ModelRun"):
        runs.set_current(db, "no-such-run")
    with pytest.raises(ValueError, match="shape"):
        writeback.write_embeddings(db, tg, run, users=np.zeros((3, 4)), items=np.zeros((tg.num_items, 4)))
    with pytest.raises(ModelError, match="NaN"):
        writeback.write_embeddings(db, tg, run, users=np.full((tg.num_users, 4), np.nan),
                                   items=np.zeros((tg.num_items, 4)))


def test_item_links_are_written_served_and_cleared(db, tg):
    """Ours' item graph: ITEM_LINK edges of the run, its weight on the ModelRun, and recommendations that score
    exactly as the model does (embedding dot product + weight * item links); a later run removes them."""
    from kgrec_neo4j.model import runs, writeback
    from kgrec_neo4j.model.gnn import KGRecGNN
    from kgrec_neo4j.model.itemgraph import ItemGraph
    from kgrec_neo4j.serve import scoring as S

    torch.manual_seed(4)
    model = KGRecGNN(tg, embedding_dim=8).eval()
    ig = ItemGraph(lam=2.0, concept_weight=1.0, dislike_value=-0.5, top_k=4).fit(tg)
    model.attach_item_graph(ig, 0.7)
    with torch.no_grad():
        u, i, c = model()
    run = runs.new_run_id("ours")
    runs.create_run(db, run, model="ours", config={}, dataset=None)
    from kgrec_neo4j.model.foldin import export_kgrec

    fold = export_kgrec(model, tg)
    rep = writeback.write_back(db, tg, run, users=u, items=i, concepts=c, attention=model.edge_attention(),
                               item_graph=ig, item_graph_weight=0.7, foldin=fold, batch_size=40)
    src, dst, w = ig.edges()
    assert rep.item_links == src.size == db.value(
        "MATCH (:Item)-[l:ITEM_LINK {run: $r}]->(:Item) RETURN count(l)", r=run) > 0
    k = int(np.argmax(np.abs(w)))
    assert db.value("MATCH (:Item {id: $a})-[l:ITEM_LINK {run: $r}]->(:Item {id: $b}) RETURN l.weight",
                    a=tg.item_ids[src[k]], b=tg.item_ids[dst[k]], r=run) == pytest.approx(float(w[k]), rel=1e-5)
    stored = db.query("MATCH (r:ModelRun {id: $r}) RETURN r.item_link_weight AS w, r.item_link_dislike_value AS d, "
                      "r.item_link_count AS n", r=run)[0]
    assert stored == {"w": 0.7, "d": -0.5, "n": src.size}
    runs.finish_run(db, run, metrics={})
    runs.set_current(db, run)
    writeback.clear_stale(db, run)
    # a rerun of the same batches replaces, never duplicates
    writeback.write_item_links(db, tg, run, ig, 0.7, batch_size=40)
    assert db.value("MATCH ()-[l:ITEM_LINK]->() RETURN count(l)") == src.size

    # served item-graph terms are the model's: pick users with a dislike-only train item, so every term is
    # exercised; serving reads every interaction (valid and test ones too), so compare with the item graph
    # applied to the user's whole history
    S.clear_cache()
    disliked = {tg.ui_user[k] for k in np.flatnonzero(tg.ui_sign < 0)}
    users = sorted(disliked)[:3] + [0]
    m = S.run_model(db, run)
    states, _ = S.read_users(db, [tg.user_ids[x] for x in users], m)
    order = [m.index[iid] for iid in tg.item_ids]
    for st in states:
        items, vals = st.link_x
        want = vals @ m.links[items].toarray() * 0.7
        served = S.scores(m, [st])[0] - fold_in_dot(m, st)
        assert np.allclose(served, want, atol=1e-4)
    assert any((st.link_x[1] != 1.0).any() for st in states)  # a dislike-only item counts with its value
    assert order

    # a new run without links clears the old run's links
    run2 = runs.new_run_id("ours")
    runs.create_run(db, run2, model="ours", config={}, dataset=None)
    writeback.write_back(db, tg, run2, users=u, items=i, concepts=c, foldin=fold)
    runs.finish_run(db, run2, metrics={})
    runs.set_current(db, run2)
    writeback.clear_stale(db, run2)
    assert db.value("MATCH ()-[l:ITEM_LINK]->() RETURN count(l)") == 0
    S.clear_cache()
    assert S.run_model(db, run2).links is None


def fold_in_dot(m, st):
    from kgrec_neo4j.model.foldin import fold_in

    return fold_in(m.foldin, m.side, st.history) @ m.vectors.T
