"""How far an engine's scores move from float32 PyTorch's, through the bundle's own head and decoding.

Feature cosine is not the measure: bf16 features stay above cosine 0.9999 on the real clips, yet
an argmax-decoded clip score moved by a whole bin (1.5 points at DD 3.0 with seven judges) and on
a generated dive by 15 points, because the argmax of a flat distribution jumps on a tiny change.
What a judge sees is the final and the per-clip curve, so those are compared, decoded exactly as
the bundle decodes them.

A few probe dives are a small sample of argmax decisions (70 per dive for seven judges): bf16
flipped none on two generated dives and one on each real clip. So for argmax decoding an engine
must also keep a safety margin on every decision it made: for every rival bin, the top bin's
float32 lead in log-probability must be at least ``MARGIN_SAFETY`` times the change the engine
made to that lead. A flip needs a change larger than the lead, so this asks each decision to
survive a perturbation ``MARGIN_SAFETY`` times larger than the one measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from aqa_core.methods.base import Method
from aqa_core.result import DiveInfo

TOLERANCE = 0.5  # points, on the final and on every clip's score
MARGIN_SAFETY = 2.0
# A generic 10 m dive to decode against: the bins and the rule are what matter, not the dive.
PROBE_DIVE = DiveInfo("individual", 7, "107B", 10.0, 3.0)


@dataclass(frozen=True)
class Agreement:
    final: float  # largest |final - final(float32)| over the probe dives, in points
    clip: float  # largest |clip score - clip score(float32)| over every clip of every probe dive
    closest_call: float  # smallest (top-2 log-probability gap) / (largest possible change to it); inf: no change
    argmax: bool  # the decoding picks a bin, so closest_call matters

    @property
    def holds(self) -> bool:
        safe = not self.argmax or self.closest_call >= MARGIN_SAFETY
        return self.final <= TOLERANCE and self.clip <= TOLERANCE and safe

    def describe(self) -> str:
        text = f"final within {self.final:.2f}, clips within {self.clip:.2f} points of float32"
        if self.argmax and self.closest_call < float("inf"):
            text += f", closest argmax call {self.closest_call:.1f}x its perturbation (need {MARGIN_SAFETY:g}x)"
        return text


def decoded_scores(model: Method, features: torch.Tensor, decoding: str, dive: DiveInfo = PROBE_DIVE) -> tuple[float, list[float], np.ndarray]:
    """(final score, each clip's score, every distribution decoded: (decisions, bins)) of one dive's features."""
    features = features.float()
    with torch.inference_mode():
        prediction = model.predict({"features": features[None], "dives": [dive]}, decoding)[0]
        clips = model.clip_scores(features, dive, decoding)
    bins = np.asarray(prediction.distributions).shape[-1]
    dists = np.concatenate([np.asarray(prediction.distributions).reshape(-1, bins), *(np.asarray(d).reshape(-1, bins) for d, _ in clips)])
    return float(prediction.final.score), [float(score) for _, score in clips], dists


def _closest_call(reference: np.ndarray, candidate: np.ndarray) -> float:
    """min over decisions and rival bins of (float32 lead of the top bin over the rival) / (how much the
    candidate changed that lead): above 1, no argmax flipped; the ratio is how far from flipping it was."""
    ref, got = np.log(np.maximum(reference, 1e-30)), np.log(np.maximum(candidate, 1e-30))
    top = ref.argmax(axis=1)[:, None]
    lead = np.take_along_axis(ref, top, axis=1) - ref  # >= 0; 0 at the top bin itself
    change = np.abs((np.take_along_axis(got, top, axis=1) - got) - lead)
    rivals = lead > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(rivals & (change > 0), lead / change, np.inf)
    return float(ratio.min()) if ratio.size else float("inf")


def compare(model: Method, reference: Sequence[torch.Tensor], candidate: Sequence[torch.Tensor], decoding: str) -> Agreement:
    """Worst final and per-clip differences, and the closest argmax call, between two engines' features of the same dives."""
    final, clip, closest = 0.0, 0.0, float("inf")
    for ref, got in zip(reference, candidate, strict=True):
        ref_final, ref_clips, ref_dists = decoded_scores(model, ref, decoding)
        got_final, got_clips, got_dists = decoded_scores(model, got, decoding)
        final = max(final, abs(got_final - ref_final))
        clip = max([clip, *(abs(a - b) for a, b in zip(got_clips, ref_clips, strict=True))])
        closest = min(closest, _closest_call(ref_dists, got_dists))
    return Agreement(final, clip, closest, decoding == "argmax")
