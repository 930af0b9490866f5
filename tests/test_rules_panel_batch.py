"""The many-panels rule (aqa_core/rules/panel_batch.py) against the one-panel rule, row by row, and the interval draws built on it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aqa_core.decoding import sample
from aqa_core.errors import RuleError
from aqa_core.heads import panel
from aqa_core.result import DiveInfo
from aqa_core.rules import COUNTED_MARKS, PANEL_SIZES, apply_panel_rule
from aqa_core.rules.panel_batch import panel_finals

SHAPES = [(event, size, False) for event, sizes in PANEL_SIZES.items() for size in sizes]
SHAPES += [(event, marks, True) for event, marks in COUNTED_MARKS.items()]
# Typed DDs with more than one decimal make the rounding to the cent matter (2.25 x 0.6, 1.005).
DDS = st.sampled_from(["1.2", "2.0", "3.1", "3.45", "4.1", "2.25", "1.005", "3.333"]).map(float)


@st.composite
def panels(draw: st.DrawFn) -> tuple[str, bool, np.ndarray]:
    """Rows of half-point awards for one panel shape; a narrow range of awards makes ties common."""
    event, size, counted = draw(st.sampled_from(SHAPES))
    low = draw(st.integers(0, 20))
    high = draw(st.integers(low, min(20, low + draw(st.sampled_from([1, 3, 20])))))
    rows = draw(st.lists(st.lists(st.integers(low, high), min_size=size, max_size=size), min_size=1, max_size=30))
    return event, counted, np.array(rows) / 2


@given(panels(), DDS)
def test_every_row_gets_the_one_panel_rules_final(shape: tuple[str, bool, np.ndarray], dd: float) -> None:
    event, counted, rows = shape
    expected = [apply_panel_rule(row.tolist(), event, dd, counted).final for row in rows]
    assert panel_finals(rows, event, dd, counted).tolist() == expected


def test_a_bad_award_is_refused_as_the_one_panel_rule_refuses_it() -> None:
    rows = np.array([[7.0] * 7, [7.0, 7.0, 8.3, 7.0, 7.0, 7.0, 7.0]])
    with pytest.raises(RuleError, match=r"^J3: judge score 8.3 is not on the half-point grid"):
        panel_finals(rows, "individual", 2.0)
    with pytest.raises(RuleError, match="outside 0-10"):
        panel_finals(np.array([[7.0] * 10 + [10.5]]), "synchronised", 2.0)
    with pytest.raises(RuleError, match="judged by 5 or 7 judges, not 6"):
        panel_finals(np.full((3, 6), 7.0), "individual", 2.0)
    with pytest.raises(RuleError, match="panels x judges"):
        panel_finals(np.full(7, 7.0), "individual", 2.0)
    with pytest.raises(RuleError, match="must be greater than 0"):
        panel_finals(np.full((1, 7), 7.0), "individual", 0)


@pytest.mark.parametrize(("event", "size", "counted"), SHAPES)
def test_the_interval_draws_are_the_rule_on_the_same_seeded_panels(event: str, size: int, counted: bool) -> None:
    values = np.arange(21) / 2
    rng = np.random.default_rng(size)
    dists = rng.dirichlet(np.full(21, 0.3), size=size)
    dive = DiveInfo(event=event, panel_size=size, dive_number=None, height=None, difficulty=3.2)
    draws = sample(dists, values, panel.MC_SAMPLES, np.random.default_rng(panel.MC_SEED))
    expected = [apply_panel_rule(row.tolist(), event, 3.2, counted).final for row in draws]
    assert panel.rule_draws(dists, values, dive, counted=counted).tolist() == expected
