import gzip
import json

import numpy as np
import pytest

from kgrec_neo4j.model.data import from_jsonl, sign_from_rating
from kgrec_neo4j.model.toy import toy_graph


def _write(path, rows):
    with gzip.open(path, "wt") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


@pytest.fixture
def small_jsonl(tmp_path):
    items = [{"item_id": f"i{k}", "title": f"Space Shooter {k % 2} Deluxe" if k < 4 else f"Kart Racer {k}",
              "description": [], "features": ["Director: Jane Roe"] if k % 2 else [],
              "categories": ["Action"], "brand": None} for k in range(6)]
    inter = []
    for u in range(3):
        for s, (i, r) in enumerate([(0, 5.0), (1, 1.0), (2, None), (3, 3.0), (4, 4.0), (5 if u != 2 else 0, None)]):
            inter.append({"user_id": f"u{u}", "item_id": f"i{i}", "seq": s, "rating": r, "timestamp": None,
                          "review_title": None, "review_text": None})
    inter.append({"user_id": "u9", "item_id": "i0", "seq": 0, "rating": None, "timestamp": None,
                  "review_title": None, "review_text": None})
    _write(tmp_path / "items.jsonl.gz", items)
    _write(tmp_path / "interactions.jsonl.gz", inter)
    return tmp_path / "items.jsonl.gz", tmp_path / "interactions.jsonl.gz"


def test_signs():
    assert [sign_from_rating(r) for r in (5, 4, 3, 2, 1, None)] == [1, 1, 0, -1, -1, 1]


def test_from_jsonl_split_and_no_leak(small_jsonl):
    g = from_jsonl(*small_jsonl)
    assert g.meta["proxy_concepts"] is True
    assert all(t.startswith("proxy:") for t in g.type_names)
    u0 = g.user_ids.index("u0")
    assert [g.item_ids[i] for i in g.valid[u0]] == ["i4"]  # second-to-last by seq
    assert [g.item_ids[i] for i in g.test[u0]] == ["i5"]
    # u2's last interaction repeats a train item: dropped from test, never leaked
    u2 = g.user_ids.index("u2")
    assert u2 not in g.test
    # a user with < 3 interactions keeps everything in train
    u9 = g.user_ids.index("u9")
    assert u9 not in g.valid and u9 not in g.test and (g.ui_user == u9).sum() == 1
    train = set(zip(g.ui_user.tolist(), g.ui_item.tolist()))
    for split in (g.valid, g.test):
        for u, items in split.items():
            assert all((u, i) not in train for i in items)
    assert set(np.unique(g.ui_sign)) <= {-1, 0, 1} and (g.ui_sign == -1).sum() == 3
    # interests come from train edges only: the held-out item i5's own concepts must not be needed
    assert g.uc_user.size > 0 and set(np.unique(g.uc_polarity)) <= {-1, 1}


def test_from_jsonl_max_users(small_jsonl):
    g = from_jsonl(*small_jsonl, max_users=2, seed=1)
    assert g.num_users == 2
    with pytest.raises(ValueError, match="max_users"):
        from_jsonl(*small_jsonl, max_users=0)


def test_validate_names_bad_index():
    g = toy_graph()
    g.ic_concept[3] = g.num_concepts + 5
    with pytest.raises(ValueError, match=r"ic_concept\[3\].*out of range"):
        g.validate()


def test_validate_shapes_and_leak():
    g = toy_graph()
    g.uc_weight = g.uc_weight[:-1]
    with pytest.raises(ValueError, match="uc edge arrays must have equal length"):
        g.validate()
    g = toy_graph()
    u = 0
    g.test[u] = [int(g.ui_item[g.ui_user == u][0])]
    with pytest.raises(ValueError, match="also a train edge"):
        g.validate()
