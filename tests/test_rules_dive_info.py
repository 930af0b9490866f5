"""Dive sheets: DD looked up or given, everything validated."""

from __future__ import annotations

import pytest

from aqa_core.errors import RuleError
from aqa_core.result import DiveInfo
from aqa_core.rules import difficulty, make_dive_info


def test_dd_looked_up_from_number_and_height():
    info = make_dive_info("individual", 7, "5253b", 10, None)
    assert isinstance(info, DiveInfo)
    assert info.dive_number == "5253B"
    assert info.height == 10.0
    assert info.difficulty == difficulty("5253B", 10)
    assert info.description == "Back 2½ somersaults 1½ twists, pike"


def test_given_dd_wins_including_fixed_synchro_dd():
    info = make_dive_info("synchronised", 11, "5253B", 3, 2.0)
    assert info.difficulty == 2.0
    assert info.event == "synchronised"
    bare = make_dive_info("synchronized", 9, None, None, "3.3")
    assert (bare.dive_number, bare.height, bare.description, bare.difficulty) == (None, None, None, 3.3)


def test_refusals():
    with pytest.raises(RuleError, match="give the DD"):
        make_dive_info("individual", 7, "107B", None, None)
    with pytest.raises(RuleError, match="not 9"):
        make_dive_info("individual", 9, "107B", 10, None)
    with pytest.raises(RuleError, match="FINA height"):
        make_dive_info("individual", 7, "107B", 12, None)
    with pytest.raises(RuleError, match="greater than 0"):
        make_dive_info("individual", 7, "107B", 10, -3.0)
    with pytest.raises(RuleError, match="group 8"):
        make_dive_info("individual", 7, "807B", 10, 3.0)
    with pytest.raises(RuleError, match="no DD for 5253B from 1 m"):
        make_dive_info("individual", 5, "5253B", 1, None)
