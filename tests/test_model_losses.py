import pytest
import torch

from kgrec_neo4j.model.losses import bpr_loss, concept_centre_loss, signed_edge_loss


def test_bpr_decreases_when_positive_scores_higher():
    neg = torch.tensor([0.5, 0.1])
    assert bpr_loss(torch.tensor([2.0, 1.0]), neg) < bpr_loss(torch.tensor([0.6, 0.2]), neg)
    assert bpr_loss(torch.tensor([1.0]), torch.tensor([[0.0, 0.5]])).shape == ()


def test_signed_loss_dislike_closer_costs_more():
    a = torch.tensor([[1.0, 0.0]])
    far, near = torch.tensor([[-1.0, 0.2]]), torch.tensor([[0.9, 0.1]])
    s = torch.tensor([-1])
    assert signed_edge_loss(a, near, s) > signed_edge_loss(a, far, s)
    # positive edges: the opposite
    p = torch.tensor([1])
    assert signed_edge_loss(a, near, p) < signed_edge_loss(a, far, p)
    # sign 0 costs nothing
    assert signed_edge_loss(a, near, torch.tensor([0])) == 0


def test_signed_loss_gradient_pushes_dislike_apart():
    a = torch.tensor([[1.0, 0.0]])
    b = torch.tensor([[0.8, 0.6]], requires_grad=True)
    signed_edge_loss(a, b, torch.tensor([-1])).backward()
    b2 = b.detach() - 0.1 * b.grad
    assert torch.cosine_similarity(a, b2) < torch.cosine_similarity(a, b.detach())


def test_signed_loss_checks_shapes():
    with pytest.raises(ValueError, match="same shape"):
        signed_edge_loss(torch.zeros(2, 3), torch.zeros(2, 4), torch.ones(2))


def test_concept_centre_loss():
    members = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]])
    idx = torch.tensor([0, 0, 1])
    at_centre = torch.tensor([[2.0, 0.0], [0.0, 2.0], [9.0, 9.0]])  # concept 2 has no edges: ignored
    assert concept_centre_loss(at_centre, members, idx).item() == pytest.approx(0.0)
    off = torch.tensor([[2.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    assert concept_centre_loss(off, members, idx).item() == pytest.approx((1.0 + 4.0) / 2)
