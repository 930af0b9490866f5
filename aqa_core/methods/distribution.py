"""USDL and MUSDL (Tang et al., CVPR 2020): backbone -> neck -> temporal aggregation -> score distributions.

Config shape (also what a bundle stores)::

    {"method": "musdl",                          # optional: defaults to the head's name
     "backbone": {"name": "i3d", "pretrained": true},
     "segmentation": "usdl_10x16",
     "neck": {"name": "standardize"},            # optional; default identity
     "aggregation": {"name": "average"},
     "head": {"name": "musdl", "judges": 7, "in_dim": 1024}}

The backbone is frozen (the papers fine-tune only the MLP head on I3D features), so only the
neck (its fitted statistics), aggregator and head are "trainable parts" saved in a bundle. The
trainer works on cached features and builds the method with ``with_backbone=False``.

USDL predicts the final score's distribution (one path); MUSDL one distribution per judge, path k
the k-th smallest mark, and the final comes from the diving rule on the decoded marks x DD.
USDL_DD (the seed's Table 4) is USDL per point of DD: its one path learns final / DD, which is
the counted marks' sum (0.6 x it for synchronised events: 0-30 either way), and the final is the
decoded value x the dive's DD (``PerDifficulty``). On real MTL-AQA the seed reports USDL 0.9066
and USDL_DD 0.9231.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

import aqa_core.aggregation  # noqa: F401  (registers aggregators)
import aqa_core.heads  # noqa: F401  (registers heads)
from aqa_core.calibration import Calibration, calibrated
from aqa_core.decoding import estimate, point
from aqa_core.errors import ConfigError
from aqa_core.heads import DistributionHead, HeadOutput
from aqa_core.heads.panel import clip_final, panel_estimate, panel_paths, rule_on_marks
from aqa_core.losses import musdl_loss, regression_loss, usdl_loss
from aqa_core.methods.base import Batch, DivePrediction, Method, finite_probabilities, require_one_feature_width
from aqa_core.neck import NECKS
from aqa_core.registry import AGGREGATORS, BACKBONES, HEADS, METHODS
from aqa_core.result import DiveInfo, Estimate, JudgeEstimate

DEFAULT_AGGREGATION = {"name": "average"}
DEFAULT_NECK = {"name": "identity"}


class DistributionMethod(Method):
    """The shared body of USDL and MUSDL; subclasses say what the paths mean and how they become a final."""

    losses = ("kl",)

    def __init__(self, config: Mapping[str, Any], with_backbone: bool = True, loss: str = "kl", sigma: float | None = None) -> None:
        super().__init__()
        self.config = dict(config)
        if loss not in self.losses:
            raise ConfigError(f"method {self.name!r} trains with loss {', '.join(self.losses)}, not {loss!r}")
        if not isinstance(self.config.get("head"), Mapping):
            raise ConfigError(f"method {self.name!r} needs a head (\"head\": {{\"name\": ...}})")
        self.aggregator: nn.Module = AGGREGATORS.build(self.config.get("aggregation", DEFAULT_AGGREGATION))
        self.head: DistributionHead = HEADS.build(self.config["head"])
        self.neck: nn.Module = NECKS.build({**self.config.get("neck", DEFAULT_NECK), "dim": self.head.in_dim})
        self.loss_kind = loss
        spacing = float(self.head.bin_values[1] - self.head.bin_values[0])
        self.sigma = sigma if sigma is not None else 5.0 * spacing  # the seed code: std 5 bins
        self.backbone = None
        if with_backbone:
            import aqa_core.backbones  # noqa: F401  (registers backbones; heavy, so only when needed)

            self.backbone = BACKBONES.build(self.config["backbone"])
            self.backbone.requires_grad_(False)
            self.backbone.eval()
        require_one_feature_width({"head.in_dim": self.head.in_dim, "aggregation.in_dim": getattr(self.aggregator, "in_dim", None),
                                   "backbone.feature_dim": getattr(self.backbone, "feature_dim", None)})

    @classmethod
    def score_values(cls, config: Mapping[str, Any]) -> np.ndarray:
        return HEADS.build(config["head"]).bin_values.numpy().astype(np.float64)  # the head's own bins (a small MLP: ms)

    @property
    def panel(self) -> int:
        return self.head.paths

    @property
    def bin_values(self) -> torch.Tensor:
        return self.head.bin_values

    @property
    def values(self) -> np.ndarray:
        """The bins' score values as float64, what decoding runs against."""
        return self.head.bin_values.detach().cpu().numpy().astype(np.float64)

    def pooled_logits(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, N, D)`` clip features -> ``(B, P, bins)``: the head on the aggregated feature."""
        return self.head(self.aggregator(self.neck(features)))

    def clip_logits(self, features: torch.Tensor) -> torch.Tensor:
        """``(..., D)`` clip features -> ``(..., P, bins)``: the head on each clip's own feature."""
        return self.head(self.neck(features))

    def head_forward(self, features: torch.Tensor) -> HeadOutput:
        """``(B, N, D)`` clip features -> per-clip and pooled logits."""
        return HeadOutput(clip_logits=self.clip_logits(features), logits=self.pooled_logits(features))

    def forward(self, clips: torch.Tensor) -> HeadOutput:
        """``(B, N, 3, T, H, W)`` clips -> ``HeadOutput``."""
        return self.head_forward(self.encode({"clips": clips}))

    def loss(self, batch: Batch) -> torch.Tensor:
        logits = self.pooled_logits(self.encode(batch))
        if not len(logits):  # a rank with nothing in the micro-batch must still join DDP's all-reduce
            return logits.sum() * 0.0
        if self.loss_kind != "kl":
            expected = torch.softmax(logits[:, 0].float(), dim=-1) @ self.bin_values
            return regression_loss(expected, self.score_target(batch).to(logits.device), self.loss_kind)
        return self.distribution_loss(logits, batch)

    def score_target(self, batch: Batch) -> torch.Tensor:
        """What a single score path learns (the regression losses): the final score."""
        return batch["final"]

    def distribution_loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        raise NotImplementedError

    def _pooled_probabilities(self, batch: Batch) -> np.ndarray:
        with torch.no_grad():
            return finite_probabilities(self.pooled_logits(self.encode(batch)), "pooled logits")

    def predict(self, batch: Batch, decoding: str, calibration: Calibration | None = None) -> list[DivePrediction]:
        out = []
        for dists, dive in zip(self._pooled_probabilities(batch), batch["dives"], strict=True):
            aggregate = dists[self.serving_paths(dive)]
            judges, final = self.estimates(aggregate, dive, decoding, calibration)
            out.append(DivePrediction(judges, final, self.uncertainty_scale(dive, calibrated=True), aggregate))
        return out

    def estimates(self, aggregate: np.ndarray, dive: DiveInfo, decoding: str, calibration: Calibration | None) -> tuple[list[JudgeEstimate], Estimate]:
        """Pooled ``(paths, bins)`` probabilities of the serving paths -> judges and final, calibrated when possible."""
        raise NotImplementedError

    def _calibrated_final(self, final: Estimate, dive: DiveInfo, calibration: Calibration | None) -> Estimate:
        if calibration is None:
            return final
        return calibration.calibrated_final(final, self.uncertainty_scale(dive, calibrated=True), self.final_ceiling(dive))

    def clip_scores(self, features: torch.Tensor, dive: DiveInfo, decoding: str) -> list[tuple[np.ndarray, float]]:
        with torch.no_grad():
            dists = finite_probabilities(self.clip_logits(features.float()), "clip logits")[:, self.serving_paths(dive)]
        return [(clip, self.clip_score(clip, dive, decoding)) for clip in dists]

    def clip_score(self, dists: np.ndarray, dive: DiveInfo, decoding: str) -> float:
        raise NotImplementedError


class PerDifficulty:
    """A USDL-family method whose score path learns the final per point of DD, decoded x the dive's DD.

    What it changes, all through class attributes the base classes read: the target is final / DD
    (``USDL.score_target``; the counted marks' sum, 0.6 x it for synchronised events, so 0-30 either
    way: the head's bins span that, not the final's 0-110), the decoded score is multiplied by the
    typed DD (``USDL.final_factor``), every dive must have a DD, a stored result rescales with DD and
    its interval width is judged per DD (``scales_with_difficulty``, as MUSDL's). Why: a method that
    predicts the final itself must read the DD from the footage, which the typed sheet gives exactly.
    """

    name: ClassVar[str]
    per_difficulty: ClassVar[bool] = True
    scales_with_difficulty: ClassVar[bool] = True
    target: ClassVar[str] = "per_dd"

    @classmethod
    def label_problem(cls, config: Mapping[str, Any], judge_scores: Sequence[float] | None, difficulty: float | None) -> str | None:
        if not difficulty:
            return f"method {cls.name!r} learns the final score per point of DD (final / DD): this dive has no DD"
        return None


@METHODS.register("usdl")
class USDL(DistributionMethod):
    """One distribution over the final score; DD never enters it (the head learns it from the labels)."""

    name = "usdl"
    losses = ("kl", "mse", "l1", "ridge")  # ridge: trainer/ridge.py writes a closed-form fit into a linear head
    target = "final"
    per_difficulty: ClassVar[bool] = False  # PerDifficulty: the path learns final / DD

    def final_factor(self, dive: DiveInfo) -> float:
        """What the decoded path value is multiplied by to give the final: the DD per point of DD, else 1."""
        return dive.difficulty if self.per_difficulty else 1.0

    def score_target(self, batch: Batch) -> torch.Tensor:
        """The final score, or final / DD per point of DD."""
        final = batch["final"]
        if not self.per_difficulty:
            return final
        return final / torch.tensor([d.difficulty for d in batch["dives"]], dtype=final.dtype, device=final.device)

    def distribution_loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        return usdl_loss(logits, self.score_target(batch).to(logits.device), self.bin_values, self.sigma)

    def serving_paths(self, dive: DiveInfo) -> list[int]:
        return list(range(self.head.paths))

    def point_scores(self, batch: Batch, decoding: str) -> tuple[np.ndarray, np.ndarray | None]:
        values = self.values
        probabilities = self._pooled_probabilities(batch)
        return np.array([point(p[0], values, decoding) * self.final_factor(d) for p, d in zip(probabilities, batch["dives"], strict=True)]), None

    def estimates(self, aggregate: np.ndarray, dive: DiveInfo, decoding: str, calibration: Calibration | None) -> tuple[list[JudgeEstimate], Estimate]:
        final = estimate(aggregate[0], self.values, decoding).scaled(self.final_factor(dive))
        return [], self._calibrated_final(final, dive, calibration)

    def clip_score(self, dists: np.ndarray, dive: DiveInfo, decoding: str) -> float:
        return point(dists[0], self.values, decoding) * self.final_factor(dive)


@METHODS.register("usdl_dd")
class USDLDD(PerDifficulty, USDL):
    """USDL_DD (the seed's Table 4): one distribution over final / DD (bins over 0-30), the final is it x DD."""

    name = "usdl_dd"


@METHODS.register("musdl")
class MUSDL(DistributionMethod):
    """One distribution per judge (path k: the k-th smallest mark); the final is the rule on the marks x DD."""

    name = "musdl"
    scales_with_difficulty = True
    target = "judges"

    @classmethod
    def label_problem(cls, config: Mapping[str, Any], judge_scores: Sequence[float] | None, difficulty: float | None) -> str | None:
        judges = config["head"].get("judges", 7)
        if judge_scores is None or len(judge_scores) != judges:
            return f"a MUSDL head with {judges} judges needs {judges} judge scores"
        if difficulty is None:
            return "a MUSDL head needs the dive's difficulty (DD)"
        return None

    def distribution_loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        return musdl_loss(logits, batch["judges"].to(logits.device), self.bin_values, self.sigma)

    def serving_paths(self, dive: DiveInfo) -> list[int]:
        return panel_paths(self.head.paths, dive, self.counted)

    def point_scores(self, batch: Batch, decoding: str) -> tuple[np.ndarray, np.ndarray | None]:
        values = self.values
        dives = batch["dives"]
        points = np.array([[point(p, values, decoding) for p in sample] for sample in self._pooled_probabilities(batch)])  # (N, P)
        ordered = np.array([d.event == "individual" or self.counted for d in dives])
        points[ordered] = np.sort(points[ordered], axis=1)  # path k is the k-th smallest mark (heads.panel.ordered)
        finals = np.array([rule_on_marks(marks.tolist(), dive, self.counted).final for marks, dive in zip(points, dives, strict=True)])
        return finals, points

    def estimates(self, aggregate: np.ndarray, dive: DiveInfo, decoding: str, calibration: Calibration | None) -> tuple[list[JudgeEstimate], Estimate]:
        panel = panel_estimate(aggregate, self.values, dive, decoding, self.counted)
        ests = panel.judges
        if calibration is not None and calibration.judge_q:
            ests = [calibrated(e, lambda level, e=e: calibration.judge_interval(e.score, e.std, level)) for e in ests]
        judges = [
            JudgeEstimate(index=i, estimate=est, distribution=aggregate[i].tolist(), dropped=dropped)
            for i, (est, dropped) in enumerate(zip(ests, panel.dropped, strict=True))
        ]
        return judges, self._calibrated_final(panel.final, dive, calibration)

    def clip_score(self, dists: np.ndarray, dive: DiveInfo, decoding: str) -> float:
        return clip_final(dists, self.values, dive, decoding, self.counted)
