"""Score distribution of the clip under the playhead, drawn over the running aggregate.

The aggregate behind is the mean of the clips scored so far until the result arrives, then the
model's own temporally pooled distribution; the front curve follows the playhead, so it moves as
the video plays. Only a clip change redraws the curve (cheap at 30 fps).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from aqa_core.result import ClipEstimate, ScoreResult
from app.widgets.clip_math import clip_at, mean_distribution


class DistributionPlot(pg.PlotWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.setMinimumHeight(140)
        self.showGrid(x=True, y=False, alpha=0.3)
        self.setLabel("bottom", "score")
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.aggregate_curve = self.plot([], [], pen=pg.mkPen((150, 150, 150), width=1),
                                         fillLevel=0, brush=pg.mkBrush(200, 200, 200, 120), name="aggregate")
        self.clip_curve = self.plot([], [], pen=pg.mkPen((20, 90, 200), width=2), name="clip")
        self.bins: np.ndarray | None = None
        self.clips: list[ClipEstimate] = []
        self.aggregate: np.ndarray | None = None
        self.shown_clip: int | None = None
        self.frame = 0

    def reset(self, bins: np.ndarray | None) -> None:
        self.bins = bins
        self.clips = []
        self.aggregate = None
        self.shown_clip = None
        self.aggregate_curve.setData([], [])
        self.clip_curve.setData([], [])
        self.setTitle("")
        low, high = (float(bins[0]), float(bins[-1])) if bins is not None else (0.0, 10.0)
        self.setXRange(low, high)

    def add_clip(self, clip: ClipEstimate) -> None:
        self.clips.append(clip)
        self.aggregate = np.mean([mean_distribution(c.distributions) for c in self.clips], axis=0)
        self._redraw(force=True)

    def set_result(self, result: ScoreResult) -> None:
        self.bins = np.asarray(result.bins, dtype=float)
        self.clips = list(result.clips)
        self.aggregate = mean_distribution(result.aggregate)
        self._redraw(force=True)

    def set_playhead(self, frame: int) -> None:
        self.frame = frame
        self._redraw(force=False)

    def _redraw(self, force: bool) -> None:
        index = clip_at(self.clips, self.frame)
        if not force and index == self.shown_clip:
            return
        self.shown_clip = index
        if self.aggregate is None:
            return
        bins = self.bins if self.bins is not None and len(self.bins) == len(self.aggregate) else np.arange(len(self.aggregate))
        self.aggregate_curve.setData(bins, self.aggregate)
        if index is None:
            self.clip_curve.setData([], [])
            self.setTitle("Score distribution (playhead outside the analysed clips)")
            return
        clip = self.clips[index]
        self.clip_curve.setData(bins, mean_distribution(clip.distributions))
        self.setTitle(f"Score distribution: clip {clip.index + 1} (clip score {clip.score:.1f})")
