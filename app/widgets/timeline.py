"""The timeline under the player: whole video, dive window, the analysis clips, the playhead.

Clicking or dragging scrubs. The dive window's two edges are handles: dragging one moves it and
``window_edited`` fires on release only, because each edit costs a new analysis. The dives found
in the footage show their take-off ("T") and entry ("E") as marks that drag the same way
(``mark_edited(dive, event, frame)`` on release; a take-off stays before its entry).
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QWidget

HANDLE_PX = 6
LABEL_STRIP_PX = 15  # a strip kept clear of the clip bars for mark labels: Compare's above them, the dives' T/E below
MIN_ROW_PX = 18  # a clip bar tall enough for its number
CLIP_COLOURS = (QColor(80, 160, 230), QColor(240, 170, 60))


class Timeline(QWidget):
    scrubbed = Signal(int)
    window_edited = Signal(int, int)
    mark_edited = Signal(int, str, int)  # dive index, "take-off" | "entry", frame

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frame_count = 0
        self.playhead = 0
        self.window: tuple[int, int] | None = None
        self.clips: list[tuple[int, int]] = []
        self.loop: tuple[int, int] | None = None
        self.marks: list[tuple[int, str]] = []  # (frame, event name): Compare's take-off/entry marks
        self.dives: list[tuple[int | None, int]] = []  # (take-off or None, entry) of each dive found
        self._dragging: str | None = None  # "start" | "end" | "scrub" | "mark"
        self._mark: tuple[int, str] | None = None  # the dive and event being dragged
        self.setMinimumHeight(2 * LABEL_STRIP_PX + 2 * MIN_ROW_PX)
        self.setMouseTracking(True)
        self.setToolTip("Click or drag to scrub; drag the dive window's edges to change it")

    def set_frame_count(self, count: int) -> None:
        self.frame_count = count
        self.update()

    def set_playhead(self, frame: int) -> None:
        self.playhead = frame
        self.update()

    def set_window(self, window: tuple[int, int] | None) -> None:
        self.window = window
        self.update()

    def set_clips(self, clips: list[tuple[int, int]]) -> None:
        self.clips = clips
        self.update()

    def set_marks(self, marks: list[tuple[int, str]]) -> None:
        self.marks = marks
        self.update()

    def set_dives(self, dives: list[tuple[int | None, int]]) -> None:
        self.dives = list(dives)
        self.update()

    def set_loop(self, loop: tuple[int, int] | None) -> None:
        self.loop = loop
        self.update()

    # Geometry.
    def x_of(self, frame: float) -> float:
        span = max(1, self.frame_count - 1)
        return HANDLE_PX + frame / span * (self.width() - 2 * HANDLE_PX)

    def frame_at(self, x: float) -> int:
        span = max(1, self.frame_count - 1)
        frame = round((x - HANDLE_PX) / max(1.0, self.width() - 2 * HANDLE_PX) * span)
        return max(0, min(self.frame_count - 1, frame))

    def clip_rect(self, index: int) -> QRectF:
        """Where clip ``index``'s bar is drawn: two alternating rows between the label strips in use."""
        top = LABEL_STRIP_PX if self.marks else 8
        bottom = self.height() - (LABEL_STRIP_PX if self.dives else 8)
        row_height = (bottom - top) / 2
        start, end = self.clips[index]
        row = index % 2
        return QRectF(self.x_of(start), top + row * row_height, max(2.0, self.x_of(end) - self.x_of(start)), row_height - 3)

    def _mark_at(self, x: float) -> tuple[int, str] | None:
        for index, (take_off, entry) in enumerate(self.dives):
            for event, frame in (("entry", entry), ("take-off", take_off)):
                if frame is not None and abs(self.x_of(frame) - x) <= HANDLE_PX:
                    return index, event
        return None

    def _handle_at(self, x: float) -> str | None:
        if self.window is None:
            return None
        for name, frame in (("start", self.window[0]), ("end", self.window[1])):
            if abs(self.x_of(frame) - x) <= HANDLE_PX:
                return name
        return None

    # Painting.
    def paintEvent(self, event: object) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        height = self.height()
        painter.fillRect(self.rect(), QColor(36, 36, 40))
        if self.frame_count <= 0:
            return
        if self.loop is not None:
            painter.fillRect(QRectF(self.x_of(self.loop[0]), 0, self.x_of(self.loop[1]) - self.x_of(self.loop[0]), 6), QColor(120, 200, 120))
        if self.window is not None:
            x0, x1 = self.x_of(self.window[0]), self.x_of(self.window[1])
            painter.fillRect(QRectF(x0, 6, x1 - x0, height - 12), QColor(70, 70, 90))
            painter.setPen(QPen(QColor(230, 230, 255), 2))
            for x in (x0, x1):
                painter.drawLine(int(x), 4, int(x), height - 4)
        for i in range(len(self.clips)):
            rect = self.clip_rect(i)
            painter.fillRect(rect, CLIP_COLOURS[i % 2])
            painter.setPen(QColor(10, 10, 10))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, str(i + 1))
        painter.setPen(QPen(QColor(255, 220, 60), 2))
        for frame, name in self.marks:
            x = self.x_of(frame)
            painter.drawLine(int(x), 0, int(x), height)
            painter.drawText(QRectF(x + 3, 0, 80, LABEL_STRIP_PX - 1), Qt.AlignmentFlag.AlignLeft, name)
        painter.setPen(QPen(QColor(90, 230, 200), 2))
        for number, (take_off, entry) in enumerate(self.dives, start=1):
            for letter, frame in (("T", take_off), ("E", entry)):
                if frame is not None:
                    x = self.x_of(frame)
                    painter.drawLine(int(x), height - LABEL_STRIP_PX, int(x), height)
                    painter.drawText(QRectF(x + 2, height - LABEL_STRIP_PX + 1, 40, LABEL_STRIP_PX - 1), Qt.AlignmentFlag.AlignLeft, f"{letter}{number}")
        painter.setPen(QPen(QColor(255, 60, 60), 2))
        x = self.x_of(self.playhead)
        painter.drawLine(int(x), 0, int(x), height)

    # Mouse.
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if self.frame_count <= 0:
            return
        x = event.position().x()
        self._mark = self._mark_at(x)
        self._dragging = "mark" if self._mark is not None else self._handle_at(x) or "scrub"
        self._drag_to(x)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        x = event.position().x()
        if self._dragging is None:
            over_handle = self._handle_at(x) is not None or self._mark_at(x) is not None
            self.setCursor(Qt.CursorShape.SizeHorCursor if over_handle else Qt.CursorShape.ArrowCursor)
            return
        self._drag_to(x)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        dragged, self._dragging = self._dragging, None
        if dragged in ("start", "end") and self.window is not None:
            self.window_edited.emit(*self.window)
        elif dragged == "mark" and self._mark is not None:
            index, event = self._mark
            take_off, entry = self.dives[index]
            self.mark_edited.emit(index, event, entry if event == "entry" else take_off)

    def _drag_to(self, x: float) -> None:
        frame = self.frame_at(x)
        if self._dragging == "scrub":
            self.scrubbed.emit(frame)
        elif self._dragging == "mark" and self._mark is not None:
            index, event = self._mark
            take_off, entry = self.dives[index]
            if event == "entry":
                self.dives[index] = (take_off, max(frame, (take_off or 0) + 1))
            else:
                self.dives[index] = (min(frame, entry - 1), entry)
            self.update()
        elif self.window is not None and self._dragging == "start":
            self.set_window((min(frame, self.window[1] - 1), self.window[1]))
        elif self.window is not None and self._dragging == "end":
            self.set_window((self.window[0], max(frame, self.window[0] + 1)))
