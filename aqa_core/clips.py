"""Dive window -> fixed-length frame sequence -> overlapping clips, as the USDL/MUSDL seed paper does.

The protocol (USDL/MUSDL, appendix A, "10-seg-s1"): every dive is resampled to 103 frames and
cut into 10 clips of 16 frames starting at 0, 10, ..., 80, 87, each fed to I3D.

* **Resampling.** ``np.linspace(start, end, num_frames)`` rounded to the nearest integer: uniform
  in time, keeps both ends of the window, and repeats frames when the window is shorter than
  ``num_frames`` (a short window is stretched rather than refused).
* **Spatial.** Resize keeping the aspect ratio so the short side is ``size * 256 / 224`` (256 for
  224), then centre-crop ``size`` x ``size``. We crop the source first and resize only the
  crop: the same pixels map to the same output, but a 4K frame never gets resized whole.
  Shrinking uses area interpolation (no aliasing of the diver's thin limbs).
* **Values.** RGB, ``x / 127.5 - 1`` (the Kinetics I3D normalisation), layout
  ``(N, 3, clip_len, size, size)`` float32.

Segmentation schemes are registered in ``SEGMENTATIONS`` so a bundle can name its own
("usdl_10x16", or ``{"name": "uniform", "clips": 6, "num_frames": 96}`` for C3D-AVG-style
segments).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from aqa_core.errors import VideoError
from aqa_core.registry import SEGMENTATIONS
from aqa_core.video import VideoInfo, VideoReader

DEFAULT_SCHEME = "usdl_10x16"

# I3D was trained on frames resized to 256 on the short side and cropped to 224.
_RESIZE_RATIO = 256 / 224


@dataclass(frozen=True)
class SegmentationScheme:
    """How a resampled dive is cut into clips: ``num_frames`` total, clips of ``clip_len`` at ``starts``."""

    num_frames: int
    clip_len: int
    starts: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.num_frames < 1 or self.clip_len < 1 or not self.starts:
            raise ValueError(f"segmentation needs frames, a clip length and clips: {self}")
        bad = [s for s in self.starts if s < 0 or s + self.clip_len > self.num_frames]
        if bad:
            raise ValueError(f"clips starting at {bad} do not fit in {self.num_frames} frames of length {self.clip_len}")

    @property
    def num_clips(self) -> int:
        return len(self.starts)


@SEGMENTATIONS.register("custom")
def custom(num_frames: int, clip_len: int, starts: list[int]) -> SegmentationScheme:
    """Any explicit list of clip starts (lets a config reproduce a paper's exact indices)."""
    return SegmentationScheme(num_frames=num_frames, clip_len=clip_len, starts=tuple(int(s) for s in starts))


@SEGMENTATIONS.register("usdl_10x16")
def usdl_10x16() -> SegmentationScheme:
    """The seed protocol: 103 frames, 10 clips of 16 starting at 0, 10, ..., 80, 87."""
    return custom(num_frames=103, clip_len=16, starts=[0, 10, 20, 30, 40, 50, 60, 70, 80, 87])


@SEGMENTATIONS.register("uniform")
def uniform(clips: int, clip_len: int = 16, num_frames: int = 103) -> SegmentationScheme:
    """``clips`` clips spread evenly from the first to the last possible start (rounded)."""
    starts = np.rint(np.linspace(0, num_frames - clip_len, clips)).astype(int)
    return custom(num_frames=num_frames, clip_len=clip_len, starts=starts.tolist())


def get_scheme(spec: str | Mapping[str, Any] | SegmentationScheme) -> SegmentationScheme:
    """A scheme from its registry name, a ``{"name": ..., **kwargs}`` config, or itself."""
    if isinstance(spec, SegmentationScheme):
        return spec
    return SEGMENTATIONS.build({"name": spec} if isinstance(spec, str) else spec)


@dataclass
class DiveClips:
    """The clip tensor for one dive and where every clip frame came from in the source video."""

    clips: torch.Tensor  # (N, 3, clip_len, size, size) float32 in [-1, 1]
    frame_indices: list[list[int]]  # source frame of every clip frame, per clip
    window: tuple[int, int]  # first and last source frame of the dive (inclusive)
    info: VideoInfo | None  # None for in-memory frames


@dataclass(frozen=True)
class StreamedClip:
    """One clip of a dive as soon as its frames are decoded (``iter_dive_clips``)."""

    index: int  # position in the segmentation scheme
    clip: torch.Tensor  # (3, clip_len, size, size) float32 in [-1, 1], as ``DiveClips.clips[index]``
    frame_indices: list[int]  # source frame of every clip frame
    window: tuple[int, int]
    info: VideoInfo


def resample_indices(start: int, end: int, num_frames: int) -> np.ndarray:
    """``num_frames`` source indices uniformly covering ``start..end`` (see module docstring)."""
    return np.rint(np.linspace(start, end, num_frames)).astype(int)


def crop_and_resize(frame: np.ndarray, size: int) -> np.ndarray:
    """Centre ``size`` x ``size`` crop of the frame resized to short side ``size * 256/224``."""
    height, width = frame.shape[:2]
    side = min(height, width) / _RESIZE_RATIO  # source pixels covered by the crop
    side_px = max(1, int(round(side)))
    top = (height - side_px) // 2
    left = (width - side_px) // 2
    crop = frame[top : top + side_px, left : left + side_px]
    interpolation = cv2.INTER_AREA if side_px > size else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interpolation)


def load_dive_clips(
    path: str | Path,
    window: tuple[int, int] | None = None,
    scheme: str | Mapping[str, Any] | SegmentationScheme = DEFAULT_SCHEME,
    size: int = 224,
) -> DiveClips:
    """Decode only the dive window of a video file and cut it into normalised clips."""
    segmentation = get_scheme(scheme)
    with VideoReader(path) as reader:
        info = reader.info
        start, end = _validate_window(info, window)
        indices = resample_indices(start, end, segmentation.num_frames)
        needed = sorted(set(indices.tolist()))
        shrink = functools.partial(crop_and_resize, size=size)
        small = dict(zip(needed, reader.iter_frames(needed, transform=shrink), strict=True))
    return _assemble(small, indices, segmentation, (start, end), info)


def iter_dive_clips(
    path: str | Path,
    window: tuple[int, int] | None = None,
    scheme: str | Mapping[str, Any] | SegmentationScheme = DEFAULT_SCHEME,
    size: int = 224,
) -> Iterator[StreamedClip]:
    """``load_dive_clips`` one clip at a time, each yielded once its last frame is decoded.

    The live curve waits for the first clip's 16 frames, not for the whole window: decoding
    stays one sequential pass, paused while the consumer scores the clip just yielded. Every
    clip holds exactly the values ``load_dive_clips`` gives for it.
    """
    segmentation = get_scheme(scheme)
    with VideoReader(path) as reader:
        info = reader.info
        start, end = _validate_window(info, window)
        indices = resample_indices(start, end, segmentation.num_frames)
        needed = sorted(set(indices.tolist()))
        decoded = zip(needed, reader.iter_frames(needed, transform=functools.partial(crop_and_resize, size=size)), strict=True)
        small: dict[int, np.ndarray] = {}
        for number, first in enumerate(segmentation.starts):
            clip_indices = indices[first : first + segmentation.clip_len].tolist()
            last = max(clip_indices)
            while last not in small:
                index, frame = next(decoded)
                small[index] = frame
            frames = np.stack([small[i] for i in clip_indices])
            yield StreamedClip(number, _normalise(frames), clip_indices, (start, end), info)


def frames_to_clips(
    frames: np.ndarray,
    scheme: str | Mapping[str, Any] | SegmentationScheme = DEFAULT_SCHEME,
    size: int = 224,
    first_frame: int = 0,
) -> DiveClips:
    """The same protocol for an in-memory ``(T, H, W, 3)`` uint8 RGB video (synthetic data, trainer).

    ``first_frame`` is the source index of ``frames[0]`` so ``frame_indices`` still point into
    the original video.
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(f"frames must be a non-empty (T, H, W, 3) uint8 array, got {frames.dtype} {frames.shape}")
    segmentation = get_scheme(scheme)
    start, end = first_frame, first_frame + len(frames) - 1
    indices = resample_indices(start, end, segmentation.num_frames)
    small = {int(i): crop_and_resize(frames[i - first_frame], size) for i in set(indices.tolist())}
    return _assemble(small, indices, segmentation, (start, end), None)


def _validate_window(info: VideoInfo, window: tuple[int, int] | None) -> tuple[int, int]:
    last = info.frame_count - 1
    if window is None:
        return 0, last
    start, end = (int(w) for w in window)
    if not 0 <= start <= end <= last:
        raise VideoError(
            f"{info.path}: dive window (frame indices) {start}-{end} is not inside the video "
            f"(indices 0-{last}, frames 1-{last + 1} as people count; the start must not come after the end)"
        )
    return start, end


def _assemble(
    small: dict[int, np.ndarray],
    indices: np.ndarray,
    scheme: SegmentationScheme,
    window: tuple[int, int],
    info: VideoInfo | None,
) -> DiveClips:
    """Stack the resampled frames, normalise once, and slice the scheme's clips out of them."""
    sequence = np.stack([small[int(i)] for i in indices])  # (F, S, S, 3) uint8
    normalised = _normalise(sequence)  # (3, F, S, S)
    clips = torch.stack([normalised[:, s : s + scheme.clip_len] for s in scheme.starts])
    frame_indices = [indices[s : s + scheme.clip_len].tolist() for s in scheme.starts]
    return DiveClips(clips=clips, frame_indices=frame_indices, window=window, info=info)


def _normalise(frames: np.ndarray) -> torch.Tensor:
    """``(F, S, S, 3)`` uint8 RGB -> ``(3, F, S, S)`` float32 in [-1, 1] (elementwise: per clip or per dive alike)."""
    return torch.from_numpy(frames).permute(3, 0, 1, 2).float().div_(127.5).sub_(1.0)
