"""The demo's dives are stored once each: picked again or after a restart, the stored dive comes back."""

from __future__ import annotations

from pathlib import Path

from app_support import app_home, tiny_bundle, wait_for_result  # noqa: F401 (fixture)

from app.main import MainWindow
from app.storage.repository import Repository


def demo_window(qtbot, tmp_path: Path, seed: int = 0) -> MainWindow:  # noqa: ANN001 (pytest-qt)
    window = MainWindow(database=tmp_path / "mine.db", demo_database=tmp_path / "demo.db")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.commands.db is not None and window.commands.demo_db is not None, timeout=20000)
    window.commands.use_bundle(tiny_bundle(seed))
    window.start_demo(n=2)
    qtbot.waitUntil(lambda: window.demo_list is not None, timeout=60000)
    wait_for_result(qtbot, window.state)
    window.commands.wait_for_background()
    return window


def pick(qtbot, window: MainWindow, row: int) -> None:  # noqa: ANN001 (pytest-qt)
    """Click a demo dive and wait until it is on the desk with its analysis."""
    dive = window.demo_list.item(row).data(0x0100)
    window.demo_list.setCurrentRow(row)
    window.open_demo_dive(dive)
    qtbot.waitUntil(lambda: window.state.video is not None and Path(window.state.video.path) == Path(dive.video), timeout=20000)
    wait_for_result(qtbot, window.state)
    window.commands.wait_for_background()


def stored(window: MainWindow) -> list[tuple[str, float | None]]:
    return sorted((row.video_name, row.predicted_final) for row in Repository(window.commands.demo_db).list_dives())


def test_a_demo_dive_picked_again_or_after_a_restart_is_the_stored_one(qtbot, app_home, tmp_path) -> None:  # noqa: ANN001, F811
    window = demo_window(qtbot, tmp_path)
    first_final = window.state.result.final.score
    sheet = window.desk.sheet
    sheet.note.setText("knees apart on entry")
    sheet.note.editingFinished.emit()
    window.commands.wait_for_background()
    pick(qtbot, window, 1)
    assert len(stored(window)) == 2
    pick(qtbot, window, 0)  # back to dive 1: its stored analysis and note, not a third row
    assert len(stored(window)) == 2
    assert window.state.result.final.score == first_final
    assert sheet.note.text() == "knees apart on entry"
    rows_before = stored(window)
    window.commands.shutdown()
    window.close()

    again = demo_window(qtbot, tmp_path)  # the demo started again on the same demo database
    assert stored(again) == rows_before
    assert again.desk.sheet.note.text() == "knees apart on entry"
    assert again.state.result.final.score == first_final
    again.commands.shutdown()
    again.close()


def test_a_demo_dive_analysed_by_another_model_is_scored_again_by_the_active_one(qtbot, app_home, tmp_path) -> None:  # noqa: ANN001, F811
    window = demo_window(qtbot, tmp_path, seed=0)
    old = window.state.result
    pick(qtbot, window, 1)
    retrained = tiny_bundle(seed=1)
    window.commands.use_bundle(retrained)
    pick(qtbot, window, 0)
    result = window.state.result
    assert result.model_fingerprint == retrained.fingerprint != old.model_fingerprint
    assert len(stored(window)) == 2  # the same stored dive, analysed again
    dive_id = Repository(window.commands.demo_db).latest_dive_of_video(window.state.video.path)
    assert Repository(window.commands.demo_db).analysis_count(dive_id) == 2
    assert Repository(window.commands.demo_db).latest_analysis(dive_id).model_fingerprint == retrained.fingerprint
    window.commands.shutdown()
