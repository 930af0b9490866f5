"""Clip x score heat map: how the model's belief evolves through the dive (the seeds' temporal
evolution figure), with the playhead's clip marked by a vertical line. A colour bar says what
the colours are (probability, scaled to this dive), and the clip axis only ever shows whole
clips, numbered from 1 as the timeline and the distribution title number them."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from aqa_core.result import ClipEstimate
from app.widgets.clip_math import clip_at, mean_distribution


class HeatMap(pg.PlotWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.setMinimumHeight(140)
        self.setLabel("bottom", "clip (in time order)")
        self.setLabel("left", "judge's mark")
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.colormap.get("viridis"), label="probability",
                                          interactive=False, width=12)
        self.colour_bar.setImageItem(self.image, insert_in=self.getPlotItem())
        self.playhead_line = pg.InfiniteLine(angle=90, pen=pg.mkPen((255, 60, 60), width=2))
        self.playhead_line.hide()
        self.addItem(self.playhead_line)
        self.bins: np.ndarray | None = None
        self.clips: list[ClipEstimate] = []
        self.matrix = np.zeros((0, 0))
        self.reset(None)  # an empty desk shows the axes it will fill, not pyqtgraph's -500..500

    def reset(self, bins: np.ndarray | None, axis: str | None = None) -> None:
        self.bins = bins
        self.clips = []
        self.matrix = np.zeros((0, 0))
        self.image.clear()
        self.playhead_line.hide()
        low, high = (float(bins[0]), float(bins[-1])) if bins is not None else (0.0, 10.0)
        self.setLabel("left", axis or ("judge's mark" if high <= 10 else "final score (points)"))
        self.setXRange(0.5, 10.5, padding=0)  # the usual 10 clips, before any has arrived
        self._clip_ticks(10)
        self.setYRange(low, high, padding=0)

    def set_clips(self, clips: list[ClipEstimate], bins: np.ndarray | None) -> None:
        self.clips = sorted(clips, key=lambda c: c.index)
        if bins is not None:
            self.bins = bins
        self._redraw()

    def add_clip(self, clip: ClipEstimate) -> None:
        self.set_clips([*self.clips, clip], None)

    def _redraw(self) -> None:
        if not self.clips:
            return
        # rows = bins (score, upwards), columns = clips (time, to the right)
        self.matrix = np.stack([mean_distribution(c.distributions) for c in self.clips], axis=1)
        n_bins = self.matrix.shape[0]
        low, high = (float(self.bins[0]), float(self.bins[-1])) if self.bins is not None and len(self.bins) == n_bins else (0.0, float(n_bins - 1))
        low_p, high_p = float(self.matrix.min()), float(self.matrix.max())
        levels = (low_p, high_p if high_p > low_p else low_p + 1e-9)  # contrast within this dive
        self.image.setImage(self.matrix)
        self.colour_bar.setLevels(levels)
        self.image.setRect(0.5, low, len(self.clips), high - low)
        self.setXRange(0.5, max(len(self.clips), 1) + 0.5, padding=0)
        self._clip_ticks(len(self.clips))
        self.setYRange(low, high, padding=0)

    def _clip_ticks(self, count: int) -> None:
        """Whole clips only (1, 2, 3, ...): there is no clip 2.5."""
        step = max(1, count // 12)
        self.getAxis("bottom").setTicks([[(i, str(i)) for i in range(1, count + 1, step)], []])

    def set_playhead(self, frame: int) -> None:
        index = clip_at(self.clips, frame)
        if index is None:
            self.playhead_line.hide()
            return
        self.playhead_line.setValue(index + 1)
        self.playhead_line.show()
