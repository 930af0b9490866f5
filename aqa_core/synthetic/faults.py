"""Execution faults of a synthetic dive, the latent quality they imply, and a commentary line.

Every fault is a float in [0, 1] (0 = perfect, 1 = as bad as the generator draws it). The
renderer turns each one into something visible, the quality formula turns them into one latent
number, and the judge model turns that number into a panel. Keeping the three in one place means
a test can move one fault and check that both the picture and the scores move the right way.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

# What a judge deducts for, and how much of the execution it spoils. The weights sum to 1 so
# quality = 1 - sum(w * f) stays in [0, 1]; rotation and splash weigh most because the entry is
# what panels punish hardest.
FAULT_WEIGHTS: dict[str, float] = {
    "takeoff": 0.15,  # low jump: less height, rushed rotation
    "position": 0.20,  # loose tuck or pike, bent legs in a straight dive
    "rotation": 0.25,  # over- or under-rotation at entry (sign in SyntheticDive.over_rotated)
    "entry": 0.15,  # body not in one line at entry (piked or arched)
    "splash": 0.25,  # size of the splash
}
FAULTS: tuple[str, ...] = tuple(FAULT_WEIGHTS)


def quality_from_faults(faults: Mapping[str, float]) -> float:
    """Latent execution quality: ``1 - sum(FAULT_WEIGHTS[k] * faults[k])``, in [0, 1]."""
    return float(quality_from_fault_matrix(np.array([[faults[name] for name in FAULTS]]))[0])


def quality_from_fault_matrix(faults: np.ndarray) -> np.ndarray:
    """The same formula for many dives at once: (n, len(FAULTS)) in FAULTS order -> (n,)."""
    return 1.0 - faults @ np.array(list(FAULT_WEIGHTS.values()))


def validate_faults(faults: Mapping[str, float]) -> dict[str, float]:
    """Complete a partial fault mapping with zeros and refuse unknown names or values outside [0, 1]."""
    unknown = set(faults) - set(FAULTS)
    if unknown:
        raise ValueError(f"unknown fault(s) {', '.join(sorted(unknown))}; known: {', '.join(FAULTS)}")
    result = {name: float(faults.get(name, 0.0)) for name in FAULTS}
    bad = {name: value for name, value in result.items() if not 0.0 <= value <= 1.0}
    if bad:
        raise ValueError(f"faults must lie in [0, 1]: {bad}")
    return result


# A diver's form on the day runs through the whole dive: this share of each phase's own error is
# common to all phases, the rest is that phase's own slip.
FORM_SHARE = 0.35

# How much of each downstream fault is inherited from the faults before it, in the order a dive
# happens: a low take-off leaves too little time to finish the rotation; a rotation error or a
# loose shape makes the line hard to save at the entry; a crooked or broken entry throws water.
# The rest of each fault is the diver's own error at that phase. The splash keeps only about a
# third of its own, like a panel that reads most of the dive from how it enters the water.
FAULT_CAUSES: dict[str, dict[str, float]] = {
    "rotation": {"takeoff": 0.40},
    "entry": {"rotation": 0.30, "position": 0.20},
    "splash": {"rotation": 0.35, "entry": 0.30},
}


def sample_fault_matrix(rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw ``n`` dives' faults from the generator's prior: shape (n, len(FAULTS)), columns in FAULTS order.

    Each phase's own error mixes the dive's form (``FORM_SHARE``) with the phase's own slip, both
    Beta(1.3, 4) (mean about 0.25). Faults then pass down the dive in order as ``FAULT_CAUSES``
    says, so the phases correlate the way they do in real dives (a low take-off and a big splash
    go together). One dive in twelve has a blown phase, at least 0.7 whatever came before, which
    carries on into the later phases and gives the long low tail real panels show.
    """
    form = rng.beta(1.3, 4.0, size=(n, 1))
    faults = (1.0 - FORM_SHARE) * rng.beta(1.3, 4.0, size=(n, len(FAULTS))) + FORM_SHARE * form
    blown = np.where(rng.random(n) < 1 / 12, rng.integers(len(FAULTS), size=n), -1)
    accident = rng.uniform(0.7, 1.0, size=n)
    for column, name in enumerate(FAULTS):  # dive order: a phase's causes are final before it
        causes = FAULT_CAUSES.get(name, {})
        inherited = sum(weight * faults[:, FAULTS.index(cause)] for cause, weight in causes.items())
        faults[:, column] = np.clip((1.0 - sum(causes.values())) * faults[:, column] + inherited, 0.0, 1.0)
        faults[blown == column, column] = np.maximum(faults[blown == column, column], accident[blown == column])
    return faults


def sample_faults(rng: np.random.Generator) -> dict[str, float]:
    """One dive's faults from the prior (see ``sample_fault_matrix``)."""
    return {name: float(value) for name, value in zip(FAULTS, sample_fault_matrix(rng, 1)[0])}


def commentary(faults: Mapping[str, float], over_rotated: bool, position: str) -> str:
    """One or two short sentences a commentator might say, worst fault first.

    Written for a captioning head: the words follow the same thresholds every time, so a model
    can learn them from the video.
    """
    shape = {"B": "pike", "C": "tuck"}.get(position)
    position_words = (
        (f"{shape} slightly open", f"loose {shape} throughout")
        if shape
        else ("slightly bent at the hips", "hips and knees bent throughout")
    )
    side = "past vertical" if over_rotated else "short of vertical"
    wording = {
        "takeoff": ("a little low off the take-off", "very little height from the take-off"),
        "position": position_words,
        "rotation": (f"slightly {side}", f"well {side} at the entry"),
        "entry": ("legs not quite together at entry", "broken body line at entry"),
    }
    remarks = [
        (faults[name], severe if faults[name] >= 0.6 else mild)
        for name, (mild, severe) in wording.items()
        if faults[name] >= 0.3
    ]
    remarks.sort(key=lambda item: -item[0])
    splash = faults["splash"]
    if splash < 0.15:
        opening = "Rip entry with almost no splash"
    elif splash < 0.3:
        opening = "Clean entry with little splash"
    elif splash < 0.6:
        opening = "Some splash at the entry"
    else:
        opening = "A big splash at the entry"
    if not remarks:
        return f"{opening}; a well-executed dive." if splash < 0.3 else f"{opening}."
    return f"{opening}; {', '.join(text for _, text in remarks[:2])}."
