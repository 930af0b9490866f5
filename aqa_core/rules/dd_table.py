"""Degree of difficulty (DD) of a dive number from a given height, from the table in resources/dd/.

The DD depends on the dive number *and* the height (FINA publishes one column per height), so a
lookup without a height is refused rather than guessed. Where the table has no entry the judge
types the DD from the competition sheet (``make_dive_info(..., difficulty=...)``); that is also how
the fixed DD 2.0 of some synchronised rounds is entered. resources/dd/README.md says where the
values come from and how far they were checked against real competition labels.
"""

from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation
from functools import cache

from aqa_core.errors import RuleError
from aqa_core.paths import resource
from aqa_core.rules.dive_number import parse_dive

HEIGHTS = (1.0, 3.0, 5.0, 7.5, 10.0)
TABLE_PARTS = ("dd", "fina_dd_table.csv")
_COLUMNS = ["dive", "height_m", "dd"]


def validate_height(height: object) -> float:
    """A board or platform height in metres, one of HEIGHTS."""
    try:
        value = float(height)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RuleError(f"height {height!r} is not a number of metres") from None
    if value not in HEIGHTS:
        known = ", ".join(f"{h:g}" for h in HEIGHTS)
        raise RuleError(f"height {height!r} m is not a FINA height ({known} m)")
    return value


@cache
def _table() -> dict[str, dict[float, Decimal]]:
    """dive code -> {height: DD}, read once; a damaged file is named with its bad line."""
    path = resource(*TABLE_PARTS)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"DD table {path} cannot be read: {exc.strerror}") from None
    table: dict[str, dict[float, Decimal]] = {}
    with handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != _COLUMNS:
            raise RuleError(f"DD table {path}: header must be {','.join(_COLUMNS)}")
        for line, row in enumerate(reader, start=2):
            try:
                code = parse_dive(row["dive"]).code
                height = validate_height(row["height_m"])
                dd = Decimal(row["dd"])
            except (RuleError, InvalidOperation) as exc:
                raise RuleError(f"DD table {path}, line {line}: {exc}") from None
            table.setdefault(code, {})[height] = dd
    return table


def table_entries(code: str) -> dict[float, float]:
    """Every height the table lists for this dive number, with its DD (empty when none)."""
    dive = parse_dive(code)
    return {h: float(dd) for h, dd in sorted(_table().get(dive.code, {}).items())}


def difficulty(code: str, height: float) -> float:
    """DD of ``code`` from ``height`` m; RuleError when the number, height or entry is unknown."""
    dive = parse_dive(code)
    metres = validate_height(height)
    entries = _table().get(dive.code, {})
    if metres not in entries:
        listed = ", ".join(f"{h:g} m" for h in sorted(entries))
        where = f"it is listed only for {listed}" if listed else "it is not listed at any height"
        raise RuleError(
            f"no DD for {dive.code} from {metres:g} m in the DD table ({where}); "
            "enter the DD from the competition sheet"
        )
    return float(entries[metres])


def heights_with_difficulty(code: str, dd: float) -> list[float]:
    """Heights from which the table gives ``code`` exactly this DD (to check a labelled DD)."""
    target = Decimal(str(dd))
    dive = parse_dive(code)
    return [h for h, value in sorted(_table().get(dive.code, {}).items()) if value == target]
