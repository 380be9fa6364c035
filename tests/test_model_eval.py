import math

import numpy as np
import pytest
import torch

from kgrec_neo4j.model.evaluate import evaluate, evaluate_mixtures, ranking_metrics
from kgrec_neo4j.model.toy import toy_graph

pytestmark = pytest.mark.usefixtures("one_torch_thread")



def test_ranking_metrics_hand_computed():
    topk = np.array([[3, 1, 2], [0, 1, 2]])
    res = ranking_metrics(topk, [[1], [5, 2]], ks=(1, 3))
    assert res["recall@1"] == 0.0
    assert res["recall@3"] == pytest.approx(1.0 + 0.5)
    # user 0: hit at rank 2 -> 1/log2(3); user 1: hit at rank 3 -> (1/log2(4)) / (1 + 1/log2(3))
    assert res["ndcg@3"] == pytest.approx(1 / math.log2(3) + 0.5 / (1 + 1 / math.log2(3)))


def test_evaluate_masks_train_items():
    g = toy_graph()
    # a scorer that loves the user's train items, then the test item: train items must be masked
    seen = g.train_matrix().toarray()

    def score(users):
        s = torch.from_numpy(seen[users.numpy()] * 10.0).float()
        for b, u in enumerate(users.tolist()):
            s[b, g.test[u][0]] = 5.0
        return s

    res = evaluate(score, g, "test", ks=(1, 10), batch_size=7)
    assert res["recall@1"] == pytest.approx(1.0) and res["ndcg@10"] == pytest.approx(1.0)
    assert res["users"] == g.num_users
    with pytest.raises(ValueError, match="batch_size"):
        evaluate(score, g, "test", batch_size=0)


def test_evaluate_mixtures_equals_evaluating_each_sum_and_scores_once():
    g = toy_graph()
    gen = torch.Generator().manual_seed(0)
    a_table = torch.randn(g.num_users, g.num_items, generator=gen)
    b_table = torch.randn(g.num_users, g.num_items, generator=gen).numpy()  # a numpy scorer too
    calls = {"a": 0, "b": 0}

    def a(users):
        calls["a"] += 1
        return a_table[users]

    def b(users):
        calls["b"] += 1
        return b_table[users.numpy()]

    mixtures = [[1.0, 0.0], [0.0, 1.0], [1.0, 0.5], [2.0, -1.0]]
    got = evaluate_mixtures([a, b], mixtures, g, "test", batch_size=7)
    batches = -(-g.num_users // 7)
    assert calls == {"a": batches, "b": batches}  # each scorer once per batch, whatever the number of mixtures
    for mix, res in zip(mixtures, got):
        want = evaluate(lambda u, m=mix: m[0] * a_table[u] + m[1] * torch.from_numpy(b_table[u.numpy()]),
                        g, "test", batch_size=7)
        assert res == pytest.approx(want)
    # one batch of every user: a scorer that returns its own stored tensor must not be masked in place
    own = evaluate_mixtures([lambda u: a_table, b], [[1.0, 0.0], [0.5, 0.0]], g, "test", batch_size=g.num_users)
    want = evaluate(lambda u: a_table.clone(), g, "test", batch_size=g.num_users)
    assert own[0] == pytest.approx(want) and a_table.isfinite().all()
    with pytest.raises(ValueError, match="one weight per scorer"):
        evaluate_mixtures([a, b], [[1.0]], g, "test")
    with pytest.raises(ValueError, match="not all 0"):
        evaluate_mixtures([a, b], [[0.0, 0.0]], g, "test")
