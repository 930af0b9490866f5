"""The frame on screen: paints the latest decoded QImage with a one-line caption, zoom, pan and
the coach's drawings.

Painting a QImage directly (no QPixmap conversion: the worker already scaled it to this widget's
size times the zoom) keeps the GUI thread's share of each frame to a blit. Everything else is
in source-pixel coordinates (``to_source`` / ``to_widget``), so a line drawn at 3x zoom stays
on the same spot of the diver at any zoom, window size or export resolution.

Mouse: wheel zooms about the cursor, right- or middle-drag pans, double-click resets; with a
drawing tool chosen, left clicks place its points (two for a line, three for an angle, vertex
second). Any click gives the player the keyboard.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtCore import QMimeData
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QImage, QMouseEvent, QPainter, QPen, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.drawings import KINDS, Drawing

VIDEO_FILTER = "Videos (*.mp4 *.mov *.avi *.mkv *.m4v);;All files (*)"  # every "open a video" dialog
ZOOM_STEP = 1.25
MAX_ZOOM = 8.0
DRAWING_COLOUR = QColor(255, 220, 60)


def dropped_file(mime: QMimeData) -> str | None:
    """The first local file of a drag and drop, else None."""
    files = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []
    return files[0] if files else None


class OpensDroppedVideos:
    """Mixin (before the Qt class) for a widget that opens a file dropped on it: the desk, Compare's panes.

    The widget calls ``setAcceptDrops(True)`` and defines ``open_dropped(path)``.
    """

    def open_dropped(self, path: str) -> None:
        raise NotImplementedError

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        if dropped_file(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt API)
        path = dropped_file(event.mimeData())
        if path is not None:
            self.open_dropped(path)


class VideoView(QWidget):
    resized = Signal(int, int)
    zoom_changed = Signal(float)
    drawing_finished = Signal(object)  # Drawing (its frame is the one on screen)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.overlay: QImage | None = None  # another dive's frame drawn over this one (Compare's onion skin)
        self.overlay_opacity = 0.5
        self.caption = ""
        self.placeholder = "Open a dive video (File ▸ Open, or drop a file here)"
        self.source_size: tuple[int, int] | None = None  # the video's own pixels
        self.frame_index = 0
        self.zoom = 1.0
        self.pan = QPointF(0.0, 0.0)  # widget pixels the zoomed picture is moved by
        self.tool: str | None = None  # "line" | "angle" | None
        self.drawings: list[Drawing] = []  # those of the frame on screen
        self._points: list[tuple[float, float]] = []  # the drawing being placed
        self._pan_from: QPointF | None = None
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def show_image(self, image: QImage, caption: str, frame_index: int | None = None) -> None:
        self.image = image
        self.caption = caption
        if frame_index is not None and frame_index != self.frame_index:
            self.frame_index = frame_index
            self._points = []  # a half-placed drawing belongs to the frame it was started on
        self.update()

    def set_overlay(self, image: QImage | None, opacity: float = 0.5) -> None:
        self.overlay, self.overlay_opacity = image, opacity
        self.update()

    def set_drawings(self, drawings: list[Drawing]) -> None:
        self.drawings = drawings
        self.update()

    def set_tool(self, tool: str | None) -> None:
        self.tool = tool if tool in KINDS else None
        self._points = []
        self.setCursor(Qt.CursorShape.CrossCursor if self.tool else Qt.CursorShape.ArrowCursor)
        self.update()

    def clear(self, placeholder: str) -> None:
        self.image = None
        self.placeholder = placeholder
        self.update()

    # --- geometry --------------------------------------------------------------------------
    def image_rect(self) -> QRectF:
        """Where the (zoomed, panned) source frame lies in the widget."""
        size = self.source_size or ((self.image.width(), self.image.height()) if self.image is not None else None)
        if size is None or size[0] <= 0 or size[1] <= 0:
            return QRectF()
        scale = min(self.width() / size[0], self.height() / size[1]) * self.zoom
        width, height = size[0] * scale, size[1] * scale
        return QRectF((self.width() - width) / 2 + self.pan.x(), (self.height() - height) / 2 + self.pan.y(), width, height)

    def to_source(self, point: QPointF) -> tuple[float, float]:
        rect, (width, height) = self.image_rect(), self._size()
        return ((point.x() - rect.x()) / rect.width() * width, (point.y() - rect.y()) / rect.height() * height)

    def to_widget(self, point: tuple[float, float]) -> QPointF:
        rect, (width, height) = self.image_rect(), self._size()
        return QPointF(rect.x() + point[0] / width * rect.width(), rect.y() + point[1] / height * rect.height())

    def _size(self) -> tuple[int, int]:
        if self.source_size is not None:
            return self.source_size
        return (self.image.width(), self.image.height()) if self.image is not None else (1, 1)

    def set_zoom(self, zoom: float, about: QPointF | None = None) -> None:
        """Zoom keeping the source point under ``about`` (default: the centre) where it is."""
        zoom = min(MAX_ZOOM, max(1.0, zoom))
        if about is not None and self.image_rect().isValid():
            anchor = self.to_source(about)
            self.zoom = zoom
            moved = self.to_widget(anchor)
            self.pan += about - moved
        else:
            self.zoom = zoom
        if zoom == 1.0:
            self.pan = QPointF(0.0, 0.0)
        self.zoom_changed.emit(self.zoom)
        self.update()

    # --- painting --------------------------------------------------------------------------
    def paintEvent(self, event: object) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(16, 16, 16))
        if self.image is None:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        if self.zoom > 1:  # at 1x the worker already scaled the frame to this size: a plain blit
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        rect = self.image_rect()
        painter.drawImage(rect, self.image)
        if self.overlay is not None:
            painter.setOpacity(self.overlay_opacity)
            painter.drawImage(rect, self.overlay)
            painter.setOpacity(1.0)
        self._paint_drawings(painter)
        caption = self.caption + (f"  zoom {self.zoom:.1f}×" if self.zoom > 1 else "")
        if caption:
            painter.fillRect(QRectF(8, 8, painter.fontMetrics().horizontalAdvance(caption) + 12, 22), QColor(0, 0, 0, 160))
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(QRectF(14, 8, self.width(), 22), Qt.AlignmentFlag.AlignVCenter, caption)

    def _paint_drawings(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(DRAWING_COLOUR, 2)
        painter.setPen(pen)
        shapes = [(d.points, d.label()) for d in self.drawings]
        if self._points:
            shapes.append((tuple(self._points), ""))
        for points, label in shapes:
            widget_points = [self.to_widget(p) for p in points]
            for a, b in zip(widget_points, widget_points[1:], strict=False):
                painter.drawLine(a, b)
            for p in widget_points:
                painter.drawEllipse(p, 3, 3)
            if label:
                anchor = widget_points[1] if len(widget_points) == 3 else widget_points[-1]
                painter.drawText(anchor + QPointF(8, -6), label)

    # --- mouse -----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if event.button() in (Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton) and self.zoom > 1:
            self._pan_from = event.position()
            return
        if event.button() == Qt.MouseButton.LeftButton and self.tool is not None and self.image is not None:
            self._points.append(self.to_source(event.position()))
            if len(self._points) == KINDS[self.tool]:
                drawing = Drawing(self.frame_index, self.tool, tuple(self._points))
                self._points = []
                self.drawing_finished.emit(drawing)
            self.update()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if self._pan_from is not None:
            self.pan += event.position() - self._pan_from
            self._pan_from = event.position()
            self.update()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        self._pan_from = None
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if self.tool is None:
            self.set_zoom(1.0)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt API)
        steps = event.angleDelta().y() / 120
        if steps:
            self.set_zoom(self.zoom * ZOOM_STEP ** steps, event.position())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self.resized.emit(self.width(), self.height())
