"""Small pure helpers the analysis widgets share: which clip is under the playhead, the mean
distribution over judge paths, and the score value of each bin before a result arrives."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from aqa_core.result import ClipEstimate

# The heads' defaults (aqa_core/heads): MUSDL judges' marks 0..10 in half points; USDL the final score.
_HEAD_DEFAULTS = {"musdl": (21, (0.0, 10.0)), "usdl": (101, (0.0, 104.5))}


def clip_at(clips: Sequence[ClipEstimate], frame: int) -> int | None:
    """Position in ``clips`` of the clip showing ``frame``: the latest-starting clip that covers it."""
    covering = [i for i, c in enumerate(clips) if c.start_frame <= frame <= c.end_frame]
    return max(covering, key=lambda i: clips[i].start_frame) if covering else None


def mean_distribution(distributions: Sequence[Sequence[float]]) -> np.ndarray:
    """Paths x bins -> one curve: the panel's average belief (one path for USDL)."""
    return np.asarray(distributions, dtype=float).mean(axis=0)


def bin_values(bundle: Any) -> np.ndarray | None:
    """The bins' score values from the bundle config, so streamed clips plot on the right axis."""
    if bundle is None:
        return None
    head = dict(bundle.config.get("head", {}))
    bins, score_range = _HEAD_DEFAULTS.get(head.get("name", ""), (None, None))
    bins = head.get("bins", bins)
    low, high = head.get("score_range", score_range) or (None, None)
    if bins is None or low is None:
        return None
    return np.linspace(float(low), float(high), int(bins))
