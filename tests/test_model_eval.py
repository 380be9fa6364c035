import math

import numpy as np
import pytest
import torch

from kgrec_neo4j.model.evaluate import evaluate, ranking_metrics
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
