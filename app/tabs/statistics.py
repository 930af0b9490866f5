"""The statistics view: where the model and the real panel agree, per athlete or competition.

Three plots for one scope (all dives, an athlete or a competition): predicted vs human final
scores with Spearman's rho, each human judge's bias against the model's judge path and
against the panel, and both scores over the competition date. The numbers come from
``compute_statistics``, a plain function, computed on the thread pool together with the query.
Every number says how many dives it rests on, and no rho is claimed from fewer than
``MIN_RHO_DIVES`` dives: a rank correlation of three points is noise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.storage.background import QueryRunner
from app.storage.database import Database
from app.storage.repository import FilterChoices, Repository, ScorePair
from app.tabs.sessions import combo_data

BAR_WIDTH = 0.38
MIN_RHO_DIVES = 5
DAY_S = 86400.0
LEGEND_ROOM = 0.3  # of the bars' span, kept free above them for the judge-bias legend


def dives(n: int) -> str:
    return f"{n} dive{'' if n == 1 else 's'}"
ALL = ("all", 0)  # item data is never None (see app.tabs.sessions.ANY_ID)


@dataclass(frozen=True)
class Statistics:
    n: int  # dives with a prediction and the real panel
    rho: float  # nan with fewer than MIN_RHO_DIVES dives or a constant side
    mean_abs_error: float  # points, predicted - human final
    times: list[float]  # epoch seconds of each dive, oldest first
    predicted: list[float]
    human: list[float]
    bias_vs_panel: list[float]  # per human judge: mean(judge - panel mean)
    bias_vs_model: list[float]  # per human judge: mean(judge - model's same judge); empty for USDL models
    bias_n: int = 0  # dives the judge biases rest on (the most common panel size)
    marked: int = 0  # dives with the real panel's marks, predicted or not


def compute_statistics(pairs: Sequence[ScorePair], marked: int | None = None) -> Statistics:
    """Agreement numbers for dives that have both a prediction and a real panel.

    Judge biases use the dives with the most common panel size only, because judge J3 of a
    5-judge panel and J3 of a 7-judge panel are different people's seats.
    """
    from aqa_core.metrics import spearman  # SciPy's stats: seconds to import, not before the window shows

    predicted = [p.predicted_final for p in pairs]
    human = [p.human_final for p in pairs]
    rho = spearman(predicted, human) if len(pairs) >= MIN_RHO_DIVES else float("nan")
    mae = float(np.mean(np.abs(np.subtract(predicted, human)))) if pairs else float("nan")
    sizes = Counter(len(p.human_scores) for p in pairs if p.human_scores).most_common(1)
    k = sizes[0][0] if sizes else 0
    same_panel = [p for p in pairs if k and len(p.human_scores) == k]
    panels = np.array([p.human_scores for p in same_panel], dtype=float)
    bias_vs_panel = (panels - panels.mean(axis=1, keepdims=True)).mean(axis=0).tolist() if same_panel else []
    with_model = [np.subtract(p.human_scores, p.predicted_judges) for p in same_panel if len(p.predicted_judges) == k]
    bias_vs_model = np.mean(with_model, axis=0).tolist() if with_model else []
    return Statistics(
        n=len(pairs),
        rho=rho,
        mean_abs_error=mae,
        times=[p.when.timestamp() for p in pairs],
        predicted=predicted,
        human=human,
        bias_vs_panel=bias_vs_panel,
        bias_vs_model=bias_vs_model,
        bias_n=len(same_panel),
        marked=len(pairs) if marked is None else marked,
    )


class StatisticsView(QWidget):
    """Pick a scope; see agreement, judge biases and trends (queries on the thread pool)."""

    def __init__(self, database: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.repository = Repository(database)
        self.statistics: Statistics | None = None
        self._choices_query = QueryRunner(self)
        self._stats_query = QueryRunner(self)
        self._choices_query.error.connect(self._show_error)
        self._stats_query.error.connect(self._show_error)

        self.scope = QComboBox()
        self.scope.currentIndexChanged.connect(self.reload)
        self.summary = QLabel()
        self.scatter_plot = pg.PlotWidget(background="w", title="Predicted vs judges' final score")
        self.scatter_plot.setLabel("bottom", "judges' final score")
        self.scatter_plot.setLabel("left", "predicted final score")
        self.scatter = pg.ScatterPlotItem(size=7, brush=pg.mkBrush(40, 110, 200, 170), pen=None)
        self.diagonal = pg.PlotDataItem(pen=pg.mkPen((150, 150, 150), style=pg.QtCore.Qt.PenStyle.DashLine))
        self.scatter_plot.addItem(self.diagonal)
        self.scatter_plot.addItem(self.scatter)

        self.bias_plot = pg.PlotWidget(background="w", title="Judge bias")
        self.bias_plot.setLabel("bottom", "judge (seat in the panel)")
        self.bias_plot.setLabel("left", "mean difference (points)")
        legend = self.bias_plot.addLegend(offset=(-10, 5), brush=pg.mkBrush(255, 255, 255, 220), pen=pg.mkPen(200, 200, 200))
        legend.setZValue(10)
        self.bias_panel = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH, brush=(150, 150, 150), name="judge − panel mean")
        self.bias_model = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH, brush=(230, 140, 30), name="judge − model's judge")
        self.bias_plot.addItem(self.bias_panel)
        self.bias_plot.addItem(self.bias_model)

        self.trend_plot = pg.PlotWidget(background="w", title="Final scores by competition date", axisItems={"bottom": pg.DateAxisItem()})
        self.trend_plot.setLabel("bottom", "competition date (the recording date where the competition has none)")
        self.trend_plot.setLabel("left", "final score (points)")
        self.trend_plot.addLegend()
        self.trend_human = self.trend_plot.plot(name="judges", pen=pg.mkPen((120, 120, 120)), symbol="o", symbolSize=5,
                                                symbolBrush=(120, 120, 120))
        self.trend_predicted = self.trend_plot.plot(name="model", pen=pg.mkPen((40, 110, 200)), symbol="t", symbolSize=5)

        top = QHBoxLayout()
        top.addWidget(QLabel("Scope"))
        top.addWidget(self.scope, 1)
        top.addWidget(self.summary, 2)
        plots = QHBoxLayout()
        plots.addWidget(self.scatter_plot)
        plots.addWidget(self.bias_plot)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(plots, 1)
        layout.addWidget(self.trend_plot, 1)
        self.refresh()

    def refresh(self) -> None:
        """Reload the scopes (athletes, competitions) and the current scope's statistics."""
        self._choices_query.submit(self.repository.filter_choices, self._set_scopes)
        self.reload()

    def set_database(self, database: Database) -> None:
        self.repository = Repository(database)
        self.refresh()

    def reload(self) -> None:
        scope = combo_data(self.scope, ALL)
        athlete_id = scope[1] if scope[0] == "athlete" else None
        competition_id = scope[1] if scope[0] == "competition" else None
        repository = self.repository
        self.summary.setText("Loading…")
        self._stats_query.submit(lambda: compute_statistics(repository.score_pairs(athlete_id, competition_id),
                                                            repository.count_marked(athlete_id, competition_id)), self._show)

    @property
    def busy(self) -> bool:
        return self._choices_query.busy or self._stats_query.busy

    def _set_scopes(self, choices: FilterChoices) -> None:
        selected = combo_data(self.scope, ALL)
        self.scope.blockSignals(True)
        self.scope.clear()
        self.scope.addItem("All dives", ALL)
        for athlete in choices.athletes:
            self.scope.addItem(f"Athlete: {athlete.name}", ("athlete", athlete.id))
        for competition in choices.competitions:
            self.scope.addItem(f"Competition: {competition.name}", ("competition", competition.id))
        self.scope.setCurrentIndex(max(0, self.scope.findData(selected)))
        self.scope.blockSignals(False)

    def _show(self, stats: Statistics) -> None:
        self.statistics = stats
        rho = f"ρ n/a (needs ≥ {MIN_RHO_DIVES} dives)" if np.isnan(stats.rho) else f"ρ = {stats.rho:.2f}"
        mae = "n/a" if np.isnan(stats.mean_abs_error) else f"{stats.mean_abs_error:.2f}"
        unpredicted = stats.marked - stats.n
        pending = f" ({unpredicted} not yet analysed)" if unpredicted > 0 else ""
        self.summary.setText(f"{dives(stats.marked)} with the judges' marks{pending} · Spearman {rho}, n = {stats.n} · "
                             f"mean |error| = {mae} points")
        self.scatter.setData(stats.human, stats.predicted)
        if stats.n:
            low, high = min(stats.human + stats.predicted), max(stats.human + stats.predicted)
            self.diagonal.setData([low, high], [low, high])
        else:
            self.diagonal.setData([], [])
        self.scatter_plot.setTitle(f"Predicted vs judges' final score ({rho}, n = {stats.n})")
        self.bias_plot.setTitle(f"Judge bias (n = {dives(stats.bias_n)})")
        self.trend_plot.setTitle(f"Final scores by competition date (n = {stats.n})")
        judges = np.arange(1, len(stats.bias_vs_panel) + 1, dtype=float)
        self.bias_panel.setOpts(x=judges - BAR_WIDTH / 2, height=stats.bias_vs_panel)
        model_x = np.arange(1, len(stats.bias_vs_model) + 1, dtype=float) + BAR_WIDTH / 2
        self.bias_model.setOpts(x=model_x, height=stats.bias_vs_model)
        bars = [v for v in (*stats.bias_vs_panel, *stats.bias_vs_model) if np.isfinite(v)]
        if bars:  # room above the tallest bar for the legend (top right), which covered the last judges' bars
            low, high = min(0.0, *bars), max(0.0, *bars)
            self.bias_plot.setYRange(low, high + LEGEND_ROOM * max(high - low, 0.1), padding=0.02)
        self.trend_human.setData(stats.times, stats.human)
        self.trend_predicted.setData(stats.times, stats.predicted)
        if stats.times:  # at least a day either side, so a single competition reads as a date, not seconds
            self.trend_plot.setXRange(min(stats.times) - DAY_S, max(stats.times) + DAY_S)

    def _show_error(self, message: str) -> None:
        self.summary.setText(message)
