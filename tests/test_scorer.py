"""Scorer end to end on the tiny backbone: bundles trained/saved in the test, then scored."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from aqa_core.bundle import ModelBundle, bundle_from_model, load_bundle, save_bundle
from aqa_core.clips import DiveClips, frames_to_clips
from aqa_core.errors import RuleError
from aqa_core.methods import Method, build_method
from aqa_core.result import ClipEstimate, DiveInfo, ScoreResult
from aqa_core.rules import apply_panel_rule
from aqa_core.runtime import choose_runtime
from aqa_core.scorer import Scorer, ScoringCancelled

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs" / "models"
CARD = {"dataset": "none", "synthetic": True, "intended_use": "tests"}
CPU = choose_runtime("cpu", "float32", threads=1)


def model_config(name: str) -> dict:
    return json.loads((CONFIGS / name).read_text())


def make_bundle(name: str = "musdl_tiny.json", seed: int = 0) -> ModelBundle:
    torch.manual_seed(seed)
    return bundle_from_model(build_method(model_config(name)), "tiny", "0", CARD)


def dive(panel: int = 7, event: str = "individual", dd: float = 3.0) -> DiveInfo:
    return DiveInfo(event=event, panel_size=panel, dive_number="107B", height=10.0, difficulty=dd)


@pytest.fixture(scope="module")
def clips() -> DiveClips:
    frames = np.random.default_rng(0).integers(0, 256, (40, 48, 64, 3), dtype=np.uint8)
    return frames_to_clips(frames, size=32, first_frame=100)


def test_saved_and_loaded_bundle_scores_identically(tmp_path: Path, clips: DiveClips) -> None:
    bundle = make_bundle(seed=3)
    direct = Scorer(bundle, CPU).score_clips(clips, dive(), "v")
    loaded = Scorer(load_bundle(save_bundle(bundle, tmp_path / "b")), CPU).score_clips(clips, dive(), "v")
    assert direct.final == loaded.final
    assert direct.aggregate == loaded.aggregate
    assert [c.distributions for c in direct.clips] == [c.distributions for c in loaded.clips]


def test_result_shape_for_musdl(clips: DiveClips) -> None:
    result = Scorer(make_bundle(), CPU).score_clips(clips, dive(dd=3.3), "video.mp4")
    assert result.head == "musdl"
    assert result.bins == [i / 2 for i in range(21)]
    assert len(result.clips) == 10 and len(result.judges) == 7 and len(result.aggregate) == 7
    assert all(np.isclose(sum(d), 1.0) for d in result.aggregate)
    assert sum(j.dropped for j in result.judges) == 4
    marks = [j.estimate.score for j in result.judges]
    assert result.final.score == apply_panel_rule(marks, "individual", 3.3).final
    assert result.final.low <= result.final.score <= result.final.high
    assert result.dive_window == (100, 139)
    assert [c.start_frame for c in result.clips] == [f[0] for f in clips.frame_indices]
    assert {"backbone", "head", "total"} <= set(result.timings)
    assert (result.device, result.precision) == ("cpu", "float32")
    assert ScoreResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def set_judge_peaks(model: Method, marks: list[float]) -> None:
    """Make path k ignore its input and put almost all mass on ``marks[k]``."""
    with torch.no_grad():
        for path, mark in zip(model.head.path_mlps, marks, strict=True):
            last = path[-1]
            last.weight.zero_()
            last.bias.fill_(-10.0)
            last.bias[int(mark * 2)] = 10.0


def test_hand_set_heads_decode_to_their_marks(clips: DiveClips) -> None:
    torch.manual_seed(0)
    model = build_method(model_config("musdl_tiny.json"))
    marks = [6.5, 7.0, 7.0, 7.5, 8.0, 8.0, 9.0]
    set_judge_peaks(model, marks)
    scorer = Scorer(bundle_from_model(model, "set", "1", CARD), CPU)
    result = scorer.score_clips(clips, dive(dd=3.6), "v")
    assert [j.estimate.score for j in result.judges] == marks
    outcome = apply_panel_rule(marks, "individual", 3.6)
    assert result.final.score == outcome.final
    assert [j.index for j in result.judges if j.dropped] == outcome.dropped
    assert result.final.high - result.final.low == pytest.approx(0.0)
    # Certain marks, but 6.5 to 9.0 is a split panel.
    assert result.uncertainty.level == "medium"
    assert [r.split(":")[0] for r in result.uncertainty.reasons] == ["judges disagree"]
    assert all(c.score == outcome.final for c in result.clips)
    # A 5-judge event is served by the middle five paths.
    five = scorer.score_clips(clips, dive(panel=5, dd=3.6), "v")
    assert [j.estimate.score for j in five.judges] == marks[1:6]
    assert five.final.score == apply_panel_rule(marks[1:6], "individual", 3.6).final


def test_synchronised_panel_needs_as_many_paths(clips: DiveClips) -> None:
    with pytest.raises(RuleError, match="predicts 7 judges"):
        Scorer(make_bundle(), CPU).score_clips(clips, dive(panel=9, event="synchronised"), "v")


def test_usdl_head(clips: DiveClips) -> None:
    result = Scorer(make_bundle("usdl_tiny.json"), CPU, decoding="expectation").score_clips(clips, dive(), "v")
    assert result.head == "usdl" and result.judges == []
    assert len(result.bins) == 101 and result.bins[-1] == pytest.approx(104.5)
    assert len(result.aggregate) == 1 and all(len(c.distributions) == 1 for c in result.clips)
    assert result.final.score == pytest.approx(np.dot(result.aggregate[0], result.bins))
    assert result.decoding == "expectation"


def test_per_clip_callback_streams_every_clip_in_order(clips: DiveClips) -> None:
    seen: list[ClipEstimate] = []
    result = Scorer(make_bundle(), CPU).score_clips(clips, dive(), "v", on_clip=seen.append)
    assert [c.index for c in seen] == list(range(10))
    for streamed, final in zip(seen, result.clips, strict=True):
        assert streamed.score == final.score
        np.testing.assert_allclose(streamed.distributions, final.distributions, atol=1e-6)


def test_cancel_between_clips(clips: DiveClips) -> None:
    cancel = threading.Event()
    seen: list[int] = []

    def on_clip(clip: ClipEstimate) -> None:
        seen.append(clip.index)
        cancel.set()

    # The first clip runs alone (for an early curve); cancelling then stops before the rest.
    with pytest.raises(ScoringCancelled):
        Scorer(make_bundle(), CPU).score_clips(clips, dive(), "v", on_clip=on_clip, cancel=cancel)
    assert seen == [0]
    cancel.clear()
    cancel.set()
    with pytest.raises(ScoringCancelled):
        Scorer(make_bundle(), CPU).score_clips(clips, dive(), "v", cancel=cancel)


def test_score_features_reuses_cached_features(clips: DiveClips) -> None:
    scorer = Scorer(make_bundle(), CPU)
    full = scorer.score_clips(clips, dive(), "v")
    with torch.inference_mode():
        features = scorer.model.features(clips.clips)
    cached = scorer.score_features(features, dive(), clips.frame_indices, clips.window, "v")
    assert cached.final == full.final
    assert cached.judges == full.judges
    assert "backbone" not in cached.timings


def test_score_a_video_file(tiny_video) -> None:
    path = tiny_video(count=30, width=64, height=48)
    result = Scorer(make_bundle(), CPU).score(path, dive(), window=(5, 24))
    assert result.video == str(path)
    assert result.dive_window == (5, 24)
    assert all(5 <= c.start_frame <= c.end_frame <= 24 for c in result.clips)
    assert result.timings["decode"] > 0
    assert result.timings["total"] >= result.timings["decode"] + result.timings["backbone"]


@pytest.mark.slow
@pytest.mark.weights
def test_real_clip_with_i3d_end_to_end(tmp_path: Path, shared_clips) -> None:
    """Plumbing only: random heads, saved and loaded, on a real Olympic dive through real I3D."""
    torch.manual_seed(0)
    model = build_method(model_config("musdl_i3d.json"))
    folder = save_bundle(bundle_from_model(model, "random-heads", "0", CARD), tmp_path / "b")
    dive_a, _ = shared_clips
    seen: list[int] = []
    result = Scorer(load_bundle(folder)).score(dive_a, dive(dd=3.0), on_clip=lambda c: seen.append(c.index))
    assert seen == list(range(10))
    assert len(result.judges) == 7 and len(result.clips) == 10
    assert result.timings["backbone"] > 0


def test_synchronised_panel_with_a_matching_model(clips: DiveClips) -> None:
    config = model_config("musdl_tiny.json")
    config["head"]["judges"] = 9
    torch.manual_seed(0)
    model = build_method(config)
    marks = [7.0, 7.5, 8.0, 8.0, 6.5, 7.0, 7.0, 7.5, 8.5]  # E1-E4 then S1-S5
    set_judge_peaks(model, marks)
    result = Scorer(bundle_from_model(model, "sync", "1", CARD), CPU).score_clips(clips, dive(9, "synchronised", 3.0), "v")
    outcome = apply_panel_rule(marks, "synchronised", 3.0)
    assert result.final.score == outcome.final
    assert [j.index for j in result.judges if j.dropped] == outcome.dropped
