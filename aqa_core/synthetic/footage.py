"""Untrimmed synthetic footage: what a real recording holds around the dives, with exact event frames.

A competition recording is not a dive window: the diver stands and swings the arms, takes off,
enters, swims out; the broadcast shows a slow-motion replay and cuts to the crowd; then the next
diver. ``render_footage`` strings those shots together from ``generate_dive`` renders and records,
for every dive and every replay, the decode-order index of the take-off (last frame on the board
or platform) and of the entry (first frame touching the water), so the dive finder can be tested
and benchmarked against exact truth instead of hand labels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from aqa_core.synthetic.dive import FPS, SyntheticDive, generate_dive
from aqa_core.synthetic.render import Venue

REPLAY_SLOWDOWN = 2  # broadcast replays run at half speed: every frame shown twice
SWIM_OUT_S = 1.0  # the settled pool held after the dive's own after-entry frames
CROWD_S = 1.5  # a cut to the stands


@dataclass(frozen=True)
class FootageEvent:
    """One dive as it appears in the footage (0-based indices into ``Footage.frames``)."""

    take_off_index: int
    entry_index: int
    replay: bool


@dataclass(frozen=True)
class Footage:
    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    fps: float
    events: list[FootageEvent]  # in time order, replays included
    dives: list[SyntheticDive]  # the rendered dives, one per non-replay event


def crowd_shot(rng: np.random.Generator, n_frames: int, size: tuple[int, int]) -> np.ndarray:
    """Rows of seated spectators in many colours, swaying a little: a shot with no diver and no pool."""
    width, height = size
    base = np.full((height, width, 3), rng.integers(30, 80, size=3), np.uint8)
    heads = []
    for row in range(8, height, 14):
        for col in range(int(rng.integers(0, 8)), width, 11):
            colour = tuple(int(c) for c in rng.integers(40, 256, size=3))
            heads.append((col, row, colour, float(rng.uniform(0, 2 * np.pi))))
    frames = np.empty((n_frames, height, width, 3), np.uint8)
    for index in range(n_frames):
        frame = base.copy()
        for col, row, colour, phase in heads:
            sway = int(round(1.5 * np.sin(phase + index / 6.0)))
            cv2.rectangle(frame, (col - 4 + sway, row), (col + 4 + sway, row + 10), colour, -1)
            cv2.circle(frame, (col + sway, row - 2), 3, (200, 160, 130), -1)
        frames[index] = frame
    return frames


def _hold(frames: np.ndarray, n_frames: int, rng: np.random.Generator) -> np.ndarray:
    """The last frame held with fresh sensor noise: the pool settling while the diver swims out."""
    last = frames[-1].astype(np.int16)
    noise = rng.normal(0.0, 2.0, (n_frames, *last.shape))
    return np.clip(last[None] + noise, 0, 255).astype(np.uint8)


def render_footage(
    seed: int,
    n_dives: int = 2,
    replay: bool = True,
    crowd: bool = True,
    size: tuple[int, int] = (192, 144),
    stand_frames: int = 60,
) -> Footage:
    """Crowd, then per dive: standing + approach + dive + swim-out, its slow replay, a crowd cut.

    ``stand_frames`` is added to each dive's length, which ``generate_dive`` gives to the standing
    phase (the arm swing before the take-off), so the take-off lies well inside the file.
    """
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    events: list[FootageEvent] = []
    dives: list[SyntheticDive] = []
    offset = 0

    def add(frames: np.ndarray) -> int:
        nonlocal offset
        start = offset
        parts.append(frames)
        offset += len(frames)
        return start

    venue = replace(Venue.sample(rng), stands=True)  # one competition: every dive in the same hall
    crowd_frames = int(round(CROWD_S * FPS))
    if crowd:
        add(crowd_shot(rng, crowd_frames, size))
    for number in range(n_dives):
        dive = generate_dive(int(rng.integers(1 << 31)), size=size, n_frames=110 + stand_frames, venue=venue)
        dives.append(dive)
        start = add(dive.frames)
        events.append(FootageEvent(start + dive.takeoff_frame, start + dive.entry_frame, replay=False))
        add(_hold(dive.frames, int(round(SWIM_OUT_S * FPS)), rng))
        if replay:
            first = max(0, dive.takeoff_frame - 15)
            last = min(len(dive.frames) - 1, dive.entry_frame + 20)
            start = add(np.repeat(dive.frames[first : last + 1], REPLAY_SLOWDOWN, axis=0))
            # the take-off's last copy is still on the board; the entry's first copy touches the water
            take_off = start + (dive.takeoff_frame - first) * REPLAY_SLOWDOWN + REPLAY_SLOWDOWN - 1
            events.append(FootageEvent(take_off, start + (dive.entry_frame - first) * REPLAY_SLOWDOWN, replay=True))
        if crowd and number < n_dives - 1:
            add(crowd_shot(rng, crowd_frames, size))
    return Footage(frames=np.concatenate(parts), fps=FPS, events=events, dives=dives)

