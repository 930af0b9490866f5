"""Statistics: the agreement numbers from plain pairs, and the view on a real temporary database."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest
from scipy import stats
from storage_support import fill, watch_gui_thread

from app.storage.database import open_database
from app.storage.repository import Repository, ScorePair
from app.tabs.statistics import StatisticsView, compute_statistics


def _pair(i, predicted, human, judges, model_judges):
    return ScorePair(i, datetime(2026, 1, 1) + timedelta(days=i), predicted, human, judges, model_judges)


def test_biases_against_model_and_panel_and_rho():
    rng = np.random.default_rng(3)
    offset = np.array([0, 0, 0, 1.0, 0, 0, -0.5])
    pairs = []
    for i in range(12):
        model = (rng.integers(10, 19, 7) / 2).tolist()
        human = (np.array(model) + offset).tolist()
        pairs.append(_pair(i, float(rng.uniform(40, 90)), float(rng.uniform(40, 90)), human, model))
    pairs.append(_pair(99, 70.0, 71.0, [8.0] * 5, [8.0] * 5))  # another panel size: not in the judge biases
    result = compute_statistics(pairs)
    assert result.n == 13
    assert result.rho == pytest.approx(stats.spearmanr([p.predicted_final for p in pairs], [p.human_final for p in pairs]).statistic)
    assert result.mean_abs_error == pytest.approx(np.mean([abs(p.predicted_final - p.human_final) for p in pairs]))
    assert result.bias_vs_model == pytest.approx(offset.tolist())
    panels = np.array([p.human_scores for p in pairs[:12]])
    assert result.bias_vs_panel == pytest.approx((panels - panels.mean(axis=1, keepdims=True)).mean(axis=0).tolist())
    assert result.times == sorted(result.times)


def test_too_few_dives_give_no_rho_and_usdl_gives_no_model_bias():
    assert math.isnan(compute_statistics([]).rho)
    single = compute_statistics([_pair(0, 70.0, 72.0, [8.0] * 7, [])])
    assert math.isnan(single.rho) and single.bias_vs_model == [] and single.bias_vs_panel == pytest.approx([0.0] * 7)
    four = [_pair(i, 60.0 + i, 61.0 + i, [8.0] * 7, []) for i in range(4)]  # perfectly ordered, but only four
    assert math.isnan(compute_statistics(four).rho)
    assert compute_statistics([*four, _pair(4, 64.0, 65.0, [8.0] * 7, [])]).rho == pytest.approx(1.0)


def test_trends_follow_the_competition_date_not_the_recording_time():
    from datetime import date

    late_recorded = ScorePair(1, datetime(2026, 6, 1, 9), 70.0, 71.0, [], [], competition_date=date(2025, 3, 2))
    early_recorded = ScorePair(2, datetime(2026, 1, 1, 9), 60.0, 61.0, [], [], competition_date=date(2025, 8, 9))
    stats_ = compute_statistics([late_recorded, early_recorded], marked=3)
    assert stats_.times == [datetime(2025, 3, 2).timestamp(), datetime(2025, 8, 9).timestamp()] and stats_.marked == 3


def test_view_plots_each_scope_from_the_database(qtbot, tmp_path):
    with open_database(tmp_path / "s.sqlite") as db:
        repo = Repository(db)
        fill(repo, 24)
        everything = repo.score_pairs()
        ana = next(c.id for c in repo.filter_choices().athletes if c.name == "Ana")
        anas = repo.score_pairs(athlete_id=ana)
        marked = repo.count_marked()
        gui_thread_queries = watch_gui_thread(db.engine)
        view = StatisticsView(db)
        qtbot.addWidget(view)
        qtbot.waitUntil(lambda: not view.busy and view.statistics is not None, timeout=5000)
        assert view.statistics.n == len(everything) == 12
        x, y = view.scatter.getData()
        assert x.tolist() == [p.human_final for p in everything] and y.tolist() == [p.predicted_final for p in everything]
        assert f"ρ = {compute_statistics(everything).rho:.2f}, n = 12" in view.summary.text()
        assert view.statistics.marked == marked >= 12
        # fill() makes the real J4 half a point more generous than the model's J4
        assert view.statistics.bias_vs_model[3] - np.mean(view.statistics.bias_vs_model) > 0.3

        view.scope.setCurrentIndex(view.scope.findText("Athlete: Ana"))
        qtbot.waitUntil(lambda: not view.busy and view.statistics.n == len(anas), timeout=5000)
        _, trend = view.trend_human.getData()
        assert trend.tolist() == [p.human_final for p in anas]
        assert gui_thread_queries == []


def test_the_judge_bias_legend_covers_no_bar(qtbot, tmp_path):
    """The legend sat over the last judges' bars (top right, where negative biases left no room above zero)."""
    from PySide6.QtCore import QRectF

    from app.tabs.statistics import BAR_WIDTH, Statistics

    with open_database(tmp_path / "s.sqlite") as db:
        view = StatisticsView(db)
        qtbot.addWidget(view)
        view.resize(1400, 850)
        view.show()
        qtbot.waitUntil(lambda: not view.busy, timeout=5000)
        bias = [0.35, 0.08, -0.25, -0.08, -0.08, -0.02, -0.02]
        model = [-0.3, -0.75, -1.4, -1.5, -1.65, -1.9, -1.9]  # the review's demo session, about
        view._show(Statistics(n=6, marked=6, rho=0.6, mean_abs_error=17.0, human=[1.0] * 6, predicted=[1.0] * 6,
                              bias_vs_panel=bias, bias_vs_model=model, bias_n=6, times=[0.0] * 6))
        qtbot.wait(50)  # the plot lays itself out
        box = view.bias_plot.getViewBox()
        legend = view.bias_plot.plotItem.legend
        corners = [box.mapSceneToView(point) for point in (legend.sceneBoundingRect().topLeft(), legend.sceneBoundingRect().bottomRight())]
        covered = QRectF(corners[0], corners[1]).normalized()
        for offset, heights in ((-BAR_WIDTH / 2, bias), (BAR_WIDTH / 2, model)):
            for seat, height in enumerate(heights, start=1):
                bar = QRectF(seat + offset - BAR_WIDTH / 2, min(0.0, height), BAR_WIDTH, abs(height))
                assert not bar.intersects(covered), (seat, height)
