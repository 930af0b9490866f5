"""Diving rules: judge panels and drop rules, FINA dive numbers, the DD table, dive sheets."""

from aqa_core.rules.dd_table import HEIGHTS, difficulty, heights_with_difficulty, table_entries, validate_height
from aqa_core.rules.dive_info import make_dive_info
from aqa_core.rules.dive_number import DiveNumber, parse_dive
from aqa_core.rules.panel import (
    COUNTED_MARKS,
    EVENTS,
    PANEL_SIZES,
    RuleOutcome,
    apply_panel_rule,
    counted_event,
    counting_marks,
    judge_labels,
    normalise_event,
    validate_difficulty,
    validate_judge_score,
)

__all__ = [
    "COUNTED_MARKS",
    "EVENTS",
    "HEIGHTS",
    "PANEL_SIZES",
    "DiveNumber",
    "RuleOutcome",
    "apply_panel_rule",
    "counted_event",
    "counting_marks",
    "difficulty",
    "heights_with_difficulty",
    "judge_labels",
    "make_dive_info",
    "normalise_event",
    "parse_dive",
    "table_entries",
    "validate_difficulty",
    "validate_height",
    "validate_judge_score",
]
