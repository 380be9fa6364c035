"""Fold-in equals the trained model when the history equals the train history, for ours and for LightGCN; and a
new interaction changes the folded-in vector the way the model's propagation says."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kgrec_neo4j.model.foldin import (
    FoldIn,
    History,
    ItemHistory,
    export_kgrec,
    export_lightgcn,
    fold_in,
    fold_in_item,
    fold_in_many,
    fold_in_parts,
    train_histories,
    train_item_histories,
    user_features,
)
from kgrec_neo4j.model.toy import toy_graph
from kgrec_neo4j.model.train import TrainConfig, fit


@pytest.fixture(scope="module")
def graph():
    return toy_graph(num_users=60, num_items=40, clusters=4, per_user=6, seed=3)


@pytest.fixture(scope="module")
def ours(graph, one_torch_thread):
    model, _ = fit(graph, TrainConfig(model="kgrec", epochs=3, embedding_dim=16, use_item_graph=False, seed=1))
    return model


@pytest.mark.parametrize("overrides", [{}, {"num_layers": 3}, {"use_negative": False}, {"use_stage1": False},
                                       {"use_concepts": False}, {"use_recency": False}])
def test_ours_fold_in_equals_the_trained_user_vectors(graph, overrides, one_torch_thread):
    cfg = TrainConfig(model="kgrec", epochs=2, embedding_dim=16, use_item_graph=False, seed=2, **overrides)
    model, _ = fit(graph, cfg)
    p, side, ego = export_kgrec(model, graph)
    with torch.no_grad():
        users, _items, _c = model()
    assert (p.recency_decay is not None) == (cfg.use_recency and cfg.use_stage1)
    z = fold_in_many(p, side, train_histories(graph, use_negative=cfg.use_negative, ego=ego,
                                              with_interests=cfg.use_concepts, recency_decay=p.recency_decay))
    np.testing.assert_allclose(z, users.cpu().numpy(), rtol=1e-4, atol=1e-5)


def test_recency_weights_the_latest_items_more(graph, ours):
    p, side, ego = export_kgrec(ours, graph)
    assert p.recency_decay is not None and 0 < p.recency_decay < 1 and p.recency_scale > 0
    h = train_histories(graph, [0], ego=ego, recency_decay=p.recency_decay)[0]
    # (its latest interactions may be dislikes, which count as steps back but are not positive items)
    assert h.positive_recency is not None and h.positive_recency.min() < h.positive_recency.max() <= 1.0
    # an unordered history folds in to another vector: the order reaches the user side
    flat = History(positive=h.positive, negative=h.negative, negative_count=h.negative_count, concepts=h.concepts,
                   groups=h.groups, weights=h.weights, ego=h.ego)
    assert np.abs(fold_in(p, side, h) - fold_in(p, side, flat)).max() > 1e-6
    # the valid item added as the latest: weight 1, the others one step further back
    u = next(u for u, its in graph.valid.items() if its and its[0] not in set(h.positive.tolist()))
    h0 = train_histories(graph, [u], recency_decay=p.recency_decay)[0]
    h1 = train_histories(graph, [u], extra={u: graph.valid[u]}, recency_decay=p.recency_decay)[0]
    new = int(np.searchsorted(h1.positive, graph.valid[u][0]))
    assert h1.positive_recency[new] == 1.0
    np.testing.assert_allclose(np.delete(h1.positive_recency, new), h0.positive_recency * p.recency_decay, rtol=1e-6)


def test_params_survive_json(graph, ours):
    p, side, ego = export_kgrec(ours, graph)
    q = FoldIn.from_json(p.to_json())
    assert q.recency_decay == p.recency_decay and q.recency_scale == pytest.approx(p.recency_scale)
    hs = train_histories(graph, ego=ego, recency_decay=p.recency_decay)
    np.testing.assert_allclose(fold_in_many(q, side, hs), fold_in_many(p, side, hs), rtol=1e-5, atol=1e-6)


def test_lightgcn_fold_in_equals_the_trained_user_vectors(graph, one_torch_thread):
    model, _ = fit(graph, TrainConfig(model="lightgcn", epochs=2, embedding_dim=16, num_layers=3, seed=2))
    p, side, ego = export_lightgcn(model, graph)
    with torch.no_grad():
        users, _ = model()
    # LightGCN treats every interaction as positive
    hs = train_histories(graph, use_negative=False, with_interests=False, ego=ego)
    np.testing.assert_allclose(fold_in_many(p, side, hs), users.cpu().numpy(), rtol=1e-4, atol=1e-5)


def test_a_new_interaction_moves_the_user_towards_the_item(graph, ours):
    p, side, ego = export_kgrec(ours, graph)
    with torch.no_grad():
        _, items, _ = ours()
    items = items.cpu().numpy()
    h = train_histories(graph, [0], ego=ego)[0]
    target = next(i for i in range(graph.num_items) if i not in set(h.positive.tolist()))
    before = fold_in(p, side, h) @ items[target]
    h2 = History(positive=np.union1d(h.positive, [target]), negative=h.negative, negative_count=h.negative_count,
                 concepts=h.concepts, groups=h.groups, weights=h.weights, ego=h.ego)
    after = fold_in(p, side, h2) @ items[target]
    assert after > before


def test_a_new_user_gets_a_vector_from_a_few_items(graph, ours):
    p, side, _ = export_kgrec(ours, graph)
    z = fold_in(p, side, History(positive=np.array([0, 1, 2])))
    assert z.shape == (16,) and np.isfinite(z).all() and np.abs(z).sum() > 0
    assert np.abs(fold_in(p, side, History(positive=np.empty(0, np.int64)))).sum() == 0.0


@pytest.mark.parametrize("overrides", [{}, {"num_layers": 3}, {"use_negative": False}, {"use_stage1": False},
                                       {"use_concepts": False}])
def test_ours_item_fold_in_equals_the_trained_item_vectors(graph, overrides, one_torch_thread):
    cfg = TrainConfig(model="kgrec", epochs=2, embedding_dim=16, use_item_graph=False, seed=4, **overrides)
    model, _ = fit(graph, cfg)
    p, side, ego = export_kgrec(model, graph)
    with torch.no_grad():
        _users, items, _c = model()
    users = train_histories(graph, use_negative=cfg.use_negative, ego=ego, with_interests=cfg.use_concepts,
                            recency_decay=p.recency_decay)
    hs = train_item_histories(p, side, graph, users, use_negative=cfg.use_negative, with_concepts=cfg.use_concepts)
    folded = [fold_in_item(p, side, h) for h in hs]
    np.testing.assert_allclose(np.stack([z for z, _, _ in folded]), items.cpu().numpy(), rtol=1e-4, atol=1e-5)
    # what a user's fold-in reads of an item (its layers and stage-1 vector) is what training exported
    np.testing.assert_allclose(np.stack([ls for _, ls, _ in folded], 1), side.layers, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.stack([x1 for _, _, x1 in folded]), side.x1, rtol=1e-4, atol=1e-5)


def test_a_new_item_folds_in_from_its_concepts_and_first_users(graph, ours):
    p, side, ego = export_kgrec(ours, graph)
    q = FoldIn.from_json(p.to_json())
    assert q.type_names == p.type_names and set(q.item_relations) == set(p.item_relations)
    c = np.flatnonzero(graph.ic_item == 0)
    new = ItemHistory(concepts=graph.ic_concept[c], types=graph.ic_type[c], weights=graph.ic_weight[c])
    z, layers, x1 = fold_in_item(q, side, new)
    assert np.abs(z).sum() > 0 and not layers[0].any()  # no ego: h^0 = 0
    # the same concepts as item 0 and no interactions: closer to item 0 than to an item without shared concepts
    with torch.no_grad():
        _, items, _ = ours()
    items = items.cpu().numpy()
    shares = {int(i) for i in graph.ic_item[np.isin(graph.ic_concept, graph.ic_concept[c])]}
    other = next(i for i in range(graph.num_items) if i not in shares)
    cos = lambda a, b: float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))  # noqa: E731
    assert cos(z, items[0]) > cos(z, items[other])
    # a first like from a user moves the item towards that user
    users = train_histories(graph, ego=ego, recency_decay=q.recency_decay)
    u0 = user_features(q, side, users[0])
    z2, _, _ = fold_in_item(q, side, ItemHistory(concepts=new.concepts, types=new.types, weights=new.weights,
                                                  positive=[u0]))
    user0 = fold_in(q, side, users[0])
    assert z2 @ user0 > z @ user0
    # nothing known: a zero vector
    z0, _, _ = fold_in_item(q, side, ItemHistory())
    assert not z0.any()


# -- fold-in split into one part per neighbour ---------------------------------------------------------------------

@pytest.mark.parametrize("overrides", [{}, {"num_layers": 3}, {"use_negative": False}, {"use_stage1": False},
                                       {"use_concepts": False}, {"use_recency": False}])
def test_parts_sum_to_the_folded_in_vector(graph, overrides, one_torch_thread):
    cfg = TrainConfig(model="kgrec", epochs=1, embedding_dim=16, use_item_graph=False, seed=4, **overrides)
    model, _ = fit(graph, cfg)
    p, side, ego = export_kgrec(model, graph)
    hs = train_histories(graph, use_negative=cfg.use_negative, ego=ego, with_interests=cfg.use_concepts,
                          recency_decay=p.recency_decay)
    # a new user (no ego), a user with interests only, and one with an item both liked and disliked
    h0 = hs[0]
    hs += [History(positive=h0.positive, negative=h0.negative, negative_count=h0.negative_count,
                   concepts=h0.concepts, groups=h0.groups, weights=h0.weights),
           History(positive=np.empty(0, np.int64), concepts=h0.concepts, groups=h0.groups, weights=h0.weights),
           History(positive=np.array([1, 2, 3]), negative=np.array([3, 5]), negative_count=np.array([2.0, 1.0],
                   np.float32), ego=ego[1])]
    for h in hs:
        parts = fold_in_parts(p, side, h)
        np.testing.assert_allclose(parts.total(), fold_in(p, side, h), rtol=1e-4, atol=1e-5)
        assert parts.items.tolist() == sorted(set(h.positive.tolist()) | set(h.negative.tolist()))
        assert parts.concepts.tolist() == sorted(set(h.concepts.tolist()))
    # the parts are not trivially the whole vector: a user with several items spreads it over them
    parts = fold_in_parts(p, side, hs[0])
    assert parts.items.size >= 2 and (np.abs(parts.item_parts).sum(1) > 0).sum() >= 2


def test_lightgcn_parts_sum_to_the_folded_in_vector(graph, one_torch_thread):
    model, _ = fit(graph, TrainConfig(model="lightgcn", epochs=1, embedding_dim=16, num_layers=2, seed=2))
    p, side, ego = export_lightgcn(model, graph)
    for h in train_histories(graph, use_negative=False, with_interests=False, ego=ego)[:10]:
        parts = fold_in_parts(p, side, h)
        np.testing.assert_allclose(parts.total(), fold_in(p, side, h), rtol=1e-4, atol=1e-5)
        assert parts.concepts.size == 0


def test_split_foldin_of_no_items():
    """A fold-in batch whose new items reach no user with a history reads no item rows: the split is empty, not an
    error (a 150-user sample's update failed here)."""
    import numpy as np

    from kgrec_neo4j.model.foldin import FoldIn, split_foldin

    p = FoldIn(dim=4, ui_layers=2)
    for rows in (np.zeros((0, 12), np.float32), []):
        layers, x1 = split_foldin(p, rows)
        assert layers.shape == (2, 0, 4) and x1.shape == (0, 4)
    layers, x1 = split_foldin(p, np.arange(24, dtype=np.float32).reshape(2, 12))
    assert layers.shape == (2, 2, 4) and x1.shape == (2, 4) and x1[1, 0] == 20.0
