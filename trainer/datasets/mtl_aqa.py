"""Reader for MTL-AQA (Parmar & Morris, CVPR 2019) in each layout it is distributed in, unchanged.

* The official release (``MTL-AQA_dataset_release/``): ``Ready_2_Use/MTL-AQA_split_0_data/`` holds
  ``final_annotations_dict.pkl`` (no judge scores, no dive numbers), the split files,
  ``final_captions_dict.pkl`` and ``vocab.json``; pixels are ``whole_videos/VV.mp4`` or, after its
  ``frame_extractor.sh``, ``whole_videos_frames/VV/%06d.jpg``.
* The USDL/MUSDL code: ``data/info/augmented_final_annotations_dict.pkl`` (adds the 7 judge
  scores) and ``data/frames/VV_CC/*.jpg``, one folder per dive.
* The CoRe code: ``info/final_annotations_dict_with_dive_number.pkl`` and
  ``new/new_total_frames_256s/VV/%08d.jpg`` (whole-video frames).
* Our CSV of the same labels (``annotations.csv`` with video, clip, split, judge1..judge7, ...).

Annotations are ``{(video, clip): {"final_score", "difficulty", "start_frame", "end_frame", ...}}``
and the splits lists of ``(video, clip)``. Any of a layout's natural folders may be given (the
release root or its ``MTL-AQA_split_0_data``; ``MTL-AQA/`` or its ``info``); pixels may sit in
another folder named by ``frames_root``. Dive keys are written ``VV_CC`` (``04_49``).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aqa_core.errors import DatasetError

from .base import LABEL, PIXELS, DiveDataset, DiveRecord, Problem, as_list, located, pair_key, parse_float, parse_judges, require_dives, unique_listed
from .consistency import checked_labels
from .pixels import check_video_window, dive_folder_frames, numbered_frames, parse_window, window_frames
from .safe_pickle import load_annotation_pickle, load_split_list

RELEASE_DIR = "Ready_2_Use/MTL-AQA_split_0_data"
# (annotation file, layout it names); the folders they are looked for in, relative to the root.
ANNOTATION_FILES = (
    ("final_annotations_dict_with_dive_number.pkl", "mtl_aqa_core"),
    ("augmented_final_annotations_dict.pkl", "mtl_aqa_musdl"),
    ("final_annotations_dict.pkl", "mtl_aqa_release"),
)
INFO_DIRS = (RELEASE_DIR, "data/info", "info", ".")
DIVE_FOLDERS, VIDEO_FRAMES, VIDEOS = "dive frame folders", "whole-video frame folders", "whole videos"
PIXEL_SOURCES = (
    ("data/frames", DIVE_FOLDERS),
    ("frames", DIVE_FOLDERS),
    ("new/new_total_frames_256s", VIDEO_FRAMES),
    ("whole_videos_frames", VIDEO_FRAMES),
    ("whole_videos", VIDEOS),
    ("videos", VIDEOS),
    ("data/whole_videos", VIDEOS),
)
_CHILD_KINDS = ((re.compile(r"^\d+_\d+$"), True, DIVE_FOLDERS), (re.compile(r"^\d+$"), True, VIDEO_FRAMES), (re.compile(r"^\d+\.mp4$"), False, VIDEOS))


def looks_like_mtl_aqa(path: Path) -> bool:
    return _locate(Path(path)) is not None


def read_mtl_aqa(path: Path, frames_root: Path | None = None) -> DiveDataset:
    names = " or ".join(name for name, _ in ANNOTATION_FILES)
    root, source, layout = located(path, _locate, f"no MTL-AQA annotations ({names}, in {', '.join(INFO_DIRS)}; or annotations.csv)")
    labels, splits, problems = _from_csv(source) if layout == "mtl_aqa_csv" else _from_pickles(source)
    captions, vocab = _captions(source.parent)
    pixels = _PixelSource(root, frames_root)
    records = []
    for key, split in sorted(splits.items()):
        name = _name(key)
        if key not in labels:
            problems.append(Problem(name, "listed in a split file but has no annotation", LABEL, split))
            continue
        record = _record(key, labels[key], split, captions.get(key), pixels, problems)
        if record is not None:
            records.append(record)
    require_dives(records, problems, source)
    notes = {"split": "MTL-AQA split 0", "pixels": pixels.describe(), **({"captions": "final_captions_dict.pkl"} if captions else {})}
    return DiveDataset(name="MTL-AQA", source=source, kind="mtl_aqa", records=records, notes=notes, layout=layout, problems=problems, vocab=vocab)


def _locate(path: Path) -> tuple[Path, Path, str] | None:
    """(dataset root, annotation file, layout) from any natural folder of a layout."""
    for folder in INFO_DIRS:
        for name, layout in ANNOTATION_FILES:
            candidate = path / folder / name
            if candidate.is_file():
                return _root_of(path, folder), candidate, layout
    if _is_mtl_csv(path / "annotations.csv"):
        return path, path / "annotations.csv", "mtl_aqa_csv"
    return None


def _root_of(path: Path, folder: str) -> Path:
    """Given the annotations' own folder, climb to the layout's root (where the pixels live)."""
    if folder != ".":
        return path
    resolved = path.resolve()
    for known in INFO_DIRS[:-1]:
        parts = Path(known).parts
        if resolved.parts[-len(parts) :] == parts:
            return resolved.parents[len(parts) - 1]
    return path


def _from_pickles(path: Path) -> tuple[dict[tuple[int, int], Any], dict[tuple[int, int], str], list[Problem]]:
    raw = load_annotation_pickle(path)
    if not isinstance(raw, dict):
        raise DatasetError(f"{path}: expected a dict keyed by (video, clip), got {type(raw).__name__}")
    problems: list[Problem] = []
    labels = {}
    for item, value in raw.items():
        key = pair_key(item)
        if key is None:
            problems.append(Problem(repr(item), f"annotation key in {path.name} is not a (video, clip) pair"))
        else:
            labels[key] = value
    listed: list[tuple[tuple[int, int], str]] = []
    for split in ("train", "test"):
        split_path = path.parent / f"{split}_split_0.pkl"
        for item in load_split_list(split_path, "(video, clip) pairs"):
            key = pair_key(item)
            if key is None:
                problems.append(Problem(repr(item), f"entry of {split_path.name} is not a (video, clip) pair", LABEL, split))
            else:
                listed.append((key, split))
    return labels, *_splits(listed, problems)


def _splits(listed: list[tuple[tuple[int, int], str]], problems: list[Problem]) -> tuple[dict[tuple[int, int], str], list[Problem]]:
    kept, duplicates = unique_listed(listed, _name)
    return dict(kept), problems + duplicates


def _from_csv(path: Path) -> tuple[dict[tuple[int, int], Any], dict[tuple[int, int], str], list[Problem]]:
    labels: dict[tuple[int, int], dict] = {}
    listed: list[tuple[tuple[int, int], str]] = []
    problems: list[Problem] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: not a readable UTF-8 CSV file ({exc})") from None
    for line, row in enumerate(rows, start=2):
        key = pair_key((row.get("video"), row.get("clip")))
        if key is None:
            problems.append(Problem(f"row {line}", f"video/clip {row.get('video')!r}/{row.get('clip')!r} are not whole numbers"))
            continue
        row["judge_scores"] = [row.get(f"judge{i}") for i in range(1, 8)] if "judge1" in row else None
        labels[key] = row
        listed.append((key, str(row.get("split") or "").strip()))
    return labels, *_splits(listed, problems)


def _captions(folder: Path) -> tuple[dict[tuple[int, int], tuple[str, ...]], dict[str, int] | None]:
    """The release's commentary (``final_captions_dict.pkl``) and its ``vocab.json``, when present."""
    path, vocab_path = folder / "final_captions_dict.pkl", folder / "vocab.json"
    captions: dict[tuple[int, int], tuple[str, ...]] = {}
    if path.is_file():
        raw = load_annotation_pickle(path)
        if not isinstance(raw, dict):
            raise DatasetError(f"{path}: expected a dict of (video, clip) -> list of words")
        for item, words in raw.items():
            key = pair_key(item)
            if key is None or not isinstance(words, (list, tuple)) or not all(isinstance(w, str) for w in words):
                raise DatasetError(f"{path}: entry {item!r} is not (video, clip) -> list of words")
            captions[key] = tuple(words)
    vocab = None
    if vocab_path.is_file():
        try:
            data = json.loads(vocab_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DatasetError(f"{vocab_path}: not valid JSON ({exc})") from None
        words = data.get("word_to_ix") if isinstance(data, dict) else None
        if not isinstance(words, dict) or not all(isinstance(v, int) for v in words.values()):
            raise DatasetError(f"{vocab_path}: expected a 'word_to_ix' mapping of words to indices")
        vocab = dict(words)
    return captions, vocab


def _labelled(name: str, label: object, split: str, caption: tuple[str, ...] | None) -> DiveRecord:
    if not isinstance(label, Mapping):
        raise DatasetError("annotation is not a dict")
    if split not in ("train", "test"):
        raise DatasetError(f"split {split!r} is not train or test")
    for field_name in ("final_score", "difficulty"):
        if label.get(field_name) in (None, ""):
            raise DatasetError(f"annotation lacks {field_name}")
    judges = label.get("judge_scores")
    return DiveRecord(
        key=name,
        split=split,
        final_score=parse_float(label["final_score"], None, "final score", low=0.0, high=200.0),
        difficulty=parse_float(label["difficulty"], None, "difficulty", low=0.5, high=5.0),
        judge_scores=parse_judges(as_list(judges, "judge_scores"), None, (7,)) if judges is not None else None,
        dive_number=str(label.get("dive_number") or "").strip() or None,
        window=parse_window(label.get("start_frame"), label.get("end_frame")),
        caption=caption,
    )


def _record(key: tuple[int, int], label: object, split: str, caption: tuple[str, ...] | None, pixels: _PixelSource, problems: list[Problem]) -> DiveRecord | None:
    name = _name(key)
    record, found = checked_labels(name, split, lambda: _labelled(name, label, split, caption))
    window = record.window if record is not None else _quiet_window(label)
    video, frames = None, None
    if window is not None or pixels.kind == DIVE_FOLDERS or record is not None:
        try:
            video, frames = pixels.resolve(key, window)
        except DatasetError as exc:
            found.append(Problem(name, str(exc), PIXELS, split))
    problems.extend(found)
    if found or record is None:
        return None
    return dataclasses.replace(record, video=video, frames=frames)


def _quiet_window(label: object) -> tuple[int, int] | None:
    """The window of a dive whose labels failed, so its pixels are still checked and reported."""
    try:
        return parse_window(label.get("start_frame"), label.get("end_frame")) if isinstance(label, Mapping) else None
    except DatasetError:
        return None


class _PixelSource:
    """The one place this copy of MTL-AQA keeps its pixels, chosen once for the whole dataset.

    Chosen once (not per dive) so a partly downloaded frames folder is reported as missing frames
    rather than silently mixed with another source.
    """

    def __init__(self, root: Path, frames_root: Path | None) -> None:
        self.base, self.kind = self._choose(root, frames_root)
        self._listing: dict[Path, dict[int, str]] = {}

    @staticmethod
    def _choose(root: Path, frames_root: Path | None) -> tuple[Path, str]:
        if frames_root is not None:
            frames_root = Path(frames_root)
            if not frames_root.is_dir():
                raise DatasetError(f"{frames_root}: frames folder does not exist")
            own = _classify(frames_root)
            if own is not None:
                return frames_root, own
            bases = [(frames_root / sub, kind) for sub, kind in PIXEL_SOURCES]
        else:
            bases = [(root / sub, kind) for sub, kind in PIXEL_SOURCES]
        for base, kind in bases:
            if base.is_dir():
                return base, kind
        looked = ", ".join(f"{sub}/" for sub, _ in PIXEL_SOURCES)
        raise DatasetError(f"{frames_root or root}: no MTL-AQA frames or videos found (looked for {looked}); name the folder with --frames")

    def describe(self) -> str:
        return f"{self.kind} in {self.base}"

    def resolve(self, key: tuple[int, int], window: tuple[int, int] | None) -> tuple[Path, tuple[Path, ...] | None]:
        if self.kind == DIVE_FOLDERS:
            folder = self.base / _name(key)
            return folder, dive_folder_frames(folder)
        if window is None:
            raise DatasetError("a whole video needs start_frame and end_frame")
        if self.kind == VIDEO_FRAMES:
            folder = self.base / f"{key[0]:02d}"
            if folder not in self._listing:
                self._listing[folder] = numbered_frames(folder)
            return folder, window_frames(folder, self._listing[folder], window)
        video = self.base / f"{key[0]:02d}.mp4"
        check_video_window(video, window)
        return video, None


def _classify(folder: Path) -> str | None:
    """What a folder named as the frames root holds, judged from its children's names."""
    with os.scandir(folder) as entries:
        for entry in entries:
            for pattern, is_dir, kind in _CHILD_KINDS:
                if pattern.match(entry.name) and entry.is_dir() == is_dir:
                    return kind
    return None


def _name(key: tuple[int, int]) -> str:
    return f"{key[0]:02d}_{key[1]:02d}"


def _is_mtl_csv(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        header = next(csv.reader(handle), [])
    return "clip" in header and "video" in header
