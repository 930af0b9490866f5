"""A damaged club video is refused like a missing frame, not trained on as whole.

The truth is the decoded pixels (``frames_that_differ``: the damaged copy against the clean file),
not the check's own log; the check runs as a child of this very program, as in training.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_trainer_modes import make_config
from video_damage_support import club_dataset, textured_video

import aqa_core.video_check
from aqa_core.errors import DatasetError
from trainer.datasets import inspect_dataset, open_dataset
from trainer.datasets.base import PIXELS
from trainer.datasets.video_damage import answers_dir, check_videos
from trainer.progress import ProgressStream, read_events
from trainer.run import train

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def club(tmp_path: Path, isolated_home: Path) -> tuple[Path, list[int]]:
    return club_dataset(tmp_path / "club")


def test_the_damaged_video_is_a_pixels_problem_naming_its_frames(club) -> None:  # noqa: ANN001
    folder, truth = club
    checked = check_videos(inspect_dataset(folder))
    assert [r.key for r in checked.records] == [f"dive{i}.mp4" for i in range(5)]
    (problem,) = checked.problems
    assert problem.dive == "dive5.mp4" and problem.kind == PIXELS and problem.split == "train"
    assert f"damaged video dive5.mp4: FFmpeg could not decode {len(truth)} frames between {truth[0] + 1} and {truth[-1] + 1} cleanly" in problem.problem
    assert checked.notes["video_check"] == "6 videos checked for decoding damage: 1 damaged"
    with pytest.raises(DatasetError, match=r"frames or video unusable for 1 dive \(dive5.mp4: damaged video"):
        open_dataset(folder, check_damage=True)
    assert len(open_dataset(folder, partial=True, check_damage=True).records) == 5
    assert len(open_dataset(folder).records) == 6  # without the check the damage is invisible: the reason it exists


def test_answers_are_kept_by_content_and_a_changed_file_is_asked_again(club, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    folder, _ = club
    check_videos(inspect_dataset(folder))
    assert len(list(answers_dir().glob("*.json"))) == 6
    monkeypatch.setattr(aqa_core.video_check, "own_command", lambda *args: [sys.executable, "-c", "import sys; sys.exit('no decoder here')"])
    again = check_videos(inspect_dataset(folder))  # every answer kept: no child is asked
    assert [p.dive for p in again.problems] == ["dive5.mp4"] and "could not" not in again.notes["video_check"]
    textured_video(folder / "dive1.mp4", count=40)  # other bytes, same name: its old answer is not this file's
    progress = ProgressStream(folder / "events.jsonl", stdout=False, bar=False)
    unchecked = check_videos(inspect_dataset(folder), progress)
    assert unchecked.notes["video_check"].endswith("1 video(s) could not be checked for damage and are used unchecked: dive1.mp4 "
                                                   "(the check exited 1: no decoder here)")
    assert "dive1.mp4" in [r.key for r in unchecked.records]  # used, and said
    events = read_events(folder / "events.jsonl")
    assert [e["event"] for e in events] == ["video_check", "video_check", "warning"]
    assert (events[0]["done"], events[0]["total"], events[1]["done"]) == (5, 6, 6)
    assert len(list(answers_dir().glob("*.json"))) == 6  # a check that could not run is not kept: asked again next time


def test_training_refuses_the_damaged_dive_and_partial_lists_it_in_the_data_card(club) -> None:  # noqa: ANN001
    folder, truth = club
    with pytest.raises(DatasetError, match="dive5.mp4: damaged video"):
        train(make_config(folder, "run"))
    assert not (folder / "cache").exists() or not any((folder / "cache").glob("*.npy"))  # refused before any feature
    bundle = train(make_config(folder, "run", partial=True))
    card = json.loads((bundle / "bundle.json").read_text())["data_card"]
    (left,) = card["left_out"]
    assert left["dive"] == "dive5.mp4" and f"between {truth[0] + 1} and {truth[-1] + 1}" in left["problems"][0]
    assert card["dataset_notes"]["video_check"] == "6 videos checked for decoding damage: 1 damaged"
    assert card["split_sizes"]["train"] == 3 and card["split_sizes_listed"]["train"] == 4


def test_dataset_check_with_videos_names_the_damage(club) -> None:  # noqa: ANN001
    folder, _ = club
    run = lambda *extra: subprocess.run([sys.executable, "-m", "cli.main", "dataset", "check", str(folder), *extra],  # noqa: E731
                                        capture_output=True, text=True, cwd=ROOT, check=False)
    assert run().returncode == 0
    checked = run("--videos")
    assert checked.returncode == 1 and "dive5.mp4: damaged video dive5.mp4" in checked.stdout, checked.stdout + checked.stderr
    assert run("--videos", "--partial").returncode == 0
