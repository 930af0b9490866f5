"""Open, probe and decode video files with OpenCV; every failure becomes one clear ``VideoError``.

Decisions worth knowing:

* **Frame count.** Container metadata lies: the real clip ``tokyo2020_dive_a.mp4`` claims 200
  frames but decodes 109. ``probe`` therefore verifies the claimed count cheaply (seek to the
  claimed last frame; it must decode and the one after must not). When it fails, the position
  FFmpeg's seek stopped at is checked the same way (a seek past the end stops at the real count),
  and only when that fails too is the whole file counted with ``grab()`` (no colour
  conversion). An honest file costs one seek, the real clips two; a file that fails both
  checks costs one pass. The result is cached per (path, size, mtime).
* **Rotation.** Phone videos carry a rotation tag. We switch OpenCV's own auto-rotation off
  (``CAP_PROP_ORIENTATION_AUTO``) and rotate frames ourselves from ``CAP_PROP_ORIENTATION_META``,
  so the behaviour does not depend on the backend; if a backend refuses to switch it off, it
  rotates for us and we do not rotate twice. ``VideoInfo.width/height`` are the displayed size.
* **Backend.** Always FFmpeg (``cv2.CAP_FFMPEG``, bundled with the OpenCV wheels): it reads
  every common container and codec and seeks frame-exactly (checked against sequential decoding
  in the tests); other backends differ in seeking and rotation behaviour.
* **Errors.** Missing, empty, not-a-video, truncated and undecodable files are told apart where
  the file allows it, and the message always names the file.
"""

from __future__ import annotations

import functools
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

# FFmpeg prints its own errors ("moov atom not found") to stderr; our VideoError says it better.
# setdefault lets a developer turn FFmpeg's log back on.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2  # noqa: E402  (must come after the log-level setting)

from aqa_core.errors import VideoError  # noqa: E402

# Frames a forward jump may decode instead of seeking: seeking costs a keyframe decode plus the
# frames up to the target, so a short forward hop is cheaper by grabbing.
_MAX_FORWARD_GRAB = 12

# Decoded-frame cache budget of a VideoReader: ~90 frames of 720p, ~10 of 4K.
_CACHE_BYTES = 256 * 1024 * 1024

_ROTATIONS = {
    90: cv2.ROTATE_90_CLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_COUNTERCLOCKWISE,
}

# Leading bytes of containers we know, to tell "damaged video" from "not a video at all".
_CONTAINER_SIGNATURES: tuple[tuple[int, bytes], ...] = (
    (4, b"ftyp"),  # MP4 / MOV / 3GP
    (4, b"moov"),
    (4, b"mdat"),
    (4, b"wide"),
    (4, b"free"),
    (0, b"RIFF"),  # AVI
    (0, b"\x1a\x45\xdf\xa3"),  # Matroska / WebM
    (0, b"\x00\x00\x01\xba"),  # MPEG-PS
    (0, b"\x47"),  # MPEG-TS sync byte
    (0, b"FLV"),
)


@dataclass(frozen=True)
class VideoInfo:
    """What ``probe`` found out about a file; ``frame_count`` is the verified decodable count."""

    path: Path
    fps: float
    frame_count: int
    width: int  # displayed width (after rotation)
    height: int  # displayed height (after rotation)
    duration_s: float
    rotation: int  # clockwise degrees applied to decoded frames: 0, 90, 180 or 270


def probe(path: str | Path) -> VideoInfo:
    """Describe a video file, verifying the frame count by decoding (see the module docstring)."""
    file = _check_file(path)
    stat = file.stat()
    return _probe_cached(file, stat.st_size, stat.st_mtime_ns)


def read_frames(path: str | Path, start: int, end: int) -> np.ndarray:
    """Frames ``start..end`` (inclusive) as ``(T, H, W, 3)`` uint8 RGB, rotation applied."""
    with VideoReader(path) as reader:
        reader.check_range(start, end)
        return np.stack(list(reader.iter_frames(range(start, end + 1))))


class VideoReader:
    """Random and sequential access to one file's frames, for the player and the clip loader.

    Sequential reads never seek (the next frame is simply decoded); short forward jumps grab;
    anything else seeks. The last ``cache_size`` decoded frames are kept (LRU) so scrubbing back
    and forth near the playhead does not decode again. Returned frames are read-only views of the
    cache: copy before drawing on them. One reader belongs to one thread (OpenCV captures are not
    thread-safe); open another reader in another thread.
    """

    def __init__(self, path: str | Path, cache_size: int | None = None) -> None:
        """``cache_size`` frames are kept; by default as many as fit in ``_CACHE_BYTES``."""
        self.info = probe(path)
        self._owner = threading.get_ident()
        self._capture = _open_capture(self.info.path)
        self._rotate_code = _own_rotation(self._capture, self.info.rotation)
        self._position = 0  # index of the frame the next read() returns
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        frame_bytes = self.info.width * self.info.height * 3
        self._cache_size = cache_size if cache_size is not None else max(2, _CACHE_BYTES // frame_bytes)

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._capture.release()
        self._cache.clear()

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as ``(H, W, 3)`` uint8 RGB (read-only, possibly from the cache)."""
        self.check_range(index, index)
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        image = self._decode(index)
        image.setflags(write=False)
        self._cache[index] = image
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return image

    def iter_frames(
        self,
        indices: Iterable[int],
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> Iterator[np.ndarray]:
        """Decode the given frames in the given order, bypassing the cache.

        Increasing indices decode sequentially (skipped frames are grabbed, not converted).
        ``transform`` is applied to each RGB frame as it is decoded, so callers that shrink
        frames (the clip loader) never hold a full-resolution window in memory.
        """
        for index in indices:
            self.check_range(index, index)
            image = self._decode(index)
            yield transform(image) if transform is not None else image

    def check_range(self, start: int, end: int) -> None:
        """Raise VideoError unless ``start..end`` (inclusive) are frames of this video."""
        count = self.info.frame_count
        if not 0 <= start <= end < count:
            span = f"frame index {start}" if start == end else f"frame indices {start}-{end}"
            raise VideoError(f"{self.info.path}: {span} outside the video (indices 0-{count - 1}, frames 1-{count} as people count)")

    def _decode(self, index: int) -> np.ndarray:
        if threading.get_ident() != self._owner:
            raise RuntimeError("a VideoReader is confined to the thread that opened it; open one per thread")
        self._move_to(index)
        ok, bgr = self._capture.read()
        if not ok or bgr is None:
            self._position = -1  # unknown: the next access seeks
            raise VideoError(f"{self.info.path}: frame {index} could not be decoded")
        self._position = index + 1
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        return cv2.rotate(rgb, self._rotate_code) if self._rotate_code is not None else rgb

    def _move_to(self, index: int) -> None:
        gap = index - self._position
        if self._position >= 0 and 0 <= gap <= _MAX_FORWARD_GRAB:
            for _ in range(gap):
                if not self._capture.grab():
                    self._position = -1
                    raise VideoError(f"{self.info.path}: frame {index} could not be decoded")
            self._position = index
        elif gap != 0:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            self._position = index


def _check_file(path: str | Path) -> Path:
    file = Path(path)
    if not file.exists():
        raise VideoError(f"{file}: no such file")
    if not file.is_file():
        raise VideoError(f"{file}: is not a file")
    if file.stat().st_size == 0:
        raise VideoError(f"{file}: the file is empty (0 bytes)")
    if not os.access(file, os.R_OK):
        raise VideoError(f"{file}: permission denied")
    return file.resolve()


def _looks_like_video_container(file: Path) -> bool:
    with file.open("rb") as handle:
        head = handle.read(16)
    return any(head[offset : offset + len(magic)] == magic for offset, magic in _CONTAINER_SIGNATURES)


def _open_capture(file: Path) -> cv2.VideoCapture:
    # OpenCV logs a warning for every file it cannot open; the VideoError below replaces it.
    log_level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        capture = cv2.VideoCapture(str(file), cv2.CAP_FFMPEG)
    finally:
        cv2.utils.logging.setLogLevel(log_level)
    if capture.isOpened():
        return capture
    capture.release()
    if _looks_like_video_container(file):
        raise VideoError(f"{file}: the video is damaged or truncated (its container cannot be read)")
    raise VideoError(f"{file}: not a video file that can be decoded")


def _own_rotation(capture: cv2.VideoCapture, rotation: int) -> int | None:
    """Turn OpenCV's auto-rotation off; return the cv2.rotate code we must apply, if any."""
    capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
    if capture.get(cv2.CAP_PROP_ORIENTATION_AUTO) != 0:
        return None  # the backend insists on rotating itself
    return _ROTATIONS.get(rotation)


@functools.lru_cache(maxsize=64)
def _probe_cached(file: Path, size: int, mtime_ns: int) -> VideoInfo:
    """Probe keyed by size and mtime so an edited or replaced file is probed again."""
    capture = _open_capture(file)
    try:
        rotation = int(round(capture.get(cv2.CAP_PROP_ORIENTATION_META))) % 360
        rotate_code = _own_rotation(capture, rotation)
        ok, first = capture.read()
        if not ok or first is None:
            raise VideoError(f"{file}: no frame could be decoded (damaged file or unsupported codec)")
        if rotate_code is not None:
            first = cv2.rotate(first, rotate_code)
        height, width = first.shape[:2]
        fps = capture.get(cv2.CAP_PROP_FPS)
        claimed = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        frame_count = _verified_frame_count(capture, claimed)
    finally:
        capture.release()
    if not fps or fps <= 0 or not np.isfinite(fps):
        raise VideoError(f"{file}: the frame rate is missing from the file")
    return VideoInfo(
        path=file,
        fps=float(fps),
        frame_count=frame_count,
        width=int(width),
        height=int(height),
        duration_s=frame_count / float(fps),
        rotation=rotation if rotation in _ROTATIONS else 0,
    )


def _verified_frame_count(capture: cv2.VideoCapture, claimed: int) -> int:
    """The claimed count if its last frame decodes and nothing follows; else count by decoding.

    A seek past the real end leaves FFmpeg's position at the real count (the real clip claims
    200 frames and stops at 109); that count is checked the same way (its last frame decodes,
    nothing follows) before it is believed, which costs one more seek instead of decoding the
    whole file (0.13 s against 0.85 s for the real clip). ``capture`` has just decoded frame 0.
    """
    if claimed == 1 and not capture.grab():
        return 1
    if claimed > 1:
        if _ends_at(capture, claimed):
            return claimed
        reached = int(capture.get(cv2.CAP_PROP_POS_FRAMES))
        if 1 < reached < claimed and _ends_at(capture, reached):
            return reached
    capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
    count = 0
    while capture.grab():
        count += 1
    return count


def _ends_at(capture: cv2.VideoCapture, count: int) -> bool:
    """Whether frame ``count - 1`` decodes and none follows it."""
    capture.set(cv2.CAP_PROP_POS_FRAMES, count - 1)
    return capture.grab() and not capture.grab()
