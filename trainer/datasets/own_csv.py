"""Reader for our own layout: a folder with ``annotations.csv`` and the videos beside it.

Columns: video,start_frame,end_frame,event,dive_number,height,difficulty,judge1..judgeK,
final_score,split,commentary (start/end empty = whole file; judge columns may be blank). A UTF-8
BOM (Excel writes one) is read as such. Every video must be a file inside the folder (or inside
the configured frames root) and every window must fit its video; each row that fails is a
``Problem`` naming the row, never a read outside the dataset.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

from aqa_core.errors import DatasetError

from .base import LABEL, PIXELS, DiveDataset, DiveRecord, Problem, duplicate_problems, parse_float, parse_judges, parse_split, require_dives
from .consistency import rule_problem
from .pixels import check_video_window, inside, parse_window

REQUIRED = ("video", "start_frame", "end_frame", "event", "dive_number", "height", "difficulty", "final_score", "split")
EVENTS = ("individual", "synchronised")


def read_own_csv(folder: Path, frames_root: Path | None = None) -> DiveDataset:
    path = Path(folder) / "annotations.csv"
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
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
    pixels_root = Path(frames_root) if frames_root is not None else path.parent
    problems: list[Problem] = []
    rows_read = [_record(row, line, pixels_root, judge_columns, problems) for line, row in enumerate(rows, start=2)]
    records = [r for r in rows_read if r is not None]
    duplicates = duplicate_problems([(r.key, r.split) for r in records])
    twice = {p.dive for p in duplicates}
    problems.extend(duplicates)
    records = [r for r in records if r.key not in twice]
    require_dives(records, problems, path)
    return DiveDataset(name=Path(folder).resolve().name, source=path, kind="own", records=records, notes=_metadata(Path(folder)), layout="own", problems=problems)


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


def _record(row: dict[str, str], line: int, pixels_root: Path, judge_columns: list[str], problems: list[Problem]) -> DiveRecord | None:
    where = f"row {line}"
    video = (row.get("video") or "").strip()
    record = None
    found: list[Problem] = []
    try:
        window = parse_window(row["start_frame"], row["end_frame"])
    except DatasetError as exc:
        window = None
        found.append(Problem(_key(video, None, line), f"{where}: {exc}", LABEL))
    key = _key(video, window, line)
    try:
        record = _labels(row, key, window, judge_columns)
        mismatch = rule_problem(record)
        if mismatch:
            found.append(Problem(key, f"{where}: {mismatch}", LABEL, record.split))
    except DatasetError as exc:
        found.append(Problem(key, f"{where}: {exc}", LABEL))
    split = record.split if record is not None else None
    try:
        if not video:
            raise DatasetError("the video column is empty")
        video_path = inside(pixels_root, video)
        check_video_window(video_path, window)
    except DatasetError as exc:
        found.append(Problem(key, f"{where}: {exc}", PIXELS, split))
    problems.extend(dataclasses.replace(p, split=split) for p in found)
    if found or record is None:
        return None
    return dataclasses.replace(record, video=video_path)


def _key(video: str, window: tuple[int, int] | None, line: int) -> str:
    if not video:
        return f"row {line}"
    return f"{video}@{window[0]}-{window[1]}" if window else video


def _labels(row: dict[str, str], key: str, window: tuple[int, int] | None, judge_columns: list[str]) -> DiveRecord:
    event = (row["event"] or "").strip().lower() or "individual"
    if event not in EVENTS:
        raise DatasetError(f"event {row['event']!r} is not individual or synchronised")
    height = parse_float(row["height"], None, "height", low=0.0, high=10.0) if (row["height"] or "").strip() else None
    difficulty = parse_float(row["difficulty"], None, "difficulty", low=0.5, high=5.0) if (row["difficulty"] or "").strip() else None
    return DiveRecord(
        key=key,
        split=parse_split(row["split"] or "", None),
        final_score=parse_float(row["final_score"], None, "final score", low=0.0, high=200.0),
        difficulty=difficulty,
        judge_scores=parse_judges([row.get(c) for c in judge_columns], None) if judge_columns else None,
        event=event,
        dive_number=(row["dive_number"] or "").strip() or None,
        height=height,
        window=window,
        commentary=(row.get("commentary") or "").strip(),
    )
