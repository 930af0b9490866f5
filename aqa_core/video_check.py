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

import ctypes
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from aqa_core.own_program import child_environment, own_command
from aqa_core.result import Damage

FFMPEG_ERRORS = "16"  # AV_LOG_ERROR: decoding errors, not warnings
_LOG_PREFIX = re.compile(r"^\[OPENCV:FFMPEG:\d+\]\s*")  # OpenCV's tag before each FFmpeg line
CHECK_TIMEOUT_S = 600.0  # a whole 1080p window decoded on one thread, far beyond any dive


def damaged_frames(path: str | Path, first: int, last: int) -> dict[str, object]:
    """Frames ``first..last`` that FFmpeg logged a decoding error for; run only in a process of its own.

    Sets FFmpeg's log level before the process's first capture (OpenCV reads it once) and points
    fds 1 and 2 at a temporary file, so this must not run in a process that decodes or prints
    anything else meanwhile.
    """
    os.environ["OPENCV_FFMPEG_LOGLEVEL"] = FFMPEG_ERRORS
    import cv2

    flush_c_streams = _c_stream_flusher()

    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as log:
        saved = {fd: os.dup(fd) for fd in (1, 2)}  # OpenCV's logger writes FFmpeg's errors to stdout
        for fd in saved:
            os.dup2(log.fileno(), fd)
        try:
            capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])  # one thread: errors land on their frame
            if first > 0:
                capture.set(cv2.CAP_PROP_POS_FRAMES, first)
            damaged: list[int] = []
            # Errors met while seeking (the frames before the window) are not the window's: with
            # intra-coded frames they leave it whole (the test's truth, decoded pixels, says so).
            flush_c_streams()
            logged = os.fstat(log.fileno()).st_size
            read = 0
            for index in range(first, last + 1):
                if not capture.grab():  # grab() decodes; only the colour conversion is skipped
                    break
                read += 1
                flush_c_streams()
                size = os.fstat(log.fileno()).st_size
                if size > logged:
                    damaged.append(index)
                    logged = size
            listed = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            capture.release()
            flush_c_streams()
        finally:
            for fd, original in saved.items():
                os.dup2(original, fd)
                os.close(original)
        log.seek(0)
        lines = [_LOG_PREFIX.sub("", line).strip() for line in log.read().decode("utf-8", "replace").splitlines() if line.strip()]
    # Decoding that stopped at an error before the window's end lost the frames after it: they are
    # damaged too (the file's index lists them). A file that only ends a little before its index
    # says, without any error, is not damaged (container counts are estimates).
    lost = list(range(first + read, min(last, listed - 1) + 1)) if lines else []
    return {"frames": damaged + lost, "read": read, "lost": len(lost), "errors": len(lines), "sample": lines[0] if lines else ""}


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
    """``damaged_frames`` of one window in a child process, started now and answered by ``result()``."""

    def __init__(self, path: str | Path, window: tuple[int, int] | None) -> None:
        """``window``: the first and last frame the clips use; None: the whole file (no dive was found)."""
        frames = ["--frames", str(int(window[0])), str(int(window[1]))] if window is not None else []
        command = own_command("video-check", str(path), *frames, "--json")
        flags = subprocess.CREATE_NO_WINDOW if sys.platform == "win32" else 0
        try:
            self._process: subprocess.Popen[str] | None = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                env=child_environment(), creationflags=flags)
            self._problem = ""
        except OSError as exc:
            self._process, self._problem = None, f"could not start {command[0]}: {exc}"

    def result(self, timeout: float = CHECK_TIMEOUT_S) -> Damage | None:
        """None for a clean window; else the damaged frames, or why the check could not say."""
        if self._process is None:
            return Damage(frames=[], problem=self._problem)
        try:
            out, err = self._process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return Damage(frames=[], problem=f"the check took over {timeout:.0f} s and was stopped")
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
