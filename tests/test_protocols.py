"""The two evaluation protocols: the history-up-to-the-target graph, and fold-in scorers that equal their
closed forms (EASE, the item graph) and the model's own propagation (ours, LightGCN)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from _bench import load_bench

from kgrec_neo4j.model.baselines import EASE
from kgrec_neo4j.model.evaluate import evaluate
from kgrec_neo4j.model.protocols import foldin_scorer, refit_overrides, with_valid_in_history
from kgrec_neo4j.model.toy import toy_graph
from kgrec_neo4j.model.train import TrainConfig, fit, fit_closed_form, resolve_device


@pytest.fixture(scope="module")
def graphs():
    tg = toy_graph(num_users=80, num_items=48, clusters=4, per_user=6, seed=5)
    return tg, with_valid_in_history(tg)


def test_valid_items_become_history(graphs):
    tg, tb = graphs
    tb.validate()
    assert tb.valid == {} and tb.test == tg.test
    assert tb.ui_user.size == tg.ui_user.size + sum(len(v) for v in tg.valid.values())
    x = tb.train_matrix()
    for u, items in tg.valid.items():
        assert all(x[u, i] for i in items)
    # each user's rows stay together, train first
    assert (np.diff(tb.ui_user) >= 0).all()


def test_valid_items_join_the_history_with_their_sign():
    """Every valid interaction joined the history as a like, a 1-star rating included; it now has its edge's sign."""
    tg = toy_graph(num_users=40, num_items=48, seed=3)
    users = sorted(tg.valid)
    tg.meta["valid_sign"] = {u: [(-1, 0, 1)[k % 3]] * len(tg.valid[u]) for k, u in enumerate(users)}
    want = {(u, i): s for u in users for i, s in zip(tg.valid[u], tg.meta["valid_sign"][u])}
    tb = with_valid_in_history(tg)
    got = {(int(u), int(i)): int(s) for u, i, s in zip(tb.ui_user, tb.ui_item, tb.ui_sign) if (int(u), int(i)) in want}
    assert got == want and {-1, 0, 1} <= set(want.values())
    # a graph whose export kept no signs adds likes, as before
    tg.meta.pop("valid_sign")
    tb = with_valid_in_history(tg)
    assert {int(s) for u, i, s in zip(tb.ui_user, tb.ui_item, tb.ui_sign) if (int(u), int(i)) in want} == {1}


def test_the_longer_history_keeps_the_items_text():
    tg = toy_graph(num_users=40, num_items=48, seed=2)
    tg.item_text = np.eye(48, 4, dtype=np.float32)
    assert with_valid_in_history(tg).item_text is tg.item_text


def test_ease_fold_in_is_the_closed_form_on_the_longer_history(graphs):
    tg, tb = graphs
    rec = EASE(lam=5.0).fit(tg)
    fn = foldin_scorer(rec, tg, tb)
    users = torch.arange(10)
    want = tb.train_matrix(binary=True).tocsr()[:10] @ rec.b.numpy()
    np.testing.assert_allclose(fn(users).numpy(), want, rtol=1e-5, atol=1e-5)


def test_history_up_to_the_target_helps_on_clustered_data(graphs):
    tg, tb = graphs
    rec, rep = fit_closed_form(tg, "ease", [{"lam": 5.0}], num_threads=1)
    b = evaluate(foldin_scorer(rec, tg, tb), tb, "test")
    assert b["users"] == rep.test["users"] and b["ndcg@10"] >= rep.test["ndcg@10"]


@pytest.mark.parametrize("model", ["kgrec", "lightgcn"])
def test_model_fold_in_with_no_new_item_equals_the_trained_scores(graphs, model, one_torch_thread):
    """Folding in the train history reproduces the model's own scores (the protocols differ only by the
    history)."""
    tg, _ = graphs
    obj, _ = fit(tg, TrainConfig(model=model, epochs=2, embedding_dim=8, seed=0, use_item_graph=False))
    fn = foldin_scorer(obj, tg, tg)
    users = torch.arange(tg.num_users)
    with torch.no_grad():
        u, i = obj()[:2]
    np.testing.assert_allclose(fn(users).cpu().numpy(), (u @ i.T).cpu().numpy(), rtol=1e-4, atol=1e-4)


def test_ours_fold_in_includes_the_item_graph(graphs, one_torch_thread):
    tg, tb = graphs
    obj, rep = fit(tg, TrainConfig(model="kgrec", epochs=2, embedding_dim=8, seed=0,
                                   item_graph_lambdas=[5.0], item_graph_weights=[1.0]))
    assert obj.item_graph is not None and obj.item_graph_weight > 0
    fn = foldin_scorer(obj, tg, tg)
    users = torch.arange(12)
    with torch.no_grad():
        want = obj.score(users).cpu().numpy()
    np.testing.assert_allclose(fn(users).cpu().numpy(), want, rtol=1e-4, atol=1e-4)
    cfg = refit_overrides(rep)
    assert cfg["epochs"] == rep.best_epoch and cfg["item_graph_weights"] == [rep.parts["item_graph"]["multiplier"]]
    assert cfg["item_graph_text_priors"] == [rep.parts["item_graph"]["params"].get("text_prior", 0.0)]
    refit, rep_b = fit(tb, TrainConfig(**cfg))
    assert rep_b.epochs == rep.best_epoch and rep_b.test["users"] == rep.test["users"]


def test_mf_has_no_fold_in(graphs, one_torch_thread):
    tg, tb = graphs
    obj, _ = fit(tg, TrainConfig(model="mf", epochs=1, embedding_dim=8, seed=0))
    assert foldin_scorer(obj, tg, tb) is None


def test_bench_grids_and_settings_reach_the_models(graphs, one_torch_thread):
    pb = load_bench("protocols")
    sets = pb.parse_sets(["ours:lr=0.001", "ours:embedding_dim=32", "ours-no-item-graph:lr=0.002",
                          "lightgcn:num_layers=1"])
    ours = pb.train_config("ours", 1, 5, 1, [10.0], sets)
    ablated = pb.train_config("ours-no-item-graph", 1, 5, 1, [10.0], sets)
    lgcn = pb.train_config("lightgcn", 1, 5, 1, [10.0], sets)
    assert (ours.model, ours.lr, ours.embedding_dim, ours.item_graph_lambdas, ours.use_item_graph) == \
        ("kgrec", 0.001, 32, [10.0], True)
    assert (ablated.lr, ablated.embedding_dim, ablated.use_item_graph) == (0.002, 32, False)
    assert (lgcn.model, lgcn.num_layers, lgcn.lr, lgcn.embedding_dim) == ("lightgcn", 1, 5e-3, 64)
    assert pb.closed_grids([10.0, 20.0])["ease"] == [{"lam": 10.0}, {"lam": 20.0}]
    # the grids given are the ones chosen from, end to end (fit, fold-in, refit)
    tg, tb = graphs
    assert pb.one(tg, tb, "ease", 0, 1, 1, pb.closed_grids([7.0]))["chosen"] == {"lam": 7.0}
    rec = pb.one(tg, tb, "ease-recency", 0, 1, 1, pb.closed_grids([3.0]))["chosen"]
    assert rec["lam"] == 3.0 and rec["decay"] in pb.DEFAULT_DECAYS
    row = pb.one(tg, tb, "ours", 0, 2, 1, item_graph_lambdas=[7.0], sets=pb.parse_sets(["ours:embedding_dim=16"]))
    assert row["chosen"]["lam"] == 7.0 and row["b_foldin"] is not None and row["b_refit"] is not None
    assert 0 < row["valid"] <= 1  # the valid NDCG@10 the run selected on, next to its test numbers
    fold_only = pb.one(tg, tb, "ease", 0, 1, 1, pb.closed_grids([7.0]), refit=False)
    assert fold_only["b_refit"] is None and fold_only["b_foldin"] is not None and fold_only["device"] == str(resolve_device())


def test_ours_batch_bench_trains_each_variant_with_its_settings(tmp_path, one_torch_thread):
    ob = load_bench("ours_batch")
    out = tmp_path / "rows.json"
    rows = ob.main([str(Path(__file__).parent / "data" / "vg-slice"), "batch_size=64,lr=0.01,embedding_dim=8",
                    "batch_size=16,lr=0.002,embedding_dim=8", "--epochs", "1", "--item-graph-lambda", "5",
                    "--json", str(out)])
    assert [r["variant"] for r in rows] == ["batch_size=64,lr=0.01,embedding_dim=8", "batch_size=16,lr=0.002,embedding_dim=8"]
    assert all(r["epochs"] == 1 and 0 <= r["test_ndcg10"] <= 1 for r in rows)
    assert [(r["batch_size"], r["lr"]) for r in rows] == [(64, 0.01), (16, 0.002)]  # each variant's own settings
    assert json.loads(out.read_text()) == rows


def test_itemgraph_grid_bench_scores_every_point(tmp_path, one_torch_thread):
    ig = load_bench("itemgraph_grid")
    out = tmp_path / "rows.json"
    rows = ig.main(["--data", str(Path(__file__).parent / "data" / "vg-slice"), "--lambdas", "5,50",
                    "--concept-weights", "0,2", "--decays", "1,0.8", "--test-decays", "0.8", "--json", str(out)])
    assert [(r["lam"], r["concept_weight"], r["decay"]) for r in rows] == [
        (lam, cw, d) for lam in (5.0, 50.0) for cw in (0.0, 2.0) for d in (1.0, 0.8)]
    assert all(0 <= r["valid_ndcg10"] <= 1 for r in rows)
    assert [("test_ndcg10" in r) for r in rows] == [False, True] * 4
    assert len({r["valid_ndcg10"] for r in rows}) > 1  # the points differ
    assert json.loads(out.read_text()) == rows


def test_itemgraph_prior_bench_solves_the_regularised_problem(tmp_path, one_torch_thread):
    ip = load_bench("itemgraph_prior")
    rng = np.random.default_rng(3)
    x = (rng.random((40, 12)) < 0.3).astype(np.float32)
    gram = x.T @ x
    wf = rng.normal(size=(12, 12)).astype(np.float32)
    np.fill_diagonal(wf, 0.0)
    lam, mu = 3.0, 2.0
    w = ip.with_prior(gram, lam, mu, wf)
    assert np.allclose(np.diag(w), 0.0)
    # stationarity off the diagonal: (G + (λ + μ)I) W − G − μ W_f has only a diagonal (the constraint's multipliers)
    r = (gram + (lam + mu) * np.eye(12)) @ w - gram - mu * wf
    assert np.abs(r - np.diag(np.diag(r))).max() < 1e-3
    from kgrec_neo4j.model.itemgraph import closed_form_weights
    plain = closed_form_weights(torch.from_numpy(gram.copy()), lam).numpy()
    assert np.allclose(ip.with_prior(gram, lam, 0.0, None), plain, atol=1e-5)  # μ 0: the plain item graph
    rows = ip.main([str(Path(__file__).parent / "data" / "vg-slice"), "--lam", "5", "--mus", "0,2", "--json",
                    str(tmp_path / "rows.json")])
    assert [r["mu"] for r in rows] == [0.0, 2.0] and all(0 <= r["test_ndcg10"] <= 1 for r in rows)


def test_transitions_served_bench_shares_one_gnn_per_seed(tmp_path, one_torch_thread, monkeypatch):
    ts = load_bench("transitions_served")
    fits, ig_cfgs, attached, fitted = [], [], [], []
    real_fit, real_fig, real_attach = ts.fit, ts.fit_item_graph, ts.attach_item_graph

    def count_fit(graph, cfg):
        fits.append(cfg)
        return real_fit(graph, cfg)

    def record_fig(graph, cfg, users):
        ig_cfgs.append(cfg)
        out = real_fig(graph, cfg, users)
        fitted.append(out[0])
        return out

    def record_attach(model, ig, *a, **k):
        attached.append(ig)
        return real_attach(model, ig, *a, **k)

    monkeypatch.setattr(ts, "fit", count_fit)
    monkeypatch.setattr(ts, "fit_item_graph", record_fig)
    monkeypatch.setattr(ts, "attach_item_graph", record_attach)
    out = tmp_path / "rows.json"
    rows = ts.main([str(Path(__file__).parent / "data" / "vg-slice"), "--seeds", "0", "1", "--epochs", "1",
                    "--betas", "1", "--ease-lambdas", "5,20", "--item-graph-lambdas", "5", "--json", str(out),
                    "--set", "ours:bpr_on_dislikes=true", "--set", "ours:patience=3"])
    assert [r["model"] for r in rows] == ["ease", "ease-recency", "item graph", "seq-ease", "item graph + transitions"] + \
        ["GNN part", "ours", "ours + transitions"] * 2
    # one GNN per seed, trained without the item graph but with the batch ours gets with it
    assert [c.seed for c in fits] == [0, 1] and not any(c.use_item_graph for c in fits)
    assert all(c.bpr_on_dislikes and c.patience == 3 for c in fits)  # --set ours:... reaches the GNN, over defaults
    graph = ts.from_jsonl(*ts.dataset_paths(Path(__file__).parent / "data" / "vg-slice"))
    assert all((c.batch_size, c.lr) == ts.served_batch(graph, c) for c in fits)
    # the three item graphs: ours' grid; seq-ease without concepts, on the EASE λ grid, with the transitions; and
    # the transitions tried on ours' best point
    ours_cfg, seq_cfg, tr_cfg = ig_cfgs
    assert ours_cfg.item_graph_transitions == [] and ours_cfg.item_graph_concept_weights == [0.0, 2.0]
    assert seq_cfg.item_graph_concept_weights == [0.0] and seq_cfg.item_graph_lambdas == [5.0, 20.0]
    assert seq_cfg.item_graph_transitions == [1.0] and tr_cfg.item_graph_transitions == [1.0]
    assert (tr_cfg.item_graph_lambdas, tr_cfg.item_graph_concept_weights) == \
        ([fitted[0].lam], [fitted[0].concept_weight])
    # each seed's model gets ours' item graph, then the one with the transitions tried
    assert attached == [fitted[0], fitted[2]] * 2
    assert all(0 <= r[k] <= 1 for r in rows for k in ("a", "b", "a_recall20", "b_recall20"))
    assert json.loads(out.read_text()) == rows


def test_transitions_served_bench_refuses_sets_it_cannot_honour():
    ts = load_bench("transitions_served")
    with pytest.raises(SystemExit, match="only ours:KEY=VALUE"):
        ts.main([str(Path(__file__).parent / "data" / "vg-slice"), "--set", "lightgcn:lr=0.1"])
    with pytest.raises(SystemExit, match="the bench sets it for each seed"):  # would be overwritten silently
        ts.main([str(Path(__file__).parent / "data" / "vg-slice"), "--set", "ours:seed=5"])
    # one source: a jsonl dataset or the database's train graph, never both or neither
    with pytest.raises(SystemExit, match="either DATA"):
        ts.main([str(Path(__file__).parent / "data" / "vg-slice"), "--neo4j"])
    with pytest.raises(SystemExit, match="either DATA"):
        ts.main(["--seeds", "0"])


def test_item_graph_scorer_of_the_bench_is_the_fold_in_of_the_item_graph(graphs):
    from kgrec_neo4j.model.itemgraph import ItemGraph

    ts = load_bench("transitions_served")
    tg, tb = graphs
    ig = ItemGraph(lam=5.0, concept_weight=1.0, transitions=1.0).fit(tg).with_decay(0.8)
    users = torch.arange(10)
    # on the train graph it is the item graph's own score; with the valid item in the history it differs
    assert torch.allclose(ts.item_graph_scorer(ig, tg)(users), ig.score(users), atol=1e-5)
    assert not torch.allclose(ts.item_graph_scorer(ig, tb)(users), ig.score(users), atol=1e-5)
