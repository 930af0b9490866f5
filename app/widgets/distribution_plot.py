"""Score distribution of the clip under the playhead, drawn over the running aggregate.

The aggregate behind is the mean of the clips scored so far until the result arrives, then the
model's own temporally pooled distribution; the front curve follows the playhead, so it moves as
the video plays. Only a clip change redraws the curve (cheap at 30 fps).

The x axis is what the bins are, as the method names it (``Method.axis_label``): a judge's mark
(0-10) for per-judge (MUSDL) distributions, the final score in points for a USDL head, final / DD
(0-30) for a per-DD head (USDL_DD); the clip's own score is always on the final-score scale, so it
is named in the title as such and never drawn against the mark or per-DD axis.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from aqa_core.result import ClipEstimate, ScoreResult
from app.widgets.clip_math import axis_label, clip_at, mean_distribution


class DistributionPlot(pg.PlotWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.setMinimumHeight(140)
        self.showGrid(x=True, y=False, alpha=0.3)
        self.setLabel("bottom", "judge's mark (0–10)")
        self.setLabel("left", "probability")
        self.getAxis("left").enableAutoSIPrefix(False)  # probabilities, not "x0.001"
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.addLegend(offset=(-10, 5), labelTextSize="8pt", brush=pg.mkBrush(255, 255, 255, 220))
        self.aggregate_curve = self.plot([], [], pen=pg.mkPen((150, 150, 150), width=1),
                                         fillLevel=0, brush=pg.mkBrush(200, 200, 200, 120), name="whole dive (aggregate)")
        self.clip_curve = self.plot([], [], pen=pg.mkPen((20, 90, 200), width=2), name="clip under the playhead")
        self.bins: np.ndarray | None = None
        self.clips: list[ClipEstimate] = []
        self.aggregate: np.ndarray | None = None
        self.shown_clip: int | None = None
        self.frame = 0
        self.reset(None)  # an empty desk shows the marks' axis, not pyqtgraph's default 0..1

    def reset(self, bins: np.ndarray | None, axis: str | None = None) -> None:
        """No curves; ``bins`` and ``axis`` (``clip_math.bin_values`` and ``axis_label`` of the bundle) set the x axis."""
        self.bins = bins
        self.clips = []
        self.aggregate = None
        self.shown_clip = None
        self.aggregate_curve.setData([], [])
        self.clip_curve.setData([], [])
        self.setTitle("")
        low, high = (float(bins[0]), float(bins[-1])) if bins is not None else (0.0, 10.0)
        self.setXRange(low, high)
        self.setLabel("bottom", axis or ("judge's mark (0–10)" if high <= 10 else "final score (points)"))

    def add_clip(self, clip: ClipEstimate) -> None:
        self.clips.append(clip)
        self.aggregate = np.mean([mean_distribution(c.distributions) for c in self.clips], axis=0)
        self._redraw(force=True)

    def set_result(self, result: ScoreResult) -> None:
        self.bins = np.asarray(result.bins, dtype=float)
        self.setLabel("bottom", axis_label(result.head))
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
        peak = float(self.aggregate.max()) if self.aggregate.size else 0.0
        if index is not None:
            peak = max(peak, float(mean_distribution(self.clips[index].distributions).max()))
        self.setYRange(0, peak * 1.9 if peak > 0 else 1.0, padding=0)  # headroom: the legend sits above the curves
        if index is None:
            self.clip_curve.setData([], [])
            self.setTitle("Playhead outside the analysed clips", size="9pt")
            return
        clip = self.clips[index]
        self.clip_curve.setData(bins, mean_distribution(clip.distributions))
        self.setTitle(f"Clip {clip.index + 1} of {len(self.clips)} · its final-score estimate {clip.score:.1f} points", size="9pt")
