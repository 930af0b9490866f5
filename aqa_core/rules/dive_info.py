"""The dive sheet of one dive (event, panel, number, height, DD) checked once, for every consumer."""

from __future__ import annotations

from aqa_core.errors import RuleError
from aqa_core.result import DiveInfo
from aqa_core.rules.dd_table import difficulty as table_difficulty
from aqa_core.rules.dd_table import validate_height
from aqa_core.rules.dive_number import parse_dive
from aqa_core.rules.panel import normalise_event, panel_layout, validate_difficulty


def make_dive_info(
    event: str,
    panel_size: int,
    dive_number: str | None,
    height: float | None,
    difficulty: float | None,
) -> DiveInfo:
    """Validate a dive sheet; the DD is looked up from number and height when not given.

    A given DD wins over the table: competitions publish the DD on the sheet, synchronised rounds
    may carry a fixed DD of 2.0, and table editions differ, so the sheet is the authority.
    """
    event = normalise_event(event)
    panel_layout(event, panel_size)
    dive = parse_dive(dive_number) if dive_number is not None else None
    metres = validate_height(height) if height is not None else None
    if difficulty is not None:
        dd = float(validate_difficulty(difficulty))
    elif dive is not None and metres is not None:
        dd = table_difficulty(dive.code, metres)
    else:
        raise RuleError("give the DD, or the dive number and the height to look it up")
    return DiveInfo(
        event=event,
        panel_size=panel_size,
        dive_number=dive.code if dive else None,
        height=metres,
        difficulty=dd,
        description=dive.describe() if dive else None,
    )
