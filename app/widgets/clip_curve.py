"""One dive's clip curve: each clip's own score over the dive's frames, with the playhead.

The coach compares two attempts by where their curves drop (a late kick-out, a splash), so the
curve's x axis is the video's frames, as the pane's timeline above it: a clip's point sits at
its middle frame, and the playhead line moves with the picture. Both panes plot on the
final-score scale (``ClipEstimate.score``), so two attempts of one dive read on the same axis.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from aqa_core.option_names import model_label
from aqa_core.result import ScoreResult

NOT_SCORED = "No stored analysis of this video: score it on the desk and its clip curve shows here"


class ClipCurve(pg.PlotWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.setMinimumHeight(120)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setLabel("bottom", "frame")
        self.setLabel("left", "clip's score")
        self.line = self.plot([], [], pen=pg.mkPen((40, 110, 200), width=2), symbol="o", symbolSize=6,
                              symbolBrush=(40, 110, 200))
        self.playhead_line = pg.InfiniteLine(angle=90, pen=pg.mkPen((255, 60, 60), width=2))
        self.addItem(self.playhead_line)
        self.result: ScoreResult | None = None
        self.show_result(None)

    def set_frame_count(self, count: int) -> None:
        """The opened video's length: the x axis spans it, as the timeline does."""
        self.setXRange(1, max(count, 2), padding=0.01)

    def show_result(self, result: ScoreResult | None, why: str = NOT_SCORED) -> None:
        """Plot ``result``'s clips (1-based frames, as the frame readout counts), or say ``why`` there is none."""
        self.result = result
        if result is None or not result.clips:
            self.line.setData([], [])
            self.setTitle(why, color="#666", size="9pt")
            return
        clips = sorted(result.clips, key=lambda c: c.start_frame)
        middles = [(c.start_frame + c.end_frame) / 2 + 1 for c in clips]
        self.line.setData(middles, [c.score for c in clips])
        model = model_label(result.model_name, result.model_version)
        self.setTitle(f"clip scores by {model}: final {result.final.score:.2f}", color="#333", size="9pt")

    def score_span(self) -> tuple[float, float] | None:
        """The lowest and highest clip score plotted, None with no curve."""
        if self.result is None or not self.result.clips:
            return None
        scores = [c.score for c in self.result.clips]
        return min(scores), max(scores)

    def set_score_range(self, low: float, high: float) -> None:
        """One y scale for both panes (``CompareView``): a drop reads the same size in either dive."""
        self.setYRange(low, high if high > low else low + 1.0, padding=0.08)

    @property
    def title(self) -> str:
        """The line above the plot: which model's curve, or why there is none."""
        return str(self.getPlotItem().titleLabel.text)

    def set_playhead(self, frame: int) -> None:
        self.playhead_line.setValue(frame + 1)
