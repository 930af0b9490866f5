"""Dive window -> fixed-length frame sequence -> overlapping clips, as the USDL/MUSDL seed paper does.

The protocol (USDL/MUSDL, appendix A, "10-seg-s1"): every dive is resampled to 103 frames and
cut into 10 clips of 16 frames starting at 0, 10, ..., 80, 87, each fed to I3D.

* **Resampling.** ``np.linspace(start, end, num_frames)`` rounded to the nearest integer: uniform
  in time, keeps both ends of the window, and repeats frames when the window is shorter than
  ``num_frames`` (a short window is stretched rather than refused).
* **Pixels.** Crop, resize and value scaling are the backbone's, declared with its registry
  entry (``aqa_core.backbones.preprocessing``), and so are the frames per clip: a scheme whose
  clips are another length than the backbone takes is refused (``clip_protocol``). I3D's (the
  default): resize keeping the aspect ratio so the short side is ``size * 256 / 224``, centre-crop
  ``size`` x ``size``, values ``x / 127.5 - 1``. For a short-side resize we crop the source first
  and resize only the crop: the same pixels map to the same output, but a 4K frame never gets
  resized whole. Shrinking uses area interpolation (no aliasing of the diver's thin limbs).
  Layout ``(N, 3, clip_len, size, size)`` float32, RGB.

Segmentation schemes are registered in ``SEGMENTATIONS`` so a bundle can name its own
("usdl_10x16", or ``{"name": "uniform", "clips": 6, "num_frames": 96}`` for C3D-AVG-style
segments).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from aqa_core.backbones.i3d import PREPROCESSING as I3D_PREPROCESSING
from aqa_core.backbones.preprocessing import Preprocessing, backbone_info
from aqa_core.errors import ConfigError, VideoError
from aqa_core.registry import SEGMENTATIONS
from aqa_core.video import VideoInfo, VideoReader

DEFAULT_SCHEME = "usdl_10x16"


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


def model_segmentation(model_config: Mapping[str, Any]) -> str | Mapping[str, Any]:
    """The segmentation spec a model config cuts clips with: its own, else its backbone's declared one."""
    return model_config.get("segmentation") or backbone_info(model_config.get("backbone") or {}).segmentation


def clip_protocol(model_config: Mapping[str, Any]) -> tuple[SegmentationScheme, Preprocessing]:
    """The segmentation and preprocessing a model config's backbone sees; ConfigError when their clip lengths differ."""
    backbone = model_config.get("backbone") or {}
    preprocessing = backbone_info(backbone).preprocessing
    scheme = get_scheme(model_segmentation(model_config))
    if scheme.clip_len != preprocessing.clip_len:
        raise ConfigError(
            f"segmentation cuts clips of {scheme.clip_len} frames, but backbone {backbone.get('name')!r} takes clips of {preprocessing.clip_len}"
        )
    return scheme, preprocessing


@dataclass
class DiveClips:
    """The clip tensor for one dive and where every clip frame came from in the source video."""

    clips: torch.Tensor  # (N, 3, clip_len, size, size) float32, scaled as the backbone's preprocessing says
    frame_indices: list[list[int]]  # source frame of every clip frame, per clip
    window: tuple[int, int]  # first and last source frame of the dive (inclusive)
    info: VideoInfo | None  # None for in-memory frames


@dataclass(frozen=True)
class StreamedClip:
    """One clip of a dive as soon as its frames are decoded (``iter_dive_clips``)."""

    index: int  # position in the segmentation scheme
    clip: torch.Tensor  # (3, clip_len, size, size) float32, as ``DiveClips.clips[index]``
    frame_indices: list[int]  # source frame of every clip frame
    window: tuple[int, int]
    info: VideoInfo


def resample_indices(start: int, end: int, num_frames: int) -> np.ndarray:
    """``num_frames`` source indices uniformly covering ``start..end`` (see module docstring)."""
    return np.rint(np.linspace(start, end, num_frames)).astype(int)


def crop_and_resize(frame: np.ndarray, size: int, short_side: float = 256 / 224) -> np.ndarray:
    """Centre ``size`` x ``size`` crop of the frame resized to short side ``size * short_side`` (I3D: 256/224)."""
    height, width = frame.shape[:2]
    side = min(height, width) / short_side  # source pixels covered by the crop
    side_px = max(1, int(round(side)))
    top = (height - side_px) // 2
    left = (width - side_px) // 2
    crop = frame[top : top + side_px, left : left + side_px]
    interpolation = cv2.INTER_AREA if side_px > size else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interpolation)


def resize_and_crop(frame: np.ndarray, resize: tuple[int, int], crop: int) -> np.ndarray:
    """The frame resized to ``(height, width)`` (aspect ignored, as C3D's and torchvision's video models were
    trained), then its centre ``crop`` x ``crop`` (offsets rounded as torchvision's ``center_crop``)."""
    height, width = resize
    interpolation = cv2.INTER_AREA if frame.shape[0] > height or frame.shape[1] > width else cv2.INTER_LINEAR
    resized = cv2.resize(frame, (width, height), interpolation=interpolation)
    top, left = int(round((height - crop) / 2)), int(round((width - crop) / 2))
    return resized[top : top + crop, left : left + crop]


def _spatial(preprocessing: Preprocessing | None, size: int | None) -> tuple[Preprocessing, Callable[[np.ndarray], np.ndarray]]:
    """The preprocessing in force (I3D's unless given; ``size`` overrides the crop side) and its per-frame transform."""
    chosen = preprocessing or I3D_PREPROCESSING
    if size is not None and size != chosen.crop:
        chosen = chosen.at_crop(size)
    if chosen.short_side is not None:
        return chosen, functools.partial(crop_and_resize, size=chosen.crop, short_side=chosen.short_side)
    assert chosen.resize is not None
    return chosen, functools.partial(resize_and_crop, resize=chosen.resize, crop=chosen.crop)


def load_dive_clips(
    path: str | Path,
    window: tuple[int, int] | None = None,
    scheme: str | Mapping[str, Any] | SegmentationScheme = DEFAULT_SCHEME,
    size: int | None = None,
    preprocessing: Preprocessing | None = None,
) -> DiveClips:
    """Decode only the dive window of a video file and cut it into clips as ``preprocessing`` (default I3D's) says."""
    segmentation = get_scheme(scheme)
    chosen, shrink = _spatial(preprocessing, size)
    with VideoReader(path) as reader:
        info = reader.info
        (start, end), indices, decoded = _window_frames(reader, window, segmentation, shrink)
        small = dict(decoded)
    return _assemble(small, indices, segmentation, (start, end), info, chosen)


def iter_dive_clips(
    path: str | Path,
    window: tuple[int, int] | None = None,
    scheme: str | Mapping[str, Any] | SegmentationScheme = DEFAULT_SCHEME,
    size: int | None = None,
    preprocessing: Preprocessing | None = None,
) -> Iterator[StreamedClip]:
    """``load_dive_clips`` one clip at a time, each yielded once its last frame is decoded.

    The live curve waits for the first clip's frames, not for the whole window: decoding
    stays one sequential pass, paused while the consumer scores the clip just yielded. Every
    clip holds exactly the values ``load_dive_clips`` gives for it.
    """
    segmentation = get_scheme(scheme)
    chosen, shrink = _spatial(preprocessing, size)
    with VideoReader(path) as reader:
        info = reader.info
        (start, end), indices, decoded = _window_frames(reader, window, segmentation, shrink)
        yield from _clips_as_decoded(decoded, indices, segmentation, (start, end), info, chosen)


FOUND_LOOKBACK_S = 10.0  # clip frames kept behind the finder's decode: a window starting earlier is decoded again


def iter_found_dive_clips(
    path: str | Path,
    scheme: str | Mapping[str, Any] | SegmentationScheme = DEFAULT_SCHEME,
    size: int | None = None,
    preprocessing: Preprocessing | None = None,
) -> Iterator[StreamedClip]:
    """``iter_dive_clips`` of the window ``dive_finder.detected_window`` finds, from the same one decode.

    The finder reads every frame from the start until the first dive is settled (a few frames
    past its entry, ``dive_finder.first_dive_settled``), not the whole file; every frame it reads
    is also cut as a clip frame and kept (the last ``FOUND_LOOKBACK_S``), so once the window is
    known its first clip is ready at once and the decode goes on from there for the rest. The
    window is exactly ``detected_window``'s (the whole video when it finds no dive), and every
    clip holds exactly the values ``load_dive_clips`` gives for that window.
    """
    from aqa_core.dive_finder import FirstDiveWatch  # OpenCV and SciPy: only where a dive is found

    segmentation = get_scheme(scheme)
    chosen, shrink = _spatial(preprocessing, size)
    with VideoReader(path) as reader:
        info = reader.info
        watch = FirstDiveWatch(info.fps, info.frame_count)
        keep = max(1, int(round(FOUND_LOOKBACK_S * info.fps)))
        kept: dict[int, np.ndarray] = {}
        index = -1
        for index, frame in enumerate(reader.iter_frames(range(info.frame_count))):
            kept[index] = shrink(frame)
            kept.pop(index - keep, None)
            if watch.add(frame):
                break
        start, end = _validate_window(info, watch.window)
        indices = resample_indices(start, end, segmentation.num_frames)
        needed = sorted(set(indices.tolist()))
        earlier = [i for i in needed if i <= index and i not in kept]  # before the kept frames: decoded again
        after = [i for i in needed if i > index]  # the same decode goes on from where the finder stopped
        with VideoReader(path) if earlier else contextlib.nullcontext() as again:
            decoded = itertools.chain(
                zip(earlier, again.iter_frames(earlier, transform=shrink)) if again is not None else (),
                ((i, kept[i]) for i in needed if i in kept),
                zip(after, reader.iter_frames(after, transform=shrink)),
            )
            yield from _clips_as_decoded(decoded, indices, segmentation, (start, end), info, chosen)


def _clips_as_decoded(
    decoded: Iterator[tuple[int, np.ndarray]], indices: np.ndarray, segmentation: SegmentationScheme, window: tuple[int, int],
    info: VideoInfo, preprocessing: Preprocessing,
) -> Iterator[StreamedClip]:
    """Each clip of the scheme as soon as ``decoded`` (index, clip frame, in increasing order) has reached its last frame."""
    small: dict[int, np.ndarray] = {}
    for number, first in enumerate(segmentation.starts):
        clip_indices = indices[first : first + segmentation.clip_len].tolist()
        last = max(clip_indices)
        while last not in small:
            index, frame = next(decoded)
            small[index] = frame
        frames = np.stack([small[i] for i in clip_indices])
        yield StreamedClip(number, _normalise(frames, preprocessing), clip_indices, window, info)


def frames_to_clips(
    frames: np.ndarray,
    scheme: str | Mapping[str, Any] | SegmentationScheme = DEFAULT_SCHEME,
    size: int | None = None,
    first_frame: int = 0,
    preprocessing: Preprocessing | None = None,
) -> DiveClips:
    """The same protocol for an in-memory ``(T, H, W, 3)`` uint8 RGB video (synthetic data, trainer).

    ``first_frame`` is the source index of ``frames[0]`` so ``frame_indices`` still point into
    the original video.
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(f"frames must be a non-empty (T, H, W, 3) uint8 array, got {frames.dtype} {frames.shape}")
    segmentation = get_scheme(scheme)
    chosen, shrink = _spatial(preprocessing, size)
    start, end = first_frame, first_frame + len(frames) - 1
    indices = resample_indices(start, end, segmentation.num_frames)
    small = {int(i): shrink(frames[i - first_frame]) for i in set(indices.tolist())}
    return _assemble(small, indices, segmentation, (start, end), None, chosen)


def _window_frames(
    reader: VideoReader, window: tuple[int, int] | None, segmentation: SegmentationScheme, shrink: Callable[[np.ndarray], np.ndarray]
) -> tuple[tuple[int, int], np.ndarray, Iterator[tuple[int, np.ndarray]]]:
    """The checked window, its resampled frame indices, and (index, shrunk frame) for each distinct one, decoded lazily in order."""
    start, end = _validate_window(reader.info, window)
    indices = resample_indices(start, end, segmentation.num_frames)
    needed = sorted(set(indices.tolist()))
    return (start, end), indices, zip(needed, reader.iter_frames(needed, transform=shrink), strict=True)


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
    preprocessing: Preprocessing,
) -> DiveClips:
    """Stack the resampled frames, scale their values once, and slice the scheme's clips out of them."""
    sequence = np.stack([small[int(i)] for i in indices])  # (F, S, S, 3) uint8
    normalised = _normalise(sequence, preprocessing)  # (3, F, S, S)
    clips = torch.stack([normalised[:, s : s + scheme.clip_len] for s in scheme.starts])
    frame_indices = [indices[s : s + scheme.clip_len].tolist() for s in scheme.starts]
    return DiveClips(clips=clips, frame_indices=frame_indices, window=window, info=info)


def _normalise(frames: np.ndarray, preprocessing: Preprocessing) -> torch.Tensor:
    """``(F, S, S, 3)`` uint8 RGB -> ``(3, F, S, S)`` float32 scaled as the backbone declares (elementwise: per clip or per dive alike)."""
    normalised = torch.from_numpy(frames).permute(3, 0, 1, 2).float().div_(preprocessing.divide)
    normalised.sub_(torch.tensor(preprocessing.mean).view(3, 1, 1, 1))
    if preprocessing.std != (1.0, 1.0, 1.0):  # dividing by one changes nothing; skip the pass
        normalised.div_(torch.tensor(preprocessing.std).view(3, 1, 1, 1))
    return normalised
