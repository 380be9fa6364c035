import numpy as np
import pytest
import torch

from kgrec_neo4j.model.evaluate import evaluate
from kgrec_neo4j.model.toy import toy_graph
from kgrec_neo4j.model.train import TrainConfig, auto_batch_size, fit, fit_closed_form

pytestmark = pytest.mark.usefixtures("one_torch_thread")



@pytest.fixture(scope="module")
def graph():
    return toy_graph(num_users=80, num_items=48, seed=1)


def _random_ndcg(graph):
    gen = torch.Generator().manual_seed(0)
    return evaluate(lambda u: torch.rand(u.numel(), graph.num_items, generator=gen), graph, "valid")["ndcg@10"]


def test_ours_beats_random_and_is_deterministic(graph):
    cfg = TrainConfig(model="kgrec", embedding_dim=16, epochs=6, batch_size=64, lr=0.03, patience=15,
                      valid_sample=None, max_neighbors=4, num_threads=1)
    model, rep = fit(graph, cfg)
    assert rep.valid["ndcg@10"] > _random_ndcg(graph) + 0.1
    assert rep.epochs >= 1 and rep.epoch_seconds > 0 and rep.peak_rss_mb > 0
    _, rep2 = fit(graph, cfg)
    assert rep2.valid == rep.valid
    assert "rev_dislikes" in model.edge_attention()


@pytest.mark.parametrize("name", ["mf", "lightgcn"])
def test_trainable_baselines_run(graph, name):
    _, rep = fit(graph, TrainConfig(model=name, embedding_dim=16, epochs=10, batch_size=64, lr=0.02,
                                    patience=10, valid_sample=None, num_threads=1))
    assert rep.valid["ndcg@10"] > _random_ndcg(graph)


@pytest.mark.parametrize("name,grid", [("pop", None), ("itemknn", [{"k": 10}]), ("ease", [{"lam": 1.0}, {"lam": 50.0}])])
def test_closed_form_baselines_run(graph, name, grid):
    rec, rep = fit_closed_form(graph, name, grid, num_threads=1)
    assert 0.0 <= rep.test["ndcg@10"] <= 1.0
    if name != "pop":
        assert rep.valid["ndcg@10"] > _random_ndcg(graph)
    if name == "ease":
        assert len(rep.history) == 2 and rep.config["lam"] in (1.0, 50.0)


def test_ablation_names(graph):
    _, rep = fit(graph, TrainConfig(model="kgrec", embedding_dim=8, epochs=1, batch_size=256,
                                    use_concepts=False, use_negative=False, valid_sample=None, num_threads=1))
    assert rep.model == "kgrec-no-concepts-no-negative"


def test_auto_batch_size_bounds_ours_steps_per_epoch_and_scales_the_learning_rate():
    ours, lgcn = TrainConfig(model="kgrec", lr=0.005), TrainConfig(model="lightgcn", lr=0.005)
    assert auto_batch_size(ours, 80_000) == (4096, 0.005)  # MovieLens-sized: 20 steps of the base batch
    batch, lr = auto_batch_size(ours, 345_000)  # full Video Games: 85 steps of 4,096
    assert batch == 16384 and -(-345_000 // batch) <= 32 and lr == pytest.approx(0.01)
    assert auto_batch_size(lgcn, 345_000) == (4096, 0.005)  # the baselines keep the base batch
    assert auto_batch_size(TrainConfig(model="kgrec", batch_size=512, lr=0.02), 345_000) == (512, 0.02)
    assert auto_batch_size(ours, 10_000_000)[0] == 16384  # capped at the largest batch measured
    for ablation in ({"use_item_graph": False}, {"use_stage1": False}):  # the GNN alone keeps the base batch
        assert auto_batch_size(TrainConfig(model="kgrec", lr=0.005, **ablation), 345_000) == (4096, 0.005)


def test_the_report_records_the_batch_size_and_learning_rate_used(graph):
    _, rep = fit(graph, TrainConfig(model="kgrec", epochs=1, embedding_dim=8, use_item_graph=False))
    assert (rep.config["batch_size"], rep.config["lr"]) == (4096, 0.005)  # a toy graph: the base batch


def test_valid_sample_is_a_sorted_subset_or_everyone():
    from kgrec_neo4j.model.train import valid_sample

    g = toy_graph(num_users=60, num_items=48, seed=2)
    n = len(g.valid)
    assert valid_sample(g, None, np.random.default_rng(0)) is None and valid_sample(g, n, np.random.default_rng(0)) is None
    a = valid_sample(g, n - 5, np.random.default_rng(7))
    assert a is not None and len(a) == n - 5 and np.all(np.diff(a) > 0) and set(a.tolist()) <= set(g.valid)
    assert np.array_equal(a, valid_sample(g, n - 5, np.random.default_rng(7)))  # a seed gives the run's sample


def test_fit_selects_on_the_valid_sample_a_seed_gives():
    from kgrec_neo4j.model.itemgraph import ItemGraph
    from kgrec_neo4j.model.train import valid_sample

    g = toy_graph(num_users=80, num_items=48, seed=1)
    n = len(g.valid) - 20
    cfg = TrainConfig(model="kgrec", embedding_dim=8, epochs=1, batch_size=256, valid_sample=n, num_threads=1, seed=3,
                      item_graph_lambdas=[5.0], item_graph_concept_weights=[0.0], recency_decays=[0.8],
                      item_graph_transitions=[])
    _, rep = fit(g, cfg)
    chosen = [h for h in rep.history if "item_graph_lambda" in h]
    ig = ItemGraph(5.0, 0.0, cfg.item_graph_dislike_value, cfg.item_graph_top_k).fit(g).with_decay(0.8)
    on_sample = evaluate(ig.score, g, "valid", users=valid_sample(g, n, np.random.default_rng(3)))["ndcg@10"]
    assert len(chosen) == 1 and chosen[0]["ndcg@10"] == pytest.approx(on_sample)
    assert on_sample != pytest.approx(evaluate(ig.score, g, "valid")["ndcg@10"])  # the sample is not every user


def test_an_offset_is_part_of_the_loss_the_valid_ranking_and_the_report(graph):
    """``fit(offset=...)`` trains a residual: the fixed score enters the BPR margins (a large margin on every train
    positive leaves almost no loss), the valid ranking and the report (an offset that puts each user's valid item
    first gives NDCG@10 1)."""
    cfg = TrainConfig(model="kgrec", embedding_dim=8, epochs=2, batch_size=64, lr=0.03, patience=5, valid_sample=None,
                      max_neighbors=4, num_threads=1, use_item_graph=False)
    _, plain = fit(graph, cfg)
    margin = torch.zeros(graph.num_users, graph.num_items)
    margin[torch.from_numpy(graph.ui_user), torch.from_numpy(graph.ui_item)] = 30.0
    _, res = fit(graph, cfg, offset=margin)
    assert res.history[0]["loss"] < 0.5 * plain.history[0]["loss"], (res.history[0], plain.history[0])
    oracle = torch.zeros(graph.num_users, graph.num_items)
    for u, items in graph.valid.items():
        oracle[u, list(items)] = 1e4
    _, best = fit(graph, cfg, offset=oracle)
    assert best.valid["ndcg@10"] == pytest.approx(1.0) and plain.valid["ndcg@10"] < 0.9
    assert all(h["ndcg@10"] == pytest.approx(1.0) for h in best.history if "ndcg@10" in h)
    with pytest.raises(ValueError, match="shape"):
        fit(graph, cfg, offset=torch.zeros(2, 2))
    with pytest.raises(ValueError, match="item graph"):
        fit(graph, cfg.model_copy(update={"use_item_graph": True}), offset=oracle)


def test_epoch_progress_names_what_its_metrics_score():
    """`kgrec train --progress` printed "kgrec epoch 5: loss=…, ndcg@10=0.03998" and then "valid: … ndcg@10=0.0709":
    the epoch lines are valid metrics of ours' GNN part alone on the valid sample, and said neither."""
    from kgrec_neo4j.model.train import epoch_line

    row = {"epoch": 5, "loss": 0.25, "seconds": 1.5, "ndcg@10": 0.03998, "recall@20": 0.1}
    assert epoch_line("kgrec", row, 2000) == ("  kgrec epoch 5: loss=0.25, seconds=1.5; valid (2000 users, the GNN "
                                             "part alone): ndcg@10=0.03998, recall@20=0.1")
    assert epoch_line("lightgcn", row, 30) == ("  lightgcn epoch 5: loss=0.25, seconds=1.5; valid (30 users): "
                                               "ndcg@10=0.03998, recall@20=0.1")
    assert epoch_line("kgrec", {"epoch": 1, "loss": 0.5, "seconds": 2.0}, 0) == "  kgrec epoch 1: loss=0.5, seconds=2"
    # ours without an item graph (nor an offset): the GNN is the whole model, not a part
    assert "GNN part" not in epoch_line("kgrec", row, 30, part=False)


def test_evaluation_ranks_each_users_own_datasets_items_only():
    """An export over two datasets ranked every item of both for every user: a model that scores the other dataset's
    items highest lost every hit. With the datasets in the export, a user is ranked against their own dataset's
    items, as serving ranks them."""
    tg = toy_graph(num_users=60, num_items=48, seed=4)
    item_ds = np.arange(tg.num_items) % 2  # two datasets
    user_ds = np.array([item_ds[tg.test[u][0]] if u in tg.test else 0 for u in range(tg.num_users)])
    rng = np.random.default_rng(0)
    base = torch.from_numpy(rng.normal(size=(tg.num_users, tg.num_items)).astype(np.float32))
    for u, items in tg.test.items():
        base[u, items] += 3.0  # a model that finds the test item among its own dataset's items

    def boosted(users):  # and scores the other dataset's items highest of all
        s = base[users].clone()
        other = torch.from_numpy(item_ds)[None, :] != torch.from_numpy(user_ds[users.numpy()])[:, None]
        return s + 100.0 * other

    mixed_up = evaluate(boosted, tg, "test")["ndcg@10"]
    tg.meta["user_dataset"], tg.meta["item_dataset"] = user_ds, item_ds
    own = evaluate(boosted, tg, "test")["ndcg@10"]
    assert mixed_up < 0.2 < own == pytest.approx(evaluate(lambda u: base[u], tg, "test")["ndcg@10"])
    # an item or user without a dataset (-1) is ranked for everyone, as before
    tg.meta["item_dataset"] = np.full(tg.num_items, -1)
    assert evaluate(boosted, tg, "test")["ndcg@10"] == pytest.approx(mixed_up)
