"""Reader for our own layout: a folder with ``annotations.csv`` and the videos beside it.

Columns: video,start_frame,end_frame,event,dive_number,height,difficulty,judge1..judgeK,
final_score,split,commentary (start/end empty = whole file; judge columns may be blank).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from aqa_core.errors import DatasetError

from .base import DiveDataset, DiveRecord, parse_float, parse_judges, parse_split, require_unique_keys

REQUIRED = ("video", "start_frame", "end_frame", "event", "dive_number", "height", "difficulty", "final_score", "split")
EVENTS = ("individual", "synchronised")


def read_own_csv(folder: Path) -> DiveDataset:
    path = Path(folder) / "annotations.csv"
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            rows = list(reader)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: not a UTF-8 CSV file ({exc})") from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}")
    judge_columns = sorted((c for c in header if c.startswith("judge") and c[5:].isdigit()), key=lambda c: int(c[5:]))
    records = [_record(row, line, path, judge_columns) for line, row in enumerate(rows, start=2)]
    require_unique_keys(records, path)
    return DiveDataset(name=Path(folder).resolve().name, source=path, kind="own", records=records, notes=_metadata(Path(folder)))


def _metadata(folder: Path) -> dict[str, object]:
    """Optional ``dataset.json`` beside the CSV (e.g. ``{"synthetic": true}``) for the data card."""
    path = folder / "dataset.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected a JSON object")
    return data


def _record(row: dict[str, str], line: int, path: Path, judge_columns: list[str]) -> DiveRecord:
    where = f"{path}, row {line}"
    video = (row.get("video") or "").strip()
    if not video:
        raise DatasetError(f"{where}: the video column is empty")
    video_path = (path.parent / video).resolve()
    if not video_path.exists():
        raise DatasetError(f"{where}: video {video} does not exist")
    window = _window(row["start_frame"], row["end_frame"], where)
    event = row["event"].strip().lower() or "individual"
    if event not in EVENTS:
        raise DatasetError(f"{where}: event {row['event']!r} is not individual or synchronised")
    height = parse_float(row["height"], where, "height", low=0.0, high=10.0) if row["height"].strip() else None
    difficulty = parse_float(row["difficulty"], where, "difficulty", low=0.5, high=5.0) if row["difficulty"].strip() else None
    return DiveRecord(
        key=f"{video}@{window[0]}-{window[1]}" if window else video,
        split=parse_split(row["split"], where),
        final_score=parse_float(row["final_score"], where, "final score", low=0.0, high=200.0),
        difficulty=difficulty,
        judge_scores=parse_judges([row.get(c) for c in judge_columns], where) if judge_columns else None,
        event=event,
        dive_number=row["dive_number"].strip() or None,
        height=height,
        video=video_path,
        window=window,
        commentary=(row.get("commentary") or "").strip(),
    )


def _window(start: str, end: str, where: str) -> tuple[int, int] | None:
    if not start.strip() and not end.strip():
        return None
    try:
        first, last = int(start), int(end)
    except ValueError:
        raise DatasetError(f"{where}: start_frame/end_frame {start!r}/{end!r} are not whole numbers") from None
    if first < 0 or last < first:
        raise DatasetError(f"{where}: frame window {first}-{last} is empty or negative")
    return first, last
