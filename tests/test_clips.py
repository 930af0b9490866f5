"""The clip protocol: resampling, segmentation schemes, crop/resize/normalise, windows, memory."""

from __future__ import annotations

import tracemalloc

import cv2
import numpy as np
import pytest
import torch

from aqa_core.clips import (
    SegmentationScheme,
    crop_and_resize,
    frames_to_clips,
    get_scheme,
    load_dive_clips,
    resample_indices,
)
from aqa_core.errors import ConfigError, VideoError
from aqa_core.registry import SEGMENTATIONS
from aqa_core.video import read_frames


def _to_uint8(clip_frame: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [-1, 1] back to (H, W, 3) uint8, inverting x / 127.5 - 1."""
    return ((clip_frame.permute(1, 2, 0).numpy() + 1.0) * 127.5).round().clip(0, 255).astype(np.uint8)


def test_default_scheme_is_the_usdl_protocol() -> None:
    scheme = get_scheme("usdl_10x16")
    # USDL/MUSDL appendix A, "10-seg-s1": 103 frames, clips of 16 starting at these frames.
    assert (scheme.num_frames, scheme.clip_len, scheme.num_clips) == (103, 16, 10)
    assert scheme.starts == (0, 10, 20, 30, 40, 50, 60, 70, 80, 87)


def test_uniform_scheme_from_config_covers_the_sequence() -> None:
    scheme = get_scheme({"name": "uniform", "clips": 6, "num_frames": 96})
    assert scheme.num_clips == 6 and scheme.starts[0] == 0
    assert scheme.starts[-1] + scheme.clip_len == 96
    assert len(set(np.diff(scheme.starts))) == 1  # 96 frames split evenly: 6 segments of 16


def test_bad_schemes_are_refused() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        get_scheme({"name": "custom", "num_frames": 50, "clip_len": 16, "starts": [0, 40]})
    with pytest.raises(ConfigError, match="usdl_10x16"):
        get_scheme("no_such_scheme")
    assert {"usdl_10x16", "uniform", "custom"} <= set(SEGMENTATIONS.names())


@pytest.mark.parametrize(("start", "end"), [(0, 108), (5, 400), (30, 60), (7, 7)])
def test_resampling_is_uniform_and_keeps_both_ends(start: int, end: int) -> None:
    indices = resample_indices(start, end, 103)
    assert len(indices) == 103
    assert (indices[0], indices[-1]) == (start, end)
    steps = np.diff(indices)
    assert steps.min() >= 0
    assert steps.max() - steps.min() <= 1  # uniform up to rounding
    if end - start + 1 >= 103:
        assert len(set(indices.tolist())) == 103  # a long window never repeats a frame


def test_crop_keeps_the_centre_and_resizes_the_short_side() -> None:
    frame = np.full((100, 200, 3), 90, np.uint8)
    # The crop covers the centre 100 * 224/256 = 87.5 px of each side: columns ~56..144.
    frame[:, :50] = (255, 0, 0)
    frame[:, 151:] = (0, 0, 255)
    out = crop_and_resize(frame, 32)
    assert out.shape == (32, 32, 3)
    assert np.all(out == 90)
    tall = np.zeros((300, 120, 3), np.uint8)
    tall[140:160] = 200  # a stripe at the vertical centre survives the crop
    assert crop_and_resize(tall, 16)[8].mean() > 100


def test_frames_to_clips_maps_every_clip_frame_to_its_source() -> None:
    count, first = 60, 1000
    values = np.arange(count, dtype=np.uint8) * 4
    frames = np.broadcast_to(values[:, None, None, None], (count, 24, 40, 3)).copy()
    dive = frames_to_clips(frames, size=16, first_frame=first)
    assert dive.clips.shape == (10, 3, 16, 16, 16) and dive.clips.dtype == torch.float32
    assert dive.window == (first, first + count - 1) and dive.info is None
    assert dive.frame_indices[-1][-1] == first + count - 1
    for clip, sources in zip(dive.clips, dive.frame_indices, strict=True):
        expected = [int(values[s - first]) / 127.5 - 1.0 for s in sources]
        np.testing.assert_allclose(clip[0, :, 5, 7].numpy(), expected, atol=1e-6)  # flat frames
    assert dive.clips.min() >= -1.0 and dive.clips.max() <= 1.0


def test_frames_to_clips_rejects_wrong_arrays() -> None:
    with pytest.raises(ValueError, match="uint8"):
        frames_to_clips(np.zeros((10, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\)"):
        frames_to_clips(np.zeros((10, 8, 8), np.uint8))


def test_load_dive_clips_from_a_file_and_a_window(tiny_video) -> None:
    path = tiny_video(count=28)
    whole = load_dive_clips(path, size=32)
    assert whole.window == (0, 27) and whole.info is not None and whole.info.frame_count == 28
    windowed = load_dive_clips(path, window=(4, 19), scheme={"name": "uniform", "clips": 4}, size=32)
    assert windowed.clips.shape == (4, 3, 16, 32, 32)
    assert windowed.window == (4, 19)
    for clip, sources in zip(windowed.clips, windowed.frame_indices, strict=True):
        assert all(4 <= s <= 19 for s in sources)
        decoded = [tiny_video.index_of(_to_uint8(clip[:, t])) for t in range(clip.shape[1])]
        assert decoded == sources  # the pixels really come from the frames frame_indices names


@pytest.mark.parametrize("window", [(-1, 10), (5, 28), (12, 11)])
def test_windows_outside_the_video_are_refused(tiny_video, window: tuple[int, int]) -> None:
    path = tiny_video(count=28)
    with pytest.raises(VideoError, match=r"tiny\.mp4: dive window .*indices 0-27, frames 1-28 as people count"):
        load_dive_clips(path, window=window)


def test_large_video_is_shrunk_as_it_is_decoded(tiny_video) -> None:
    count, width, height = 16, 1920, 1080
    path = tiny_video(count=count, width=width, height=height, name="big.mp4")
    tracemalloc.start()
    try:
        dive = load_dive_clips(path, size=64)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert dive.clips.shape == (10, 3, 16, 64, 64)
    full_window = count * width * height * 3
    assert peak < full_window / 4  # a few full frames at a time, never the whole window


def test_custom_scheme_object_is_accepted() -> None:
    scheme = SegmentationScheme(num_frames=20, clip_len=8, starts=(0, 12))
    frames = np.zeros((30, 16, 16, 3), np.uint8)
    dive = frames_to_clips(frames, scheme=scheme, size=8)
    assert dive.clips.shape == (2, 3, 8, 8, 8)
    assert len(dive.frame_indices) == 2 and all(len(f) == 8 for f in dive.frame_indices)


@pytest.mark.shared
def test_real_clip_matches_the_textbook_resize_then_crop(shared_clips) -> None:
    path = shared_clips[1]
    dive = load_dive_clips(path)
    assert dive.clips.shape == (10, 3, 16, 224, 224)
    assert dive.window == (0, 86) and dive.frame_indices[-1][-1] == 86
    clip, position = 6, 9
    source = dive.frame_indices[clip][position]
    frame = read_frames(path, source, source)[0]
    # Reference: resize the whole frame to short side 256, then take the centre 224 x 224.
    scale = 256 / min(frame.shape[:2])
    resized = cv2.resize(frame, (round(frame.shape[1] * scale), round(frame.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    top, left = (resized.shape[0] - 224) // 2, (resized.shape[1] - 224) // 2
    reference = resized[top : top + 224, left : left + 224].astype(float)
    ours = _to_uint8(dive.clips[clip, :, position]).astype(float)
    assert np.abs(ours - reference).mean() < 4.0  # same pixels, only interpolation rounding differs
