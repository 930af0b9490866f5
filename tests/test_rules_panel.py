"""Drop rules and final score: hand-worked panels, exact arithmetic, ties, refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aqa_core.errors import RuleError
from aqa_core.rules import COUNTED_MARKS, apply_panel_rule, counted_event, counting_marks, judge_labels, validate_judge_score

SYNCHRO_BREAKDOWNS = [  # Women's synchronised 3 m, published: DD, points, execution E1..E6, synchro S1..S5
    (3.1, 66.03, [8, 7.5, 7.5, 6.5, 7, 7], [7, 7, 7, 7, 7.5]),
    (2.0, 51.6, [8.5, 8.5, 8, 8.5, 8.5, 8.5], [9, 8.5, 9, 5.5, 8.5]),
    (3.0, 76.5, [8.5, 8.5, 8, 8.5, 7.5, 8], [9, 8.5, 9, 8.5, 8.5]),
    (2.0, 55.8, [9, 9.5, 9, 8.5, 9, 9], [9.5, 9.5, 9.5, 9.5, 9.5]),
]


def test_seven_judges_keep_middle_three():
    # sorted 8 8.5 8.5 9 9 9 9 -> 8.5 + 9 + 9 = 26.5; 26.5 x 3.8 = 100.70
    out = apply_panel_rule([9, 8.5, 9, 8, 9, 8.5, 9], "individual", 3.8)
    assert out.kept_sum == 26.5
    assert out.final == 100.70
    assert len(out.kept) == 3 and len(out.dropped) == 4
    assert sorted(out.kept + out.dropped) == list(range(7))


def test_five_judges_drop_one_each_end():
    # 6.0 5.5 6.5 7.0 6.0 -> drop 5.5 and 7.0 -> 18.5 x 2.3 = 42.55
    out = apply_panel_rule([6.0, 5.5, 6.5, 7.0, 6.0], "individual", 2.3)
    assert out.dropped == [1, 3]
    assert out.final == 42.55


def test_exact_decimal_arithmetic():
    # 3 x 8.5 x 3.8 = 96.9 exactly (binary floats give 25.5 * 3.8 == 96.89999999999999)
    out = apply_panel_rule([8.5] * 7, "individual", 3.8)
    assert out.final == 96.9
    # a typed DD with more decimals is rounded half-up to the cent: 21 x 1.005 = 21.105 -> 21.11
    assert apply_panel_rule([7] * 5, "individual", "1.005").final == 21.11


def test_ties_drop_earlier_judge_first_at_both_ends():
    out = apply_panel_rule([7.0] * 7, "individual", 2.0)
    assert out.dropped == [0, 1, 2, 3]
    assert out.kept == [4, 5, 6]
    out = apply_panel_rule([8, 6, 8, 6, 7, 8, 6], "individual", 2.0)
    # lows: the 6s at 1 and 3 (earlier first); highs: the 8s at 0 and 2 (earlier first)
    assert out.dropped == [0, 1, 2, 3]
    assert out.kept_sum == 7 + 8 + 6


def test_eleven_judges_real_synchro_dives():
    for dd, points, execution, synchro in SYNCHRO_BREAKDOWNS:
        out = apply_panel_rule(execution + synchro, "synchronised", dd)
        assert out.final == points
        assert out.multiplier == 0.6
        kept_exec = [i for i in out.kept if i < 6]
        assert len([i for i in kept_exec if i < 3]) == 1 and len([i for i in kept_exec if i >= 3]) == 1
        assert len([i for i in out.kept if i >= 6]) == 3


def test_nine_judges_trim_execution_together():
    # E1 E2 (A) E3 E4 (B) S1..S5: execution 6 7 8 9 -> drop 6 and 9; synchro 7 7 8 8 9 -> drop 7, 9
    out = apply_panel_rule([6, 7, 8, 9, 7, 7, 8, 8, 9], "synchronised", 2.0)
    assert out.dropped == [0, 3, 4, 8]
    assert out.kept_sum == 7 + 8 + 7 + 8 + 8
    assert out.final == 45.6  # 38 x 2.0 x 0.6


def test_labels():
    assert judge_labels("individual", 5) == ["J1", "J2", "J3", "J4", "J5"]
    assert judge_labels("synchronised", 9) == ["E1", "E2", "E3", "E4", "S1", "S2", "S3", "S4", "S5"]
    assert judge_labels("synchronized", 11)[5:7] == ["E6", "S1"]


@pytest.mark.parametrize("value", [8.3, -0.5, 10.5, "nine", float("nan"), None])
def test_score_off_grid_refused(value):
    with pytest.raises(RuleError):
        validate_judge_score(value)


def test_refusals_name_judge_count_and_dd():
    with pytest.raises(RuleError, match="J6.*8.3"):
        apply_panel_rule([9, 8.5, 9, 8, 9, 8.3, 9], "individual", 3.8)
    with pytest.raises(RuleError, match="S2"):
        apply_panel_rule([7, 7, 7, 7, 7, 11, 7, 7, 7], "synchronised", 2.0)
    with pytest.raises(RuleError, match="5 or 7 judges, not 6"):
        apply_panel_rule([7] * 6, "individual", 2.0)
    with pytest.raises(RuleError, match="9 or 11 judges, not 7"):
        apply_panel_rule([7] * 7, "synchronised", 2.0)
    for dd in (0, -1.2, "x"):
        with pytest.raises(RuleError, match="degree of difficulty"):
            apply_panel_rule([7] * 7, "individual", dd)
    with pytest.raises(RuleError, match="unknown event"):
        apply_panel_rule([7] * 7, "team", 2.0)


def test_validate_returns_float():
    assert validate_judge_score("9.5") == 9.5
    assert validate_judge_score(0) == 0.0
    assert validate_judge_score(10) == 10.0


def test_counted_marks_are_summed_whole_by_hand():
    # FineDiving-style labels: only the counting awards. 8 + 8 + 8 = 24 x 3.4 = 81.60
    out = apply_panel_rule([8, 8, 8], "individual", 3.4, counted=True)
    assert (out.kept, out.dropped, out.kept_sum, out.final) == ([0, 1, 2], [], 24.0, 81.6)
    # 7 + 7 + 7.5 + 7.5 + 7 = 36 x 3.25 x 0.6 = 70.20
    out = apply_panel_rule([7, 7, 7.5, 7.5, 7], "synchronised", 3.25, counted=True)
    assert (out.dropped, out.multiplier, out.final) == ([], 0.6, 70.2)
    assert apply_panel_rule([8.5] * 3, "individual", 3.8, counted=True).final == 96.9  # exact, as a 7-judge 8.5 panel


def test_counting_marks_of_a_full_panel_by_hand_and_published():
    # drops J4 8 and J2 8.5 (the earlier 8.5) low, J1 and J3 (the earliest 9s) high: J5 J6 J7 count
    assert counting_marks([9, 8.5, 9, 8, 9, 8.5, 9], "individual") == (9, 8.5, 9)
    assert counting_marks([6.0, 5.5, 6.5, 7.0, 6.0], "individual") == (6.0, 6.5, 6.0)
    for dd, points, execution, synchro in SYNCHRO_BREAKDOWNS:
        kept = counting_marks(execution + synchro, "synchronised")
        assert len(kept) == 5 and apply_panel_rule(kept, "synchronised", dd, counted=True).final == points


def test_counted_marks_refusals_and_labels():
    with pytest.raises(RuleError, match="5 or 7 judges, not 3"):
        apply_panel_rule([8, 8, 8], "individual", 3.4)  # a full panel of 3 does not exist
    with pytest.raises(RuleError, match="individual events count 3 marks, not 7"):
        apply_panel_rule([8] * 7, "individual", 3.4, counted=True)
    with pytest.raises(RuleError, match="synchronised events count 5 marks, not 3"):
        apply_panel_rule([8] * 3, "synchronised", 3.4, counted=True)
    with pytest.raises(RuleError, match="C2.*off|C2.*half-point"):
        apply_panel_rule([8, 8.3, 8], "individual", 3.4, counted=True)
    assert judge_labels("individual", 3, counted=True) == ["C1", "C2", "C3"]
    assert judge_labels("synchronised", 5, counted=True) == ["C1", "C2", "C3", "C4", "C5"]
    assert (counted_event(3), counted_event(5)) == ("individual", "synchronised")
    with pytest.raises(RuleError, match="4 counted marks fit no event"):
        counted_event(4)


HALF_POINTS = st.integers(0, 20).map(lambda h: h / 2)


@given(st.sampled_from([("individual", 5), ("individual", 7), ("synchronised", 9), ("synchronised", 11)]).flatmap(
    lambda shape: st.tuples(st.just(shape[0]), st.lists(HALF_POINTS, min_size=shape[1], max_size=shape[1]))),
    st.sampled_from([1.2, 2.0, 3.1, 3.45, 4.1]))
def test_counted_rule_on_the_counting_marks_is_the_full_rule(panel, dd):
    event, scores = panel
    kept = counting_marks(scores, event)
    assert len(kept) == COUNTED_MARKS[event]
    assert apply_panel_rule(kept, event, dd, counted=True).final == apply_panel_rule(scores, event, dd).final


@pytest.mark.parametrize("event,panel", [("individual", 5), ("individual", 7), ("synchronised", 9), ("synchronised", 11)])
@pytest.mark.parametrize("dd", [1.2, 2.0, 3.4, 4.1])
def test_highest_points_is_what_the_rule_gives_a_panel_of_tens(event: str, panel: int, dd: float) -> None:
    from aqa_core.rules.panel import highest_points

    assert highest_points(dd) == apply_panel_rule([10.0] * panel, event, dd).final
    assert highest_points(3.4) == 102.0  # 3 x 10 x 3.4, by hand
