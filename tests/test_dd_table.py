"""The DD table: lookups, and a check against every real (dive number, DD) pair of MTL-AQA.

MTL-AQA mixes 10 m platform and 3 m springboard events and has no height column, so a pair is
"explained" when the table gives that DD for that dive from 3 m or 10 m. The pairs it cannot
explain are listed below with the reason; the test fails when the table explains fewer (a
regression) or more (update the list) pairs.
"""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from aqa_core.errors import RuleError
from aqa_core.paths import resource, shared_dir
from aqa_core.rules import HEIGHTS, difficulty, heights_with_difficulty, parse_dive, table_entries
from aqa_core.rules.dd_table import TABLE_PARTS

NOT_A_FINA_NUMBER = "third digit 0: not a FINA dive number (a mislabelled dive in the source)"
POSITION_NOT_LISTED = "the table has no entry for this position of the dive"
OTHER_EDITION = "DD of another FINA table edition, or a mistyped DD (table value differs at 3 m and 10 m)"

UNEXPLAINED = {
    ("100B", "1.5"): NOT_A_FINA_NUMBER,
    ("200B", "1.8"): NOT_A_FINA_NUMBER,
    ("200D", "1.8"): NOT_A_FINA_NUMBER,
    ("300B", "1.9"): NOT_A_FINA_NUMBER,
    ("300D", "1.9"): NOT_A_FINA_NUMBER,
    ("5251D", "2.6"): POSITION_NOT_LISTED,
    ("5255D", "3.6"): POSITION_NOT_LISTED,
    ("612D", "1.9"): POSITION_NOT_LISTED,
    ("614D", "2.4"): POSITION_NOT_LISTED,
    ("6241D", "2.7"): POSITION_NOT_LISTED,
    ("626D", "3.3"): POSITION_NOT_LISTED,
    ("627C", "3.3"): "armstand back 3½ somersaults is not in the table",
    ("6241C", "2.7"): OTHER_EDITION,
    ("102B", "1.9"): OTHER_EDITION,
    ("105B", "3.4"): OTHER_EDITION,
    ("107B", "2.7"): OTHER_EDITION,
    ("201B", "2.9"): OTHER_EDITION,
    ("207C", "3.5"): OTHER_EDITION,
    ("305B", "2.8"): OTHER_EDITION,
    ("305B", "2.9"): OTHER_EDITION,
    ("305C", "2.7"): OTHER_EDITION,
    ("307C", "3.3"): OTHER_EDITION,
    ("405C", "2.8"): OTHER_EDITION,
    ("5253B", "2.6"): OTHER_EDITION,
    ("5253B", "3.3"): OTHER_EDITION,
    ("5353B", "3.3"): OTHER_EDITION,
    ("6245D", "3.2"): OTHER_EDITION,
    ("626C", "3.2"): OTHER_EDITION,
    ("636C", "3.3"): OTHER_EDITION,
}


def _mtl_pairs() -> Counter:
    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared is absent")
    with (shared / "data" / "mtl_aqa" / "annotations.csv").open(newline="") as f:
        return Counter((row["dive_number"], row["difficulty"]) for row in csv.DictReader(f))


def _explaining_heights(code: str, dd: str) -> list[float]:
    try:
        return heights_with_difficulty(code, float(dd))
    except RuleError:
        return []


@pytest.mark.shared
def test_mtl_aqa_pairs_against_table():
    pairs = _mtl_pairs()
    report = {pair: _explaining_heights(*pair) for pair in pairs}
    unexplained = {pair for pair, heights in report.items() if not {3.0, 10.0} & set(heights)}
    assert unexplained == set(UNEXPLAINED), "\n".join(f"{p}: heights {report[p]}" for p in sorted(pairs))
    explained_dives = sum(n for pair, n in pairs.items() if pair not in unexplained)
    assert explained_dives == 1256  # of 1412; see resources/dd/README.md


@pytest.mark.shared
def test_documented_exceptions_really_are_exceptions():
    pairs = _mtl_pairs()
    for (code, dd), reason in UNEXPLAINED.items():
        assert (code, dd) in pairs, f"{code} {dd} no longer occurs in MTL-AQA"
        if reason == NOT_A_FINA_NUMBER:
            with pytest.raises(RuleError):
                parse_dive(code)
        elif reason == POSITION_NOT_LISTED:
            assert table_entries(code) == {}
        elif reason == OTHER_EDITION:
            entries = table_entries(code)
            assert {3.0, 10.0} & set(entries) and float(dd) not in (entries.get(3.0), entries.get(10.0))


def test_lookup_and_refusals():
    assert difficulty("107B", 10) == 3.0
    assert difficulty("107b", 3.0) == 3.1
    assert set(table_entries("109C")) <= set(HEIGHTS)
    assert heights_with_difficulty("107B", 3.1) == [3.0, 7.5]
    with pytest.raises(RuleError, match="not a FINA height"):
        difficulty("107B", 2)
    with pytest.raises(RuleError, match="not listed at any height"):
        difficulty("627C", 10)
    with pytest.raises(RuleError, match="dive number"):
        difficulty("1234", 10)


def test_every_csv_row_is_served_by_the_lookup():
    with resource(*TABLE_PARTS).open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) > 900
    seen = set()
    for row in rows:
        key = (parse_dive(row["dive"]).code, float(row["height_m"]))
        assert key not in seen, f"duplicate row {row}"
        seen.add(key)
        assert 1.0 <= float(row["dd"]) <= 5.0
        assert difficulty(row["dive"], float(row["height_m"])) == float(row["dd"])
