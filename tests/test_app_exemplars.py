"""The exemplar panel: a CoRe score lists the exemplars it voted against; one click opens one beside the
dive in Compare, synced on the take-off, or says why it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from app_support import SHEET, app_home, desk, wait_for_result, window  # noqa: F401 (fixtures)

from aqa_core.bundle import bundle_from_model
from aqa_core.methods import build_method
from aqa_core.result import DiveInfo, ExemplarVote
from app.widgets.compare_view import CompareView
from app.widgets.exemplar_panel import ExemplarPanel

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny matrices: see conftest.one_thread

CARD = {"dataset": "none", "synthetic": True, "intended_use": "tests"}


def core_bundle(videos: list[str | None]):  # noqa: ANN201
    """A tiny CoRe bundle (tiny backbone) whose bank's first exemplars have the given videos."""
    torch.manual_seed(0)
    config = {"method": "core", "backbone": {"name": "tiny", "feature_dim": 64, "seed": 0}, "segmentation": "usdl_10x16",
              "core": {"exemplars": 3}, "head": {"name": "gart", "in_dim": 64, "hidden": 8, "depth": 3, "bins": 101, "score_range": [0, 110]}}
    method = build_method(config)
    n = 12
    features = torch.randn(n, 4, 64, generator=torch.Generator().manual_seed(0))
    method.fit({"features": features, "final": 40 + 10 * torch.rand(n, generator=torch.Generator().manual_seed(1)),
                "dives": [DiveInfo("individual", 1, "107B", 10.0, 3.0)] * n, "ids": [f"ex{i}" for i in range(n)],
                "videos": videos + [None] * (n - len(videos))})
    return bundle_from_model(method, "tiny-core", "1", CARD)


def test_a_core_score_lists_its_exemplars_and_a_click_asks_for_the_one_with_a_video(qtbot, desk, tiny_video) -> None:  # noqa: ANN001, F811
    exemplar_video = str(tiny_video(count=30, name="exemplar.mp4"))
    desk.commands.use_bundle(core_bundle([exemplar_video] * 12))
    assert not desk.exemplars_dock.isVisible()
    desk.commands.open_video(tiny_video(count=40), SHEET)
    result = wait_for_result(qtbot, desk.state)
    panel = desk.exemplars
    assert desk.exemplars_dock.isVisible() and panel.table.rowCount() == len(result.exemplar_votes.votes) == 3
    first = result.exemplar_votes.votes[0]
    cells = [panel.table.item(0, c).text() for c in range(panel.table.columnCount())]
    assert cells[0] == first.exemplar_id and cells[3] == f"{first.score:.2f}" and cells[4] == f"{first.relative:+.2f}" and cells[5] == f"{first.vote:.2f}"
    with qtbot.waitSignal(panel.open_requested, timeout=2000) as asked:
        panel.table.cellClicked.emit(0, 0)
    assert asked.args[0].video == exemplar_video


def test_an_exemplar_without_a_video_says_the_bundle_carries_features_only(qtbot) -> None:  # noqa: ANN001
    panel = ExemplarPanel()
    qtbot.addWidget(panel)
    panel.votes = [ExemplarVote("ex1", "107B", 3.0, 60.0, 2.0, 62.0, "dive number")]
    with qtbot.assertNotEmitted(panel.open_requested):
        panel.choose(0)
    assert "features only" in panel.status.text()
    panel.votes = [ExemplarVote("ex2", "107B", 3.0, 60.0, 2.0, 62.0, "DD", video="/nowhere/ex2.mp4")]
    panel.choose(0)
    assert "not on this computer" in panel.status.text()


def test_open_pair_syncs_both_dives_on_the_take_off_once_both_are_marked(qtbot, app_home, tiny_video) -> None:  # noqa: ANN001, F811
    view = CompareView()
    qtbot.addWidget(view)
    view.show()
    view.open_pair(str(tiny_video(count=30, name="a.mp4")), str(tiny_video(count=30, name="b.mp4")), "take-off")
    qtbot.waitUntil(lambda: view.left.player.meta is not None and view.right.player.meta is not None, timeout=10000)
    assert not view.synced and view.event_name() == "take-off"
    for pane, frame in ((view.left, 3), (view.right, 10)):
        pane.player.seek(frame)
        qtbot.waitUntil(lambda pane=pane, frame=frame: pane.player.frame == frame, timeout=5000)
        pane.mark_button.click()
    assert view.synced and view.sync_offset == 7 and "take-off" in view.status.text()
    for pane in view.panes:
        pane.player.close_video()


def test_the_window_opens_the_exemplar_beside_the_desks_dive_in_compare(qtbot, window, tiny_video) -> None:  # noqa: ANN001, F811
    dive = tiny_video(count=40)
    window.commands.open_video(dive, SHEET)
    qtbot.waitUntil(lambda: window.state.video is not None, timeout=10000)
    exemplar = str(tiny_video(count=30, name="exemplar.mp4"))
    window.compare_with_exemplar(ExemplarVote("ex1", "107B", 3.0, 60.0, 2.0, 62.0, "dive number", video=exemplar))
    assert window.tabs.currentWidget() is window.compare
    qtbot.waitUntil(lambda: window.compare.left.player.meta is not None and window.compare.right.player.meta is not None, timeout=10000)
    assert Path(window.compare.left.player.meta.path) == Path(dive) and window.compare.right.player.meta.path == exemplar
    assert window.compare.sync_when_marked == "take-off" or window.compare.synced

