"""Where a dive's pixels are, checked before any work starts.

Every reader resolves each dive to concrete frame files or to a video plus a window that fits it,
so a missing frame, a window past the video's end or a path pointing outside the dataset is found
while reading the annotations (seconds), not after hours of feature extraction. Paths built from
annotation text (a CSV's video column, a FineDiving event name) must resolve inside the dataset
root or the explicitly configured frames root: ``../../etc/passwd`` is a problem, never a read.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from pathlib import Path

from aqa_core.errors import AQAError, DatasetError
from aqa_core.video import probe

from .base import DiveRecord, as_int

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
_PLAIN_NAME = re.compile(r"^[^/\\\x00]+$")


def frame_files(folder: Path) -> list[Path]:
    """Image files of a folder sorted by name (frame folders are zero-padded, so name = time order)."""
    return sorted(Path(entry.path) for entry in os.scandir(folder) if entry.is_file() and Path(entry.name).suffix.lower() in IMAGE_SUFFIXES)


def inside(root: Path, relative: str) -> Path:
    """``root / relative`` resolved, or DatasetError when that lands outside ``root``."""
    if not relative or "\x00" in relative:
        raise DatasetError(f"path {relative!r} is empty or not a file name")
    candidate = Path(relative)
    resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise DatasetError(f"path {relative!r} points outside the dataset folder {root}")
    return resolved


def plain_name(text: str, what: str) -> str:
    """A single folder name taken from annotation data: no separators, not ``.`` or ``..``."""
    if not _PLAIN_NAME.match(text) or text in (".", ".."):
        raise DatasetError(f"{what} {text!r} is not a plain folder name")
    return text


def dive_folder_frames(folder: Path) -> tuple[Path, ...]:
    """All frames of a folder that holds exactly one dive (USDL/MUSDL ``frames/VV_CC``, FineDiving)."""
    if not folder.is_dir():
        raise DatasetError(f"frame folder {folder} is missing" if not folder.exists() else f"{folder} is not a folder")
    files = frame_files(folder)
    if not files:
        raise DatasetError(f"frame folder {folder} holds no images")
    return tuple(files)


def numbered_frames(folder: Path) -> dict[int, str]:
    """Frame number -> file name in a whole-video frame folder (``%06d.jpg`` or ``%08d.jpg``), listed once.

    Names only, no stat and no Path per file: a broadcast has up to 290,000 frames, and only the
    frames of its dives' windows become paths (``window_frames``).
    """
    if not folder.is_dir():
        return {}
    numbered = {}
    for name in os.listdir(folder):
        stem, dot, suffix = name.rpartition(".")
        if dot and stem.isdigit() and f".{suffix.lower()}" in IMAGE_SUFFIXES:
            numbered[int(stem)] = name
    return numbered


def window_frames(folder: Path, frames: dict[int, str], window: tuple[int, int], first_number: int = 1) -> tuple[Path, ...]:
    """The files of frames ``window`` (0-based video frames) in a whole-video frame folder.

    ffmpeg numbers extracted frames from 1, so video frame ``k`` is file number ``k + 1``: the
    CoRe and MTL-AQA loaders index their sorted frame list by frame number the same way.
    ``frames`` is ``numbered_frames(folder)``, listed once per folder by the caller.
    """
    if not frames:
        raise DatasetError(f"frame folder {folder} is missing or holds no numbered images")
    start, end = window
    missing = [k for k in range(start, end + 1) if k + first_number not in frames]
    if missing:
        last = max(frames) - first_number
        if missing[-1] > last:
            raise DatasetError(f"window {start}-{end} ends past the last frame ({last}) in {folder}")
        raise DatasetError(f"{len(missing)} frame(s) of window {start}-{end} missing in {folder} (first: frame {missing[0]})")
    return tuple(folder / frames[k + first_number] for k in range(start, end + 1))


def check_video_window(video: Path, window: tuple[int, int] | None) -> None:
    """The file is a readable video and the window lies inside it."""
    if video.is_dir():
        raise DatasetError(f"{video} is a folder, not a video file")
    if not video.is_file():
        raise DatasetError(f"video {video} does not exist")
    try:
        info = probe(video)
    except AQAError as exc:
        raise DatasetError(str(exc)) from None
    if window is not None and window[1] >= info.frame_count:
        raise DatasetError(f"window {window[0]}-{window[1]} ends past the video's last frame ({info.frame_count - 1}) in {video}")


def parse_window(start: object, end: object) -> tuple[int, int] | None:
    """A first/last frame pair (inclusive, 0-based), None when both are blank."""
    blank = lambda v: v is None or str(v).strip() == ""  # noqa: E731
    if blank(start) and blank(end):
        return None
    first, last = as_int(start), as_int(end)
    if first is None or last is None:
        raise DatasetError(f"start_frame/end_frame {start!r}/{end!r} are not whole numbers")
    if first < 0 or last < first:
        raise DatasetError(f"frame window {first}-{last} is empty or negative")
    return first, last


def is_frame_images(record: DiveRecord) -> bool:
    """The dive's pixels are image files (a frame list or a folder), not a video file."""
    return record.frames is not None or (record.video is not None and record.video.is_dir())


def pixel_files(record: DiveRecord) -> list[Path]:
    """The image files of a dive (its checked frame list, or a folder's images cut to the window)."""
    assert record.video is not None
    if record.frames is not None:
        return list(record.frames)
    files = frame_files(record.video)
    return files[record.window[0] : record.window[1] + 1] if record.window is not None else files


def content_hash(record: DiveRecord) -> str:
    """SHA-256 of a video file's bytes, or of the names and bytes of the dive's frame images.

    Kept per version of the files (path, size, modification time): a training run asks twice per
    dive (the damage check's key, then the feature cache's) and read every dive's pixels twice.
    """
    assert record.video is not None
    images = is_frame_images(record)
    files = pixel_files(record) if images else [record.video]
    versions = tuple((str(file), *_size_and_mtime(file)) for file in files)
    return _hash_of(versions, images)


def _size_and_mtime(file: Path) -> tuple[int, int]:
    stat = file.stat()
    return stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=4096)
def _hash_of(versions: tuple[tuple[str, int, int], ...], images: bool) -> str:
    digest = hashlib.sha256()
    for name, _size, _mtime in versions:
        file = Path(name)
        digest.update(file.name.encode() if images else b"")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
