"""A model trained on counted marks (FineDiving's labels) on the desk and in ``aqa-judge score``:
its judges are the counting marks C1..C3, no judge is greyed or marked dropped, and the desk
compares them with the real panel's counting marks.

Truth by hand: the real panel 6 9 8.5 7 8 9.5 10 keeps 8 8.5 9 by the 7-judge rule (2.0 DD: 51.00).
"""

from __future__ import annotations

from dataclasses import replace

from aqa_core.result import ScoreResult
from app.widgets.judge_panel import DROPPED, JudgePanel
from storage_support import make_result

REAL = [6.0, 9.0, 8.5, 7.0, 8.0, 9.5, 10.0]


def counted_result() -> ScoreResult:
    result = make_result(46.0, [7.0, 8.0, 8.5], difficulty=2.0)
    judges = [replace(j, dropped=False) for j in result.judges]
    judges[0] = replace(judges[0], estimate=replace(judges[0].estimate, low=5.5, high=7.5))  # the real 8 lies above C1's interval
    return replace(result, judges=judges, counted_marks=True)


def test_counted_marks_on_the_desk(qtbot) -> None:  # noqa: ANN001
    panel = JudgePanel()
    qtbot.addWidget(panel)
    panel.set_dive("individual", 2.0)
    panel.set_result(counted_result())
    ticks = [label for _, label in panel.plot.getAxis("bottom")._tickLevels[0]]
    assert ticks == ["C1", "C2", "C3"] and [e.placeholderText() for e in panel.edits][:2] == ["J1", "J2"]
    assert "counted marks, not a full panel" in panel.plot.plotItem.titleLabel.text
    assert all(b.color().getRgb()[:3] != DROPPED for b in panel.bars.opts["brushes"])
    for edit, mark in zip(panel.edits, REAL, strict=True):
        edit.setText(f"{mark:g}")
    panel.edits[-1].editingFinished.emit()
    assert list(panel.real_points.data["y"]) == [8.0, 8.5, 9.0]  # the real counting marks, ascending, at C1..C3
    assert panel.flags_label.text() == "⚠ C1 gave 8, outside the predicted 95% interval [5.5 – 7.5]"
    assert panel.official_label.text().startswith("Real panel: 51.00")
    panel.set_result(replace(counted_result(), counted_marks=False))  # a full-panel model: the seats again
    assert [label for _, label in panel.plot.getAxis("bottom")._tickLevels[0]][:3] == ["J1", "J2", "J3"]


def test_the_flag_survives_storage() -> None:
    stored = counted_result().to_dict()
    assert ScoreResult.from_dict(stored).counted_marks
    del stored["counted_marks"]  # an analysis stored before the field existed
    assert not ScoreResult.from_dict(stored).counted_marks


def test_the_score_command_names_counting_marks() -> None:
    from cli.score_commands import format_result

    lines = format_result(counted_result(), {}).splitlines()
    assert "judges   the counting marks only: the model was trained on counted marks, not a full panel" in lines
    rows = [line.split()[0] for line in lines if line[:2] in ("C1", "C2", "C3", "J1")]
    assert rows == ["C1", "C2", "C3"] and not any("dropped" in line for line in lines)
