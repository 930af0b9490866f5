"""Do a dive's final score, judge scores and DD agree with the diving rule?

Real releases carry transcription slips (MTL-AQA has 30 dives whose final score is not what the
7-judge rule gives from their marks). Such a dive is a ``Problem``: listed, left out of training
by default, refused with ``strict``, and never repaired: we cannot know which number is wrong.
"""

from __future__ import annotations

from collections.abc import Callable

from aqa_core.errors import DatasetError, RuleError
from aqa_core.rules import apply_panel_rule

from .base import LABEL, DiveRecord, Problem


def rule_final(record: DiveRecord) -> float | None:
    """The final score the rule gives from the record's marks and DD; None without them."""
    if record.judge_scores is None or record.difficulty is None:
        return None
    return apply_panel_rule(record.judge_scores, record.event, record.difficulty, counted=record.judges_counted).final


def rule_problem(record: DiveRecord) -> str | None:
    """Why the record's labels contradict the rule, or None when they agree (to the cent)."""
    try:
        expected = rule_final(record)
    except RuleError as exc:
        return f"judge scores {list(record.judge_scores or ())} cannot be scored: {exc}"
    if expected is None or f"{expected:.2f}" == f"{record.final_score:.2f}":
        return None
    return f"final score {record.final_score:g} contradicts judges x DD ({expected:.2f} by the rule)"


def checked_labels(name: str, split: str, read: Callable[[], DiveRecord]) -> tuple[DiveRecord | None, list[Problem]]:
    """The record ``read`` makes of one dive's labels, and every label problem: a value refused, or the rule contradicted.

    The record is returned even when the rule contradicts it, so the reader still checks its pixels
    and ``dataset check`` lists all that is wrong with the dive at once.
    """
    try:
        record = read()
    except DatasetError as exc:
        return None, [Problem(name, str(exc), LABEL, split)]
    mismatch = rule_problem(record)
    return record, [Problem(name, mismatch, LABEL, split)] if mismatch else []
