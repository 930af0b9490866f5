"""A damaged video never scores as a whole one: FFmpeg's decoding errors, frame by frame, reach the result.

Truth is independent of the check: the damaged copy's frames are decoded beside the clean file's,
and the frames whose pixels differ are the damaged ones (the check reads FFmpeg's error log in a
child process instead). The check runs as a child of this very program (``aqa-judge video-check``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from app_support import tiny_bundle
from video_damage_support import damaged_copy, frames_that_differ, textured_video

import aqa_core.video_check
from app.analysis_cache import adapt_to_dive
from aqa_core.result import DiveInfo, ScoreResult
from aqa_core.runtime import choose_runtime
from aqa_core.scorer import Scorer
from aqa_core.video_check import DamageCheck

ROOT = Path(__file__).resolve().parent.parent
DIVE = DiveInfo("individual", 7, "107B", 10.0, 3.0)


@pytest.fixture
def videos(tmp_path: Path) -> tuple[Path, Path, list[int]]:
    clean = textured_video(tmp_path / "clean.mp4")
    damaged = damaged_copy(clean, tmp_path / "damaged.mp4")
    truth = frames_that_differ(clean, damaged)
    assert truth, "the damage must reach some frames"
    return clean, damaged, truth


def video_check(*args: str) -> subprocess.CompletedProcess[str]:
    """Output to a pipe and Python buffered, as the frozen app's child runs (its interpreter ignores PYTHONUNBUFFERED)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run([sys.executable, "-m", "cli.main", "video-check", *args], capture_output=True, text=True, cwd=ROOT, env=env, check=False)


def test_video_check_names_the_frames_that_decode_damaged(videos) -> None:  # noqa: ANN001
    clean, damaged, truth = videos
    said = video_check(str(damaged))
    assert said.returncode == 1 and f"{len(truth)} of 30 frames decoded with errors" in said.stdout
    assert f"frames {', '.join(str(f + 1) for f in truth)}, as people count" in said.stdout
    assert video_check(str(clean)).stdout.strip().endswith("30 frames decoded without errors")
    assert json.loads(video_check(str(damaged), "--json").stdout)["frames"] == truth  # the JSON alone on stdout


def test_frames_lost_where_the_decoding_stopped_at_the_damage_are_damaged_too(tmp_path: Path) -> None:
    clean = textured_video(tmp_path / "clean.mp4")
    broken = damaged_copy(clean, tmp_path / "broken.mp4", every=31)
    truth = frames_that_differ(clean, broken)
    answer = json.loads(video_check(str(broken), "--frames", "0", "29", "--json").stdout)
    assert answer["read"] < 30 and answer["lost"] == 30 - answer["read"], answer  # the decoding stopped early
    assert answer["frames"] == truth and truth[-1] == 29
    assert f"and {answer['lost']} more not decoded at all" in video_check(str(broken)).stdout


def test_a_damaged_dive_scores_with_its_damage_said(videos) -> None:  # noqa: ANN001
    clean, damaged, truth = videos
    scorer = Scorer(tiny_bundle(), choose_runtime("cpu", "float32", threads=1))
    whole = scorer.score(clean, DIVE, window=(0, 29))
    assert whole.damage is None and not any("damaged" in c for c in whole.caveats)
    for result in (scorer.score(damaged, DIVE, window=(0, 29)), list(scorer.stream(damaged, DIVE, window=(0, 29)))[-1]):
        assert isinstance(result, ScoreResult) and result.damage is not None
        assert result.damage.frames == truth and result.damage.sample
        assert result.caveats[0] == result.damage.message and f"between {truth[0] + 1} and {truth[-1] + 1}" in result.damage.message
        assert result.uncertainty.level == "high" and result.uncertainty.reasons[0] == result.damage.message
        assert ScoreResult.from_dict(result.to_dict()) == result  # stored and reopened, the damage stays said
    rescaled = adapt_to_dive(result, DiveInfo("individual", 7, "109B", 10.0, 3.5), str(damaged))  # the desk on a new dive number
    assert rescaled is not None and rescaled.damage == result.damage
    assert rescaled.uncertainty.level == "high" and rescaled.uncertainty.reasons[0] == result.damage.message
    outside = scorer.score(damaged, DIVE, window=(truth[-1] + 1, 29))  # a window past the damage is whole
    assert outside.damage is None


def test_a_check_that_cannot_run_says_so(videos, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    clean, _, _ = videos
    monkeypatch.setattr(aqa_core.video_check, "own_command", lambda *args: [sys.executable, "-c", "import sys; sys.exit('no decoder here')"])
    damage = DamageCheck(clean, (0, 29)).result()
    assert damage is not None and damage.frames == [] and "exited 1: no decoder here" in damage.problem
    assert damage.message.startswith("the video could not be checked for damage")
    monkeypatch.setattr(aqa_core.video_check, "own_command", lambda *args: [str(clean.parent / "no-such-program")])
    assert "could not start" in DamageCheck(clean, (0, 29)).result().problem
