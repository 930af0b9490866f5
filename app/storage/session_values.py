"""Checking every value of an imported session entry with the desk's rules, before anything is stored.

A session file comes from another club's computer, a spreadsheet or a hand edit, so an entry is
checked field by field: texts fit their database columns (``models.py``), the dive sheet passes
``make_dive_info`` exactly as on the judging desk (event, panel size, dive number, height, DD),
each real mark is on the 0-10 half-point grid, the real final is reachable with that DD, dates
parse and analyses rebuild as ``ScoreResult``. The first bad value is one ``StorageError`` line
naming the file, the dive and the field; nothing of the file is imported then.

Keys a CSV row does not carry (a competition's location, notes) are left out of the checked
entry rather than filled in, so comparing it with a stored dive compares only what the file says.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

from aqa_core.errors import AQAError, ResultSchemaError
from aqa_core.result import ScoreResult
from aqa_core.rules import make_dive_info, validate_height, validate_judge_score

from .errors import StorageError

# How an import settles a uuid stored with other content (see exporters._Merger); here so the CLI
# can offer them without importing SQLAlchemy.
POLICIES = ("keep-both", "keep-existing", "replace")
# Column sizes of models.py; a note is free text, bounded so a 20 MB "note" is refused.
TEXT_LIMITS = {"uuid": 36, "name": 200, "location": 200, "country": 60, "tag": 60, "model_version": 60, "note": 10_000, "path": 4096}
MAX_TAGS = 100
MAX_ANALYSES = 1000
MAX_NOTES = 1000
MAX_FRAME = 10_000_000  # a frame index; 10 million frames is 92 hours at 30 fps
# The kept awards times the multiplier reach at most 30 (3 x 10 individual, 5 x 10 x 0.6 synchronised).
MAX_KEPT_POINTS = 30.0
_HASH = re.compile(r"[0-9a-f]{64}")


class EntryChecker:
    """Checks one entry of ``source``; ``where`` names it in every message."""

    def __init__(self, source: object, where: str) -> None:
        self.source = source
        self.where = where

    def fail(self, field: str, problem: str) -> StorageError:
        return StorageError(f"{self.source}: {self.where}: {field} {problem}; nothing was imported")

    def mapping(self, value: Any, field: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, "is missing or not an object")
        return value

    def text(self, value: Any, field: str, limit: str, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, "is missing or not a text")
        if len(value) > TEXT_LIMITS[limit]:
            raise self.fail(field, f"is {len(value)} characters long (at most {TEXT_LIMITS[limit]})")
        return value

    def number(self, value: Any, field: str, low: float = -math.inf, high: float = math.inf, optional: bool = False) -> float | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(field, f"{shown(value)} is not a number")
        if not low <= value <= high:
            raise self.fail(field, f"{shown(value)} is outside {low:g} to {high:g}")
        return float(value)

    def integer(self, value: Any, field: str, low: int, high: int, optional: bool = False) -> int | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(field, f"{shown(value)} is not a whole number from {low} to {high}")
        return value

    def moment(self, value: Any, field: str, kind: type = datetime) -> str:
        try:
            kind.fromisoformat(value)  # type: ignore[attr-defined]
        except (TypeError, ValueError):
            raise self.fail(field, f"{shown(value)} is not an ISO {'date' if kind is date else 'date and time'}") from None
        return value

    def listed(self, value: Any, field: str, limit: int) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(field, "is not a list")
        if len(value) > limit:
            raise self.fail(field, f"has {len(value)} entries (at most {limit})")
        return value


def check_entry(entry: Any, source: object, index: int) -> dict[str, Any]:
    """A checked copy of one dive entry (see module docstring); StorageError on the first bad value."""
    uuid = entry.get("uuid") if isinstance(entry, dict) else None
    c = EntryChecker(source, f"dive {index + 1}" + (f" ({shown(uuid)})" if isinstance(uuid, str) else ""))
    entry = c.mapping(entry, "entry")
    out: dict[str, Any] = {"uuid": c.text(entry.get("uuid"), "uuid", "uuid")}
    competition = c.mapping(entry.get("competition"), "competition")
    out["competition"] = {"uuid": c.text(competition.get("uuid"), "competition.uuid", "uuid"), "name": c.text(competition.get("name"), "competition.name", "name")}
    if "location" in competition:
        out["competition"]["location"] = c.text(competition["location"], "competition.location", "location", optional=True)
    if "start_date" in competition:
        start = competition["start_date"]
        out["competition"]["start_date"] = None if start is None else c.moment(start, "competition.start_date", date)
    event = c.mapping(entry.get("event"), "event")
    out["event"] = {"uuid": c.text(event.get("uuid"), "event.uuid", "uuid"), "name": c.text(event.get("name"), "event.name", "name"),
                    "kind": event.get("kind"), "height": event.get("height")}  # fmt: skip
    athlete = c.mapping(entry.get("athlete"), "athlete")
    out["athlete"] = {"uuid": c.text(athlete.get("uuid"), "athlete.uuid", "uuid"), "name": c.text(athlete.get("name"), "athlete.name", "name"),
                      "country": c.text(athlete.get("country"), "athlete.country", "country", optional=True)}  # fmt: skip
    out["video"] = _check_video(c, entry.get("video"))
    out.update(_check_sheet(c, entry, out["event"]))
    out["round"] = c.integer(entry.get("round"), "round", 0, 1000, optional=True)
    out["performed_at"] = c.moment(entry.get("performed_at"), "performed_at")
    window = entry.get("window") or [None, None]
    if not isinstance(window, list) or len(window) != 2:
        raise c.fail("window", "is not [start, end]")
    start, end = (c.integer(w, "window", 0, MAX_FRAME, optional=True) for w in window)
    if start is not None and end is not None and start >= end:
        raise c.fail("window", f"[{start}, {end}] does not end after it starts")
    out["window"] = [start, end]
    out["tags"] = [c.text(t, "tags", "tag") for t in c.listed(entry.get("tags"), "tags", MAX_TAGS)]
    if "notes" in entry:
        out["notes"] = [_check_note(c, n) for n in c.listed(entry["notes"], "notes", MAX_NOTES)]
    out["analyses"] = [_check_analysis(c, a) for a in c.listed(entry.get("analyses"), "analyses", MAX_ANALYSES)]
    return out


def _check_video(c: EntryChecker, video: Any) -> dict[str, Any] | None:
    if video is None:
        return None
    video = c.mapping(video, "video")
    digest = video.get("content_hash")
    if not isinstance(digest, str) or not _HASH.fullmatch(digest):
        raise c.fail("video.content_hash", f"{shown(digest)} is not a SHA-256 hex digest")
    return {"path": c.text(video.get("path"), "video.path", "path"), "content_hash": digest,
            "size_bytes": c.integer(video.get("size_bytes"), "video.size_bytes", 0, 2**62)}  # fmt: skip


def _check_sheet(c: EntryChecker, entry: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """The dive sheet and the real panel, with the desk's rules (aqa_core.rules)."""
    panel_size = c.integer(entry.get("panel_size"), "panel_size", 1, 99)
    number = entry.get("dive_number")
    if number is not None and not isinstance(number, str):
        raise c.fail("dive_number", f"{shown(number)} is not a text")
    difficulty = c.number(entry.get("difficulty"), "difficulty")  # its range is the rules' (validate_difficulty)
    try:
        sheet = make_dive_info(str(event["kind"]), panel_size, number or None, entry.get("height"), difficulty)  # type: ignore[arg-type]
        event["height"] = None if event.get("height") is None else validate_height(event["height"])
    except AQAError as exc:
        raise c.fail("dive sheet", f"is refused by the rules: {exc}") from None
    event["kind"] = sheet.event
    scores = c.listed(entry.get("human_scores"), "human_scores", 11)
    if any(isinstance(s, bool) or not isinstance(s, (int, float)) for s in scores):
        raise c.fail("human_scores", f"{shown(scores)} is not a list of numbers")
    try:
        marks = [validate_judge_score(s) for s in scores]
    except AQAError as exc:
        raise c.fail("human_scores", f"are refused by the rules: {exc}") from None
    if marks and len(marks) != panel_size:
        raise c.fail("human_scores", f"has {len(marks)} marks for a panel of {panel_size}")
    final = c.number(entry.get("human_final"), "human_final", 0.0, MAX_KEPT_POINTS * sheet.difficulty, optional=True)
    return {"dive_number": sheet.dive_number, "height": sheet.height, "difficulty": sheet.difficulty, "panel_size": panel_size,
            "human_final": final, "human_scores": marks}  # fmt: skip


def _check_note(c: EntryChecker, note: Any) -> dict[str, Any]:
    note = c.mapping(note, "note")
    return {"uuid": c.text(note.get("uuid"), "note.uuid", "uuid"), "created_at": c.moment(note.get("created_at"), "note.created_at"),
            "text": c.text(note.get("text"), "note.text", "note")}  # fmt: skip


def _check_analysis(c: EntryChecker, analysis: Any) -> dict[str, Any]:
    analysis = c.mapping(analysis, "analysis")
    uuid = c.text(analysis.get("uuid"), "analysis.uuid", "uuid")
    created = c.moment(analysis.get("created_at"), "analysis.created_at")
    try:
        result = ScoreResult.from_dict(c.mapping(analysis.get("result"), "analysis.result"))
    except StorageError:
        raise
    except ResultSchemaError as exc:  # whole: it says which schema, and that a newer program wrote it
        raise c.fail(f"analysis {shown(uuid)}", f"is a {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise c.fail(f"analysis {shown(uuid)}", f"is not a stored score result ({type(exc).__name__}: {shown(str(exc))})") from None
    c.text(result.model_name, "analysis.model_name", "name")
    c.text(result.model_version, "analysis.model_version", "model_version")
    c.number(result.final.score, "analysis.final.score", 0.0, 1000.0)
    c.number(result.uncertainty.value, "analysis.uncertainty.value", 0.0)
    for name in ("head", "decoding"):
        if not isinstance(getattr(result, name), str) or len(getattr(result, name)) > 20:
            raise c.fail(f"analysis.{name}", "is not a short text")
    if not isinstance(result.uncertainty.level, str) or len(result.uncertainty.level) > 10:
        raise c.fail("analysis.uncertainty.level", "is not a short text")
    for i in result.dive_window:
        c.integer(i, "analysis.dive_window", 0, MAX_FRAME)
    if not isinstance(result.timings, dict):
        raise c.fail("analysis.timings", "is not an object")
    for seconds in result.timings.values():
        c.number(seconds, "analysis.timings", 0.0)
    return {"uuid": uuid, "created_at": created, "result": result.to_dict()}


def shown(value: Any, limit: int = 40) -> str:
    """A value as it may appear in a message: repr (escapes control characters), cut to ``limit``."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
