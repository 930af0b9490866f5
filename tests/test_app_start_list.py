"""Start lists: read and checked like the desk's sheet, then taken one entry per opened video."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_support import app_home, tiny_bundle, wait_for_result  # noqa: F401 (fixture)

from aqa_core.errors import DatasetError
from aqa_core.rules import difficulty
from app.main import MainWindow
from app.start_list import StartEntry, read_start_list
from app.storage.repository import Repository

START_LIST = "\ufeffDiver,Dive_Number,Height,Round,DD\nAna Lopez,107B,10,1,\nBen Okafor,5253B,3,1,\nChloe Martin,305C,10,2,3.0\n"


def write(tmp_path: Path, text: str, name: str = "start.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_start_list_from_excel_is_read_in_order(tmp_path) -> None:  # noqa: ANN001
    entries = read_start_list(write(tmp_path, START_LIST))  # byte-order mark and capitalised headers, as Excel saves
    assert entries == [StartEntry("Ana Lopez", "107B", 10.0, 1), StartEntry("Ben Okafor", "5253B", 3.0, 1),
                       StartEntry("Chloe Martin", "305C", 10.0, 2, 3.0)]


@pytest.mark.parametrize(("text", "message"), [
    ("diver,dive_number,height\nAna,107B,10\n", r"start.csv: missing column round"),
    ("diver,dive_number,height,round\nAna,107B,10,1\nBen,999Z,10,1\n", r"start.csv:3: .*999Z"),
    ("diver,dive_number,height,round\nAna,107B,ten,1\n", r"start.csv:2: height 'ten'"),
    ("diver,dive_number,height,round\n,107B,10,1\n", r"start.csv:2: the diver's name is empty"),
    ("diver,dive_number,height,round\nAna,107B,10,0\n", r"start.csv:2: round 0"),
    ("diver,dive_number,height,round\n", r"start.csv: has no dives"),
])
def test_a_bad_row_is_refused_with_its_line(tmp_path, text, message) -> None:  # noqa: ANN001
    with pytest.raises(DatasetError, match=message):
        read_start_list(write(tmp_path, text))


def test_each_opened_video_takes_the_next_entry(qtbot, app_home, tmp_path, tiny_video) -> None:  # noqa: ANN001, F811
    window = MainWindow(database=tmp_path / "sessions.db")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.commands.db is not None, timeout=20000)
    commands, sheet = window.commands, window.desk.sheet
    commands.use_bundle(tiny_bundle())
    commands.import_start_list(write(tmp_path, START_LIST))
    qtbot.waitUntil(lambda: len(commands.start_list) == 3, timeout=10000)
    assert window.desk.start_list.list.count() == 3 and "Ana Lopez" in window.desk.start_list.hint.text()

    commands.open_video(tiny_video(count=30, name="first.mp4"))
    first = wait_for_result(qtbot, window.state)
    assert (sheet.diver.text(), sheet.dive_number.text(), sheet.dd.text()) == ("Ana Lopez", "107B", "3.0")
    assert first.dive.difficulty == difficulty("107B", 10.0)
    window.desk.start_list.forward_button.click()  # Ben's video is missing: skip him
    commands.open_video(tiny_video(count=31, name="third.mp4"))
    third = wait_for_result(qtbot, window.state)
    assert (sheet.diver.text(), sheet.dive_number.text(), sheet.round.value(), third.dive.difficulty) == ("Chloe Martin", "305C", 2, 3.0)
    window.desk.start_list.back_button.click()
    window.desk.start_list.back_button.click()  # Ben's video turns up after all
    assert commands.start_next == 1
    commands.open_video(tiny_video(count=32, name="second.mp4"))
    second = wait_for_result(qtbot, window.state)
    assert (sheet.diver.text(), sheet.height_box.currentData(), second.dive.difficulty) == ("Ben Okafor", 3.0, difficulty("5253B", 3.0))
    commands.wait_for_background()
    stored = {row.video_name: (row.athlete, row.dive_number) for row in Repository(commands.db).list_dives()}
    assert stored == {"first.mp4": ("Ana Lopez", "107B"), "third.mp4": ("Chloe Martin", "305C"), "second.mp4": ("Ben Okafor", "5253B")}
    commands.shutdown()


def test_real_work_opened_from_the_demo_goes_to_the_users_database(qtbot, app_home, tmp_path, tiny_video) -> None:  # noqa: ANN001, F811
    window = MainWindow(database=tmp_path / "mine.db", demo_database=tmp_path / "demo.db")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.commands.db is not None and window.commands.demo_db is not None, timeout=20000)
    window.commands.use_bundle(tiny_bundle())
    window.start_demo(n=1)
    qtbot.waitUntil(lambda: window.demo_list is not None, timeout=60000)
    wait_for_result(qtbot, window.state)
    window.commands.wait_for_background()
    qtbot.waitUntil(lambda: window.sessions.repository.db is window.commands.demo_db, timeout=10000)
    qtbot.waitUntil(lambda: window.desk.storage.text() == "Saved with score (demo session)", timeout=10000)
    assert window.desk.storage.toolTip().endswith("demo.db")
    window.commands.saved_with_score = False  # what a save made as a video opens, before its score, leaves
    window._show_storage(window.commands.demo_db, saved=True)
    assert window.desk.storage.text() == "Sheet saved (demo session)"
    assert window.demo_list.currentRow() == 0
    real = tiny_video(count=30, name="my_dive.mp4")
    window.commands.open_video(real)  # a clean sheet: nothing saved yet, but the desk already says where it will go
    qtbot.waitUntil(lambda: window.state.video is not None and window.state.video.path == str(real), timeout=10000)
    assert window.desk.storage.text() == "Will be saved (your sessions, mine.db)"
    assert window.demo_list.currentItem() is None  # the demo dive is no longer the one on the desk
    window.desk.sheet.diver.setText("Ana Lopez")
    window.desk.sheet.dive_number.setText("107B")
    window.desk.sheet.dive_number.editingFinished.emit()
    wait_for_result(qtbot, window.state)
    window.commands.wait_for_background()
    qtbot.waitUntil(lambda: "your sessions" in window.desk.storage.text() and "mine.db" in window.desk.storage.text(), timeout=10000)
    demo_rows = Repository(window.commands.demo_db).list_dives()
    my_rows = Repository(window.commands.db).list_dives()
    assert [r.athlete for r in demo_rows] == ["synthetic diver"]
    assert [(r.athlete, r.video_name) for r in my_rows] == [("Ana Lopez", "my_dive.mp4")]
    assert window.sessions.repository.db is window.commands.db  # the browser follows the dive on the desk
    window.commands.shutdown()
