"""Two dives side by side: each on its own until the coach locks them together on an event.

Each pane is a small player of its own (timeline to scrub, frame steps, play, a take-off and an
entry mark that can be set on any frame; on opening, a worker finds the dive and sets both marks
from its detected take-off and entry unless the coach has marked first). "Sync" locks the panes
with the offset between their marks of the chosen event (or, with no marks, the offset they show
now); from then on playing, stepping or scrubbing either pane moves both, at any speed, and the
offset stays. Unlocking gives each pane back its own controls. Each side has its own ``Player``
(and decoding thread), and both run on the same wall clock, so they stay together while playing.

Overlay (onion-skin) mode draws dive B half-transparent over dive A in one large view, the way
a coach lays one body line over the other.

Under each pane, its clip curve (``ClipCurve``): the newest analysis the sessions database holds
for that video's content, so two stored attempts show where each one's clips drop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.export import ComparedDive, synced_span
from app.file_dialogs import choose_file
from app.settings import shortcut
from app.state import VideoMeta
from app.storage.background import QueryRunner
from app.widgets.clip_curve import ClipCurve
from app.widgets.player import SPEEDS, Player
from app.widgets.timeline import Timeline
from app.widgets.video_view import VIDEO_FILTER, OpensDroppedVideos
from app.workers import Task, run_task

EVENTS = ("take-off", "entry")
OVERLAY_OPACITY = 0.5


class ComparePane(OpensDroppedVideos, QWidget):
    """One dive: player, timeline, step/play buttons, frame readout and event marks.

    The pane never moves its player itself: it asks (``seek_requested``, ``step_requested``,
    ``play_requested``) and the view decides whether the other pane follows (synced) or not.
    """

    seek_requested = Signal(int)
    step_requested = Signal(int)
    play_requested = Signal()
    marks_changed = Signal()
    finding_ended = Signal()  # the dive finder has answered for the open video (marks found or not)

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = title
        self.player = Player()
        # File ▸ Open opens on the desk: this pane opens by its own button, or by a drop on it.
        self.player.view.placeholder = f"Open {title}: Open… below, or drop a file here"
        self.setAcceptDrops(True)
        self.timeline = Timeline()
        self.timeline.setFixedHeight(30)
        self.timeline.setToolTip("Click or drag to scrub this dive")
        self.curve = ClipCurve()
        self.curve.setMaximumHeight(320)
        self.title = QLabel(title)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton("Open…")
        self.back_button = QPushButton("◀|")
        self.play_button = QPushButton("▶")
        self.forward_button = QPushButton("|▶")
        self.mark_button = QPushButton("Mark take-off here")
        self.frame_label = QLabel("frame –")
        self.mark_label = QLabel("no marks")
        for button in (self.open_button, self.back_button, self.play_button, self.forward_button, self.mark_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for button in (self.back_button, self.play_button, self.forward_button):
            button.setMaximumWidth(44)
        self.marks: dict[str, int] = {}
        self.finding = False  # the dive finder is still looking at the open video
        self._finding: Task | None = None  # the dive finder's run for the open video (kept alive until done)
        controls = QHBoxLayout()
        for widget in (self.open_button, self.back_button, self.play_button, self.forward_button, self.frame_label):
            controls.addWidget(widget)
        controls.addStretch(1)
        controls.addWidget(self.mark_label)
        controls.addWidget(self.mark_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.player, 10)
        layout.addWidget(self.timeline)
        layout.addLayout(controls)
        # The height the picture cannot use goes to the clip curve (not black bars), and past its
        # maximum to the space below: a spacer of stretch 0 only grows once the curve cannot.
        layout.addWidget(self.curve, 1)
        layout.addStretch(0)
        self.open_button.clicked.connect(self._ask_open)
        self.back_button.clicked.connect(lambda: self.step_requested.emit(-1))
        self.forward_button.clicked.connect(lambda: self.step_requested.emit(1))
        self.play_button.clicked.connect(self.play_requested)
        self.timeline.scrubbed.connect(self.seek_requested)
        self.player.video_opened.connect(self._on_opened)
        self.player.video_failed.connect(self.title.setText)
        self.player.frame_shown.connect(self._on_frame)
        self.player.playing_changed.connect(lambda playing: self.play_button.setText("❚❚" if playing else "▶"))

    def _ask_open(self) -> None:
        path = choose_file(self, f"Open {self.name}", "videos", VIDEO_FILTER)
        if path:
            self.player.open(path)

    def open_dropped(self, path: str) -> None:
        self.player.open(path)

    def _on_opened(self, meta: VideoMeta) -> None:
        self.marks.clear()
        self.title.setText(f"{self.name}: {Path(meta.path).name}")
        self.timeline.set_frame_count(meta.frame_count)
        self.curve.set_frame_count(meta.frame_count)
        self.curve.show_result(None, "Looking for a stored analysis of this video…")
        self._set_marks({})
        self._fit_video()
        self._find_dive(meta.path)

    def _find_dive(self, path: str) -> None:
        """Detect the dive on a worker; its take-off and entry become the marks if none were set meanwhile."""
        from aqa_core.dive_finder import find_dives

        def use(dives: list) -> None:
            if self.player.meta is None or self.player.meta.path != path:
                return  # another video was opened meanwhile: its own finder answers for it
            dive = next((d for d in dives if not d.replay), None)
            if dive is not None and not self.marks:
                found = {"entry": dive.entry_index}
                if dive.take_off_index is not None:
                    found["take-off"] = dive.take_off_index
                self._set_marks(found)
            self._end_finding()

        def failed(message: str) -> None:
            self.mark_label.setText(message)
            self._end_finding()

        self.finding = True
        self._finding = run_task(lambda: find_dives(path), f"finding the dive in {path}", use, failed, engine=True)

    def _end_finding(self) -> None:
        self.finding = False
        self.finding_ended.emit()

    def _set_marks(self, marks: dict[str, int]) -> None:
        self.marks = dict(marks)
        self.timeline.set_marks([(frame, name) for name, frame in self.marks.items()])
        self._show_marks()
        self.marks_changed.emit()

    def _on_frame(self, frame: int) -> None:
        self.timeline.set_playhead(frame)
        self.curve.set_playhead(frame)
        meta = self.player.meta
        total = meta.frame_count if meta else 0
        seconds = f"  {frame / meta.fps:.2f} s" if meta and meta.fps else ""
        self.frame_label.setText(f"frame {frame + 1}/{total}{seconds}")

    def mark(self, event: str) -> None:
        """Mark ``event`` on the frame on screen (any frame, synced or not)."""
        if self.player.meta is None:
            return
        self._set_marks({**self.marks, event: self.player.requested})

    def _show_marks(self) -> None:
        text = ", ".join(f"{name} {frame + 1}" for name, frame in sorted(self.marks.items(), key=lambda m: m[1]))
        self.mark_label.setText(text or "no marks")

    # Landscape: the video gets the width; the pane is only as tall as the picture needs.
    def _fit_video(self) -> None:
        meta = self.player.meta
        margins = self.layout().contentsMargins()
        width = self.width() - margins.left() - margins.right()
        if meta is not None and meta.width > 0 and width > 0:
            self.player.setMaximumHeight(max(180, int(width * meta.height / meta.width)))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._fit_video()


class CompareView(QWidget):
    export_requested = Signal()  # the main window asks where, and runs it with progress

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.left = ComparePane("Dive A")
        self.right = ComparePane("Dive B")
        self.panes = (self.left, self.right)
        self.event_box = QComboBox()
        self.event_box.addItems(list(EVENTS))
        self.sync_button = QPushButton("Synced: unlock")
        self.sync_button.setMinimumWidth(self.sync_button.sizeHint().width())  # its longer text: no jump when it changes
        self.sync_button.setText("Sync")
        self.sync_button.setCheckable(True)
        self.sync_button.setToolTip("Lock the two dives together with the offset between their marks (or as they are now)")
        self.speed = QComboBox()
        for speed in SPEEDS:
            self.speed.addItem(f"{speed:g}×", speed)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.overlay = QCheckBox("overlay B on A")
        self.export_button = QPushButton("Export side by side (MP4)…")
        self.export_button.setEnabled(False)
        self.export_button.setToolTip("Both dives, synced, in one video with their frame readouts and marks (Sync first)")
        self.status = QLabel("Step (← →, Space plays) or scrub each dive, mark the take-off (or entry) in both, then Sync.")
        self.status.setWordWrap(True)
        self.sync_offset: int | None = None  # frames to add to A's frame to reach B's, when synced
        self.sync_when_marked: str | None = None  # open_pair: sync on this event once both dives have it
        self.database: Any = None  # the sessions database whose stored analyses draw the clip curves
        self._curve_queries = {pane.name: QueryRunner(self) for pane in self.panes}
        controls = QHBoxLayout()
        for widget in (QLabel("Event"), self.event_box, self.sync_button, QLabel("speed"), self.speed, self.overlay,
                       self.export_button):
            controls.addWidget(widget)
        controls.addWidget(self.status, 1)
        self.panes_layout = QHBoxLayout()
        self.panes_layout.addWidget(self.left, 1)
        self.panes_layout.addWidget(self.right, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addLayout(self.panes_layout, 1)
        self.event_box.currentTextChanged.connect(self._on_event)
        self.sync_button.toggled.connect(self.set_synced)
        self.speed.currentIndexChanged.connect(lambda i: self.set_speed(float(self.speed.itemData(i))))
        self.overlay.toggled.connect(self.set_overlay)
        self.export_button.clicked.connect(self.export_requested)
        self.right.player.frame_shown.connect(self._draw_overlay)
        self.keyboard_pane = self.left  # the pane the keys drive while unsynced: the one last used
        for pane in self.panes:
            pane.mark_button.clicked.connect(lambda _=False, p=pane: (self._use(p), p.mark(self.event_name())))
            pane.seek_requested.connect(lambda frame, p=pane: (self._use(p), self.seek(p, frame)))
            pane.step_requested.connect(lambda frames, p=pane: (self._use(p), self.step(frames, p)))
            pane.play_requested.connect(lambda p=pane: (self._use(p), self.toggle_play(p)))
            pane.player.video_opened.connect(self._on_pane_opened)
            pane.player.playing_changed.connect(lambda playing, p=pane: self._stop_together(p, playing))
            pane.player.video_opened.connect(lambda meta, p=pane: self._show_stored_curve(p, meta.path))
            self._curve_queries[pane.name].error.connect(lambda message, p=pane: p.curve.show_result(None, message))
            pane.marks_changed.connect(self._sync_if_marked)
            pane.finding_ended.connect(self._sync_if_marked)

        # The desk's keys for playing and stepping (the user's bindings), here while this view is the tab on screen.
        self.key_actions: list[QAction] = []
        for name, handler in (("play_pause", lambda: self.toggle_play(self.keyboard_pane)),
                              ("step_forward", lambda: self.step(1, self.keyboard_pane)),
                              ("step_back", lambda: self.step(-1, self.keyboard_pane)),
                              ("jump_forward", lambda: self.jump_seconds(1.0, self.keyboard_pane)),
                              ("jump_back", lambda: self.jump_seconds(-1.0, self.keyboard_pane)),
                              ("go_start", lambda: self.go_to_end(False, self.keyboard_pane)),
                              ("go_end", lambda: self.go_to_end(True, self.keyboard_pane))):
            action = QAction(self)
            action.setShortcut(QKeySequence(shortcut(name)))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(handler)
            self.addAction(action)
            self.key_actions.append(action)

    def set_shortcuts_active(self, active: bool) -> None:
        """The keys act while this view is the tab on screen (the desk's own are off then, and back on the desk)."""
        for action in self.key_actions:
            action.setEnabled(active)

    # --- clip curves (the sessions' stored analyses) --------------------------------------
    def set_database(self, database: Any) -> None:
        """The sessions database the curves come from; the open videos are looked up in it again."""
        self.database = database
        self.refresh_curves()

    def refresh_curves(self) -> None:
        """Look the open videos up again (the desk may have scored one since): on showing the tab."""
        for pane in self.panes:
            if pane.player.meta is not None:
                self._show_stored_curve(pane, pane.player.meta.path)

    def _show_stored_curve(self, pane: ComparePane, path: str) -> None:
        """The newest stored analysis of this video's content, found on the pool (hash, then query)."""
        database = self.database
        if database is None:
            pane.curve.show_result(None, "No sessions database open: no stored clip curve")
            return

        def find() -> Any:
            from app.analysis_cache import video_hash
            from app.storage.repository import Repository

            return Repository(database).latest_analysis_of_video(video_hash(path).result())

        def show(result: Any) -> None:
            if pane.player.meta is not None and pane.player.meta.path == path:  # not a video opened since
                pane.curve.show_result(result)
                self._match_curve_scales()

        self._curve_queries[pane.name].submit(find, show)

    def _match_curve_scales(self) -> None:
        """Both curves on the y range that holds both, so the two attempts' drops compare by eye."""
        spans = [span for pane in self.panes if (span := pane.curve.score_span()) is not None]
        if spans:
            low, high = min(s[0] for s in spans), max(s[1] for s in spans)
            for pane in self.panes:
                pane.curve.set_score_range(low, high)

    def _use(self, pane: ComparePane) -> None:
        self.keyboard_pane = pane

    def _on_pane_opened(self, _meta: VideoMeta) -> None:
        """A new dive in either pane unlocks them; an ``open_pair`` still looking for its event keeps saying so."""
        message = self.status.text()
        self.set_synced(False)
        if self.sync_when_marked is not None:
            self.status.setText(message)

    def event_name(self) -> str:
        return self.event_box.currentText()

    def open_pair(self, left: str, right: str, event: str = "take-off") -> None:
        """Open two dives (the desk's and an exemplar) and sync them on ``event`` as soon as both are found."""
        self.event_box.setCurrentText(event)
        self.left.player.open(left)
        self.right.player.open(right)
        self.sync_when_marked = event
        self.status.setText(f"Finding the {event} in both dives to sync them…")

    def _sync_if_marked(self) -> None:
        """Sync ``open_pair``'s dives once both have its event; when the finder found it in one only (a clip that
        starts in the air has no take-off), on the other event if both have that, and say so either way."""
        event = self.sync_when_marked
        if event is None:
            return
        if event in self.left.marks and event in self.right.marks:
            self.sync_when_marked = None
            self.set_synced(True)
            return
        if any(pane.finding or pane.player.meta is None for pane in self.panes):
            return  # a pane is still opening or looking
        missing = " or ".join(pane.name for pane in self.panes if event not in pane.marks)
        other = next(e for e in EVENTS if e != event)
        if all(other in pane.marks for pane in self.panes):
            self.sync_when_marked = None
            self.event_box.setCurrentText(other)
            self.set_synced(True)
            self.status.setText(f"No {event} found in {missing}: {self.status.text()}")
        else:  # still pending: the coach's own marks sync them
            self.status.setText(f"No {event} found in {missing}: mark it in both ('Mark {event} here') and they sync.")

    def _on_event(self, event: str) -> None:
        for pane in self.panes:
            pane.mark_button.setText(f"Mark {event} here")

    # --- sync ------------------------------------------------------------------------------
    def set_synced(self, synced: bool) -> bool:
        """Lock (or unlock) the panes; the offset comes from the marks, else from the frames shown."""
        if not synced:
            self.sync_offset = None
            self._set_button(False)
            self.status.setText("Each dive on its own: step, scrub and mark either one.")
            return True
        if self.left.player.meta is None or self.right.player.meta is None:
            self._set_button(False)
            self.status.setText("Open a dive in both panes first.")
            return False
        self.pause()
        event = self.event_name()
        if event in self.left.marks and event in self.right.marks:
            self.sync_offset = self.right.marks[event] - self.left.marks[event]
            self.left.player.seek(self.left.marks[event])
            self.right.player.seek(self.right.marks[event])
            how = f"on the {event} (A {self.left.marks[event] + 1}, B {self.right.marks[event] + 1})"
        else:
            self.sync_offset = self.right.player.requested - self.left.player.requested
            how = "as they are now (no marks of the " + event + " in both)"
        self._set_button(True)
        self.status.setText(f"Synced {how}: B's frame = A's frame {'+' if self.sync_offset >= 0 else '−'} {abs(self.sync_offset)}; both move together.")
        return True

    def _set_button(self, checked: bool) -> None:
        self.sync_button.blockSignals(True)
        self.sync_button.setChecked(checked)
        self.sync_button.blockSignals(False)
        # a pressed-in button hardly looks pressed in most styles: a coach clicked "Sync" to sync dives already synced, and unlocked them
        self.sync_button.setText("Synced: unlock" if checked else "Sync")
        self.sync_button.setToolTip("Unlock the two dives: step and mark each on its own" if checked else
                                    "Lock the two dives together with the offset between their marks (or as they are now)")
        self.export_button.setEnabled(checked)

    def export_plan(self) -> tuple[ComparedDive, ComparedDive, int] | None:
        """What a side-by-side export of the synced dives holds: both sides (each with the analysis its curve shows) and the frame count."""
        left, right, shared = self.left.player.meta, self.right.player.meta, self._shared_frames()
        if shared is None or left is None or right is None or self.sync_offset is None:
            return None
        first, count = shared
        return (ComparedDive(left.path, first, f"A: {Path(left.path).name}", dict(self.left.marks), self.left.curve.result),
                ComparedDive(right.path, first + self.sync_offset, f"B: {Path(right.path).name}", dict(self.right.marks), self.right.curve.result),
                count)

    @property
    def synced(self) -> bool:
        return self.sync_offset is not None

    def _shared_frames(self) -> tuple[int, int] | None:
        """(A's first frame, count) of the frames both synced dives have; None unless synced with both open."""
        left, right = self.left.player.meta, self.right.player.meta
        if self.sync_offset is None or left is None or right is None:
            return None
        return synced_span(left.frame_count, right.frame_count, self.sync_offset)

    def _other(self, pane: ComparePane) -> ComparePane:
        return self.right if pane is self.left else self.left

    def _partner_frame(self, pane: ComparePane, frame: int) -> int:
        assert self.sync_offset is not None
        return frame + self.sync_offset if pane is self.left else frame - self.sync_offset

    # --- transport (one pane, or both when synced) -------------------------------------------
    def seek(self, pane: ComparePane, frame: int) -> None:
        """Show ``frame`` in ``pane``; synced, within the frames both dives have, and the partner at its offset
        (a frame past one dive's end used to move only the other, and the pair came out of sync)."""
        shared = self._shared_frames()
        if shared is not None and self.sync_offset is not None:
            first, count = shared
            start = first if pane is self.left else first + self.sync_offset
            frame = min(max(frame, start), start + max(0, count - 1))
        pane.player.seek(frame)
        if self.synced:
            self._other(pane).player.seek(self._partner_frame(pane, frame))

    def step(self, frames: int, pane: ComparePane | None = None) -> None:
        pane = pane or self.left
        if self.synced:
            self.pause()
            self.seek(pane, pane.player.requested + frames)
        else:
            pane.player.step(frames)

    def jump_seconds(self, seconds: float, pane: ComparePane | None = None) -> None:
        """A second on (or back) in the pane's own frames; both move when synced."""
        pane = pane or self.left
        if pane.player.meta is not None:
            self.step(round(seconds * pane.player.meta.fps), pane)

    def go_to_end(self, last: bool, pane: ComparePane | None = None) -> None:
        """The first (or last) frame: of the frames both dives have when synced, else of the pane's own dive."""
        pane = pane or self.left
        shared = self._shared_frames()
        if shared is None:
            if pane.player.meta is not None:
                pane.player.pause()
                pane.player.seek(pane.player.meta.frame_count - 1 if last else 0)
            return
        first, count = shared
        self.pause()
        self.seek(self.left, first + max(0, count - 1) if last else first)

    def toggle_play(self, pane: ComparePane | None = None) -> None:
        pane = pane or self.left
        if not self.synced:
            pane.player.toggle_play()
            return
        if self.left.player.playing or self.right.player.playing:
            self.pause()
            return
        shared = self._shared_frames()
        if shared is None or self.sync_offset is None:
            return
        # Both play over the frames both have, from where the pane shows: at the end of that span
        # they start again together (each player on its own would restart only itself, and only at
        # its own end, so the lock broke), and they stop together (``_stop_together``).
        first, count = shared
        a = pane.player.requested if pane is self.left else self._partner_frame(pane, pane.player.requested)
        if not first <= a < first + count - 1:
            a = first
        self.left.player.seek(a)
        self.right.player.seek(a + self.sync_offset)
        self.left.player.play()
        self.right.player.play()

    def _stop_together(self, pane: ComparePane, playing: bool) -> None:
        """A synced pane that stopped (its last frame) stops the other, so neither runs on unlocked."""
        if self.synced and not playing:
            self._other(pane).player.pause()

    def pause(self) -> None:
        for pane in self.panes:
            pane.player.pause()

    def set_speed(self, speed: float) -> None:
        for pane in self.panes:
            pane.player.set_speed(speed)

    # --- overlay ---------------------------------------------------------------------------
    def set_overlay(self, enabled: bool) -> None:
        """Onion skin: B's frame half-transparent over A's, in A's view (now most of the width; B keeps its controls)."""
        self.right.player.setVisible(not enabled)
        self.panes_layout.setStretch(0, 3 if enabled else 1)
        self._draw_overlay()

    def _draw_overlay(self, _frame: int = 0) -> None:
        image = self.right.player.current_image() if self.overlay.isChecked() else None
        self.left.player.view.set_overlay(image, OVERLAY_OPACITY)
