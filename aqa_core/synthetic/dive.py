"""``generate_dive``: one procedurally rendered dive with its faults, quality, judges and score.

The seed is split into independent streams (which dive, faults, judges, look and camera), so
fixing a fault by hand leaves the rest of the video and the judges' noise unchanged: a test can
compare the same dive done well and done badly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from aqa_core.errors import RuleError
from aqa_core.rules import apply_panel_rule, difficulty, heights_with_difficulty, parse_dive, table_entries
from aqa_core.synthetic.faults import commentary, quality_from_faults, sample_faults, validate_faults
from aqa_core.synthetic.judges import JudgeModel, default_judge_model
from aqa_core.synthetic.motion import choreograph
from aqa_core.synthetic.render import Look, Renderer, Scene, Venue

FPS = 30.0
FRAME_RANGE = (103, 120)  # like the MTL-AQA dive windows
DEFAULT_SIZE = (320, 240)
HEIGHT_PREFERENCE = (10.0, 3.0, 7.5, 5.0, 1.0)  # MTL-AQA is 10 m platform and 3 m springboard


@dataclass(frozen=True)
class SyntheticDive:
    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    fps: float
    dive_number: str
    height: float
    difficulty: float
    quality: float  # latent execution quality in [0, 1] (see faults.quality_from_faults)
    faults: dict[str, float]
    over_rotated: bool  # the sign of the rotation fault
    panel_mean: float  # the latent mean the judges scatter around
    judge_scores: list[float]  # seven judges, half points
    final_score: float  # by the diving rule (drop 2 high, 2 low, sum x DD)
    commentary: str
    description: str  # e.g. "Back 2½ somersaults 1½ twists, pike"
    takeoff_frame: int  # last frame on the board or platform
    entry_frame: int  # first frame touching the water


def preferred_height(code: str, labelled_dd: float | None = None) -> float | None:
    """The height to dive ``code`` from: one whose DD matches the label, else the most common known one.

    None when the DD table does not know the dive (or it is not a valid number: real labels
    contain a few transcription errors such as 300D).
    """
    try:
        matching = heights_with_difficulty(code, labelled_dd) if labelled_dd is not None else []
        known = matching or list(table_entries(code))
    except RuleError:
        return None
    return next((h for h in HEIGHT_PREFERENCE if h in known), None)


def dive_menu(model: JudgeModel) -> tuple[list[tuple[str, float]], np.ndarray]:
    return _menu(tuple((entry["dive_number"], entry["difficulty"], entry["count"]) for entry in model.dive_mix))


@lru_cache(maxsize=4)
def _menu(dive_mix: tuple[tuple[str, float, int], ...]) -> tuple[list[tuple[str, float]], np.ndarray]:
    """(dive number, height) pairs with real-world frequencies, from the MTL-AQA mix.

    The height is the one whose DD in our table matches the labelled DD (so 407C at 3.2 is the
    3 m dive), else the first height the table knows; dives the table lacks are left out.
    """
    weights: dict[tuple[str, float], float] = {}
    for code, labelled_dd, count in dive_mix:
        height = preferred_height(code, labelled_dd)
        if height is not None:
            key = (parse_dive(code).code, height)
            weights[key] = weights.get(key, 0.0) + count
    menu = sorted(weights)
    counts = np.array([weights[k] for k in menu])
    return menu, counts / counts.sum()


def generate_dive(
    seed: int,
    dive_number: str | None = None,
    height: float | None = None,
    faults: dict[str, float] | None = None,
    over_rotated: bool | None = None,
    size: tuple[int, int] = DEFAULT_SIZE,
    n_frames: int | None = None,
    camera_noise: float | None = None,
    judge_model: JudgeModel | None = None,
    venue: Venue | None = None,
) -> SyntheticDive:
    """Render one dive deterministically from ``seed``; unspecified choices are drawn from it.

    ``faults`` may name only some faults (the rest are 0); ``None`` draws all of them from the
    prior. ``size`` is (width, height). ``n_frames`` (default: drawn from 103-120) is raised when
    the dive needs more (stand, take-off, flight and a settled splash: 75-95 frames). ``venue``
    (default: drawn from the seed) is the hall and camera; ``camera_noise`` overrides its noise. Raises
    RuleError for a dive number or height the DD table does not know.
    """
    model = judge_model or default_judge_model()
    choice_rng, fault_rng, judge_rng, look_rng, camera_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)
    )
    if dive_number is None:
        menu, weights = dive_menu(model)
        if height is not None:  # only the dives the real mix performs from that height
            weights = np.array([w if h == height else 0.0 for (_, h), w in zip(menu, weights)])
            if not weights.any():
                raise RuleError(f"the real dive mix has no dives from {height:g} m; give a dive number")
            weights = weights / weights.sum()
        dive_number, height = menu[int(choice_rng.choice(len(menu), p=weights))]
    dive = parse_dive(dive_number)
    if height is None:
        height = preferred_height(dive.code)
        if height is None:
            raise RuleError(f"no DD for {dive.code} at any height in the DD table; give the height")
    dd = difficulty(dive.code, height)

    fault_values = validate_faults(faults) if faults is not None else sample_faults(fault_rng)
    if over_rotated is None:
        over_rotated = bool(fault_rng.random() < 0.5)
    frame_count = int(n_frames or choice_rng.integers(FRAME_RANGE[0], FRAME_RANGE[1] + 1))

    plan = choreograph(dive, float(height), fault_values, over_rotated, frame_count, FPS)
    apex = max(-state.hip[1] for state in plan.frames) - float(height)
    venue = venue or Venue.sample(look_rng)
    if camera_noise is not None:
        venue = replace(venue, camera_noise=float(camera_noise))
    look = Look.sample(look_rng, venue)
    scene = Scene(size, float(height), apex, look_rng, look)
    frames = Renderer(scene, plan, fault_values["splash"], camera_rng).render()

    quality = quality_from_faults(fault_values)
    panel_mean = model.panel_mean(quality)
    scores = [float(s) for s in model.sample_scores(judge_rng, np.array([panel_mean]))[0]]
    return SyntheticDive(
        frames=frames,
        fps=FPS,
        dive_number=dive.code,
        height=float(height),
        difficulty=dd,
        quality=quality,
        faults=fault_values,
        over_rotated=over_rotated,
        panel_mean=panel_mean,
        judge_scores=scores,
        final_score=apply_panel_rule(scores, "individual", dd).final,
        # The caption a commentary head learns: the dive it sees, then what its faults looked like.
        commentary=f"{dive.describe()}. {commentary(fault_values, over_rotated, dive.position)}",
        description=dive.describe(),
        takeoff_frame=plan.takeoff_frame,
        entry_frame=plan.entry_frame,
    )
