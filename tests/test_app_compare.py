"""Compare: each pane on its own, marks on any frame, then both locked on the marked event."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
from app_support import app_home, frame_index_on_screen  # noqa: F401 (fixture)
from storage_support import make_result

from app.storage.database import open_database
from app.storage.repository import DiveRecord, Repository
from app.widgets.compare_view import CompareView


@pytest.fixture
def compare(qtbot, app_home, tiny_video):  # noqa: ANN001, F811 (pytest fixtures)
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(1400, 700)
    view.show()
    view.left.player.open(str(tiny_video(count=30, name="a.mp4")))
    view.right.player.open(str(tiny_video(count=30, name="b.mp4")))
    qtbot.waitUntil(lambda: view.left.player.meta is not None and view.right.player.meta is not None, timeout=10000)
    yield view
    for pane in view.panes:
        pane.player.close_video()


def frames(view: CompareView) -> tuple[int, int]:
    return view.left.player.frame, view.right.player.frame


def test_each_pane_steps_and_scrubs_on_its_own_and_marks_any_frame(qtbot, compare, tiny_video) -> None:  # noqa: ANN001
    compare.left.forward_button.click()
    compare.left.forward_button.click()
    qtbot.waitUntil(lambda: frames(compare) == (2, 0), timeout=5000)
    compare.right.timeline.scrubbed.emit(14)  # what a click on B's timeline sends
    qtbot.waitUntil(lambda: frames(compare) == (2, 14), timeout=5000)
    assert frame_index_on_screen(compare.right.player, tiny_video) == 14
    compare.left.mark_button.click()  # take-off at frame 3 (index 2) in A, 15 in B: not frame 1
    compare.right.forward_button.click()
    qtbot.waitUntil(lambda: compare.right.player.frame == 15, timeout=5000)
    compare.right.mark_button.click()
    assert compare.left.marks == {"take-off": 2} and compare.right.marks == {"take-off": 15}
    assert "take-off 3" in compare.left.mark_label.text() and compare.right.timeline.marks == [(15, "take-off")]
    assert "frame 16/30" in compare.right.frame_label.text()


def test_sync_locks_both_with_the_marked_offset(qtbot, compare, tiny_video) -> None:  # noqa: ANN001
    compare.event_box.setCurrentText("entry")
    compare.left.player.seek(8)
    qtbot.waitUntil(lambda: compare.left.player.frame == 8, timeout=5000)
    compare.left.mark_button.click()
    compare.right.player.seek(15)
    qtbot.waitUntil(lambda: compare.right.player.frame == 15, timeout=5000)
    compare.right.mark_button.click()
    compare.left.player.seek(0)
    compare.right.player.seek(20)
    compare.sync_button.click()
    assert compare.synced and compare.sync_offset == 7 and "B's frame = A's frame + 7" in compare.status.text()
    qtbot.waitUntil(lambda: frames(compare) == (8, 15), timeout=5000)
    compare.right.forward_button.click()  # stepping either pane moves both
    compare.left.forward_button.click()
    qtbot.waitUntil(lambda: frames(compare) == (10, 17), timeout=5000)
    assert frame_index_on_screen(compare.left.player, tiny_video) == 10
    assert frame_index_on_screen(compare.right.player, tiny_video) == 17
    compare.left.timeline.scrubbed.emit(4)  # scrubbing A drags B along
    qtbot.waitUntil(lambda: frames(compare) == (4, 11), timeout=5000)
    compare.speed.setCurrentIndex(compare.speed.findData(2.0))
    compare.right.play_button.click()
    assert compare.left.player.playing and compare.right.player.playing and compare.left.player.speed == 2.0
    qtbot.waitUntil(lambda: compare.left.player.frame >= 12 or not compare.left.player.playing, timeout=10000)
    compare.left.play_button.click()
    assert not compare.left.player.playing and not compare.right.player.playing
    compare.left.forward_button.click()
    settled = lambda: all(p.player.frame == p.player.requested for p in compare.panes)  # noqa: E731
    qtbot.waitUntil(lambda: settled() and frames(compare)[1] - frames(compare)[0] == 7, timeout=5000)  # the offset held through play
    compare.sync_button.click()  # unlocked: B steps alone again
    left_before = compare.left.player.frame
    compare.right.forward_button.click()
    qtbot.waitUntil(lambda: compare.right.player.frame == compare.right.player.requested, timeout=5000)
    assert compare.left.player.frame == left_before and not compare.synced


def test_sync_without_marks_keeps_the_offset_on_screen(qtbot, compare) -> None:  # noqa: ANN001
    compare.right.player.seek(5)
    qtbot.waitUntil(lambda: compare.right.player.frame == 5, timeout=5000)
    assert compare.set_synced(True) and compare.sync_offset == 5


def test_overlay_draws_b_over_a(qtbot, compare) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: compare.right.player.current_image() is not None, timeout=5000)
    compare.overlay.setChecked(True)
    assert compare.left.player.view.overlay is compare.right.player.current_image()
    assert not compare.right.player.isVisible()
    compare.overlay.setChecked(False)
    assert compare.left.player.view.overlay is None and compare.right.player.isVisible()


def test_synced_dives_export_side_by_side_frame_for_frame(qtbot, compare, tmp_path, tiny_video) -> None:  # noqa: ANN001
    from dataclasses import replace

    import cv2

    from aqa_core.video import probe
    from app.export import export_side_by_side, synced_span

    assert synced_span(30, 30, 7) == (0, 23) and synced_span(30, 20, -5) == (5, 20) and synced_span(10, 40, 3) == (0, 10)
    assert compare.export_plan() is None and not compare.export_button.isEnabled()
    compare.right.player.seek(7)
    qtbot.waitUntil(lambda: compare.right.player.frame == 7, timeout=5000)
    assert compare.sync_button.text() == "Sync"
    compare.sync_button.click()
    assert compare.export_button.isEnabled() and compare.sync_button.text() == "Synced: unlock"  # says it is on, and what a click does
    a, b, count = compare.export_plan()
    assert (a.first, b.first, count) == (0, 7, 23)
    assert a.video == compare.left.player.meta.path and b.video == compare.right.player.meta.path
    # The same plan on larger copies, so the readout band leaves the pixels that name each frame alone.
    big_a, big_b = tiny_video(count=30, width=320, height=240, name="big_a.mp4"), tiny_video(count=30, width=160, height=120, name="big_b.mp4")
    progress: list[int] = []
    out = export_side_by_side(replace(a, video=big_a), replace(b, video=big_b), count, tmp_path / "both.mp4",
                              lambda done, total: progress.append(done))
    info = probe(out)
    assert (info.frame_count, info.width, info.height) == (23, 640, 240) and progress[-1] == 23  # B scaled to A's height
    capture = cv2.VideoCapture(str(out))
    pairs = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        pairs.append((tiny_video.index_of(frame[:, :320]), tiny_video.index_of(frame[:, 320:])))
    capture.release()
    # The frames name themselves (mod 28; the codec may shade a whole frame by under a step): B runs 7 ahead of A in
    # every exported frame, and A advances one frame each time.
    assert len(pairs) == 23 and all((right - left) % 28 == 7 for left, right in pairs)
    assert all((later[0] - earlier[0]) % 28 == 1 for earlier, later in zip(pairs, pairs[1:], strict=False))


def test_a_file_dropped_on_a_pane_opens_in_that_pane(qtbot, compare, tiny_video) -> None:  # noqa: ANN001
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    assert "drop" in compare.left.player.view.placeholder and "File" not in compare.left.player.view.placeholder
    path = tiny_video(count=12, name="c.mp4")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    compare.right.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: compare.right.player.meta is not None and compare.right.player.meta.frame_count == 12, timeout=10000)
    assert compare.right.player.meta.path == str(path) and compare.left.player.meta.frame_count == 30  # A keeps its dive


def test_a_scored_videos_stored_clip_curve_shows_under_its_pane_wherever_the_file_lies(qtbot, app_home, tiny_video, tmp_path) -> None:  # noqa: ANN001, F811
    scored, unscored = tiny_video(count=30, name="scored.mp4"), tiny_video(count=26, name="unscored.mp4")
    first = make_result(40.0)
    newest = make_result(61.5, model="club_musdl", version="3")
    newest = replace(newest, clips=[replace(c, score=50.0 + 2 * c.index) for c in newest.clips])
    with open_database(tmp_path / "s.sqlite") as db:
        repo = Repository(db)
        saved = repo.save_scored_dive(DiveRecord("Cup", "10m", "Ana", video_path=scored), first)
        repo.save_analysis(saved.dive_id, newest)  # rescored: the newest analysis is the curve
        view = CompareView()
        qtbot.addWidget(view)
        view.resize(1400, 800)
        view.show()
        view.set_database(db)
        copy = tmp_path / "stick" / "copy.mp4"  # the same dive copied elsewhere: found by its content
        copy.parent.mkdir()
        shutil.copy(scored, copy)
        view.left.player.open(str(copy))
        view.right.player.open(str(unscored))
        qtbot.waitUntil(lambda: view.left.curve.result is not None and "No stored analysis" in view.right.curve.title,
                        timeout=10000)
        xs, ys = view.left.curve.line.getData()
        assert list(xs) == [c * 10 + 7.5 + 1 for c in range(10)]  # clip middles, frames counted from 1 as the readout
        assert list(ys) == [50.0 + 2 * c for c in range(10)]
        assert "club_musdl v3" in view.left.curve.title and "final 61.50" in view.left.curve.title
        view.left.player.seek(12)
        qtbot.waitUntil(lambda: view.left.curve.playhead_line.value() == 13, timeout=5000)
        repo.save_scored_dive(DiveRecord("Cup", "10m", "Ben", video_path=unscored), make_result(20.0))  # B scored since
        view.refresh_curves()  # what showing the tab does
        qtbot.waitUntil(lambda: view.right.curve.result is not None, timeout=10000)
        for pane in view.panes:  # one y scale over both dives' clips (20 .. 68)
            low, high = pane.curve.getViewBox().viewRange()[1]
            assert low < 20.0 < 68.0 < high and high - low < 60
        for pane in view.panes:
            pane.player.close_video()


def test_side_by_side_export_burns_in_the_analysis_each_pane_shows(qtbot, compare, tmp_path, tiny_video) -> None:  # noqa: ANN001
    import numpy as np

    from aqa_core.video import VideoReader
    from app.export import burn_overlay, export_side_by_side

    compare.sync_button.click()  # both at their first frame: offset 0
    compare.left.curve.show_result(make_result(61.5))  # what the stored-analysis lookup shows under A; B has none
    a, b, count = compare.export_plan()
    assert a.result is compare.left.curve.result and b.result is None
    big_a, big_b = (tiny_video(count=30, width=640, height=480, name=f"big_{side}.mp4") for side in "ab")
    out = export_side_by_side(replace(a, video=big_a), replace(b, video=big_b), count, tmp_path / "both.mp4")
    band = int(78 * 640 / 1280)  # burn_overlay's band at this width: where the analysis is drawn
    with VideoReader(big_a) as source_a, VideoReader(big_b) as source_b, VideoReader(out) as exported:
        for index in (3, 17):  # inside clips 1 and 2 of the result (frames 0-15 and 10-25)
            frame = exported.frame(index)[:band].astype(int)
            halves = {"A": frame[:, :640], "B": frame[:, 640:]}
            for name, side, reader in (("A", a, source_a), ("B", b, source_b)):
                info = reader.info
                analysed = burn_overlay(reader.frame(index), make_result(61.5), index, info.fps, info.frame_count, side.label)[:band]
                bare = burn_overlay(reader.frame(index), None, index, info.fps, info.frame_count, side.label)[:band]
                to_analysed, to_bare = (float(np.abs(halves[name] - drawn.astype(int)).mean()) for drawn in (analysed, bare))
                # the codec moves pixels by a few levels; the final's line, the clip line and the curve by far more
                if name == "A":
                    assert to_analysed < to_bare / 3, (index, to_analysed, to_bare)
                else:
                    assert to_bare < to_analysed / 3, (index, to_analysed, to_bare)


def test_synced_play_from_the_end_starts_both_again_together_and_stops_them_together(qtbot, compare) -> None:  # noqa: ANN001
    compare.right.player.seek(7)
    qtbot.waitUntil(lambda: compare.right.player.frame == 7, timeout=5000)
    compare.sync_button.click()  # B = A + 7: A's frames 0-22 are the ones both have (B's last is 29)
    compare.seek(compare.left, 22)
    qtbot.waitUntil(lambda: frames(compare) == (22, 29), timeout=5000)
    shown: dict[str, list[int]] = {"A": [], "B": []}
    compare.left.player.frame_shown.connect(shown["A"].append)
    compare.right.player.frame_shown.connect(shown["B"].append)
    compare.toggle_play(compare.left)  # at the end of the shared frames: both start again, locked
    qtbot.waitUntil(lambda: bool(shown["A"] and shown["B"]), timeout=5000)
    qtbot.waitUntil(lambda: not compare.left.player.playing and not compare.right.player.playing, timeout=15000)
    assert shown["A"][0] == 0 and shown["B"][0] == 7
    assert frames(compare) == (22, 29) and compare.synced  # B's end stopped A too, still 7 apart


def test_home_end_and_the_one_second_keys_work_in_compare_synced_or_not(qtbot, compare) -> None:  # noqa: ANN001
    keys = {action.shortcut().toString(): action for action in compare.key_actions}
    assert {"Home", "End", "Shift+Right", "Shift+Left"} <= set(keys)
    keys["End"].trigger()  # unsynced: the pane last used (A) alone
    qtbot.waitUntil(lambda: frames(compare) == (29, 0), timeout=5000)
    keys["Home"].trigger()
    qtbot.waitUntil(lambda: frames(compare) == (0, 0), timeout=5000)
    compare.right.player.seek(7)
    qtbot.waitUntil(lambda: compare.right.player.frame == 7, timeout=5000)
    compare.sync_button.click()  # B = A + 7: the frames both have are A's 0-22
    keys["End"].trigger()
    qtbot.waitUntil(lambda: frames(compare) == (22, 29), timeout=5000)
    keys["Shift+Left"].trigger()  # a second back at 25 fps goes past A's first frame: both stop at the span's start, still 7 apart
    qtbot.waitUntil(lambda: frames(compare) == (0, 7), timeout=5000)
    keys["Shift+Right"].trigger()  # and forward, to 25 in A but the span ends at 22
    qtbot.waitUntil(lambda: frames(compare) == (22, 29), timeout=5000)
    keys["Home"].trigger()
    qtbot.waitUntil(lambda: frames(compare) == (0, 7), timeout=5000)
