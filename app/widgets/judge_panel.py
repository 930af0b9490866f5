"""Per-judge panel: predicted marks with their 95% intervals, the judges the rule drops greyed,
the real panel's marks typed beside them, and the final score with its interval and uncertainty.

A real mark outside its predicted 95% interval is flagged: that is the question a judge asks
("does one of us sit far outside?"), so the flag names the judge and both numbers.

What else is drawn follows from the result's optional fields, never from the method's name: a
result with sampled judges (``judge_samples``) shows each sampled panel's marks beside the bars,
the rule's verdict on every sampled panel and the model's own uncertainty u; a result with a
recognised dive shows what the model sees, proposes a dive number and DD when none was typed and
flags a typed number that disagrees; a result with commentary shows the line with its caveat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from aqa_core.errors import RuleError
from aqa_core.result import DiveInfo, JudgeSamples, RecognisedDive, ScoreResult

KEPT = (40, 110, 200)
DROPPED = (190, 190, 190)
REAL = (220, 40, 40)
SAMPLED = (250, 150, 30)


def compared_marks(result: ScoreResult, real: list[float | None], event: str) -> list[float | None]:
    """The real marks the predicted judges stand for: the panel's seats, or, for a model trained on
    counted marks, the real panel's counting marks in ascending order (path k is the k-th smallest)."""
    if not result.counted_marks:
        return real
    from aqa_core.rules import counting_marks

    if not real or any(v is None for v in real):
        return []
    try:
        return sorted(counting_marks([float(v) for v in real if v is not None], event))
    except RuleError:
        return []


def outliers(result: ScoreResult, real: list[float | None]) -> list[tuple[int, float, float, float]]:
    """(judge, real mark, low, high) for each typed mark outside its predicted 95% interval."""
    flagged = []
    for judge in result.judges:
        mark = real[judge.index] if judge.index < len(real) else None
        if mark is not None and not judge.estimate.low <= mark <= judge.estimate.high:
            flagged.append((judge.index, mark, judge.estimate.low, judge.estimate.high))
    return flagged


@dataclass(frozen=True)
class SampledPanel:
    """One sampled panel as a judge would award it: marks at the legal half points, and the rule's verdict."""

    marks: list[float]  # in the order the bars are drawn (ascending for individual events, as the paths are)
    dropped: list[int]  # positions in ``marks`` the rule cancels
    final: float


def sampled_panels(samples: JudgeSamples, dive: DiveInfo) -> list[SampledPanel]:
    """The rule on every sampled panel: each drawn mark to the nearest half point, then the diving rule x DD."""
    from aqa_core.rules import apply_panel_rule

    out = []
    for drawn in samples.panels:
        marks = [float(np.clip(np.rint(m * 2.0) / 2.0, 0.0, 10.0)) for m in drawn]
        if dive.event == "individual":
            marks.sort()  # the bars are the k-th smallest marks
        outcome = apply_panel_rule(marks, dive.event, dive.difficulty)
        out.append(SampledPanel(marks, outcome.dropped, outcome.final))
    return out


def recognition_lines(recognised: RecognisedDive, dive: DiveInfo) -> tuple[str, str]:
    """(what the model sees, and the warning when the typed dive disagrees: "" when it agrees or none was typed)."""
    p = recognised.parts
    seen = (f"{p['rotation']}, {p['position']}, {p['somersaults']} somersaults, {p['twists']} twists"
            + (", armstand" if p["armstand"] == "yes" else ""))
    code = recognised.dive_number or "no dive number"
    dd = f", DD {recognised.difficulty:.1f}" if recognised.difficulty is not None else ""
    line = f"Model sees: {seen} → {code}{dd} (confidence {recognised.confidence:.0%})"
    if not dive.dive_number:
        line += (f"\nProposed dive: {recognised.dive_number}{dd} (none typed; type it on the sheet to use it)"
                 if recognised.dive_number else "\nNo dive number to propose: what it sees is no listed dive")
    warning = ""
    if recognised.mismatch and dive.dive_number:
        warning = f"⚠ The typed dive {dive.dive_number} disagrees with what the model sees ({code})"
    return line, warning


PLOT_MIN_HEIGHT, PLOT_MAX_HEIGHT = 120, 240  # pixels: the marks' axis, its ticks and the bars readable


class JudgePanel(QWidget):
    real_scores_edited = Signal(list)  # list[float | None]
    edits_created = Signal(list)  # the new mark fields after a panel-size change (focus handling)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="w")
        # The plot gives first in a small window, down to its minimum (the desk scrolls the panel below that:
        # squeezed further, Qt would lay the labels over the plot's axis), and never crowds the final out.
        self.plot.setMinimumHeight(PLOT_MIN_HEIGHT)
        self.plot.setMaximumHeight(PLOT_MAX_HEIGHT)
        self.plot.setYRange(0, 10)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setLabel("left", "mark")
        self.bars = pg.BarGraphItem(x=np.array([]), height=np.array([]), width=0.35, brushes=[])
        self.errors = pg.ErrorBarItem(x=np.array([]), y=np.array([]), top=np.array([]), bottom=np.array([]),
                                      pen=pg.mkPen((60, 60, 60), width=1.5))
        self.real_points = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(*REAL), symbol="d")
        self.sample_points = pg.ScatterPlotItem(size=7, pen=pg.mkPen(*SAMPLED), symbol="o")  # sampled judges
        for item in (self.bars, self.errors, self.sample_points, self.real_points):
            self.plot.addItem(item)
        self.inputs_box = QWidget()
        self.inputs = QGridLayout(self.inputs_box)
        self.inputs.setContentsMargins(0, 0, 0, 0)
        self.edits: list[QLineEdit] = []
        self.final_label = QLabel("Final —")
        self.final_label.setStyleSheet("font-size: 20px; font-weight: bold;")
        self.final_label.setWordWrap(True)  # the final with both intervals is wider than the dock in a laptop-sized window
        self.uncertainty_label = QLabel("")
        self.uncertainty_label.setWordWrap(True)
        self.flags_label = QLabel("")
        self.flags_label.setWordWrap(True)
        self.flags_label.setStyleSheet("color: #c02020;")
        self.official_label = QLabel("")
        self.official_label.setWordWrap(True)
        self.samples_label = QLabel("")  # the rule on each sampled panel
        self.samples_label.setWordWrap(True)
        self.recognised_label = QLabel("")  # the dive the model sees, and its proposal
        self.recognised_label.setWordWrap(True)
        self.mismatch_label = QLabel("")
        self.mismatch_label.setWordWrap(True)
        self.mismatch_label.setStyleSheet("color: #c02020;")
        self.final_only_label = QLabel("")  # a model of the final alone: said in words, not with an empty plot
        self.final_only_label.setWordWrap(True)
        self.final_only_label.setStyleSheet("color: #505050;")
        self.commentary_label = QLabel("")
        self.commentary_label.setWordWrap(True)
        self.commentary_label.setStyleSheet("font-style: italic; color: #404040;")
        # The final and the marks' row first: in a laptop-sized window the desk scrolls this panel, and what
        # scrolls out of sight must be the plot, never the number the judge is looking for.
        layout = QVBoxLayout(self)
        layout.addWidget(self.final_label)
        layout.addWidget(self.uncertainty_label)
        layout.addWidget(QLabel("Real panel's marks (optional):"))
        layout.addWidget(self.inputs_box)
        for label in (self.official_label, self.flags_label, self.mismatch_label, self.final_only_label):
            layout.addWidget(label)
        layout.addWidget(self.plot, 1)
        for label in (self.samples_label, self.recognised_label, self.commentary_label):
            layout.addWidget(label)
        layout.addStretch(0)  # spare height below everything, not between the marks and the plot
        self.result: ScoreResult | None = None
        self.real: list[float | None] = []
        self.typing_problems = ""  # why a typed mark was refused, shown until the marks change
        self.event_kind = "individual"
        self.difficulty = 0.0
        self.set_panel_size(7)

    def labels(self) -> list[str]:
        """J1..Jn, or E1..(execution) and S1..(synchronisation) for synchronised panels."""
        from aqa_core.rules import judge_labels

        try:
            return judge_labels(self.event_kind, len(self.edits))
        except RuleError:
            return [f"J{i + 1}" for i in range(len(self.edits))]

    def _counted(self) -> bool:
        """The result's judges are counting marks (a model trained on them): the plot's slots are C1.., not seats."""
        return self.result is not None and self.result.counted_marks and bool(self.result.judges)

    def _slot_labels(self) -> list[str]:
        """What the plot's x slots are: the panel's seats, or C1..Cn for counting marks."""
        return [f"C{i + 1}" for i in range(len(self.result.judges))] if self._counted() else self.labels()  # type: ignore[union-attr]

    def set_panel_size(self, size: int) -> None:
        if size == len(self.edits):
            return
        for edit in self.edits:
            edit.deleteLater()
        self.edits = []
        for i in range(size):
            edit = QLineEdit()
            edit.setPlaceholderText(f"J{i + 1}")
            edit.setMaximumWidth(48)
            edit.editingFinished.connect(self._on_edited)
            self.inputs.addWidget(edit, 0, i)
            self.edits.append(edit)
        self.real = [None] * size
        self._relabel()
        self._redraw()
        self.edits_created.emit(self.edits)

    def _relabel(self) -> None:
        for edit, label in zip(self.edits, self.labels(), strict=True):
            edit.setPlaceholderText(label)
        slots = self._slot_labels()
        self.plot.setXRange(0.5, len(slots) + 0.5)
        self.plot.getAxis("bottom").setTicks([[(i + 1, label) for i, label in enumerate(slots)]])

    def set_dive(self, event: str, difficulty: float) -> None:
        self.event_kind, self.difficulty = event, difficulty
        self._relabel()
        self._redraw()

    def set_result(self, result: ScoreResult | None) -> None:
        self.result = result
        self._relabel()
        self._redraw()

    def set_real_scores(self, scores: list[float | None]) -> None:
        if list(scores) != self.real:
            self.typing_problems = ""  # other marks (another dive): the refusal typed for the old ones is gone
        self.real = list(scores)
        for edit, value in zip(self.edits, self.real, strict=False):
            text = "" if value is None else f"{value:g}"
            if edit.text() != text and not edit.hasFocus():
                edit.setText(text)
        self._redraw()

    def _on_edited(self) -> None:
        from aqa_core.rules import validate_judge_score

        scores: list[float | None] = []
        problems = []
        for i, edit in enumerate(self.edits):
            text = edit.text().strip().replace(",", ".")
            if not text:
                scores.append(None)
                continue
            try:
                scores.append(validate_judge_score(float(text)))
                edit.setStyleSheet("")
            except (ValueError, RuleError) as exc:
                scores.append(None)
                edit.setStyleSheet("background: #ffd0d0;")
                label = self.labels()[i]
                problems.append(f"{label}: {exc}" if isinstance(exc, RuleError) else f"{label}: '{text}' is not a number")
        self.typing_problems = "; ".join(problems)
        self.flags_label.setText(self.typing_problems)
        self.real = scores
        self.real_scores_edited.emit(scores)
        self._redraw()

    def _redraw(self) -> None:
        result = self.result
        problems_shown = bool(self.typing_problems)  # a refused mark's reason wins over the interval flags
        self._draw_real()
        self._show_plot_if_it_says_something()
        if result is None:
            self._clear_bars()
            self.final_label.setText("Final —")
            self.uncertainty_label.setText("")
            self._draw_method_fields(None)
            if not problems_shown:
                self.flags_label.setText("")  # warnings belong to the analysis on screen: none now
            self._draw_official()
            return
        if result.judges:
            x = np.array([j.index + 1 for j in result.judges], dtype=float) - 0.2
            y = np.array([j.estimate.score for j in result.judges])
            brushes = [pg.mkBrush(*(DROPPED if j.dropped else KEPT)) for j in result.judges]
            self.bars.setOpts(x=x, height=y, brushes=brushes, width=0.35)
            self.errors.setData(x=x, y=y, top=np.array([j.estimate.high for j in result.judges]) - y,
                                bottom=y - np.array([j.estimate.low for j in result.judges]), beam=0.15)
            self.plot.setTitle("Counting marks predicted (trained on counted marks, not a full panel) · ◆ real counting marks"
                               if result.counted_marks else "Predicted marks · grey: dropped by the rule · ◆ real", size="9pt")
        else:
            self._clear_bars()
            self.plot.setTitle("This model predicts the final score only · ◆ the real panel's marks", size="9pt")
        final = result.final
        eighty = final.intervals.get("0.8")  # present when the bundle is calibrated (aqa_core.calibration)
        self.final_label.setText(f"Final {final.score:.2f}  95% [{final.low:.1f} – {final.high:.1f}]"
                                 + (f"  80% [{eighty[0]:.1f} – {eighty[1]:.1f}], calibrated" if eighty else ""))
        unc = result.uncertainty
        reasons = "; ".join(unc.reasons) if unc.reasons else "a narrow interval, the judges' marks close together"
        own = result.judge_samples
        self.uncertainty_label.setText(
            f"Uncertainty: {unc.level} (±{unc.value:.1f} points): {reasons}"
            + (f"; the model's own uncertainty u = {own.uncertainty:.2f}, spread of its sampled finals ±{own.spread:.2f} points" if own else ""))
        self._draw_method_fields(result)
        if not problems_shown:
            flagged, labels = outliers(result, compared_marks(result, self.real, self.event_kind)), self._slot_labels()
            named = [(labels[i] if i < len(labels) else f"J{i + 1}", mark, low, high) for i, mark, low, high in flagged]
            if len(named) == 1:
                name, mark, low, high = named[0]
                text = f"⚠ {name} gave {mark:g}, outside the predicted 95% interval [{low:.1f} – {high:.1f}]"
            else:  # one wrapped paragraph, not a line each: seven lines pushed the judges' chart out of the dock
                text = f"⚠ {len(named)} real marks outside the predicted 95% intervals: " + "; ".join(
                    f"{name} gave {mark:g} [{low:.1f} – {high:.1f}]" for name, mark, low, high in named)
            self.flags_label.setText(text if named else "")
        self._draw_official()

    def _show_plot_if_it_says_something(self) -> None:
        """A model of the final alone draws no judges: its plot shows only while real marks are typed to draw."""
        final_only = self.result is not None and not self.result.judges
        self.plot.setVisible(not final_only or any(v is not None for v in self.real))
        self.final_only_label.setText("This model predicts the final score only: no judge's mark of its own to show."
                                      if final_only else "")

    def _draw_method_fields(self, result: ScoreResult | None) -> None:
        """Sampled judges, recognised dive and commentary: drawn when the result carries them, cleared when not."""
        samples = result.judge_samples if result is not None else None
        points: list[dict] = []
        text = ""
        if samples is not None and result is not None:
            panels = sampled_panels(samples, result.dive)
            offsets = np.linspace(-0.12, 0.12, len(panels)) if len(panels) > 1 else [0.0]
            for panel, offset in zip(panels, offsets, strict=True):
                for k, mark in enumerate(panel.marks):
                    dropped = k in panel.dropped
                    points.append({"pos": (k + 1 - 0.2 + offset, mark), "brush": pg.mkBrush(255, 255, 255) if dropped else pg.mkBrush(*SAMPLED)})
            finals = ", ".join(f"{p.final:.2f}" for p in panels)
            text = (f"○ {len(panels)} of the model's sampled panels ({len(samples.panels[0])} judges each; hollow: dropped by the rule). "
                    f"The rule on each: {finals}")
        self.sample_points.setData(points)
        self.samples_label.setText(text)
        recognised = result.recognised_dive if result is not None else None
        line, warning = recognition_lines(recognised, result.dive) if recognised is not None and result is not None else ("", "")
        self.recognised_label.setText(line)
        self.mismatch_label.setText(warning)
        commentary = result.commentary if result is not None else None
        self.commentary_label.setText(f"“{commentary.text}” — {commentary.caveat}" if commentary is not None else "")

    def _clear_bars(self) -> None:
        empty = np.array([])
        self.bars.setOpts(x=empty, height=empty, brushes=[])
        self.errors.setData(x=empty, y=empty, top=empty, bottom=empty)

    def _draw_real(self) -> None:
        real = compared_marks(self.result, self.real, self.event_kind) if self.result is not None else self.real
        points = [(i + 1 + 0.2, v) for i, v in enumerate(real) if v is not None]
        self.real_points.setData(x=[p[0] for p in points], y=[p[1] for p in points])

    def _draw_official(self) -> None:
        from aqa_core.rules import apply_panel_rule

        if not self.real or any(v is None for v in self.real) or not self.difficulty:
            self.official_label.setText("")
            return
        try:
            outcome = apply_panel_rule([float(v) for v in self.real if v is not None], self.event_kind, self.difficulty)
        except RuleError as exc:
            self.official_label.setText(str(exc))
            return
        labels = self.labels()
        self.official_label.setText(f"Real panel: {outcome.final:.2f} (kept {', '.join(labels[i] for i in outcome.kept)})")
