"""A damaged club video is refused like a missing frame, not trained on as whole.

The truth is the decoded pixels (``frames_that_differ``: the damaged copy against the clean file),
not the check's own log; the check runs as a child of this very program, as in training.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_trainer_modes import make_config
from dataset_layouts import build_finediving, tiny_jpegs
from video_damage_support import club_dataset, corrupt_image, cut_image, images_that_differ, textured_jpeg, textured_video

import aqa_core.video_check
from aqa_core.errors import DatasetError
from trainer.datasets import inspect_dataset, open_dataset
from trainer.datasets.base import PIXELS
from trainer.datasets.video_damage import answers_dir, check_videos
from trainer.progress import ProgressStream, read_events
from trainer.run import train

ROOT = Path(__file__).resolve().parent.parent


def names_the_span(problem: str, truth: list[int]) -> bool:
    """The problem's "N frames between A and B" (as people count) covers the frames whose pixels differ, give or take
    what ``names_the_damage`` allows (two frames before and after)."""
    found = re.search(r"(\d+) frames between (\d+) and (\d+) cleanly", problem)
    assert found, problem
    count, first, last = (int(g) for g in found.groups())
    return truth[0] - 2 <= first - 1 <= truth[0] and truth[-1] <= last - 1 <= truth[-1] + 2 and len(truth) <= count <= last - first + 1


@pytest.fixture
def club(tmp_path: Path, isolated_home: Path) -> tuple[Path, list[int]]:
    return club_dataset(tmp_path / "club")


def test_the_damaged_video_is_a_pixels_problem_naming_its_frames(club) -> None:  # noqa: ANN001
    folder, truth = club
    checked = check_videos(inspect_dataset(folder))
    assert [r.key for r in checked.records] == [f"dive{i}.mp4" for i in range(5)]
    (problem,) = checked.problems
    assert problem.dive == "dive5.mp4" and problem.kind == PIXELS and problem.split == "train"
    assert problem.problem.startswith("damaged video dive5.mp4: FFmpeg could not decode ") and names_the_span(problem.problem, truth)
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
    assert unchecked.notes["video_check"].endswith("1 dive(s) could not be checked for damage and are used unchecked: dive1.mp4 "
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
    assert left["dive"] == "dive5.mp4" and names_the_span(left["problems"][0], truth)
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


def test_frame_images_cut_short_or_corrupt_are_a_pixels_problem_naming_the_files(tmp_path: Path, isolated_home: Path) -> None:
    root = tmp_path / "FineDiving"
    build_finediving(root, tiny_jpegs(tmp_path / "palette"))
    event = root / "FINADiving_MTL_256s" / "FINADivingWorldCup2021_Men3m_final_r1"
    first, second = sorted((event / "0").glob("*.jpg")), sorted((event / "1").glob("*.jpg"))
    whole = [textured_jpeg(tmp_path / f"whole{i}.jpg", seed=i) for i in range(3)]
    cut_image(whole[0], first[3])  # an unpacking stopped half-way through one frame
    cut_image(whole[1], second[0])
    corrupt_image(whole[2], second[5])
    assert images_that_differ(whole, [first[3], second[0], second[5]]) == [0, 1, 2]  # the truth: other pixels
    resized = sorted((root / "FINADiving_MTL_256s" / "FullMenSynchronised10mPlatform_Tokyo2020Replays_2" / "3").glob("*.jpg"))[7]
    resized.unlink()  # a hard link to the palette: replaced, not written through
    cv2.imwrite(str(resized), np.zeros((16, 12, 3), np.uint8))  # re-extracted at another size than the dive's 8x8
    checked = check_videos(inspect_dataset(root))
    damaged = {p.dive: p.problem for p in checked.problems if p.kind == PIXELS}
    assert damaged == {
        "FINADivingWorldCup2021_Men3m_final_r1/0": "damaged frame images: 1 of 12 unusable (00492.jpg: Premature end of JPEG file)",
        "FINADivingWorldCup2021_Men3m_final_r1/1": "damaged frame images: 2 of 12 unusable "
                                                   "(00900.jpg, 00905.jpg; first 00900.jpg: Premature end of JPEG file)",
        "FullMenSynchronised10mPlatform_Tokyo2020Replays_2/3": "damaged frame images: 1 of 12 unusable "
                                                               "(00017.jpg: 12x16 pixels, the dive's other frames 8x8)",
    }
    assert checked.notes["video_check"] == "5 dives' frame images checked for decoding damage: 3 damaged"  # Men3m/2 has a label typo
    assert len(checked.records) == 2
    with pytest.raises(DatasetError, match=r"frames or video unusable for 3 dives"):
        open_dataset(root, check_damage=True)
    assert len(open_dataset(root, partial=True, check_damage=True).records) == 2
    assert len(open_dataset(root).records) == 5  # without the check a cut frame reads as a whole one
    from trainer.features import load_record_clips  # unchecked (the check could not run): still one line, never a stack of mixed sizes

    record = next(r for r in open_dataset(root).records if r.key.endswith("Replays_2/3"))
    with pytest.raises(DatasetError, match=r"00017.jpg: 12x16 pixels, the dive's first frame 00010.jpg 8x8 \(dive Full"):
        load_record_clips(record, make_config(root, "run").model)
