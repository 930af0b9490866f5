"""The judging desk driven through its real widgets, offscreen, on tiny videos and the tiny backbone."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from app_support import SHEET, app_home, desk, frame_index_on_screen, tiny_bundle, wait_for_result  # noqa: F401 (fixture)
from PySide6.QtCore import Qt

from aqa_core.dive_finder import detected_window
from aqa_core.rules import difficulty
from aqa_core.runtime import choose_runtime
from aqa_core.scorer import Scorer


def test_open_scores_and_streams_every_clip(qtbot, desk, tiny_video) -> None:  # noqa: ANN001
    streamed, progress = [], []
    desk.state.clip_added.connect(streamed.append)
    desk.state.clip_added.connect(lambda _clip: progress.append(desk.transport.progress.text()))  # after the desk's own slot
    desk.commands.open_video(tiny_video(count=40), SHEET)
    result = wait_for_result(qtbot, desk.state)
    assert [c.index for c in streamed] == [c.index for c in result.clips]  # each clip reached the GUI
    assert progress == [f"clip {n} of {len(result.clips)} scored" for n in range(1, len(result.clips) + 1)]  # how far along, not just "clip 5"
    assert len(result.judges) == 7 and sum(j.dropped for j in result.judges) == 4
    assert f"{result.final.score:.2f}" in desk.judges.final_label.text()
    assert result.uncertainty.level in desk.judges.uncertainty_label.text()
    assert len(desk.timeline.clips) == len(result.clips)
    assert desk.heat_map.matrix.shape == (len(result.bins), len(result.clips))
    x, y = desk.distribution.clip_curve.getData()
    assert x is not None and len(y) == len(result.bins)


def test_a_model_still_being_prepared_is_said_while_the_judge_waits(qtbot, desk, tiny_video, monkeypatch) -> None:  # noqa: ANN001
    """The first dive on a new machine waited ~30 s for the engines to be measured under "Scoring ..." alone,
    and then said "Scored ... in 7.1 s": the wait is now said, and counted apart from the analysis."""
    import time

    from app.workers import ScoreWorker

    build = ScoreWorker.scorer_for
    monkeypatch.setattr(ScoreWorker, "scorer_for", classmethod(lambda cls, bundle: (time.sleep(1.5), build(bundle))[1]))
    messages: list[str] = []
    desk.state.status_message.connect(messages.append)
    desk.state.set_bundle(tiny_bundle(seed=5), "tiny seed 5")  # a model no scorer was built for yet
    desk.commands.open_video(tiny_video(count=40), SHEET)
    wait_for_result(qtbot, desk.state)
    qtbot.waitUntil(lambda: any(m.startswith("Scored ") for m in messages), timeout=10000)
    assert "Preparing the model (once; up to a minute on a new machine)…" in messages, messages
    scored = next(m for m in messages if m.startswith("Scored "))
    assert messages.index(scored) > next(i for i, m in enumerate(messages) if m.startswith("Preparing the model"))
    assert " s after 1 s preparing the model (once) (backbone on " in scored or " s after 2 s preparing" in scored, scored


def test_play_step_and_keys_show_the_right_frames(qtbot, desk, tiny_video) -> None:  # noqa: ANN001
    path = tiny_video(count=40, fps=25.0)
    desk.commands.open_video(path, SHEET)
    qtbot.waitUntil(lambda: desk.player.meta is not None and desk.player.current_image() is not None, timeout=10000)
    desk.actions["play_pause"].trigger()
    qtbot.waitUntil(lambda: desk.player.frame >= 10, timeout=10000)
    desk.actions["play_pause"].trigger()
    assert not desk.player.playing
    desk.player.seek(12)
    qtbot.waitUntil(lambda: desk.player.frame == 12, timeout=5000)
    assert frame_index_on_screen(desk.player, tiny_video) == 12
    qtbot.keyClick(desk, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: desk.player.frame == 13, timeout=5000)
    assert frame_index_on_screen(desk.player, tiny_video) == 13
    qtbot.keyClick(desk, Qt.Key.Key_Left)
    qtbot.keyClick(desk, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: desk.player.frame == 11, timeout=5000)
    qtbot.keyClick(desk, Qt.Key.Key_End)
    qtbot.waitUntil(lambda: desk.player.frame == 39, timeout=5000)
    qtbot.keyClick(desk, Qt.Key.Key_Home)
    qtbot.waitUntil(lambda: desk.player.frame == 0, timeout=5000)
    assert desk.state.playhead == 0 and desk.timeline.playhead == 0


def test_playback_loops_the_dive_window(qtbot, desk, tiny_video) -> None:  # noqa: ANN001
    desk.commands.open_video(tiny_video(count=40, fps=25.0), SHEET)
    wait_for_result(qtbot, desk.state)
    desk.state.set_window((5, 12))
    desk.transport.loop.setChecked(True)
    seen: list[int] = []
    desk.player.frame_shown.connect(seen.append)
    desk.player.set_speed(2.0)
    desk.player.play()
    qtbot.waitUntil(lambda: seen.count(5) >= 2, timeout=10000)  # wrapped back to the start at least once
    desk.player.pause()
    assert set(seen) <= set(range(5, 13))


def test_changing_the_dive_number_rescales_like_a_fresh_analysis(qtbot, desk, tiny_video) -> None:  # noqa: ANN001
    path = tiny_video(count=40)
    desk.commands.open_video(path, SHEET)
    before = wait_for_result(qtbot, desk.state)
    desk.sheet.dive_number.setText("305C")
    desk.sheet.dive_number.editingFinished.emit()
    qtbot.waitUntil(lambda: desk.state.result is not None and desk.state.result.dive.dive_number == "305C", timeout=20000)
    after = desk.state.result
    assert after.dive.difficulty == difficulty("305C", 10.0) != before.dive.difficulty
    fresh = Scorer(tiny_bundle(), choose_runtime("cpu", "float32", threads=1)).score(path, after.dive)
    assert after.final.score == pytest.approx(fresh.final.score)
    assert (after.final.low, after.final.high) == pytest.approx((fresh.final.low, fresh.final.high))
    assert after.uncertainty.level == fresh.uncertainty.level
    assert f"{fresh.final.score:.2f}" in desk.judges.final_label.text()
    assert "Reverse" in desk.sheet.description.text()
    # The status line says the new score, not the 107B one it replaced.
    assert f"{fresh.final.score:.2f}" in desk.status.text() and f"{before.final.score:.2f}" not in desk.status.text()


def test_an_empty_desk_shows_the_axes_it_will_fill(qtbot, desk) -> None:  # noqa: ANN001
    # Before any video: marks 0-10 and clips 1-10, not pyqtgraph's default ranges (-500..500, 0..1).
    (low, high), _ = desk.distribution.viewRange()
    assert low <= 0.0 < 10.0 <= high and high - low < 11
    (first, last), (bottom, top) = desk.heat_map.viewRange()
    assert (first, last) == pytest.approx((0.5, 10.5)) and (bottom, top) == pytest.approx((0.0, 10.0))


def test_an_unknown_dive_is_refused_with_the_reason(qtbot, desk) -> None:  # noqa: ANN001
    desk.sheet.dive_number.setText("305C")
    desk.sheet.dive_number.editingFinished.emit()
    assert desk.sheet.dd.text() == "2.8" and "Reverse" in desk.sheet.description.text()
    desk.sheet.dive_number.setText("999Z")
    desk.sheet.dive_number.editingFinished.emit()
    assert desk.state.dive_info is None
    assert "999Z" in desk.sheet.problem.text()
    assert desk.sheet.description.text() == "" and desk.sheet.dd.text() == ""  # nothing of 305C stays on screen


def test_warnings_and_the_sheet_belong_to_the_dive_on_screen(qtbot, desk, tiny_video) -> None:  # noqa: ANN001
    desk.commands.open_video(tiny_video(count=40), SHEET.with_changes(diver="Ana", dive_number="305C"))
    result = wait_for_result(qtbot, desk.state)
    narrow = replace(result, judges=[replace(j, estimate=replace(j.estimate, low=4.0, high=6.0)) for j in result.judges])
    desk.state.set_result(narrow)
    marks = [9.0] * 7  # every mark outside its (narrowed) interval
    for edit, mark in zip(desk.judges.edits, marks, strict=True):
        edit.setText(f"{mark:g}")
    desk.judges.edits[-1].editingFinished.emit()
    assert "outside the predicted" in desk.judges.flags_label.text()
    desk.commands.open_video(tiny_video(count=41, name="next.mp4"))
    qtbot.waitUntil(lambda: desk.state.video is not None and desk.state.video.path.endswith("next.mp4"), timeout=10000)
    assert desk.judges.flags_label.text() == "" and desk.judges.official_label.text() == ""
    assert all(e.text() == "" for e in desk.judges.edits) and desk.judges.final_label.text() == "Final —"
    assert (desk.sheet.diver.text(), desk.sheet.dive_number.text(), desk.sheet.dd.text(), desk.sheet.description.text()) == ("", "", "", "")
    assert "Scored" not in desk.status.text() and "dive number" in desk.status.text()


def test_a_panel_the_model_cannot_serve_is_explained(qtbot, desk, tiny_video) -> None:  # noqa: ANN001
    errors: list[str] = []
    desk.state.error.connect(errors.append)
    desk.commands.open_video(tiny_video(count=40), SHEET)
    wait_for_result(qtbot, desk.state)
    desk.sheet.event_box.setCurrentText("synchronised")  # 9 judges; the tiny model has 7 judge paths
    qtbot.waitUntil(lambda: bool(errors), timeout=30000)
    assert "9" in errors[0] and desk.state.result is None and not desk.state.analysing


def test_changing_the_panel_size_rescores(qtbot, desk, tiny_video) -> None:  # noqa: ANN001
    desk.commands.open_video(tiny_video(count=40), SHEET)
    wait_for_result(qtbot, desk.state)
    desk.sheet.panel.setCurrentIndex(desk.sheet.panel.findData(5))
    qtbot.waitUntil(lambda: desk.state.result is not None and desk.state.result.dive.panel_size == 5, timeout=30000)
    assert len(desk.judges.edits) == 5
    assert sum(j.dropped for j in desk.state.result.judges) == 2


def test_a_broken_file_names_the_file_and_the_problem(qtbot, desk, tmp_path) -> None:  # noqa: ANN001
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 50)
    errors: list[str] = []
    desk.state.error.connect(errors.append)
    desk.commands.open_video(broken, SHEET)
    qtbot.waitUntil(lambda: bool(errors), timeout=10000)
    assert "broken.mp4" in errors[0] and "broken.mp4" in desk.status.text()
    assert desk.state.video is None and desk.state.result is None


def test_real_marks_outside_the_interval_are_flagged(qtbot, desk, tiny_video) -> None:  # noqa: ANN001
    desk.commands.open_video(tiny_video(count=40), SHEET)
    result = wait_for_result(qtbot, desk.state)
    # Narrow every judge's interval to +-0.5 around its prediction so a mark can fall outside it.
    narrow = replace(result, judges=[replace(j, estimate=replace(j.estimate, low=j.estimate.score - 0.5, high=j.estimate.score + 0.5))
                                     for j in result.judges])
    desk.state.set_result(narrow)
    marks = [j.estimate.score for j in narrow.judges]
    marks[2] = 10.0 if narrow.judges[2].estimate.score < 9 else 0.0
    for edit, mark in zip(desk.judges.edits, marks, strict=True):
        edit.setText(f"{mark:g}")
    desk.judges.edits[-1].editingFinished.emit()
    assert desk.state.real_scores == marks
    assert "J3" in desk.judges.flags_label.text() and "J1 " not in desk.judges.flags_label.text()
    assert "Real panel:" in desk.judges.official_label.text()


def test_an_impossible_real_mark_is_refused(qtbot, desk) -> None:  # noqa: ANN001
    desk.judges.edits[0].setText("7.3")
    desk.judges.edits[0].editingFinished.emit()
    assert desk.state.real_scores[0] is None
    assert "J1" in desk.judges.flags_label.text()


def test_cancel_stops_the_analysis(qtbot, desk, tiny_video) -> None:  # noqa: ANN001
    desk.commands.open_video(tiny_video(count=40), SHEET)
    qtbot.waitUntil(lambda: desk.state.analysing, timeout=10000)
    worker = desk.commands.score_worker
    desk.actions["cancel_analysis"].trigger()
    assert not desk.state.analysing and desk.commands.score_worker is None
    worker.wait(30000)
    qtbot.wait(50)
    assert desk.state.result is None


def test_reopening_comes_from_the_cache(qtbot, desk, tiny_video, tmp_path) -> None:  # noqa: ANN001
    path = tiny_video(count=40)
    desk.commands.open_video(path, SHEET)
    first = wait_for_result(qtbot, desk.state)
    copy = tmp_path / "renamed.mp4"
    copy.write_bytes(Path(path).read_bytes())  # same content, another name: same key
    desk.commands.open_video(copy, SHEET)
    qtbot.waitUntil(lambda: desk.state.result is not None and desk.state.result.video == str(copy), timeout=20000)
    assert "from the cache" in desk.status.text()
    assert desk.state.result.final == first.final


def test_dragging_the_dive_window_rescores_that_window(qtbot, desk, tiny_video) -> None:  # noqa: ANN001
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QMouseEvent

    desk.commands.open_video(tiny_video(count=40), SHEET)
    first = wait_for_result(qtbot, desk.state)
    timeline = desk.timeline
    start_x = timeline.x_of(first.dive_window[0])
    target = 10

    def mouse(kind, x: float, buttons) -> None:  # noqa: ANN001
        event = QMouseEvent(kind, QPointF(x, timeline.height() / 2), timeline.mapToGlobal(QPointF(x, 5)),
                            Qt.MouseButton.LeftButton, buttons, Qt.KeyboardModifier.NoModifier)
        timeline.mouseMoveEvent(event) if kind == QMouseEvent.Type.MouseMove else (
            timeline.mousePressEvent(event) if kind == QMouseEvent.Type.MouseButtonPress else timeline.mouseReleaseEvent(event))

    mouse(QMouseEvent.Type.MouseButtonPress, start_x, Qt.MouseButton.LeftButton)
    mouse(QMouseEvent.Type.MouseMove, timeline.x_of(target), Qt.MouseButton.LeftButton)
    mouse(QMouseEvent.Type.MouseButtonRelease, timeline.x_of(target), Qt.MouseButton.NoButton)
    qtbot.waitUntil(lambda: desk.state.result is not None and desk.state.result.dive_window[0] == target, timeout=30000)
    assert all(c.start_frame >= target for c in desk.state.result.clips)


def test_a_synchronised_panel_is_labelled_and_trimmed_by_group(qtbot, desk, tiny_video) -> None:  # noqa: ANN001
    from aqa_core.rules import judge_labels

    desk.commands.use_bundle(tiny_bundle(judges=9))
    desk.commands.open_video(tiny_video(count=40), SHEET)
    wait_for_result(qtbot, desk.state)
    desk.sheet.event_box.setCurrentText("synchronised")
    qtbot.waitUntil(lambda: desk.state.result is not None and desk.state.result.dive.panel_size == 9, timeout=30000)
    result = desk.state.result
    assert result.dive.event == "synchronised" and len(result.judges) == 9
    assert sum(j.dropped for j in result.judges) == 4  # 4 execution -> 2 kept, 5 synchronisation -> 3 kept
    assert [e.placeholderText() for e in desk.judges.edits] == judge_labels("synchronised", 9)
    assert f"{result.final.score:.2f}" in desk.judges.final_label.text()


@pytest.mark.shared
def test_a_real_720p_dive_plays_and_scores(qtbot, desk, shared_clips) -> None:  # noqa: ANN001
    dive_a, _ = shared_clips
    desk.commands.open_video(dive_a, SHEET)
    qtbot.waitUntil(lambda: desk.state.video is not None, timeout=20000)
    assert (desk.state.video.width, desk.state.video.height, desk.state.video.frame_count) == (1280, 720, 109)
    result = wait_for_result(qtbot, desk.state)
    # no window given: the detected dive (take-off 0, entry 56 + margins), not the whole file
    assert result.dive_window == detected_window(dive_a) == (0, 78) and len(result.clips) == 10
    desk.player.seek(60)
    qtbot.waitUntil(lambda: desk.player.frame == 60, timeout=10000)
    image = desk.player.current_image()
    assert abs(image.width() / image.height() - 16 / 9) < 0.02  # scaled for the screen, aspect kept
    assert desk.heat_map.playhead_line.isVisible()


def test_dropping_a_file_opens_it(qtbot, desk, tiny_video) -> None:  # noqa: ANN001
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    path = tiny_video(count=12)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    desk.dropEvent(event)
    qtbot.waitUntil(lambda: desk.state.video is not None, timeout=10000)
    assert desk.state.video.path == str(path) and desk.state.video.frame_count == 12


def test_a_sheet_edited_during_the_analysis_wins(qtbot, desk, tiny_video) -> None:  # noqa: ANN001
    desk.commands.open_video(tiny_video(count=40), SHEET)
    qtbot.waitUntil(lambda: desk.state.analysing, timeout=10000)
    desk.sheet.panel.setCurrentIndex(desk.sheet.panel.findData(5))
    qtbot.waitUntil(lambda: desk.state.result is not None and not desk.state.analysing, timeout=30000)
    assert desk.state.result.dive.panel_size == 5 and len(desk.state.result.judges) == 5


def test_full_screen_shows_the_player_alone_and_comes_back(qtbot, desk) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QDockWidget

    desk.actions["full_screen"].trigger()
    qtbot.waitUntil(desk.isFullScreen, timeout=5000)
    assert not any(d.isVisible() for d in desk.findChildren(QDockWidget)) and not desk.heat_map.isVisible()
    assert desk.player.isVisible()
    desk.actions["full_screen"].trigger()
    qtbot.waitUntil(lambda: not desk.isFullScreen(), timeout=5000)
    assert all(d.isVisible() for d in desk.findChildren(QDockWidget)) and desk.heat_map.isVisible()


def test_a_long_status_message_does_not_move_the_video(qtbot, desk) -> None:  # noqa: ANN001
    """The status line is one line at any length (cut, the whole message in its tooltip): a message wrapped
    to three lines beside the clip count took the video's height at every analysis's end, and gave it back."""
    desk.resize(1000, 620)
    desk.show()
    desk.state.status_message.emit("Scoring")
    qtbot.wait(50)
    short_height = desk.player.height()
    message = "Scored 66.00 in 5.6 s (backbone on cpu, openvino, float32) " * 3
    desk.state.status_message.emit(message)
    qtbot.wait(50)
    assert desk.player.height() == short_height
    assert desk.status.text() == message  # the whole message is kept, for the tooltip and the tests
    shown = desk.status.shown_text()
    assert shown.endswith("…") and message.startswith(shown[:-1]) and desk.status.fontMetrics().horizontalAdvance(shown) <= desk.status.width()


def test_a_paused_pictures_caption_names_the_speed_just_chosen(qtbot, desk, tiny_video) -> None:  # noqa: ANN001
    desk.commands.open_video(tiny_video(count=40), SHEET)
    qtbot.waitUntil(lambda: desk.player.meta is not None and desk.player.current_image() is not None, timeout=10000)
    assert not desk.player.playing and "  1×" in desk.player.view.caption
    desk.player.change_speed(-1)  # J
    desk.player.change_speed(-1)
    assert f"  {desk.player.speed:g}×" in desk.player.view.caption and desk.player.speed < 1  # it said 1× until the next frame


def test_the_frame_readout_keeps_its_width_while_the_frames_go_by(qtbot, desk, tiny_video) -> None:  # noqa: ANN001
    """Its width followed the text ("frame 9/120" to "frame 10/120"), so the buttons right of it jumped during playback."""
    desk.commands.open_video(tiny_video(count=120), SHEET)
    qtbot.waitUntil(lambda: desk.player.meta is not None, timeout=10000)
    positions = []
    for frame in (0, 8, 9, 99, 119):
        desk.player.seek(frame)
        qtbot.waitUntil(lambda f=frame: desk.transport.frame_label.text().startswith(f"frame {f + 1}/"), timeout=5000)
        qtbot.wait(20)
        positions.append(desk.transport.tools["line"].mapTo(desk, desk.transport.tools["line"].rect().topLeft()).x())
    assert len(set(positions)) == 1, positions
