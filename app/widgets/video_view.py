"""The frame on screen: paints the latest decoded QImage, centred, with a one-line caption.

Painting a QImage directly (no QPixmap conversion, no scaling: the worker already scaled it to
this widget's size) keeps the GUI thread's share of each frame to a blit.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget


class VideoView(QWidget):
    resized = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.overlay: QImage | None = None  # another dive's frame drawn over this one (Compare's onion skin)
        self.overlay_opacity = 0.5
        self.caption = ""
        self.placeholder = "Open a dive video (File ▸ Open, or drop a file here)"
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def show_image(self, image: QImage, caption: str) -> None:
        self.image = image
        self.caption = caption
        self.update()

    def set_overlay(self, image: QImage | None, opacity: float = 0.5) -> None:
        self.overlay, self.overlay_opacity = image, opacity
        self.update()

    def clear(self, placeholder: str) -> None:
        self.image = None
        self.placeholder = placeholder
        self.update()

    def image_rect(self) -> QRect:
        if self.image is None:
            return QRect()
        size = self.image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        return QRect((self.width() - size.width()) // 2, (self.height() - size.height()) // 2, size.width(), size.height())

    def paintEvent(self, event: object) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(16, 16, 16))
        if self.image is None:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        painter.drawImage(self.image_rect(), self.image)
        if self.overlay is not None:
            painter.setOpacity(self.overlay_opacity)
            painter.drawImage(self.image_rect(), self.overlay)
            painter.setOpacity(1.0)
        if self.caption:
            painter.fillRect(QRect(8, 8, painter.fontMetrics().horizontalAdvance(self.caption) + 12, 22), QColor(0, 0, 0, 160))
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(QRect(14, 8, self.width(), 22), Qt.AlignmentFlag.AlignVCenter, self.caption)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self.resized.emit(self.width(), self.height())
