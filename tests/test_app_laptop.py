"""The desk in a laptop-sized window: it fits the screen, and what the judge reads and types stays in sight.

Seen under Xvfb: at 1280x800 the window could not be made shorter than about 890 pixels (the dock
column's minimum), so its bottom row was off the screen, and the judges' panel put its plot first,
so the final and the marks' row were scrolled out of sight even at 1600x1000.
"""

from __future__ import annotations

from app_support import app_home, tiny_bundle, wait_for_result, window  # noqa: F401 (fixtures)

LAPTOP = (1280, 800 - 60)  # a 1280x800 screen less a title bar and a panel
SMALL = (1000, 620)


def in_sight(widget) -> bool:  # noqa: ANN001
    """Some of ``widget`` is painted on screen: not hidden, not scrolled out of its scroll area's viewport."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def test_the_window_can_be_made_as_small_as_a_laptop_screen(window) -> None:  # noqa: ANN001
    minimum = window.minimumSizeHint()
    assert minimum.width() <= LAPTOP[0] and minimum.height() <= LAPTOP[1], minimum
    desk = window.desk.minimumSizeHint()  # the desk alone fits a 1000x620 window, less its menu and tabs
    assert desk.width() <= SMALL[0] and desk.height() <= SMALL[1] - 60, desk


def test_with_the_demo_list_beside_it_the_window_still_fits_a_laptop_screen(qtbot, window) -> None:  # noqa: ANN001
    """Seen under Xvfb: the demo's dive list and the start list's three buttons in a row made it 1298 px wide at least."""
    window.start_demo(n=1)
    qtbot.waitUntil(lambda: window.demo_list is not None and window.demo_list.isVisible(), timeout=60000)
    wait_for_result(qtbot, window.state)
    minimum = window.minimumSizeHint()
    assert minimum.width() <= LAPTOP[0] and minimum.height() <= LAPTOP[1], minimum


def test_the_sheet_fits_its_column_whatever_the_models_name(qtbot, window) -> None:  # noqa: ANN001
    """Seen under Xvfb: the column kept the sheet's width from before the model loaded, and the sheet,
    wider with the model's name, was cut under its scroll bar (panel, round, DD, the model's button)."""
    window.resize(*LAPTOP)
    for name in ("m", "club-musdl v20261202-141122 retrained on the whole spring meet"):
        bundle = tiny_bundle()
        bundle.name = name
        window.commands.use_bundle(bundle)
        qtbot.wait(100)
        assert window.minimumSizeHint().width() <= LAPTOP[0]
        panel = window.desk.sheet.parentWidget().parentWidget()  # the sheet's scroll area (viewport, then area)
        qtbot.waitUntil(lambda panel=panel: panel.widget().width() <= panel.viewport().width(), timeout=5000)
        button = window.desk.sheet.model_button
        assert button.mapTo(panel.widget(), button.rect().topRight()).x() < panel.viewport().width()


def test_the_final_and_the_marks_stay_in_sight_in_a_laptop_window(qtbot, window, tiny_video) -> None:  # noqa: ANN001
    window.resize(*LAPTOP)
    qtbot.waitUntil(lambda: window.height() == LAPTOP[1], timeout=5000)
    window.commands.open_video(tiny_video(count=40))
    sheet, judges = window.desk.sheet, window.desk.judges
    sheet.dive_number.setText("107B")
    sheet.dive_number.editingFinished.emit()
    wait_for_result(qtbot, window.state)
    qtbot.wait(50)  # the dock column's first split (a zero-delay timer after the desk shows)
    assert judges.final_label.text().startswith("Final ")
    assert in_sight(judges.final_label), "the final is scrolled out of sight"
    assert all(in_sight(edit) for edit in judges.edits), "a real mark's field is out of sight"
    # the sheet keeps its whole form: the note and tags are typed on every dive
    assert in_sight(sheet.dive_number) and in_sight(sheet.note) and in_sight(sheet.tags)


def test_in_a_small_window_the_panels_scroll_and_keep_their_tops(qtbot, window) -> None:  # noqa: ANN001
    window.resize(*SMALL)
    qtbot.wait(50)
    sheet, judges = window.desk.sheet, window.desk.judges
    assert in_sight(judges.final_label) and in_sight(sheet.dive_number) and in_sight(sheet.diver)
