"""From MUSDL judge paths to a panel's final score, with the spread propagated through the rule.

Which paths serve which panel: path k predicts the k-th smallest mark of the panel the model was
trained on. A 7-path model serving a 5-judge individual event uses the middle five paths (dropping
the strictest and the most lenient), the closest thing to a 5-judge panel drawn from the same seven
judges. Any other mismatch (fewer paths than judges; synchronised panels, whose execution and
synchronisation groups must each be modelled) is refused: we will not invent judges.

Expectation decoding gives marks off the half-point grid, which the official rule (rightly)
refuses. Which judges count depends only on the marks' order within each trimming group, so the
rule is run on the marks' dense ranks (as half points, which it accepts) to find the counting
judges, and the final score is the unrounded counting marks x DD x multiplier: the decoded final
stays continuous and the crossed-out judges are the truly highest and lowest. Argmax marks are on
the grid and go through the rule unchanged.

Counted marks (``"marks": "counted"`` in a model config): the paths are the awards that count,
3 in individual events and 5 in synchronised ones, as FineDiving labels them; path k is the k-th
smallest counting mark. Every panel of the event has that many counting awards, so such a model
serves any panel size of its own event, through the counted-marks rule (sum x DD, x 0.6
synchronised; nothing is dropped), and refuses the other event.

The final score's spread: each judge is sampled from its own distribution (independently; seeded
so the same dive always gets the same interval), every sampled panel goes through the official
rule, and the quantiles of those finals give the 95% interval.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aqa_core.decoding import estimate, estimate_from_samples, point, sample
from aqa_core.errors import ConfigError, RuleError
from aqa_core.result import DiveInfo, Estimate
from aqa_core.rules import apply_panel_rule, counted_event
from aqa_core.rules.panel_batch import panel_finals

MC_SAMPLES = 2000
MC_SEED = 0


MARKS = ("panel", "counted")  # what a model's judge paths stand for: a whole panel, or its counting awards


def counted_marks(config: Mapping[str, Any]) -> bool:
    """Whether a model config's judge paths are counted marks (``"marks": "counted"``), not a whole panel."""
    marks = config.get("marks", "panel")
    if marks not in MARKS:
        raise ConfigError(f"model marks {marks!r} is not 'panel' (a whole panel) or 'counted' (the counting marks only)")
    return marks == "counted"


def panel_paths(paths: int, dive: DiveInfo, counted: bool = False) -> list[int]:
    """Indices of the model's judge paths that stand for the ``dive.panel_size`` judges (or their counting marks)."""
    if counted:
        event = counted_event(paths)
        if dive.event != event:
            raise RuleError(f"this model predicts the {paths} counting marks of {event} events and cannot score a {dive.event} dive")
        return list(range(paths))
    panel = dive.panel_size
    if panel == paths:
        return list(range(paths))
    if dive.event == "individual" and panel < paths and (paths - panel) % 2 == 0:
        skip = (paths - panel) // 2
        return list(range(skip, skip + panel))
    raise RuleError(
        f"this model predicts {paths} judges and cannot score a {panel}-judge {dive.event} panel; "
        f"use a model trained with {panel} judge paths"
    )


@dataclass(frozen=True)
class PanelOutcome:
    dropped: list[int]  # panel positions the rule cancels
    final: float


def rule_on_marks(marks: Sequence[float], dive: DiveInfo, counted: bool = False) -> PanelOutcome:
    """The diving rule on decoded marks, which may lie off the half-point grid (see module docstring)."""
    if all(m * 2 == round(m * 2) for m in marks):
        outcome = apply_panel_rule(marks, dive.event, dive.difficulty, counted)
        return PanelOutcome(outcome.dropped, outcome.final)
    ranks = np.unique(marks, return_inverse=True)[1] / 2.0  # dense ranks from 0 (scipy.stats.rankdata's "dense" minus one)
    outcome = apply_panel_rule(ranks.tolist(), dive.event, dive.difficulty, counted)
    final = sum(marks[i] for i in outcome.kept) * dive.difficulty * outcome.multiplier
    return PanelOutcome(outcome.dropped, round(final, 2))


@dataclass(frozen=True)
class PanelEstimate:
    judges: list[Estimate]
    dropped: list[bool]
    final: Estimate


def ordered(judges: Sequence[Estimate]) -> list[Estimate]:
    """The paths' estimates rearranged so that path k is the k-th smallest mark, as the paths are trained.

    Path k learns the k-th smallest mark (the seed sorts each panel ascending), but each path
    is decoded on its own, so an uncertain dive can give path 2 a lower mark than path 1.
    Sorting each location (point, mean, interval ends) across the paths, the monotone
    rearrangement, restores the order the paths stand for and never moves the marks farther
    (in any Lp distance) from the sorted true panel (Chernozhukov, Fernandez-Val and Galichon
    2009). Spread and entropy stay with their path: they are what path k says about the k-th mark.
    """
    locations = ("score", "expectation", "low", "high")
    columns = {f: sorted(getattr(j, f) for j in judges) for f in locations}
    return [dataclasses.replace(j, **{f: columns[f][k] for f in locations}) for k, j in enumerate(judges)]


def panel_estimate(dists: np.ndarray, values: np.ndarray, dive: DiveInfo, decoding: str, counted: bool = False) -> PanelEstimate:
    """``dists``: ``(panel, bins)`` probabilities of the serving paths, in panel order."""
    judges = [estimate(d, values, decoding) for d in dists]
    # A synchronised panel's positions are its judge groups: keep them. Counted marks are ascending, as individual paths.
    if dive.event == "individual" or counted:
        judges = ordered(judges)
    outcome = rule_on_marks([j.score for j in judges], dive, counted)
    return PanelEstimate(
        judges=judges,
        dropped=[i in outcome.dropped for i in range(len(judges))],
        final=estimate_from_samples(rule_draws(dists, values, dive, counted=counted), outcome.final),
    )


def clip_final(dists: np.ndarray, values: np.ndarray, dive: DiveInfo, decoding: str, counted: bool = False) -> float:
    """One clip's own final score: its decoded marks through the rule."""
    return rule_on_marks([point(d, values, decoding) for d in dists], dive, counted).final


def rule_draws(dists: np.ndarray, values: np.ndarray, dive: DiveInfo, n: int = MC_SAMPLES, counted: bool = False) -> np.ndarray:
    """``n`` final scores of panels sampled from the judge distributions."""
    draws = sample(dists, values, n, np.random.default_rng(MC_SEED))
    return panel_finals(draws, dive.event, dive.difficulty, counted)
