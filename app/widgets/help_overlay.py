"""The keyboard help overlay (F1) and the dialog that rebinds shortcuts (stored in QSettings)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QColor, QKeyEvent, QKeySequence, QPainter
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QKeySequenceEdit, QLabel, QWidget

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
    """One key editor per action; OK stores them and rebinds the live actions.

    A key editor takes every key it is given, Escape included, and chains presses into multi-key
    sequences: a judge's Escape (to close) and F1 (for help) became Play/pause's "F1, Esc" and the
    dialog stayed open. So each editor holds one key combination (a new press replaces it), Escape
    closes the dialog unchanged wherever the focus is, and the focus starts on the buttons, not in
    the first editor.
    """

    def __init__(self, actions: dict[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.actions = actions
        self.editors: dict[str, QKeySequenceEdit] = {}
        form = QFormLayout(self)
        form.addRow(QLabel("Click a field, then press the new key; Escape closes without changes."))
        for spec in SHORTCUTS:
            editor = QKeySequenceEdit(QKeySequence(shortcut(spec.action)))
            editor.setMaximumSequenceLength(1)
            editor.setClearButtonEnabled(True)
            editor.installEventFilter(self)
            self.editors[spec.action] = editor
            form.addRow(spec.label, editor)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        """Escape in a key editor closes the dialog (the editor would bind it)."""
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Escape \
                and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            self.reject()
            return True
        return super().eventFilter(watched, event)

    def accept(self) -> None:
        for action, editor in self.editors.items():
            sequence = editor.keySequence().toString()
            if sequence:
                set_shortcut(action, sequence)
                if action in self.actions:
                    self.actions[action].setShortcut(QKeySequence(sequence))
        super().accept()
