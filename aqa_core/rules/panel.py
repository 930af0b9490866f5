"""Judge panels and drop rules: which awards count and what the dive is worth.

Panel composition follows FINA rule D 5.2 (https://www.fina.org/content/d-5-competition-procedure):
individual events use 7 judges (5 outside Olympic Games, World Championships and World Cups);
synchronised events use 11 judges (3 execution judges per diver and 5 synchronisation judges) or
9 judges (2 execution judges per diver and 5 synchronisation judges).

Counting awards (the individual and 11-judge rules as described e.g. by
https://www.nbcolympics.com/news/diving-101-olympic-scoring-rules-and-regulations; the 11-judge
layout is also checked against published synchronised breakdowns in tests/test_rules_panel.py):

* 7 judges: the 2 highest and 2 lowest awards are cancelled, 3 remain.
* 5 judges: the highest and lowest awards are cancelled, 3 remain.
* 11 judges (E1 E2 E3 diver A, E4 E5 E6 diver B, S1..S5): the highest and lowest execution award
  of *each diver* are cancelled (1 + 1 remain), and the highest and lowest synchronisation awards
  are cancelled (3 remain).
* 9 judges (E1 E2 diver A, E3 E4 diver B, S1..S5): two awards per diver cannot lose both a high and
  a low, so the highest and lowest of the four execution awards are cancelled together (2 remain),
  and the highest and lowest synchronisation awards are cancelled (3 remain). This is our reading
  of "execution and synchronisation are trimmed separately so 5 awards count"; no verbatim FINA
  text for the 9-judge case was found.

The sum of the counting awards is multiplied by the DD, and by 0.6 in synchronised events so the
five counting awards land on the same scale as an individual event's three.

Counted marks: some labels hold only the awards that count, not the whole panel (FineDiving's
``judge_scores``: 3 in individual events, 5 in synchronised ones), and a model trained on them
predicts those marks only. ``counted=True`` is that panel kind: exactly ``COUNTED_MARKS[event]``
marks, none cancelled (they already are what is left after cancelling), so the final is their sum
x DD (x 0.6 synchronised) with the same exact arithmetic. Every full panel has that many counting
awards (7 or 5 judges keep 3; 11 or 9 keep 5), which ``counting_marks`` picks by the rule above.
Counted marks are labelled C1.. : they are not panel positions (which judge gave them is unknown).

Arithmetic is exact: awards are counted in integer half points and the DD is a ``Decimal`` parsed
from its shortest decimal form, so 26.5 x 3.8 is 100.70 and not 100.69999999999999. With a
one-decimal DD every result already has at most two decimals; anything finer (a typed DD such as
2.25) is rounded half-up to the cent.

Ties: within a trimming group the awards are ordered by (value, judge position) and the lowest ones
are dropped from the front of that order; the highest ones are then dropped from the remaining
awards ordered by (-value, judge position). So among equal awards the judge sitting earlier in the
panel is the one crossed out, at either end. ``RuleOutcome.dropped`` reports exactly those
positions, so the app crosses out the same judges every time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from aqa_core.errors import RuleError

EVENTS = ("individual", "synchronised")
PANEL_SIZES = {"individual": (5, 7), "synchronised": (9, 11)}
COUNTED_MARKS = {"individual": 3, "synchronised": 5}  # awards that count, whatever the panel size
SYNCHRO_MULTIPLIER = Decimal("0.6")
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class TrimGroup:
    """Judges (0-based panel positions) trimmed together, and how many awards drop at each end."""

    members: tuple[int, ...]
    drop_each_end: int


@dataclass(frozen=True)
class RuleOutcome:
    kept: list[int]  # 0-based panel positions of the counting awards, ascending
    dropped: list[int]  # 0-based panel positions of the cancelled awards, ascending
    kept_sum: float  # sum of the counting awards
    multiplier: float  # 1.0 individual, 0.6 synchronised
    final: float  # kept_sum x DD x multiplier, to the cent


def panel_layout(event: str, panel_size: int, counted: bool = False) -> tuple[TrimGroup, ...]:
    """The trimming groups of a panel; RuleError for a panel size the event does not use.

    A panel of counted marks is one group from which nothing is cancelled.
    """
    event = normalise_event(event)
    if counted:
        if panel_size != COUNTED_MARKS[event]:
            raise RuleError(f"{event} events count {COUNTED_MARKS[event]} marks, not {panel_size}")
        return (TrimGroup(tuple(range(panel_size)), 0),)
    if panel_size not in PANEL_SIZES[event]:
        allowed = " or ".join(str(n) for n in PANEL_SIZES[event])
        raise RuleError(f"{event} events are judged by {allowed} judges, not {panel_size}")
    if panel_size == 7:
        return (TrimGroup(tuple(range(7)), 2),)
    if panel_size == 5:
        return (TrimGroup(tuple(range(5)), 1),)
    if panel_size == 11:  # execution diver A, execution diver B, synchronisation
        return (
            TrimGroup((0, 1, 2), 1),
            TrimGroup((3, 4, 5), 1),
            TrimGroup(tuple(range(6, 11)), 1),
        )
    return (  # 9 judges: execution (both divers), synchronisation
        TrimGroup((0, 1, 2, 3), 1),
        TrimGroup(tuple(range(4, 9)), 1),
    )


def counted_event(marks: int) -> str:
    """The event whose counting awards number ``marks`` (3: individual, 5: synchronised)."""
    for event, count in COUNTED_MARKS.items():
        if count == marks:
            return event
    raise RuleError(f"{marks} counted marks fit no event (individual events count 3, synchronised 5)")


def judge_labels(event: str, panel_size: int, counted: bool = False) -> list[str]:
    """Display names of the panel positions: J1..J7, or E1..E6 then S1..S5 in synchronised events.

    Counted marks are C1..C3 (C1..C5 synchronised): the counting awards, not judges' seats.
    """
    if counted:
        panel_layout(event, panel_size, counted=True)  # refuses a count the event does not have
        return [f"C{i + 1}" for i in range(panel_size)]
    if normalise_event(event) == "individual":
        return [f"J{i + 1}" for i in range(panel_size)]
    executions = panel_size - 5
    return [f"E{i + 1}" for i in range(executions)] + [f"S{i + 1}" for i in range(5)]


def normalise_event(event: str) -> str:
    """Accept the American spelling too; refuse anything else by name."""
    text = str(event).strip().lower()
    if text == "synchronized":
        text = "synchronised"
    if text not in EVENTS:
        raise RuleError(f"unknown event {event!r}; use 'individual' or 'synchronised'")
    return text


def validate_judge_score(x: object) -> float:
    """One award: a number from 0 to 10 in half points (FINA D 5.1.4); returns it as a float."""
    try:
        value = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RuleError(f"judge score {x!r} is not a number") from None
    if not math.isfinite(value) or not 0.0 <= value <= 10.0:
        raise RuleError(f"judge score {x!r} is outside 0-10")
    if value * 2 != round(value * 2):
        raise RuleError(f"judge score {x!r} is not on the half-point grid (0, 0.5, ..., 10)")
    return value


def validate_difficulty(difficulty: object) -> Decimal:
    """A DD as an exact Decimal; RuleError when it is not a positive number."""
    try:
        value = Decimal(str(difficulty).strip())
    except (InvalidOperation, ValueError):
        raise RuleError(f"degree of difficulty {difficulty!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise RuleError(f"degree of difficulty {difficulty!r} must be greater than 0")
    return value


def _trim(group: TrimGroup, halves: Sequence[int]) -> list[int]:
    """Positions dropped in one group, with the tie convention of the module docstring."""
    ascending = sorted(group.members, key=lambda i: (halves[i], i))
    low = ascending[: group.drop_each_end]
    rest = [i for i in group.members if i not in low]
    high = sorted(rest, key=lambda i: (-halves[i], i))[: group.drop_each_end]
    return low + high


def _counting(scores: Sequence[float], event: str, counted: bool) -> tuple[list[int], list[int], list[int]]:
    """Each award in half points, and the positions the rule cancels and keeps."""
    groups = panel_layout(event, len(scores), counted)
    labels = judge_labels(event, len(scores), counted)
    halves = []
    for label, score in zip(labels, scores):
        try:
            halves.append(int(validate_judge_score(score) * 2))
        except RuleError as exc:
            raise RuleError(f"{label}: {exc}") from None
    dropped = sorted(i for group in groups for i in _trim(group, halves))
    return halves, dropped, [i for i in range(len(scores)) if i not in dropped]


def counting_marks(scores: Sequence[float], event: str) -> tuple[float, ...]:
    """The awards of a full panel that count, in panel order: what a counted-marks label holds."""
    _, _, kept = _counting(scores, normalise_event(event), counted=False)
    return tuple(float(scores[i]) for i in kept)


def apply_panel_rule(scores: Sequence[float], event: str, difficulty: float, counted: bool = False) -> RuleOutcome:
    """Cancel the awards the rules cancel and compute the dive's points.

    ``counted``: the scores are already the counting awards (see the module docstring).
    """
    event = normalise_event(event)
    halves, dropped, kept = _counting(scores, event, counted)
    dd = validate_difficulty(difficulty)
    kept_halves = sum(halves[i] for i in kept)
    multiplier = SYNCHRO_MULTIPLIER if event == "synchronised" else Decimal(1)
    return RuleOutcome(kept=kept, dropped=dropped, kept_sum=kept_halves / 2, multiplier=float(multiplier), final=points(kept_halves, dd, event))


def highest_points(difficulty: float) -> float:
    """The most a dive of this DD can score: every counting award a 10. The counting awards' sum is at
    most 30 in every event (three marks individual; 0.6 x five synchronised), so 30 x DD."""
    return points(60, validate_difficulty(difficulty), "individual")


def points(kept_halves: int, dd: Decimal, event: str) -> float:
    """The dive's points from the counting awards' sum in half points: sum x DD (x 0.6 synchronised), exact, to the cent.

    Shared by ``apply_panel_rule`` and the many-panels rule (aqa_core/rules/panel_batch.py), so both do the same arithmetic.
    """
    multiplier = SYNCHRO_MULTIPLIER if event == "synchronised" else Decimal(1)
    return float((Decimal(kept_halves) / 2 * dd * multiplier).quantize(_CENT, rounding=ROUND_HALF_UP))
