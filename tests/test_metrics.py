"""Metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aqa_core.metrics import cumulative_score_curve, fisher_z_average, relative_l2, spearman


def test_spearman_by_hand():
    # ranks (1,2,3,4) vs (1,3,2,4): d^2 = 0+1+1+0 = 2 -> rho = 1 - 6*2/(4*15) = 0.8
    assert spearman([10, 20, 30, 40], [1.0, 3.0, 2.0, 4.0]) == pytest.approx(0.8)
    assert spearman([1, 2, 3], [30, 20, 10]) == pytest.approx(-1.0)
    # ties use average ranks: pred ranks (1.5,1.5,3), true (1,2,3): Pearson of ranks = sqrt(3)/2
    assert spearman([5, 5, 9], [1, 2, 3]) == pytest.approx(math.sqrt(3) / 2)
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_relative_l2_by_hand():
    # errors 1 and 0 over a range of 10: 100 * mean(0.01, 0) = 0.5
    assert relative_l2([1, 2], [2, 2], 0, 10) == pytest.approx(0.5)
    # errors 5 and -5 over a range of 100: 100 * 0.0025 = 0.25
    assert relative_l2(np.array([55.0, 45.0]), np.array([50.0, 50.0]), 0.0, 100.0) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        relative_l2([1], [1], 5, 5)
    with pytest.raises(ValueError):
        relative_l2([1, 2], [1], 0, 10)


def test_fisher_z_average_by_hand():
    # equal rhos average to themselves; 0.5 and -0.5 cancel
    assert fisher_z_average([0.6, 0.6]) == pytest.approx(0.6)
    assert fisher_z_average([0.5, -0.5]) == pytest.approx(0.0)
    # tanh((atanh(0.5) + 3 atanh(0.9)) / 4)
    expected = math.tanh((math.atanh(0.5) + 3 * math.atanh(0.9)) / 4)
    assert fisher_z_average([0.5, 0.9], weights=[1, 3]) == pytest.approx(expected)
    # it differs from the plain mean of the rhos
    assert fisher_z_average([0.5, 0.9]) > 0.7
    assert fisher_z_average([1.0, 0.2]) == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ValueError):
        fisher_z_average([1.2])


def test_cumulative_score_curve_by_hand():
    pred = [1.0, 2.0, 3.0, 10.0]
    true = [1.0, 2.5, 5.0, 0.0]  # |errors| 0, 0.5, 2, 10
    curve = cumulative_score_curve(pred, true, [0, 0.5, 1, 2, 5, 10])
    np.testing.assert_allclose(curve, [0.25, 0.5, 0.5, 0.75, 0.75, 1.0])
    assert np.all(np.diff(curve) >= 0)
