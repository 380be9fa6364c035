"""Stage 1 in closed form: the signed item graph with knowledge paths, and its part in our model's score."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from kgrec_neo4j.model.baselines import EASE
from kgrec_neo4j.model.data import TrainGraph
from kgrec_neo4j.model.itemgraph import ItemGraph, concept_matrix, signed_matrix, spd_inverse_, transition_matrices
from kgrec_neo4j.model.toy import toy_graph
from kgrec_neo4j.model.train import TrainConfig, fit, fit_closed_form, fit_item_graph

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def graph():
    return toy_graph(num_users=80, num_items=48, seed=1)


def _dense(ig: ItemGraph) -> np.ndarray:
    return ig.w.toarray() if isinstance(ig.w, sp.spmatrix) else ig.w.numpy()


def _tiny(ui_user, ui_item, ui_sign, ic_item=(), ic_concept=(), num_items=4, num_concepts=1) -> TrainGraph:
    n_u = max(ui_user) + 1
    return TrainGraph(
        user_ids=[f"u{k}" for k in range(n_u)], item_ids=[f"i{k}" for k in range(num_items)],
        concept_ids=[f"c{k}" for k in range(num_concepts)], type_names=["Genre"],
        ui_user=list(ui_user), ui_item=list(ui_item), ui_sign=list(ui_sign), ui_weight=np.ones(len(ui_user)),
        ic_item=list(ic_item), ic_concept=list(ic_concept), ic_type=[0] * len(ic_item),
        ic_weight=np.ones(len(ic_item)), uc_user=[], uc_concept=[], uc_horizon=[], uc_polarity=[], uc_weight=[])


def test_without_concepts_and_signs_it_is_ease(graph):
    ig = ItemGraph(lam=20.0, concept_weight=0.0, dislike_value=1.0).fit(graph)
    ease = EASE(lam=20.0).fit(graph)
    w = _dense(ig)
    assert np.allclose(w, ease.b.numpy(), atol=1e-5)
    assert np.all(np.diag(w) == 0)
    users = torch.arange(10)
    assert torch.allclose(ig.score(users), ease.score(users), atol=1e-5)


def test_concept_paths_link_items_nobody_shares():
    # items 0 and 1 share a concept but no user; items 2 and 3 carry the interactions
    g = _tiny([0, 0, 1, 1, 2], [0, 2, 1, 3, 2], [1, 1, 1, 1, 1], ic_item=[0, 1], ic_concept=[0, 0])
    plain = _dense(ItemGraph(lam=1.0, concept_weight=0.0).fit(g))
    known = _dense(ItemGraph(lam=1.0, concept_weight=2.0).fit(g))
    assert plain[0, 1] == pytest.approx(0.0, abs=1e-6)
    assert known[0, 1] > 0.05 and known[1, 0] > 0.05


def test_a_negative_dislike_value_reverses_what_the_dislike_carries():
    # users 0-2 take items 0 and 1 together; user 3 disliked item 0 and took item 2
    g = _tiny([0, 0, 1, 1, 2, 2, 3, 3], [0, 1, 0, 1, 0, 1, 0, 2], [1, 1, 1, 1, 1, 1, -1, 1])
    same = ItemGraph(lam=1.0, dislike_value=1.0).fit(g)
    rev = ItemGraph(lam=1.0, dislike_value=-1.0).fit(g)
    u = torch.tensor([3])
    # as an interaction, the dislike of item 0 recommends its neighbour item 1; reversed, it holds item 1 back
    assert same.score(u)[0, 1] > 0 > rev.score(u)[0, 1]


def test_top_k_keeps_k_links_per_item(graph):
    dense = _dense(ItemGraph(lam=20.0).fit(graph))
    ig = ItemGraph(lam=20.0, top_k=5).fit(graph)
    w = ig.w.tocsc()
    assert np.all(np.diff(w.indptr) <= 5) and np.diff(w.indptr).max() == 5
    for j in range(graph.num_items):  # the kept links are the largest |w| of each item's incoming column
        col = w[:, j].toarray().ravel()
        kept = np.flatnonzero(col)
        assert np.allclose(col[kept], dense[kept, j])
        assert np.abs(dense[:, j]).max() == pytest.approx(np.abs(col).max())
    src, dst, val = ig.edges()
    assert src.size == w.nnz and np.allclose(val, np.asarray(w[src, dst]).ravel())


def test_bad_parameters_are_refused():
    for kw in ({"lam": 0.0}, {"concept_weight": -1.0}, {"top_k": 0}, {"decay": 0.0}, {"decay": 1.5},
               {"solver": "approx"}, {"neighbours": 0}):
        with pytest.raises(ValueError):
            ItemGraph(**kw)


def test_ours_chooses_the_item_graph_on_valid_and_reports_each_part(graph):
    cfg = TrainConfig(model="kgrec", embedding_dim=8, epochs=2, batch_size=128, valid_sample=None, num_threads=1,
                      item_graph_lambdas=[5.0, 50.0], item_graph_concept_weights=[0.0, 1.0], item_graph_top_k=10,
                      item_graph_weights=[0.0, 1.0, 4.0], recency_decays=[1.0, 0.5], item_graph_transitions=[0.5])
    model, rep = fit(graph, cfg)
    grid = [h for h in rep.history if "item_graph_lambda" in h]
    weights = [h for h in rep.history if "item_graph_multiplier" in h]
    # 2 lambdas x 2 concept weights x 2 decays, then the transitions on the best of those with both decays
    assert len(grid) == 10 and len(weights) == 3
    assert [h["item_graph_transitions"] for h in grid] == [0.0] * 8 + [0.5] * 2
    first = max(grid[:8], key=lambda h: h["ndcg@10"])
    assert {(h["item_graph_lambda"], h["item_graph_concept_weight"]) for h in grid[8:]} == \
        {(first["item_graph_lambda"], first["item_graph_concept_weight"])}
    ig = model.item_graph
    chosen = max(grid, key=lambda h: h["ndcg@10"])
    assert (chosen["item_graph_lambda"], chosen["item_graph_concept_weight"], chosen["recency_decay"],
            chosen["item_graph_transitions"]) == (ig.lam, ig.concept_weight, ig.decay, ig.transitions)
    assert rep.recency == {"item_graph": ig.decay, "gnn": cfg.recency_decay}
    assert model.item_graph_weight == max(weights, key=lambda h: h["ndcg@10"])["item_graph_weight"]
    assert rep.valid["ndcg@10"] == pytest.approx(max(h["ndcg@10"] for h in weights))
    assert set(rep.parts) == {"gnn", "item_graph"} and rep.parts["item_graph"]["params"]["top_k"] == 10
    # the fused score is the embedding score plus the weighted item graph score
    users = torch.arange(5)
    model.eval()
    with torch.no_grad():
        u, i = model()[:2]
        want = (u[users.to(u.device)] @ i.t()).cpu() + model.item_graph_weight * ig.score(users)
        assert torch.allclose(model.score(users).cpu(), want, atol=1e-5)


def test_the_ablations_reach_the_item_graph(graph):
    base = dict(model="kgrec", embedding_dim=8, epochs=1, batch_size=256, valid_sample=None, num_threads=1,
                item_graph_concept_weights=[0.0, 1.0], item_graph_dislike_value=-0.5)
    base_decays = TrainConfig().recency_decays
    model, rep = fit(graph, TrainConfig(**base, use_concepts=False, use_negative=False))
    grid = [h for h in rep.history if "item_graph_lambda" in h]
    assert {h["item_graph_concept_weight"] for h in grid} == {0.0}
    n_transitions = len(TrainConfig().item_graph_transitions)
    assert len(grid) == len(base_decays) * (len(TrainConfig().item_graph_lambdas) + n_transitions)
    assert model.item_graph.dislike_value == 0.0
    model, rep = fit(graph, TrainConfig(**base, use_item_graph=False))
    assert rep.model == "kgrec-no-item-graph" and getattr(model, "item_graph", None) is None and not rep.parts
    model, rep = fit(graph, TrainConfig(**base, use_stage1=False))
    assert getattr(model, "item_graph", None) is None
    model, rep = fit(graph, TrainConfig(**base, use_recency=False, recency_decays=[1.0, 0.5]))
    grid = [h for h in rep.history if "item_graph_lambda" in h]
    assert {h["recency_decay"] for h in grid} == {1.0} and model.item_graph.decay == 1.0
    # no recency is no order at all: no transition pairs either
    assert {h["item_graph_transitions"] for h in grid} == {0.0} and model.item_graph.transitions == 0.0
    assert model.recency_decay is None and rep.recency == {"item_graph": 1.0, "gnn": None}
    assert rep.model == "kgrec-no-recency"


# ---------------------------------------------------------------------------------------------- recency
def test_recency_changes_the_score_not_the_weights(graph):
    plain = ItemGraph(lam=20.0, concept_weight=1.0).fit(graph)
    recent = ItemGraph(lam=20.0, concept_weight=1.0, decay=0.5).fit(graph)
    assert np.array_equal(_dense(plain), _dense(recent))
    shared = plain.with_decay(0.5)
    assert shared.w is plain.w and plain.decay == 1.0 and shared.decay == 0.5
    users = torch.arange(graph.num_users)
    assert torch.allclose(shared.score(users), recent.score(users))
    # the score is the recency-weighted history times W: each train item weighs decay ** (steps back)
    u = 3
    rows = np.flatnonzero(graph.ui_user == u)
    hist = np.zeros(graph.num_items)
    for r, wt in zip(rows, 0.5 ** (rows.max() - rows)):  # toy histories are in array order, one seq each
        hist[graph.ui_item[r]] = max(hist[graph.ui_item[r]], wt)
    assert np.allclose(recent.score(torch.tensor([u]))[0].numpy(), hist @ _dense(plain), atol=1e-5)
    assert not torch.allclose(recent.score(users), plain.score(users))


def test_ease_recency_shares_one_fit_across_decays(graph):
    ease = EASE(lam=20.0).fit(graph)
    rec = ease.with_decay(0.7)
    assert rec.b is ease.b and torch.allclose(rec.score(torch.arange(4)), EASE(20.0, decay=0.7).fit(graph).score(
        torch.arange(4)))
    grid = [{"lam": 20.0, "decay": d} for d in (1.0, 0.7, 0.3)] + [{"lam": 80.0, "decay": 1.0}]
    best, rep = fit_closed_form(graph, "ease-recency", grid, num_threads=1)
    assert len(rep.history) == 4
    top = max(rep.history, key=lambda h: h["ndcg@10"])
    assert (rep.config["lam"], rep.config["decay"]) == (top["lam"], top["decay"]) and best.decay == top["decay"]
    assert rep.recency == {"item_graph": best.decay}
    with pytest.raises(ValueError, match="ease-recency"):
        fit_closed_form(graph, "ease", [{"lam": 20.0, "decay": 0.5}], num_threads=1)


def test_default_lambda_grid_is_shared_by_item_graph_and_ease(graph, monkeypatch):
    from kgrec_neo4j.model import baselines, itemgraph, train
    from kgrec_neo4j.model.recency import DEFAULT_DECAYS

    assert len(itemgraph.DEFAULT_LAMBDAS) >= 2 and TrainConfig().item_graph_lambdas == list(itemgraph.DEFAULT_LAMBDAS)
    fits = []
    real = baselines.closed_form_weights
    monkeypatch.setattr(baselines, "closed_form_weights", lambda g, lam, device=None: fits.append(lam) or real(
        g, lam, device))
    _, rep = fit_closed_form(graph, "ease", num_threads=1)
    assert [h["lam"] for h in rep.history] == list(itemgraph.DEFAULT_LAMBDAS) and fits == list(itemgraph.DEFAULT_LAMBDAS)
    fits.clear()
    _, rep = fit_closed_form(graph, "ease-recency", num_threads=1)
    assert [(h["lam"], h["decay"]) for h in rep.history] == [
        (lam, d) for lam in itemgraph.DEFAULT_LAMBDAS for d in DEFAULT_DECAYS]
    assert fits == list(itemgraph.DEFAULT_LAMBDAS)  # one fit per lambda, shared by its decays
    _, rep = fit_closed_form(graph, "pop", num_threads=1)
    assert len(rep.history) == 1
    assert train.DEFAULT_LAMBDAS is itemgraph.DEFAULT_LAMBDAS


# ---------------------------------------------------------------------------------------------- sparse solver
def _two_cliques(seed: int = 0) -> TrainGraph:
    """Two groups of 12 items; in each group one user took every item (so every pair of a group co-occurs) and
    others took random subsets; a shared concept per group. The groups share nothing."""
    rng = np.random.default_rng(seed)
    users, items = [], []
    u = 0
    for g in range(2):
        group = np.arange(12) + 12 * g
        users += [u] * 12
        items += group.tolist()
        u += 1
        for _ in range(20):
            pick = rng.choice(group, rng.integers(2, 6), replace=False)
            users += [u] * pick.size
            items += pick.tolist()
            u += 1
    ic_item = list(range(0, 24, 2))
    return _tiny(users, items, [1] * len(users), ic_item=ic_item, ic_concept=[i // 12 for i in ic_item],
                 num_items=24, num_concepts=2)


def test_sparse_solver_with_every_neighbour_is_the_dense_solution():
    g = _two_cliques()
    dense = _dense(ItemGraph(lam=3.0, concept_weight=1.5, solver="dense").fit(g))
    ig = ItemGraph(lam=3.0, concept_weight=1.5, solver="sparse", neighbours=50).fit(g)
    assert ig.params()["solver"] == "sparse"
    assert np.allclose(ig.w.toarray(), dense, atol=1e-5)
    assert np.all(ig.w.diagonal() == 0)
    # the groups share nothing, so no link crosses them
    assert np.abs(ig.w.toarray()[:12, 12:]).max() == 0.0


def test_sparse_solver_keeps_the_strongest_candidates_and_top_k():
    g = _two_cliques(seed=3)
    dense = _dense(ItemGraph(lam=3.0, solver="dense").fit(g))
    ig = ItemGraph(lam=3.0, solver="sparse", neighbours=6, top_k=4).fit(g)
    w = ig.w.tocsc()
    assert np.diff(w.indptr).max() == 4
    # restricted to 6 of 11 neighbours the columns are close to the dense ones, not equal
    cols = w.toarray()
    kept = cols != 0
    assert np.corrcoef(cols[kept], dense[kept])[0, 1] > 0.9


def test_auto_picks_the_solver_by_catalogue_size(graph):
    assert ItemGraph(lam=20.0, dense_max_items=graph.num_items).fit(graph).params()["solver"] == "dense"
    small = ItemGraph(lam=20.0, dense_max_items=graph.num_items - 1, neighbours=8, top_k=5).fit(graph)
    assert small.params()["solver"] == "sparse" and small.params()["neighbours"] == 8
    assert np.diff(small.w.tocsc().indptr).max() <= 5


def test_shared_fits_compute_each_fit_once_inside_the_block_only(graph):
    from kgrec_neo4j.model.itemgraph import shared_fits

    with shared_fits():
        a = ItemGraph(lam=20.0, concept_weight=1.0, top_k=5).fit(graph)
        b = ItemGraph(lam=20.0, concept_weight=1.0, top_k=5, decay=0.5).fit(graph)
        c = ItemGraph(lam=30.0, concept_weight=1.0, top_k=5).fit(graph)
        e1, e2 = EASE(20.0).fit(graph), EASE(20.0, decay=0.7).fit(graph)
    assert b.w is a.w and b.reused and not a.reused and c.w is not a.w and not c.reused
    assert b.fit_seconds >= a.fit_seconds * 0.5  # a reused fit reports the original fit's time
    assert e2.b is e1.b and e2.reused
    d = ItemGraph(lam=20.0, concept_weight=1.0, top_k=5).fit(graph)
    assert d.w is not a.w and not d.reused
    assert (d.w != a.w).nnz == 0


def test_closed_form_weights_are_row_major(graph):
    """Scoring multiplies a sparse history by W row-major; a column-major W (LAPACK's inverse) made every scoring
    batch copy the whole of it."""
    for w in (EASE(lam=20.0).fit(graph).b, ItemGraph(lam=20.0, concept_weight=1.0).fit(graph).w):
        assert isinstance(w, torch.Tensor) and w.is_contiguous() and w.numpy().flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("n", [5, 1030, 2100])  # sizes around the symmetrising block of 1,024 rows
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_spd_inverse_is_the_inverse_in_place_and_row_major(n, dtype):
    rng = np.random.default_rng(n)
    a = rng.standard_normal((n // 2 + 3, n))
    g = torch.from_numpy(a.T @ a + 5.0 * np.eye(n)).to(dtype)
    want = np.linalg.inv(g.double().numpy())
    work = g.clone()
    p = spd_inverse_(work)
    assert p.dtype == dtype and p.is_contiguous() and p.data_ptr() == work.data_ptr()  # no second matrix
    assert torch.equal(p, p.T)
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    assert np.abs(p.double().numpy() - want).max() <= tol * np.abs(want).max()


def test_spd_inverse_refuses_a_matrix_that_is_not_positive_definite():
    with pytest.raises(ValueError, match="not positive definite.*raise lambda"):
        spd_inverse_(torch.tensor([[1.0, 2.0], [2.0, 1.0]]))


# ---------------------------------------------------------------- transitions: what a user takes up next

def test_transition_pairs_follow_seq_window_decay_and_dislike_value():
    # one user, arrays out of order: by seq the history is item 0, then 1 (disliked), then 2
    g = _tiny([0, 0, 0], [2, 0, 1], [1, 1, -1], num_items=3)
    g.ui_seq = np.array([2, 0, 1], np.int64)
    src, tgt = transition_matrices(g, dislike_value=0.5, window=2, decay=0.5)
    assert tgt.toarray().tolist() == [[0, 0.5, 0], [0, 0, 1]]
    # pair 1 (target 1): item 0 just before; pair 2 (target 2): item 1 (a dislike, 0.5), item 0 one further (x 0.5)
    assert src.toarray().tolist() == [[1, 0, 0], [0.5, 0.5, 0]]
    # a dislike valued 0 is neither a target nor a source
    src0, tgt0 = transition_matrices(g, dislike_value=0.0, window=2, decay=0.5)
    assert tgt0.toarray().tolist() == [[0, 0, 1]] and src0.toarray().tolist() == [[0.5, 0, 0]]
    # window 1: only the interaction just before
    src1, _ = transition_matrices(g, dislike_value=0.5, window=1, decay=0.5)
    assert src1.toarray().tolist() == [[1, 0, 0], [0, 0.5, 0]]


def test_transitions_make_each_column_the_ridge_regression_with_the_pairs(graph):
    lam, cw, beta = 7.0, 1.0, 2.0
    ig = ItemGraph(lam=lam, concept_weight=cw, dislike_value=-0.5, transitions=beta, transition_window=3,
                   transition_decay=0.5, solver="dense").fit(graph)
    w = _dense(ig).astype(np.float64)
    x = signed_matrix(graph, -0.5).toarray().astype(np.float64)
    k = concept_matrix(graph, cw).toarray().astype(np.float64)
    s, t = (m.toarray().astype(np.float64) for m in transition_matrices(graph, -0.5, 3, 0.5))
    gy = x.T @ x + k.T @ k
    g = gy + beta * s.T @ s + lam * np.eye(graph.num_items)
    rhs = gy + beta * s.T @ t
    for i in range(graph.num_items):
        rest = np.arange(graph.num_items) != i
        col = np.linalg.solve(g[np.ix_(rest, rest)], rhs[rest, i])
        assert np.allclose(w[rest, i], col, atol=2e-4), i
        assert w[i, i] == 0.0
    # beta 0 is the plain fit; a positive beta changes it
    plain = _dense(ItemGraph(lam=lam, concept_weight=cw, dislike_value=-0.5, solver="dense").fit(graph))
    zero = _dense(ItemGraph(lam=lam, concept_weight=cw, dislike_value=-0.5, transitions=0.0).fit(graph))
    assert np.array_equal(plain, zero)
    assert np.abs(w - plain).max() > 1e-3


def test_transitions_make_links_directed():
    # everyone takes item 0 and then item 1 (and 2 or 3 in between for none): 0 -> 1 is a transition, 1 -> 0 is not
    users = [u for u in range(6) for _ in range(2)]
    items = [0, 1] * 6
    g = _tiny(users + [6, 6], items + [2, 3], [1] * 14, num_items=4)
    plain = _dense(ItemGraph(lam=1.0).fit(g))
    seq = _dense(ItemGraph(lam=1.0, transitions=1.0).fit(g))
    assert plain[0, 1] == pytest.approx(plain[1, 0])
    assert seq[0, 1] > seq[1, 0]
    assert seq[0, 1] > plain[0, 1]


def test_sparse_solver_with_every_neighbour_is_the_dense_solution_with_transitions():
    g = _two_cliques(seed=5)
    rng = np.random.default_rng(0)
    g.ui_seq = rng.permutation(g.ui_user.size).astype(np.int64)  # some order within each user
    kw = dict(lam=3.0, concept_weight=1.5, transitions=0.7, transition_window=4, transition_decay=0.8)
    dense = _dense(ItemGraph(**kw, solver="dense").fit(g))
    ig = ItemGraph(**kw, solver="sparse", neighbours=50).fit(g)
    assert ig.params()["solver"] == "sparse" and ig.params()["transitions"] == 0.7
    assert np.allclose(ig.w.toarray(), dense, atol=1e-5)
    assert np.abs(dense - _dense(ItemGraph(lam=3.0, concept_weight=1.5, solver="dense").fit(g))).max() > 1e-3


def test_bad_transition_parameters_are_refused():
    for kw in ({"transitions": -1.0}, {"transition_window": 0}, {"transition_decay": 0.0},
               {"transition_decay": 1.5}):
        with pytest.raises(ValueError, match="transition"):
            ItemGraph(**kw)


def _with_text(g: TrainGraph, seed: int = 0, dim: int = 6, empty: int = 1) -> TrainGraph:
    rng = np.random.default_rng(seed)
    e = rng.normal(size=(g.num_items, dim)).astype(np.float32)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    e[:empty] = 0.0  # items without text
    g.item_text = e
    return g


def test_text_prior_makes_each_column_the_ridge_regression_towards_the_text_regression(graph):
    g = _with_text(toy_graph(num_users=80, num_items=48, seed=1))
    lam, cw, beta, mu, nu = 7.0, 1.0, 2.0, 5.0, 0.3
    e = g.item_text.astype(np.float64)
    n = g.num_items
    # the prior: each item's text regressed on the other items' texts (EASE on the text), zero diagonal
    tt = e @ e.T + nu * np.eye(n)
    wf = np.zeros((n, n))
    for i in range(n):
        rest = np.arange(n) != i
        wf[rest, i] = np.linalg.solve(tt[np.ix_(rest, rest)], (e @ e.T)[rest, i])
    assert np.abs(wf[:, 0]).max() < 1e-9  # an item without text: nothing to pull its column to
    x = signed_matrix(g, -0.5).toarray().astype(np.float64)
    k = concept_matrix(g, cw).toarray().astype(np.float64)
    s, t = (m.toarray().astype(np.float64) for m in transition_matrices(g, -0.5, 3, 0.5))
    for b in (0.0, beta):
        ig = ItemGraph(lam=lam, concept_weight=cw, dislike_value=-0.5, transitions=b, transition_window=3,
                       transition_decay=0.5, solver="dense", text_prior=mu, text_prior_nu=nu).fit(g)
        w = _dense(ig).astype(np.float64)
        gy = x.T @ x + k.T @ k
        lhs = gy + b * s.T @ s + (lam + mu) * np.eye(n)
        rhs = gy + b * s.T @ t + mu * wf
        for i in range(n):
            rest = np.arange(n) != i
            assert np.allclose(w[rest, i], np.linalg.solve(lhs[np.ix_(rest, rest)], rhs[rest, i]), atol=2e-4), (b, i)
            assert w[i, i] == 0.0
        assert ig.params()["text_prior"] == mu and ig.params()["text_prior_nu"] == nu
    # mu 0 is the fit without the prior; a prior on a graph without item text is refused, not silently dropped
    plain = _dense(ItemGraph(lam=lam, concept_weight=cw, solver="dense").fit(g))
    assert np.array_equal(plain, _dense(ItemGraph(lam=lam, concept_weight=cw, text_prior=0.0).fit(g)))
    with pytest.raises(ValueError, match="item_text"):
        ItemGraph(lam=lam, concept_weight=cw, text_prior=mu).fit(toy_graph(num_users=80, num_items=48, seed=1))
    assert np.abs(_dense(ItemGraph(lam=lam, concept_weight=cw, text_prior=mu).fit(g)) - plain).max() > 1e-3


def test_text_prior_links_items_with_like_text_that_nobody_shares():
    # items 2 and 3 share no user and no concept; their texts are alike
    g = _tiny([0, 0, 1, 1, 2, 3], [0, 1, 0, 1, 2, 3], [1] * 6, num_items=4)
    g.item_text = np.array([[1, 0, 0], [0, 1, 0], [0, 0.6, 0.8], [0, 0.8, 0.6]], np.float32)
    assert _dense(ItemGraph(lam=1.0).fit(g))[2, 3] == 0.0
    dense = _dense(ItemGraph(lam=1.0, text_prior=5.0, text_prior_nu=0.1, solver="dense").fit(g))
    assert dense[2, 3] > 0.05
    # the sparse solver too, with fewer candidates than items: the nearest items by text are among them
    sparse = ItemGraph(lam=1.0, text_prior=5.0, text_prior_nu=0.1, solver="sparse", neighbours=2).fit(g)
    assert sparse.w[2, 3] == pytest.approx(dense[2, 3], rel=1e-5)


def test_sparse_solver_with_every_neighbour_is_the_dense_solution_with_the_text_prior():  # textless item 0 too
    # one user took every item, so every pair of items is a candidate of the sparse solver
    rng = np.random.default_rng(5)
    users, items = [0] * 20, list(range(20))
    for u in range(1, 30):
        pick = rng.choice(20, rng.integers(2, 6), replace=False)
        users += [u] * pick.size
        items += pick.tolist()
    g = _with_text(_tiny(users, items, [1] * len(users), ic_item=range(10), ic_concept=[0] * 10, num_items=20), seed=3)
    kw = dict(lam=3.0, concept_weight=1.5, transitions=0.7, text_prior=4.0, text_prior_nu=0.5)
    dense = _dense(ItemGraph(**kw, solver="dense").fit(g))
    ig = ItemGraph(**kw, solver="sparse", neighbours=50).fit(g)
    assert np.allclose(ig.w.toarray(), dense, atol=1e-5)


def test_bad_text_prior_parameters_are_refused():
    for kw in ({"text_prior": -1.0}, {"text_prior_nu": 0.0}):
        with pytest.raises(ValueError, match="text_prior"):
            ItemGraph(**kw)


def test_ours_tries_the_text_prior_only_with_item_text(graph, caplog):
    cfg = TrainConfig(model="kgrec", epochs=1, item_graph_lambdas=[5.0], item_graph_concept_weights=[0.0, 1.0],
                      item_graph_transitions=[], item_graph_text_priors=[3.0], recency_decays=[1.0])
    with caplog.at_level("WARNING"):
        _, hist, _ = fit_item_graph(toy_graph(num_users=80, num_items=48, seed=1), cfg)
    assert {h["item_graph_text_prior"] for h in hist} == {0.0}
    assert "no item text" in caplog.text  # said, not silently dropped
    ig, hist, _ = fit_item_graph(_with_text(toy_graph(num_users=80, num_items=48, seed=1)), cfg)
    # both concept weights again with the prior, each chosen on valid like the rest of the grid
    assert sorted((h["item_graph_concept_weight"], h["item_graph_text_prior"]) for h in hist) == [
        (0.0, 0.0), (0.0, 3.0), (1.0, 0.0), (1.0, 3.0)]
    best = max(hist, key=lambda h: h["ndcg@10"])
    assert (ig.concept_weight, ig.text_prior) == (best["item_graph_concept_weight"], best["item_graph_text_prior"])
    # the lambdas again too: the prior adds to the ridge
    cfg2 = cfg.model_copy(update={"item_graph_lambdas": [5.0, 50.0], "item_graph_concept_weights": [0.0]})
    _, hist, _ = fit_item_graph(_with_text(toy_graph(num_users=80, num_items=48, seed=1)), cfg2)
    assert sorted((h["item_graph_lambda"], h["item_graph_text_prior"]) for h in hist) == [
        (5.0, 0.0), (5.0, 3.0), (50.0, 0.0), (50.0, 3.0)]
    # nothing held out (serving, refits): the first point of every grid, the first prior included
    served = _with_text(toy_graph(num_users=80, num_items=48, seed=1))
    served.valid = {}
    ig, hist, _ = fit_item_graph(served, cfg)
    assert ig.text_prior == 3.0 and hist[0]["item_graph_text_prior"] == 3.0


@pytest.mark.parametrize("solver", ["dense", "sparse"])
def test_a_graph_over_two_datasets_links_items_within_each(solver):
    """A run over two datasets in one database linked their items through shared concepts (113,865 of 261,900
    links in a walkthrough): links no user of either dataset can use, in the places of ones that count. With each
    item's dataset in the export, an item's incoming links come from its own dataset's items."""
    tg = toy_graph(num_users=80, num_items=48, seed=6)
    codes = np.arange(tg.num_items) % 2
    ig = ItemGraph(lam=5.0, concept_weight=1.0, top_k=6, solver=solver).fit(tg)
    src, dst, _ = ig.edges()
    assert (codes[src] != codes[dst]).any()  # one catalogue: links across the halves
    tg2 = toy_graph(num_users=80, num_items=48, seed=6)
    tg2.meta["item_dataset"] = codes
    ig2 = ItemGraph(lam=5.0, concept_weight=1.0, top_k=6, solver=solver).fit(tg2)
    src, dst, w = ig2.edges()
    assert src.size and (codes[src] == codes[dst]).all()
    if solver == "dense":  # the places the cross links took go to links of the item's own dataset
        assert np.bincount(dst, minlength=tg.num_items).min() == 6
