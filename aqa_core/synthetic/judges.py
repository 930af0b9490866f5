"""A seven-judge panel whose statistics are fitted to real panels (MTL-AQA).

Each judge j scores ``m + bias_j + scale_j * sigma(m) * e`` (e standard normal), clamped to
[0, 10] and rounded to half points, where m is the dive's latent panel mean. ``sigma(m)`` is a
curve over m because real panels disagree more on mediocre dives (about 0.48 points of spread at
a mean of 5) than on excellent ones (about 0.26 at 9). The parameters live in
``resources/synthetic/judge_model.json``; ``aqa_core.synthetic.fit`` re-fits them from the CSV.

Quality -> panel mean is a quantile mapping: a quality's rank under the generator's own fault
prior is looked up in the real distribution of panel means, so synthetic datasets drawn from the
prior have the real score distribution (long low tail included).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from aqa_core.paths import resource
from aqa_core.synthetic.faults import quality_from_fault_matrix, sample_fault_matrix

PANEL_SIZE = 7


def judge_model_path() -> Path:
    return resource("synthetic", "judge_model.json")


def round_half(x: np.ndarray) -> np.ndarray:
    """Clamp to [0, 10] and round to the half points judges may award."""
    return np.clip(np.round(np.asarray(x, dtype=np.float64) * 2.0) / 2.0, 0.0, 10.0) + 0.0  # + 0.0 turns -0.0 into 0.0


@dataclass(frozen=True)
class JudgeModel:
    panel_mean_quantiles: list[float]  # real panel means at 0%, 1%, ..., 100%
    judge_bias: list[float]  # per judge, points
    judge_scale: list[float]  # per judge, multiplies sigma(m)
    noise_panel_mean: list[float]  # where sigma(m) is tabulated (increasing)
    noise_sigma: list[float]  # sigma at those panel means (linear in between, flat outside)
    dive_mix: list[dict]  # {"dive_number", "difficulty", "count"} from the real dives
    target: dict  # the real statistics the fit aimed at (for tests and the data card)
    source: str

    @classmethod
    def load(cls, path: Path | None = None) -> JudgeModel:
        path = path or judge_model_path()
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def save(self, path: Path | None = None) -> Path:
        path = path or judge_model_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f" {json.dumps(key)}: {json.dumps(value)}" for key, value in asdict(self).items()]
        path.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
        return path

    def sigma(self, panel_mean: np.ndarray) -> np.ndarray:
        return np.interp(panel_mean, self.noise_panel_mean, self.noise_sigma)

    def panel_mean(self, quality: float) -> float:
        """Latent panel mean (0-10) of a dive of the given quality."""
        rank = float(np.searchsorted(_prior_qualities(), quality) / len(_prior_qualities()))
        levels = np.linspace(0.0, 1.0, len(self.panel_mean_quantiles))
        return float(np.interp(rank, levels, self.panel_mean_quantiles))

    def sample_scores(self, rng: np.random.Generator, panel_means: np.ndarray) -> np.ndarray:
        """Half-point scores of the seven judges for each latent panel mean: shape (n, 7)."""
        panel_means = np.asarray(panel_means, dtype=np.float64).reshape(-1, 1)
        noise = rng.standard_normal((panel_means.shape[0], PANEL_SIZE))
        raw = panel_means + np.asarray(self.judge_bias) + np.asarray(self.judge_scale) * self.sigma(panel_means) * noise
        return round_half(raw)


@lru_cache(maxsize=1)
def _prior_qualities() -> np.ndarray:
    """Sorted qualities of 20000 dives drawn from the fault prior (a fixed seed: deterministic)."""
    return np.sort(quality_from_fault_matrix(sample_fault_matrix(np.random.default_rng(20240521), 20000)))


@lru_cache(maxsize=1)
def default_judge_model() -> JudgeModel:
    return JudgeModel.load()
