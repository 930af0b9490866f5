"""What the app does with a sessions database, one method per user action.

Each writing method is one transaction (``Database.transaction``): saving a scored dive stores
competition, athlete, video, dive, analysis and the panel's scores together or not at all.
Reading methods return plain dataclasses and tuples (no live ORM objects), so a worker thread
can hand them to the GUI thread safely.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import Select, String, func, select, type_coerce
from sqlalchemy.orm import Session

from aqa_core.files import file_sha256
from aqa_core.option_names import model_label
from aqa_core.result import DiveInfo, ScoreResult
from aqa_core.rules import apply_panel_rule

from .database import Database
from .errors import StorageError
if TYPE_CHECKING:
    from aqa_core.video import VideoInfo

from .models import Analysis, Athlete, Competition, Dive, DiveTag, Event, HumanScore, ModelEntry, Note, Tag, Video


@dataclass(frozen=True)
class DiveRecord:
    """Who dived where: what the judging desk's dive sheet knows besides the ScoreResult."""

    competition: str
    event: str
    athlete: str
    country: str | None = None
    round: int | None = None
    performed_at: datetime | None = None
    video_path: str | Path | None = None
    video_info: VideoInfo | None = None  # what the desk probed: fps, frames and size are stored with the video


UNKNOWN_DIVER = "unknown diver"  # the athlete of a dive whose sheet names nobody


@dataclass(frozen=True)
class DeskDive:
    """Everything the judging desk shows about one dive, saved whole at every change.

    The desk writes this after each edit (sheet, window, marks, note) and each analysis, so the
    stored dive is always the screen: ``dive`` is the validated sheet, ``marks`` the real panel
    as typed (``None`` where a mark is still empty), ``note`` the desk's note. ``uuid`` is made
    by the desk when the video opens, so writes queued before the first one lands still reach
    the same row.
    """

    uuid: str
    record: DiveRecord
    dive: DiveInfo
    window: tuple[int, int] | None = None
    marks: tuple[float | None, ...] = ()
    note: str = ""
    drawings_json: str = "[]"  # app/drawings.py: lines and angles on the dive's frames
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredDesk:
    """A stored dive as the desk reopens it: the sheet, window, marks, note and latest analysis."""

    uuid: str
    video_path: str | None
    athlete: str
    round: int | None
    dive: DiveInfo
    window: tuple[int, int] | None
    marks: list[float | None]
    note: str
    analysis: ScoreResult | None
    drawings_json: str = "[]"
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class SavedDive:
    dive_id: int
    analysis_id: int


@dataclass(frozen=True)
class DiveFilter:
    """The sessions browser's filters; ``None`` means "any"."""

    competition_id: int | None = None
    athlete_id: int | None = None
    dive_number: str | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    score_min: float | None = None  # on the latest predicted final score
    score_max: float | None = None
    model_name: str | None = None


class DiveRow(NamedTuple):
    """One line of the sessions browser (a tuple: 10,000 of them build in a few ms)."""

    dive_id: int
    competition: str
    event: str
    athlete: str
    round: int | None
    dive_number: str | None
    height: float | None
    difficulty: float
    performed_at: datetime
    human_final: float | None
    predicted_final: float | None
    model: str | None
    uncertainty: str | None
    video_path: str | None = None
    analysed_at: datetime | None = None  # the latest analysis (revision 0004)

    @property
    def video_name(self) -> str:
        return Path(self.video_path).name if self.video_path else ""


@dataclass(frozen=True)
class Choice:
    id: int
    name: str


@dataclass(frozen=True)
class FilterChoices:
    competitions: list[Choice]
    athletes: list[Choice]
    models: list[str]


@dataclass(frozen=True)
class ScorePair:
    """A dive with both a model prediction and a real panel: what the statistics view plots."""

    dive_id: int
    performed_at: datetime
    predicted_final: float
    human_final: float
    human_scores: list[float]  # by judge index
    predicted_judges: list[float]  # empty for a USDL model
    competition_date: date | None = None  # what trends are drawn over (the recording time when unknown)

    @property
    def when(self) -> datetime:
        return _day_start(self.competition_date) if self.competition_date is not None else self.performed_at


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min)


def _day_end(day: date) -> datetime:
    return datetime.combine(day, time.max)


class Repository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- writing: one transaction each ---------------------------------------------------

    def save_scored_dive(
        self, record: DiveRecord, result: ScoreResult, human_scores: Sequence[float] | None = None, human_final: float | None = None
    ) -> SavedDive:
        """The desk's "save": the dive, its video, its analysis and the panel, all or nothing."""
        video_hash = _hash_video(record.video_path)
        with self.db.transaction("saving the dive") as session:
            competition = _get_or_add(session, Competition, name=record.competition)
            event = _get_or_add(session, Event, competition_id=competition.id, name=record.event, kind=result.dive.event)
            if event.height is None:
                event.height = result.dive.height
            athlete = _get_or_add(session, Athlete, name=record.athlete, country=record.country)
            video = _video_row(session, *video_hash, record.video_info) if video_hash else None
            dive = Dive(
                event_id=event.id,
                athlete_id=athlete.id,
                video_id=video.id if video else None,
                round=record.round,
                dive_number=result.dive.dive_number,
                height=result.dive.height,
                difficulty=result.dive.difficulty,
                panel_size=result.dive.panel_size,
                performed_at=record.performed_at or datetime.now(),
                window_start=result.dive_window[0],
                window_end=result.dive_window[1],
            )
            session.add(dive)
            session.flush()
            analysis = add_analysis_row(session, dive, result)
            if human_scores is not None:
                _set_human_scores(session, dive, human_scores, human_final)
            return SavedDive(dive.id, analysis.id)

    def save_desk_dive(self, desk: DeskDive, new_analysis: ScoreResult | None = None, analysis_shown: bool = True) -> int:
        """Make the stored dive ``desk.uuid`` exactly what the desk shows; returns its id.

        Creates the dive on the first call, then rewrites every sheet field, the window, the
        panel's marks (the real final follows the rules with the sheet's DD) and the note.
        ``new_analysis`` is added as the dive's latest analysis; with none on screen
        (``analysis_shown=False``: a rescore for a changed sheet is running or failed) the dive
        stops pointing at an analysis made for another sheet, so the browser never lists one.
        """
        record, info = desk.record, desk.dive
        with self.db.reading("finding the dive") as session:
            exists = session.scalar(select(Dive.id).where(Dive.uuid == desk.uuid)) is not None
        video_hash = None if exists else _hash_video(record.video_path)  # hashing a long video once, not per edit
        with self.db.transaction("saving the dive") as session:
            dive = session.scalar(select(Dive).where(Dive.uuid == desk.uuid))
            competition = _get_or_add(session, Competition, name=record.competition)
            event = _get_or_add(session, Event, competition_id=competition.id, name=record.event, kind=info.event)
            if event.height is None:
                event.height = info.height
            athlete = _get_or_add(session, Athlete, name=record.athlete, country=record.country)
            if dive is None:
                video = _video_row(session, *video_hash, record.video_info) if video_hash else None
                dive = Dive(uuid=desk.uuid, event_id=event.id, athlete_id=athlete.id, video_id=video.id if video else None,
                            difficulty=info.difficulty, panel_size=info.panel_size, performed_at=record.performed_at or datetime.now())
                session.add(dive)
            dive.event, dive.athlete, dive.round = event, athlete, record.round
            dive.dive_number, dive.height, dive.difficulty, dive.panel_size = info.dive_number, info.height, info.difficulty, info.panel_size
            dive.window_start, dive.window_end = desk.window if desk.window is not None else (None, None)
            dive.drawings_json = desk.drawings_json
            session.flush()
            if new_analysis is not None:
                add_analysis_row(session, dive, new_analysis)
            elif not analysis_shown and dive.latest_analysis_id is not None:
                _detach_latest_analysis(dive)
            _set_marks(session, dive, desk.marks)
            latest_note = session.scalar(select(Note.text).where(Note.dive_id == dive.id).order_by(Note.id.desc()).limit(1))
            if desk.note.strip() and desk.note != latest_note:
                session.add(Note(dive_id=dive.id, text=desk.note))  # notes are a history; the desk shows the newest
            _set_tags(session, dive, desk.tags)
            return dive.id

    def desk_dive(self, dive_id: int) -> StoredDesk:
        """The stored dive as the desk shows it (the inverse of ``save_desk_dive``)."""
        with self.db.reading("reading the dive") as session:
            dive = _dive(session, dive_id)
            analysis = session.get(Analysis, dive.latest_analysis_id) if dive.latest_analysis_id is not None else None
            marks: list[float | None] = [None] * dive.panel_size
            for score in dive.human_scores:
                if 0 <= score.judge_index < dive.panel_size:
                    marks[score.judge_index] = score.score
            note = session.scalar(select(Note.text).where(Note.dive_id == dive.id).order_by(Note.id.desc()).limit(1)) or ""
            window = (dive.window_start, dive.window_end) if dive.window_start is not None and dive.window_end is not None else None
            result = ScoreResult.from_dict(json.loads(analysis.result_json)) if analysis is not None else None
            description = result.dive.description if result is not None and result.dive.dive_number == dive.dive_number else None
            info = DiveInfo(event=dive.event.kind, panel_size=dive.panel_size, dive_number=dive.dive_number, height=dive.height,
                            difficulty=dive.difficulty, description=description)
            athlete = "" if dive.athlete.name == UNKNOWN_DIVER else dive.athlete.name
            tags = tuple(session.scalars(select(Tag.name).join(DiveTag, DiveTag.tag_id == Tag.id)
                                         .where(DiveTag.dive_id == dive.id).order_by(Tag.name)))
            return StoredDesk(dive.uuid, dive.video.path if dive.video else None, athlete, dive.round, info, window, marks, note, result,
                              dive.drawings_json or "[]", tags)

    def save_analysis(self, dive_id: int, result: ScoreResult) -> int:
        """Re-scoring: a new immutable analysis that becomes the dive's latest."""
        with self.db.transaction("saving the analysis") as session:
            return add_analysis_row(session, _dive(session, dive_id), result).id

    def set_human_scores(self, dive_id: int, scores: Sequence[float], final: float | None = None) -> float:
        """Record the real panel; the final score follows the diving rules unless given."""
        with self.db.transaction("saving the judges' scores") as session:
            return _set_human_scores(session, _dive(session, dive_id), scores, final)

    def add_note(self, dive_id: int, text: str) -> int:
        with self.db.transaction("saving the note") as session:
            note = Note(dive_id=_dive(session, dive_id).id, text=text)
            session.add(note)
            session.flush()
            return note.id

    def add_tag(self, dive_id: int, name: str) -> None:
        with self.db.transaction("tagging the dive") as session:
            dive = _dive(session, dive_id)
            tag = _get_or_add(session, Tag, name=name.strip())
            if session.get(DiveTag, (dive.id, tag.id)) is None:
                session.add(DiveTag(dive_id=dive.id, tag_id=tag.id))

    def register_model(self, name: str, version: str, path: str | Path | None = None, data_card: dict | None = None) -> int:
        with self.db.transaction("registering the model") as session:
            entry = session.scalar(select(ModelEntry).where(ModelEntry.name == name, ModelEntry.version == version))
            if entry is None:
                entry = ModelEntry(name=name, version=version, path=str(path) if path else None, data_card_json=json.dumps(data_card or {}))
                session.add(entry)
                session.flush()
            return entry.id

    # --- reading ---------------------------------------------------------------------------

    def latest_analysis(self, dive_id: int) -> ScoreResult:
        """The stored analysis the desk redraws without re-scoring."""
        with self.db.reading("reading the analysis") as session:
            dive = _dive(session, dive_id)
            if dive.latest_analysis_id is None:
                raise StorageError(f"{self.db.path}: dive {dive_id} has no analysis yet")
            analysis = session.get(Analysis, dive.latest_analysis_id)
            assert analysis is not None  # foreign key
            return ScoreResult.from_dict(json.loads(analysis.result_json))

    def latest_analysis_of_video(self, digest: str) -> ScoreResult | None:
        """The newest analysis of any dive filmed in the video of this content hash (``file_sha256``), None if none.

        By content, not path: Compare shows a stored clip curve for a file opened from anywhere
        (a copy on a memory stick, a moved folder) without scoring it again.
        """
        query = (select(Analysis.result_json).join(Dive, Analysis.dive_id == Dive.id).join(Video, Dive.video_id == Video.id)
                 .where(Video.content_hash == digest).order_by(Analysis.id.desc()).limit(1))
        with self.db.reading("reading the video's analysis") as session:
            found = session.scalar(query)
        return ScoreResult.from_dict(json.loads(found)) if found is not None else None

    def analysis_count(self, dive_id: int) -> int:
        with self.db.reading() as session:
            return session.scalar(select(func.count()).where(Analysis.dive_id == dive_id)) or 0

    def human_scores(self, dive_id: int) -> list[float]:
        with self.db.reading() as session:
            return [s.score for s in _dive(session, dive_id).human_scores]

    def notes(self, dive_id: int) -> list[str]:
        with self.db.reading() as session:
            return list(session.scalars(select(Note.text).where(Note.dive_id == dive_id).order_by(Note.id)))

    def tags(self, dive_id: int) -> list[str]:
        with self.db.reading() as session:
            query = select(Tag.name).join(DiveTag, DiveTag.tag_id == Tag.id).where(DiveTag.dive_id == dive_id).order_by(Tag.name)
            return list(session.scalars(query))

    def list_dives(self, filters: DiveFilter = DiveFilter(), limit: int | None = None) -> list[DiveRow]:
        """The browser's rows, newest first, with each dive's latest prediction (no analysis read)."""
        query = _filtered(
            select(
                Dive.id,
                Competition.name,
                Event.name,
                Athlete.name,
                Dive.round,
                Dive.dive_number,
                Dive.height,
                Dive.difficulty,
                type_coerce(Dive.performed_at, String),  # parsed below: SQLAlchemy's SQLite parser is a regex per row
                Dive.human_final,
                Dive.predicted_final,
                Dive.model_name,
                Dive.model_version,
                Dive.uncertainty_level,
                Video.path,
                type_coerce(Dive.analysed_at, String),
            ),
            filters,
        ).outerjoin(Video, Dive.video_id == Video.id).order_by(Dive.performed_at.desc(), Dive.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.db.reading("listing dives") as session:
            rows = session.connection().execute(query).all()
        return [DiveRow(*row[:8], datetime.fromisoformat(row[8]), row[9], row[10], None if row[11] is None else model_label(row[11], row[12]),
                        row[13], row[14], None if row[15] is None else datetime.fromisoformat(row[15]))
                for row in rows]

    def filter_choices(self) -> FilterChoices:
        with self.db.reading("listing filters") as session:
            competitions = [Choice(*r) for r in session.execute(select(Competition.id, Competition.name).order_by(Competition.name))]
            athletes = [Choice(*r) for r in session.execute(select(Athlete.id, Athlete.name).order_by(Athlete.name))]
            models = list(session.scalars(select(Dive.model_name).where(Dive.model_name.is_not(None)).distinct().order_by(Dive.model_name)))
        return FilterChoices(competitions, athletes, models)

    def score_pairs(self, athlete_id: int | None = None, competition_id: int | None = None) -> list[ScorePair]:
        """Dives with a prediction and a real panel, oldest first (for trends)."""
        filters = DiveFilter(athlete_id=athlete_id, competition_id=competition_id)
        query = (
            _filtered(select(Dive.id, Dive.performed_at, Dive.predicted_final, Dive.human_final, Analysis.result_json,
                             Competition.start_date), filters)
            .join(Analysis, Dive.latest_analysis_id == Analysis.id)
            .where(Dive.human_final.is_not(None))
            .order_by(func.coalesce(Competition.start_date, Dive.performed_at), Dive.performed_at, Dive.id)
        )
        with self.db.reading("reading statistics") as session:
            rows = session.execute(query).all()
            scores: dict[int, list[float]] = {}
            for dive_id, score in session.execute(
                select(HumanScore.dive_id, HumanScore.score)
                .where(HumanScore.dive_id.in_([r[0] for r in rows]))
                .order_by(HumanScore.dive_id, HumanScore.judge_index)
            ):
                scores.setdefault(dive_id, []).append(score)
        pairs = []
        for dive_id, performed_at, predicted, human, result_json, competition_date in rows:
            judges = json.loads(result_json)["judges"]
            pairs.append(ScorePair(dive_id, performed_at, predicted, human, scores.get(dive_id, []),
                                   [j["estimate"]["score"] for j in judges], competition_date))
        return pairs

    def count_marked(self, athlete_id: int | None = None, competition_id: int | None = None) -> int:
        """Dives with the real panel's final, with or without a prediction (statistics say how many)."""
        query = _filtered(select(func.count(Dive.id)), DiveFilter(athlete_id=athlete_id, competition_id=competition_id))
        with self.db.reading("reading statistics") as session:
            return session.scalar(query.where(Dive.human_final.is_not(None))) or 0

    def latest_dive_of_video(self, path: str | Path) -> int | None:
        """The newest dive stored for this file's content (the same hash wherever it lies), None if none."""
        digest = file_sha256(path)
        query = select(func.max(Dive.id)).join(Video, Dive.video_id == Video.id).where(Video.content_hash == digest)
        with self.db.reading("finding the video's dives") as session:
            return session.scalar(query)

    def locate_video(self, dive_id: int, search_dirs: Iterable[str | Path] = ()) -> Path:
        """The dive's video, found again by content hash if it moved (the new place is saved).

        Looks at the stored path, then in ``search_dirs``, the database's folder and the old
        path's folder; only files of the recorded size are hashed, so a big folder stays quick.
        """
        with self.db.reading("finding the video") as session:
            video = _dive(session, dive_id).video
            if video is None:
                raise StorageError(f"{self.db.path}: dive {dive_id} has no recorded video")
            stored, digest, size, video_id = Path(video.path), video.content_hash, video.size_bytes, video.id
        if stored.is_file() and stored.stat().st_size == size:
            return stored
        folders = [Path(d) for d in search_dirs] + [self.db.path.parent, stored.parent]
        for folder in folders:
            if not folder.is_dir():
                continue
            for candidate in folder.rglob(f"*{stored.suffix}"):
                if candidate.is_file() and candidate.stat().st_size == size and file_sha256(candidate) == digest:
                    with self.db.transaction("recording the video's new place") as session:
                        row = session.get(Video, video_id)
                        assert row is not None
                        row.path = str(candidate.absolute())
                    return candidate
        searched = ", ".join(str(f) for f in folders)
        raise StorageError(f"{stored}: the video of dive {dive_id} is missing and no file with its content was found in {searched}")


def _filtered(query: Select, filters: DiveFilter) -> Select:
    query = (
        query.select_from(Dive)
        .join(Event, Dive.event_id == Event.id)
        .join(Competition, Event.competition_id == Competition.id)
        .join(Athlete, Dive.athlete_id == Athlete.id)
    )
    if filters.competition_id is not None:
        query = query.where(Event.competition_id == filters.competition_id)
    if filters.athlete_id is not None:
        query = query.where(Dive.athlete_id == filters.athlete_id)
    if filters.dive_number:
        query = query.where(Dive.dive_number == filters.dive_number.strip().upper())
    if filters.date_from is not None:
        query = query.where(Dive.performed_at >= _day_start(filters.date_from))
    if filters.date_to is not None:
        query = query.where(Dive.performed_at <= _day_end(filters.date_to))
    if filters.score_min is not None:
        query = query.where(Dive.predicted_final >= filters.score_min)
    if filters.score_max is not None:
        query = query.where(Dive.predicted_final <= filters.score_max)
    if filters.model_name:
        query = query.where(Dive.model_name == filters.model_name)
    return query


def _get_or_add(session: Session, model: type, **values: object):  # type: ignore[no-untyped-def]
    row = session.scalar(select(model).filter_by(**values).limit(1))
    if row is None:
        row = model(**values)
        session.add(row)
        session.flush()
    return row


def _video_row(session: Session, path: Path, digest: str, size: int, info: VideoInfo | None) -> Video:
    video = session.scalar(select(Video).where(Video.content_hash == digest))
    if video is None:
        video = Video(path=str(path), content_hash=digest, size_bytes=size)
        session.add(video)
    video.path = str(path)
    if info is not None:
        video.fps, video.frame_count, video.width, video.height = info.fps, info.frame_count, info.width, info.height
    session.flush()
    return video


def _hash_video(video_path: str | Path | None) -> tuple[Path, str, int] | None:
    """(absolute path, sha256, size) of the dive's video, read before any transaction opens."""
    if video_path is None:
        return None
    path = Path(video_path).absolute()
    try:
        return path, file_sha256(path), path.stat().st_size
    except OSError as exc:
        raise StorageError(f"{path}: cannot read the video to record it ({exc.strerror})") from exc


def _dive(session: Session, dive_id: int) -> Dive:
    dive = session.get(Dive, dive_id)
    if dive is None:
        raise StorageError(f"dive {dive_id} is not in this sessions database")
    return dive


def add_analysis_row(session: Session, dive: Dive, result: ScoreResult, **identity: object) -> Analysis:
    """Store ``result`` as the dive's newest analysis (``identity``: uuid/created_at on import)."""
    analysis = Analysis(
        **identity,
        dive_id=dive.id,
        model_name=result.model_name,
        model_version=result.model_version,
        head=result.head,
        decoding=result.decoding,
        window_start=result.dive_window[0],
        window_end=result.dive_window[1],
        final_score=result.final.score,
        uncertainty_level=result.uncertainty.level,
        uncertainty_value=result.uncertainty.value,
        total_seconds=sum(result.timings.values()) if result.timings else None,
        result_json=json.dumps(result.to_dict()),
    )
    session.add(analysis)
    session.flush()
    set_latest_analysis(dive, analysis)
    return analysis


def set_latest_analysis(dive: Dive, analysis: Analysis) -> None:
    """Point the dive at ``analysis`` and copy what the browser lists (see revision 0003)."""
    dive.latest_analysis_id = analysis.id
    dive.predicted_final = analysis.final_score
    dive.model_name = analysis.model_name
    dive.model_version = analysis.model_version
    dive.uncertainty_level = analysis.uncertainty_level
    dive.analysed_at = analysis.created_at


def _set_tags(session: Session, dive: Dive, names: Sequence[str]) -> None:
    """The dive carries exactly ``names`` (tags themselves stay: other dives may use them)."""
    wanted = {_get_or_add(session, Tag, name=name.strip()).id for name in names if name.strip()}
    current = set(session.scalars(select(DiveTag.tag_id).where(DiveTag.dive_id == dive.id)))
    for tag_id in current - wanted:
        session.delete(session.get(DiveTag, (dive.id, tag_id)))
    for tag_id in wanted - current:
        session.add(DiveTag(dive_id=dive.id, tag_id=tag_id))


def _detach_latest_analysis(dive: Dive) -> None:
    """The dive's sheet changed and no analysis for the new sheet exists yet (the rows stay: immutable)."""
    dive.latest_analysis_id = None
    dive.predicted_final = dive.model_name = dive.model_version = dive.uncertainty_level = dive.analysed_at = None


def _set_marks(session: Session, dive: Dive, marks: Sequence[float | None]) -> None:
    """The panel as typed: each given mark by judge index; the real final only once all are in."""
    complete = bool(marks) and len(marks) == dive.panel_size and all(m is not None for m in marks)
    if complete:
        _set_human_scores(session, dive, [float(m) for m in marks if m is not None], None)
        return
    dive.human_scores.clear()
    session.flush()
    dive.human_scores.extend(HumanScore(judge_index=i, score=float(m)) for i, m in enumerate(marks) if m is not None)
    dive.human_final = None


def _set_human_scores(session: Session, dive: Dive, scores: Sequence[float], final: float | None) -> float:
    if final is None:
        final = apply_panel_rule(list(scores), dive.event.kind, dive.difficulty).final
    dive.human_scores.clear()
    session.flush()  # the old panel's rows go before the new ones meet the unique key
    dive.human_scores.extend(HumanScore(judge_index=i, score=float(s)) for i, s in enumerate(scores))
    dive.human_final = float(final)
    return dive.human_final
