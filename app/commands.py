"""User actions of the judging desk as methods of one ``Commands`` object.

Menus, keyboard shortcuts, buttons and the tests all call these, so an action behaves the same
whichever way it is triggered. Each command validates (through aqa_core's rules), updates the
``AppState`` and hands slow work to a worker; none of them blocks the GUI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal
from PySide6.QtGui import QImage

from aqa_core.errors import AQAError
from aqa_core.result import ClipEstimate, DiveInfo, ScoreResult
from app.analysis_cache import AnalysisCache, adapt_to_dive
from app.settings import add_recent_file
from app.state import AppState, DiveSheet, VideoMeta
from app.widgets.player import Player
from app.workers import ScoreWorker, Task, run_task

NO_MODEL = "No trained model installed: run `aqa-judge train` or open a model bundle (File ▸ Open model)."
DESK_COMPETITION = "Judging desk"


def validate_sheet(sheet: DiveSheet) -> DiveInfo:
    """The dive sheet checked by the diving rules (DD looked up unless typed)."""
    from aqa_core.rules import make_dive_info

    return make_dive_info(sheet.event, sheet.panel_size, sheet.dive_number or None, sheet.height, sheet.difficulty)


class Commands(QObject):
    saved = Signal(int)  # dive id in the session database

    def __init__(self, state: AppState, player: Player, cache: AnalysisCache | None = None) -> None:
        super().__init__()
        self.state = state
        self.player = player
        self.cache = cache if cache is not None else AnalysisCache()
        self.db: Any = None  # app.storage Database
        self.score_worker: ScoreWorker | None = None
        self._running: set[ScoreWorker] = set()  # current and cancelled-but-finishing analyses
        self._tasks: set[Task] = set()
        self._db_pool = QThreadPool(self)
        self._db_pool.setMaxThreadCount(1)  # writes in order: the dive before its panel's scores
        self._saved_dive: int | None = None
        self._pending_stored: ScoreResult | None = None  # a stored analysis waiting for its video
        self._pending_real: list[float | None] | None = None  # a known panel waiting for its video
        player.video_opened.connect(self._on_video_opened)
        player.video_failed.connect(self._on_video_failed)
        player.frame_shown.connect(state.set_playhead)

    # --- video -------------------------------------------------------------------------------
    def open_video(self, path: str | Path) -> None:
        """Open ``path`` in the player; scoring starts once it is probed (on the decode thread)."""
        self.cancel_analysis()
        self._saved_dive = None
        self.state.status_message.emit(f"Opening {path}…")
        self.player.open(str(path))

    def _on_video_opened(self, meta: VideoMeta) -> None:
        self.state.set_video(meta)
        add_recent_file(meta.path)
        if self._pending_real is not None:
            self.state.set_real_scores(self._pending_real)
            self._pending_real = None
        self.state.status_message.emit(f"{Path(meta.path).name}: {meta.frame_count} frames, {meta.fps:.2f} fps, {meta.width}x{meta.height}")
        if self._pending_stored is not None:
            result, self._pending_stored = self._pending_stored, None
            self.state.set_result(result)
            return
        self.score()

    def _on_video_failed(self, message: str) -> None:
        self.state.set_video(None)
        self.state.report_error(message)

    def open_dive(self, path: str | Path, sheet: DiveSheet, real_scores: list[float] | None = None) -> None:
        """Open a video whose dive sheet (and maybe real panel) is already known: start list, demo."""
        self._apply_sheet(sheet)
        self.open_video(path)
        self._pending_real = list(real_scores) if real_scores and len(real_scores) == sheet.panel_size else None

    # --- dive sheet --------------------------------------------------------------------------
    def _apply_sheet(self, sheet: DiveSheet) -> DiveInfo | None:
        """Validate and store the sheet (the reason is shown when the rules refuse it)."""
        try:
            info = validate_sheet(sheet)
        except AQAError as exc:
            self.state.report_error(str(exc))
            self.state.set_dive(sheet, None)
            return None
        self.state.set_dive(sheet, info)
        return info

    def set_dive(self, sheet: DiveSheet) -> DiveInfo | None:
        """Store the sheet and bring the analysis in line with it.

        A DD-only change re-expresses the current result (no network run); another event or
        panel, an analysis still running for the old sheet, or a sheet that was invalid until now
        means scoring again.
        """
        info = self._apply_sheet(sheet)
        if info is None:
            return None
        result = self.state.result
        if result is None:
            if self.state.analysing or self.state.video is not None:
                self.score()
        elif result.dive != info:
            adapted = adapt_to_dive(result, info, result.video)
            if adapted is not None:
                self.state.set_result(adapted)
                self._save(adapted)
            else:
                self.score()
        return info

    # --- model -------------------------------------------------------------------------------
    def load_default_model(self) -> None:
        """Find and load the shipped model on a worker: importing torch alone takes seconds."""

        def find_and_load() -> Any:
            from aqa_core.bundle import default_bundle_path, load_bundle

            path = default_bundle_path()
            return None if path is None else load_bundle(path)

        self.run_background(find_and_load, "the default model", self.show_bundle)

    def show_bundle(self, bundle: Any) -> None:
        """Use ``bundle``; None (no trained model installed) says how to get one instead of scores."""
        if bundle is None:
            self.state.set_bundle(None, NO_MODEL)
            self.state.status_message.emit(NO_MODEL)
            return
        self.use_bundle(bundle)

    def load_model(self, folder: str | Path) -> None:
        """Load a bundle on a worker (the first torch import takes seconds)."""

        def load() -> Any:
            from aqa_core.bundle import load_bundle

            return load_bundle(folder)

        self.state.status_message.emit(f"Loading model {folder}…")
        self.run_background(load, f"model {folder}", self.use_bundle)

    def use_bundle(self, bundle: Any) -> None:
        self.state.set_bundle(bundle, f"{bundle.name} v{bundle.version}")
        self.state.status_message.emit(f"Model {bundle.name} v{bundle.version} ready")
        if self.state.video is not None and self.state.result is None:
            self.score()

    # --- analysis ----------------------------------------------------------------------------
    def score(self, window: tuple[int, int] | None = None) -> bool:
        """Start an analysis of the open video; False (with the reason shown) when it cannot."""
        state = self.state
        if state.video is None:
            return False
        if state.bundle is None:
            state.status_message.emit(state.model_message or NO_MODEL)
            return False
        if state.dive_info is None:
            state.status_message.emit("Fix the dive sheet to score this dive")
            return False
        self.cancel_analysis()
        state.begin_analysis()
        worker = ScoreWorker(state.bundle, state.video.path, state.dive_info, window, self.cache, self)
        worker.clip_ready.connect(self._on_clip)
        worker.result_ready.connect(self._on_result)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        worker.finished.connect(lambda: self._running.discard(worker))
        worker.finished.connect(worker.deleteLater)
        self._running.add(worker)
        self.score_worker = worker
        state.status_message.emit(f"Scoring {Path(state.video.path).name}…")
        worker.start()
        return True

    def rescore_window(self, start: int, end: int) -> None:
        self.state.set_window((start, end))
        self.score((start, end))

    def cancel_analysis(self) -> None:
        worker, self.score_worker = self.score_worker, None
        if worker is not None:
            for signal in (worker.clip_ready, worker.result_ready, worker.failed, worker.cancelled):
                signal.disconnect()
            worker.cancel()
            if self.state.analysing:
                self.state.end_analysis()
                self.state.status_message.emit("Analysis cancelled")

    def _is_current(self) -> bool:
        return self.sender() is self.score_worker

    def _on_clip(self, clip: ClipEstimate) -> None:
        if self._is_current():
            self.state.add_clip(clip)

    def _on_result(self, result: ScoreResult) -> None:
        if not self._is_current():
            return
        worker = self.score_worker
        self.score_worker = None
        self.state.set_result(result)
        source = "from the cache" if worker is not None and worker.from_cache else f"in {result.timings.get('total', 0):.1f} s"
        self.state.status_message.emit(f"Scored {result.final.score:.2f} {source}")
        self._save(result)

    def _on_failed(self, message: str) -> None:
        if self._is_current():
            self.score_worker = None
            self.state.end_analysis()
            self.state.report_error(message)

    def _on_cancelled(self) -> None:
        if self._is_current():
            self.score_worker = None
            self.state.end_analysis()
            self.state.status_message.emit("Analysis cancelled")

    # --- the real panel ----------------------------------------------------------------------
    def set_real_scores(self, scores: list[float | None]) -> None:
        self.state.set_real_scores(scores)
        complete = [s for s in scores if s is not None]
        if self.db is not None and self._saved_dive is not None and len(complete) == len(scores) and scores:
            from app.storage.repository import Repository

            dive_id = self._saved_dive
            self.run_background(lambda: Repository(self.db).set_human_scores(dive_id, complete), "saving the panel's marks",
                      pool=self._db_pool)

    # --- session database --------------------------------------------------------------------
    def open_database(self, path: str | Path | None = None, on_open: Any = None) -> None:
        from app.storage.database import open_database

        def opened(db: Any) -> None:
            if self.db is not None:
                self.db.close()
            self.db = db
            self.state.status_message.emit(f"Session database: {db.path}")
            if on_open is not None:
                on_open(db)

        self.run_background(lambda: open_database(path), f"database {path or 'default'}", opened, pool=self._db_pool)

    def _save(self, result: ScoreResult) -> None:
        """Everything is saved without pressing Save: first analysis adds the dive, later ones add analyses."""
        if self.db is None or self.state.video is None:
            return
        from app.storage.repository import DiveRecord, Repository

        db, sheet, dive_id = self.db, self.state.dive, self._saved_dive
        real = self.state.real_scores
        human = [float(v) for v in real if v is not None] if real and all(v is not None for v in real) else None
        record = DiveRecord(competition=DESK_COMPETITION, event=f"{sheet.height:g} m {sheet.event}",
                            athlete=sheet.diver or "unknown diver", round=sheet.round, video_path=self.state.video.path)

        def write() -> int:
            repo = Repository(db)
            if dive_id is None:
                return repo.save_scored_dive(record, result, human_scores=human).dive_id
            repo.save_analysis(dive_id, result)
            return dive_id

        def done(saved_id: int) -> None:
            self._saved_dive = saved_id
            self.saved.emit(saved_id)

        self.run_background(write, "saving the analysis", done, pool=self._db_pool)

    def open_stored(self, dive_id: int) -> None:
        """Open a dive from the session database into the desk, redrawn from its stored analysis."""
        from app.storage.repository import Repository

        db = self.db

        def load() -> ScoreResult:
            return Repository(db).latest_analysis(dive_id)

        def show(result: ScoreResult) -> None:
            dive = result.dive
            sheet = self.state.dive.with_changes(event=dive.event, panel_size=dive.panel_size, height=dive.height or 10.0,
                                                 dive_number=dive.dive_number or "", difficulty=dive.difficulty)
            self.state.set_dive(sheet, dive)
            self.open_video(result.video)
            self._pending_stored = result
            self._saved_dive = dive_id  # later re-scores add analyses to this dive

        self.run_background(load, f"dive {dive_id}", show, pool=self._db_pool)

    # --- export ------------------------------------------------------------------------------
    def export_frame(self, image: QImage, path: str | Path) -> None:
        if not image.save(str(path)):
            self.state.report_error(f"{path}: cannot write the PNG (check the folder exists and is writable)")
        else:
            self.state.status_message.emit(f"Frame saved to {path}")

    def export_video(self, path: str | Path) -> None:
        """The dive window with the analysis burned in, as MP4 (on a worker)."""
        from app.export import export_dive_video

        if self.state.video is None or self.state.result is None:
            self.state.report_error("Score a dive before exporting it with its overlays")
            return
        video, result = self.state.video.path, self.state.result
        self.run_background(lambda: export_dive_video(video, result, path), f"export {path}",
                  lambda out: self.state.status_message.emit(f"Exported {out}"))

    # --- plumbing ----------------------------------------------------------------------------
    def run_background(self, fn: Any, label: str, on_done: Any = None, pool: QThreadPool | None = None) -> None:
        task = run_task(fn, label, on_done, self.state.report_error, pool=pool)
        self._tasks.add(task)
        task.signals.done.connect(lambda _: self._tasks.discard(task))
        task.signals.failed.connect(lambda _: self._tasks.discard(task))

    def wait_for_background(self, msecs: int = 10000) -> None:
        """Let queued database writes finish (closing the window, tests)."""
        self._db_pool.waitForDone(msecs)
        QThreadPool.globalInstance().waitForDone(msecs)

    def shutdown(self) -> None:
        self.cancel_analysis()
        for worker in list(self._running):
            worker.cancel()
            worker.wait()  # a QThread must not be destroyed while it runs
        self.player.close_video()
        self.wait_for_background()
        if self.db is not None:
            self.db.close()
            self.db = None
