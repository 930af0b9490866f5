"""What a walk through the app under Xvfb found, each pinned by the behaviour a person relies on."""

from __future__ import annotations

from app_support import app_home, wait_for_result, window  # noqa: F401 (fixtures)


def test_show_tab_brings_the_trainer_and_models_tabs_to_the_front(qtbot, window) -> None:  # noqa: ANN001
    """They sit inside placeholder pages (built late), so ``tabs.setCurrentWidget(trainer)`` did nothing and
    the docs' shooting script waited forever for the Trainer tab's options (asked when it is first shown)."""
    for tab in (window.trainer, window.models, window.desk):
        window.show_tab(tab)
        qtbot.waitUntil(tab.isVisible, timeout=5000)
        assert window.tabs.currentWidget() in (tab, tab.parentWidget())
    # first shown, the Trainer tab asked a child what training can use: its answer arrives
    qtbot.waitUntil(lambda: window.trainer.options is not None, timeout=60000)


def test_the_sessions_tab_shows_the_finals_the_desk_showed(qtbot, window, tiny_video) -> None:  # noqa: ANN001
    """A judge checks the morning in the Sessions tab: each row's two finals, under the desk's own names."""
    from app.tabs.sessions import COLUMNS

    desk = window.desk
    shown = []
    for i, (number, marks) in enumerate((("107B", [8, 8.5, 7.5, 8, 9, 8, 7]), ("305C", [6, 6.5, 6, 7, 6.5, 6, 5.5]))):
        window.commands.open_video(tiny_video(count=40 + i, name=f"dive_{i + 1}.mp4"))
        qtbot.waitUntil(lambda i=i: window.state.video is not None and window.state.video.path.endswith(f"dive_{i + 1}.mp4"), timeout=10000)
        desk.sheet.dive_number.setText(number)
        desk.sheet.dive_number.editingFinished.emit()
        wait_for_result(qtbot, window.state)
        for edit, mark in zip(desk.judges.edits, marks, strict=True):
            edit.setText(f"{mark:g}")
            edit.editingFinished.emit()
        window.commands.wait_for_background()
        qtbot.wait(20)
        window.commands.wait_for_background()
        final = desk.judges.final_label.text().split()[1]  # "Final 54.45  95% [...]"
        real = desk.judges.official_label.text().split()[2]  # "Real panel: 79.20 (kept ...)"
        shown.append((f"dive_{i + 1}.mp4", number, final, real))
    assert shown[0][3] == f"{(8 + 8 + 8) * 3.0:.2f}"  # 107B at 10 m: DD 3.0; the middle three of seven marks
    sessions = window.sessions
    loaded: list[int] = []
    sessions.loaded.connect(loaded.append)
    sessions.refresh()
    qtbot.waitUntil(lambda: bool(loaded) and loaded[-1] == 2, timeout=10000)
    names = [name for name, _ in COLUMNS]
    model = sessions.table_model
    cells = sorted((model.data(model.index(row, names.index("Video"))), model.data(model.index(row, names.index("Dive"))),
                    model.data(model.index(row, names.index("Predicted final"))), model.data(model.index(row, names.index("Real panel"))))
                   for row in range(model.rowCount()))
    assert cells == sorted(shown)


def test_a_pair_without_a_take_off_in_one_dive_syncs_on_the_entry_and_says_why(qtbot, app_home, tiny_video, monkeypatch) -> None:  # noqa: ANN001, F811
    """tokyo2020_dive_b starts in the air (the finder gives it an entry, no take-off): opened as a pair to sync on
    the take-off, the view waited for ever, saying 'Each dive on its own'. Now it syncs on the entry, and says so."""
    import aqa_core.dive_finder as finder
    from app.widgets.compare_view import CompareView

    found = {"a.mp4": [finder.FoundDive(4, 20, 0.9, False)], "b.mp4": [finder.FoundDive(None, 12, 0.8, False)]}
    monkeypatch.setattr(finder, "find_dives", lambda path, *args, **kwargs: found[path.rsplit("/", 1)[-1]])
    view = CompareView()
    qtbot.addWidget(view)
    view.show()
    view.open_pair(str(tiny_video(count=30, name="a.mp4")), str(tiny_video(count=30, name="b.mp4")), "take-off")
    qtbot.waitUntil(lambda: view.synced, timeout=20000)
    assert view.event_name() == "entry" and view.sync_offset == 12 - 20
    assert view.status.text().startswith("No take-off found in Dive B: Synced on the entry (A 21, B 13)")
    for pane in view.panes:
        pane.player.close_video()


def test_a_pair_with_no_marks_found_waits_for_the_coachs_marks_and_says_so(qtbot, app_home, tiny_video, monkeypatch) -> None:  # noqa: ANN001, F811
    import aqa_core.dive_finder as finder
    from app.widgets.compare_view import CompareView

    monkeypatch.setattr(finder, "find_dives", lambda path, *args, **kwargs: [])
    view = CompareView()
    qtbot.addWidget(view)
    view.show()
    view.open_pair(str(tiny_video(count=30, name="a.mp4")), str(tiny_video(count=30, name="b.mp4")), "take-off")
    qtbot.waitUntil(lambda: "No take-off found in Dive A or Dive B" in view.status.text(), timeout=20000)
    assert not view.synced
    for pane, frame in ((view.left, 3), (view.right, 10)):
        pane.player.seek(frame)
        qtbot.waitUntil(lambda pane=pane, frame=frame: pane.player.frame == frame, timeout=5000)
        pane.mark_button.click()
    assert view.synced and view.sync_offset == 7
    for pane in view.panes:
        pane.player.close_video()


def test_the_compare_tab_steps_and_plays_from_the_keyboard(qtbot, window, tiny_video) -> None:  # noqa: ANN001
    """A coach on the Compare tab pressed → and the tab bar (which has the focus) went to the Trainer tab:
    the desk's keys are off there and the view had none. Now the same keys drive the pane last used."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    view = window.compare
    window.tabs.tabBar().setFocus()
    window.tabs.setCurrentWidget(view)
    for pane, name in ((view.left, "a.mp4"), (view.right, "b.mp4")):
        pane.player.open(str(tiny_video(count=30, name=name)))
    qtbot.waitUntil(lambda: all(p.player.meta is not None for p in view.panes), timeout=10000)

    def key(k: Qt.Key) -> None:
        qtbot.keyClick(QApplication.focusWidget() or window, k)

    key(Qt.Key.Key_Right)
    key(Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: view.left.player.frame == 2, timeout=5000)
    assert window.tabs.currentWidget() is view and view.right.player.frame == 0
    view.right.forward_button.click()  # the coach works on B now: the keys follow
    key(Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: view.right.player.requested == 0 and view.right.player.frame == 0, timeout=5000)
    key(Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: view.right.player.playing, timeout=5000)
    key(Qt.Key.Key_Space)
    assert not view.right.player.playing and view.left.player.frame == 2
    window.tabs.setCurrentWidget(window.desk)  # on the desk, the keys are the desk's again
    assert not any(action.isEnabled() for action in view.key_actions)
    for pane in view.panes:
        pane.player.close_video()
