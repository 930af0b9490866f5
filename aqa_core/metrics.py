"""Evaluation metrics of action-quality assessment, as the papers report them.

* Spearman's rank correlation: the headline metric of MTL-AQA, USDL/MUSDL and CoRe.
* Relative L2 (CoRe, Yu et al. 2021): R-l2 = 100 x mean(((y - y_hat) / (y_max - y_min))^2), where
  y_max and y_min are the score range of the dataset (or action), so errors are comparable across
  actions with different scales.
* Fisher-z average: correlations are not additive, so the per-action rhos are averaged as
  z = arctanh(rho), weighted mean, tanh back (the "average" row of the AQA-7 tables).
* Cumulative score curve (MUSDL paper, Tang et al. 2020): the fraction of test dives whose absolute
  error is within each threshold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

# arctanh(+-1) is infinite; a perfect per-action rho is clipped just inside (1 - 1e-12 keeps every
# real-valued rho distinguishable while giving a finite z).
_RHO_LIMIT = 1.0 - 1e-12


def _paired(pred: Sequence[float] | np.ndarray, true: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=np.float64).ravel()
    t = np.asarray(true, dtype=np.float64).ravel()
    if p.shape != t.shape:
        raise ValueError(f"{p.size} predictions for {t.size} true scores")
    if p.size == 0:
        raise ValueError("no scores to compare")
    return p, t


def spearman(pred: Sequence[float] | np.ndarray, true: Sequence[float] | np.ndarray) -> float:
    """Spearman's rho (average ranks for ties); nan when either side is constant."""
    p, t = _paired(pred, true)
    if p.size < 2 or np.all(p == p[0]) or np.all(t == t[0]):
        return float("nan")
    return float(stats.spearmanr(p, t).statistic)


def relative_l2(
    pred: Sequence[float] | np.ndarray, true: Sequence[float] | np.ndarray, score_min: float, score_max: float
) -> float:
    """CoRe's relative L2 distance, in percent of the squared score range."""
    if not score_max > score_min:
        raise ValueError(f"score range [{score_min}, {score_max}] is empty")
    p, t = _paired(pred, true)
    return float(100.0 * np.mean(((p - t) / (score_max - score_min)) ** 2))


def fisher_z_average(rhos: Sequence[float], weights: Sequence[float] | None = None) -> float:
    """Average correlations through Fisher's z; ``weights`` (e.g. test-set sizes) default to equal."""
    r = np.asarray(rhos, dtype=np.float64)
    if r.size == 0:
        raise ValueError("no correlations to average")
    if np.any(np.abs(r) > 1):
        raise ValueError(f"correlations must lie in [-1, 1], got {r.tolist()}")
    z = np.arctanh(np.clip(r, -_RHO_LIMIT, _RHO_LIMIT))
    return float(np.tanh(np.average(z, weights=weights)))


def cumulative_score_curve(
    pred: Sequence[float] | np.ndarray, true: Sequence[float] | np.ndarray, thresholds: Sequence[float] | np.ndarray
) -> np.ndarray:
    """Fraction of dives with |pred - true| <= threshold, one value per threshold."""
    p, t = _paired(pred, true)
    errors = np.abs(p - t)
    limits = np.asarray(thresholds, dtype=np.float64)
    return (errors[None, :] <= limits.reshape(-1, 1)).mean(axis=1)
