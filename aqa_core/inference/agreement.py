"""How far an engine's scores move from float32 PyTorch's, through the bundle's own head and decoding.

Feature cosine is not the measure: bf16 features stay above cosine 0.9999 on the real clips, yet
an argmax-decoded clip score moved by a whole bin (1.5 points at DD 3.0 with seven judges) and on
a generated dive by 15 points, because the argmax of a flat distribution jumps on a tiny change.
What a judge sees is the final and the per-clip curve, so those are compared, decoded exactly as
the bundle decodes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from aqa_core.methods.base import Method
from aqa_core.result import DiveInfo

TOLERANCE = 0.5  # points, on the final and on every clip's score
# A generic 10 m dive to decode against: the bins and the rule are what matter, not the dive.
PROBE_DIVE = DiveInfo("individual", 7, "107B", 10.0, 3.0)


@dataclass(frozen=True)
class Agreement:
    final: float  # largest |final - final(float32)| over the probe dives, in points
    clip: float  # largest |clip score - clip score(float32)| over every clip of every probe dive

    @property
    def holds(self) -> bool:
        return self.final <= TOLERANCE and self.clip <= TOLERANCE

    def describe(self) -> str:
        return f"final within {self.final:.2f}, clips within {self.clip:.2f} points of float32"


def decoded_scores(model: Method, features: torch.Tensor, decoding: str, dive: DiveInfo = PROBE_DIVE) -> tuple[float, list[float]]:
    """(final score, each clip's score) of one dive's ``(N, D)`` features, as the scorer decodes them."""
    features = features.float()
    with torch.inference_mode():
        final = model.predict({"features": features[None], "dives": [dive]}, decoding)[0].final.score
        clips = [score for _, score in model.clip_scores(features, dive, decoding)]
    return float(final), [float(score) for score in clips]


def compare(model: Method, reference: Sequence[torch.Tensor], candidate: Sequence[torch.Tensor], decoding: str) -> Agreement:
    """Worst final and per-clip differences between two engines' features of the same dives."""
    final, clip = 0.0, 0.0
    for ref, got in zip(reference, candidate, strict=True):
        ref_final, ref_clips = decoded_scores(model, ref, decoding)
        got_final, got_clips = decoded_scores(model, got, decoding)
        final = max(final, abs(got_final - ref_final))
        clip = max([clip, *(abs(a - b) for a, b in zip(got_clips, ref_clips, strict=True))])
    return Agreement(final, clip)
