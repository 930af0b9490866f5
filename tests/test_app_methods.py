"""What each method gives, as the desk's real widgets show it: UD-AQA's sampled judges and its own
uncertainty, MTL-AQA's recognised dive, its proposal when no dive was typed and its mismatch flag."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from app_support import CARD, app_home, wait_for_result  # noqa: F401 (fixture)

from aqa_core.bundle import ModelBundle, bundle_from_model
from aqa_core.methods import build_method, method_class
from aqa_core.methods.commentary import CAVEAT, caption_words
from aqa_core.methods.ud_aqa import PANELS_SHOWN
from app.state import AppState, DiveSheet
from app.tabs.judging_desk import JudgingDesk
from app.widgets.clip_math import bin_values

CONFIGS = Path(__file__).resolve().parent.parent / "configs" / "models"
# The classes of 5253B (back 2 1/2 somersaults 1 1/2 twists, pike): what the biased MTL-AQA bundle sees.
SEES = {"position": 2, "armstand": 0, "rotation": 1, "somersaults": 5, "twists": 3}


def method_bundle(name: str, caption: str | None = None) -> ModelBundle:
    """A tiny bundle of ``name``; MTL-AQA's recogniser always sees 5253B, and with ``caption`` its commentary head says that line."""
    torch.manual_seed(0)
    config = json.loads((CONFIGS / f"{name}_tiny.json").read_text())
    words = caption_words(None, caption) if caption else None
    if words:
        config = method_class({**config, "mtl_aqa": {"caption_hidden": 32, "caption_embed": 16}}).configured_for(
            {**config, "mtl_aqa": {"caption_hidden": 32, "caption_embed": 16}}, [words])
    method = build_method(config)
    if name == "mtl_aqa":
        with torch.no_grad():
            for task, layer in method.classifiers.items():
                layer.weight.zero_()
                layer.bias.fill_(-20.0)
                layer.bias[SEES[task]] = 20.0
    if words:  # fit the commentary head to its one line (on any features: it learns to say it whatever it sees)
        optimiser = torch.optim.Adam(method.captioner.parameters(), lr=1e-2)
        for _ in range(60):
            optimiser.zero_grad()
            method.captioner.loss(torch.randn(8, 10, method.head.in_dim), [words] * 8).backward()
            optimiser.step()
    return bundle_from_model(method.eval(), f"tiny-{name}", "0", CARD)


@pytest.fixture
def open_desk(qtbot, app_home):  # noqa: ANN001, ANN201, F811 (pytest fixtures)
    desks = []

    def make(name: str, caption: str | None = None) -> JudgingDesk:
        desk = JudgingDesk(AppState())
        qtbot.addWidget(desk)
        desk.resize(1200, 800)
        desk.show()
        desk.commands.use_bundle(method_bundle(name, caption))
        desks.append(desk)
        return desk

    yield make
    for desk in desks:
        desk.commands.shutdown()


def test_every_method_names_its_bins_without_a_model_built() -> None:
    assert bin_values(method_bundle("ud_aqa")).tolist() == [i / 2 for i in range(21)]  # the legal marks
    assert bin_values(method_bundle("mtl_aqa")).tolist() == pytest.approx(np.linspace(0.0, 104.5, 101).tolist())


def test_ud_aqa_desk_draws_the_sampled_judges_and_the_rule_on_them(qtbot, open_desk, tiny_video) -> None:  # noqa: ANN001
    desk = open_desk("ud_aqa")
    streamed = []
    desk.state.clip_added.connect(streamed.append)
    desk.commands.open_video(tiny_video(count=40), DiveSheet(dive_number="107B"))
    result = wait_for_result(qtbot, desk.state)
    samples = result.judge_samples
    assert samples is not None and len(samples.panels) == PANELS_SHOWN and all(len(p) == 7 for p in samples.panels)
    x, y = desk.distribution.clip_curve.getData()
    assert streamed and len(y) == 21  # streamed clips plot on the marks' axis
    points = desk.judges.sample_points.points()
    assert len(points) == PANELS_SHOWN * 7
    hollow = sum(p.brush().color().getRgb()[:3] == (255, 255, 255) for p in points)
    assert hollow == PANELS_SHOWN * 4  # 7 judges: the two highest and two lowest of every panel are cancelled
    # By hand: each drawn mark to the nearest half point, the middle three counted, x DD (107B from 10 m: 3.0).
    for drawn in samples.panels[:2]:
        kept = sorted(round(m * 2) / 2 for m in drawn)[2:5]
        assert f"{sum(kept) * 3.0:.2f}" in desk.judges.samples_label.text()
    line = desk.judges.uncertainty_label.text()
    assert f"u = {samples.uncertainty:.2f}" in line and f"±{samples.spread:.2f}" in line
    assert desk.judges.recognised_label.text() == "" and desk.judges.commentary_label.text() == ""


def test_mtl_aqa_desk_shows_the_dive_it_sees_and_flags_a_typed_dive_that_disagrees(qtbot, open_desk, tiny_video) -> None:  # noqa: ANN001
    desk = open_desk("mtl_aqa")
    desk.commands.open_video(tiny_video(count=40), DiveSheet(dive_number="107B"))
    result = wait_for_result(qtbot, desk.state)
    assert result.recognised_dive is not None and result.recognised_dive.dive_number == "5253B"
    seen = desk.judges.recognised_label.text()
    assert "back, pike, 2.5 somersaults, 1.5 twists" in seen and "5253B, DD 3.2" in seen  # 5253B from 10 m: 3.2 in the table
    assert "107B" in desk.judges.mismatch_label.text() and "5253B" in desk.judges.mismatch_label.text()
    assert len(desk.judges.sample_points.points()) == 0 and desk.judges.samples_label.text() == ""

    desk.commands.set_dive(DiveSheet(dive_number="5253B"))  # the dive it sees: no flag
    qtbot.waitUntil(lambda: desk.state.result is not None and desk.state.result.dive.dive_number == "5253B" and not desk.state.analysing, timeout=60000)
    assert desk.judges.mismatch_label.text() == ""
    assert "Proposed" not in desk.judges.recognised_label.text()


def test_mtl_aqa_proposes_the_dive_and_its_dd_when_none_was_typed(qtbot, open_desk, tiny_video) -> None:  # noqa: ANN001
    desk = open_desk("mtl_aqa")
    desk.commands.open_video(tiny_video(count=40), DiveSheet(difficulty=2.0))
    wait_for_result(qtbot, desk.state)
    assert "Proposed dive: 5253B, DD 3.2" in desk.judges.recognised_label.text()
    assert desk.judges.mismatch_label.text() == ""


def test_mtl_aqa_desk_shows_the_generated_commentary_with_its_caveat(qtbot, open_desk, tiny_video) -> None:  # noqa: ANN001
    desk = open_desk("mtl_aqa", caption="Back 2½ somersaults 1½ twists, pike. Rip entry with almost no splash.")
    desk.commands.open_video(tiny_video(count=40), DiveSheet(dive_number="5253B"))
    result = wait_for_result(qtbot, desk.state)
    assert result.commentary is not None and result.commentary.text == "Back 2½ somersaults 1½ twists, pike. Rip entry with almost no splash."
    shown = desk.judges.commentary_label.text()
    assert result.commentary.text in shown and CAVEAT in shown


def test_a_per_dd_method_plots_on_a_per_dd_axis_and_its_final_is_that_times_dd(qtbot, open_desk, tiny_video) -> None:  # noqa: ANN001
    desk = open_desk("usdl_dd")
    per_dd = "per point of DD: final ÷ DD (0–30)"
    desk.commands.open_video(tiny_video(count=40), DiveSheet(dive_number="107B"))
    assert desk.distribution.getAxis("bottom").labelText == per_dd  # while clips stream, before any result
    result = wait_for_result(qtbot, desk.state)
    assert (result.bins[0], result.bins[-1]) == (0.0, 30.0)
    assert desk.distribution.getAxis("bottom").labelText == per_dd and desk.heat_map.getAxis("left").labelText == per_dd
    assert result.final.expectation == pytest.approx(np.dot(result.aggregate[0], result.bins) * result.dive.difficulty)


def test_a_final_only_method_says_so_instead_of_an_empty_marks_plot(qtbot, open_desk, tiny_video) -> None:  # noqa: ANN001
    desk = open_desk("usdl")
    desk.commands.open_video(tiny_video(count=40), DiveSheet(dive_number="107B"))
    result = wait_for_result(qtbot, desk.state)
    judges = desk.judges
    assert result.judges == [] and judges.final_label.text().startswith(f"Final {result.final.score:.2f}")
    assert not judges.plot.isVisible() and "final score only" in judges.final_only_label.text()
    marks = [7.0, 7.5, 8.0, 8.0, 8.5, 7.0, 7.5]  # typed real marks still have a place to be drawn
    desk.commands.set_real_scores(marks)
    assert judges.plot.isVisible() and judges.real_points.data["y"].tolist() == marks
    desk.commands.set_real_scores([None] * 7)
    assert not judges.plot.isVisible()
