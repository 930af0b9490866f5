"""The judging desk: player, timeline and heat map in the middle; dive sheet, clip distribution
and judge panel docked on the right (movable, as a judge arranges a second screen).

The desk only wires widgets to the ``AppState`` and to ``Commands``; it holds no analysis logic.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from aqa_core.option_names import method_name
from aqa_core.result import ScoreResult
from app.commands import Commands
from app.settings import SHORTCUTS, shortcut
from app.state import AppState, VideoMeta
from app.widgets.clip_math import axis_label, bin_values, clip_count
from app.widgets.distribution_plot import DistributionPlot
from app.widgets.dive_sheet import DiveSheetWidget
from app.widgets.elided_label import ElidedLabel
from app.widgets.exemplar_panel import ExemplarPanel
from app.widgets.heat_map import HeatMap
from app.widgets.help_overlay import HelpOverlay
from app.widgets.judge_panel import JudgePanel
from app.widgets.player import SPEEDS, Player
from app.widgets.start_list_panel import StartListPanel
from app.widgets.timeline import Timeline
from app.widgets.video_view import OpensDroppedVideos

HAND_BACK_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape)


class FocusToPlayer(QObject):
    """Enter or Esc in a field of the desk gives the keyboard back to the player.

    Installed on every field of the sheet and the judge panel: Enter first lets the field
    finish (its ``editingFinished`` saves the edit), Esc is kept from the window's Esc shortcut
    (cancel analysis), and a combo box hands focus back once a choice is made, so Space and the
    arrows drive the video again straight after typing.
    """

    def __init__(self, player: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.player = player

    def watch(self, widget: QWidget) -> None:
        widget.installEventFilter(self)
        if isinstance(widget, QComboBox):
            widget.activated.connect(lambda _: self.player.setFocus(Qt.FocusReason.OtherFocusReason))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Escape:
            event.accept()  # Esc belongs to the field, not to "cancel analysis"
            return True
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) and event.key() in HAND_BACK_KEYS:
            if event.key() != Qt.Key.Key_Escape and isinstance(watched, QLineEdit | QAbstractSpinBox):
                watched.event(event)  # the field takes its Enter first (editingFinished)
            self.player.setFocus(Qt.FocusReason.OtherFocusReason)
            return True
        return False


class TransportBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        self.buttons: dict[str, QPushButton] = {}
        for action, text in (("jump_back", "◀◀"), ("step_back", "◀|"), ("play_pause", "▶"), ("step_forward", "|▶"), ("jump_forward", "▶▶")):
            button = QPushButton(text)
            button.setMaximumWidth(44)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            layout.addWidget(button)
            self.buttons[action] = button
        self.speed = QComboBox()
        for speed in SPEEDS:
            self.speed.addItem(f"{speed:g}×", speed)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.loop = QCheckBox("loop dive")
        self.loop.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.frame_label = QLabel("frame –")
        # Drawing tools (lines and angles stay with the frame they are drawn on) and the zoom reset.
        self.tools: dict[str, QPushButton] = {}
        for tool, text, tip in (("line", "╱", "Draw a line (two clicks): body line, board"),
                                ("angle", "∠", "Draw an angle (three clicks, vertex second): hip, knee")):
            button = QPushButton(text)
            button.setMaximumWidth(32)
            button.setCheckable(True)
            button.setToolTip(tip)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.tools[tool] = button
        self.clear_drawings = QPushButton("✕")
        self.clear_drawings.setMaximumWidth(32)
        self.clear_drawings.setToolTip("Remove the drawings on the frame on screen")
        self.reset_zoom = QPushButton("Fit")  # not "1×": beside the speed box that read as a second speed
        self.reset_zoom.setMaximumWidth(self.reset_zoom.fontMetrics().horizontalAdvance("Fit") + 24)
        self.reset_zoom.setToolTip("Zoom back to the whole frame (wheel zooms, right-drag pans, double-click resets)")
        for button in (self.clear_drawings, self.reset_zoom):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.progress = QLabel("")
        self.progress.setMinimumWidth(self.progress.fontMetrics().horizontalAdvance("clip 10 of 10 scored") + 8)  # no jump
        self.cancel = QPushButton("Cancel analysis")
        keep_place = self.cancel.sizePolicy()
        keep_place.setRetainSizeWhenHidden(True)  # the bar does not jump when an analysis starts or ends
        self.cancel.setSizePolicy(keep_place)
        self.cancel.setVisible(False)
        for widget in (QLabel("speed"), self.speed, self.loop, self.frame_label, *self.tools.values(), self.clear_drawings,
                       self.reset_zoom):
            layout.addWidget(widget)
        layout.addStretch(1)
        # progress and Cancel live in the desk's status row (the bar stays narrow enough for the docks)


# The least height each scrolling dock keeps on screen: the top of its panel (the judges' final and the
# marks' row, the sheet's event, height, panel, diver and dive). With these, the whole desk fits a
# 1000x620 window (a laptop's 1280x800 screen less its bars, or half a large one).
JUDGES_MIN_HEIGHT, SHEET_MIN_HEIGHT = 150, 170


class ScrollingPanel(QScrollArea):
    """A dock's panel that scrolls in a small window instead of being squeezed below its minimum height
    (where Qt lays the labels over each other), and asks for its whole height otherwise."""

    def __init__(self, widget: QWidget, min_height: int) -> None:
        super().__init__()
        self.min_height = min_height
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(widget)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        """The panel's content laid out anew (a model's name shown, a message): the dock asks for its new minimum.

        A scroll area does not pass its content's size changes on, so the column kept the width the
        sheet had before the model loaded, and the wider sheet was cut under the scroll bar.
        """
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()
        return super().eventFilter(watched, event)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return self.widget().sizeHint()  # QScrollArea's own caps it at 24 lines, and the docks would split unevenly

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        """The top ``min_height`` pixels of the panel (the dock area squeezes the other docks first), and its whole width."""
        inner = self.widget().minimumSizeHint()
        # as wide as the panel itself and its scroll bar: narrower, the panel's right side would be cut off unseen
        return QSize(inner.width() + self.verticalScrollBar().sizeHint().width(), min(inner.height(), self.min_height))


class JudgingDesk(OpensDroppedVideos, QMainWindow):
    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.player = Player()
        self.commands = Commands(state, self.player)
        self.timeline = Timeline()
        self.heat_map = HeatMap()
        self.transport = TransportBar()
        self.sheet = DiveSheetWidget()
        self.distribution = DistributionPlot()
        self.judges = JudgePanel()
        self.exemplars = ExemplarPanel()
        self.status = ElidedLabel("")  # one line: a wrapped message moved the video up and down
        self.storage = QLabel("")  # where the dive on the desk is stored (demo or the user's database)
        self.storage.setStyleSheet("color: #505050;")
        self.start_list = StartListPanel()

        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        splitter = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.player, 1)
        # several dives in one file (a recording, replays): choose which one to score and save
        self.dive_choice = QComboBox()
        self.dive_choice.setToolTip("The dives found in this video; choose one to score it (drag its T/E marks to adjust)")
        self.dive_choice.setVisible(False)
        top_layout.addWidget(self.dive_choice)
        top_layout.addWidget(self.timeline)
        top_layout.addWidget(self.transport)
        splitter.addWidget(top)
        splitter.addWidget(self.heat_map)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        centre_layout.addWidget(splitter, 1)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.transport.progress)
        status_row.addWidget(self.transport.cancel)
        status_row.addWidget(self.storage)
        centre_layout.addLayout(status_row)
        self.setCentralWidget(centre)
        sheet_dock = self._dock("Dive sheet", ScrollingPanel(self.sheet, SHEET_MIN_HEIGHT))
        self._split = (sheet_dock, self._dock("Score distribution", self.distribution),
                       self._dock("Judges", ScrollingPanel(self.judges, JUDGES_MIN_HEIGHT)))
        self._split_done = False
        self.exemplars_dock = self._dock("Exemplars", self.exemplars)  # below the judges; only while a result has exemplar votes
        self.exemplars_dock.setVisible(False)
        # The start list shares the sheet's place (a tab): it fills the sheet, so one of them at a time.
        self.tabifyDockWidget(sheet_dock, self._dock("Start list", self.start_list))
        sheet_dock.raise_()
        self.setAcceptDrops(True)
        self.help_overlay = HelpOverlay(centre)
        self.actions = self._make_actions()
        self._wire()
        self.focus_to_player = FocusToPlayer(self.player, self)
        for field in self.sheet.findChildren(QLineEdit) + self.sheet.findChildren(QComboBox) + self.sheet.findChildren(QAbstractSpinBox):
            self.focus_to_player.watch(field)
        self.judges.edits_created.connect(lambda edits: [self.focus_to_player.watch(e) for e in edits])
        for edit in self.judges.edits:
            self.focus_to_player.watch(edit)
        self.sheet.set_sheet(state.dive)
        self.commands.set_dive(state.dive)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt API)
        """The first time on screen: the sheet and the judges get their whole height before the curve.

        Qt splits a dock column evenly, which in a laptop-sized window scrolls the sheet's note and
        tags out of sight while the distribution curve keeps spare height it does not need.
        """
        super().showEvent(event)
        if not self._split_done:
            self._split_done = True
            QTimer.singleShot(0, self._split_dock_column)  # once the column has its height

    def _split_dock_column(self) -> None:
        sheet, curve, judges = self._split
        total = sum(dock.height() for dock in self._split)
        curve_height = curve.minimumSizeHint().height() + 40
        sheet_height = min(sheet.sizeHint().height(), max(sheet.minimumSizeHint().height(),
                                                          total - curve_height - judges.minimumSizeHint().height()))
        sheet_height += self._dock_tab_bar_height(sheet)
        self.resizeDocks(list(self._split), [sheet_height, curve_height, max(0, total - sheet_height - curve_height)],
                         Qt.Orientation.Vertical)

    def _dock_tab_bar_height(self, dock: QDockWidget) -> int:
        """The tab bar under a tabified dock (the sheet and the start list): resizeDocks counts it in the
        height it gives, so without it the sheet's last line (the model box's bottom) was cut at 1280x800."""
        if not self.tabifiedDockWidgets(dock):
            return 0
        bars = [bar for bar in self.findChildren(QTabBar) if bar.parent() is self and bar.isVisible()]
        return max((bar.sizeHint().height() for bar in bars), default=0)

    def set_shortcuts_active(self, active: bool) -> None:
        """Playback keys act while the desk is the tab on screen, and not from other tabs' widgets."""
        for name, action in self.actions.items():
            if name not in ("open_video", "export_frame", "quit"):
                action.setEnabled(active)

    def _dock(self, title: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        return dock

    def _make_actions(self) -> dict[str, QAction]:
        player = self.player
        handlers = {
            "play_pause": player.toggle_play,
            "step_forward": lambda: player.step(1),
            "step_back": lambda: player.step(-1),
            "jump_forward": lambda: player.jump_seconds(1.0),
            "jump_back": lambda: player.jump_seconds(-1.0),
            "slower": lambda: player.change_speed(-1),
            "pause": player.pause,
            "faster": self._faster,
            "go_start": lambda: player.seek(0),
            "go_end": lambda: player.seek(player.meta.frame_count - 1 if player.meta else 0),
            "toggle_loop": self.transport.loop.toggle,
            "full_screen": self._toggle_full_screen,
            "help": self.help_overlay.toggle,
            "cancel_analysis": self.commands.cancel_analysis,
        }
        actions: dict[str, QAction] = {}
        for spec in SHORTCUTS:
            action = QAction(spec.label, self)
            action.setShortcut(QKeySequence(shortcut(spec.action)))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            if spec.action in handlers:
                action.triggered.connect(handlers[spec.action])
                self.addAction(action)
            actions[spec.action] = action
        for name, button in self.transport.buttons.items():
            button.clicked.connect(actions[name].trigger)
        return actions

    def _faster(self) -> None:
        """L: play if paused, else one notch faster (the J/K/L convention)."""
        if self.player.playing:
            self.player.change_speed(+1)
        else:
            self.player.play()

    def _toggle_full_screen(self) -> None:
        """Full screen is for watching: the player and its controls only, docks and heat map hidden."""
        window = self.window()
        entering = not window.isFullScreen()
        for dock in self.findChildren(QDockWidget):
            dock.setVisible(not entering)
        self.heat_map.setVisible(not entering)
        if entering:
            window.showFullScreen()
        else:
            window.showNormal()

    def _wire(self) -> None:
        state, commands = self.state, self.commands
        state.video_changed.connect(self._on_video)
        state.analysis_started.connect(self._on_analysis_started)
        state.analysis_ended.connect(self._on_analysis_ended)
        state.clip_added.connect(self._on_clip)
        state.result_changed.connect(self._on_result)
        state.playhead_changed.connect(self._on_playhead)
        state.window_changed.connect(self._on_window)
        state.dive_changed.connect(lambda sheet: self.judges.set_panel_size(sheet.panel_size))
        state.dive_changed.connect(self.sheet.set_sheet)
        state.dive_info_changed.connect(self._on_dive_info)
        state.model_changed.connect(lambda bundle: self.sheet.show_model(bundle, state.model_message))
        state.real_scores_changed.connect(self.judges.set_real_scores)
        state.status_message.connect(self.status.setText)
        self.player.video_opened.connect(lambda _: self.player.setFocus(Qt.FocusReason.OtherFocusReason))
        self.start_list.entry_chosen.connect(commands.apply_start_entry)
        self.start_list.next_chosen.connect(commands.set_start_next)
        commands.start_list_changed.connect(lambda: self.start_list.show_entries(commands.start_list, commands.start_next))
        self.timeline.scrubbed.connect(self.player.seek)
        self.timeline.window_edited.connect(commands.rescore_window)
        self.timeline.mark_edited.connect(commands.move_mark)
        state.dives_changed.connect(self._on_dives)
        self.dive_choice.activated.connect(commands.choose_dive)
        self.judges.real_scores_edited.connect(commands.set_real_scores)
        self.sheet.sheet_edited.connect(commands.set_dive)
        self.transport.speed.currentIndexChanged.connect(lambda i: self.player.set_speed(float(self.transport.speed.itemData(i))))
        self.player.speed_changed.connect(self._on_speed)
        self.player.playing_changed.connect(lambda playing: self.transport.buttons["play_pause"].setText("❚❚" if playing else "▶"))
        self.transport.loop.toggled.connect(self._on_loop)
        self.transport.cancel.clicked.connect(commands.cancel_analysis)
        view = self.player.view
        for tool, button in self.transport.tools.items():
            button.toggled.connect(lambda on, t=tool: self._choose_tool(t if on else None))
        view.drawing_finished.connect(commands.add_drawing)
        self.transport.clear_drawings.clicked.connect(lambda: commands.clear_drawings(self.player.frame))
        self.transport.reset_zoom.clicked.connect(lambda: view.set_zoom(1.0))
        state.drawings_changed.connect(lambda _d: self._show_drawings(self.player.frame))

    # State -> widgets.
    def _on_video(self, meta: VideoMeta | None) -> None:
        self.timeline.set_frame_count(meta.frame_count if meta else 0)
        if meta is not None:  # the readout as wide as this video's widest reading: the buttons beside it stay put in playback
            total, label = meta.frame_count, self.transport.frame_label
            last = f"frame {total}/{total}  {(total - 1) / meta.fps:.2f} s" if meta.fps else f"frame {total}/{total}"
            label.setMinimumWidth(label.fontMetrics().horizontalAdvance(last) + 4)
        self.timeline.set_clips([])
        self._reset_plots()
        if meta is not None:
            self.window().setWindowTitle(f"AQA Judge Assistant — {Path(meta.path).name}")

    def _on_dives(self, dives: list) -> None:
        """Marks on the timeline; the chooser only when there is a choice to make."""
        self.timeline.set_dives([(d.take_off_index, d.entry_index) for d in dives])
        self.dive_choice.clear()
        for number, dive in enumerate(dives, start=1):
            take_off = "in the air" if dive.take_off_index is None else f"take-off {dive.take_off_index + 1}"
            replay = ", replay" if dive.replay else ""
            self.dive_choice.addItem(f"Dive {number}: {take_off}, entry {dive.entry_index + 1}{replay} (confidence {dive.confidence:.2f})")
        self.dive_choice.setVisible(len(dives) > 1)

    def _on_analysis_started(self) -> None:
        self._reset_plots()
        self.timeline.set_clips([])
        self.transport.progress.setText("analysing…")
        self.transport.cancel.setVisible(True)

    def _reset_plots(self) -> None:
        """Empty curves on the bundle's axis: its bins' values and what they are (a per-DD head's are not the final)."""
        bundle = self.state.bundle
        bins, axis = bin_values(bundle), axis_label(method_name(bundle.config) if bundle is not None else None)
        self.distribution.reset(bins, axis)
        self.heat_map.reset(bins, axis)

    def _on_analysis_ended(self) -> None:
        self.transport.progress.setText("")
        self.transport.cancel.setVisible(False)

    def _on_clip(self, clip: object) -> None:
        self.distribution.add_clip(clip)  # type: ignore[arg-type]
        self.heat_map.add_clip(clip)  # type: ignore[arg-type]
        self.timeline.set_clips([(c.start_frame, c.end_frame) for c in self.state.clips])
        total = clip_count(self.state.bundle)
        self.transport.progress.setText(f"clip {len(self.state.clips)} of {total} scored" if total else f"clip {len(self.state.clips)} scored")

    def _on_result(self, result: ScoreResult | None) -> None:
        self.judges.set_result(result)
        self.exemplars.set_result(result)
        if result is not None:
            self.exemplars_dock.setVisible(result.exemplar_votes is not None)
        self.transport.cancel.setVisible(self.state.analysing)
        if result is None:
            if not self.state.analysing:
                self.transport.progress.setText("")
            return
        self.transport.progress.setText(f"{len(result.clips)} clips")
        self.distribution.set_result(result)
        self.heat_map.set_clips(list(result.clips), bin_values(self.state.bundle))
        self.timeline.set_clips([(c.start_frame, c.end_frame) for c in result.clips])
        self._on_playhead(self.state.playhead)

    def _choose_tool(self, tool: str | None) -> None:
        for name, button in self.transport.tools.items():
            button.blockSignals(True)
            button.setChecked(name == tool)
            button.blockSignals(False)
        self.player.view.set_tool(tool)

    def _show_drawings(self, frame: int) -> None:
        self.player.view.set_drawings([d for d in self.state.drawings if d.frame == frame])

    def _on_playhead(self, frame: int) -> None:
        self._show_drawings(frame)
        self.timeline.set_playhead(frame)
        self.distribution.set_playhead(frame)
        self.heat_map.set_playhead(frame)
        video = self.state.video
        total = video.frame_count if video else 0
        seconds = f"  {frame / video.fps:.2f} s" if video and video.fps else ""
        self.transport.frame_label.setText(f"frame {frame + 1}/{total}{seconds}")  # people count frames from 1

    def _on_window(self, window: tuple[int, int] | None) -> None:
        self.timeline.set_window(window)
        if self.transport.loop.isChecked():
            self._on_loop(True)

    def _on_loop(self, enabled: bool) -> None:
        loop = self.state.window if enabled else None
        self.player.set_loop(loop)
        self.timeline.set_loop(loop)

    def _on_speed(self, speed: float) -> None:
        index = self.transport.speed.findData(speed)
        if index >= 0 and index != self.transport.speed.currentIndex():
            self.transport.speed.blockSignals(True)
            self.transport.speed.setCurrentIndex(index)
            self.transport.speed.blockSignals(False)

    def _on_dive_info(self, info: object) -> None:
        self.sheet.show_validation(info, self.state.sheet_problem)  # type: ignore[arg-type]
        if info is not None:
            self.judges.set_dive(info.event, info.difficulty)  # type: ignore[attr-defined]

    def open_dropped(self, path: str) -> None:
        self.commands.open_video(path)
