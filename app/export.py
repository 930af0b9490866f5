"""Export a frame (PNG) or a scored dive (MP4, for a diver's phone) with the analysis burned in.

Runs on a worker: it decodes with its own ``VideoReader`` at the source's full resolution (never
the widget's picture, so no black bars and no screen scaling) and draws with OpenCV, so it needs
no widget and no GUI thread. The overlay explains itself: the band says what the numbers are
(the model's final, the clip's estimate on the final-score scale) and the mini-curve has its
axis (judge's mark 0-10) and a legend.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from aqa_core.errors import AQAError, VideoError
from aqa_core.result import ScoreResult
from app.drawings import Drawing
from app.widgets.clip_math import axis_label, clip_at, mean_distribution

WHITE = (255, 255, 255)
CURVE = (80, 180, 255)
GREY = (170, 170, 170)
DRAWING = (255, 220, 60)
FONT = cv2.FONT_HERSHEY_SIMPLEX


class ExportCancelled(AQAError):
    """The user cancelled an MP4 export; the partial file is removed."""


def _text(out: np.ndarray, text: str, x: int, y: int, size: float, colour: tuple[int, int, int] = WHITE) -> None:
    """Draw ``text``, shrunk until it fits the frame's width (nothing is clipped)."""
    room = out.shape[1] - x - 4
    thickness = max(1, int(round(size * 2)))
    while size > 0.2 and cv2.getTextSize(text, FONT, size, thickness)[0][0] > room:
        size *= 0.9
    cv2.putText(out, text, (x, y), FONT, size, colour, thickness, cv2.LINE_AA)


def burn_overlay(frame: np.ndarray, result: ScoreResult | None, index: int, fps: float, frame_count: int,
                 title: str = "") -> np.ndarray:
    """RGB frame with its frame/time readout (after ``title``) and, when scored, the final, the clip and its curve."""
    out = frame.copy()
    height, width = out.shape[:2]
    scale = max(0.35, width / 1280)
    band = int(78 * scale)
    out[:band] = (out[:band] * 0.35).astype(np.uint8)
    readout = f"frame {index + 1}/{frame_count}  {index / fps:.2f} s" if fps else f"frame {index + 1}/{frame_count}"
    readout = f"{title}  {readout}" if title else readout
    if result is None:
        _text(out, readout, int(12 * scale), int(30 * scale), 0.8 * scale)
        return out
    final = result.final
    curve_w = int(width * 0.3)
    left = out[:, : width - curve_w - 16]  # the text keeps clear of the mini-curve
    dive = f"{result.dive.dive_number or ''} DD {result.dive.difficulty:.1f}".strip()
    _text(left, f"{dive}  model's final {final.score:.2f} [{final.low:.1f}-{final.high:.1f}]", int(12 * scale), int(28 * scale), 0.75 * scale)
    clip = clip_at(result.clips, index)
    clip_text = ""
    if clip is not None:
        estimate = result.clips[clip]
        clip_text = f"   clip {estimate.index + 1}: {estimate.score:.1f} pts (final-score scale)"
    _text(left, readout + clip_text, int(12 * scale), int(60 * scale), 0.6 * scale)
    if clip is not None:
        curve = mean_distribution(result.clips[clip].distributions)
        x0, y0, box_h = width - curve_w - 8, 6, band - int(30 * scale)
        cv2.line(out, (x0, y0 + box_h), (x0 + curve_w, y0 + box_h), GREY, 1, cv2.LINE_AA)  # the mark axis
        xs = x0 + np.linspace(0, curve_w, len(curve))
        ys = y0 + box_h - curve / max(float(curve.max()), 1e-9) * box_h
        cv2.polylines(out, [np.stack([xs, ys], axis=1).astype(np.int32)], False, CURVE, max(1, int(2 * scale)), cv2.LINE_AA)
        axis_y = y0 + box_h + int(14 * scale)
        low, high = (result.bins[0], result.bins[-1]) if len(result.bins) else (0, 10)
        _text(out, f"{low:g}", x0, axis_y, 0.4 * scale, GREY)
        _text(out[:, : x0 + curve_w], f"{high:g}", x0 + curve_w - int(16 * scale), axis_y, 0.4 * scale, GREY)
        unit = axis_label(result.head)
        _text(out, f"this clip's distribution ({unit})", x0 + int(30 * scale), axis_y, 0.4 * scale, CURVE)
    return out


def burn_drawings(out: np.ndarray, drawings: Sequence[Drawing]) -> None:
    """The coach's lines and angles, in source pixels as they were drawn, each with its measure."""
    thickness = max(2, out.shape[1] // 400)
    for drawing in drawings:
        points = [(int(round(x)), int(round(y))) for x, y in drawing.points]
        for a, b in zip(points, points[1:], strict=False):
            cv2.line(out, a, b, DRAWING, thickness, cv2.LINE_AA)
        anchor = points[1] if drawing.kind == "angle" else points[-1]
        _text(out, drawing.label(), anchor[0] + 6, max(12, anchor[1] - 6), 0.5 * max(0.6, out.shape[1] / 1280), DRAWING)


def export_frame(video: str | Path, index: int, path: str | Path, result: ScoreResult | None = None,
                 drawings: Sequence[Drawing] = ()) -> Path:
    """Frame ``index`` of ``video`` at full resolution, with the readout, analysis and drawings burned in."""
    from aqa_core.video import VideoReader

    out_path = Path(path)
    with VideoReader(video) as reader:
        info = reader.info
        frame = burn_overlay(reader.frame(index), result, index, info.fps, info.frame_count)
        burn_drawings(frame, drawings)
    if not cv2.imwrite(str(out_path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)):
        raise VideoError(f"{out_path}: cannot write the PNG (check the folder exists and is writable)")
    return out_path


def _write_mp4(out_path: Path, fps: float, size: tuple[int, int], count: int, render: Callable[[int], np.ndarray],
               progress: Callable[[int, int], None] | None, cancel: threading.Event | None) -> Path:
    """Write ``render(0)`` ... ``render(count - 1)`` (RGB frames of ``size``) as an MP4 at ``fps``.

    ``cancel`` is looked at before each frame is rendered, so a cancel costs at most the frame in
    hand; ``progress(done, count)`` follows each frame written. A cancelled or failed export removes its
    file: half a video must never look like an export.
    """
    writer = cv2.VideoWriter(str(out_path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise VideoError(f"{out_path}: cannot write an MP4 here (check the folder exists and is writable)")
    finished = False
    try:
        for done in range(1, count + 1):
            if cancel is not None and cancel.is_set():
                raise ExportCancelled(f"{out_path}: export cancelled")
            writer.write(cv2.cvtColor(render(done - 1), cv2.COLOR_RGB2BGR))
            if progress is not None:
                progress(done, count)
        finished = True
    finally:
        writer.release()
        if not finished:
            out_path.unlink(missing_ok=True)
    return out_path


def export_dive_video(video: str | Path, result: ScoreResult, path: str | Path,
                      progress: Callable[[int, int], None] | None = None, cancel: threading.Event | None = None) -> Path:
    """The dive window as MP4 with the overlay; ``progress(done, total)`` per frame, ``cancel`` stops it."""
    from aqa_core.video import VideoReader

    start, end = result.dive_window
    with VideoReader(video) as reader:
        info = reader.info

        def render(offset: int) -> np.ndarray:
            return burn_overlay(reader.frame(start + offset), result, start + offset, info.fps, info.frame_count)

        return _write_mp4(Path(path), info.fps, (info.width, info.height), end - start + 1, render, progress, cancel)


@dataclass(frozen=True)
class ComparedDive:
    """One side of a side-by-side export: its video, the frame it starts on, marks to name, and its
    analysis (the stored one the Compare pane's clip curve draws), burned in as the desk's export
    burns a dive's: the coach's phone then shows where each attempt lost its marks, not two bare videos."""

    video: str | Path
    first: int
    label: str
    marks: dict[str, int]
    result: ScoreResult | None = None


def synced_span(frames_a: int, frames_b: int, offset: int) -> tuple[int, int]:
    """(first frame of A, number of frames) where A and B (B = A + offset) both have a frame."""
    first = max(0, -offset)
    last = min(frames_a - 1, frames_b - 1 - offset)
    return first, max(0, last - first + 1)


def export_side_by_side(a: ComparedDive, b: ComparedDive, count: int, path: str | Path,
                        progress: Callable[[int, int], None] | None = None, cancel: threading.Event | None = None) -> Path:
    """Both dives, synced frame for frame, in one MP4 (B scaled to A's height), each half with its readout
    and, where that side has an analysis, its final, the clip on show and that clip's curve."""
    from aqa_core.video import VideoReader

    with VideoReader(a.video) as left, VideoReader(b.video) as right:
        info_a, info_b = left.info, right.info
        height = info_a.height
        width_b = max(2, int(round(info_b.width * height / info_b.height)) // 2 * 2)

        def render(offset: int) -> np.ndarray:
            halves = []
            for side, reader, info in ((a, left, info_a), (b, right, info_b)):
                index = side.first + offset
                events = "".join(f"  [{name}]" for name, mark in side.marks.items() if mark == index)
                halves.append(burn_overlay(reader.frame(index), side.result, index, info.fps, info.frame_count, side.label + events))
            halves[1] = cv2.resize(halves[1], (width_b, height), interpolation=cv2.INTER_AREA)
            return np.hstack(halves)

        return _write_mp4(Path(path), info_a.fps, (info_a.width + width_b, height), count, render, progress, cancel)
