"""The one ``AppState`` of the judging desk.

Every widget reads from it and listens to its signals; only commands (app/commands.py) and
workers' results write to it. That way the player, the plots, the judge panel and the tests all
see the same video, dive sheet, model and analysis, and a change redraws everything once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject, Signal

from aqa_core.result import ClipEstimate, DiveInfo, ScoreResult
from app.drawings import Drawing


@dataclass(frozen=True)
class DiveSheet:
    """What the judge types about the dive; ``difficulty=None`` means "look it up".

    The defaults are the clean sheet every new video starts with: no diver and no dive number,
    so nothing from the previous dive is ever stored as this one's.
    """

    event: str = "individual"
    height: float = 10.0
    panel_size: int = 7
    diver: str = ""
    dive_number: str = ""
    difficulty: float | None = None
    round: int = 1
    note: str = ""
    tags: tuple[str, ...] = ()  # e.g. "entry", "training": found again in the sessions database

    @property
    def blank(self) -> bool:
        """Nothing typed yet to score with (no dive number, no DD)."""
        return not self.dive_number and self.difficulty is None

    def with_changes(self, **changes: Any) -> DiveSheet:
        return replace(self, **changes)


@dataclass(frozen=True)
class VideoMeta:
    """The little the GUI thread needs about the open video (probed on a worker)."""

    path: str
    fps: float
    frame_count: int
    width: int
    height: int


class AppState(QObject):
    video_changed = Signal(object)  # VideoMeta | None
    dive_changed = Signal(object)  # DiveSheet
    dive_info_changed = Signal(object)  # DiveInfo | None (validated sheet)
    model_changed = Signal(object)  # ModelBundle | None
    analysis_started = Signal()
    analysis_ended = Signal()  # failed or cancelled (a result comes through result_changed)
    clip_added = Signal(object)  # ClipEstimate
    result_changed = Signal(object)  # ScoreResult | None
    playhead_changed = Signal(int)
    real_scores_changed = Signal(list)  # list[float | None]
    window_changed = Signal(object)  # tuple[int, int] | None
    drawings_changed = Signal(object)  # tuple[Drawing, ...]
    dives_changed = Signal(list)  # list[FoundDive]: the dives found in the video (take-off, entry)
    status_message = Signal(str)
    error = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.video: VideoMeta | None = None
        self.dive: DiveSheet = DiveSheet()
        self.dive_info: DiveInfo | None = None
        self.sheet_problem: str = ""  # why ``dive`` does not validate ("" when it does)
        self.bundle: Any = None  # aqa_core.bundle.ModelBundle (imported lazily: torch)
        self.model_message: str = ""
        self.clips: list[ClipEstimate] = []
        self.result: ScoreResult | None = None
        self.playhead: int = 0
        self.real_scores: list[float | None] = []
        self.window: tuple[int, int] | None = None
        self.drawings: tuple[Drawing, ...] = ()  # lines and angles on this video's frames
        self.dives: list[Any] = []  # aqa_core.dive_finder.FoundDive, found on a worker after opening
        self.analysing: bool = False
        self.session_id: int | None = None

    # Writers: each stores and announces one change.
    def set_video(self, video: VideoMeta | None) -> None:
        self.video = video
        self.clips = []
        self.result = None
        self.window = None
        self.playhead = 0
        self.real_scores = [None] * self.dive.panel_size
        self.drawings = ()
        self.dives = []
        self.video_changed.emit(video)
        self.dives_changed.emit([])
        self.result_changed.emit(None)
        self.window_changed.emit(None)
        self.real_scores_changed.emit(self.real_scores)
        self.playhead_changed.emit(0)
        self.drawings_changed.emit(self.drawings)

    def set_dive(self, dive: DiveSheet, info: DiveInfo | None, problem: str = "") -> None:
        panel_changed = dive.panel_size != self.dive.panel_size
        self.dive = dive
        self.dive_info = info
        self.sheet_problem = "" if info is not None else problem
        self.dive_changed.emit(dive)
        self.dive_info_changed.emit(info)
        if panel_changed:
            self.set_real_scores([None] * dive.panel_size)

    def set_bundle(self, bundle: Any, message: str) -> None:
        self.bundle = bundle
        self.model_message = message
        self.model_changed.emit(bundle)

    def begin_analysis(self) -> None:
        self.clips = []
        self.result = None
        self.analysing = True
        self.analysis_started.emit()
        self.result_changed.emit(None)

    def add_clip(self, clip: ClipEstimate) -> None:
        self.clips.append(clip)
        self.clip_added.emit(clip)

    def set_result(self, result: ScoreResult | None) -> None:
        self.analysing = False
        self.result = result
        if result is not None:
            self.clips = list(result.clips)
            self.window = tuple(result.dive_window)  # type: ignore[assignment]
            self.window_changed.emit(self.window)
        self.result_changed.emit(result)

    def end_analysis(self) -> None:
        self.analysing = False
        self.analysis_ended.emit()

    def set_playhead(self, frame: int) -> None:
        if frame != self.playhead:
            self.playhead = frame
            self.playhead_changed.emit(frame)

    def set_real_scores(self, scores: list[float | None]) -> None:
        self.real_scores = list(scores)
        self.real_scores_changed.emit(self.real_scores)

    def set_window(self, window: tuple[int, int] | None) -> None:
        self.window = window
        self.window_changed.emit(window)

    def set_dives(self, dives: list[Any]) -> None:
        self.dives = list(dives)
        self.dives_changed.emit(self.dives)

    def set_drawings(self, drawings: tuple[Drawing, ...]) -> None:
        self.drawings = tuple(drawings)
        self.drawings_changed.emit(self.drawings)

    def report_error(self, message: str) -> None:
        self.error.emit(message)
        self.status_message.emit(message)
