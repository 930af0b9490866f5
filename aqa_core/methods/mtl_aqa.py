"""MTL-AQA (Parmar and Morris, CVPR 2019, C3D-AVG): the score beside auxiliary dive-recognition heads.

One shared body (neck, clip averaging, the score MLP up to its last hidden layer) feeds the score's
last layer and five linear classifiers: position (free, tuck, pike, straight), armstand (no, yes),
rotation type (forward, back, reverse, inward), the number of half somersaults and of half twists
(Table 2 of the paper). The sharing is the paper's (Fig. 2, and its code's ``my_fc6``: one FC +
ReLU after the clip average, read by both the score regressor and the dive classifier): with the
backbone frozen, the trainable layers after the average are the only body the tasks can share, so
classifiers on the pooled features themselves (as they once were) trained beside the score
without shaping anything the score reads, and the auxiliary tasks could not help it. The loss is Eq. 4: alpha (L2 +
L1) on the score plus beta x the summed cross-entropies plus gamma x the commentary's negative
log-likelihood, alpha = beta = 1, gamma = 0.01. The classes are read off each training dive's FINA
number (aqa_core.rules.dive_number); a dive without a parseable number trains the score only. The
commentary head (aqa_core.methods.commentary) exists when the training split has captions: the
trainer asks ``configured_for`` to put their vocabulary into the config; without it there is none.

The score is a USDL distribution head trained on its expectation (a regression, as the paper's),
so it keeps a spread for the calibrated interval; it is always decoded by expectation (argmax of a
distribution trained only on its mean means nothing). From the recognised classes the method
proposes a dive number and, when the height is known, its DD from our table; it flags a mismatch
when the typed dive number disagrees with what it sees; with a commentary head it writes a line,
always shown with its caveat.

``mtl_aqa_dd`` is our variant, not the paper's (the paper's score head predicts the final score
directly): its score path learns the final per point of DD and is decoded x the typed DD, as
USDL_DD (aqa_core.methods.distribution.PerDifficulty); recognition and commentary are unchanged.
Its options are the same ``"mtl_aqa"`` section. With alpha = beta = 1 the score term weighs less
against the cross-entropies than the paper's, because errors per point of DD are about DD times
smaller (DD is 1.2-4.8): the weights stay the paper's, as for ``mtl_aqa``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from aqa_core.calibration import Calibration
from aqa_core.errors import ConfigError, RuleError
from aqa_core.losses import regression_loss
from aqa_core.methods.base import Batch, DivePrediction, finite_probabilities
from aqa_core.methods.commentary import CAVEAT, CaptionHead, build_vocabulary
from aqa_core.methods.distribution import USDL, PerDifficulty
from aqa_core.registry import METHODS
from aqa_core.result import Commentary, DiveInfo, RecognisedDive, ScoreResult
from aqa_core.rules.dd_table import difficulty
from aqa_core.rules.dive_number import parse_dive

POSITIONS = ("D", "C", "B", "A")  # free, tuck, pike, straight: the paper's order
ROTATIONS = (1, 2, 3, 4)  # forward, back, reverse, inward
TASKS = {"position": 4, "armstand": 2, "rotation": 4, "somersaults": 10, "twists": 10}  # half somersaults / twists 0-9
PART_WORDS = {"position": ("free", "tuck", "pike", "straight"), "armstand": ("no", "yes"), "rotation": ("forward", "back", "reverse", "inward")}
IGNORE = -100  # cross-entropy's ignore_index: a dive whose number does not parse


def dive_classes(code: str | None) -> dict[str, int] | None:
    """The five class labels of a FINA dive number, or None when it has none or does not parse."""
    if not code:
        return None
    try:
        dive = parse_dive(code)
    except RuleError:
        return None
    if dive.direction not in ROTATIONS or dive.half_somersaults > 9 or dive.half_twists > 9:
        return None
    return {
        "position": POSITIONS.index(dive.position), "armstand": int(dive.group == 6), "rotation": ROTATIONS.index(dive.direction),
        "somersaults": dive.half_somersaults, "twists": dive.half_twists,
    }


def dive_code(classes: Mapping[str, int]) -> str | None:
    """The FINA number the recognised classes describe (non-flying), or None when they make no legal dive."""
    position, direction = POSITIONS[classes["position"]], ROTATIONS[classes["rotation"]]
    ss, tw = classes["somersaults"], classes["twists"]
    if classes["armstand"]:
        code = f"6{direction}{ss}{tw or ''}{position}"
    elif tw:
        code = f"5{direction}{ss}{tw}{position}"
    else:
        code = f"{direction}0{ss}{position}"
    try:
        return parse_dive(code).code
    except RuleError:
        return None


@METHODS.register("mtl_aqa")
class MTLAQA(USDL):
    name = "mtl_aqa"
    losses = ("kl",)  # the method's own loss (Eq. 4): the trainer's default name

    def __init__(self, config: Mapping[str, Any], with_backbone: bool = True, loss: str = "kl", sigma: float | None = None) -> None:
        if loss != "kl":
            raise ConfigError(f"method {self.name!r} trains with its own multi-task loss (loss: kl), not {loss!r}")
        super().__init__(config, with_backbone=with_backbone, loss=loss, sigma=sigma)
        options = dict(self.config.get("mtl_aqa", {}))
        unknown = sorted(set(options) - {"alpha", "beta", "gamma", "vocabulary", "caption_hidden", "caption_embed"})
        if unknown:
            raise ConfigError(f"mtl_aqa: unknown argument(s) {', '.join(unknown)}")
        self.alpha, self.beta = float(options.get("alpha", 1.0)), float(options.get("beta", 1.0))
        self.gamma = float(options.get("gamma", 0.01))
        width = self.head.path_mlps[0][-1].in_features  # the last hidden layer's (the pooled feature's without one)
        self.classifiers = nn.ModuleDict({task: nn.Linear(width, classes) for task, classes in TASKS.items()})
        vocabulary = options.get("vocabulary")
        self.captioner = None
        if vocabulary:
            try:
                self.captioner = CaptionHead(vocabulary, self.head.in_dim, int(options.get("caption_hidden", 256)), int(options.get("caption_embed", 128)))
            except ValueError as exc:
                raise ConfigError(f"mtl_aqa: vocabulary: {exc}") from None

    @classmethod
    def configured_for(cls, config: Mapping[str, Any], captions: Sequence[Sequence[str] | None]) -> dict[str, Any]:
        """The config with the training captions' vocabulary, when they have captions and it names none."""
        config = dict(config)
        options = dict(config.get("mtl_aqa", {}))
        if "vocabulary" not in options and any(captions):
            config["mtl_aqa"] = {**options, "vocabulary": build_vocabulary(captions)}
        return config

    def _clip_features(self, batch: Batch) -> torch.Tensor:
        return self.neck(self.encode(batch))

    def _shared(self, pooled: torch.Tensor) -> torch.Tensor:
        """The body every task reads: the score MLP up to its last hidden layer (the head's own modules, so the bundle holds them once)."""
        return self.head.path_mlps[0][:-1](pooled)

    def loss(self, batch: Batch) -> torch.Tensor:
        clips = self._clip_features(batch)
        pooled = self.aggregator(clips)
        if not len(pooled):
            return pooled.sum() * 0.0
        shared = self._shared(pooled)
        expected = torch.softmax(self.head.path_mlps[0][-1](shared).float(), dim=-1) @ self.bin_values  # the head's own forward, split at the body
        final = self.score_target(batch).to(pooled.device)  # the final, or final / DD (mtl_aqa_dd)
        score = regression_loss(expected, final, "mse") + regression_loss(expected, final, "l1")  # Eq. 1
        labels = [dive_classes(d.dive_number) for d in batch["dives"]]
        recognition = pooled.new_zeros(())
        if any(labels):
            for task, layer in self.classifiers.items():
                target = torch.tensor([IGNORE if c is None else c[task] for c in labels], device=pooled.device)
                recognition = recognition + F.cross_entropy(layer(shared), target, ignore_index=IGNORE)
        total = self.alpha * score + self.beta * recognition
        if self.captioner is not None:
            total = total + self.gamma * self.captioner.loss(clips, batch.get("captions") or [None] * len(clips))
        return total

    def predict(self, batch: Batch, decoding: str, calibration: Calibration | None = None) -> list[DivePrediction]:
        predictions = super().predict(batch, "expectation", calibration)
        with torch.no_grad():
            clips = self._clip_features(batch)
            shared = self._shared(self.aggregator(clips))
            probs = {task: finite_probabilities(layer(shared), f"{task} logits") for task, layer in self.classifiers.items()}
            lines = self.captioner.greedy(clips) if self.captioner is not None else [None] * len(clips)
        for i, (prediction, dive) in enumerate(zip(predictions, batch["dives"], strict=True)):
            prediction.recognised = self._recognised({task: p[i] for task, p in probs.items()}, dive)
            prediction.commentary = Commentary(lines[i], CAVEAT) if lines[i] else None
        return predictions

    def point_scores(self, batch: Batch, decoding: str) -> tuple[np.ndarray, np.ndarray | None]:
        return super().point_scores(batch, "expectation")

    def clip_score(self, dists: np.ndarray, dive: DiveInfo, decoding: str) -> float:
        return super().clip_score(dists, dive, "expectation")

    @staticmethod
    def _recognised(probs: Mapping[str, np.ndarray], dive: DiveInfo) -> RecognisedDive:
        classes = {task: int(np.argmax(p)) for task, p in probs.items()}
        confidence = float(np.prod([p[classes[task]] for task, p in probs.items()]))
        return described(classes, confidence, dive)

    @classmethod
    def adapted_fields(cls, result: ScoreResult, dive: DiveInfo) -> dict[str, Any]:
        """The proposal's DD (the height may differ) and the mismatch (the typed number may) for the new sheet."""
        seen = result.recognised_dive
        return {"recognised_dive": described(part_classes(seen.parts), seen.confidence, dive)} if seen is not None else {}


@METHODS.register("mtl_aqa_dd")
class MTLAQADD(PerDifficulty, MTLAQA):
    """Our variant (module docstring): the score path learns final / DD, the final is it x the typed DD."""

    name = "mtl_aqa_dd"


def described(classes: Mapping[str, int], confidence: float, dive: DiveInfo) -> RecognisedDive:
    """What the recognised classes mean for this sheet: the dive number they make, its DD from the sheet's height, any mismatch."""
    code = dive_code(classes)
    dd = None
    if code is not None and dive.height is not None:
        try:
            dd = difficulty(code, dive.height)
        except RuleError:
            dd = None
    parts = {task: PART_WORDS[task][c] if task in PART_WORDS else str(c / 2) for task, c in classes.items()}
    typed = dive_classes(dive.dive_number)
    return RecognisedDive(code, dd, confidence, parts, mismatch=typed is not None and typed != dict(classes))


def part_classes(parts: Mapping[str, str]) -> dict[str, int]:
    """``RecognisedDive.parts`` (words) back to class indices: a stored result is re-described without the model."""
    return {task: PART_WORDS[task].index(word) if task in PART_WORDS else round(float(word) * 2) for task, word in parts.items()}
