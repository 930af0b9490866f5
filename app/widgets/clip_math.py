"""Small pure helpers the analysis widgets share: which clip is under the playhead, the mean
distribution over judge paths, and the score value of each bin (and what it is) before a result arrives."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from aqa_core.result import ClipEstimate


def clip_at(clips: Sequence[ClipEstimate], frame: int) -> int | None:
    """Position in ``clips`` of the clip showing ``frame``: the latest-starting clip that covers it."""
    covering = [i for i, c in enumerate(clips) if c.start_frame <= frame <= c.end_frame]
    return max(covering, key=lambda i: clips[i].start_frame) if covering else None


def mean_distribution(distributions: Sequence[Sequence[float]]) -> np.ndarray:
    """Paths x bins -> one curve: the panel's average belief (one path for USDL)."""
    return np.asarray(distributions, dtype=float).mean(axis=0)


def clip_count(bundle: Any) -> int | None:
    """How many clips the bundle's segmentation cuts a dive into (10 for USDL's 10 x 16), None without a bundle."""
    if bundle is None:
        return None
    from aqa_core.clips import clip_protocol  # lazily, as bin_values: torch comes with it
    from aqa_core.errors import AQAError

    try:
        return clip_protocol(bundle.config)[0].num_clips
    except (AQAError, ValueError, KeyError):  # a bundle the scorer will refuse with its own message
        return None


def bin_values(bundle: Any) -> np.ndarray | None:
    """The bins' score values, as the bundle's method defines them, so streamed clips plot on the right axis.

    The methods (and torch) are imported here, not with the desk: the window shows before torch
    is imported, and by the time a video opens the model's worker has imported it already.
    """
    if bundle is None:
        return None
    from aqa_core.methods import method_class

    return method_class(bundle.config).score_values(bundle.config)


def axis_label(method: str | None) -> str | None:
    """What the bins of ``method`` (a bundle's config's method, a result's ``head``) are, for an axis; None without one."""
    if method is None:
        return None
    from aqa_core.methods import method_class

    return method_class(method).axis_label()
