"""The keyboard belongs to the video except while a text field is being edited."""

from __future__ import annotations

import pytest
from app_support import SHEET, app_home, tiny_bundle, wait_for_result  # noqa: F401 (fixture)
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.state import AppState
from app.tabs.judging_desk import JudgingDesk


@pytest.fixture
def desk(qtbot, app_home, tiny_video):  # noqa: ANN001, F811 (pytest fixtures)
    widget = JudgingDesk(AppState())
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    with qtbot.waitActive(widget):
        widget.show()
        widget.activateWindow()
    widget.commands.use_bundle(tiny_bundle())
    widget.commands.open_video(tiny_video(count=40), SHEET)
    wait_for_result(qtbot, widget.state)
    yield widget
    widget.commands.shutdown()


def focused():  # noqa: ANN201
    return QApplication.focusWidget()


def test_enter_in_a_field_hands_the_keys_back_to_the_player(qtbot, desk) -> None:  # noqa: ANN001
    field = desk.sheet.dive_number
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, "305C")
    qtbot.keyClick(field, Qt.Key.Key_Space)  # while editing, Space is a character, not play
    assert not desk.player.playing and field.text() == "305C "
    qtbot.keyClick(field, Qt.Key.Key_Backspace)
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert focused() is desk.player and desk.state.dive.dive_number == "305C"
    desk.player.seek(5)
    qtbot.waitUntil(lambda: desk.player.frame == 5, timeout=5000)
    qtbot.keyClick(focused(), Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: desk.player.frame == 6, timeout=5000)
    qtbot.keyClick(focused(), Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: desk.player.playing, timeout=5000)
    qtbot.keyClick(focused(), Qt.Key.Key_Space)
    assert not desk.player.playing


def test_escape_in_a_field_hands_focus_back_without_cancelling(qtbot, desk) -> None:  # noqa: ANN001
    mark = desk.judges.edits[0]
    mark.setFocus()
    qtbot.keyClicks(mark, "8")
    desk.commands.score()  # an analysis running: Esc in a field must not cancel it
    qtbot.keyClick(mark, Qt.Key.Key_Escape)
    assert focused() is desk.player and desk.state.analysing
    wait_for_result(qtbot, desk.state)


def test_clicking_the_video_takes_the_keys(qtbot, desk) -> None:  # noqa: ANN001
    desk.sheet.diver.setFocus()
    assert focused() is desk.sheet.diver
    qtbot.mouseClick(desk.player.view, Qt.MouseButton.LeftButton)
    assert focused() is desk.player
    desk.player.seek(10)
    qtbot.waitUntil(lambda: desk.player.frame == 10, timeout=5000)
    qtbot.keyClick(focused(), Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: desk.player.frame == 9, timeout=5000)


def test_a_combo_box_choice_hands_focus_back(qtbot, desk) -> None:  # noqa: ANN001
    combo = desk.sheet.height_box
    combo.setFocus()
    combo.activated.emit(combo.findData(3.0))
    assert focused() is desk.player


def test_playback_keys_belong_to_the_desk_tab_only(qtbot, app_home, tmp_path, tiny_video) -> None:  # noqa: ANN001, F811
    from app.main import MainWindow

    window = MainWindow(database=tmp_path / "s.db")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.sessions is not None, timeout=20000)
    window.commands.open_video(tiny_video(count=20), SHEET)
    qtbot.waitUntil(lambda: window.desk.player.meta is not None, timeout=10000)
    window.tabs.setCurrentWidget(window.sessions)  # arrows in the sessions table must not step a hidden video
    assert not window.desk.actions["step_forward"].isEnabled() and not window.desk.actions["play_pause"].isEnabled()
    window.tabs.setCurrentWidget(window.desk)
    assert window.desk.actions["step_forward"].isEnabled() and window.desk.actions["open_video"].isEnabled()
    window.commands.shutdown()
