"""The dive finder against exact synthetic truth, hand labels of the real clips, and hand-built signals."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from aqa_core import clips as clips_module
from aqa_core.clips import FOUND_LOOKBACK_S, iter_found_dive_clips, load_dive_clips
from aqa_core.dive_finder import (
    WINDOW_AFTER_S,
    WINDOW_BEFORE_S,
    FoundDive,
    FrameSignals,
    detected_window,
    dives_from_signals,
    find_dives,
    first_dive_settled,
    read_signals,
    scoring_window,
)
from aqa_core.rules import parse_dive
from aqa_core.synthetic.dataset import write_video
from aqa_core.synthetic.footage import REPLAY_SLOWDOWN, crowd_shot, render_footage
from aqa_core.synthetic.motion import choreograph
from cli.main import main as cli_main
from cli.score_commands import window_for

LABELS = Path(__file__).parent / "data" / "real_clip_events.json"
# Tolerances in frames of the footage. Replays run at half speed, so their frames are half as long.
ENTRY_TOLERANCE = 3
TAKE_OFF_TOLERANCE = 6
REPLAY_TOLERANCE = (8, 20)  # entry, take-off
REAL_ENTRY_TOLERANCE = 3
REAL_TAKE_OFF_TOLERANCE = 5


@pytest.fixture(scope="module")
def footage_files(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, object]]:
    """Seed 1: two 10 m dives; seed 2: a 3 m dive, then a 10 m one (which falls 1.7x longer but is no replay)."""
    folder = tmp_path_factory.mktemp("footage")
    files = []
    for seed in (1, 2):
        footage = render_footage(seed)
        path = folder / f"footage_{seed}.mp4"
        write_video(path, footage)
        files.append((path, footage))
    return files


def test_synthetic_take_off_is_the_last_frame_at_board_level() -> None:
    faults = dict.fromkeys(("takeoff", "position", "rotation", "entry"), 0.0)
    plan = choreograph(parse_dive("107B"), 10.0, faults, False, 110, 30.0)
    board_level = plan.frames[0].hip[1]
    on_board, first_in_air = plan.frames[plan.takeoff_frame], plan.frames[plan.takeoff_frame + 1]
    assert on_board.hip[1] == pytest.approx(board_level)
    assert first_in_air.hip[1] < board_level  # risen: y points down
    assert plan.takeoff_frame < plan.entry_frame


def test_footage_events_point_at_the_frames_of_the_rendered_dives(footage_files) -> None:
    _, footage = footage_files[0]
    originals = [e for e in footage.events if not e.replay]
    replays = [e for e in footage.events if e.replay]
    assert len(originals) == len(replays) == len(footage.dives) == 2
    for dive, event, replay in zip(footage.dives, originals, replays, strict=True):
        assert np.array_equal(footage.frames[event.entry_index], dive.frames[dive.entry_frame])
        assert np.array_equal(footage.frames[event.take_off_index], dive.frames[dive.takeoff_frame])
        # the replay's entry is the first copy of the entry frame, its take-off the last copy of the take-off frame
        assert np.array_equal(footage.frames[replay.entry_index], dive.frames[dive.entry_frame])
        assert np.array_equal(footage.frames[replay.entry_index - 1], dive.frames[dive.entry_frame - 1])
        assert np.array_equal(footage.frames[replay.take_off_index], dive.frames[dive.takeoff_frame])
        assert np.array_equal(footage.frames[replay.take_off_index + 1], dive.frames[dive.takeoff_frame + 1])
        assert (replay.entry_index - replay.take_off_index) == REPLAY_SLOWDOWN * (event.entry_index - event.take_off_index) - 1


def test_every_dive_and_replay_is_found_in_untrimmed_footage(footage_files) -> None:
    for path, footage in footage_files:
        found = find_dives(path)
        assert [d.replay for d in found] == [e.replay for e in footage.events], path.name
        for dive, event in zip(found, footage.events, strict=True):
            entry_tol, take_tol = REPLAY_TOLERANCE if event.replay else (ENTRY_TOLERANCE, TAKE_OFF_TOLERANCE)
            assert abs(dive.entry_index - event.entry_index) <= entry_tol, (path.name, dive, event)
            assert dive.take_off_index is not None
            assert abs(dive.take_off_index - event.take_off_index) <= take_tol, (path.name, dive, event)
            assert 0.0 <= dive.confidence <= 1.0


def test_real_clips_match_the_hand_labels(shared_clips) -> None:
    labels = json.loads(LABELS.read_text(encoding="utf-8"))["clips"]
    for clip in shared_clips:
        label = labels[clip.name]
        found = find_dives(clip)
        assert len(found) == 1, (clip.name, found)
        dive = found[0]
        assert abs(dive.entry_index - label["entry_index"]) <= REAL_ENTRY_TOLERANCE, (clip.name, dive)
        assert not dive.replay
        if label["take_off_index"] is None:
            assert dive.take_off_index is None, (clip.name, dive)
        else:
            assert dive.take_off_index is not None
            assert abs(dive.take_off_index - label["take_off_index"]) <= REAL_TAKE_OFF_TOLERANCE, (clip.name, dive)


def test_a_crowd_shot_and_a_static_video_hold_no_dive(tmp_path: Path, tiny_video) -> None:
    class Crowd:
        frames = crowd_shot(np.random.default_rng(0), 90, (192, 144))
        fps = 30.0

    path = tmp_path / "crowd.mp4"
    write_video(path, Crowd())
    assert find_dives(path) == []
    assert find_dives(tiny_video(count=40)) == []


def _signals(speeds: list[tuple[int, float]], height: int = 100, cuts: tuple[int, ...] = ()) -> FrameSignals:
    """Hand-built signals: runs of (frames, upward slide in pixels per frame), one shot unless ``cuts``."""
    descent = np.concatenate([np.full(n, v, np.float64) for n, v in speeds])
    cut = np.zeros_like(descent)
    cut[list(cuts)] = 0.9
    return FrameSignals(fps=30.0, height=height, descent=descent, cut=cut)


def test_a_slower_fall_with_the_same_travel_is_a_replay_and_a_longer_one_is_a_new_dive() -> None:
    # a fall of 40 frames at 8 px (3.2 frame heights); 200 quiet frames; then the same travel in
    # 80 frames (a 2x replay); or a fall of 40 frames at 2.5 px (1 frame height, like a 3 m dive)
    # and later one 1.7x longer, 68 frames at 8 px: a higher dive, over five times the travel
    replay = dives_from_signals(_signals([(60, 0.0), (40, 8.0), (200, 0.0), (80, 4.0), (60, 0.0)]))
    assert [d.replay for d in replay] == [False, True]
    assert [d.entry_index for d in replay] == [100, 380]
    other = dives_from_signals(_signals([(60, 0.0), (40, 2.5), (200, 0.0), (68, 8.0), (60, 0.0)]))
    assert [d.replay for d in other] == [False, False]


def test_take_off_is_one_rise_before_the_fall_or_none_when_the_shot_starts_in_the_air() -> None:
    rise = round(0.43 * 30)
    standing = dives_from_signals(_signals([(60, 0.0), (40, 8.0), (60, 0.0)]))
    # the 5-frame mean crosses the 1 px threshold at frame 58 (one 8 px frame in five: 1.6 px)
    assert standing[0].take_off_index == 58 - rise
    in_air = dives_from_signals(_signals([(1, 0.0), (40, 8.0), (60, 0.0)]))  # falling from the first frame
    assert in_air[0].take_off_index is None
    after_cut = dives_from_signals(_signals([(50, 0.0), (40, 8.0), (60, 0.0)], cuts=(48,)))
    assert after_cut[0].take_off_index is None  # the shot began two frames before the fall


def test_scoring_window_adds_the_margins_inside_the_video() -> None:
    before, after = round(WINDOW_BEFORE_S * 30), round(WINDOW_AFTER_S * 30)
    assert scoring_window(FoundDive(100, 150, 0.9, False), 1000, 30.0) == (100 - before, 150 + after)
    assert scoring_window(FoundDive(None, 42, 0.9, False), 87, 30.0) == (0, 42 + after)
    assert scoring_window(FoundDive(5, 80, 0.9, False), 90, 30.0) == (0, 89)


def test_find_dive_json_is_exactly_the_documented_format(footage_files, capsys) -> None:
    path, footage = footage_files[0]
    assert cli_main(["find-dive", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report) == ["dives"]
    assert len(report["dives"]) == len(footage.events)
    for dive in report["dives"]:
        assert list(dive) == ["take_off_index", "entry_index", "confidence", "replay"]
        assert isinstance(dive["take_off_index"], int) and isinstance(dive["entry_index"], int)
        assert isinstance(dive["confidence"], float) and isinstance(dive["replay"], bool)
        assert math.isfinite(dive["confidence"])


def test_find_dive_on_a_missing_file_is_one_line(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nowhere.mp4"
    assert cli_main(["find-dive", str(missing)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(missing) in err


def test_score_window_is_the_users_else_the_detected_dive(footage_files, tiny_video) -> None:
    path, footage = footage_files[0]
    first = footage.events[0]
    window, source = window_for(path, None)
    assert source == "detected dive"
    assert window[0] <= first.take_off_index and first.entry_index <= window[1]
    assert window[1] < footage.events[1].take_off_index  # one dive, not the replay or the whole file
    assert window_for(path, [3, 40]) == ((2, 39), "--window")  # frames 3-40 as people count them
    assert window_for(tiny_video(count=30), None) == (None, None)


def _settled_at(signals: FrameSignals) -> tuple[int, FoundDive | None]:
    """The shortest prefix of the signals that settles the first dive, and that dive; every prefix checked."""
    count = len(signals.descent)
    for seen in range(1, count + 1):
        prefix = FrameSignals(signals.fps, signals.height, signals.descent[:seen], signals.cut[:seen])
        settled, dive = first_dive_settled(prefix, count)
        if settled:
            return seen, dive
    raise AssertionError("the whole video must settle")


def _assert_settles_past_the_entry_as_the_whole_file_says(path: Path) -> None:
    signals = read_signals(path)
    whole = dives_from_signals(signals)[0]
    seen, dive = _settled_at(signals)
    assert dive == whole, path.name  # the same take-off, entry and confidence as the whole video's
    assert whole.entry_index < seen < len(signals.descent), (path.name, seen)  # past the entry, before the end


def test_the_first_dive_settles_past_its_entry_as_the_whole_file_says(footage_files) -> None:
    for path, _footage in footage_files:  # seed 2: a 3 m dive first, then a 10 m one
        _assert_settles_past_the_entry_as_the_whole_file_says(path)


def test_the_real_dives_settle_past_their_entries_as_the_whole_files_say(shared_clips) -> None:
    for path in shared_clips:
        _assert_settles_past_the_entry_as_the_whole_file_says(path)


def test_a_video_without_a_dive_settles_only_at_its_end(tmp_path: Path) -> None:
    class Crowd:
        frames = crowd_shot(np.random.default_rng(0), 48, (192, 144))
        fps = 30.0

    path = tmp_path / "crowd.mp4"
    write_video(path, Crowd())
    signals = read_signals(path)
    assert dives_from_signals(signals) == []
    assert _settled_at(signals) == (len(signals.descent), None)


@pytest.mark.parametrize("lookback_s", [FOUND_LOOKBACK_S, 0.5])  # 0.5 s: the window's start is decoded again
def test_found_clips_are_the_detected_windows_clips_from_one_decode(footage_files, lookback_s: float,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clips_module, "FOUND_LOOKBACK_S", lookback_s)
    path, _footage = footage_files[0]
    window = detected_window(path)
    batch = load_dive_clips(path, window, size=32)
    streamed = list(iter_found_dive_clips(path, size=32))
    assert [clip.index for clip in streamed] == list(range(len(batch.clips)))
    assert all(clip.window == window for clip in streamed)
    for clip in streamed:
        assert clip.frame_indices == batch.frame_indices[clip.index]
        assert torch.equal(clip.clip, batch.clips[clip.index])
