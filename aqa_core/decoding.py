"""Turning predicted score distributions into point scores, spreads and an uncertainty verdict.

Two decodings: ``argmax`` (the papers' Eqn 4: the most probable bin) and ``expectation`` (the
mean of the distribution, smoother and not tied to the bin grid). Whatever the decoding, every
``Estimate`` also carries the mean, standard deviation, entropy and the central 95% interval so
the app can show how sure the model is, not just what it says.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import entr, softmax

from aqa_core.option_names import DECODINGS
from aqa_core.result import Damage, DiveInfo, Estimate, Familiarity, Uncertainty
from aqa_core.rules.panel import SYNCHRO_MULTIPLIER

INTERVAL = (0.025, 0.975)  # central 95%

# Uncertainty levels are judged on the 95% half-width divided by DD x multiplier, i.e. in points of
# the kept judges' sum, so a 3.8-DD dive is not called "uncertain" just because DD magnifies it.
# 1.5 is about half a mark on each of the three kept judges (the smallest step a judge can make),
# 3.0 about a full mark each; above that the model cannot tell a good dive from a poor one.
LOW_MAX = 1.5
MEDIUM_MAX = 3.0
# A calibrated bundle's terciles rank a dive among its validation dives; they are used only where
# those dives' widths differ by at least this ratio (upper over lower tercile). The demo model's
# 45 validation widths sat within 4% (5.42 and 5.62 per point), so two dives ±16.0 and ±16.1
# points wide read "high" and "low" side by side.
RANKING_MIN_RATIO = 1.25
LEVELS = ("low", "medium", "high")
JUDGE_SPREAD = 1.0  # marks more than one point apart: "judges disagree" (18% of real MTL-AQA 7-judge panels)


def check_decoding(decoding: str) -> str:
    if decoding not in DECODINGS:
        raise ValueError(f"unknown decoding {decoding!r}; use one of {', '.join(DECODINGS)}")
    return decoding


def probabilities(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in float64 so tiny tails still sum to one."""
    return softmax(np.asarray(logits, dtype=np.float64), axis=-1)


def entropy(weights: np.ndarray) -> float:
    """Shannon entropy (nats) of ``weights`` normalised to sum to one.

    ``scipy.stats.entropy``'s own formula on ``scipy.special.entr``: importing scipy.stats would
    cost every ``aqa-judge score`` most of a second before its first clip.
    """
    p = np.asarray(weights, dtype=np.float64)
    return float(entr(p / p.sum()).sum())


def point(dist: np.ndarray, values: np.ndarray, decoding: str) -> float:
    if check_decoding(decoding) == "argmax":
        return float(values[int(np.argmax(dist))])
    return float(np.dot(dist, values))


def estimate(dist: np.ndarray, values: np.ndarray, decoding: str) -> Estimate:
    """Decode one distribution over ``values``; the interval uses the discrete CDF (bin values)."""
    dist = np.asarray(dist, dtype=np.float64)
    mean = float(np.dot(dist, values))
    cdf = np.cumsum(dist) / dist.sum()
    low, high = (float(values[min(int(np.searchsorted(cdf, q)), len(values) - 1)]) for q in INTERVAL)
    return Estimate(
        score=point(dist, values, decoding),
        expectation=mean,
        std=float(np.sqrt(np.dot(dist, (values - mean) ** 2))),
        entropy=entropy(dist),
        low=low,
        high=high,
    )


def sample(dists: np.ndarray, values: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` independent draws from each of ``P`` distributions: ``(P, bins) -> (n, P)`` values.

    Inverse-CDF sampling, vectorised over samples and paths.
    """
    cdf = np.cumsum(dists, axis=-1)
    cdf /= cdf[:, -1:]
    u = rng.random((n, dists.shape[0], 1))
    index = np.minimum((u > cdf[None]).sum(axis=-1), dists.shape[1] - 1)
    return values[index]


def estimate_from_samples(samples: np.ndarray, score: float) -> Estimate:
    """Summarise Monte Carlo draws of a score (the rule-propagated final); ``score`` is the decoded point."""
    _, counts = np.unique(samples, return_counts=True)
    low, high = np.quantile(samples, INTERVAL, method="inverted_cdf")
    return Estimate(
        score=score,
        expectation=float(samples.mean()),
        std=float(samples.std()),
        entropy=entropy(counts),
        low=float(low),
        high=float(high),
    )


def score_scale(dive: DiveInfo) -> float:
    """DD x multiplier: how far one point of the kept judges' sum moves the final score."""
    return dive.difficulty * (float(SYNCHRO_MULTIPLIER) if dive.event == "synchronised" else 1.0)


def assess_uncertainty(
    final: Estimate,
    scale: float,
    judge_scores: Sequence[float] = (),
    bounds: tuple[float, float] | None = None,
    familiarity: Familiarity | None = None,
) -> Uncertainty:
    """Level and plain-words reasons; ``scale`` is DD x multiplier (1 when the score has no DD).

    The level is the higher of two readings of the 95% half-width per scale: in marks (LOW_MAX,
    about half a mark on each counted judge, and MEDIUM_MAX, a full mark: a wide interval is never
    "low") and, given ``bounds`` (a calibrated bundle's terciles of its validation dives' widths,
    aqa_core.calibration) that differ by RANKING_MIN_RATIO or more, this dive's rank among dives
    whose intervals are known to hold. Unfamiliar footage is always "high": no interval fitted on
    other footage holds for it; footage beyond the calibrated range
    (``Familiarity.beyond_calibration``) at least "medium".
    """
    half_width = (final.high - final.low) / 2.0
    relative = half_width / scale

    def level_within(low_max: float, medium_max: float) -> int:
        return 0 if relative <= low_max else 1 if relative <= medium_max else 2

    in_marks = level_within(LOW_MAX, MEDIUM_MAX)
    ranked = level_within(*bounds) if bounds is not None and bounds[1] >= RANKING_MIN_RATIO * bounds[0] else 0
    level = LEVELS[max(in_marks, ranked)]
    reasons = []
    what = "calibrated 95% interval" if final.intervals else "95% range of the distribution"
    if in_marks:  # what the width means to a judge, not the width again (the line shows it)
        mark = "a full mark" if in_marks == 2 else "half a mark"
        # per point of the counted marks' sum (three marks; 0.6 x five synchronised): a third of it per mark
        reasons.append(f"the {what} is about ±{relative / 3:.1f} marks on each counted judge, more than {mark}")
    if ranked > in_marks:
        reasons.append(f"the {what} is wider than {'two thirds' if ranked == 2 else 'a third'} of this model's validation dives'")
    if familiarity is not None and familiarity.message:
        reasons.insert(0, familiarity.message)
        level = "high" if familiarity.unfamiliar else "medium" if level == "low" else level
    if len(judge_scores) and max(judge_scores) - min(judge_scores) > JUDGE_SPREAD:
        reasons.append(f"judges disagree: predicted marks range from {min(judge_scores):g} to {max(judge_scores):g}")
        level = "medium" if level == "low" else level
    return Uncertainty(level=level, value=half_width, reasons=reasons)


def damaged(uncertainty: Uncertainty, damage: Damage) -> Uncertainty:
    """Damaged footage (FFmpeg's decoding errors in the window) is "high", its reason first: no interval holds for it."""
    return Uncertainty(level="high", value=uncertainty.value, reasons=[damage.message, *uncertainty.reasons])
