"""The keyboard help overlay (F1) and the dialog that rebinds shortcuts (stored in QSettings)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QKeySequence, QPainter
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QKeySequenceEdit, QWidget

from app.settings import SHORTCUTS, set_shortcut, shortcut


class HelpOverlay(QWidget):
    """A translucent sheet over the desk listing every shortcut as currently bound; click to close."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, False)
        self.hide()

    def lines(self) -> list[str]:
        return [f"{shortcut(spec.action):>14}   {spec.label}" for spec in SHORTCUTS]

    def toggle(self) -> None:
        if self.isVisible():
            self.hide()
            return
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.raise_()
        self.show()

    def paintEvent(self, event: object) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0, 190))
        painter.setPen(QColor(255, 255, 255))
        font = painter.font()
        font.setFamily("monospace")
        font.setPointSize(12)
        painter.setFont(font)
        area = self.rect().adjusted(40, 30, -40, -30)
        heading = painter.font()
        heading.setPointSize(14)
        heading.setBold(True)
        painter.setFont(heading)
        flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
        title = painter.boundingRect(area, flags, "Keyboard shortcuts")
        painter.drawText(area, flags, "Keyboard shortcuts")
        painter.setFont(font)
        note = ("F1 or a click closes this; Edit ▸ Keyboard shortcuts… rebinds them. The keys drive the video except while "
                "you type in a field: Enter or Esc gives them back, and so does a click on the video.")
        area.setTop(title.bottom() + 8)
        used = painter.boundingRect(area, flags, note)
        painter.drawText(area, flags, note)
        area.setTop(used.bottom() + 16)
        painter.drawText(area, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, "\n".join(self.lines()))

    def mousePressEvent(self, event: object) -> None:  # noqa: N802 (Qt API)
        self.hide()


class ShortcutsDialog(QDialog):
    """One key-sequence editor per action; OK stores them and rebinds the live actions."""

    def __init__(self, actions: dict[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.actions = actions
        self.editors: dict[str, QKeySequenceEdit] = {}
        form = QFormLayout(self)
        for spec in SHORTCUTS:
            editor = QKeySequenceEdit(QKeySequence(shortcut(spec.action)))
            self.editors[spec.action] = editor
            form.addRow(spec.label, editor)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def accept(self) -> None:
        for action, editor in self.editors.items():
            sequence = editor.keySequence().toString()
            if sequence:
                set_shortcut(action, sequence)
                if action in self.actions:
                    self.actions[action].setShortcut(QKeySequence(sequence))
        super().accept()
