"""The application window: the judging desk, the sessions and statistics tabs, menus.

torch is imported only when the model bundle loads (on a worker), so the window appears at once
and the first interaction is never blocked by the engine's import. The Trainer and Models tabs
import SQLAlchemy, Alembic and the trainer's configuration (most of a second on a laptop), so
they are built when the sessions database has opened (its thread has imported the storage
layer by then), or when they are first looked at, whichever comes first; ``run_app`` opens the
databases, and checks for the I3D weights (torch), only once the window has been painted, as
their imports on other threads would still hold Python's one interpreter lock before it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QVBoxLayout,
    QWidget,
    QDockWidget,
    QFileDialog,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QTabWidget,
)

from aqa_core.paths import user_data_dir
from app.demo import DEMO_DIVES, DemoDive, demo_folder, prepare_demo
from app.file_dialogs import choose_file, choose_folder, choose_new_file
from app.settings import APPLICATION, ORGANISATION, recent_files
from app.state import AppState, DiveSheet
from app.tabs.judging_desk import JudgingDesk
from app.widgets.compare_view import CompareView
from app.widgets.dive_sheet import data_card_text
from app.weights_dialog import WeightsDialog
from app.widgets.help_overlay import ShortcutsDialog
from app.widgets.video_view import VIDEO_FILTER

if TYPE_CHECKING:  # built once the sessions database is open: their storage imports need not delay the window
    from app.tabs.models import ModelsTab
    from app.tabs.sessions import SessionsBrowser
    from app.tabs.statistics import StatisticsView
    from app.tabs.trainer import TrainerTab


def export_folder() -> Path:
    """Where exports go by default: the user's pictures folder, else documents, else home; never the program's."""
    for location in (QStandardPaths.StandardLocation.PicturesLocation, QStandardPaths.StandardLocation.DocumentsLocation):
        folder = QStandardPaths.writableLocation(location)
        if folder and Path(folder).is_dir():
            return Path(folder)
    return Path.home()


PREFERRED_SIZE = (1440, 900)  # the desk with room for its docks; a smaller screen gets the window cut to it (show_active)
TITLE_BAR = 40  # what a window manager adds above the client area, roughly


class ProgressRelay(QObject):
    """Carries a worker's progress callback to the GUI thread."""

    progress = Signal(int, int)


class MainWindow(QMainWindow):
    def __init__(self, database: str | Path | None = None, open_db: bool = True, demo_database: str | Path | None = None,
                 databases_after_paint: bool = False) -> None:
        """``databases_after_paint``: open the databases once the window is first painted (``run_app``), not now.

        Opening one imports SQLAlchemy and Alembic on the database thread, and Python runs one
        thread at a time: started now, those imports would delay the window they do not need.
        """
        super().__init__()
        self.setWindowTitle("AQA Judge Assistant")
        self.state = AppState()
        self.desk = JudgingDesk(self.state)
        self.commands = self.desk.commands
        self.tabs = QTabWidget()
        self.tabs.addTab(self.desk, "Judging desk")
        self.compare = CompareView()
        self.compare.export_requested.connect(self.ask_export_compare)
        self.tabs.addTab(self.compare, "Compare")
        self.compare.set_shortcuts_active(False)  # the desk is the tab on screen
        self._trainer: TrainerTab | None = None
        self._models: ModelsTab | None = None
        self._trainer_place, self._models_place = QWidget(), QWidget()  # the real tabs go in when built
        self.tabs.addTab(self._trainer_place, "Trainer")
        self.tabs.addTab(self._models_place, "Models")
        self.desk.exemplars.open_requested.connect(self.compare_with_exemplar)
        self.desk.sheet.choose_model_requested.connect(lambda: self.show_tab(self.models))  # where the club's models are chosen
        self.setCentralWidget(self.tabs)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.desk.start_list.import_requested.connect(self.ask_import_start_list)
        self.sessions: SessionsBrowser | None = None
        self.statistics: StatisticsView | None = None
        self.commands.saved.connect(self._refresh_sessions)
        self.state.video_changed.connect(self._on_video_changed)
        self.demo_list: QListWidget | None = None
        self._desk_model_pending = False
        self._progress: QProgressDialog | None = None
        self._build_menus()
        self.resize(*PREFERRED_SIZE)
        self._opening_database = open_db
        self._databases: tuple[bool, str | Path | None, str | Path | None] | None = (open_db, database, demo_database)
        self._after_paint: list[Callable[[], None]] | None = []  # None once the window has been painted
        if databases_after_paint:
            self.after_first_paint(self.open_databases)
        else:
            self.open_databases()

    def after_first_paint(self, start: Callable[[], None]) -> None:
        """Run ``start`` once the window is on screen (now if it is): work that imports what the window does not need."""
        if self._after_paint is None:
            start()
        else:
            self._after_paint.append(start)

    def open_databases(self) -> None:
        """Open the sessions database (and the demo's), each once, on the database thread."""
        if self._databases is None:
            return
        (open_db, database, demo_database), self._databases = self._databases, None
        if open_db:
            self.commands.open_database(database, on_open=self._show_session_tabs, on_failed=self._database_failed)
        if demo_database is not None:  # the demo's synthetic dives never mix with the user's real ones
            self.commands.open_database(demo_database, demo=True)

    def paintEvent(self, event: Any) -> None:  # noqa: N802 (Qt API)
        super().paintEvent(event)
        if self._after_paint is not None:
            waiting, self._after_paint = self._after_paint, None
            for start in waiting:
                QTimer.singleShot(0, start)  # after this paint has reached the screen

    # --- the tabs built after the window shows ---------------------------------------------------
    @property
    def trainer(self) -> TrainerTab:
        """The Trainer tab, built on first use (see the module docstring)."""
        self._build_model_tabs()
        assert self._trainer is not None
        return self._trainer

    @property
    def models(self) -> ModelsTab:
        """The Models tab, built on first use (see the module docstring)."""
        self._build_model_tabs()
        assert self._models is not None
        return self._models

    def _build_model_tabs(self) -> None:
        """Build the Trainer and Models tabs (together: a finished training run registers in the Models tab)."""
        if self._models is not None:
            return
        from app.tabs.models import ModelsTab
        from app.tabs.trainer import TrainerTab

        self._trainer, self._models = TrainerTab(), ModelsTab()
        for place, tab in ((self._trainer_place, self._trainer), (self._models_place, self._models)):
            layout = QVBoxLayout(place)
            layout.setContentsMargins(0, 0, 0, 0)
            layout.addWidget(tab)
        self._trainer.bundle_trained.connect(self._models.register)  # every finished run is an entry
        self._models.activated.connect(self.commands.load_model)
        db = self.commands.db
        if db is not None:
            self._models.set_database(db)
            self._trainer.set_database(db)

    def show_tab(self, widget: QWidget) -> None:
        """Bring ``widget``'s tab to the front: the Trainer and Models tabs are pages' children, not pages."""
        pages = {id(self._trainer): self._trainer_place, id(self._models): self._models_place}
        self.tabs.setCurrentWidget(pages.get(id(widget), widget))

    def _on_tab_changed(self, _index: int) -> None:
        current = self.tabs.currentWidget()
        if current in (self._trainer_place, self._models_place):
            self._build_model_tabs()
        self.desk.set_shortcuts_active(current is self.desk)
        self.compare.set_shortcuts_active(current is self.compare)
        if current is self.compare:
            self.compare.refresh_curves()

    # --- menus -------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        actions = self.desk.actions
        file_menu = self.menuBar().addMenu("&File")
        actions["open_video"].triggered.connect(self.ask_open_video)
        file_menu.addAction(actions["open_video"])
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self.fill_recent_menu)
        file_menu.addAction("Open &model…", self.ask_open_model)
        file_menu.addAction("Import start &list (CSV)…", self.ask_import_start_list)
        file_menu.addAction("Install the I3D &weights…", self.show_weights_dialog)
        file_menu.addSeparator()
        actions["export_frame"].triggered.connect(self.ask_export_frame)
        file_menu.addAction(actions["export_frame"])
        file_menu.addAction("Export dive with overlays (MP4)…", self.ask_export_video)
        file_menu.addAction("Compare the open dive with another…", self.compare_current)
        file_menu.addSeparator()
        file_menu.addAction("&New session database…", lambda: self.ask_database(new=True))
        file_menu.addAction("Open &session database…", lambda: self.ask_database(new=False))
        file_menu.addSeparator()
        actions["quit"].triggered.connect(self.close)
        file_menu.addAction(actions["quit"])
        edit_menu = self.menuBar().addMenu("&Edit")
        edit_menu.addAction("Keyboard &shortcuts…", lambda: ShortcutsDialog(actions, self).exec())
        play_menu = self.menuBar().addMenu("&Playback")
        for name in ("play_pause", "step_back", "step_forward", "jump_back", "jump_forward", "slower", "pause",
                     "faster", "go_start", "go_end", "toggle_loop", "full_screen", "cancel_analysis"):
            play_menu.addAction(actions[name])
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(actions["help"])
        help_menu.addAction("&About", self.show_about)

    def fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in recent_files():
            self.recent_menu.addAction(path, lambda p=path: self.commands.open_video(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def ask_open_video(self) -> None:
        path = choose_file(self, "Open a dive video", "videos", VIDEO_FILTER)
        self.desk.player.setFocus()  # the dialog hands focus back to the last field; the video wants it
        if path:
            self.commands.open_video(path)

    def ask_import_start_list(self) -> None:
        path = choose_file(self, "Import a start list", "start_lists", "Start lists (*.csv);;All files (*)")
        self.desk.player.setFocus()
        if path:
            self.commands.import_start_list(path)

    def show_weights_dialog(self) -> None:
        """Download or convert the I3D weights; the shipped model is loaded again once they are in."""
        dialog = WeightsDialog(self)
        dialog.installed.connect(lambda _path: self.commands.load_default_model())
        dialog.open()

    def offer_weights_if_missing(self) -> None:
        """First run (the club installer ships no weights): offer the dialog; the check (a file's presence) runs on a worker."""

        def missing() -> bool:
            from aqa_core.paths import i3d_weights_path  # not aqa_core.weights: no torch, no import race with the model's loader

            return not i3d_weights_path().is_file()

        def offer(absent: bool) -> None:
            if absent:
                self.show_weights_dialog()

        self.commands.run_background(missing, "the I3D weights", offer)

    def compare_current(self) -> None:
        if self.state.video is not None:
            self.compare.left.player.open(self.state.video.path)
        self.tabs.setCurrentWidget(self.compare)

    def compare_with_exemplar(self, vote: Any) -> None:
        """The dive on the desk in A, the exemplar it was voted against in B, synced on the take-off."""
        if self.state.video is None:
            self.state.report_error("Open the dive before comparing it with an exemplar")
            return
        self.compare.open_pair(self.state.video.path, vote.video, "take-off")
        self.tabs.setCurrentWidget(self.compare)

    def ask_open_model(self) -> None:
        folder = choose_folder(self, "Open a model bundle folder", "models")
        if folder:
            self.commands.load_model(folder)
            self.models.register(folder)  # every bundle the desk opens is an entry

    def ask_export_frame(self) -> None:
        video = self.state.video
        if video is None:
            self.state.report_error("Open a video before exporting a frame")
            return
        frame = self.desk.player.requested
        suggested = export_folder() / f"{Path(video.path).stem}_frame{frame + 1}.png"
        path, _ = QFileDialog.getSaveFileName(self, "Export the frame (full resolution, with overlays)", str(suggested), "PNG (*.png)")
        self.desk.player.setFocus()
        if path:
            self.commands.export_frame(path, frame)

    def ask_export_video(self) -> None:
        video = self.state.video
        stem = Path(video.path).stem if video is not None else "dive"
        path, _ = QFileDialog.getSaveFileName(self, "Export the dive with overlays", str(export_folder() / f"{stem}_analysed.mp4"),
                                              "MP4 (*.mp4)")
        self.desk.player.setFocus()
        if path:
            progress, cancel, close = self._export_progress("Exporting the dive with its overlays…")
            self.commands.export_video(path, progress, cancel, on_end=close)

    def ask_export_compare(self) -> None:
        from app.export import export_side_by_side

        plan = self.compare.export_plan()
        if plan is None:
            self.state.report_error("Open both dives and Sync them before exporting them side by side")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export both dives side by side", str(export_folder() / "compare.mp4"),
                                              "MP4 (*.mp4)")
        if not path:
            return
        progress, cancel, close = self._export_progress("Exporting both dives side by side…")

        def done(out: Any) -> None:
            close()
            self.compare.status.setText(f"Exported {out}")

        self.commands.run_background(lambda: export_side_by_side(*plan, path, progress, cancel), f"export {path}", done,
                                     on_failed=lambda message: (close(), self.compare.status.setText(message)))

    def _export_progress(self, text: str) -> tuple[Any, threading.Event, Any]:
        """A cancellable progress dialog: (progress callback for the worker, cancel event, close)."""
        dialog = QProgressDialog(text, "Cancel", 0, 1, self)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(300)
        cancel = threading.Event()
        dialog.canceled.connect(cancel.set)
        relay = ProgressRelay(dialog)
        relay.progress.connect(lambda done, total: (dialog.setMaximum(total), dialog.setValue(done)))
        signal = relay.progress
        return (lambda done, total: signal.emit(done, total)), cancel, dialog.close

    def ask_database(self, new: bool) -> None:
        if new:
            path = choose_new_file(self, "New session database", "sessions", "sessions.db", "Sessions (*.db)")  # not the program's folder
        else:
            path = choose_file(self, "Open a session database", "sessions", "Sessions (*.db);;All files (*)")
        if path:
            self.commands.open_database(path, on_open=self._show_session_tabs)

    def show_about(self) -> None:
        bundle = self.state.bundle
        card = data_card_text(bundle) if bundle is not None else self.state.model_message or "No model loaded."
        QMessageBox.about(self, "About AQA Judge Assistant",
                          f"<p>AQA Judge Assistant: diving scores from video (USDL/MUSDL on I3D).</p><p>{card}</p>")

    # --- sessions ---------------------------------------------------------------------------
    def load_desk_model(self) -> None:
        """At start-up: the registry's active model on the desk (the default one when none, or when it is broken).

        Waits for the sessions database (it holds the registry); without one, the default model.
        """
        if self.commands.db is not None:
            self._load_desk_model(self.commands.db)
        elif self._opening_database:
            self._desk_model_pending = True
        else:
            self.commands.load_default_model()

    def _database_failed(self, _message: str) -> None:
        """No registry to ask (the status line says why): the desk still gets the default model."""
        self._opening_database = False
        if self._desk_model_pending:
            self._desk_model_pending = False
            self.commands.load_default_model()

    def _load_desk_model(self, db: Any) -> None:
        from app.storage.model_registry import desk_model

        def loaded(result: tuple[Any, str | None]) -> None:
            bundle, message = result
            self.commands.show_bundle(bundle)
            if message:
                self.state.report_error(message)
            if self._models is not None:  # a tab built later lists the entries then
                self._models.refresh()

        def find() -> tuple[Any, str | None]:
            from aqa_core.bundle import default_bundle_path

            return desk_model(db, default_bundle_path())

        self.commands.run_background(find, "the desk's model", loaded, engine=True,
                                     on_failed=lambda message: (self.state.report_error(message), self.commands.load_default_model()))

    def _show_session_tabs(self, db: Any) -> None:
        """Browser and statistics on the session database just opened (created once, then re-pointed)."""
        if self._models is None:
            self._build_model_tabs()  # on the database it was just given
        else:
            self._models.set_database(db)
            self.trainer.set_database(db)
        self.compare.set_database(db)
        if self._desk_model_pending:
            self._desk_model_pending = False
            self._load_desk_model(db)
        if self.sessions is None or self.statistics is None:
            from app.tabs.sessions import SessionsBrowser
            from app.tabs.statistics import StatisticsView

            self.sessions = SessionsBrowser(db)
            self.statistics = StatisticsView(db)
            self.tabs.addTab(self.sessions, "Sessions")
            self.tabs.addTab(self.statistics, "Statistics")
            self.sessions.open_dive_requested.connect(self._open_stored)
            self.sessions.compare_requested.connect(self._compare_stored)
            return
        self.sessions.set_database(db)
        self.statistics.set_database(db)

    def _open_stored(self, dive_id: int) -> None:
        self.tabs.setCurrentWidget(self.desk)
        self.commands.open_stored(dive_id, self.sessions.repository.db if self.sessions is not None else None)

    def _compare_stored(self, first: int, second: int) -> None:
        """Two stored dives in Compare, synced on the entry (the coach's two attempts)."""
        assert self.sessions is not None  # the signal comes from it
        db = self.sessions.repository.db

        def show(paths: list[str]) -> None:
            if self.compare.database is not db:
                self.compare.set_database(db)  # their stored curves are in the database they were listed from
            self.compare.open_pair(*paths, "entry")
            self.tabs.setCurrentWidget(self.compare)

        self.commands.locate_stored([first, second], db, show)

    def _refresh_sessions(self, _dive_id: int) -> None:
        """After a save: the browser shows the database the desk's dive went to, refreshed."""
        stored_in = self.commands.saved_db
        if stored_in is not None:
            self._show_storage(stored_in, saved=True)
            if self.compare.database is not stored_in:
                self.compare.set_database(stored_in)  # Compare's curves come from the dives the browser lists
        for widget in (self.sessions, self.statistics):
            if widget is None:
                continue
            if stored_in is not None and widget.repository.db is not stored_in:
                widget.set_database(stored_in)
            else:
                widget.refresh()

    def _on_video_changed(self, meta: Any) -> None:
        self._show_storage(self.commands.target_db(), saved=False)
        if meta is not None and self.demo_list is not None:  # the list marks the demo dive on the desk, or none
            on_desk = [i for i in range(self.demo_list.count())
                       if str(self.demo_list.item(i).data(Qt.ItemDataRole.UserRole).video) == meta.path]
            self.demo_list.setCurrentRow(on_desk[0] if on_desk else -1)

    def _show_storage(self, db: Any, saved: bool) -> None:
        """Say where the dive on the desk goes: from the moment its video opens, not after the first save."""
        if db is None:
            self.desk.storage.setText("")
            self.desk.storage.setToolTip("")
            return
        # Short: it shares one line with the status, which had only the ~30 characters it left ("Scored 67.65 in
        # 5.5 ..."). The demo's own file needs no naming (the tooltip has the path); the user's sessions file does.
        kind = "(demo session)" if db is self.commands.demo_db else f"(your sessions, {Path(db.path).name})"
        # the sheet is saved as soon as a video opens: "Saved" before any score read as the score saved
        verb = ("Saved with score" if self.commands.saved_with_score else "Sheet saved") if saved else "Will be saved"
        self.desk.storage.setText(f"{verb} {kind}")
        self.desk.storage.setToolTip(str(db.path))

    # --- demo ----------------------------------------------------------------------------------
    def start_demo(self, n: int = DEMO_DIVES) -> None:
        """Generate (once) and list the demo dives, then load and score the first."""
        self._progress = QProgressDialog("Generating the demo dives…", "", 0, 1, self)
        self._progress.setCancelButton(None)
        self._progress.setWindowModality(Qt.WindowModality.WindowModal)
        self._progress.setMinimumDuration(300)
        relay = ProgressRelay(self)
        relay.progress.connect(self._on_demo_progress)
        progress_signal = relay.progress
        self.commands.run_background(lambda: prepare_demo(progress=lambda done, total: progress_signal.emit(done, total), n=n),
                           f"demo dives in {demo_folder()}", self._show_demo, engine=True)

    def _on_demo_progress(self, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress.setMaximum(total)
            self._progress.setValue(done)

    def _show_demo(self, dives: list[DemoDive]) -> None:
        if self._progress is not None:
            self._progress.close()
            self._progress = None
        self.demo_list = QListWidget()
        for dive in dives:
            item = QListWidgetItem(dive.label)
            item.setData(Qt.ItemDataRole.UserRole, dive)
            item.setToolTip(f"{dive.label}\n{dive.commentary}")
            self.demo_list.addItem(item)
        # Wide enough for the longest name (never cut off); the tooltip has the rest.
        longest = max((self.demo_list.fontMetrics().horizontalAdvance(d.label) for d in dives), default=120)
        self.demo_list.setMinimumWidth(min(longest + 24, 260))
        self.demo_list.itemActivated.connect(lambda item: self.open_demo_dive(item.data(Qt.ItemDataRole.UserRole)))
        self.demo_list.itemClicked.connect(lambda item: self.open_demo_dive(item.data(Qt.ItemDataRole.UserRole)))
        dock = QDockWidget("Demo session", self.desk)
        dock.setObjectName("Demo session")
        dock.setWidget(self.demo_list)
        self.desk.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        if dives:
            self.demo_list.setCurrentRow(0)
            self.open_demo_dive(dives[0])

    def open_demo_dive(self, dive: DemoDive) -> None:
        sheet = DiveSheet(event="individual", panel_size=len(dive.judge_scores) or 7, height=dive.height,
                          dive_number=dive.dive_number, difficulty=dive.difficulty, diver="synthetic diver")
        self.commands.open_demo_dive(dive.video, sheet, dive.judge_scores)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt API)
        if self._trainer is not None and not self._trainer.confirm_close():  # a training runs: stop it, leave it running, kill it, or stay
            event.ignore()
            return
        self.compare.left.player.close_video()
        self.compare.right.player.close_video()
        self.commands.shutdown()
        super().closeEvent(event)


def install_error_hook(window: MainWindow) -> None:
    """A bug in a GUI-thread handler reaches the status line (and stderr), and the app goes on."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
        previous(kind, exc, tb)
        if isinstance(exc, Exception):  # the traceback went to stderr above
            window.state.report_error(f"Internal error: {kind.__name__}: {exc} (the app is still usable)")

    sys.excepthook = hook


def show_active(window: QMainWindow) -> None:
    """Show the window within the screen it opens on and give it the keyboard, with or without a window manager.

    A screen smaller than the preferred size (plus a title bar) gets the window cut to the screen's
    free area at its top left: seen under Xvfb at 1280x800, a 1440x900 window put the dive sheet's
    right edge, the final's interval and the bottom rows off the screen (and without a window
    manager showMaximized does nothing). Without one (a kiosk, Xvfb) nothing activates a new window
    either, and Qt sends no key to an inactive one: Space, the arrows and every other playback
    shortcut did nothing until the window was clicked.
    """
    screen = window.screen()
    if screen is not None:
        available = screen.availableGeometry()
        width, height = min(window.width(), available.width()), min(window.height(), available.height() - TITLE_BAR)
        if (width, height) != (window.width(), window.height()):
            window.resize(width, height)
            window.move(available.topLeft())
    window.show()
    window.raise_()
    window.activateWindow()


def run_app(video: str | None = None, demo: bool = False, argv: list[str] | None = None) -> int:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    install_error_hook(window := MainWindow(demo_database=user_data_dir() / "demo_sessions.db" if demo else None,
                                            databases_after_paint=True))
    show_active(window)
    window.load_desk_model()
    window.after_first_paint(window.offer_weights_if_missing)  # imports torch on a worker: after the window shows
    if demo:
        window.start_demo()
    elif video:
        window.commands.open_video(video)
    return int(app.exec())
