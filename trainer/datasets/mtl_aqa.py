"""Reader for the MTL-AQA layout as researchers download it (Parmar & Morris; used by USDL/MUSDL).

Annotations: ``final_annotations_dict.pkl`` or ``augmented_final_annotations_dict.pkl``
(``{(video, clip): {"final_score", "difficulty", "judge_scores", "start_frame", "end_frame", ...}}``)
with ``train_split_0.pkl`` / ``test_split_0.pkl`` (lists of ``(video, clip)``), looked for in the
root, ``info/`` or ``data/info/``; or the same labels as ``annotations.csv`` (columns video, clip,
split, dive_number, difficulty, judge1..judge7, final_score, start_frame, end_frame).
Pixels: ``frames/<VV>_<CC>/*.jpg`` (the 103-frame folders of the USDL code) or the whole
broadcast ``whole_videos/<VV>.mp4`` cut to start_frame..end_frame.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

from aqa_core.errors import DatasetError

from .base import DiveDataset, DiveRecord, parse_float, parse_judges, require_unique_keys
from .safe_pickle import load_annotation_pickle, load_split_list

ANNOTATION_FILES = ("augmented_final_annotations_dict.pkl", "final_annotations_dict.pkl")
INFO_DIRS = (".", "info", "data/info")
FRAME_DIRS = ("frames", "data/frames")
VIDEO_DIRS = ("whole_videos", "videos", "data/whole_videos")


def looks_like_mtl_aqa(root: Path) -> bool:
    return _find(root, INFO_DIRS, ANNOTATION_FILES) is not None or _is_mtl_csv(root / "annotations.csv")


def read_mtl_aqa(root: Path) -> DiveDataset:
    root = Path(root)
    pickle_path = _find(root, INFO_DIRS, ANNOTATION_FILES)
    if pickle_path is not None:
        labels, splits, source = _from_pickles(pickle_path)
    elif _is_mtl_csv(root / "annotations.csv"):
        labels, splits, source = _from_csv(root / "annotations.csv")
    else:
        raise DatasetError(f"{root}: no MTL-AQA annotations ({' or '.join(ANNOTATION_FILES)}, or annotations.csv)")
    records = []
    for key in sorted(splits):
        where = f"{source}, dive {key[0]:02d}_{key[1]:02d}"
        if key not in labels:
            raise DatasetError(f"{where}: listed in a split file but has no annotation")
        records.append(_record(root, key, labels[key], splits[key], where))
    require_unique_keys(records, source)
    return DiveDataset(name="MTL-AQA", source=source, kind="mtl_aqa", records=records, notes={"split": "MTL-AQA split 0"})


def _from_pickles(path: Path) -> tuple[Mapping, dict[tuple[int, int], str], Path]:
    labels = load_annotation_pickle(path)
    if not isinstance(labels, dict):
        raise DatasetError(f"{path}: expected a dict keyed by (video, clip), got {type(labels).__name__}")
    splits: dict[tuple[int, int], str] = {}
    for split in ("train", "test"):
        split_path = path.parent / f"{split}_split_0.pkl"
        keys = load_split_list(split_path, "(video, clip) pairs")
        for item in keys:
            key = _key(item, split_path)
            if key in splits:
                raise DatasetError(f"{split_path}: dive {key[0]:02d}_{key[1]:02d} is in more than one split")
            splits[key] = split
    return {(_key(k, path)): v for k, v in labels.items()}, splits, path


def _from_csv(path: Path) -> tuple[Mapping, dict[tuple[int, int], str], Path]:
    labels: dict[tuple[int, int], dict] = {}
    splits: dict[tuple[int, int], str] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            key = _key((row["video"], row["clip"]), Path(f"{path}, row {line}"))
            row["judge_scores"] = [row.get(f"judge{i}") for i in range(1, 8)]
            labels[key] = row
            splits[key] = row["split"].strip()
    return labels, splits, path


def _record(root: Path, key: tuple[int, int], label: object, split: str, where: str) -> DiveRecord:
    if not isinstance(label, Mapping):
        raise DatasetError(f"{where}: annotation is not a dict")
    for field_name in ("final_score", "difficulty"):
        if field_name not in label:
            raise DatasetError(f"{where}: annotation lacks {field_name}")
    judges = label.get("judge_scores")
    window = None
    if label.get("start_frame") not in (None, "") and label.get("end_frame") not in (None, ""):
        window = (int(label["start_frame"]), int(label["end_frame"]))
    name = f"{key[0]:02d}_{key[1]:02d}"
    video, window = _pixels(root, key, window, where)
    return DiveRecord(
        key=name,
        split=split if split in ("train", "test") else _bad_split(split, where),
        final_score=parse_float(label["final_score"], where, "final score", low=0.0, high=200.0),
        difficulty=parse_float(label["difficulty"], where, "difficulty", low=0.5, high=5.0),
        judge_scores=parse_judges(list(judges), where) if judges is not None else None,
        dive_number=(str(label.get("dive_number") or "").strip() or None),
        video=video,
        window=window,
    )


def _pixels(root: Path, key: tuple[int, int], window: tuple[int, int] | None, where: str) -> tuple[Path, tuple[int, int] | None]:
    """The dive's frame folder (already trimmed) or its broadcast video plus the window."""
    for folder in FRAME_DIRS:
        frames = root / folder / f"{key[0]:02d}_{key[1]:02d}"
        if frames.is_dir():
            return frames, None
    for folder in VIDEO_DIRS:
        video = root / folder / f"{key[0]:02d}.mp4"
        if video.is_file():
            if window is None:
                raise DatasetError(f"{where}: whole video {video} needs start_frame and end_frame")
            return video, window
    raise DatasetError(f"{where}: no frames/{key[0]:02d}_{key[1]:02d}/ folder and no whole_videos/{key[0]:02d}.mp4 under {root}")


def _key(item: object, where: Path) -> tuple[int, int]:
    try:
        video, clip = item  # type: ignore[misc]
        return int(video), int(clip)
    except (TypeError, ValueError):
        raise DatasetError(f"{where}: {item!r} is not a (video, clip) pair") from None


def _bad_split(split: str, where: str) -> str:
    raise DatasetError(f"{where}: split {split!r} is not train or test")


def _find(root: Path, folders: tuple[str, ...], names: tuple[str, ...]) -> Path | None:
    for folder in folders:
        for name in names:
            candidate = root / folder / name
            if candidate.is_file():
                return candidate
    return None


def _is_mtl_csv(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        header = next(csv.reader(handle), [])
    return "clip" in header and "video" in header
