"""Sessions out and back in (JSON, CSV) and the club's own training dataset.

A session document names every row by its uuid (videos by content hash), so importing the same
file twice, or a file that overlaps the database, adds only what is new; a uuid that exists with
other content is a reported conflict, settled by a policy (``POLICIES``, see ``_Merger``). JSON is
the complete format (every analysis, notes, tags); CSV is one spreadsheet row per dive with its
latest analysis, one column per field, and imports back through the same document.
``export_dataset`` writes the trainer's own layout (annotations.csv + videos) from dives that a
real panel scored.

Spreadsheets run a cell that starts with ``= + - @``, tab or carriage return as a formula
(OWASP, "CSV Injection"), so every text cell we write that starts so is prefixed with ``'``;
import removes exactly that prefix again. Numbers are rounded to the cent, so a spreadsheet
shows 25.9 and not 25.900000000000002.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import uuid as uuid_module
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from aqa_core.files import parse_json, read_limited
from aqa_core.result import ScoreResult

from .database import Database
from .errors import StorageError
from .models import Analysis, Athlete, Competition, Dive, DiveTag, Event, HumanScore, Note, Tag, Video
from .repository import Repository, add_analysis_row, set_latest_analysis
from .session_values import POLICIES, shown, check_entry

FORMAT = "aqa-judge-session"
FORMAT_VERSION = 1
MAX_JUDGES = 11  # the largest panel (synchronised, FINA D 5.2)
JUDGE_COLUMNS = tuple(f"judge{i + 1}" for i in range(MAX_JUDGES))
CSV_COLUMNS = (
    "dive_uuid", "competition_uuid", "competition", "event_uuid", "event", "event_kind", "event_height",
    "athlete_uuid", "athlete", "country", "round", "performed_at", "dive_number", "height", "difficulty",
    "panel_size", "first_frame", "last_frame", "video_path", "video_hash", "video_size", "human_final",
    *JUDGE_COLUMNS, "tags", "predicted_final", "model_name", "model_version", "analysis_uuid", "analysis_created_at", "analysis_json",
)  # fmt: skip
SPLITS = (("train", 0.7), ("val", 0.85), ("test", 1.0))
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What a real export can be: 10,000 dives with a few analyses each is well under 256 MiB and 12 levels deep.
MAX_SESSION_BYTES = 256 << 20
MAX_SESSION_DEPTH = 32
MAX_DIVES = 200_000


@dataclass(frozen=True)
class ImportReport:
    dives_added: int
    dives_already_present: int
    analyses_added: int
    notes_added: int = 0
    dives_replaced: int = 0
    dives_skipped: int = 0
    conflicts: tuple[Conflict, ...] = ()


# --- the session document -------------------------------------------------------------------


def session_document(db: Database) -> dict[str, Any]:
    """Everything in the database as plain JSON-able data, keyed by uuids."""
    with db.reading("exporting the session") as session:
        dives = session.scalars(
            select(Dive)
            .options(selectinload(Dive.human_scores), selectinload(Dive.event).selectinload(Event.competition), selectinload(Dive.athlete), selectinload(Dive.video))
            .order_by(Dive.performed_at, Dive.id)
        ).all()
        analyses: dict[int, list[Analysis]] = {}
        for analysis in session.scalars(select(Analysis).order_by(Analysis.id)):
            analyses.setdefault(analysis.dive_id, []).append(analysis)
        notes: dict[int, list[Note]] = {}
        for note in session.scalars(select(Note).order_by(Note.id)):
            notes.setdefault(note.dive_id, []).append(note)
        tags: dict[int, list[str]] = {}
        for dive_id, name in session.execute(select(DiveTag.dive_id, Tag.name).join(Tag, Tag.id == DiveTag.tag_id).order_by(Tag.name)):
            tags.setdefault(dive_id, []).append(name)
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "dives": [_dive_entry(d, analyses.get(d.id, []), notes.get(d.id, []), tags.get(d.id, [])) for d in dives],
        }


def _dive_entry(dive: Dive, analyses: list[Analysis], notes: list[Note], tags: list[str]) -> dict[str, Any]:
    event, competition, athlete, video = dive.event, dive.event.competition, dive.athlete, dive.video
    return {
        "uuid": dive.uuid,
        "competition": {"uuid": competition.uuid, "name": competition.name, "location": competition.location,
                        "start_date": competition.start_date.isoformat() if competition.start_date else None},
        "event": {"uuid": event.uuid, "name": event.name, "kind": event.kind, "height": event.height},
        "athlete": {"uuid": athlete.uuid, "name": athlete.name, "country": athlete.country},
        "video": {"path": video.path, "content_hash": video.content_hash, "size_bytes": video.size_bytes} if video else None,
        "round": dive.round,
        "dive_number": dive.dive_number,
        "height": dive.height,
        "difficulty": dive.difficulty,
        "panel_size": dive.panel_size,
        "performed_at": dive.performed_at.isoformat(),
        "window": [dive.window_start, dive.window_end],
        "human_final": dive.human_final,
        "human_scores": [s.score for s in dive.human_scores],
        "tags": tags,
        "notes": [{"uuid": n.uuid, "created_at": n.created_at.isoformat(), "text": n.text} for n in notes],
        "analyses": [{"uuid": a.uuid, "created_at": a.created_at.isoformat(), "result": json.loads(a.result_json)} for a in analyses],
    }


def import_document(db: Database, document: Any, source: Path, policy: str = "keep-both") -> ImportReport:
    """Merge a session document into the database in one transaction (all of it or nothing).

    Every entry is checked first (``session_values``); then each record is matched by uuid and its
    content compared. A record whose uuid exists with other content is a conflict, settled by
    ``policy`` (``POLICIES``) and reported, never merged silently: see ``_Merger``.
    """
    if policy not in POLICIES:
        raise StorageError(f"unknown conflict policy {policy!r} ({', '.join(POLICIES)})")
    if not isinstance(document, dict) or document.get("format") != FORMAT or not isinstance(document.get("dives"), list):
        raise StorageError(f"{source}: is not an AQA Judge session export")
    version = document.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        newer = isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION
        why = "was exported by a newer AQA Judge" if newer else "has an unknown format_version"
        raise StorageError(f"{source}: {why} ({shown(version)}; this program reads {FORMAT_VERSION})")
    if len(document["dives"]) > MAX_DIVES:
        raise StorageError(f"{source}: holds {len(document['dives'])} dives (at most {MAX_DIVES} per file)")
    entries = [check_entry(entry, source, i) for i, entry in enumerate(document["dives"])]
    with db.transaction(f"importing {source.name}") as session:
        merger = _Merger(session, policy)
        for entry in entries:
            merger.merge(entry)
    return merger.report()


@dataclass(frozen=True)
class Conflict:
    """One record whose uuid was already taken by different content, and what the import did."""

    kind: str  # dive, competition, event, athlete, analysis, note
    uuid: str
    differences: str  # "difficulty 3.0 stored, 3.4 in the file; ..."
    resolution: str

    def describe(self) -> str:
        return f"{self.kind} {self.uuid}: {self.differences}: {self.resolution}"


_RESOLUTIONS = {
    "keep-existing": "kept the stored one; the file's was not imported",
    "replace": "replaced the stored one with the file's",
}


class _Merger:
    """Adds one checked entry at a time; the counts and conflicts become the ``ImportReport``.

    Policies, for a uuid that exists with other content:
    * ``keep-both`` (default): the file's record is added under a uuid derived from the original and
      its content (re-importing the same file finds it again), so nothing is lost or mixed up.
    * ``keep-existing``: the stored record stays and the file's is skipped with everything that
      belongs to it (a skipped dive's analyses and notes are never attached to the stored one).
    * ``replace``: the stored competition, event, athlete or dive takes the file's values.
      Analyses and notes are immutable records, so for them ``replace`` keeps both as well.
    """

    def __init__(self, session: Session, policy: str) -> None:
        self.session = session
        self.policy = policy
        self.counts = Counter()
        self.conflicts: list[Conflict] = []

    def report(self) -> ImportReport:
        c = self.counts
        return ImportReport(c["added"], c["present"], c["analyses"], c["notes"], c["replaced"], c["skipped"], tuple(self.conflicts))

    def merge(self, entry: dict[str, Any]) -> None:
        competition = self._parent(Competition, "competition", entry["competition"], _competition_values(entry["competition"]))
        event = athlete = None
        if competition is not None:
            event = self._parent(Event, "event", entry["event"], {**_event_values(entry["event"]), "competition_id": competition.id})
            athlete = self._parent(Athlete, "athlete", entry["athlete"], dict(entry["athlete"], uuid=None))
        if competition is None or event is None or athlete is None:
            self.counts["skipped"] += 1
            return
        dive = self._dive(entry, self._video(entry["video"]), event, athlete)
        if dive is None:
            self.counts["skipped"] += 1
            return
        self._analyses(dive, entry["analyses"])
        self._notes(dive, entry.get("notes", []))
        self._tags(dive, entry["tags"])
        self.session.flush()

    def _conflict(self, kind: str, uuid: str, differences: list[str], derived: str | None = None) -> None:
        resolution = f"kept both; the file's is stored as {derived}" if derived else _RESOLUTIONS[self.policy]
        self.conflicts.append(Conflict(kind, uuid, "; ".join(differences), resolution))

    def _parent(self, model: type, kind: str, entry: dict[str, Any], values: dict[str, Any]) -> Any:
        """The stored competition/event/athlete for ``entry`` (created, matched, replaced or derived); None to skip."""
        values = {k: v for k, v in values.items() if k != "uuid"}
        uuid = entry["uuid"]
        row = self.session.scalar(select(model).where(model.uuid == uuid))
        if row is None:
            return self._add(model, uuid, values)
        differences = _differences(row, values)
        if not differences:
            return row
        if self.policy == "keep-existing":
            self._conflict(kind, uuid, differences)
            return None
        if self.policy == "replace":
            for key, value in values.items():
                setattr(row, key, value)
            self.session.flush()
            self._conflict(kind, uuid, differences)
            return row
        derived = _derived_uuid(kind, uuid, values)
        self._conflict(kind, uuid, differences, derived)
        copy = self.session.scalar(select(model).where(model.uuid == derived))
        return copy if copy is not None else self._add(model, derived, values)

    def _add(self, model: type, uuid: str, values: dict[str, Any]) -> Any:
        """A new competition/event/athlete row, flushed so its id is there for the rows that point at it."""
        row = model(uuid=uuid, **values)
        self.session.add(row)
        self.session.flush()
        return row

    def _video(self, video: dict[str, Any] | None) -> Video | None:
        """Videos are known by content hash: the same hash is the same file, wherever it lies."""
        if video is None:
            return None
        row = self.session.scalar(select(Video).where(Video.content_hash == video["content_hash"]))
        if row is None:
            row = Video(path=video["path"], content_hash=video["content_hash"], size_bytes=video["size_bytes"])
            self.session.add(row)
            self.session.flush()
        return row

    def _dive(self, entry: dict[str, Any], video: Video | None, event: Event, athlete: Athlete) -> Dive | None:
        values = _dive_values(entry, video, event, athlete)
        scores = values.pop("human_scores")
        dive = self.session.scalar(select(Dive).where(Dive.uuid == entry["uuid"]))
        if dive is None:
            self.counts["added"] += 1
            return self._new_dive(entry["uuid"], values, scores)
        differences = _differences(dive, values) + _score_differences([s.score for s in dive.human_scores], scores)
        if not differences:
            self.counts["present"] += 1
            return dive
        if self.policy == "keep-existing":
            self._conflict("dive", dive.uuid, differences)
            return None
        if self.policy == "replace":
            for key, value in values.items():
                setattr(dive, key, value)
            dive.human_scores.clear()
            self.session.flush()
            dive.human_scores.extend(HumanScore(judge_index=i, score=s) for i, s in enumerate(scores))
            self.counts["replaced"] += 1
            self._conflict("dive", dive.uuid, differences)
            return dive
        derived = _derived_uuid("dive", dive.uuid, {k: v for k, v in entry.items() if k not in ("analyses", "notes", "tags")})
        self._conflict("dive", dive.uuid, differences, derived)
        copy = self.session.scalar(select(Dive).where(Dive.uuid == derived))
        if copy is not None:
            self.counts["present"] += 1
            return copy
        self.counts["added"] += 1
        return self._new_dive(derived, values, scores)

    def _new_dive(self, uuid: str, values: dict[str, Any], scores: list[float]) -> Dive:
        dive = Dive(uuid=uuid, **values, human_scores=[HumanScore(judge_index=i, score=s) for i, s in enumerate(scores)])
        self.session.add(dive)
        self.session.flush()
        return dive

    def _analyses(self, dive: Dive, entries: list[dict[str, Any]]) -> None:
        added = 0
        for entry in entries:
            created = datetime.fromisoformat(entry["created_at"])
            uuid = self._immutable(Analysis, "analysis", entry["uuid"], dive, lambda row: (json.loads(row.result_json), row.created_at), (entry["result"], created))
            if uuid is not None:
                add_analysis_row(self.session, dive, ScoreResult.from_dict(entry["result"]), uuid=uuid, created_at=created)
                added += 1
        if added:  # the newest by time stays the latest, whichever side it came from
            newest = select(Analysis).where(Analysis.dive_id == dive.id).order_by(Analysis.created_at.desc(), Analysis.id.desc())
            set_latest_analysis(dive, self.session.scalars(newest.limit(1)).one())
        self.counts["analyses"] += added

    def _notes(self, dive: Dive, notes: list[dict[str, Any]]) -> None:
        for note in notes:
            created = datetime.fromisoformat(note["created_at"])
            uuid = self._immutable(Note, "note", note["uuid"], dive, lambda row: (row.text, row.created_at), (note["text"], created))
            if uuid is not None:
                self.session.add(Note(uuid=uuid, dive_id=dive.id, created_at=created, text=note["text"]))
                self.counts["notes"] += 1

    def _immutable(self, model: type, kind: str, uuid: str, dive: Dive, content: Any, incoming: tuple[Any, Any]) -> str | None:
        """The uuid to add an analysis/note under, or None when it is already stored (or skipped)."""
        row = self.session.scalar(select(model).where(model.uuid == uuid))
        if row is None:
            return uuid
        if row.dive_id == dive.id and content(row) == incoming:
            return None
        differences = ["belongs to another dive" if row.dive_id != dive.id else "its content differs"]
        if self.policy == "keep-existing":
            self._conflict(kind, uuid, differences)
            return None
        derived = _derived_uuid(kind, uuid, {"dive": dive.uuid, "content": incoming})
        self._conflict(kind, uuid, differences, derived)
        return derived if self.session.scalar(select(model.id).where(model.uuid == derived)) is None else None

    def _tags(self, dive: Dive, names: list[str]) -> None:
        for name in names:
            tag = self.session.scalar(select(Tag).where(Tag.name == name))
            if tag is None:
                tag = Tag(name=name)
                self.session.add(tag)
                self.session.flush()
            if self.session.get(DiveTag, (dive.id, tag.id)) is None:
                self.session.add(DiveTag(dive_id=dive.id, tag_id=tag.id))


def _competition_values(c: dict[str, Any]) -> dict[str, Any]:
    values = dict(c)
    if values.get("start_date") is not None:
        values["start_date"] = date.fromisoformat(values["start_date"])
    return values


def _event_values(e: dict[str, Any]) -> dict[str, Any]:
    return {"uuid": e["uuid"], "name": e["name"], "kind": e["kind"], "height": e["height"]}


def _dive_values(entry: dict[str, Any], video: Video | None, event: Event, athlete: Athlete) -> dict[str, Any]:
    return {
        "event_id": event.id, "athlete_id": athlete.id, "video_id": video.id if video else None, "round": entry["round"],
        "dive_number": entry["dive_number"], "height": entry["height"], "difficulty": entry["difficulty"],
        "panel_size": entry["panel_size"], "performed_at": datetime.fromisoformat(entry["performed_at"]),
        "window_start": entry["window"][0], "window_end": entry["window"][1], "human_final": entry["human_final"],
        "human_scores": entry["human_scores"],
    }  # fmt: skip


def _frames_as_people_count(window: list[int | None]) -> dict[str, int | None]:
    """A spreadsheet is read by people: its dive window counts frames from 1, as the app shows them."""
    return {"first_frame": None if window[0] is None else window[0] + 1, "last_frame": None if window[1] is None else window[1] + 1}


def _window_indices(first: int | None, last: int | None) -> list[int | None]:
    """The CSV's frames counted from 1 back to the 0-based indices stored and validated like a JSON file's."""
    return [None if first is None else first - 1, None if last is None else last - 1]


_SHOWN_AS = {"event_id": "event", "athlete_id": "athlete", "video_id": "video", "competition_id": "competition"}


def _differences(row: Any, values: dict[str, Any]) -> list[str]:
    """'field stored, in the file' for each value the file gives that the stored row does not hold."""
    out = []
    for key, value in values.items():
        stored = getattr(row, key)
        if stored != value:
            if key in _SHOWN_AS:
                out.append(f"a different {_SHOWN_AS[key]}")
            else:
                out.append(f"{key} {shown(stored)} stored, {shown(value)} in the file")
    return out


def _score_differences(stored: list[float], incoming: list[float]) -> list[str]:
    return [] if stored == incoming else [f"judges' marks {shown(stored)} stored, {shown(incoming)} in the file"]


def _derived_uuid(kind: str, uuid: str, content: Any) -> str:
    """A stable new uuid for the file's version of a conflicting record (same file, same uuid)."""
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()
    return str(uuid_module.uuid5(uuid_module.NAMESPACE_URL, f"aqa-judge:{kind}:{uuid}:{digest}"))


# --- files ------------------------------------------------------------------------------------


def export_session(db: Database, out: str | Path, fmt: str) -> int:
    """Write the session as ``json`` or ``csv``; returns the number of dives written."""
    out = Path(out)
    if fmt not in ("json", "csv"):
        raise StorageError(f"{out}: unknown export format {fmt!r} (json or csv)")
    document = session_document(db)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "json":
            out.write_text(json.dumps(document, indent=1), encoding="utf-8")
        else:
            with out.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, CSV_COLUMNS)
                writer.writeheader()
                writer.writerows(_csv_row(entry) for entry in document["dives"])
    except OSError as exc:
        raise StorageError(f"{out}: cannot write the export ({exc.strerror or exc})") from exc
    return len(document["dives"])


def import_session(db: Database, path: str | Path, policy: str = "keep-both") -> ImportReport:
    """Import a ``.json`` or ``.csv`` session export (see ``import_document`` for ``policy``)."""
    path = Path(path)
    data = read_limited(path, MAX_SESSION_BYTES, "a session export", StorageError)
    if path.suffix.lower() == ".csv":
        document = {"format": FORMAT, "format_version": FORMAT_VERSION, "dives": _csv_entries(data, path)}
    else:
        document = parse_json(data, path, MAX_SESSION_DEPTH, StorageError)
    return import_document(db, document, path, policy)


def neutralise(cell: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading ``'`` (see module docstring)."""
    return "'" + cell if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell


def _restore(cell: str | None) -> str | None:
    """Undo ``neutralise`` on import."""
    return cell[1:] if cell and cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def csv_number(value: float | int | None) -> str | int | None:
    """A number for a spreadsheet cell: integers as they are, others to the cent without float noise."""
    if value is None or isinstance(value, int):
        return value
    text = repr(round(float(value), 2))
    return text.removesuffix(".0")


def _csv_row(entry: dict[str, Any]) -> dict[str, Any]:
    latest = entry["analyses"][-1] if entry["analyses"] else None
    video = entry["video"] or {}
    result = latest["result"] if latest else None
    marks = dict(zip(JUDGE_COLUMNS, (csv_number(s) for s in entry["human_scores"])))
    row = {
        "dive_uuid": entry["uuid"], "competition_uuid": entry["competition"]["uuid"], "competition": entry["competition"]["name"],
        "event_uuid": entry["event"]["uuid"], "event": entry["event"]["name"], "event_kind": entry["event"]["kind"],
        "event_height": csv_number(entry["event"]["height"]), "athlete_uuid": entry["athlete"]["uuid"], "athlete": entry["athlete"]["name"],
        "country": entry["athlete"]["country"], "round": entry["round"], "performed_at": entry["performed_at"],
        "dive_number": entry["dive_number"], "height": csv_number(entry["height"]), "difficulty": csv_number(entry["difficulty"]),
        "panel_size": entry["panel_size"], **_frames_as_people_count(entry["window"]),
        "video_path": video.get("path"), "video_hash": video.get("content_hash"), "video_size": video.get("size_bytes"),
        "human_final": csv_number(entry["human_final"]), **marks,
        "tags": ";".join(entry["tags"]), "predicted_final": csv_number(result["final"]["score"]) if result else None,
        "model_name": result["model_name"] if result else None, "model_version": result["model_version"] if result else None,
        "analysis_uuid": latest["uuid"] if latest else None, "analysis_created_at": latest["created_at"] if latest else None,
        "analysis_json": json.dumps(result) if result else None,
    }  # fmt: skip
    return {key: neutralise(value) for key, value in row.items()}


def _csv_entries(data: bytes, path: Path) -> list[dict[str, Any]]:
    """Rows of a session CSV (UTF-8, with or without Excel's BOM) as document entries."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StorageError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))  # newline="": a quoted cell keeps its line breaks
    entries: list[dict[str, Any]] = []
    try:
        for row in reader:  # rows are numbered as a spreadsheet shows them: the header is row 1
            if len(entries) >= MAX_DIVES:
                raise StorageError(f"{path}: holds more than {MAX_DIVES} dives")
            entries.append(_csv_entry({k: _restore(v) for k, v in row.items() if isinstance(k, str) and isinstance(v, str)}, path, len(entries) + 2))
    except csv.Error as exc:
        raise StorageError(f"{path}, row {len(entries) + 2}: not a readable CSV row ({exc})") from None
    return entries


def _csv_entry(row: dict[str, str], path: Path, line: int) -> dict[str, Any]:
    """A CSV row back to a document entry (the latest analysis only; CSV carries no notes, locations or dates)."""
    where = f"{path}, row {line}"

    def num(name: str, kind: type = float) -> Any:
        text = (row.get(name) or "").strip()
        try:
            return kind(text) if text else None
        except ValueError:
            raise StorageError(f"{where}: {name} {shown(text)} is not {'a whole number' if kind is int else 'a number'}") from None

    missing = [c for c in ("dive_uuid", "competition_uuid", "event_uuid", "athlete_uuid", "difficulty", "panel_size", "performed_at") if not row.get(c)]
    if missing:
        raise StorageError(f"{where}: missing {', '.join(missing)}")
    if row.get("human_scores"):  # files written before one column per judge
        marks = row["human_scores"].split()
        names = ["human_scores"] * len(marks)
    else:
        names = [c for c in JUDGE_COLUMNS if (row.get(c) or "").strip()]
        marks = [row[c] for c in names]
    scores = []
    for name, mark in zip(names, marks):
        try:
            scores.append(float(mark))
        except ValueError:
            raise StorageError(f"{where}: {name} {shown(mark)} is not a number") from None
    analyses = []
    if row.get("analysis_json"):
        result = parse_json(row["analysis_json"].encode("utf-8"), f"{where}, analysis_json", MAX_SESSION_DEPTH, StorageError)
        analyses = [{"uuid": row.get("analysis_uuid"), "created_at": row.get("analysis_created_at"), "result": result}]
    return {
        "uuid": row["dive_uuid"],
        "competition": {"uuid": row["competition_uuid"], "name": row.get("competition")},
        "event": {"uuid": row["event_uuid"], "name": row.get("event"), "kind": row.get("event_kind"), "height": num("event_height")},
        "athlete": {"uuid": row["athlete_uuid"], "name": row.get("athlete"), "country": row.get("country") or None},
        "video": {"path": row.get("video_path"), "content_hash": row["video_hash"], "size_bytes": num("video_size", int)} if row.get("video_hash") else None,
        "round": num("round", int), "dive_number": row.get("dive_number") or None, "height": num("height"),
        "difficulty": num("difficulty"), "panel_size": num("panel_size", int), "performed_at": row["performed_at"],
        "window": _window_indices(num("first_frame", int), num("last_frame", int)), "human_final": num("human_final"),
        "human_scores": scores, "tags": [t for t in (row.get("tags") or "").split(";") if t], "analyses": analyses,
    }  # fmt: skip


# --- the club's training dataset ----------------------------------------------------------------


def _split_of(dive_uuid: str) -> str:
    """A stable 70/15/15 split: the same dive lands in the same split on every export."""
    fraction = int(hashlib.sha256(dive_uuid.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return next(name for name, upper in SPLITS if fraction <= upper)


def export_dataset(db: Database, out_dir: str | Path, search_dirs: list[Path] | None = None) -> int:
    """Write the trainer's own layout from dives with a real panel and a findable video.

    Videos are copied once each (named by content hash) into ``out_dir/videos``. The judge
    columns follow the most common panel size; a dive with another panel keeps its final score
    and leaves its judge columns blank, because the trainer reads one panel size per file.
    """
    out_dir = Path(out_dir)
    repo = Repository(db)
    entries = [e for e in session_document(db)["dives"] if e["human_final"] is not None and e["video"]]
    if not entries:
        raise StorageError(f"{db.path}: no dive has both a real panel's scores and a video; nothing to export")
    with db.reading() as session:
        ids = dict(session.execute(select(Dive.uuid, Dive.id).where(Dive.uuid.in_([e["uuid"] for e in entries]))).all())
    panel = Counter(len(e["human_scores"]) for e in entries if e["human_scores"]).most_common(1)
    k = panel[0][0] if panel else 0
    rows, seen = [], set()
    try:
        (out_dir / "videos").mkdir(parents=True, exist_ok=True)
        for entry in entries:
            source = repo.locate_video(ids[entry["uuid"]], search_dirs or [])
            name = f"videos/{entry['video']['content_hash'][:16]}{source.suffix.lower()}"
            key = (name, *entry["window"])
            if key in seen:
                continue
            seen.add(key)
            if not (out_dir / name).exists():
                shutil.copy2(source, out_dir / name)
            scores = entry["human_scores"] if len(entry["human_scores"]) == k else [None] * k
            row = {
                "video": name, "start_frame": entry["window"][0], "end_frame": entry["window"][1], "event": entry["event"]["kind"],
                "dive_number": entry["dive_number"] or "", "height": csv_number(entry["height"]), "difficulty": csv_number(entry["difficulty"]),
                **{f"judge{i + 1}": csv_number(s) for i, s in enumerate(scores)}, "final_score": csv_number(entry["human_final"]),
                "split": _split_of(entry["uuid"]), "commentary": " / ".join(n["text"] for n in entry["notes"]),
            }  # fmt: skip
            rows.append({key: neutralise(value) for key, value in row.items()})
        columns = ["video", "start_frame", "end_frame", "event", "dive_number", "height", "difficulty",
                   *(f"judge{i + 1}" for i in range(k)), "final_score", "split", "commentary"]  # fmt: skip
        with (out_dir / "annotations.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            writer.writerows(rows)
    except OSError as exc:
        raise StorageError(f"{out_dir}: cannot write the dataset ({exc.strerror or exc})") from exc
    return len(rows)
