"""The choreography of a synthetic dive: where the diver is and how the body is shaped, frame by frame.

Everything here is in metres and radians in a side view with x to the right (away from the
board) and y down, so the renderer only scales and draws. The dive number decides the facing,
the rotation sense, the amount of rotation, the twist and the shape in the air; the faults bend
that ideal: a lower jump, a looser shape, too much or too little rotation, a broken line at entry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from aqa_core.rules import DiveNumber

GRAVITY = 9.81
SEGMENTS = {"torso": 0.55, "neck": 0.08, "head": 0.11, "upper_arm": 0.30, "forearm": 0.28, "thigh": 0.44, "shin": 0.44}
CROUCH_FRAMES = 7
MIN_STAND_FRAMES = 8
MIN_AFTER_ENTRY_FRAMES = 22
CONTACT_HIP_HEIGHT = 1.1  # metres above the water when the first body part touches it


@dataclass(frozen=True)
class Pose:
    """Joint angles (radians) of the side-view figure; 0 everywhere is standing with arms at the sides."""

    hip: float  # thigh forward of the torso line
    knee: float  # shin bent back from the thigh
    near_arm: float  # arm forward of the torso line (pi = overhead)
    far_arm: float
    elbow: float
    width: float  # apparent body width (1 = side-on); a twist makes it oscillate
    spread: float = 0.0  # angle between the legs (0 = together): a loose shape or a stumble splits them

    def blend(self, other: Pose, t: float) -> Pose:
        t = min(max(t, 0.0), 1.0)
        return Pose(*(a + (b - a) * t for a, b in zip(self.__dict__.values(), other.__dict__.values())))


@dataclass(frozen=True)
class FrameState:
    hip: tuple[float, float]  # world metres: x from the board's edge towards the water, y down from the water line
    angle: float  # body axis from vertical-up, clockwise on screen
    facing: int  # +1 faces right (the water), -1 faces the board
    pose: Pose
    board_dip: float  # springboard tip deflection in metres (0 for a platform)


@dataclass(frozen=True)
class Choreography:
    frames: list[FrameState]
    takeoff_frame: int  # last frame in contact with the board or platform (flight time 0: feet still at its level)
    entry_frame: int  # first frame whose lowest point is at or under the water
    entry_x: float  # world x of the entry (where the splash rises)


STANDING = Pose(hip=0.0, knee=0.0, near_arm=0.15, far_arm=0.15, elbow=0.1, width=1.0)
ARMS_UP = Pose(hip=0.0, knee=0.0, near_arm=2.9, far_arm=2.9, elbow=0.0, width=1.0)
CROUCHED = Pose(hip=0.8, knee=1.2, near_arm=-0.6, far_arm=-0.6, elbow=0.2, width=1.0)
HANDSTAND = Pose(hip=0.0, knee=0.0, near_arm=math.pi, far_arm=math.pi, elbow=0.0, width=1.0)
HANDSTAND_PRESS = Pose(hip=0.0, knee=0.0, near_arm=math.pi, far_arm=math.pi, elbow=0.9, width=1.0)  # bent arms before the push
TWISTING = Pose(hip=0.2, knee=0.1, near_arm=2.6, far_arm=0.6, elbow=1.0, width=1.0)  # one arm up, one wrapped
# a botched take-off: bent legs apart, one arm thrown forward and one back to catch the balance
STUMBLE = Pose(hip=0.9, knee=1.3, near_arm=1.9, far_arm=-1.0, elbow=1.1, width=1.0, spread=1.1)


def _smooth(t: float) -> float:
    t = min(max(t, 0.0), 1.0)
    return t * t * (3 - 2 * t)


def shape_pose(position: str, looseness: float) -> Pose:
    """The body shape held during the somersaults; ``looseness`` (the position fault) opens it.

    The opening is deliberately large (hips open by up to 70 %, legs split, arms off the legs):
    a video model sees the diver as a blob of a few dozen pixels, so a loose shape has to change
    the silhouette, not a joint angle by a few degrees.
    """
    tight = 1.0 - 0.7 * looseness
    spread = 1.0 * looseness
    if position == "C":  # tuck: knees to the chest, hands on the shins
        return Pose(hip=2.6 * tight, knee=2.5 * tight, near_arm=1.2 + 1.2 * looseness, far_arm=1.3 - 1.0 * looseness, elbow=1.2 * tight, width=1.0, spread=spread)
    if position == "B":  # pike: straight legs folded at the hips, hands towards the feet
        return Pose(hip=2.6 * tight, knee=1.2 * looseness, near_arm=2.4 * tight, far_arm=2.3 * tight, elbow=0.0, width=1.0, spread=spread)
    # straight / free: one line, bent at hips and knees when loose
    return Pose(hip=1.2 * looseness, knee=1.3 * looseness, near_arm=0.2 + 1.0 * looseness, far_arm=0.2, elbow=0.0, width=1.0, spread=spread)


def entry_pose(head_first: bool, line_fault: float) -> Pose:
    """The line held into the water; ``line_fault`` (the entry fault) breaks it at hips and knees and splits the legs."""
    arms = math.pi if head_first else 0.1
    return Pose(hip=1.3 * line_fault, knee=1.5 * line_fault, near_arm=arms, far_arm=arms - 1.2 * line_fault, elbow=0.6 * line_fault, width=1.0, spread=0.8 * line_fault)


def choreograph(
    dive: DiveNumber,
    height: float,
    faults: dict[str, float],
    over_rotated: bool,
    n_frames: int,
    fps: float,
) -> Choreography:
    """Plan every frame: stand (arm swing), crouch and take off, fly (rotate, shape, twist), enter, sink."""
    armstand = dive.group == 6
    springboard = height <= 3.0
    direction = dive.direction
    facing = 1 if direction in (1, 3) else -1  # forward/reverse face the water, back/inward the board
    spin = 1 if direction in (1, 2) else -1  # forward/back rotate towards the water, reverse/inward towards the board
    start_angle = math.pi if armstand else 0.0
    rotation_error = spin * math.radians(70.0) * faults["rotation"] * (1 if over_rotated else -1)
    total_rotation = spin * math.pi * dive.half_somersaults
    head_first = (dive.half_somersaults + (1 if armstand else 0)) % 2 == 1

    stumble = faults["takeoff"]
    jump = (0.35 if armstand else 1.2 if springboard else 0.9) * (1.0 - 0.75 * stumble)
    v_up = math.sqrt(2 * GRAVITY * jump)
    hip_start_height = height + (1.13 if armstand else 0.9)
    flight_time = (v_up + math.sqrt(v_up**2 + 2 * GRAVITY * hip_start_height)) / GRAVITY
    # the hands (or feet) meet the water while the hip is still about a body length up: the
    # rotation and the opening are timed to finish there, as a diver lines up for the entry
    contact_time = (v_up + math.sqrt(v_up**2 + 2 * GRAVITY * (hip_start_height - CONTACT_HIP_HEIGHT))) / GRAVITY
    flight_frames = int(round(flight_time * fps))
    stand_frames = max(MIN_STAND_FRAMES, n_frames - CROUCH_FRAMES - flight_frames - MIN_AFTER_ENTRY_FRAMES)
    takeoff_frame = stand_frames + CROUCH_FRAMES
    total = max(n_frames, takeoff_frame + flight_frames + MIN_AFTER_ENTRY_FRAMES)

    shape = shape_pose(dive.position, faults["position"])
    entry = entry_pose(head_first, faults["entry"])
    launch = HANDSTAND if armstand else ARMS_UP
    start_x = -0.2
    speed_x = 0.9 if direction in (1, 4) or armstand else 0.7

    frames: list[FrameState] = []
    for index in range(total):
        if index < stand_frames:
            # standing at the edge: a slow arm swing up (or a held handstand)
            swing = _smooth(index / max(stand_frames - 1, 1))
            pose = HANDSTAND if armstand else STANDING.blend(ARMS_UP, swing)
            frames.append(FrameState((start_x, -hip_start_height), start_angle, facing, pose, 0.0))
        elif index < takeoff_frame:
            # crouch and press: the board dips, arms drive down then up
            t = (index - stand_frames) / CROUCH_FRAMES
            press = math.sin(math.pi * t)
            base = HANDSTAND if armstand else ARMS_UP
            pose = base.blend(HANDSTAND_PRESS if armstand else CROUCHED, press).blend(STUMBLE, stumble * t)
            dip = 0.3 * press if springboard else 0.0
            lean = spin * (0.15 - 0.5 * stumble) * t  # a bad take-off leans back from the rotation
            frames.append(FrameState((start_x, -hip_start_height + (0.25 if not armstand else 0.1) * press + dip), start_angle + lean, facing, pose, dip))
        else:
            t = (index - takeoff_frame) / fps
            p = min(t / contact_time, 1.0)
            x = start_x + speed_x * t
            y = -hip_start_height - v_up * t + 0.5 * GRAVITY * t * t
            # rotation is fastest in the middle, where the shape is tight
            progress = 0.5 * p + 0.5 * (p - math.sin(2 * math.pi * p) / (2 * math.pi))
            angle = start_angle + 0.15 * spin + (total_rotation - 0.15 * spin) * progress
            # over- or under-rotation builds up in the second half, so the tilt shows before the entry
            angle += rotation_error * _smooth((p - 0.4) / 0.6)
            if t > flight_time:
                # under water the diver slows down quickly
                sink = t - flight_time
                y = (GRAVITY * flight_time - v_up) * 0.25 * (1 - math.exp(-4 * sink))
            pose = launch.blend(shape, _smooth(p / 0.15)).blend(entry, _smooth((p - 0.72) / 0.18))
            # a stumble off the board carries into the first part of the flight
            pose = pose.blend(STUMBLE, stumble * (1.0 - _smooth(p / 0.35)))
            if dive.half_twists:
                # the twist opens the shape, wraps the arms and turns the body face-on and back
                twist = math.pi * dive.half_twists * _smooth((p - 0.2) / 0.5)
                wrapped = _smooth((p - 0.15) / 0.08) * (1.0 - _smooth((p - 0.68) / 0.08))
                pose = replace(pose.blend(TWISTING, wrapped), width=0.45 + 0.55 * abs(math.cos(twist)))
            frames.append(FrameState((x, y), angle, facing, pose, 0.0))

    lowest = [_lowest_point(state) for state in frames]
    entry_frame = next((i for i in range(takeoff_frame, total) if lowest[i] >= 0.0), total - 1)
    return Choreography(frames=frames, takeoff_frame=takeoff_frame, entry_frame=entry_frame, entry_x=frames[entry_frame].hip[0])


def skeleton(state: FrameState) -> dict[str, np.ndarray]:
    """World positions (metres) of the joints: hip, shoulder, head, knee, ankle, elbows, wrists."""
    s = SEGMENTS
    up = np.array([math.sin(state.angle), -math.cos(state.angle)])
    forward = state.facing * np.array([math.cos(state.angle), math.sin(state.angle)])
    hip = np.array(state.hip)

    def limb(origin: np.ndarray, angle: float, length: float) -> np.ndarray:
        # angle 0 points down the body (feet-wards), pi/2 forward, pi up (head-wards)
        return origin + length * (math.sin(angle) * forward - math.cos(angle) * up)

    pose = state.pose
    shoulder = hip + s["torso"] * up
    head = shoulder + (s["neck"] + s["head"]) * up
    knee = limb(hip, pose.hip + 0.5 * pose.spread, s["thigh"])
    ankle = limb(knee, pose.hip + 0.5 * pose.spread - pose.knee, s["shin"])
    far_knee = limb(hip, pose.hip - 0.5 * pose.spread, s["thigh"])
    far_ankle = limb(far_knee, pose.hip - 0.5 * pose.spread - pose.knee, s["shin"])
    near_elbow = limb(shoulder, pose.near_arm, s["upper_arm"])
    far_elbow = limb(shoulder, pose.far_arm, s["upper_arm"])
    return {
        "hip": hip,
        "shoulder": shoulder,
        "head": head,
        "hair": head + 0.45 * s["head"] * (0.6 * up - forward),  # the back of the head shows which way the diver faces
        "knee": knee,
        "ankle": ankle,
        "far_knee": far_knee,
        "far_ankle": far_ankle,
        "near_elbow": near_elbow,
        "near_wrist": limb(near_elbow, pose.near_arm + pose.elbow, s["forearm"]),
        "far_elbow": far_elbow,
        "far_wrist": limb(far_elbow, pose.far_arm + pose.elbow, s["forearm"]),
    }


def _lowest_point(state: FrameState) -> float:
    joints = skeleton(state)
    return max(max(point[1] for point in joints.values()), joints["head"][1] + SEGMENTS["head"])
