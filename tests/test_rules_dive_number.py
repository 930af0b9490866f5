"""FINA dive numbers: parsing, words, refusals."""

from __future__ import annotations

import pytest

from aqa_core.errors import RuleError
from aqa_core.rules import parse_dive


@pytest.mark.parametrize(
    "code, words",
    [
        ("5253B", "Back 2½ somersaults 1½ twists, pike"),
        ("109C", "Forward 4½ somersaults, tuck"),
        ("624B", "Armstand back 2 somersaults, pike"),
        ("6243D", "Armstand back 2 somersaults 1½ twists, free"),
        ("113C", "Forward flying 1½ somersaults, tuck"),
        ("101A", "Forward dive, straight"),
        ("5111A", "Forward dive ½ twist, straight"),
        ("5132D", "Forward 1½ somersaults 1 twist, free"),
        ("612B", "Armstand forward 1 somersault, pike"),
        ("402C", "Inward 1 somersault, tuck"),
        ("600A", "Armstand dive, straight"),
    ],
)
def test_describe(code, words):
    assert parse_dive(code).describe() == words


def test_fields():
    dive = parse_dive(" 5253b ")
    assert (dive.code, dive.group, dive.second_digit, dive.half_somersaults, dive.half_twists, dive.position) == (
        "5253B", 5, 2, 5, 3, "B")
    assert dive.direction == 2 and not dive.flying
    assert dive.somersaults == 2.5 and dive.twists == 1.5
    flying = parse_dive("215C")
    assert flying.flying and flying.direction == 2 and flying.half_twists == 0
    assert parse_dive("307C").direction == 3


@pytest.mark.parametrize(
    "code, reason",
    [
        ("7253B", "group 7"),
        ("107E", "position E"),
        ("127B", "flying digit"),
        ("1073B", "3 digits"),
        ("525B", "4 digits"),
        ("5553B", "direction 5"),
        ("6453B", "direction 4"),
        ("100B", "half somersaults"),
        ("5250B", "half twists"),
        ("B107", "3 or 4 digits"),
        ("", "3 or 4 digits"),
    ],
)
def test_invalid_codes_refused_with_reason(code, reason):
    with pytest.raises(RuleError, match=reason):
        parse_dive(code)
