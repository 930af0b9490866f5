"""The desk and Compare use the dives found in the footage: marks, a chooser, windows, sync marks."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_support import SHEET, app_home, tiny_bundle, wait_for_result  # noqa: F401 (fixture)
from PySide6.QtCore import QPoint, Qt

from aqa_core.dive_finder import find_dives, scoring_window
from aqa_core.synthetic.dataset import write_video
from aqa_core.synthetic.footage import render_footage
from app.state import AppState
from app.storage.database import open_database
from app.tabs.judging_desk import JudgingDesk
from app.widgets.compare_view import CompareView


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two 10 m dives, each followed by its slow replay (synthetic seed 1)."""
    path = tmp_path_factory.mktemp("footage") / "recording.mp4"
    write_video(path, render_footage(1))
    return path


@pytest.fixture
def desk(qtbot, app_home):  # noqa: ANN001, F811 (pytest fixtures)
    widget = JudgingDesk(AppState())
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    widget.commands.use_bundle(tiny_bundle())
    widget.commands.db = open_database(app_home / "sessions.db")  # the desk saves what it shows
    yield widget
    widget.commands.shutdown()


def test_the_desk_lists_the_dives_marks_them_and_scores_the_one_chosen(qtbot, desk, footage) -> None:  # noqa: ANN001
    expected = find_dives(footage)
    desk.commands.open_video(footage, SHEET)
    qtbot.waitUntil(lambda: len(desk.state.dives) == len(expected), timeout=30000)
    assert desk.state.dives == expected
    assert desk.timeline.dives == [(d.take_off_index, d.entry_index) for d in expected]
    assert desk.dive_choice.isVisible() and desk.dive_choice.count() == 4
    assert "replay" in desk.dive_choice.itemText(1) and "replay" not in desk.dive_choice.itemText(2)
    first = wait_for_result(qtbot, desk.state)
    meta = desk.state.video
    # unwindowed, the scorer took the first dive that is not a replay
    assert first.dive_window == scoring_window(expected[0], meta.frame_count, meta.fps)
    qtbot.waitUntil(lambda: desk.commands.saved_dive is not None, timeout=10000)
    first_saved = desk.commands.saved_dive
    desk.commands.choose_dive(2)  # the second dive (not a replay): a desk dive of its own
    window = scoring_window(expected[2], meta.frame_count, meta.fps)
    assert desk.state.window == window and desk.state.result is None
    assert desk.state.dive.blank  # no start list: a clean sheet, never the first dive's
    desk.commands.set_dive(SHEET.with_changes(dive_number="109C"))
    second = wait_for_result(qtbot, desk.state)
    assert second.dive_window == window and second.dive.dive_number == "109C"
    qtbot.waitUntil(lambda: desk.commands.saved_dive not in (None, first_saved), timeout=10000)


def test_dragging_the_desk_dives_mark_moves_it_and_rescores_that_window(qtbot, desk, footage) -> None:  # noqa: ANN001
    desk.commands.open_video(footage, SHEET)
    qtbot.waitUntil(lambda: len(desk.state.dives) == 4, timeout=30000)
    wait_for_result(qtbot, desk.state)
    timeline = desk.timeline
    take_off = desk.state.dives[0].take_off_index
    edits = []
    timeline.mark_edited.connect(lambda *args: edits.append(args))
    y = timeline.height() - 5
    start, target = int(round(timeline.x_of(take_off))), int(round(timeline.x_of(take_off - 30)))
    qtbot.mousePress(timeline, Qt.MouseButton.LeftButton, pos=QPoint(start, y))
    qtbot.mouseMove(timeline, QPoint(target, y))
    qtbot.mouseRelease(timeline, Qt.MouseButton.LeftButton, pos=QPoint(target, y))
    assert len(edits) == 1 and edits[0][:2] == (0, "take-off")
    moved = edits[0][2]
    assert moved == timeline.frame_at(target) and moved < take_off
    qtbot.waitUntil(lambda: desk.state.dives[0].take_off_index == moved, timeout=5000)
    meta = desk.state.video
    window = scoring_window(desk.state.dives[0], meta.frame_count, meta.fps)
    assert not desk.state.dive.blank  # the same desk dive, rescored: its sheet stays
    qtbot.waitUntil(lambda: desk.state.result is not None and desk.state.result.dive_window == window, timeout=60000)


def test_compare_sets_each_panes_marks_from_the_detected_dive(qtbot, app_home, footage, shared_clips) -> None:  # noqa: ANN001, F811
    view = CompareView()
    qtbot.addWidget(view)
    view.show()
    view.left.player.open(str(footage))
    view.right.player.open(str(shared_clips[1]))  # real dive b: starts in the air, no take-off
    dive = find_dives(footage)[0]
    real = find_dives(shared_clips[1])[0]
    qtbot.waitUntil(lambda: bool(view.left.marks and view.right.marks), timeout=30000)
    assert view.left.marks == {"take-off": dive.take_off_index, "entry": dive.entry_index}
    assert view.right.marks == {"entry": real.entry_index}
    view.event_box.setCurrentIndex(1)  # sync on the entry
    assert view.set_synced(True)
    assert view.sync_offset == real.entry_index - dive.entry_index
    for pane in view.panes:
        pane.player.close_video()
