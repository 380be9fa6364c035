"""Short-term interests: recency weights of an ordered history, the order in TrainGraph, the GNN's user side."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from kgrec_neo4j.model.data import TrainGraph, from_jsonl
from kgrec_neo4j.model.gnn import KGRecGNN
from kgrec_neo4j.model.itemgraph import signed_matrix
from kgrec_neo4j.model.recency import history_weights, item_weights, pair_weights, steps_back
from kgrec_neo4j.model.toy import toy_graph
from kgrec_neo4j.model.train import TrainConfig, fit

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_steps_back_counts_later_interactions_of_the_same_user():
    seqs = np.array([5, 2, 9, 0, 1, 7])
    users = np.array([0, 0, 0, 1, 1, 1])
    assert steps_back(seqs, users).tolist() == [1, 2, 0, 2, 1, 0]
    # one user's history, in any order
    assert steps_back(np.array([3, 1, 2])).tolist() == [0, 2, 1]
    # equal seq counts as simultaneous: both get the rank of the later ones only
    assert steps_back(np.array([4, 4, 1, 6])).tolist() == [1, 1, 3, 0]
    assert steps_back(np.zeros(0, np.int64)).size == 0


def test_history_weights_serving_equals_training():
    rng = np.random.default_rng(0)
    users = rng.integers(0, 20, 300)
    seqs = rng.permutation(300)
    batch = history_weights(seqs, 0.8, users)
    for u in range(20):  # one user's history alone (what serving computes per request) gives the same weights
        m = users == u
        assert np.allclose(history_weights(seqs[m], 0.8), batch[m])
    assert batch.max() == pytest.approx(1.0) and batch.min() > 0
    assert np.array_equal(history_weights(seqs, 1.0, users), np.ones(300, np.float32))


@pytest.mark.parametrize("decay", [0.0, -0.1, 1.01, float("nan")])
def test_bad_decay_is_refused(decay):
    with pytest.raises(ValueError, match="decay"):
        history_weights(np.arange(3), decay)


def test_item_weights_of_one_history_are_the_latest_interaction_of_each_item():
    # serving's view of one user: items 7, 3, 7, 5 in this order (seq 10, 11, 12, 13)
    items, w = item_weights(np.array([7, 3, 7, 5]), np.array([10, 11, 12, 13]), 0.5)
    assert items.tolist() == [3, 5, 7]
    np.testing.assert_allclose(w, [0.25, 1.0, 0.5])
    with pytest.raises(ValueError, match="same length"):
        item_weights(np.array([1, 2]), np.array([1]), 0.5)


def test_pair_weights_keep_the_latest_repeat():
    m = pair_weights(np.array([0, 0, 1]), np.array([2, 2, 0]), np.array([0.25, 1.0, 0.5]), (2, 3))
    assert m.toarray().tolist() == [[0, 0, 1.0], [0.5, 0, 0]]


def _graph(**kw) -> TrainGraph:
    base = dict(user_ids=["a", "b"], item_ids=["i0", "i1", "i2"], concept_ids=[], type_names=["Genre"],
                ui_user=[0, 0, 0, 1, 1], ui_item=[0, 1, 0, 2, 1], ui_sign=[1, -1, 1, 1, 1], ui_weight=np.ones(5),
                ic_item=[], ic_concept=[], ic_type=[], ic_weight=[], uc_user=[], uc_concept=[], uc_horizon=[],
                uc_polarity=[], uc_weight=[])
    return TrainGraph(**{**base, **kw})


def test_train_graph_order_defaults_to_array_order_and_is_validated():
    g = _graph()
    assert g.ui_seq.tolist() == [0, 1, 2, 0, 1]
    g = _graph(ui_seq=[10, 30, 20, 5, 1])
    assert g.recency_weights(0.5).tolist() == [0.25, 1.0, 0.5, 1.0, 0.5]
    with pytest.raises(ValueError, match="ui_seq"):
        _graph(ui_seq=[1, 2]).validate()


def test_signed_matrix_weighs_each_pair_by_its_latest_interaction():
    # user a: i0 at seq 10 and 20 (latest 20: one step back), i1 disliked at seq 30 (latest)
    g = _graph(ui_seq=[10, 30, 20, 5, 1])
    x = signed_matrix(g, dislike_value=-0.5, decay=0.5).toarray()
    assert x.tolist() == [[0.5, -0.5, 0.0], [0.0, 0.5, 1.0]]
    assert signed_matrix(g, dislike_value=-0.5).toarray().tolist() == [[1.0, -0.5, 0.0], [0.0, 1.0, 1.0]]


def test_from_jsonl_keeps_seq(tmp_path):
    rows = [{"user_id": "u", "item_id": f"i{k}", "seq": s, "rating": None} for k, s in enumerate([7, 3, 9, 11, 12])]
    with gzip.open(tmp_path / "interactions.jsonl.gz", "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    with gzip.open(tmp_path / "items.jsonl.gz", "wt") as f:
        f.writelines(json.dumps({"item_id": f"i{k}", "title": "x"}) + "\n" for k in range(5))
    g = from_jsonl(tmp_path / "items.jsonl.gz", tmp_path / "interactions.jsonl.gz")
    # the last two by seq are held out; train keeps seq 3, 7, 9 in time order
    assert g.ui_seq.tolist() == [3, 7, 9]
    assert [g.item_ids[i] for i in g.ui_item] == ["i1", "i0", "i2"]


def test_the_gnn_user_side_adds_the_recency_weighted_item_mean():
    g = toy_graph(num_users=30, num_items=32, seed=2)
    torch.manual_seed(0)
    plain = KGRecGNN(g, 8, 1, 1)
    torch.manual_seed(0)
    recent = KGRecGNN(g, 8, 1, 1, recency_decay=0.5)
    assert recent.recency_decay == 0.5 and plain.recency_decay is None
    with torch.no_grad():
        x_plain, x_recent = plain.stage1(), recent.stage1()
        n_u, n_i = g.num_users, g.num_items
        assert torch.allclose(x_plain[n_u:], x_recent[n_u:])  # items and concepts unchanged
        items = x_plain[n_u: n_u + n_i]
        u = 5
        rows = np.flatnonzero((g.ui_user == u) & (g.ui_sign >= 0))
        r = torch.from_numpy(g.recency_weights(0.5)[rows])
        want = x_plain[u] + F.softplus(recent.recency_gate) * (r @ items[torch.from_numpy(g.ui_item[rows])]) / r.sum()
        assert torch.allclose(x_recent[u], want, atol=1e-5)


def test_training_records_the_decays_and_the_device():
    g = toy_graph(num_users=40, num_items=32, seed=4)
    cfg = TrainConfig(model="kgrec", embedding_dim=8, epochs=2, batch_size=128, valid_sample=None, num_threads=1,
                      recency_decays=[1.0, 0.6], recency_decay=0.7, device="cpu")
    model, rep = fit(g, cfg)
    assert rep.device == "cpu" and rep.recency["gnn"] == 0.7 and model.recency_decay == 0.7
    assert rep.recency["item_graph"] in (1.0, 0.6) and rep.recency["item_graph"] == model.item_graph.decay
    assert rep.config["device"] == "cpu"


def test_a_missing_seq_is_one_after_its_users_highest():
    from kgrec_neo4j.model.recency import latest_when_missing

    got = latest_when_missing(np.array([3.0, np.nan, 1.0, np.nan, np.nan, 7.5]), np.array([0, 0, 0, 1, 2, 2]))
    assert got.tolist() == [3.0, 4.0, 1.0, 0.0, 8.5, 7.5]
    with pytest.raises(ValueError, match="same length"):
        latest_when_missing(np.array([1.0]), np.array([0, 1]))
