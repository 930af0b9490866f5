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

import cv2
import pytest
from app_support import tiny_bundle
from video_damage_support import (corrupt_image, cut_copy, cut_image, damaged_copy, flipped_copy, frames_that_differ, images_that_differ, moving_video,
                                  names_the_damage, raw_keyframes, textured_jpeg, textured_video)

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
    named = json.loads(video_check(str(damaged), "--json").stdout)["frames"]  # the JSON alone on stdout
    assert names_the_damage(named, truth), (named, truth)
    said = video_check(str(damaged))
    assert said.returncode == 1 and f"{len(named)} of 30 frames damaged" in said.stdout
    assert f"frames {', '.join(str(f + 1) for f in named)}, as people count" in said.stdout
    assert video_check(str(clean)).stdout.strip().endswith("30 frames decoded without errors")


def test_damage_carried_to_the_next_keyframe_in_a_real_clip_is_named_in_any_window(shared_clips, tmp_path: Path) -> None:  # noqa: ANN001
    """H.264 predicts frames from frames: the real clip's pixels differ on 41 frames, FFmpeg logs errors on fewer."""
    clean = shared_clips[0]
    damaged = damaged_copy(clean, tmp_path / "damaged.mp4", every=4999)
    truth = frames_that_differ(clean, damaged)
    assert len(truth) > 30 and truth[-1] < 100, truth  # one damaged group of frames, up to a keyframe
    whole = json.loads(video_check(str(damaged), "--json").stdout)
    assert names_the_damage(whole["frames"], truth) and (whole["read"], whole["lost"]) == (109, 0), whole  # no frame past the real end
    for first, last in ((truth[0] + 10, 78), (truth[-1] + 3, 100)):  # inside the group (its damage came before), and after its tail
        answer = json.loads(video_check(str(damaged), "--frames", str(first), str(last), "--json").stdout)
        inside = [f for f in truth if first <= f <= last]
        assert names_the_damage(answer["frames"], inside) if inside else answer["frames"] == [], (first, last, answer)
    assert json.loads(video_check(str(clean), "--json").stdout)["frames"] == []


def test_frames_lost_where_the_decoding_stopped_at_the_damage_are_damaged_too(tmp_path: Path) -> None:
    clean = textured_video(tmp_path / "clean.mp4")
    broken = damaged_copy(clean, tmp_path / "broken.mp4", every=31)
    truth = frames_that_differ(clean, broken)
    answer = json.loads(video_check(str(broken), "--frames", "0", "29", "--json").stdout)
    assert answer["read"] < 30 and answer["lost"] == 30 - answer["read"], answer  # the decoding stopped early
    assert names_the_damage(answer["frames"], truth) and truth[-1] == 29
    assert f"and {answer['lost']} more not decoded at all" in video_check(str(broken)).stdout


def test_damage_in_a_video_with_b_frames_is_named_up_to_the_next_keyframe(tmp_path: Path) -> None:
    """MPEG-2 with B-frames: no frame whose pixels differ goes unnamed, in the whole file or a one-frame window;
    what is named beyond them ends within two frames of the next keyframe (the container's, read without decoding)."""
    clean = moving_video(tmp_path / "clean.mkv")
    keys = raw_keyframes(clean)
    for at in (0.3, 0.5, 0.62):
        damaged = flipped_copy(clean, tmp_path / f"damaged{at}.mkv", at)
        truth = frames_that_differ(clean, damaged)
        assert truth, at
        named = json.loads(video_check(str(damaged), "--json").stdout)["frames"]
        assert set(truth) <= set(named), (at, truth, named)
        assert truth[0] - 2 <= named[0] and named[-1] <= min(k for k in keys if k > truth[-1]) + 2, (at, truth, named, keys)
        for frame in truth:
            assert frame in json.loads(video_check(str(damaged), "--frames", str(frame), str(frame), "--json").stdout)["frames"]
    cut = cut_copy(clean, tmp_path / "cut.mkv", 0.5)  # the file ends half-way: its last whole frame logs the error
    truth = [f for f in frames_that_differ(clean, cut) if 20 <= f <= 140]
    answer = json.loads(video_check(str(cut), "--frames", "20", "140", "--json").stdout)
    assert set(truth) <= set(answer["frames"]) and answer["lost"] > 0, (truth, answer)


def test_what_cannot_be_checked_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a video")
    (tmp_path / "empty.txt").write_text("")
    folder = tmp_path / "frames"
    textured_jpeg(folder / "00000.jpg")
    for args, said in ((["notes.txt"], "notes.txt: not a video this program can open"), (["@empty.txt"], "empty.txt: lists no frame images"),
                       (["frames", "--frames", "3", "9"], "frames: --frames 3 9 starts past the last of 1 frame images")):
        done = video_check(*[str(tmp_path / a) if i == 0 and not a.startswith("@") else (f"@{tmp_path / a[1:]}" if i == 0 else a)
                             for i, a in enumerate(args)])
        assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert "no frame images to check" in DamageCheck([]).result().problem


def test_frame_images_cut_short_or_corrupt_are_named_and_whole_ones_are_not(tmp_path: Path) -> None:
    clean = [textured_jpeg(tmp_path / "clean" / f"{i:05d}.jpg", seed=i) for i in range(6)]
    folder = tmp_path / "dive"
    folder.mkdir()
    damaged = [folder / f.name for f in clean]
    for source, target in zip(clean, damaged, strict=True):
        target.write_bytes(source.read_bytes())
    cut_image(clean[1], damaged[1])  # half a download: libjpeg greys the rest and only warns
    corrupt_image(clean[4], damaged[4])
    truth = images_that_differ(clean, damaged)
    assert truth == [1, 4], "both damaged images must decode to other pixels"
    said = video_check(str(folder))
    assert said.returncode == 1, said.stdout + said.stderr
    assert "2 of 6 frame images are cut short, corrupt or of another size (images 2, 5, as people count)" in said.stdout
    assert "00001.jpg: Premature end of JPEG file" in said.stdout
    assert json.loads(video_check(str(folder), "--json").stdout)["frames"] == truth
    assert json.loads(video_check(str(folder), "--frames", "2", "5", "--json").stdout)["frames"] == [4]  # positions among all the images
    png = tmp_path / "frame.png"
    cv2.imwrite(str(png), cv2.imread(str(clean[0])))
    cut_png = cut_image(png, tmp_path / "cut.png")  # libpng refuses it outright: unreadable is damaged too
    listing = tmp_path / "frames.txt"  # how the trainer hands a dive over: @FILE, one path a line
    listing.write_text("".join(f"{f}\n" for f in [*clean, damaged[4], png, cut_png]))
    answer = json.loads(video_check(f"@{listing}", "--json").stdout)
    assert answer["frames"] == [6, 8] and answer["read"] == 7
    assert video_check(str(clean[0].parent)).stdout.strip().endswith("6 frame images decoded without errors")


def test_a_damaged_dive_scores_with_its_damage_said(videos) -> None:  # noqa: ANN001
    clean, damaged, truth = videos
    scorer = Scorer(tiny_bundle(), choose_runtime("cpu", "float32", threads=1))
    whole = scorer.score(clean, DIVE, window=(0, 29))
    assert whole.damage is None and not any("damaged" in c for c in whole.caveats)
    for result in (scorer.score(damaged, DIVE, window=(0, 29)), list(scorer.stream(damaged, DIVE, window=(0, 29)))[-1]):
        assert isinstance(result, ScoreResult) and result.damage is not None
        frames = result.damage.frames
        assert names_the_damage(frames, truth) and result.damage.sample
        assert result.caveats[0] == result.damage.message and f"between {frames[0] + 1} and {frames[-1] + 1}" in result.damage.message
        assert result.uncertainty.level == "high" and result.uncertainty.reasons[0] == result.damage.message
        assert ScoreResult.from_dict(result.to_dict()) == result  # stored and reopened, the damage stays said
    rescaled = adapt_to_dive(result, DiveInfo("individual", 7, "109B", 10.0, 3.5), str(damaged))  # the desk on a new dive number
    assert rescaled is not None and rescaled.damage == result.damage
    assert rescaled.uncertainty.level == "high" and rescaled.uncertainty.reasons[0] == result.damage.message
    outside = scorer.score(damaged, DIVE, window=(truth[-1] + 3, 29))  # a window past the damage and the two frames after it is whole
    assert outside.damage is None


def test_a_check_that_cannot_run_says_so(videos, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    clean, _, _ = videos
    monkeypatch.setattr(aqa_core.video_check, "own_command", lambda *args: [sys.executable, "-c", "import sys; sys.exit('no decoder here')"])
    damage = DamageCheck(clean, (0, 29)).result()
    assert damage is not None and damage.frames == [] and "exited 1: no decoder here" in damage.problem
    assert damage.message.startswith("the video could not be checked for damage")
    monkeypatch.setattr(aqa_core.video_check, "own_command", lambda *args: [str(clean.parent / "no-such-program")])
    assert "could not start" in DamageCheck(clean, (0, 29)).result().problem
