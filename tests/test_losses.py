"""Losses: soft labels are truncated discretised Gaussians; KL is minimal at the matching prediction."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from aqa_core.losses import gaussian_soft_labels, kl_to_soft_labels, musdl_loss, regression_loss, usdl_loss

JUDGE_BINS = torch.arange(21) * 0.5  # 0, 0.5, ..., 10


def test_soft_labels_match_scipy_truncated_discretised_gaussian() -> None:
    bins = torch.linspace(0, 100, 101)
    soft = gaussian_soft_labels(torch.tensor([97.3, 12.0]), bins, sigma=5.0)
    for row, mean in zip(soft, (97.3, 12.0)):
        expected = stats.norm.pdf(bins.numpy(), loc=mean, scale=5.0)
        np.testing.assert_allclose(row.numpy(), expected / expected.sum(), atol=1e-6)
    assert soft[0].argmax().item() == 97  # truncated at 100, the mode stays at the label


def test_soft_labels_far_outside_range_do_not_underflow() -> None:
    soft = gaussian_soft_labels(torch.tensor([500.0]), JUDGE_BINS, sigma=0.5)
    assert torch.isfinite(soft).all() and soft[0, -1] > 0.99


def test_kl_is_zero_for_perfect_prediction_and_positive_otherwise() -> None:
    soft = gaussian_soft_labels(torch.tensor([[7.5, 8.0]]), JUDGE_BINS, 1.0)
    assert kl_to_soft_labels(soft.log(), soft).item() == pytest.approx(0.0, abs=1e-6)
    shifted = gaussian_soft_labels(torch.tensor([[5.0, 8.0]]), JUDGE_BINS, 1.0)
    assert kl_to_soft_labels(shifted.log(), soft).item() > 0.5


def test_musdl_sorts_judges_so_panel_order_does_not_matter() -> None:
    torch.manual_seed(0)
    logits = torch.randn(3, 7, 21)
    judges = torch.tensor([[6.0, 9, 7, 8, 7.5, 6.5, 8.5]] * 3)
    shuffled = judges[:, torch.randperm(7)]
    assert musdl_loss(logits, judges, JUDGE_BINS, 1.0).item() == pytest.approx(musdl_loss(logits, shuffled, JUDGE_BINS, 1.0).item())
    ordered_logits = gaussian_soft_labels(judges.sort(-1).values, JUDGE_BINS, 1.0).log()
    assert musdl_loss(ordered_logits, shuffled, JUDGE_BINS, 1.0).item() == pytest.approx(0.0, abs=1e-5)


def test_usdl_gradient_moves_mass_towards_label() -> None:
    bins = torch.linspace(0, 100, 101)
    logits = torch.zeros(1, 1, 101, requires_grad=True)
    usdl_loss(logits, torch.tensor([80.0]), bins, 5.0).backward()
    assert logits.grad[0, 0, 80] < 0 < logits.grad[0, 0, 20]


def test_regression_losses() -> None:
    p, t = torch.tensor([1.0, 3.0]), torch.tensor([2.0, 5.0])
    assert regression_loss(p, t, "mse").item() == pytest.approx(2.5)
    assert regression_loss(p, t, "l1").item() == pytest.approx(1.5)
    with pytest.raises(ValueError):
        regression_loss(p, t, "huber")
