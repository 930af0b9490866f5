"""The video player: a ``VideoView`` fed by a ``FrameWorker``, with a playback clock.

Playback is paced by wall time, not by a timer per frame: frame k of a run is due at
``t0 + k / (fps * speed)``. A fast precise timer drains the worker's decode-ahead queue and shows
the newest frame that is due, so a late timer tick shows the right frame instead of drifting,
and a frame that could not be decoded in time is skipped (and counted) rather than delaying
all the following ones. ``pacing`` keeps that record for the frame-pacing benchmark.
"""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass, field

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.state import VideoMeta
from app.widgets.video_view import VideoView
from app.workers import FrameWorker, PlayedFrame

SPEEDS = (0.1, 0.25, 0.5, 1.0, 1.5, 2.0)
TICK_MS = 3


@dataclass
class PacingLog:
    """Lateness of every shown frame and how many due frames were skipped."""

    lateness_s: list[float] = field(default_factory=list)
    interval_s: list[float] = field(default_factory=list)
    skipped: int = 0

    def on_time_fraction(self) -> float:
        """Share of due frames shown within one frame interval of their due time."""
        due = len(self.lateness_s) + self.skipped
        on_time = sum(1 for late, interval in zip(self.lateness_s, self.interval_s, strict=True) if late <= interval)
        return on_time / due if due else 0.0


class Player(QWidget):
    video_opened = Signal(object)  # VideoMeta
    video_failed = Signal(str)
    frame_shown = Signal(int)
    playing_changed = Signal(bool)
    speed_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = VideoView(self)
        # The player takes the keyboard (Space, arrows) when clicked, as a video player does.
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.view.setFocusProxy(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.meta: VideoMeta | None = None
        self.frame = 0  # on screen
        self.requested = 0  # asked for (ahead of ``frame`` while a seek is decoding)
        self.speed = 1.0
        self.loop: tuple[int, int] | None = None
        self.playing = False
        self.caption_extra = ""
        self.pacing = PacingLog()
        self._worker: FrameWorker | None = None
        self._generation = 0
        self._t0: float | None = None
        self._rate = 30.0
        self._pending: PlayedFrame | None = None
        self._last_k = -1
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self.view.resized.connect(self._on_resized)
        self.view.zoom_changed.connect(lambda _zoom: self._on_resized(self.view.width(), self.view.height()))

    # Opening and closing.
    def open(self, path: str) -> None:
        self.close_video()
        worker = FrameWorker(path, self)
        worker.opened.connect(self._on_opened)
        worker.failed.connect(self._on_failed)
        worker.frame_ready.connect(self._on_frame_ready)
        self.view.set_zoom(1.0)
        worker.set_display_size(self.view.width(), self.view.height())
        self._worker = worker
        worker.start()

    def close_video(self) -> None:
        self.pause()
        if self._worker is not None:
            self._worker.stop()
            self._worker.deleteLater()
            self._worker = None
        self.meta = None
        self.frame = self.requested = 0

    def _on_opened(self, meta: VideoMeta) -> None:
        self.meta = meta
        self.view.source_size = (meta.width, meta.height)
        self.loop = None
        self.video_opened.emit(meta)
        self.seek(0)

    def _on_failed(self, message: str) -> None:
        self.close_video()
        self.view.clear(message)
        self.video_failed.emit(message)

    # Transport.
    def seek(self, frame: int) -> None:
        if self.meta is None or self._worker is None:
            return
        frame = max(0, min(self.meta.frame_count - 1, frame))
        self.requested = frame
        if self.playing:
            self._start_run(frame)
        else:
            self._worker.seek(frame)

    def step(self, frames: int) -> None:
        self.pause()
        self.seek(self.requested + frames)  # from the last request: fast repeated steps all count

    def jump_seconds(self, seconds: float) -> None:
        if self.meta is not None:
            self.seek((self.frame if self.playing else self.requested) + round(seconds * self.meta.fps))

    def play(self) -> None:
        if self.meta is None or self.playing:
            return
        start = self.requested
        if self.loop is None and start >= self.meta.frame_count - 1:
            start = 0  # replay from the start, as every player does at the end
        elif self.loop is not None and not self.loop[0] <= start <= self.loop[1]:
            start = self.loop[0]
        self.playing = True
        self._start_run(start)
        self._timer.start()
        self.playing_changed.emit(True)

    def pause(self) -> None:
        if not self.playing:
            return
        self.playing = False
        self._timer.stop()
        self._pending = None
        if self._worker is not None:
            self._worker.pause()
        self.playing_changed.emit(False)

    def toggle_play(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def set_speed(self, speed: float) -> None:
        self.speed = min(max(speed, SPEEDS[0]), SPEEDS[-1])
        if self.playing:
            self._start_run(self.frame)
        elif self.view.image is not None:  # paused: the picture's caption names the speed too, so say the new one now
            self.view.show_image(self.view.image, self._caption(self.frame), self.frame)
        self.speed_changed.emit(self.speed)

    def change_speed(self, steps: int) -> None:
        """One notch slower (J, steps=-1) or faster (L, steps=+1) on the speed ladder."""
        current = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - self.speed))
        self.set_speed(SPEEDS[max(0, min(len(SPEEDS) - 1, current + steps))])

    def set_loop(self, loop: tuple[int, int] | None) -> None:
        self.loop = loop
        if self.playing:
            self._start_run(self.frame if loop is None or loop[0] <= self.frame <= loop[1] else loop[0])

    def _start_run(self, start: int) -> None:
        assert self.meta is not None and self._worker is not None
        last = self.loop[1] if self.loop is not None else self.meta.frame_count - 1
        loop_start = self.loop[0] if self.loop is not None else None
        self._pending = None
        self._last_k = -1
        self._rate = self.meta.fps * self.speed
        self._generation = self._worker.play(start, last, loop_start)
        self._t0 = None  # the clock starts when the first frame is decoded (pre-roll)

    # Display.
    def _tick(self) -> None:
        assert self._worker is not None
        now = time.perf_counter()
        shown: PlayedFrame | None = None
        item = self._pending
        while True:
            if item is None:
                try:
                    item = self._worker.play_queue.get_nowait()
                except queue.Empty:
                    break
            if item.generation != self._generation:
                item = None
                continue
            if self._t0 is None:
                self._t0 = now
            due_k = int((now - self._t0) * self._rate)
            if item.k > due_k:
                break
            shown, item = item, None
        self._pending = item
        if shown is None or self._t0 is None:
            return
        self.pacing.skipped += max(0, shown.k - self._last_k - 1)
        self.pacing.lateness_s.append(now - (self._t0 + shown.k / self._rate))
        self.pacing.interval_s.append(1.0 / self._rate)
        self._last_k = shown.k
        self._display(shown.index, shown.image)
        if self.loop is None and self.meta is not None and shown.index >= self.meta.frame_count - 1:
            self.pause()

    def _on_frame_ready(self, index: int, image: QImage) -> None:
        if not self.playing:
            self._display(index, image)

    def _display(self, index: int, image: QImage) -> None:
        self.frame = index
        if self.playing:
            self.requested = index
        self.view.show_image(image, self._caption(index), index)
        self.frame_shown.emit(index)

    def _caption(self, index: int) -> str:
        total = self.meta.frame_count if self.meta else 0
        return f"frame {index + 1}/{total}  {self.speed:g}×  {self.caption_extra}".strip()

    def current_image(self) -> QImage | None:
        return self.view.image

    def _on_resized(self, width: int, height: int) -> None:
        """Frames are decoded at the size they are shown (zoom included; never above the source's)."""
        if self._worker is not None:
            zoom = self.view.zoom
            self._worker.set_display_size(int(width * zoom), int(height * zoom))
            if not self.playing and self.meta is not None:
                self._worker.seek(self.requested)  # redraw at the new size; never undo a pending seek

    def closeEvent(self, event: object) -> None:  # noqa: N802 (Qt API)
        self.close_video()
        super().closeEvent(event)  # type: ignore[arg-type]
