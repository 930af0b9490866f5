"""Clip-by-clip scoring (``iter_dive_clips``, ``Scorer.stream``) against the one-pass path on video files.

The stream is what the desk's live curve shows, so it must be the same dive as the batch: the
same clip pixels, the clips in order, each as soon as its frames are decoded, and a final result
equal to ``Scorer.score`` without a watcher.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import torch

from aqa_core.bundle import bundle_from_model
from aqa_core.clips import iter_dive_clips, load_dive_clips
from aqa_core.methods import build_method
from aqa_core.result import ClipEstimate, DiveInfo, ScoreResult
from aqa_core.runtime import choose_runtime
from aqa_core.scorer import Scorer, ScoringCancelled

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "models" / "musdl_tiny.json"
CPU = choose_runtime("cpu", "float32", threads=1)
DIVE = DiveInfo(event="individual", panel_size=7, dive_number="107B", height=10.0, difficulty=3.0)


def tiny_scorer() -> Scorer:
    torch.manual_seed(0)
    bundle = bundle_from_model(build_method(json.loads(CONFIG.read_text())), "tiny", "0", {"dataset": "none", "synthetic": True})
    return Scorer(bundle, CPU, decoding="argmax")


def test_streamed_clips_hold_exactly_the_batch_pixels(tiny_video) -> None:
    video = tiny_video(count=40)
    batch = load_dive_clips(video, (3, 35), size=32)
    streamed = list(iter_dive_clips(video, (3, 35), size=32))
    assert [c.index for c in streamed] == list(range(10))
    for clip in streamed:
        assert torch.equal(clip.clip, batch.clips[clip.index])
        assert clip.frame_indices == batch.frame_indices[clip.index]
        assert clip.window == batch.window == (3, 35)


def test_first_clip_is_yielded_before_the_window_is_decoded(tiny_video, monkeypatch: pytest.MonkeyPatch) -> None:
    """Clip 0 needs the first 16 of 103 resampled frames: the rest of the window is still undecoded."""
    from aqa_core import video as video_module

    decoded: list[int] = []
    real_decode = video_module.VideoReader._decode

    def counting(self, index: int):  # noqa: ANN001, ANN202 - a spy on the real method
        decoded.append(index)
        return real_decode(self, index)

    monkeypatch.setattr(video_module.VideoReader, "_decode", counting)
    path = tiny_video(count=103)
    clips = iter_dive_clips(path, size=32)
    first = next(clips)
    assert first.frame_indices == list(range(16))
    assert max(decoded) == 15  # not one frame past what clip 0 needs
    rest = list(clips)
    assert [c.index for c in rest] == list(range(1, 10))
    assert max(decoded) == 102


def test_stream_yields_each_clip_in_order_then_the_score_of_the_batch(tiny_video) -> None:
    video = tiny_video(count=90)
    scorer = tiny_scorer()
    items = list(scorer.stream(video, DIVE, window=(0, 80)))
    clips, result = items[:-1], items[-1]
    assert all(isinstance(c, ClipEstimate) for c in clips) and isinstance(result, ScoreResult)
    assert [c.index for c in clips] == list(range(10))
    assert [c.score for c in clips] == [c.score for c in result.clips]
    batch = scorer.score(video, DIVE, window=(0, 80))
    assert result.final == batch.final
    assert [j.estimate.score for j in result.judges] == [j.estimate.score for j in batch.judges]
    assert result.dive_window == batch.dive_window == (0, 80)
    assert {"decode", "backbone", "head", "total"} <= set(result.timings)


def test_damage_check_starts_once_the_first_curve_is_out(tiny_video, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check's child (a Python start and its own decode) shared two cores with clip 0's backbone:
    it starts after the first estimate is delivered, and its answer still reaches the result."""
    import aqa_core.scorer as scorer_module

    started: list[tuple[str, tuple[int, int] | None]] = []
    real_check = scorer_module.DamageCheck

    def recording(source, window=None):  # noqa: ANN001, ANN202 - a spy on the real class
        started.append((str(source), window))
        return real_check(source, window)

    monkeypatch.setattr(scorer_module, "DamageCheck", recording)
    video = tiny_video(count=90)
    stream = tiny_scorer().stream(video, DIVE, window=(0, 80))
    first = next(stream)
    assert isinstance(first, ClipEstimate) and first.index == 0
    assert started == []  # clip 0 was scored with no check beside it
    second = next(stream)
    assert isinstance(second, ClipEstimate) and started == [(str(video), (0, 80))]
    result = list(stream)[-1]
    assert isinstance(result, ScoreResult) and result.damage is None  # the clean file's check answered


def test_cancel_stops_the_stream_after_the_clip_in_flight(tiny_video) -> None:
    cancel = threading.Event()
    seen: list[int] = []

    def on_clip(clip: ClipEstimate) -> None:
        seen.append(clip.index)
        if clip.index == 2:
            cancel.set()

    with pytest.raises(ScoringCancelled):
        tiny_scorer().score(tiny_video(count=90), DIVE, window=(0, 80), on_clip=on_clip, cancel=cancel)
    assert seen == [0, 1, 2]
