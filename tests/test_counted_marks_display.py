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


def test_the_score_command_prints_what_the_method_gives_beyond_the_marks() -> None:
    """Sampled panels, a recognised dive (with a mismatch), exemplar votes and commentary: the text output names each,
    as the desk does, and the commentary's caveat is a WARNING line (once)."""
    from aqa_core.result import Commentary, ExemplarVote, ExemplarVotes, JudgeSamples, RecognisedDive
    from cli.score_commands import format_result

    vote = ExemplarVote("04_49", "107B", 3.0, 70.5, -2.25, 68.25, "dive number")
    result = replace(
        make_result(68.0, [7.5] * 7),
        judge_samples=JudgeSamples(panels=[[7.5] * 7, [8.0] * 7], uncertainty=0.31, spread=1.5),
        recognised_dive=RecognisedDive("109C", 3.7, 0.62, {"rotation": "forward", "position": "tuck"}, mismatch=True),
        exemplar_votes=ExemplarVotes([vote], note="no exemplar of DD 3.0: the nearest DD was used"),
        commentary=Commentary("a clean entry.", "generated commentary, may be wrong"),
    )
    lines = format_result(result, {}).splitlines()
    assert "samples  2 sampled panels; the model's own uncertainty u = 0.31, spread of their finals 1.50 points" in lines
    assert "sees     forward, tuck -> 109C, DD 3.7 (62%)" in lines
    assert "WARNING  the typed dive 107B is not what the model sees" in lines
    assert any(line.split() == ["04_49", "107B", "DD", "3.0", "scored", "70.50", "relative", "-2.25", "vote", "68.25", "(dive", "number)"] for line in lines)
    assert "  no exemplar of DD 3.0: the nearest DD was used" in lines
    assert 'comment  "a clean entry."' in lines
    assert lines.count("WARNING  generated commentary, may be wrong") == 1


def test_several_flagged_marks_are_one_paragraph_not_a_line_each(qtbot) -> None:  # noqa: ANN001
    """A failed dive flagged five of seven marks, one red line each, and pushed the judges' chart out of the dock."""
    panel = JudgePanel()
    qtbot.addWidget(panel)
    panel.set_dive("individual", 3.0)
    result = make_result(79.2, [8.0] * 7)  # make_result's judges: 8 +- 1, so 7 to 9 at 95%
    panel.set_result(result)
    for edit, mark in zip(panel.edits, [8.0, 5.0, 4.5, 8.0, 9.5, 3.0, 8.0], strict=True):
        edit.setText(f"{mark:g}")
    panel.edits[-1].editingFinished.emit()
    text = panel.flags_label.text()
    assert "\n" not in text
    assert text == ("⚠ 4 real marks outside the predicted 95% intervals: J2 gave 5 [7.0 – 9.0]; J3 gave 4.5 [7.0 – 9.0]; "
                    "J5 gave 9.5 [7.0 – 9.0]; J6 gave 3 [7.0 – 9.0]"), text
