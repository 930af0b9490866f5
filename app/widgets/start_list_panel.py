"""The start list beside the desk: who dives next, and stepping through the list.

Opening a video takes the highlighted entry ("next") and moves the highlight on; the buttons
step the highlight back and forth when a video was skipped or is missing, and activating an
entry puts it on the dive already on the desk (a video opened out of order).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from app.start_list import StartEntry


class StartListPanel(QWidget):
    import_requested = Signal()
    entry_chosen = Signal(int)  # put this entry on the dive on the desk
    next_chosen = Signal(int)  # the entry the next opened video takes

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # arrows stay with the player
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.hint = QLabel("Import a CSV (diver, dive_number, height, round) and each video opened takes the next dive.")
        self.hint.setWordWrap(True)
        self.import_button = QPushButton("Import start list…")
        self.back_button = QPushButton("◀ back")
        self.forward_button = QPushButton("skip ▶")
        for button in (self.import_button, self.back_button, self.forward_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # Import on a row of its own: the three in one row made the dock column 309 px wide at least,
        # and with the demo's list beside it the window would not fit a 1280 px screen (1298 px).
        moves = QHBoxLayout()
        moves.addWidget(self.back_button)
        moves.addWidget(self.forward_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.import_button)
        layout.addLayout(moves)
        self.next_index = 0
        self.count = 0
        self.import_button.clicked.connect(self.import_requested)
        self.back_button.clicked.connect(lambda: self.next_chosen.emit(self.next_index - 1))
        self.forward_button.clicked.connect(lambda: self.next_chosen.emit(self.next_index + 1))
        self.list.itemActivated.connect(lambda item: self.entry_chosen.emit(self.list.row(item)))
        self.show_entries([], 0)

    def show_entries(self, entries: Sequence[StartEntry], next_index: int) -> None:
        self.next_index, self.count = next_index, len(entries)
        self.list.clear()
        for i, entry in enumerate(entries):
            item = QListWidgetItem(("▶ " if i == next_index else "   ") + entry.label)
            item.setToolTip(entry.label)
            if i < next_index:
                item.setForeground(Qt.GlobalColor.gray)
            self.list.addItem(item)
        if entries:
            done = "all dives taken" if next_index >= len(entries) else f"next: {entries[next_index].label}"
            self.hint.setText(f"{len(entries)} dives; {done}")
        self.back_button.setEnabled(bool(entries) and next_index > 0)
        self.forward_button.setEnabled(next_index < len(entries))
        if 0 <= next_index < len(entries):
            self.list.scrollToItem(self.list.item(next_index))
