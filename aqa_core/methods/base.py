"""The method interface: build from the config, ``loss(batch)``, ``predict(batch)``.

A batch is a dict, the same for training, evaluation and scoring:

    {"features": (B, N, D) clip features   or   "clips": (B, N, 3, T, H, W) clips,
     "final": (B,) final scores,           # training only
     "judges": (B, K) marks, ascending,    # training only, for methods that learn judges
     "dives": [DiveInfo, ...]}             # one per dive: event, panel, DD

Why a method and not a head name: what a model is (what its bins mean, whether DD scales its
output, which labels it needs, how its spread becomes an uncertainty) used to be decided by
comparing head-name strings in nine places; each of those questions is now a method attribute or
method, answered by the one class that knows.

The config names the method with ``"method"``; configs and bundles written before methods existed
name only a head, whose name is the method's (usdl, musdl), so they build the same model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from aqa_core.errors import AQAError, ConfigError
from aqa_core.option_names import method_name
from aqa_core.registry import METHODS
from aqa_core.result import Commentary, DiveInfo, Estimate, ExemplarVotes, JudgeEstimate, JudgeSamples, RecognisedDive, ScoreResult

Batch = dict[str, Any]
# What a method's bins stand for, by its target: a per-DD axis is labelled as such, never as the final.
AXIS_LABELS = {"judges": "judge's mark (0–10)", "final": "final score (points)", "per_dd": "per point of DD: final ÷ DD (0–30)"}


class NonFiniteScores(AQAError):
    """Features, logits or probabilities hold NaN or infinity: no score exists, so none is shown."""


@dataclass
class DivePrediction:
    """What a method says about one dive, decoded: its judges (if it has any) and its final, with intervals."""

    judges: list[JudgeEstimate]
    final: Estimate
    scale: float  # what the final's width is judged per: DD x multiplier when DD scales the output, else 1
    distributions: np.ndarray  # (paths, bins) pooled probabilities of the serving paths
    samples: JudgeSamples | None = None  # a method that samples its judges: the panels drawn and its uncertainty
    recognised: RecognisedDive | None = None  # a method that recognises dives: what it sees, and any mismatch
    exemplars: ExemplarVotes | None = None  # a method that scores by comparison: the exemplars and their votes
    commentary: Commentary | None = None  # a method that writes commentary: its line and caveat


def method_class(config_or_name: Mapping[str, Any] | str) -> type[Method]:
    """The registered class of a method, from its name or from a model config."""
    import aqa_core.methods  # noqa: F401  (registers the methods)

    name = config_or_name if isinstance(config_or_name, str) else method_name(config_or_name)
    return METHODS.get(name)


def build_method(config: Mapping[str, Any], with_backbone: bool = True, **objective: Any) -> Method:
    """Build the method a model config names; ``objective`` is the training loss's settings (loss, sigma)."""
    return method_class(config)(config, with_backbone=with_backbone, **objective)


def require_one_feature_width(parts: Mapping[str, int | None]) -> None:
    """Every part that reads the clip features takes the same width, checked when the method is built.

    ``parts`` maps a config key ("aggregation.in_dim", "backbone.feature_dim"...) to the width it
    declares (None: the part declares none). A mismatch used to surface only at the first training
    batch, as a matrix-shape error naming no setting.
    """
    known = {key: width for key, width in parts.items() if width is not None}
    if len(set(known.values())) > 1:
        raise ConfigError("the parts disagree on the clip features' width: "
                          + ", ".join(f"{key} {width}" for key, width in known.items()) + " (each must be the backbone's feature_dim)")


class Method(nn.Module):
    """Base of every method: the interface the trainer, scorer, evaluation and app call.

    Class attributes answer what callers used to infer from a head name:
    ``scales_with_difficulty`` (the final is marks x DD, so a cached result rescales with DD and its
    width is judged per DD), ``losses`` (the training losses it accepts), ``target`` ("final",
    "judges" or "per_dd": which labels its score range must span, final / DD for the last).
    """

    name: ClassVar[str]
    scales_with_difficulty: ClassVar[bool] = False
    losses: ClassVar[tuple[str, ...]] = ("kl",)
    target: ClassVar[str] = "final"

    config: dict[str, Any]
    backbone: nn.Module | None

    # --- what a config and a dataset must provide ---------------------------------------------

    @classmethod
    def label_problem(cls, config: Mapping[str, Any], judge_scores: Sequence[float] | None, difficulty: float | None) -> str | None:
        """Why one dive's labels cannot train this method, or None."""
        return None

    @classmethod
    def uncertainty_scale(cls, dive: DiveInfo, calibrated: bool) -> float:
        """What a final's 95% width is divided by before its level is judged (``assess_uncertainty``'s scale).

        A final that is DD x multiplier x the kept marks has its width judged per point of the kept
        judges' sum. A calibrated method that predicts the final itself has level bounds in
        final-score points (DD never enters it), so 1; an uncalibrated one keeps the per-DD rule.
        """
        from aqa_core.decoding import score_scale

        return score_scale(dive) if cls.scales_with_difficulty or not calibrated else 1.0

    @classmethod
    def final_ceiling(cls, dive: DiveInfo) -> float:
        """The most ``dive`` can score, where this method knows it: 30 x DD (``highest_points``) when
        its final is marks x DD, so the dive's DD is real; infinity for a method that predicts the
        final itself, whose dives carry DD 1 as a stand-in where a dataset has none."""
        from aqa_core.rules.panel import highest_points

        return highest_points(dive.difficulty) if cls.scales_with_difficulty else math.inf

    @classmethod
    def difficulty_ratio(cls, old: DiveInfo, new: DiveInfo) -> float:
        """How a result's final (and clip scores) scale when only the dive's DD changes."""
        return new.difficulty / old.difficulty if cls.scales_with_difficulty and old.difficulty else 1.0

    @classmethod
    def axis_label(cls) -> str:
        """What the bins' values are, in words, for a plot's axis (``score_values`` gives the numbers)."""
        return AXIS_LABELS[cls.target]

    @classmethod
    def score_values(cls, config: Mapping[str, Any]) -> np.ndarray:
        """The score each output bin stands for, from the config alone.

        Why a classmethod: the app plots the first streamed clip before any result arrives, and it
        must not build the model in the GUI thread to learn what the bins mean.
        """
        raise NotImplementedError

    @classmethod
    def configured_for(cls, config: Mapping[str, Any], captions: Sequence[Sequence[str] | None]) -> dict[str, Any]:
        """The config completed from the training split before the method is built (MTL-AQA: its caption vocabulary).

        ``captions``: each training dive's caption words (aqa_core.methods.commentary.caption_words), None where it has none.
        """
        return dict(config)

    @classmethod
    def adapted_fields(cls, result: ScoreResult, dive: DiveInfo) -> dict[str, Any]:
        """The method's own result fields that depend on the sheet, re-derived for ``dive`` (a stored result on a new sheet)."""
        return {}

    # --- the interface ------------------------------------------------------------------------

    @property
    def panel(self) -> int:
        """How many judges the method was trained to give (1: it predicts the final alone)."""
        raise NotImplementedError

    @property
    def counted(self) -> bool:
        """Its judges are the counting marks only (``"marks": "counted"``, aqa_core.heads.panel), not a whole panel."""
        from aqa_core.heads.panel import counted_marks

        return counted_marks(self.config)

    def encode(self, batch: Batch) -> torch.Tensor:
        """The batch's ``(B, N, D)`` clip features: given, or the backbone over its clips."""
        if "features" in batch:
            return batch["features"].float()
        clips = batch["clips"]
        b, n = clips.shape[:2]
        return self.features(clips.flatten(0, 1)).float().view(b, n, -1)

    def features(self, clips: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` clips -> ``(N, D)`` backbone features."""
        if self.backbone is None:
            raise RuntimeError(f"this {self.name} method was built without its backbone")
        return self.backbone(clips)

    def fit(self, batch: Batch) -> None:
        """Fit what the method learns from the training split before its weights: its neck's statistics.

        Every method built from parts may have a ``neck`` (standardising features); one that fits
        other state (a tree's bounds, an exemplar bank) extends this.
        """
        fit = getattr(getattr(self, "neck", None), "fit", None)
        if fit is not None:
            fit(self.encode(batch))

    def loss(self, batch: Batch) -> torch.Tensor:
        raise NotImplementedError

    def uncertainties(self, batch: Batch) -> np.ndarray | None:
        """Each dive's own predicted uncertainty, for an uncertainty-guided curriculum; None: the method has none."""
        return None

    def point_scores(self, batch: Batch, decoding: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Decoded finals (B,) and judges (B, K) or None: the cheap decoding model selection runs every epoch."""
        raise NotImplementedError

    def predict(self, batch: Batch, decoding: str, calibration: Any = None) -> list[DivePrediction]:
        """One decoded ``DivePrediction`` per dive of the batch, calibrated when ``calibration`` is given."""
        raise NotImplementedError

    def clip_scores(self, features: torch.Tensor, dive: DiveInfo, decoding: str) -> list[tuple[np.ndarray, float]]:
        """``(N, D)`` features of one dive -> each clip's own (paths, bins) distributions and point score."""
        raise NotImplementedError

    def serving_paths(self, dive: DiveInfo) -> list[int]:
        """Which of the method's outputs answer for this dive's panel (refuses an impossible panel)."""
        raise NotImplementedError

    def fitted_tensor_names(self) -> list[str]:
        """Stored tensors that ``fit`` sets from the training split rather than gradients train (bundle v2 lists them)."""
        neck = getattr(self, "neck", None)
        return sorted(f"neck.{name}" for name in neck.state_dict()) if neck is not None else []

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """The tensors a bundle stores: everything except the frozen backbone."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("backbone.")}

    def train(self, mode: bool = True) -> Method:
        """Keep the backbone in eval mode, fine-tuned or not (its batch-norm statistics are pretrained)."""
        super().train(mode)
        if self.backbone is not None:
            self.backbone.eval()
        return self


def finite_probabilities(logits: torch.Tensor, what: str) -> np.ndarray:
    """Softmax of ``logits``, refusing NaN/infinity in the logits or the result (argmax of NaN is bin 0)."""
    from aqa_core.decoding import probabilities

    values = logits.detach().float().cpu().numpy()
    dists = probabilities(values) if np.isfinite(values).all() else None
    if dists is None or not np.isfinite(dists).all():
        raise NonFiniteScores(f"gave NaN or infinite {what}")
    return dists
