"""Sessions out and back in (JSON, CSV) and the club's own training dataset.

A session document names every row by its uuid (videos by content hash), so importing the same
file twice, or a file that overlaps the database, adds only what is new. JSON is the complete
format (every analysis, notes, tags); CSV is one spreadsheet row per dive with its latest
analysis, and imports back through the same document. ``export_dataset`` writes the trainer's
own layout (annotations.csv + videos) from dives that a real panel scored.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from aqa_core.result import ScoreResult

from .database import Database
from .errors import StorageError
from .models import Analysis, Athlete, Competition, Dive, DiveTag, Event, HumanScore, Note, Tag, Video
from .repository import Repository, add_analysis_row, set_latest_analysis

FORMAT = "aqa-judge-session"
FORMAT_VERSION = 1
CSV_COLUMNS = (
    "dive_uuid", "competition_uuid", "competition", "event_uuid", "event", "event_kind", "event_height",
    "athlete_uuid", "athlete", "country", "round", "performed_at", "dive_number", "height", "difficulty",
    "panel_size", "window_start", "window_end", "video_path", "video_hash", "video_size", "human_final",
    "human_scores", "tags", "predicted_final", "model", "analysis_uuid", "analysis_created_at", "analysis_json",
)  # fmt: skip
SPLITS = (("train", 0.7), ("val", 0.85), ("test", 1.0))


@dataclass(frozen=True)
class ImportReport:
    dives_added: int
    dives_already_present: int
    analyses_added: int


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


def import_document(db: Database, document: dict[str, Any], source: Path) -> ImportReport:
    """Merge a session document into the database in one transaction (all of it or nothing)."""
    if document.get("format") != FORMAT or not isinstance(document.get("dives"), list):
        raise StorageError(f"{source}: is not an AQA Judge session export")
    if document.get("format_version", 0) > FORMAT_VERSION:
        raise StorageError(f"{source}: was exported by a newer AQA Judge (format {document['format_version']})")
    added = present = analyses_added = 0
    try:
        with db.transaction(f"importing {source.name}") as session:
            for entry in document["dives"]:
                dive, is_new = _merge_dive(session, entry)
                added += is_new
                present += not is_new
                analyses_added += _merge_analyses(session, dive, entry["analyses"])
                _merge_notes_and_tags(session, dive, entry)
    except (KeyError, TypeError, ValueError) as exc:
        raise StorageError(f"{source}: a dive entry is incomplete or malformed ({exc!r}); nothing was imported") from exc
    return ImportReport(added, present, analyses_added)


def _by_uuid(session: Session, model: type, uuid: str, **values: Any) -> Any:
    row = session.scalar(select(model).where(model.uuid == uuid))
    if row is None:
        row = model(uuid=uuid, **values)
        session.add(row)
        session.flush()
    return row


def _merge_dive(session: Session, entry: dict[str, Any]) -> tuple[Dive, bool]:
    dive = session.scalar(select(Dive).where(Dive.uuid == entry["uuid"]))
    if dive is not None:
        return dive, False
    c, e, a = entry["competition"], entry["event"], entry["athlete"]
    start = date.fromisoformat(c["start_date"]) if c.get("start_date") else None
    competition = _by_uuid(session, Competition, c["uuid"], name=c["name"], location=c.get("location"), start_date=start)
    event = _by_uuid(session, Event, e["uuid"], competition_id=competition.id, name=e["name"], kind=e["kind"], height=e.get("height"))
    athlete = _by_uuid(session, Athlete, a["uuid"], name=a["name"], country=a.get("country"))
    video = None
    if entry.get("video"):
        v = entry["video"]
        video = session.scalar(select(Video).where(Video.content_hash == v["content_hash"]))
        if video is None:
            video = Video(path=v["path"], content_hash=v["content_hash"], size_bytes=v["size_bytes"])
            session.add(video)
            session.flush()
    window = entry.get("window") or [None, None]
    dive = Dive(
        uuid=entry["uuid"], event_id=event.id, athlete_id=athlete.id, video_id=video.id if video else None, round=entry.get("round"),
        dive_number=entry.get("dive_number"), height=entry.get("height"), difficulty=float(entry["difficulty"]),
        panel_size=int(entry["panel_size"]), performed_at=datetime.fromisoformat(entry["performed_at"]),
        window_start=window[0], window_end=window[1], human_final=entry.get("human_final"),
        human_scores=[HumanScore(judge_index=i, score=float(s)) for i, s in enumerate(entry.get("human_scores") or [])],
    )  # fmt: skip
    session.add(dive)
    session.flush()
    return dive, True


def _merge_analyses(session: Session, dive: Dive, entries: list[dict[str, Any]]) -> int:
    added = 0
    for entry in entries:
        if session.scalar(select(Analysis.id).where(Analysis.uuid == entry["uuid"])) is None:
            result = ScoreResult.from_dict(entry["result"])
            add_analysis_row(session, dive, result, uuid=entry["uuid"], created_at=datetime.fromisoformat(entry["created_at"]))
            added += 1
    if added:  # the newest by time stays the latest, whichever side it came from
        newest = select(Analysis).where(Analysis.dive_id == dive.id).order_by(Analysis.created_at.desc(), Analysis.id.desc())
        set_latest_analysis(dive, session.scalars(newest.limit(1)).one())
    return added


def _merge_notes_and_tags(session: Session, dive: Dive, entry: dict[str, Any]) -> None:
    for note in entry.get("notes") or []:
        if session.scalar(select(Note.id).where(Note.uuid == note["uuid"])) is None:
            session.add(Note(uuid=note["uuid"], dive_id=dive.id, created_at=datetime.fromisoformat(note["created_at"]), text=note["text"]))
    for name in entry.get("tags") or []:
        tag = session.scalar(select(Tag).where(Tag.name == name))
        if tag is None:
            tag = Tag(name=name)
            session.add(tag)
            session.flush()
        if session.get(DiveTag, (dive.id, tag.id)) is None:
            session.add(DiveTag(dive_id=dive.id, tag_id=tag.id))
    session.flush()


# --- files ------------------------------------------------------------------------------------


def export_session(db: Database, out: str | Path, fmt: str) -> int:
    """Write the session as ``json`` or ``csv``; returns the number of dives written."""
    out = Path(out)
    document = session_document(db)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "json":
            out.write_text(json.dumps(document, indent=1), encoding="utf-8")
        elif fmt == "csv":
            with out.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, CSV_COLUMNS)
                writer.writeheader()
                writer.writerows(_csv_row(entry) for entry in document["dives"])
        else:
            raise StorageError(f"{out}: unknown export format {fmt!r} (json or csv)")
    except OSError as exc:
        raise StorageError(f"{out}: cannot write the export ({exc.strerror or exc})") from exc
    return len(document["dives"])


def import_session(db: Database, path: str | Path) -> ImportReport:
    """Import a ``.json`` or ``.csv`` session export; dives already present are skipped."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StorageError(f"{path}: cannot read the session file ({getattr(exc, 'strerror', None) or exc})") from exc
    if path.suffix.lower() == ".csv":
        document = {"format": FORMAT, "format_version": FORMAT_VERSION, "dives": [_csv_entry(row, path, n) for n, row in enumerate(csv.DictReader(text.splitlines()), 2)]}
    else:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StorageError(f"{path}: is not valid JSON ({exc})") from exc
        if not isinstance(document, dict):
            raise StorageError(f"{path}: is not an AQA Judge session export")
    return import_document(db, document, path)


def _csv_row(entry: dict[str, Any]) -> dict[str, Any]:
    latest = entry["analyses"][-1] if entry["analyses"] else None
    video = entry["video"] or {}
    result = latest["result"] if latest else None
    return {
        "dive_uuid": entry["uuid"], "competition_uuid": entry["competition"]["uuid"], "competition": entry["competition"]["name"],
        "event_uuid": entry["event"]["uuid"], "event": entry["event"]["name"], "event_kind": entry["event"]["kind"],
        "event_height": entry["event"]["height"], "athlete_uuid": entry["athlete"]["uuid"], "athlete": entry["athlete"]["name"],
        "country": entry["athlete"]["country"], "round": entry["round"], "performed_at": entry["performed_at"],
        "dive_number": entry["dive_number"], "height": entry["height"], "difficulty": entry["difficulty"],
        "panel_size": entry["panel_size"], "window_start": entry["window"][0], "window_end": entry["window"][1],
        "video_path": video.get("path"), "video_hash": video.get("content_hash"), "video_size": video.get("size_bytes"),
        "human_final": entry["human_final"], "human_scores": " ".join(f"{s:g}" for s in entry["human_scores"]),
        "tags": ";".join(entry["tags"]), "predicted_final": result["final"]["score"] if result else None,
        "model": f"{result['model_name']} {result['model_version']}" if result else None,
        "analysis_uuid": latest["uuid"] if latest else None, "analysis_created_at": latest["created_at"] if latest else None,
        "analysis_json": json.dumps(result) if result else None,
    }  # fmt: skip


def _csv_entry(row: dict[str, str], path: Path, line: int) -> dict[str, Any]:
    """A CSV row back to a document entry (the latest analysis only; CSV carries no notes)."""

    def num(name: str, kind: type = float) -> Any:
        text = (row.get(name) or "").strip()
        try:
            return kind(text) if text else None
        except ValueError:
            raise StorageError(f"{path}, row {line}: {name} {text!r} is not a number") from None

    missing = [c for c in ("dive_uuid", "competition_uuid", "event_uuid", "athlete_uuid", "difficulty", "panel_size", "performed_at") if not row.get(c)]
    if missing:
        raise StorageError(f"{path}, row {line}: missing {', '.join(missing)}")
    return {
        "uuid": row["dive_uuid"],
        "competition": {"uuid": row["competition_uuid"], "name": row["competition"]},
        "event": {"uuid": row["event_uuid"], "name": row["event"], "kind": row["event_kind"], "height": num("event_height")},
        "athlete": {"uuid": row["athlete_uuid"], "name": row["athlete"], "country": row.get("country") or None},
        "video": {"path": row["video_path"], "content_hash": row["video_hash"], "size_bytes": num("video_size", int)} if row.get("video_hash") else None,
        "round": num("round", int), "dive_number": row.get("dive_number") or None, "height": num("height"),
        "difficulty": num("difficulty"), "panel_size": num("panel_size", int), "performed_at": row["performed_at"],
        "window": [num("window_start", int), num("window_end", int)], "human_final": num("human_final"),
        "human_scores": [float(s) for s in (row.get("human_scores") or "").split()],
        "tags": [t for t in (row.get("tags") or "").split(";") if t],
        "notes": [],
        "analyses": [{"uuid": row["analysis_uuid"], "created_at": row["analysis_created_at"], "result": json.loads(row["analysis_json"])}]
        if row.get("analysis_json") else [],
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
            rows.append({
                "video": name, "start_frame": entry["window"][0], "end_frame": entry["window"][1], "event": entry["event"]["kind"],
                "dive_number": entry["dive_number"] or "", "height": entry["height"], "difficulty": entry["difficulty"],
                **{f"judge{i + 1}": s for i, s in enumerate(scores)}, "final_score": entry["human_final"],
                "split": _split_of(entry["uuid"]), "commentary": " / ".join(n["text"] for n in entry["notes"]),
            })  # fmt: skip
        columns = ["video", "start_frame", "end_frame", "event", "dive_number", "height", "difficulty",
                   *(f"judge{i + 1}" for i in range(k)), "final_score", "split", "commentary"]  # fmt: skip
        with (out_dir / "annotations.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            writer.writerows(rows)
    except OSError as exc:
        raise StorageError(f"{out_dir}: cannot write the dataset ({exc.strerror or exc})") from exc
    return len(rows)
