"""Lines and angles on a frame: measured right, kept with their frame at any zoom, saved and reopened."""

from __future__ import annotations

import math

import cv2
import pytest
from app_support import SHEET, app_home, window, wait_for_result  # noqa: F401 (fixture)
from PySide6.QtCore import QPoint, Qt

from aqa_core.errors import AQAError
from app.drawings import Drawing, angle_at, drawings_from_json, drawings_to_json
from app.storage.repository import Repository


def test_angles_and_lines_are_measured_as_drawn() -> None:
    assert angle_at((1, 0), (0, 0), (0, 1)) == pytest.approx(90.0)
    assert angle_at((-1, 0), (0, 0), (1, 0)) == pytest.approx(180.0)
    assert angle_at((1, 0), (0, 0), (1, math.sqrt(3))) == pytest.approx(60.0)
    assert Drawing(0, "line", ((0, 10), (10, 0))).label() == "45° from horizontal"  # y grows downwards on screen
    assert Drawing(0, "angle", ((2, 0), (0, 0), (0, 2))).label() == "90°"


def test_stored_drawings_round_trip_and_bad_ones_are_refused() -> None:
    drawings = (Drawing(3, "line", ((1.5, 2.0), (30.0, 40.0))), Drawing(7, "angle", ((0.0, 0.0), (5.0, 5.0), (10.0, 0.0))))
    assert drawings_from_json(drawings_to_json(drawings)) == drawings
    for bad in ('{"frame": 1}', '[{"frame": 1, "kind": "circle", "points": [[0, 0]]}]',
                '[{"frame": 1, "kind": "line", "points": [[0, 0]]}]', "[" + ",".join(['{"frame":0,"kind":"line","points":[[0,0],[1,1]]}'] * 501) + "]"):
        with pytest.raises(AQAError, match="stored drawings"):
            drawings_from_json(bad)


def click_source(qtbot, view, x: float, y: float) -> None:  # noqa: ANN001
    point = view.to_widget((x, y))
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(round(point.x()), round(point.y())))


def test_an_angle_stays_on_its_frame_through_zoom_save_reopen_and_export(qtbot, window, tiny_video, tmp_path) -> None:  # noqa: ANN001
    desk, view = window.desk, window.desk.player.view
    path = tiny_video(count=30, width=320, height=240)
    window.commands.open_video(path, SHEET)
    wait_for_result(qtbot, window.state)
    desk.player.seek(9)
    qtbot.waitUntil(lambda: desk.player.frame == 9, timeout=5000)
    view.set_zoom(2.0, view.rect().center().toPointF())  # drawing while zoomed in lands on the same source pixels
    desk.transport.tools["angle"].click()
    for x, y in ((200, 200), (250, 150), (300, 200)):
        click_source(qtbot, view, x, y)
    (angle,) = window.state.drawings
    assert angle.frame == 9 and angle.kind == "angle"
    assert [tuple(round(c) for c in p) for p in angle.points] == [(200, 200), (250, 150), (300, 200)]
    assert angle.label() == "90°" and "frame 10: 90°" in desk.status.text()
    view.set_zoom(1.0)
    assert view.to_source(view.to_widget(angle.points[1])) == pytest.approx(angle.points[1])
    desk.player.step(1)
    qtbot.waitUntil(lambda: desk.player.frame == 10, timeout=5000)
    assert view.drawings == []  # another frame: not drawn
    desk.player.step(-1)
    qtbot.waitUntil(lambda: desk.player.frame == 9 and view.drawings == [angle], timeout=5000)

    png = tmp_path / "angle.png"
    window.commands.export_frame(png, 9)
    qtbot.waitUntil(lambda: "saved to" in desk.status.text(), timeout=10000)
    frame = cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2RGB)
    r, g, b = (int(v) for v in frame[175, 225])  # on the first arm, half way to the vertex, full resolution
    assert r > 200 and g > 180 and b < 120  # the drawing colour, burned in where it was drawn

    window.commands.wait_for_background()
    (row,) = Repository(window.commands.db).list_dives()
    window.commands.open_video(tiny_video(count=31, name="other.mp4"), SHEET)
    qtbot.waitUntil(lambda: window.state.video is not None and window.state.video.path.endswith("other.mp4"), timeout=10000)
    assert window.state.drawings == ()
    window.sessions.open_dive_requested.emit(row.dive_id)
    qtbot.waitUntil(lambda: window.state.video is not None and window.state.video.path == str(path), timeout=10000)
    assert window.state.drawings == (angle,)
