"""User actions of the judging desk as methods of one ``Commands`` object.

Menus, keyboard shortcuts, buttons and the tests all call these, so an action behaves the same
whichever way it is triggered. Each command validates (through aqa_core's rules), updates the
``AppState`` and hands slow work to a worker; none of them blocks the GUI thread.

What is saved is what is on screen: every video opened starts a new desk dive (a uuid made
here, so writes queued before the first lands still reach one row) with a clean sheet or the
next start-list entry, and every change to the sheet, the window, the real marks, the note or
the analysis writes the whole desk dive again (``Repository.save_desk_dive``), in order, on the
one database thread.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from aqa_core.errors import AQAError
from aqa_core.result import ClipEstimate, DiveInfo, ScoreResult
from aqa_core.option_names import model_label
from app.analysis_cache import AnalysisCache, adapt_to_dive
from app.drawings import Drawing, drawings_from_json, drawings_to_json
from app.settings import add_recent_file
from app.start_list import StartEntry
from app.state import AppState, DiveSheet, VideoMeta
from app.widgets.player import Player
from app.failures import describe_failure
from app.workers import ScoreWorker, Task, run_task

NO_MODEL = "No trained model installed: run `aqa-judge train` or open a model bundle (File ▸ Open model)."
BLANK_SHEET = "Type the dive number (or the DD) to score this dive"
DESK_COMPETITION = "Judging desk"


def validate_sheet(sheet: DiveSheet) -> DiveInfo:
    """The dive sheet checked by the diving rules (DD looked up unless typed)."""
    from aqa_core.rules import make_dive_info

    return make_dive_info(sheet.event, sheet.panel_size, sheet.dive_number or None, sheet.height, sheet.difficulty)


def sheet_of_entry(entry: StartEntry) -> DiveSheet:
    from aqa_core.rules import PANEL_SIZES

    return DiveSheet(event=entry.event, height=entry.height, panel_size=PANEL_SIZES[entry.event][-1], diver=entry.diver,
                     dive_number=entry.dive_number, difficulty=entry.difficulty, round=entry.round)


class Commands(QObject):
    saved = Signal(int)  # dive id in the session database
    start_list_changed = Signal()  # entries or the next entry changed

    def __init__(self, state: AppState, player: Player, cache: AnalysisCache | None = None) -> None:
        super().__init__()
        self.state = state
        self.player = player
        self.cache = cache if cache is not None else AnalysisCache()
        self.db: Any = None  # app.storage Database: the user's sessions
        self.demo_db: Any = None  # the demo session's own database (demo mode only)
        self.score_worker: ScoreWorker | None = None
        self._running: set[ScoreWorker] = set()  # current and cancelled-but-finishing analyses
        self._tasks: set[Task] = set()
        self._db_pool = QThreadPool(self)
        self._db_pool.setMaxThreadCount(1)  # writes in order: each desk save after the one before
        self.start_list: list[StartEntry] = []
        self.start_next = 0  # the entry the next opened video takes
        self.saved_dive: int | None = None  # id of the desk dive once stored
        self.saved_db: Any = None  # the database it is stored in
        self.saved_with_score = False  # whether that save held the analysis on screen (a sheet is saved as soon as a video opens)
        self._new_desk_dive()
        self._pending_stored: ScoreResult | None = None  # a stored analysis waiting for its video
        self._pending_real: list[float | None] | None = None  # a known panel waiting for its video
        self._pending_drawings: tuple[Drawing, ...] = ()  # a stored dive's drawings waiting for its video
        self._find_when_scored = False  # the dives are listed once the first clip is scored
        player.video_opened.connect(self._on_video_opened)
        player.video_failed.connect(self._on_video_failed)
        player.frame_shown.connect(state.set_playhead)

    def _new_desk_dive(self, uuid: str | None = None, db: Any = None) -> None:
        from app.storage.models import new_uuid

        self._dive_uuid = uuid or new_uuid()
        self._dive_db = db  # None: chosen by the video (see database_for)
        self._stored_result: ScoreResult | None = None  # the analysis already written for this dive
        self._user_window: tuple[int, int] | None = None  # a window the judge set (kept for rescoring)
        self._found_index: int | None = None  # which of the dives found in the video this desk dive is
        self.saved_dive = None
        self.saved_db = None
        self.saved_with_score = False

    # --- video -------------------------------------------------------------------------------
    def open_video(self, path: str | Path, sheet: DiveSheet | None = None, real_scores: list[float | None] | None = None,
                   *, stored: Any = None, db: Any = None) -> None:
        """Open ``path`` as a new dive on the desk; scoring starts once it is probed (on the decode thread).

        The sheet is ``sheet`` if known (demo, reopening), else the next start-list entry, else a
        clean sheet: never the previous dive's. ``stored`` (a ``StoredDesk``) reopens that dive.
        """
        self._find_when_scored = False  # the dives of the video before are not wanted any more
        self.cancel_analysis()
        self._new_desk_dive(stored.uuid if stored is not None else None, db if stored is not None else None)
        if sheet is None:
            sheet = self._take_start_entry()
        self.state.set_video(None)  # nothing is saved for the new dive until its video is open
        self._apply_sheet(sheet)
        panel = sheet.panel_size
        self._pending_real = list(real_scores) if real_scores and len(real_scores) == panel else None
        self._pending_stored = stored.analysis if stored is not None else None
        self._pending_drawings = drawings_from_json(stored.drawings_json) if stored is not None else ()
        if stored is not None:
            self._user_window = stored.window
        self.state.status_message.emit(f"Opening {path}…")
        self.player.open(str(path))

    def _on_video_opened(self, meta: VideoMeta) -> None:
        self.state.set_video(meta)
        add_recent_file(meta.path)
        if self._pending_real is not None:
            self.state.set_real_scores(self._pending_real)
            self._pending_real = None
        if self._pending_drawings:
            self.state.set_drawings(self._pending_drawings)
            self._pending_drawings = ()
        self.state.status_message.emit(f"{Path(meta.path).name}: {meta.frame_count} frames, {meta.fps:.2f} fps, {meta.width}x{meta.height}")
        if self._pending_stored is not None:
            result, self._pending_stored = self._pending_stored, None
            self._stored_result = result
            self.state.set_result(result)
        elif self._user_window is not None:
            self.state.set_window(self._user_window)
        self._save()
        # The dives' list and marks decode the whole file; the first curve needs only the first dive
        # (found in the scorer's own decode), so on a laptop's two cores the list waits for it.
        self._find_when_scored = self.state.result is None and self.score()
        if not self._find_when_scored:
            self.find_dives()

    # --- dives in the footage ----------------------------------------------------------------
    def _find_dives_if_waiting(self) -> None:
        """The first clip is on screen (or the analysis ended): now list the dives (see ``_on_video_opened``)."""
        if self._find_when_scored:
            self._find_when_scored = False
            self.find_dives()

    def find_dives(self) -> None:
        """Find the take-offs and entries of the open video on a worker (it decodes the whole file)."""
        from aqa_core.dive_finder import find_dives

        video = self.state.video
        if video is None:
            return

        def show(dives: list[Any]) -> None:
            if self.state.video is not None and self.state.video.path == video.path:  # still the same video
                if self._user_window is None:  # the desk dive is the one the scorer picks: the first original
                    self._found_index = next((i for i, d in enumerate(dives) if not d.replay), None)
                self.state.set_dives(dives)

        self.run_background(lambda: find_dives(video.path), f"finding the dives in {video.path}", show, engine=True)

    def choose_dive(self, index: int) -> None:
        """Score found dive ``index`` (take-off to entry plus margins) as the judge's own window, saved.

        Another dive than the one on the desk becomes a desk dive of its own, as if its video had
        been opened: a new saved dive with the next start-list entry (or a clean sheet), no marks,
        no drawings; the dive before stays saved as it was.
        """
        from aqa_core.dive_finder import scoring_window

        state, video = self.state, self.state.video
        if video is None or not 0 <= index < len(state.dives):
            return
        if self._found_index is not None and index != self._found_index:
            self.cancel_analysis()
            self._new_desk_dive()
            self._apply_sheet(self._take_start_entry())
            state.set_result(None)
            state.set_real_scores([None] * state.dive.panel_size)
            state.set_drawings(())
        self._found_index = index
        self.rescore_window(*scoring_window(state.dives[index], video.frame_count, video.fps))

    def move_mark(self, index: int, event: str, frame: int) -> None:
        """The judge dragged dive ``index``'s take-off or entry mark: keep it and score that window."""
        from dataclasses import replace

        dives = list(self.state.dives)
        if not 0 <= index < len(dives):
            return
        field = "take_off_index" if event == "take-off" else "entry_index"
        dives[index] = replace(dives[index], **{field: frame})
        self.state.set_dives(dives)
        self.choose_dive(index)

    def _on_video_failed(self, message: str) -> None:
        self.state.set_video(None)
        self.state.report_error(message)

    def open_dive(self, path: str | Path, sheet: DiveSheet, real_scores: list[float] | None = None) -> None:
        """Open a video whose dive sheet (and maybe real panel) is already known: demo, scripts."""
        self.open_video(path, sheet, list(real_scores) if real_scores else None)

    def open_demo_dive(self, path: str | Path, sheet: DiveSheet, real_scores: list[float] | None = None) -> None:
        """A demo dive: the one stored in the demo database reopened if it is there, else opened new.

        The demo's dives are the same files every time, so each is one stored dive however often
        the demo starts or a dive is picked again (every start used to store dive 1 once more),
        and what the user did to it (sheet, window, drawings, note) is there when it comes back.
        """
        from app.storage.repository import Repository

        db = self.demo_db
        if db is None or self.database_for(path) is not db:
            self.open_dive(path, sheet, real_scores)
            return

        def show(dive_id: int | None) -> None:
            if dive_id is None:
                self.open_dive(path, sheet, real_scores)
            else:
                self.open_stored(dive_id, db, active_model=True)

        self.run_background(lambda: Repository(db).latest_dive_of_video(path), f"the demo dive {Path(path).name}", show,
                            pool=self._db_pool, on_failed=lambda _message: self.open_dive(path, sheet, real_scores))

    # --- start list --------------------------------------------------------------------------
    def import_start_list(self, path: str | Path) -> None:
        """Read a start list (on a worker); the next video opened takes its first entry."""
        from app.start_list import read_start_list

        def use(entries: list[StartEntry]) -> None:
            self.start_list, self.start_next = entries, 0
            self.start_list_changed.emit()
            self.state.status_message.emit(f"Start list {Path(path).name}: {len(entries)} dives; the next video opened is {entries[0].label}")

        self.run_background(lambda: read_start_list(path), f"start list {path}", use)

    def set_start_next(self, index: int) -> None:
        """Choose the entry the next opened video takes (stepping back and forth)."""
        self.start_next = max(0, min(len(self.start_list), index))
        self.start_list_changed.emit()

    def apply_start_entry(self, index: int) -> None:
        """Put entry ``index`` on the dive on the desk (a video opened out of order); the next follows it."""
        if 0 <= index < len(self.start_list):
            entry = self.start_list[index]
            self.start_next = index + 1
            self.start_list_changed.emit()
            self.set_dive(sheet_of_entry(entry).with_changes(note=self.state.dive.note, tags=self.state.dive.tags))

    def _take_start_entry(self) -> DiveSheet:
        if self.start_next < len(self.start_list):
            entry = self.start_list[self.start_next]
            self.start_next += 1
            self.start_list_changed.emit()
            return sheet_of_entry(entry)
        return DiveSheet()

    # --- dive sheet --------------------------------------------------------------------------
    def _apply_sheet(self, sheet: DiveSheet) -> DiveInfo | None:
        """Validate and store the sheet (the reason is shown when the rules refuse it)."""
        if sheet.blank:
            self.state.set_dive(sheet, None, BLANK_SHEET)
            return None
        try:
            info = validate_sheet(sheet)
        except AQAError as exc:
            self.state.set_dive(sheet, None, str(exc))
            self.state.report_error(str(exc))
            return None
        self.state.set_dive(sheet, info)
        return info

    def set_dive(self, sheet: DiveSheet) -> DiveInfo | None:
        """Store the sheet, bring the analysis in line with it, and save the dive as shown.

        A DD-only change re-expresses the current result (no network run); another event or
        panel, or a sheet that was invalid until now, means scoring again. A change that leaves
        the validated dive as it was (diver, round, note) only saves.
        """
        info = self._apply_sheet(sheet)
        if info is None:
            return None
        state = self.state
        result = state.result
        running = self.score_worker.dive if self.score_worker is not None else None
        if result is None:
            if state.video is not None and running != info:
                self.score()
        elif result.dive != info:
            adapted = adapt_to_dive(result, info, result.video)
            if adapted is not None:
                state.set_result(adapted)
                # The status line belongs to the dive on screen: never the score of the sheet before.
                state.status_message.emit(f"Rescored {adapted.final.score:.2f} for {info.dive_number or 'the dive'}, DD {info.difficulty:.1f}")
            else:
                self.score()
        self._save()
        return info

    # --- model -------------------------------------------------------------------------------
    def load_default_model(self) -> None:
        """Find and load the shipped model on a worker: importing torch alone takes seconds."""

        def find_and_load() -> Any:
            from aqa_core.bundle import default_bundle_path, load_bundle

            path = default_bundle_path()
            return None if path is None else load_bundle(path)

        self.run_background(find_and_load, "the default model", self.show_bundle, engine=True)

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
        self.run_background(load, f"model {folder}", self.use_bundle, engine=True)

    def use_bundle(self, bundle: Any) -> None:
        label = model_label(bundle.name, bundle.version)
        self.state.set_bundle(bundle, label)
        self.state.status_message.emit(f"Model {label} ready")
        if self.state.video is not None and self.state.result is None:
            self.score()
        else:  # build and warm the model now, so the first video's first curve waits for one clip only
            self.run_background(lambda: ScoreWorker.scorer_for(bundle).warm_up(), f"preparing model {bundle.name}", engine=True)

    # --- analysis ----------------------------------------------------------------------------
    def score(self, window: tuple[int, int] | None = None) -> bool:
        """Start an analysis of the open video; False (with the reason shown) when it cannot.

        Without ``window`` the judge's own window is kept if one was set, else it is found.
        """
        state = self.state
        if state.video is None:
            return False
        if state.bundle is None:
            state.status_message.emit(state.model_message or NO_MODEL)
            return False
        if state.dive_info is None:
            state.status_message.emit(state.sheet_problem or "Fix the dive sheet to score this dive")
            return False
        window = window or self._user_window
        self.cancel_analysis()
        state.begin_analysis()
        worker = ScoreWorker(state.bundle, state.video.path, state.dive_info, window, self.cache, self)
        worker.clip_ready.connect(self._on_clip)
        worker.result_ready.connect(self._on_result)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        # short: one status line shares the row with the progress and the storage line (cut, its tooltip is the whole text)
        worker.preparing.connect(lambda: state.status_message.emit("Preparing the model (once; up to a minute on a new machine)…"))
        worker.finished.connect(lambda: self._running.discard(worker))
        worker.finished.connect(worker.deleteLater)
        self._running.add(worker)
        self.score_worker = worker
        state.status_message.emit(f"Scoring {Path(state.video.path).name}…")
        worker.start()
        return True

    def rescore_window(self, start: int, end: int) -> None:
        self._user_window = (start, end)
        self.state.set_window((start, end))
        self.score((start, end))
        self._save()

    def cancel_analysis(self) -> None:
        worker, self.score_worker = self.score_worker, None
        if worker is not None:
            for signal in (worker.clip_ready, worker.result_ready, worker.failed, worker.cancelled):
                signal.disconnect()
            worker.cancel()
            if self.state.analysing:
                self.state.end_analysis()
                self.state.status_message.emit("Analysis cancelled")
            self._find_dives_if_waiting()

    def _is_current(self) -> bool:
        return self.sender() is self.score_worker

    def _on_clip(self, clip: ClipEstimate) -> None:
        if self._is_current():
            self.state.add_clip(clip)
            self._find_dives_if_waiting()

    def _on_result(self, result: ScoreResult) -> None:
        if not self._is_current():
            return
        worker = self.score_worker
        self.score_worker = None
        self.state.set_result(result)
        self._find_dives_if_waiting()
        source = "from the cache" if worker is not None and worker.from_cache else f"in {result.timings.get('total', 0):.1f} s"
        if worker is not None and worker.preparing_s >= 1.0:  # the wait the judge saw, said apart from the analysis's own time
            source += f" after {worker.preparing_s:.0f} s preparing the model (once)"
        self.state.status_message.emit(f"Scored {result.final.score:.2f} {source} (backbone on {result.device}, {result.precision})")
        self._save()

    def _on_failed(self, message: str) -> None:
        if self._is_current():
            self.score_worker = None
            self.state.end_analysis()
            self.state.report_error(message)
            self._find_dives_if_waiting()
            self._save()  # no analysis on screen: the stored dive must not keep one for another sheet

    def _on_cancelled(self) -> None:
        if self._is_current():
            self.score_worker = None
            self.state.end_analysis()
            self.state.status_message.emit("Analysis cancelled")
            self._find_dives_if_waiting()

    # --- drawings ------------------------------------------------------------------------------
    def add_drawing(self, drawing: Drawing) -> None:
        """A line or angle drawn on a frame: kept with that frame and saved with the dive."""
        self.state.set_drawings((*self.state.drawings, drawing))
        self.state.status_message.emit(f"{drawing.kind.capitalize()} on frame {drawing.frame + 1}: {drawing.label()}")
        self._save()

    def clear_drawings(self, frame: int) -> None:
        kept = tuple(d for d in self.state.drawings if d.frame != frame)
        if len(kept) != len(self.state.drawings):
            self.state.set_drawings(kept)
            self._save()

    # --- the real panel ----------------------------------------------------------------------
    def set_real_scores(self, scores: list[float | None]) -> None:
        self.state.set_real_scores(scores)
        self._save()

    # --- session database --------------------------------------------------------------------
    def open_database(self, path: str | Path | None = None, on_open: Any = None, demo: bool = False, on_failed: Any = None) -> None:
        """Open the user's sessions database, or (``demo``) the demo session's own one; ``on_failed`` hears a failure too."""
        from app.storage.database import open_database

        def opened(db: Any) -> None:
            old = self.demo_db if demo else self.db
            if old is not None:
                old.close()
            if demo:
                self.demo_db = db
            else:
                self.db = db
                self.state.status_message.emit(f"Session database: {db.path}")
            if on_open is not None:
                on_open(db)

        self.run_background(lambda: open_database(path), f"database {path or 'default'}", opened, pool=self._db_pool, on_failed=on_failed)

    def database_for(self, video: str | Path) -> Any:
        """Where a dive of ``video`` is stored: demo dives in the demo database, real work in the user's."""
        from app.demo import demo_folder

        if self.demo_db is not None and Path(video).resolve().is_relative_to(demo_folder().resolve()):
            return self.demo_db
        return self.db

    def target_db(self) -> Any:
        """The database the dive on the desk is (or will be) stored in; None without a video."""
        if self.state.video is None:
            return None
        return self._dive_db or self.database_for(self.state.video.path)

    def _save(self) -> None:
        """Write the desk dive as it is on screen (nothing to press); skipped while the sheet is invalid."""
        state = self.state
        if state.video is None or state.dive_info is None:
            return
        db = self.target_db()
        if db is None:
            return
        from app.storage.repository import UNKNOWN_DIVER, DeskDive, DiveRecord, Repository

        sheet, result = state.dive, state.result
        new = result if result is not None and result is not self._stored_result else None
        if new is not None:
            self._stored_result = new
        record = DiveRecord(competition=DESK_COMPETITION, event=f"{sheet.height:g} m {state.dive_info.event}",
                            athlete=sheet.diver or UNKNOWN_DIVER, round=sheet.round, video_path=state.video.path)
        desk = DeskDive(self._dive_uuid, record, state.dive_info, state.window, tuple(state.real_scores), sheet.note,
                        drawings_to_json(state.drawings), sheet.tags)
        shown = result is not None
        uuid = self._dive_uuid

        def write() -> int:
            return Repository(db).save_desk_dive(desk, new, analysis_shown=shown)

        def done(saved_id: int) -> None:
            if uuid == self._dive_uuid:
                self.saved_dive, self.saved_db, self.saved_with_score = saved_id, db, shown
            self.saved.emit(saved_id)

        self.run_background(write, "saving the dive", done, pool=self._db_pool)

    def open_stored(self, dive_id: int, db: Any = None, *, active_model: bool = False) -> None:
        """Reopen a stored dive in the desk: its sheet, window, marks, note and analysis (not scored again).

        ``active_model``: an analysis by another model than the active one is scored again (the
        demo's dives, where a newly trained model is what the user wants to see).
        """
        from app.storage.repository import UNKNOWN_DIVER, Repository

        db = db or self.db

        def load() -> tuple[Any, str]:
            repo = Repository(db)
            stored = repo.desk_dive(dive_id)
            return stored, str(repo.locate_video(dive_id))

        def show(found: tuple[Any, str]) -> None:
            stored, video = found
            bundle = self.state.bundle
            if active_model and stored.analysis is not None and bundle is not None and stored.analysis.model_fingerprint != bundle.fingerprint:
                stored = dataclasses.replace(stored, analysis=None)
            dive = stored.dive
            sheet = DiveSheet(event=dive.event, height=dive.height or 10.0, panel_size=dive.panel_size,
                              diver="" if stored.athlete == UNKNOWN_DIVER else stored.athlete, dive_number=dive.dive_number or "",
                              difficulty=dive.difficulty, round=stored.round or 1, note=stored.note, tags=stored.tags)
            self.open_video(video, sheet, stored.marks, stored=stored, db=db)

        self.run_background(load, f"dive {dive_id}", show, pool=self._db_pool)

    def locate_stored(self, dive_ids: list[int], db: Any, on_found: Any) -> None:
        """The stored dives' videos (found again by content if moved, the new place saved), in order, to ``on_found``."""
        from app.storage.repository import Repository

        def locate() -> list[str]:
            repository = Repository(db)
            return [str(repository.locate_video(dive_id)) for dive_id in dive_ids]

        self.run_background(locate, "the dives' videos", on_found, pool=self._db_pool)

    # --- export ------------------------------------------------------------------------------
    def export_frame(self, path: str | Path, index: int | None = None) -> None:
        """The source frame ``index`` (default: on screen) at full resolution, with the overlays, as PNG."""
        from app.export import export_frame

        if self.state.video is None:
            self.state.report_error("Open a video before exporting a frame")
            return
        video, result = self.state.video.path, self.state.result
        frame = self.player.requested if index is None else index
        drawings = [d for d in self.state.drawings if d.frame == frame]
        self.run_background(lambda: export_frame(video, frame, path, result, drawings), f"export {path}",
                            lambda out: self.state.status_message.emit(f"Frame {frame + 1} saved to {out}"))

    def export_video(self, path: str | Path, progress: Any = None, cancel: Any = None, on_end: Any = None) -> None:
        """The dive window with the analysis burned in, as MP4 (on a worker; progress and cancel from the dialog)."""
        from app.export import export_dive_video

        if self.state.video is None or self.state.result is None:
            self.state.report_error("Score a dive before exporting it with its overlays")
            return
        video, result = self.state.video.path, self.state.result

        def done(out: Path) -> None:
            self.state.status_message.emit(f"Exported {out}")
            if on_end is not None:
                on_end()

        def failed(_message: str) -> None:
            if on_end is not None:
                on_end()

        self.run_background(lambda: export_dive_video(video, result, path, progress, cancel), f"export {path}", done,
                            on_failed=failed)

    # --- plumbing ----------------------------------------------------------------------------
    def run_background(self, fn: Any, label: str, on_done: Any = None, pool: QThreadPool | None = None,
                       on_failed: Any = None, engine: bool = False) -> None:
        """Run ``fn`` on a worker; its result goes to ``on_done`` and any failure, of either, to the status line.

        ``engine``: ``fn`` uses the engine's packages (``app.workers.import_engine``).
        """

        def finish(value: Any) -> None:
            if on_done is None:
                return
            try:
                on_done(value)
            except Exception as exc:  # noqa: BLE001 (whatever a handler raises reaches the user, the app goes on)
                self.state.report_error(describe_failure(label, exc))

        task = run_task(fn, label, finish, self.state.report_error, pool=pool, engine=engine)
        if on_failed is not None:
            task.signals.failed.connect(on_failed)
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
        for db in (self.db, self.demo_db):
            if db is not None:
                db.close()
        self.db = self.demo_db = None
