"""CUDA: models train on the GPU, the closed-form parts invert there, and what leaves the GPU (weights, fold-in
parameters, scores) matches the CPU. Skipped where no CUDA device is available (CI has none); on a machine with
one: ``python -m pytest tests/test_cuda.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kgrec_neo4j.model.foldin import export_kgrec, export_lightgcn, fold_in_many, train_histories
from kgrec_neo4j.model.itemgraph import ItemGraph, closed_form_weights
from kgrec_neo4j.model.toy import toy_graph
from kgrec_neo4j.model.train import TrainConfig, fit, fit_closed_form, resolve_device

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.fixture(scope="module")
def graph():
    return toy_graph(num_users=80, num_items=48, seed=1)


def test_auto_picks_cuda():
    assert resolve_device("auto").type == "cuda" and resolve_device("cpu").type == "cpu"


def test_closed_form_weights_invert_on_cuda_as_on_the_cpu():
    x = (np.random.default_rng(0).random((400, 150)) < 0.08).astype(np.float32)
    gram = x.T @ x
    on_cpu = closed_form_weights(torch.from_numpy(gram.copy()), 5.0)
    on_gpu = closed_form_weights(torch.from_numpy(gram.copy()), 5.0, "cuda")
    assert on_gpu.device.type == "cpu"
    torch.testing.assert_close(on_gpu, on_cpu, rtol=1e-3, atol=1e-5)


def test_ease_and_item_graph_fit_on_cuda_as_on_the_cpu(graph):
    gpu, rep = fit_closed_form(graph, "ease", [{"lam": 5.0}], device="cuda")
    cpu, rep_cpu = fit_closed_form(graph, "ease", [{"lam": 5.0}], device="cpu")
    assert rep.device.startswith("cuda") and rep_cpu.device == "cpu"
    torch.testing.assert_close(gpu.b, cpu.b, rtol=1e-3, atol=1e-5)
    ig_gpu = ItemGraph(lam=5.0, concept_weight=2.0, dislike_value=-0.5, top_k=10).fit(graph, "cuda")
    ig_cpu = ItemGraph(lam=5.0, concept_weight=2.0, dislike_value=-0.5, top_k=10).fit(graph, "cpu")
    users = torch.arange(graph.num_users)
    torch.testing.assert_close(ig_gpu.score(users), ig_cpu.score(users), rtol=1e-3, atol=1e-4)


def test_ours_trains_on_cuda_and_folds_in_on_the_cpu(graph):
    cfg = TrainConfig(model="kgrec", embedding_dim=16, epochs=6, batch_size=64, lr=0.03, patience=15,
                      valid_sample=None, max_neighbors=4, device="cuda", seed=1)
    model, rep = fit(graph, cfg)
    assert rep.device.startswith("cuda") and next(model.parameters()).is_cuda
    _, rep_cpu = fit(graph, cfg.model_copy(update={"device": "cpu"}))
    # the same stage-1 item graph is chosen on either device; the GNN learns as well on either
    assert rep.parts is not None and rep_cpu.parts is not None
    assert rep.parts["item_graph"]["params"] == rep_cpu.parts["item_graph"]["params"]
    assert rep.valid["ndcg@10"] > 0.5 * rep_cpu.valid["ndcg@10"]
    # fold-in (numpy, CPU) of the train history reproduces the vectors the GPU trained
    p, side, ego = export_kgrec(model, graph)
    with torch.no_grad():
        users, _items, _c = model()
    z = fold_in_many(p, side, train_histories(graph, ego=ego, recency_decay=p.recency_decay))
    np.testing.assert_allclose(z, users.cpu().numpy(), rtol=1e-4, atol=1e-5)


def test_lightgcn_trains_on_cuda_and_folds_in_on_the_cpu(graph):
    model, rep = fit(graph, TrainConfig(model="lightgcn", epochs=3, embedding_dim=16, num_layers=3, seed=2,
                                        valid_sample=None, device="cuda"))
    assert rep.device.startswith("cuda")
    p, side, _ego = export_lightgcn(model, graph)
    with torch.no_grad():
        users, _items = model()
    hs = train_histories(graph, use_negative=False, with_interests=False, ego=_ego)
    np.testing.assert_allclose(fold_in_many(p, side, hs), users.cpu().numpy(), rtol=1e-4, atol=1e-5)
