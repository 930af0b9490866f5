"""The sessions browser on a real temporary database, driven like a judge would (offscreen Qt)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QDate, Qt
from storage_support import fill, watch_gui_thread

from app.storage.database import open_database
from app.storage.repository import Repository
from app.tabs.sessions import SessionsBrowser


@pytest.fixture
def repo(tmp_path):
    with open_database(tmp_path / "s.sqlite") as db:
        repo = Repository(db)
        fill(repo, 24)
        yield repo


def _loaded(qtbot, browser):
    qtbot.waitUntil(lambda: not browser._rows_query.busy and not browser._choices_query.busy, timeout=5000)
    return [browser.table_model.rows[i].dive_id for i in range(browser.table_model.rowCount())]


def test_browser_lists_filters_and_opens_dives_without_gui_thread_queries(qtbot, repo):
    stored = repo.list_dives()  # what the database holds, read before the GUI-thread watch starts
    gui_thread_queries = watch_gui_thread(repo.db.engine)
    browser = SessionsBrowser(repo.db)
    qtbot.addWidget(browser)
    everything = _loaded(qtbot, browser)
    assert everything == [r.dive_id for r in stored]
    assert browser.status.text() == "24 dives"
    assert [browser.athlete.itemText(i) for i in range(browser.athlete.count())] == ["any", "Ana", "Ben", "Chloe"]

    browser.athlete.setCurrentIndex(browser.athlete.findText("Ben"))
    qtbot.waitUntil(lambda: browser.table_model.rows and all(r.athlete == "Ben" for r in browser.table_model.rows), timeout=5000)
    assert len(browser.table_model.rows) == 8

    browser.dive_number.setText("407c")
    qtbot.waitUntil(lambda: browser.current_filter().dive_number == "407c" and not browser._rows_query.busy, timeout=5000)
    qtbot.waitUntil(lambda: all(r.dive_number == "407C" and r.athlete == "Ben" for r in browser.table_model.rows), timeout=5000)
    expected = {r.dive_id for r in stored if r.athlete == "Ben" and r.dive_number == "407C"}
    qtbot.waitUntil(lambda: {r.dive_id for r in browser.table_model.rows} == expected, timeout=5000)

    browser.athlete.setCurrentIndex(0)
    browser.dive_number.clear()
    browser.date_from.setDate(QDate(2026, 5, 10))
    browser.score_min.setValue(40.0)
    expected = {r.dive_id for r in stored if r.performed_at.date() >= QDate(2026, 5, 10).toPython() and r.predicted_final >= 40}
    qtbot.waitUntil(lambda: {r.dive_id for r in browser.table_model.rows} == expected, timeout=5000)

    row = 0
    index = browser.table_model.index(row, 0)
    with qtbot.waitSignal(browser.open_dive_requested, timeout=2000) as opened:
        browser.table.doubleClicked.emit(index)
    dive_id = browser.table_model.rows[row].dive_id
    assert opened.args == [dive_id]
    browser.table.selectRow(1)
    with qtbot.waitSignal(browser.open_dive_requested, timeout=2000) as second:
        qtbot.mouseClick(browser.open_button, Qt.MouseButton.LeftButton)
    assert second.args == [browser.table_model.rows[1].dive_id]
    assert gui_thread_queries == []
    # What the desk does next: the stored analysis, no re-scoring.
    assert repo.latest_analysis(dive_id).final.score == browser.table_model.rows[row].predicted_final


def test_a_database_error_is_shown_not_raised(qtbot, repo, tmp_path):
    browser = SessionsBrowser(repo.db)
    qtbot.addWidget(browser)
    _loaded(qtbot, browser)
    broken = open_database(tmp_path / "other.sqlite")
    broken.engine.dispose()
    (tmp_path / "other.sqlite").write_bytes(b"garbage" * 1000)
    browser.set_database(broken)
    qtbot.waitUntil(lambda: "other.sqlite" in browser.status.text(), timeout=5000)
    assert "not an AQA Judge sessions database" in browser.status.text()
    broken.close()


def test_two_selected_dives_go_to_compare_oldest_first(qtbot, repo):
    browser = SessionsBrowser(repo.db)
    qtbot.addWidget(browser)
    _loaded(qtbot, browser)
    assert not browser.compare_button.isEnabled()  # nothing selected
    rows = browser.table_model.rows
    browser.table.selectRow(0)
    assert not browser.compare_button.isEnabled()  # one dive is not a comparison
    modifier = Qt.KeyboardModifier.ControlModifier
    qtbot.mouseClick(browser.table.viewport(), Qt.MouseButton.LeftButton, modifier,
                     browser.table.visualRect(browser.table_model.index(3, 0)).center())  # Ctrl+click a second row
    assert browser.compare_button.isEnabled()
    older, newer = sorted((rows[0], rows[3]), key=lambda r: r.performed_at)
    with qtbot.waitSignal(browser.compare_requested, timeout=2000) as asked:
        qtbot.mouseClick(browser.compare_button, Qt.MouseButton.LeftButton)
    assert asked.args == [older.dive_id, newer.dive_id]
    qtbot.mouseClick(browser.table.viewport(), Qt.MouseButton.LeftButton, modifier,
                     browser.table.visualRect(browser.table_model.index(5, 0)).center())
    assert not browser.compare_button.isEnabled()  # three dives: which two?
