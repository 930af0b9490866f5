"""The Models tab in the window: bundles become entries, two compare side by side, the active one scores on the desk."""

from __future__ import annotations

from pathlib import Path

from app_support import SHEET, app_home, wait_for_result  # noqa: F401 (fixture)

from app.main import MainWindow
from tests.test_model_registry import TEST_A, TEST_B, bundle


def test_register_compare_activate_and_score_with_the_new_model(qtbot, app_home, tmp_path: Path, tiny_video) -> None:  # noqa: ANN001, F811
    win = MainWindow(database=tmp_path / "sessions.db")
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.commands.db is not None and win.models.db is not None, timeout=20000)
    old, new = bundle(tmp_path / "old", 0, "1", TEST_A), bundle(tmp_path / "new", 1, "2", TEST_B)
    win.models.register(old)
    qtbot.waitUntil(lambda: len(win.models.rows) == 1, timeout=20000)
    win.trainer.bundle_trained.emit(str(new))  # what a finished run in the Trainer tab announces
    qtbot.waitUntil(lambda: len(win.models.rows) == 2, timeout=20000)
    win.models.select(0, 1)
    assert win.models.compare_button.isEnabled() and not win.models.activate_button.isEnabled()
    win.models.compare_selected()
    shown = {win.models.comparison.item(i, 0).text(): (win.models.comparison.item(i, 1).text(), win.models.comparison.item(i, 2).text())
             for i in range(win.models.comparison.rowCount())}
    newest_first = [row.version for row in win.models.rows]
    rho = {"1": "0.812", "2": "0.900"}
    assert shown["Spearman ρ"] == tuple(rho[v] for v in newest_first)
    assert "the figures compare directly" in win.models.comparison_note.text()
    target = newest_first.index("2")
    win.models.select(target)
    win.models.activate_selected()
    qtbot.waitUntil(lambda: win.state.bundle is not None and win.state.bundle.version == "2", timeout=30000)
    qtbot.waitUntil(lambda: any(row.active and row.version == "2" for row in win.models.rows), timeout=20000)
    assert win.models.table.item(target, 5).text() == "● on the desk"
    win.commands.open_video(tiny_video(count=40), SHEET)
    result = wait_for_result(qtbot, win.state)
    assert result.model_version == "2"
    win.commands.shutdown()


def test_a_broken_bundle_folder_is_a_line_in_the_tab(qtbot, app_home, tmp_path: Path) -> None:  # noqa: ANN001, F811
    win = MainWindow(database=tmp_path / "sessions.db")
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: win.models.db is not None, timeout=20000)
    win.models.register(tmp_path / "nowhere")
    qtbot.waitUntil(lambda: "cannot read the model manifest" in win.models.status.text(), timeout=20000)
    assert "nowhere" in win.models.status.text() and win.models.rows == []
    win.commands.shutdown()
