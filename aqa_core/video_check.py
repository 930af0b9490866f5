"""Is the dive's footage damaged? FFmpeg's own decoding errors, frame by frame, read in a child process.

Why: FFmpeg conceals what it cannot decode (smeared blocks, frozen macroblocks) and OpenCV hands
the concealed frame over as if it were whole, so a file with a few hundred bytes flipped in its
video stream scores like any other dive: 43.5 points for a damaged copy of the real clip that
scores 24.0 when whole, with nothing to say so. The only witness is FFmpeg's error log ("error
while decoding MB 70 10"), which OpenCV's logger writes to the process's own output and cannot
hand to Python. So the window the clips use is decoded a second time in a child process of this program
(``aqa-judge video-check``), whose output is its own: with FFmpeg's log on and one decoding
thread, the log's growth after each frame says which frames were damaged. The check runs beside
the scoring (``DamageCheck``, started when the window is known) and its answer goes into the
result: a caveat every consumer shows and an uncertainty of "high" (``aqa_core.decoding``).

The real Olympic clips, cut from a broadcast, log no error at this level; the synthetic dives
neither. A check that cannot run says so in the result, as damage of unknown extent.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

from aqa_core.errors import VideoError
from aqa_core.own_program import child_environment, own_command
from aqa_core.result import Damage

CHECK_VERSION = 2  # raise when what counts as damage changes: kept answers and cached analyses of an older check are asked again
FFMPEG_ERRORS = "16"  # AV_LOG_ERROR: decoding errors, not warnings
_LOG_PREFIX = re.compile(r"^\[OPENCV:FFMPEG:\d+\]\s*")  # OpenCV's tag before each FFmpeg line
JPEG_DAMAGE = ("Corrupt JPEG data", "Premature end of JPEG file")  # libjpeg's warnings that its data is bad or cut
REORDER = 2  # frames a decoder may show before the one it just decoded (B-frames): the clip's errors come 2 frames late
PREROLL = 125  # frames decoded before the window to find its keyframe: 5 s at 25 fps, beyond a broadcast's keyframe interval
CHECK_TIMEOUT_S = 600.0  # a whole 1080p window decoded on one thread, far beyond any dive


def damaged_frames(path: str | Path, first: int, last: int) -> dict[str, object]:
    """Frames ``first..last`` decoded with errors or predicted from frames that were; run only in a process of its own.

    FFmpeg logs an error only on the frame whose data is bad, but every frame after it up to the
    next keyframe is predicted from it and comes out damaged too: in the real broadcast clip
    with bytes flipped, errors are logged on frames 1-24 and the pixels differ on frames 1-65,
    up to its keyframe. So the damage is carried to the next keyframe. The frames before the
    window, from up to ``PREROLL`` frames back, are decoded here too (not skipped inside
    OpenCV's seek, which may decode from the file's start and hide where its errors were):
    damage in them reaches the window's first frames through the same prediction.

    Sets FFmpeg's log level before the process's first capture (OpenCV reads it once) and points
    fds 1 and 2 at a temporary file, so this must not run in a process that decodes or prints
    anything else meanwhile.
    """
    os.environ["OPENCV_FFMPEG_LOGLEVEL"] = FFMPEG_ERRORS
    import cv2

    with _output_logged() as log:
        capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])  # one thread: errors land on their frame
        if not capture.isOpened():
            raise VideoError(f"{path}: not a video this program can open")
        start = max(0, first - PREROLL)
        if start > 0:
            capture.set(cv2.CAP_PROP_POS_FRAMES, start)
        # Errors inside the seek are from before ``start``: they reach the window only if no keyframe comes between.
        carried = bool(log.new())
        tail = 0  # grabs after a keyframe that may still show the damaged group's last frames (B-frames of an open GOP)
        damaged: set[int] = set()
        read = 0
        stopped_at_error = False
        for index in range(start, last + 1):
            if not capture.grab():  # grab() decodes; only the colour conversion is skipped
                stopped_at_error = bool(log.new()) or stopped_at_error  # a cut file logs on its last whole frame, then stops
                break
            errors = bool(log.new())
            if errors:  # the data decoded on this grab may be of a frame shown up to REORDER frames before it
                damaged.update(range(max(first, index - REORDER), index + 1))
            elif (carried or tail) and index >= first:
                damaged.add(index)
            read += index >= first
            # The keyframe flag is set on the grab that feeds the keyframe to the decoder; the frames
            # the next grabs give may still be the old group's (the clip: frame 65 damaged, flagged at
            # 65; an MPEG-2 file with B-frames: 2 damaged frames shown after the flag).
            if capture.get(cv2.CAP_PROP_LRF_HAS_KEY_FRAME):
                tail, carried = (REORDER if carried else 0), errors
            else:
                tail, carried = max(0, tail - 1), carried or errors
            stopped_at_error = errors
        listed = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        capture.release()
        log.new()
    lines = log.lines
    # Decoding that stopped at an error before the window's end lost the frames after it: they are
    # damaged too (the file's index lists them). A file that ends before its index says, after
    # clean frames, is not damaged: container counts are estimates, and the real clip's index
    # lists 200 frames where 109 decode.
    lost = list(range(first + read, min(last, listed - 1) + 1)) if stopped_at_error and read < last - first + 1 else []
    return {"frames": sorted(damaged) + lost, "read": read, "lost": len(lost), "errors": len(lines), "sample": lines[0] if lines else ""}


def damaged_images(paths: Sequence[str | Path]) -> dict[str, object]:
    """Positions in ``paths`` of the frame images that did not decode whole, or at another size than
    the dive's first whole one (a frame re-extracted at another resolution); run only in a process of its own.

    An image file is damaged when OpenCV cannot read it at all (libpng and the other decoders fail
    on a bad checksum or a cut file), or when libjpeg says its data is corrupt or cut short: libjpeg
    conceals both (the missing part comes out grey, a half-downloaded frame reads as a whole one)
    and only warns on the process's stderr. Its other warnings (an odd JFIF version) and libpng's
    (a colour profile) leave the pixels whole and are not damage.
    """
    import cv2

    damaged: list[int] = []
    samples: list[str] = []
    first: tuple[int, ...] | None = None  # the first whole image's shape: the clips stack the dive's frames
    with _output_logged() as log:
        for index, path in enumerate(paths):
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # the training's own read of the frame
            said = [line for line in log.new() if line.startswith(JPEG_DAMAGE)]
            if image is None or said:
                damaged.append(index)
                samples.append(f"{Path(path).name}: {said[0] if said else 'not a readable image'}")
            elif first is None:
                first = image.shape
            elif image.shape != first:
                damaged.append(index)
                samples.append(f"{Path(path).name}: {image.shape[1]}x{image.shape[0]} pixels, the dive's other frames {first[1]}x{first[0]}")
    return {"frames": damaged, "read": len(paths) - len(damaged), "lost": 0, "errors": len(damaged), "sample": samples[0] if samples else ""}


class _Log:
    """What the C libraries wrote into the process's stdout and stderr, read as it grows."""

    def __init__(self, file: IO[bytes], flush: Callable[[], None]) -> None:
        self._file, self._flush, self._read = file, flush, 0
        self.lines: list[str] = []

    def new(self) -> list[str]:
        """The lines written since the last call (after flushing the C library's buffers)."""
        self._flush()
        size = os.fstat(self._file.fileno()).st_size
        if size <= self._read:
            return []
        self._file.seek(self._read)
        text = self._file.read(size - self._read).decode("utf-8", "replace")
        self._read = size
        lines = [_LOG_PREFIX.sub("", line).strip() for line in text.splitlines() if line.strip()]
        self.lines.extend(lines)
        return lines or ["(unreadable log output)"]


@contextlib.contextmanager
def _output_logged() -> Iterator[_Log]:
    """fds 1 and 2 pointed at a temporary file while inside (OpenCV's logger writes FFmpeg's errors
    to stdout, libjpeg writes its warnings to stderr); both restored on the way out."""
    flush = _c_stream_flusher()
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as file:
        saved = {fd: os.dup(fd) for fd in (1, 2)}
        for fd in saved:
            os.dup2(file.fileno(), fd)
        try:
            yield _Log(file, flush)
        finally:
            flush()
            for fd, original in saved.items():
                os.dup2(original, fd)
                os.close(original)


def _c_stream_flusher() -> Callable[[], None]:
    """``fflush(NULL)`` of the C library OpenCV writes through: its stdout is block-buffered into a
    file or pipe (unless Python runs unbuffered, which the frozen app's interpreter ignores), so
    without it the log reaches the file long after the frame that caused it, or after the JSON."""
    try:
        libc = ctypes.CDLL("ucrtbase") if sys.platform == "win32" else ctypes.CDLL(None)
        flush = libc.fflush
    except (OSError, AttributeError):
        return lambda: None
    flush.argtypes = [ctypes.c_void_p]
    return lambda: flush(None)


def _answer(out: str) -> dict[str, object]:
    """The child's JSON line: the last one, whatever else reached its stdout."""
    line = next((line for line in reversed(out.splitlines()) if line.startswith("{")), "")
    return json.loads(line)


class DamageCheck:
    """``damaged_frames`` (or ``damaged_images``) of one dive in a child process, started now and answered by ``result()``."""

    def __init__(self, source: str | Path | Sequence[Path], window: tuple[int, int] | None = None) -> None:
        """``source``: a video file, or a dive's frame images in order; ``window``: the video's first and
        last frame the clips use, None for the whole file (no dive was found).

        Frame images reach the child through a list file (``@FILE``): a dive's hundred paths can pass
        Windows' command-line limit.
        """
        self._list: Path | None = None
        if isinstance(source, (str, Path)):
            frames = ["--frames", str(int(window[0])), str(int(window[1]))] if window is not None else []
            arguments = [str(source), *frames]
        elif not source:
            self._process, self._problem = None, "no frame images to check"
            return
        else:
            with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", prefix="aqa-frames-", delete=False) as listing:
                listing.write("".join(f"{Path(file)}\n" for file in source))
            self._list = Path(listing.name)
            arguments = [f"@{self._list}"]
        command = own_command("video-check", *arguments, "--json")
        flags = subprocess.CREATE_NO_WINDOW if sys.platform == "win32" else 0
        try:
            self._process: subprocess.Popen[str] | None = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                env=child_environment(), creationflags=flags)
            self._problem = ""
        except OSError as exc:
            self._process, self._problem = None, f"could not start {command[0]}: {exc}"
            self._forget_list()

    def result(self, timeout: float = CHECK_TIMEOUT_S) -> Damage | None:
        """None for a clean window; else the damaged frames, or why the check could not say."""
        if self._process is None:
            return Damage(frames=[], problem=self._problem)
        try:
            out, err = self._process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return Damage(frames=[], problem=f"the check took over {timeout:.0f} s and was stopped")
        finally:
            self._forget_list()
        try:
            answer = _answer(out)
            frames = [int(f) for f in answer["frames"]]
        except (ValueError, KeyError, TypeError):
            last = (err.strip().splitlines() or ["no output"])[-1]
            return Damage(frames=[], problem=f"the check exited {self._process.returncode}: {last}")
        return Damage(frames=frames, sample=str(answer.get("sample", ""))) if frames else None

    def stop(self) -> None:
        """Kill the child (the analysis was cancelled or failed); safe to call twice."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.communicate()
        self._forget_list()

    def _forget_list(self) -> None:
        if self._list is not None:
            self._list.unlink(missing_ok=True)
            self._list = None
