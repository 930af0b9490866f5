"""The Models tab in the window: bundles become entries, two compare side by side, the active one scores on the desk."""

from __future__ import annotations

import zipfile
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


def test_rename_delete_export_import_in_the_tab(qtbot, app_home, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001, F811
    win = MainWindow(database=tmp_path / "sessions.db")
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: win.models.db is not None and win.models.import_button.isEnabled(), timeout=20000)
    tab = win.models
    tab.register(bundle(tmp_path / "old", 0, "1", TEST_A))
    qtbot.waitUntil(lambda: len(tab.rows) == 1, timeout=20000)
    tab.select(0)
    monkeypatch.setattr(tab, "ask_text", lambda *_: "Spring model")
    tab.rename_selected()
    qtbot.waitUntil(lambda: tab.table.item(0, 0) is not None and tab.table.item(0, 0).text() == "Spring model", timeout=20000)
    assert "the bundle itself is unchanged" in tab.status.text()

    tab.select(0)
    sent = tmp_path / "to send" / "spring.zip"
    monkeypatch.setattr(tab, "ask_export_target", lambda _suggested: str(sent))
    tab.export_selected()
    qtbot.waitUntil(lambda: tab.status.text().startswith("Exported"), timeout=20000)
    assert sent.is_file()

    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not a bundle")
    monkeypatch.setattr(tab, "ask_import_source", lambda: str(broken))
    tab.import_file()
    qtbot.waitUntil(lambda: "not a readable model bundle archive" in tab.status.text(), timeout=20000)
    assert "broken.zip" in tab.status.text() and "Traceback" not in tab.status.text() and len(tab.rows) == 1
    monkeypatch.setattr(tab, "ask_import_source", lambda: str(sent))
    tab.import_file()
    qtbot.waitUntil(lambda: "already in the list as 'Spring model'" in tab.status.text(), timeout=20000)  # its fingerprint

    new = bundle(tmp_path / "new", 1, "2", TEST_B)
    with zipfile.ZipFile(tmp_path / "new.zip", "w") as archive:
        for name in ("bundle.json", "weights.safetensors"):
            archive.write(new / name, name)
    monkeypatch.setattr(tab, "ask_import_source", lambda: str(tmp_path / "new.zip"))
    tab.import_file()
    qtbot.waitUntil(lambda: len(tab.rows) == 2, timeout=20000)
    imported = next(row for row in tab.rows if row.version == "2")
    assert Path(imported.path).is_relative_to(app_home / "models")

    target = [row.version for row in tab.rows].index("1")
    tab.select(target)
    tab.activate_selected()
    qtbot.waitUntil(lambda: any(row.active and row.version == "1" for row in tab.rows), timeout=20000)
    asked: list[str] = []
    monkeypatch.setattr(tab, "ask_yes", lambda question: asked.append(question) or True)
    tab.select([row.version for row in tab.rows].index("1"))
    tab.delete_selected()
    assert asked == [] and "is the desk's model; make another one active before deleting it" in tab.status.text()
    tab.select([row.version for row in tab.rows].index("2"))
    tab.delete_selected()
    qtbot.waitUntil(lambda: len(tab.rows) == 1, timeout=20000)
    assert "analyses made with it keep their model record" in asked[0] and "app's data folder" in asked[0]
    assert not Path(imported.path).exists() and "Deleted tiny-app-7 v2 and its files" in tab.status.text()
    win.commands.shutdown()


def test_start_up_loads_the_active_model_or_falls_back_to_the_default(qtbot, app_home, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001, F811
    import aqa_core.bundle
    from app.storage.database import open_database
    from app.storage.model_registry import activate, register_bundle

    default = bundle(tmp_path / "default", 0, "demo", TEST_A)
    monkeypatch.setattr(aqa_core.bundle, "default_bundle_path", lambda: default)
    club = bundle(tmp_path / "club", 1, "club", TEST_B)
    with open_database(tmp_path / "sessions.db") as db:
        activate(db, register_bundle(db, club))

    messages: list[str] = []

    def start() -> MainWindow:
        win = MainWindow(database=tmp_path / "sessions.db")
        qtbot.addWidget(win)
        win.state.error.connect(messages.append)
        win.load_desk_model()  # what run_app does at start-up
        qtbot.waitUntil(lambda: win.state.bundle is not None, timeout=30000)
        return win

    win = start()
    assert win.state.bundle.version == "club" and messages == []
    qtbot.waitUntil(lambda: len(win.models.rows) == 2, timeout=20000)  # the default is listed too
    win.commands.shutdown()
    win.close()

    (club / "weights.safetensors").unlink()  # the active bundle is gone: the default, and why, never a crash
    win = start()
    assert win.state.bundle.version == "demo"
    assert messages == ["The desk's model tiny-app-7 club cannot be loaded ("
                        f"{club / 'weights.safetensors'}: missing); the desk uses the default model tiny-app-7 demo instead"]
    qtbot.waitUntil(lambda: any(row.active and row.version == "demo" for row in win.models.rows), timeout=20000)
    win.commands.shutdown()
