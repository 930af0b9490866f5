"""The main window, the demo session, the session database, exports, shortcuts and `aqa-judge app`."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_support import SHEET, app_home, frame_index_on_screen, tiny_bundle, wait_for_result  # noqa: F401 (fixture)
from PySide6.QtGui import QKeySequence

from app.demo import prepare_demo
from app.main import MainWindow
from app.settings import shortcut
from app.widgets.help_overlay import ShortcutsDialog
from cli.main import main as cli_main


@pytest.fixture
def window(qtbot, app_home, tmp_path):  # noqa: ANN001, F811 (pytest fixtures)
    win = MainWindow(database=tmp_path / "sessions.db")
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.commands.db is not None, timeout=20000)
    win.commands.use_bundle(tiny_bundle())
    yield win
    win.commands.shutdown()


def score_and_save(qtbot, window, tiny_video):  # noqa: ANN001, ANN201
    """Open a tiny video, wait for its analysis and for the save; returns (result, saved dive ids)."""
    saved: list[int] = []
    window.commands.saved.connect(saved.append)
    window.commands.open_video(tiny_video(count=40), SHEET)
    result = wait_for_result(qtbot, window.state)
    window.commands.wait_for_background()  # the dive's saves land in order: row, then its analysis
    qtbot.waitUntil(lambda: bool(saved), timeout=20000)
    return result, saved


def test_each_analysis_is_saved_with_the_real_panel(qtbot, window, tiny_video) -> None:  # noqa: ANN001
    from app.storage.repository import Repository

    result, saved = score_and_save(qtbot, window, tiny_video)
    stored = Repository(window.commands.db).latest_analysis(saved[0])
    assert stored.to_dict() == {**result.to_dict(), "video": stored.video}
    marks = [8.0, 8.5, 7.5, 8.0, 9.0, 8.0, 7.0]
    window.commands.set_real_scores(marks)
    window.commands.wait_for_background()
    with window.commands.db.reading() as session:
        from app.storage.models import HumanScore

        rows = session.query(HumanScore).filter_by(dive_id=saved[0]).all()
        assert sorted(r.score for r in rows) == sorted(marks)


def test_without_a_model_the_selector_says_so(qtbot, app_home) -> None:  # noqa: ANN001, F811
    win = MainWindow(open_db=False)
    qtbot.addWidget(win)
    win.commands.show_bundle(None)  # what a machine with no trained model finds
    assert "No trained model installed" in win.desk.sheet.model_label.text()
    assert win.state.bundle is None


def test_demo_dives_are_generated_once(app_home) -> None:  # noqa: F811
    calls: list[tuple[int, int]] = []
    dives = prepare_demo(progress=lambda done, n: calls.append((done, n)), n=2)
    assert calls[-1] == (2, 2) and len(dives) == 2
    assert all(d.video.is_file() and len(d.judge_scores) == 7 for d in dives)
    stamp = dives[0].video.stat().st_mtime_ns
    again = prepare_demo(progress=lambda done, n: calls.append((done, n)), n=2)
    assert again == dives and len(calls) == 2 and dives[0].video.stat().st_mtime_ns == stamp


def test_demo_dives_are_new_dives_in_the_demo_models_venue(app_home) -> None:  # noqa: F811
    """The shipped model saw one hall: the demo films new dives there, none of its training dives."""
    import csv
    import json
    from dataclasses import asdict

    from app.demo import DEMO_MODEL_DATA_SEED, demo_folder
    from aqa_core.paths import resource
    from aqa_core.synthetic.dataset import dataset_venue, dive_seed

    card = json.loads(resource("models", "demo_musdl", "bundle.json").read_text())["data_card"]
    assert card["dataset_notes"]["seed"] == DEMO_MODEL_DATA_SEED
    prepare_demo(n=2)
    made = json.loads((demo_folder() / "dataset.json").read_text())
    assert made["venue"] == json.loads(json.dumps(asdict(dataset_venue(DEMO_MODEL_DATA_SEED))))
    with (demo_folder() / "synthetic_truth.csv").open(newline="") as handle:
        seeds = {int(row["seed"]) for row in csv.DictReader(handle)}
    trained_on = {dive_seed(DEMO_MODEL_DATA_SEED, i) for i in range(card["dataset_notes"]["dives"])}
    assert seeds and not seeds & trained_on


def test_demo_session_loads_and_scores_the_first_dive(qtbot, window) -> None:  # noqa: ANN001
    window.start_demo(n=2)
    qtbot.waitUntil(lambda: window.demo_list is not None, timeout=60000)
    result = wait_for_result(qtbot, window.state)
    first = window.demo_list.item(0).data(0x0100)
    assert result.dive.dive_number == first.dive_number and result.dive.difficulty == first.difficulty
    assert window.state.real_scores == first.judge_scores
    assert window.demo_list.count() == 2


def test_export_frame_and_dive_with_overlays(qtbot, window, tiny_video, tmp_path) -> None:  # noqa: ANN001
    import threading

    import cv2

    from aqa_core.video import probe

    window.commands.open_video(tiny_video(count=40, width=320, height=240), SHEET)
    result = wait_for_result(qtbot, window.state)
    window.desk.player.resize(200, 120)  # the widget is smaller than the source: the export is not the widget
    png = tmp_path / "frame.png"
    window.commands.export_frame(png, 17)
    qtbot.waitUntil(lambda: "Frame 18 saved" in window.desk.status.text(), timeout=10000)
    frame = cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2RGB)
    assert frame.shape == (240, 320, 3) and tiny_video.index_of(frame) == 17  # the source frame, full size
    assert frame[:10, 160:].mean() < tiny_video.level(17)  # the overlay band darkens the top
    progress: list[tuple[int, int]] = []
    mp4 = tmp_path / "dive.mp4"
    window.commands.export_video(mp4, lambda done, total: progress.append((done, total)))
    qtbot.waitUntil(lambda: "Exported" in window.desk.status.text(), timeout=30000)
    info = probe(mp4)
    frames = result.dive_window[1] - result.dive_window[0] + 1
    assert info.frame_count == frames and (info.width, info.height) == (320, 240)
    assert progress[-1] == (frames, frames) and len(progress) == frames
    cancelled = threading.Event()
    cancelled.set()
    errors: list[str] = []
    window.state.error.connect(errors.append)
    window.commands.export_video(tmp_path / "never.mp4", None, cancelled)
    qtbot.waitUntil(lambda: bool(errors), timeout=10000)
    assert "cancelled" in errors[0] and not (tmp_path / "never.mp4").exists()


def test_export_to_a_missing_folder_names_it(qtbot, window, tiny_video, tmp_path) -> None:  # noqa: ANN001
    window.commands.open_video(tiny_video(count=40), SHEET)
    wait_for_result(qtbot, window.state)
    errors: list[str] = []
    window.state.error.connect(errors.append)
    window.commands.export_frame(tmp_path / "nowhere" / "f.png")
    qtbot.waitUntil(lambda: bool(errors), timeout=10000)
    assert "nowhere" in errors[0] and "cannot write the PNG" in errors[0]


def test_rebinding_a_shortcut_is_stored_and_applied(qtbot, window) -> None:  # noqa: ANN001
    dialog = ShortcutsDialog(window.desk.actions, window)
    dialog.editors["play_pause"].setKeySequence(QKeySequence("P"))
    dialog.accept()
    assert shortcut("play_pause") == "P"
    assert window.desk.actions["play_pause"].shortcut().toString() == "P"
    assert any(line.strip().startswith("P ") for line in window.desk.help_overlay.lines())


def test_ctrl_q_quits_from_any_tab(qtbot, window) -> None:  # noqa: ANN001
    from PySide6.QtCore import Qt

    window.tabs.setCurrentWidget(window.compare)  # the desk's playback keys are off here; quitting is not
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window.compare, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)


def test_cli_app_refuses_a_missing_video(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    assert cli_main(["app", str(tmp_path / "missing.mp4")]) == 2
    assert "missing.mp4" in capsys.readouterr().err


def test_a_stored_dive_opens_from_the_browser_without_rescoring(qtbot, window, tiny_video) -> None:  # noqa: ANN001
    result, saved = score_and_save(qtbot, window, tiny_video)
    qtbot.waitUntil(lambda: window.sessions.table_model.rowCount() == 1, timeout=20000)
    window.commands.set_dive(window.state.dive.with_changes(dive_number="305C"))  # a correction, saved too
    latest = window.state.result
    assert latest.dive.dive_number == "305C" and latest.final != result.final
    window.commands.wait_for_background()
    window.commands.player.close_video()
    window.state.set_video(None)  # the desk moves on to nothing
    window.state.set_dive(window.state.dive.with_changes(dive_number="107B"), None)
    started: list[bool] = []
    window.state.analysis_started.connect(lambda: started.append(True))
    window.sessions.open_dive_requested.emit(saved[0])
    qtbot.waitUntil(lambda: window.state.result is not None, timeout=20000)
    assert not started  # redrawn from the stored analysis, not scored again
    assert window.state.result.final == latest.final and window.state.dive.dive_number == "305C"
    assert window.tabs.currentWidget() is window.desk
    assert f"{latest.final.score:.2f}" in window.desk.judges.final_label.text()


def test_help_overlay_and_recent_files(qtbot, window, tiny_video) -> None:  # noqa: ANN001
    from app.settings import recent_files

    window.desk.actions["help"].trigger()
    overlay = window.desk.help_overlay
    assert overlay.isVisible() and any("Play / pause" in line and shortcut("play_pause") in line for line in overlay.lines())
    window.desk.actions["help"].trigger()
    assert not overlay.isVisible()
    path = tiny_video(count=10)
    window.commands.open_video(path, SHEET)
    qtbot.waitUntil(lambda: window.state.video is not None, timeout=10000)
    assert recent_files()[0] == str(path)
    window.fill_recent_menu()
    assert [a.text() for a in window.recent_menu.actions()][0] == str(path)


def test_the_database_opens_and_the_heavy_tabs_are_built_after_the_first_paint(qtbot, app_home, tmp_path) -> None:  # noqa: ANN001, F811
    """What ``run_app`` starts with: nothing the window does not need is imported or opened before it is painted."""
    win = MainWindow(database=tmp_path / "sessions.db", databases_after_paint=True)
    qtbot.addWidget(win)
    win.commands.wait_for_background(2000)  # had anything been started, it would be done
    assert win.commands.db is None and win._models is None and win._trainer is None
    win.show()
    qtbot.waitUntil(lambda: win.commands.db is not None and win._models is not None, timeout=20000)
    assert win._models.db is win.commands.db and win.trainer.db is win.commands.db  # the tabs use the database opened
    win.commands.shutdown()


def test_escape_in_the_shortcut_editor_closes_it_unchanged_and_a_key_replaces_not_chains(qtbot, window) -> None:  # noqa: ANN001
    from PySide6.QtCore import Qt

    before = shortcut("play_pause")
    dialog = ShortcutsDialog(window.desk.actions, window)
    qtbot.addWidget(dialog)
    dialog.show()
    editor = dialog.editors["play_pause"]
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_F2)
    qtbot.keyClick(editor, Qt.Key.Key_P)  # one combination per action: the second press replaces the first
    assert editor.keySequence().toString() == "P"
    qtbot.keyClick(editor, Qt.Key.Key_Escape)  # closes, binds nothing
    assert dialog.result() == dialog.DialogCode.Rejected and not dialog.isVisible()
    assert shortcut("play_pause") == before and editor.keySequence().toString() == "P"
