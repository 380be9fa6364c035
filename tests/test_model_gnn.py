import pytest
import torch

from kgrec_neo4j.model.gnn import KGRecGNN, _transpose_perm, weighted_spmm
from kgrec_neo4j.model.toy import toy_graph

pytestmark = pytest.mark.usefixtures("one_torch_thread")



@pytest.fixture(scope="module")
def graph():
    return toy_graph()


def test_shapes_and_subset_path_match(graph):
    torch.manual_seed(0)
    m = KGRecGNN(graph, embedding_dim=8)
    u, i, c = m()
    assert u.shape == (graph.num_users, 8) and i.shape == (graph.num_items, 8) and c.shape == (graph.num_concepts, 8)
    users, items = torch.tensor([0, 3, 3]), torch.tensor([1, 5, 7, 1])
    bu, bi = m(users, items)
    assert torch.allclose(bu, u[users], atol=1e-5) and torch.allclose(bi, i[items], atol=1e-5)


def test_ablations_build(graph):
    for kw in ({"use_concepts": False}, {"use_negative": False}, {"use_stage1": False}):
        u, i, c = KGRecGNN(graph, embedding_dim=4, **kw)()
        assert u.shape == (graph.num_users, 4) and torch.isfinite(i).all()
    names = {r.name for r in KGRecGNN(graph, 4, use_negative=False).relations}
    assert "dislikes" not in names and not any(n.endswith(":-") for n in names)


def test_reset_parameters_in_place(graph):
    m = KGRecGNN(graph, embedding_dim=8)
    w = m.user_emb.weight
    before = w.detach().clone()
    m.reset_parameters()
    assert m.user_emb.weight is w
    assert not torch.equal(before, w.detach())


def test_constructor_checks(graph):
    with pytest.raises(ValueError, match=r"embedding_dim must be >= 1 \(got 0\)"):
        KGRecGNN(graph, embedding_dim=0)
    with pytest.raises(ValueError, match=r"num_fused_layers must be >= 1 \(got 0\)"):
        KGRecGNN(graph, num_fused_layers=0)


def test_edge_attention_and_signs(graph):
    m = KGRecGNN(graph, embedding_dim=8, num_fused_layers=2)
    att = m.edge_attention()
    assert "likes" in att and "dislikes" in att
    ei, val = att["rev_likes"]  # item -> user
    assert ei.shape[0] == 2 and ei.shape[1] == val.numel()
    assert int(ei[0].max()) < graph.num_items and int(ei[1].max()) < graph.num_users
    assert (att["rev_dislikes"][1] < 0).all() and (val > 0).all()  # dislikes start by reversing
    w = m.relation_weights()
    assert w["interested_in:long:+"] > w["likes"] > 0 > w["dislikes"]


def test_recommend_excludes(graph):
    m = KGRecGNN(graph, embedding_dim=8)
    users = torch.tensor([0, 1])
    seen = graph.train_matrix()
    items, scores = m.recommend(users, k=5, exclude=seen)
    assert items.shape == (2, 5)
    for row, u in zip(items.tolist(), users.tolist()):
        assert not set(row) & set(seen[u].indices.tolist())
    with pytest.raises(ValueError, match=r"k must be in \[1, 40\] \(got 0\)"):
        m.recommend(users, k=0)


def test_weighted_spmm_gradcheck():
    src, dst = torch.tensor([0, 2, 1, 3, 5, 4]), torch.tensor([0, 0, 1, 2, 3, 5])
    val = torch.randn(6, dtype=torch.double, requires_grad=True)
    x = torch.randn(6, 3, dtype=torch.double, requires_grad=True)
    perm = _transpose_perm(src, dst)
    assert torch.autograd.gradcheck(lambda v, y: weighted_spmm(v, y, src, dst, perm), (val, x))
