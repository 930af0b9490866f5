"""Export a scored dive with its analysis burned into the frames (MP4, for a diver's phone).

Runs on a worker: it decodes the dive window with its own ``VideoReader`` and draws with OpenCV,
so it needs no widget and no GUI thread.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from aqa_core.errors import VideoError
from aqa_core.result import ScoreResult
from app.widgets.clip_math import clip_at, mean_distribution

WHITE = (255, 255, 255)


def burn_overlay(frame: np.ndarray, result: ScoreResult, index: int) -> np.ndarray:
    """RGB frame with the final score, the clip under ``index`` and its distribution drawn in."""
    out = frame.copy()
    height, width = out.shape[:2]
    scale = max(0.4, width / 1280)
    band = int(70 * scale)
    out[:band] = (out[:band] * 0.35).astype(np.uint8)
    final = result.final
    text = f"{result.dive.dive_number or ''}  DD {result.dive.difficulty:g}   Final {final.score:.2f} [{final.low:.1f}-{final.high:.1f}]"
    cv2.putText(out, text, (int(12 * scale), int(30 * scale)), cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale, WHITE, max(1, int(2 * scale)), cv2.LINE_AA)
    clip = clip_at(result.clips, index)
    if clip is not None:
        estimate = result.clips[clip]
        cv2.putText(out, f"clip {estimate.index + 1}: {estimate.score:.1f}", (int(12 * scale), int(60 * scale)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.7 * scale, WHITE, max(1, int(2 * scale)), cv2.LINE_AA)
        curve = mean_distribution(estimate.distributions)
        box_w, box_h = int(260 * scale), band - 12
        x0, y0 = width - box_w - 10, 6
        xs = x0 + np.linspace(0, box_w, len(curve))
        ys = y0 + box_h - curve / max(float(curve.max()), 1e-9) * box_h
        points = np.stack([xs, ys], axis=1).astype(np.int32)
        cv2.polylines(out, [points], False, (80, 180, 255), max(1, int(2 * scale)), cv2.LINE_AA)
    return out


def export_dive_video(video: str | Path, result: ScoreResult, path: str | Path) -> Path:
    from aqa_core.video import VideoReader

    out_path = Path(path)
    with VideoReader(video) as reader:
        info = reader.info
        writer = cv2.VideoWriter(str(out_path), cv2.VideoWriter_fourcc(*"mp4v"), info.fps, (info.width, info.height))
        if not writer.isOpened():
            raise VideoError(f"{out_path}: cannot write an MP4 here (check the folder exists and is writable)")
        try:
            start, end = result.dive_window
            for index in range(start, end + 1):
                frame = burn_overlay(reader.frame(index), result, index)
                writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        finally:
            writer.release()
    return out_path
