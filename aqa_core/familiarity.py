"""Has the model seen footage like this? A compact Gaussian summary of the training dives' features.

A model trained on one kind of footage (the demo model: synthetic dives) still prints confident
numbers for anything else. What it has seen is the training split's backbone features, so the
bundle keeps a summary of them: each dive's clip features averaged, standardised per dimension,
and modelled as a Gaussian in its top principal directions plus an isotropic residual (a
probabilistic-PCA-like Mahalanobis distance; a full 1024 x 1024 covariance from a few hundred
dives is singular). The distance of a new video is

    d = sqrt((sum_k z_k^2 / var_k + |residual|^2 / var_residual) / D)

and the footage is "unfamiliar" above a threshold fitted on validation dives (dives the summary
was not fitted on, so their distances are what held-out footage of the same kind gives).
Between the farthest validation dive and the threshold the footage is of the familiar kind
but farther out than any dive the intervals were calibrated on (the demo model: other synthetic
venues, where its errors are biased and its intervals cover less), and the result says so.
Kept as JSON numbers (a few thousand) so it travels in ``bundle.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

COMPONENTS = 16
THRESHOLD_MARGIN = 3.0  # x the largest validation distance: see fit_familiarity


@dataclass(frozen=True)
class FeatureSummary:
    mean: np.ndarray  # (D,) of the training dives' pooled raw features
    std: np.ndarray  # (D,)
    components: np.ndarray  # (k, D) orthonormal principal directions of the standardised features
    variances: np.ndarray  # (k,)
    residual_variance: float  # per dimension, outside the k directions
    threshold: float
    dives: int  # training dives summarised
    validation_max: float = float("inf")  # farthest validation dive: the intervals were calibrated up to here

    def distance(self, features: np.ndarray) -> np.ndarray:
        """``(clips, D)`` features of one dive -> a scalar; ``(N, clips, D)`` -> ``(N,)``."""
        x = np.asarray(features, dtype=np.float64)
        pooled = x.mean(axis=-2)
        z = (pooled - self.mean) / self.std
        proj = z @ self.components.T
        residual = np.sum(z * z, axis=-1) - np.sum(proj * proj, axis=-1)
        d2 = np.sum(proj * proj / self.variances, axis=-1) + np.maximum(residual, 0.0) / self.residual_variance
        return np.sqrt(d2 / z.shape[-1])

    def to_dict(self) -> dict[str, Any]:
        def floats(a: np.ndarray) -> list:
            return np.round(np.asarray(a, dtype=np.float64), 6).tolist()

        return {
            "method": f"Gaussian: top {len(self.variances)} principal directions + isotropic residual of standardised, clip-averaged backbone features",
            "mean": floats(self.mean),
            "std": floats(self.std),
            "components": floats(self.components),
            "variances": floats(self.variances),
            "residual_variance": float(self.residual_variance),
            "threshold": float(self.threshold),
            "validation_max": float(self.validation_max),
            "dives": self.dives,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSummary:
        return cls(
            mean=np.asarray(data["mean"], dtype=np.float64),
            std=np.asarray(data["std"], dtype=np.float64),
            components=np.asarray(data["components"], dtype=np.float64),
            variances=np.asarray(data["variances"], dtype=np.float64),
            residual_variance=float(data["residual_variance"]),
            threshold=float(data["threshold"]),
            dives=int(data["dives"]),
            validation_max=float(data.get("validation_max", float(data["threshold"]) / THRESHOLD_MARGIN)),
        )


def summarise(train: np.ndarray, components: int = COMPONENTS) -> FeatureSummary:
    """Fit the Gaussian on training features ``(N, clips, D)``; the threshold is set by ``fit_familiarity``."""
    pooled = np.asarray(train, dtype=np.float64).mean(axis=1)
    mean = pooled.mean(axis=0)
    std = np.maximum(pooled.std(axis=0), 1e-6)
    z = (pooled - mean) / std
    k = max(1, min(components, z.shape[0] - 1))
    _, singular, vt = np.linalg.svd(z, full_matrices=False)
    variances = np.maximum(singular**2 / z.shape[0], 1e-6)
    residual = max(float(variances[k:].sum()) / max(z.shape[1] - k, 1), 1e-6)
    return FeatureSummary(mean, std, vt[:k], variances[:k], residual, float("inf"), int(pooled.shape[0]))


def fit_familiarity(train: np.ndarray, val: np.ndarray, components: int = COMPONENTS) -> FeatureSummary:
    """Summary of ``train`` with its threshold at THRESHOLD_MARGIN x the largest ``val`` distance.

    Why the maximum and a margin rather than a quantile: a quantile flags that share of familiar
    footage by construction, and a new venue of the same kind of dive sits farther out than the
    training venue's own held-out dives. Measured on the demo model (16 directions, validation
    maximum 1.74): held-out dives of its venue reach 0.83x that maximum, three new synthetic
    venues 1.05x, 1.85x and 2.15x, the two real Olympic clips 7.3x and 11.7x; a margin of 3
    sits between with room on both sides. It is a design constant chosen on those numbers, not
    a property of every model: bench_trust.py measures it again for any bundle.
    """
    summary = summarise(train, components)
    farthest = float(np.max(summary.distance(val)))
    return FeatureSummary(**{**summary.__dict__, "threshold": THRESHOLD_MARGIN * farthest, "validation_max": farthest})
