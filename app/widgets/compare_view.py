"""Two dives side by side, synchronised on an event frame (take-off or entry).

The coach marks the event in each video once; from then on aligning, stepping and playing move
both players so that the marked frames coincide. Each side has its own ``Player`` (and so its
own decoding thread), and both run on the same wall clock, so they stay together while playing.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QWidget

from app.widgets.player import Player

EVENTS = ("take-off", "entry")


class CompareSide(QWidget):
    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = Player()
        self.title = QLabel(title)
        self.open_button = QPushButton("Open…")
        self.mark_button = QPushButton("Mark event here")
        self.mark_label = QLabel("no mark")
        self.marks: dict[str, int] = {}
        layout = QGridLayout(self)
        layout.addWidget(self.title, 0, 0, 1, 3)
        layout.addWidget(self.player, 1, 0, 1, 3)
        layout.addWidget(self.open_button, 2, 0)
        layout.addWidget(self.mark_button, 2, 1)
        layout.addWidget(self.mark_label, 2, 2)
        self.open_button.clicked.connect(self._ask_open)
        self.player.video_opened.connect(lambda meta: (self.marks.clear(), self.title.setText(Path(meta.path).name)))
        self.player.video_failed.connect(self.title.setText)

    def _ask_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a dive to compare")
        if path:
            self.player.open(path)

    def mark(self, event: str) -> None:
        self.marks[event] = self.player.requested
        self.show_mark(event)

    def show_mark(self, event: str) -> None:
        frame = self.marks.get(event)
        self.mark_label.setText(f"{event} at frame {frame + 1}" if frame is not None else f"no {event} mark")


class CompareView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.left = CompareSide("Dive A")
        self.right = CompareSide("Dive B")
        self.event_box = QComboBox()
        self.event_box.addItems(list(EVENTS))
        self.align_button = QPushButton("Align on event")
        self.back_button = QPushButton("◀|")
        self.play_button = QPushButton("▶ both")
        self.forward_button = QPushButton("|▶")
        self.status = QLabel("Mark the event in both dives, then align.")
        controls = QHBoxLayout()
        for widget in (QLabel("Synchronise on"), self.event_box, self.align_button, self.back_button, self.play_button,
                       self.forward_button, self.status):
            controls.addWidget(widget)
        controls.addStretch(1)
        layout = QGridLayout(self)
        layout.addWidget(self.left, 0, 0)
        layout.addWidget(self.right, 0, 1)
        layout.addLayout(controls, 1, 0, 1, 2)
        for side in (self.left, self.right):
            side.mark_button.clicked.connect(lambda _=False, s=side: s.mark(self.event_name()))
        self.event_box.currentTextChanged.connect(lambda name: (self.left.show_mark(name), self.right.show_mark(name)))
        self.align_button.clicked.connect(self.align)
        self.back_button.clicked.connect(lambda: self.step(-1))
        self.forward_button.clicked.connect(lambda: self.step(1))
        self.play_button.clicked.connect(self.toggle_play)

    def event_name(self) -> str:
        return self.event_box.currentText()

    def offset(self) -> int | None:
        """Frames to add to A's position to reach the matching frame of B."""
        event = self.event_name()
        if event not in self.left.marks or event not in self.right.marks:
            self.status.setText(f"Mark the {event} in both dives first.")
            return None
        return self.right.marks[event] - self.left.marks[event]

    def align(self) -> bool:
        offset = self.offset()
        if offset is None:
            return False
        self.pause()
        event = self.event_name()
        self.left.player.seek(self.left.marks[event])
        self.right.player.seek(self.left.marks[event] + offset)
        self.status.setText(f"Aligned on the {event}.")
        return True

    def step(self, frames: int) -> None:
        offset = self.offset()
        if offset is None:
            return
        self.pause()
        target = self.left.player.requested + frames
        self.left.player.seek(target)
        self.right.player.seek(target + offset)

    def toggle_play(self) -> None:
        if self.left.player.playing or self.right.player.playing:
            self.pause()
            return
        offset = self.offset()
        if offset is None:
            return
        self.right.player.seek(self.left.player.requested + offset)
        self.left.player.play()
        self.right.player.play()
        self.play_button.setText("❚❚ both")

    def pause(self) -> None:
        self.left.player.pause()
        self.right.player.pause()
        self.play_button.setText("▶ both")
