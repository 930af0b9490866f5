"""A one-line label that cuts its text with "…" to the width it is given, the whole text in its tooltip.

The tooltip is decided when it is asked for (a ``ToolTip`` event), not while painting: painting
only draws, and a tooltip the caller set still shows whenever the text is not cut.

Why: the desk's status line wrapped to three lines in its narrow place beside the clip count and
the storage line whenever an analysis ended ("Scored 66.00 in 5.6 s (backbone on cpu, openvino,
float32)"), and the video and the heat map above it shrank by a line's height, then grew back with
the next dive's one-line "Scoring…": the picture jumped at every dive (seen under Xvfb).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QHelpEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QToolTip, QWidget


class ElidedLabel(QLabel):
    """``text()`` is the whole text; what is drawn is cut to the label's width (``mode``: where)."""

    def __init__(self, text: str = "", parent: QWidget | None = None, mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight) -> None:
        super().__init__(text, parent)
        self.mode = mode
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # takes the width left, always one line high

    def shown_text(self) -> str:
        """The text as drawn at the label's present width."""
        return self.fontMetrics().elidedText(self.text(), self.mode, self.contentsRect().width())

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent) and self.shown_text() != self.text():
            QToolTip.showText(event.globalPos(), self.text(), self)
            return True
        return super().event(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.contentsRect(), int(self.alignment() | Qt.AlignmentFlag.AlignVCenter), self.shown_text())
