"""FINA dive numbers: parse, validate and say them in words.

FINA rule D 1.5 designates every dive by 3 or 4 digits and a position letter:

* groups 1-4 (forward, back, reverse, inward): ``G F S P`` - group, flying digit (0 or 1),
  half somersaults, position; e.g. 107B, 113C.
* group 5 (twisting): ``5 D S T P`` - direction 1-4 (forward, back, reverse, inward), half
  somersaults, half twists; e.g. 5253B = back 2½ somersaults 1½ twists, pike.
* group 6 (armstand): ``6 D S P`` or ``6 D S T P`` - direction 1-3 (forward, back, reverse), half
  somersaults, optional half twists; e.g. 626B, 6243D. 600A is the armstand dive itself (no
  direction, no somersault).
* position: A straight, B pike, C tuck, D free.

A judge types the number, so every refusal names the code and the digit that is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aqa_core.errors import RuleError

GROUPS = {1: "forward", 2: "back", 3: "reverse", 4: "inward", 5: "twisting", 6: "armstand"}
DIRECTIONS = {1: "forward", 2: "back", 3: "reverse", 4: "inward"}
ARMSTAND_DIRECTIONS = (1, 2, 3)
POSITIONS = {"A": "straight", "B": "pike", "C": "tuck", "D": "free"}

_SHAPE = re.compile(r"^(\d{3,4})([A-Za-z])$")


@dataclass(frozen=True)
class DiveNumber:
    code: str  # normalised, e.g. "5253B"
    group: int  # 1-6
    second_digit: int  # flying digit (0/1) in groups 1-4, direction in groups 5 and 6
    half_somersaults: int
    half_twists: int  # 0 when the dive has no twist
    position: str  # A, B, C or D

    @property
    def flying(self) -> bool:
        return self.group <= 4 and self.second_digit == 1

    @property
    def direction(self) -> int:
        """Rotation direction 1-4 (forward, back, reverse, inward) whatever the group; 0 for 600."""
        return self.group if self.group <= 4 else self.second_digit

    @property
    def somersaults(self) -> float:
        return self.half_somersaults / 2

    @property
    def twists(self) -> float:
        return self.half_twists / 2

    def describe(self) -> str:
        """E.g. "Back 2½ somersaults 1½ twists, pike", "Armstand back 2 somersaults, pike"."""
        if self.group == 6 and self.half_somersaults == 0:
            return f"Armstand dive, {POSITIONS[self.position]}"
        words = [DIRECTIONS[self.direction].capitalize()]
        if self.group == 6:
            words = ["Armstand", DIRECTIONS[self.direction]]
        if self.flying:
            words.append("flying")
        if self.half_somersaults == 1 and self.group != 6:
            words.append("dive")
        else:
            words.append(_count(self.half_somersaults, "somersault"))
        if self.half_twists:
            words.append(_count(self.half_twists, "twist"))
        return f"{' '.join(words)}, {POSITIONS[self.position]}"


def _count(halves: int, noun: str) -> str:
    whole, half = divmod(halves, 2)
    number = ("" if whole == 0 else str(whole)) + ("½" if half else "")
    return f"{number} {noun}" + ("" if halves <= 2 else "s")


def parse_dive(code: str) -> DiveNumber:
    """Parse a FINA dive number; RuleError naming the code and the reason when it is not one."""
    text = str(code).strip().upper()
    match = _SHAPE.match(text)
    if not match:
        raise RuleError(f"dive number {code!r} is not 3 or 4 digits followed by a position letter (e.g. 107B, 5253B)")
    digits = [int(d) for d in match.group(1)]
    position = match.group(2)

    def refuse(reason: str) -> RuleError:
        return RuleError(f"dive number {text}: {reason}")

    if position not in POSITIONS:
        raise refuse(f"position {position} is not A (straight), B (pike), C (tuck) or D (free)")
    group = digits[0]
    if group not in GROUPS:
        raise refuse(f"group {group} is not 1-6 (forward, back, reverse, inward, twisting, armstand)")
    second = digits[1]
    if group <= 4:
        if len(digits) != 3:
            raise refuse(f"{GROUPS[group]} dives have 3 digits; twisting dives start with 5")
        if second not in (0, 1):
            raise refuse(f"the second digit of a {GROUPS[group]} dive is the flying digit, 0 or 1, not {second}")
        half_twists = 0
    elif group == 5:
        if len(digits) != 4:
            raise refuse("twisting dives have 4 digits: 5, direction, half somersaults, half twists")
        if second not in DIRECTIONS:
            raise refuse(f"direction {second} of a twisting dive is not 1-4 (forward, back, reverse, inward)")
        half_twists = digits[3]
    elif digits == [6, 0, 0]:
        half_twists = 0
    else:
        if second not in ARMSTAND_DIRECTIONS:
            raise refuse(f"direction {second} of an armstand dive is not 1-3 (forward, back, reverse)")
        half_twists = digits[3] if len(digits) == 4 else 0
    half_somersaults = digits[2]
    if half_somersaults == 0 and digits != [6, 0, 0]:
        raise refuse("the third digit (half somersaults) is 0; only the armstand dive 600 has none")
    if len(digits) == 4 and half_twists == 0:
        raise refuse("the fourth digit (half twists) is 0; leave it out for a dive without twist")
    return DiveNumber(
        code=text,
        group=group,
        second_digit=second,
        half_somersaults=half_somersaults,
        half_twists=half_twists,
        position=position,
    )
