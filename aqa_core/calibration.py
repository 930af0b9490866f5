"""Calibrated score intervals: normalised split-conformal prediction fitted on validation dives.

Why not the predicted distribution's own quantiles: a distribution head is trained towards
Gaussian soft labels of a chosen width (sigma), so the width of what it predicts reflects that
training device, not how wrong the model is (the demo model's raw 80% and 95% intervals both
covered 100% of held-out marks). Conformal prediction turns any point prediction into intervals
with a finite-sample coverage guarantee on exchangeable data: on the validation split (never used
to fit the weights' gradients) we collect the nonconformity

    r = |true - predicted| / (spread + floor)

where ``spread`` is the model's own standard deviation for that estimate (in judge marks, or in
points of the kept judges' sum for a final score, i.e. divided by DD x multiplier) and ``floor``
the median validation spread, so a very peaked distribution cannot give a zero-width interval.
The interval at coverage c is predicted ± q_c x (spread + floor), q_c being the
ceil((n + 1) c)-th smallest of the n validation values. Normalising by the spread keeps the
intervals adaptive (wider where the model is less sure), which is what lets the uncertainty level
discriminate: the terciles of the validation dives' calibrated 95% half-widths rank a dive among
them, where those widths differ enough to rank (``aqa_core.decoding.assess_uncertainty``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from aqa_core.result import Estimate

LEVELS = ("0.8", "0.95")  # the coverages every estimate carries, as the JSON keys spell them


def conformal_quantile(scores: np.ndarray, coverage: float) -> float:
    """Split-conformal quantile of ``scores``: (N,) or (N dives, K marks).

    The finite-sample correction counts dives, not marks (the marks of one dive are not
    exchangeable with each other): the ceil((N + 1) c) / N quantile of all values, the largest
    when N is too small for the coverage.
    """
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0:
        raise ValueError("conformal calibration needs at least one validation score")
    dives = values.shape[0]
    share = min(1.0, math.ceil((dives + 1) * coverage) / dives)
    flat = np.sort(values.ravel())
    return float(flat[max(1, math.ceil(share * flat.size)) - 1])


@dataclass(frozen=True)
class Calibration:
    judge_q: dict[str, float]  # coverage -> conformal quantile of normalised judge-mark errors
    final_q: dict[str, float]  # coverage -> the same for the final score, in kept-judge-sum units
    judge_floor: float  # judge marks
    final_floor: float  # points of the kept judges' sum
    level_bounds: tuple[float, float]  # 95% half-width / scale separating low | medium | high
    dives: int  # validation dives it was fitted on
    mark_range: tuple[float, float] = (0.0, 10.0)

    def judge_interval(self, point: float, spread: float, level: str) -> tuple[float, float]:
        half = self.judge_q[level] * (spread + self.judge_floor)
        low, high = self.mark_range
        return max(low, point - half), min(high, point + half)

    def final_interval(self, point: float, spread: float, scale: float, level: str, ceiling: float = math.inf) -> tuple[float, float]:
        """``spread`` in final-score points; ``scale`` is DD x multiplier (1 for a score without DD).

        ``ceiling``: the most the dive can score (``Method.final_ceiling``). The true final never lies
        above it, so cutting the interval there keeps every covered truth and only drops a range a
        judge knows is impossible (a 95% interval reached 103.6 for a dive whose best is 102.0).
        """
        half = self.final_q[level] * (spread / scale + self.final_floor) * scale
        return min(max(0.0, point - half), ceiling), min(point + half, ceiling)

    def calibrated_final(self, final: Estimate, scale: float, ceiling: float = math.inf) -> Estimate:
        """A method's final estimate with its calibrated intervals, none above ``ceiling`` (``Method.final_ceiling``)."""
        return calibrated(final, lambda level: self.final_interval(final.score, final.std, scale, level, ceiling))

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "normalised split conformal on the validation split",
            "judge_q": self.judge_q,
            "final_q": self.final_q,
            "judge_floor": self.judge_floor,
            "final_floor": self.final_floor,
            "level_bounds": list(self.level_bounds),
            "dives": self.dives,
            "mark_range": list(self.mark_range),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            judge_q={str(k): float(v) for k, v in data.get("judge_q", {}).items()},
            final_q={str(k): float(v) for k, v in data["final_q"].items()},
            judge_floor=float(data.get("judge_floor", 0.0)),
            final_floor=float(data["final_floor"]),
            level_bounds=(float(data["level_bounds"][0]), float(data["level_bounds"][1])),
            dives=int(data["dives"]),
            mark_range=tuple(float(v) for v in data.get("mark_range", (0.0, 10.0))),  # type: ignore[arg-type]
        )


def calibrated(est: Estimate, interval: Callable[[str], tuple[float, float]]) -> Estimate:
    """``est`` with calibrated intervals at every level; low/high become the calibrated 95% one."""
    intervals = {level: interval(level) for level in LEVELS}
    return dataclasses.replace(est, intervals=intervals, low=intervals["0.95"][0], high=intervals["0.95"][1])


# Marks are half points: a spread under a quarter point tells nothing, and a method whose
# distributions collapse to a point (an undertrained UD-AQA) would otherwise divide by zero.
MIN_FLOOR = 0.25


def fit_calibration(
    final_pred: np.ndarray,
    final_spread: np.ndarray,
    final_true: np.ndarray,
    scale: np.ndarray,
    judge_pred: np.ndarray | None = None,
    judge_spread: np.ndarray | None = None,
    judge_true: np.ndarray | None = None,
    mark_range: tuple[float, float] = (0.0, 10.0),
) -> Calibration:
    """Fit on validation: finals (N,) with their spreads and DD x multiplier; judges (N, K) when the method gives them."""
    scale = np.asarray(scale, dtype=np.float64)
    rel_spread = np.asarray(final_spread, dtype=np.float64) / scale
    final_floor = max(float(np.median(rel_spread)), MIN_FLOOR)
    final_r = np.abs(np.asarray(final_true) - np.asarray(final_pred)) / scale / (rel_spread + final_floor)
    final_q = {level: conformal_quantile(final_r, float(level)) for level in LEVELS}
    half_widths = final_q["0.95"] * (rel_spread + final_floor)
    bounds = np.quantile(half_widths, [1 / 3, 2 / 3])
    judge_q: dict[str, float] = {}
    judge_floor = 0.0
    if judge_pred is not None and judge_spread is not None and judge_true is not None:
        spread = np.asarray(judge_spread, dtype=np.float64)
        judge_floor = max(float(np.median(spread)), MIN_FLOOR)
        judge_r = np.abs(np.asarray(judge_true) - np.asarray(judge_pred)) / (spread + judge_floor)
        judge_q = {level: conformal_quantile(judge_r, float(level)) for level in LEVELS}
    return Calibration(judge_q, final_q, judge_floor, final_floor, (float(bounds[0]), float(bounds[1])), len(final_r), mark_range)


def coverage(true: np.ndarray, intervals: np.ndarray) -> float:
    """Share of ``true`` values inside their ``(..., 2)`` intervals (bounds included)."""
    t = np.asarray(true, dtype=np.float64)
    iv = np.asarray(intervals, dtype=np.float64)
    return float(np.mean((t >= iv[..., 0] - 1e-9) & (t <= iv[..., 1] + 1e-9)))
