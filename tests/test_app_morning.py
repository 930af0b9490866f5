"""A morning at the desk, through the widgets: what is stored is exactly what the desk showed.

Three dives in a row with different sheets, typed as a judge types them (keys, Enter), an edit
after scoring, the real panel's marks, a note and a dragged window; then each dive is reopened
from the Sessions tab and every stored field is compared with what the widgets showed. The real
finals are worked by hand from the rules (drop the highest and lowest awards, sum x DD).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from app_support import app_home, window, wait_for_result  # noqa: F401 (fixture)
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from aqa_core.rules import difficulty
from app.main import MainWindow
from app.storage.repository import Repository


def type_into(qtbot, field: QLineEdit, text: str) -> None:  # noqa: ANN001
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, Qt.Key.Key_Return)


@dataclass(frozen=True)
class Screen:
    """What the desk's widgets show for one dive."""

    diver: str
    dive_number: str
    height: float
    dd: str
    event: str
    panel: int
    round: int
    note: str
    tags: str
    marks: list[str]
    final: str
    window: tuple[int, int]
    video: str


def screen(window: MainWindow) -> Screen:
    sheet, desk = window.desk.sheet, window.desk
    return Screen(sheet.diver.text(), sheet.dive_number.text(), float(sheet.height_box.currentData()), sheet.dd.text(),
                  sheet.event_box.currentText(), int(sheet.panel.currentData()), sheet.round.value(), sheet.note.text(), sheet.tags.text(),
                  [e.text() for e in desk.judges.edits], desk.judges.final_label.text(), desk.timeline.window,
                  window.state.video.path)


def settle(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    """The analysis on screen is done and every queued save has landed."""
    wait_for_result(qtbot, window.state)
    window.commands.wait_for_background()
    qtbot.wait(20)  # deliver the saves' "done" signals
    window.commands.wait_for_background()


def open_clean(qtbot, window: MainWindow, path) -> None:  # noqa: ANN001
    window.commands.open_video(path)
    qtbot.waitUntil(lambda: window.state.video is not None and window.state.video.path == str(path), timeout=10000)
    sheet = window.desk.sheet
    # A clean sheet: nothing of the previous dive, and nothing scored until the dive is known.
    assert (sheet.diver.text(), sheet.dive_number.text(), sheet.dd.text(), sheet.note.text(), sheet.tags.text(), sheet.round.value()) == ("", "", "", "", "", 1)
    assert all(e.text() == "" for e in window.desk.judges.edits) and window.state.result is None
    assert "dive number" in window.desk.status.text()


def type_marks(qtbot, window: MainWindow, marks: list[float]) -> None:  # noqa: ANN001
    for edit, mark in zip(window.desk.judges.edits, marks, strict=True):
        type_into(qtbot, edit, f"{mark:g}")


def test_a_morning_of_dives_is_stored_exactly_as_shown(qtbot, window, tiny_video) -> None:  # noqa: ANN001
    desk, sheet, commands = window.desk, window.desk.sheet, window.commands
    videos = [tiny_video(count=40 + i, name=f"dive_{i + 1}.mp4") for i in range(3)]
    shown: list[Screen] = []

    # Dive 1: typed, scored, marks typed, then the dive number corrected after scoring.
    open_clean(qtbot, window, videos[0])
    type_into(qtbot, sheet.diver, "Ana Lopez")
    type_into(qtbot, sheet.dive_number, "107B")
    first = wait_for_result(qtbot, window.state)
    type_marks(qtbot, window, [8, 8.5, 7.5, 8, 9, 8, 7])
    type_into(qtbot, sheet.dive_number, "305C")
    qtbot.waitUntil(lambda: window.state.result is not None and window.state.result.dive.dive_number == "305C", timeout=20000)
    settle(qtbot, window)
    shown.append(screen(window))
    assert shown[0].dd == "2.8" and "305C" not in first.dive.dive_number

    # Dive 2: 3 m springboard, round 2, a 5-judge panel chosen after the first score.
    open_clean(qtbot, window, videos[1])
    assert sheet.diver.text() != "Ana Lopez"
    type_into(qtbot, sheet.diver, "Ben Okafor")
    sheet.height_box.setCurrentIndex(sheet.height_box.findData(3.0))
    sheet.round.setValue(2)
    type_into(qtbot, sheet.dive_number, "5253B")
    wait_for_result(qtbot, window.state)
    sheet.panel.setCurrentIndex(sheet.panel.findData(5))
    qtbot.waitUntil(lambda: window.state.result is not None and window.state.result.dive.panel_size == 5, timeout=30000)
    type_marks(qtbot, window, [6.5, 7, 7.5, 7, 8])
    settle(qtbot, window)
    shown.append(screen(window))

    # Dive 3: a note, and the dive window dragged by the judge (rescored on that window).
    open_clean(qtbot, window, videos[2])
    type_into(qtbot, sheet.diver, "Chloe Martin")
    type_into(qtbot, sheet.dive_number, "107B")
    type_into(qtbot, sheet.note, "entry a little short")
    type_into(qtbot, sheet.tags, "training, entry, Entry")  # the repeat is one tag
    wait_for_result(qtbot, window.state)
    commands.rescore_window(4, 36)
    qtbot.waitUntil(lambda: window.state.result is not None and tuple(window.state.result.dive_window) == (4, 36), timeout=30000)
    type_marks(qtbot, window, [9, 9, 9.5, 8.5, 9, 9, 9])
    settle(qtbot, window)
    shown.append(screen(window))
    assert shown[2].tags == "entry, training" and shown[0].tags == shown[1].tags == ""

    # Hand-worked real finals: the awards the rules keep, summed, times the DD on the sheet.
    real_finals = [24.0 * 2.8, 21.5 * 3.4, 27.0 * 3.0]
    expected_dd = [difficulty("305C", 10.0), difficulty("5253B", 3.0), difficulty("107B", 10.0)]

    repo = Repository(commands.db)
    rows = sorted(repo.list_dives(), key=lambda r: r.dive_id)
    assert len(rows) == 3, "one stored dive per video, never a duplicate"
    for row, seen, real, dd in zip(rows, shown, real_finals, expected_dd, strict=True):
        stored = repo.desk_dive(row.dive_id)
        assert (stored.athlete, stored.dive.dive_number, stored.dive.height, stored.round) == (seen.diver, seen.dive_number, seen.height, seen.round)
        assert (stored.dive.event, stored.dive.panel_size, f"{stored.dive.difficulty:.1f}") == (seen.event, seen.panel, seen.dd)
        assert stored.dive.difficulty == dd
        assert [f"{m:g}" for m in stored.marks] == seen.marks
        assert row.human_final == pytest.approx(real)
        assert stored.note == seen.note and stored.window == seen.window and stored.video_path == seen.video
        assert ", ".join(stored.tags) == seen.tags
        assert row.video_name == f"dive_{rows.index(row) + 1}.mp4" and row.analysed_at is not None
        analysis = stored.analysis
        assert analysis is not None
        assert f"{analysis.final.score:.2f}" in seen.final and row.predicted_final == pytest.approx(analysis.final.score)
        # The analysis is tied to the sheet it was computed with: the one on screen.
        assert (analysis.dive.dive_number, analysis.dive.difficulty, analysis.dive.panel_size) == (seen.dive_number, dd, seen.panel)
        assert tuple(analysis.dive_window) == seen.window
    assert [repo.analysis_count(r.dive_id) for r in rows] == [2, 2, 2]  # each later change added an analysis

    # Reopen each from the Sessions tab: every widget comes back as it was, without rescoring.
    started: list[bool] = []
    window.state.analysis_started.connect(lambda: started.append(True))
    for row, seen in zip(rows, shown, strict=True):
        window.tabs.setCurrentWidget(window.sessions)
        window.sessions.open_dive_requested.emit(row.dive_id)
        qtbot.waitUntil(lambda seen=seen: window.state.result is not None and window.state.video is not None
                        and window.state.video.path == seen.video, timeout=20000)
        window.commands.wait_for_background()
        assert screen(window) == seen
        assert window.tabs.currentWidget() is desk
    assert not started
