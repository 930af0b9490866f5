"""Draw a planned dive as RGB frames: pool hall, board or platform, the diver, water and splash.

The scene is painted once as a tall "world" image (wall, tower, water) and every frame is a crop
of it that follows the diver down, like a broadcast camera, so even a 10 m dive keeps the diver
large enough for a 224-pixel model to see the shape. The diver and splash are drawn per frame
with anti-aliased OpenCV primitives at sub-pixel precision; camera shake, sensor noise and a
little flicker come last. Every random choice comes from the caller's generator, so a seed
gives byte-identical frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from aqa_core.synthetic.motion import SEGMENTS, Choreography, FrameState, skeleton

SHIFT = 4  # fixed-point bits for cv2 drawing: 1/16 pixel precision
SCALE = 1 << SHIFT
# a standing diver's height as a fraction of the frame height: after I3D's resize and centre crop
# the diver must still span ~100 pixels, or the shape faults vanish into a few blurred pixels
DIVER_FRACTION = 0.50
EDGE_FRACTION = 0.32  # where the board's edge sits across the frame (the flight stays inside a centre crop)
MARGIN = 6  # extra world pixels on each side for camera shake


@dataclass(frozen=True)
class Venue:
    """The pool hall and broadcast camera of one competition: every dive filmed there shares them.

    Real AQA datasets are cut from a few broadcasts, so within a dataset the hall, the water and
    the camera barely change while the divers (skin, hair, swimsuit) do; a dataset drawn with one
    venue has the same structure.
    """

    wall: tuple[int, int, int]
    water: tuple[int, int, int]
    concrete: tuple[int, int, int]
    camera_noise: float  # 0 = a perfect camera; 1 = shaky and grainy
    # rows of seated spectators behind the tower, as in a broadcast: the texture a real camera's
    # tilt is seen against (the dive finder's cue). Off for the training renders, which predate it.
    stands: bool = False

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Venue:
        return cls(
            wall=_jitter(rng, (120, 135, 160), 35),
            water=_jitter(rng, (40, 110, 170), 25),
            concrete=_jitter(rng, (190, 190, 185), 20),
            camera_noise=float(rng.uniform(0.1, 0.5)),
        )


@dataclass(frozen=True)
class Look:
    """Colours and camera character of one video: its venue's, and the diver's own."""

    wall: tuple[int, int, int]
    water: tuple[int, int, int]
    skin: tuple[int, int, int]
    suit: tuple[int, int, int]
    hair: tuple[int, int, int]
    concrete: tuple[int, int, int]
    camera_noise: float
    stands: bool = False

    @classmethod
    def sample(cls, rng: np.random.Generator, venue: Venue) -> Look:
        """A diver drawn from ``rng`` filmed at ``venue``."""
        return cls(
            wall=venue.wall,
            water=venue.water,
            skin=_jitter(rng, (215, 170, 135), 30),
            suit=_saturated(rng),
            hair=_jitter(rng, (60, 45, 30), 25),
            concrete=venue.concrete,
            camera_noise=venue.camera_noise,
            stands=venue.stands,
        )


def _jitter(rng: np.random.Generator, base: tuple[int, int, int], amount: int) -> tuple[int, int, int]:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in base)  # type: ignore[return-value]


def _saturated(rng: np.random.Generator) -> tuple[int, int, int]:
    """A vivid swimsuit colour (one channel high, one low) that stands out from wall, water and skin."""
    channels = rng.permutation(3)
    colour = np.empty(3, int)
    colour[channels[0]] = rng.integers(200, 256)
    colour[channels[1]] = rng.integers(0, 50)
    colour[channels[2]] = rng.integers(0, 256)
    return tuple(int(c) for c in colour)  # type: ignore[return-value]


class Scene:
    """World geometry (metres -> world pixels) and the painted background of one dive."""

    def __init__(self, size: tuple[int, int], height: float, apex: float, rng: np.random.Generator, look: Look) -> None:
        self.width, self.frame_height = size
        self.ppm = DIVER_FRACTION * self.frame_height / 1.8
        self.height = height
        self.springboard = height <= 3.0
        self.top = -(height + apex + 2.2)  # metres above the water at the world's top row
        self.bottom = 0.28 * self.frame_height / self.ppm  # metres under the water at the bottom row
        self.edge_px = EDGE_FRACTION * self.width + MARGIN
        rows = int(np.ceil((self.bottom - self.top) * self.ppm)) + 2 * MARGIN
        self.look = look
        self.world = self._paint(rows, rng)

    def to_px(self, x: float, y: float) -> tuple[float, float]:
        """World metres to world pixels (x from the board's edge, y down from the water line)."""
        return self.edge_px + x * self.ppm, MARGIN + (y - self.top) * self.ppm

    @property
    def water_row(self) -> int:
        return int(round(self.to_px(0.0, 0.0)[1]))

    def _paint(self, rows: int, rng: np.random.Generator) -> np.ndarray:
        look, cols = self.look, self.width + 2 * MARGIN
        shade = np.linspace(1.1, 0.8, rows)[:, None, None]
        world = np.clip(np.array(look.wall, np.float32)[None, None, :] * shade, 0, 255).astype(np.uint8)
        world = np.ascontiguousarray(np.broadcast_to(world, (rows, cols, 3)))
        # panel seams every metre and a few banners: motion cues while the camera follows the diver
        for metres in np.arange(np.floor(self.top), 0.0, 1.0):
            row = int(self.to_px(0.0, metres)[1])
            cv2.line(world, (0, row), (cols, row), tuple(int(c * 0.85) for c in look.wall), 1, cv2.LINE_AA)
        for _ in range(max(2, int(-self.top / 2.5))):
            x0 = int(rng.integers(0, cols))
            y0 = int(rng.uniform(MARGIN, self.water_row - 10))
            colour = tuple(int(c) for c in rng.integers(30, 250, size=3))
            cv2.rectangle(world, (x0, y0), (x0 + int(rng.integers(20, 60)), y0 + int(rng.integers(6, 14))), colour, -1)
        if look.stands:
            self._paint_stands(world, rng)
        water_row = self.water_row
        depth = np.linspace(1.0, 0.6, rows - water_row)[:, None, None]
        world[water_row:] = np.clip(np.array(look.water, np.float32)[None, None, :] * depth, 0, 255).astype(np.uint8)
        for _ in range(12):
            y = int(rng.integers(water_row + 2, rows))
            x = int(rng.integers(0, cols))
            cv2.line(world, (x, y), (x + int(rng.integers(8, 30)), y), tuple(min(255, c + 40) for c in look.water), 1, cv2.LINE_AA)
        self._paint_tower(world)
        return world

    def _paint_stands(self, world: np.ndarray, rng: np.random.Generator) -> None:
        """Seat rows every 0.45 m up to the water, each seat a dark back and a random spectator."""
        row_px = max(4, int(0.45 * self.ppm))
        seat_px = max(3, int(0.3 * self.ppm))
        for top in range(MARGIN, self.water_row - row_px, row_px):
            for left in range(int(rng.integers(0, seat_px)), world.shape[1], seat_px + 1):
                cv2.rectangle(world, (left, top + row_px // 3), (left + seat_px - 1, top + row_px - 1), (35, 40, 50), -1)
                if rng.random() < 0.6:
                    colour = tuple(int(c) for c in rng.integers(30, 250, size=3))
                    cv2.rectangle(world, (left + 1, top), (left + seat_px - 2, top + row_px // 2), colour, -1)

    def _paint_tower(self, world: np.ndarray) -> None:
        concrete, dark = self.look.concrete, tuple(int(c * 0.7) for c in self.look.concrete)
        if self.springboard:
            # the stand under the board; the board itself bends, so it is drawn per frame
            x0, y0 = self.to_px(-2.6, -self.height)
            x1, y1 = self.to_px(-1.6, 0.0)
            cv2.rectangle(world, (int(x0), int(y0 + 4)), (int(x1), int(y1)), dark, -1)
            return
        left = 0
        for level in sorted({5.0, 7.5, self.height} if self.height >= 7.5 else {self.height}):
            # lower platforms are set back, the diver's own reaches the edge
            reach = 0.0 if level == self.height else -1.2 - 0.2 * (self.height - level)
            x_edge, y_top = self.to_px(reach, -level)
            cv2.rectangle(world, (left, int(y_top)), (int(x_edge), int(y_top + 0.3 * self.ppm)), concrete, -1)
        column = self.to_px(-2.0, 0.0)
        cv2.rectangle(world, (left, int(self.to_px(0, -self.height)[1])), (int(column[0]), int(column[1])), dark, -1)


def _pt(xy: tuple[float, float]) -> tuple[int, int]:
    return int(round(xy[0] * SCALE)), int(round(xy[1] * SCALE))


class Renderer:
    """Turns a choreography into frames: ``render()`` returns (T, H, W, 3) uint8 RGB."""

    def __init__(self, scene: Scene, plan: Choreography, splash: float, rng: np.random.Generator) -> None:
        self.scene = scene
        self.plan = plan
        self.splash = 0.04 + 0.96 * splash  # even a rip entry shows a little water
        self.rng = rng
        size = self.splash
        count = int(3 + 60 * size)
        # droplets: start spread across the entry hole, fly up and out, fall back
        self.drops_x = rng.normal(0.0, 0.1 + 0.35 * size, count)
        self.drops_vx = rng.normal(0.0, 0.5 + 1.8 * size, count)
        self.drops_vy = -rng.uniform(1.0, 1.5 + 7.0 * size, count)
        self.crown = rng.uniform(0.55, 1.0, 9)

    def render(self) -> np.ndarray:
        scene = self.scene
        width, height = scene.width, scene.frame_height
        noise = self.scene.look.camera_noise
        grain = [(self.rng.standard_normal((height, width, 3)) * 6.0 * noise).astype(np.float32) for _ in range(3)]
        frames = np.empty((len(self.plan.frames), height, width, 3), np.uint8)
        max_top = scene.world.shape[0] - height - MARGIN
        for index, state in enumerate(self.plan.frames):
            hip_row = scene.to_px(*state.hip)[1]
            top = int(np.clip(hip_row - 0.42 * height, MARGIN, max_top))
            dx, dy = (int(v) for v in np.round(self.rng.normal(0.0, 1.2 * noise, 2)).clip(-MARGIN, MARGIN))
            top = int(np.clip(top + dy, 0, scene.world.shape[0] - height))
            left = MARGIN + dx
            background = scene.world[top : top + height, left : left + width]
            frame = background.copy()
            origin = (-left, -top)
            self._draw_board(frame, state, origin)
            self._draw_diver(frame, state, origin)
            water = scene.water_row - top
            if water < height:
                # the water hides what is under it (a little shows through)
                under = frame[max(water, 0) :]
                under[:] = cv2.addWeighted(under, 0.25, background[max(water, 0) :], 0.75, 0.0)
            self._draw_splash(frame, index, origin)
            gain = 1.0 + 0.03 * noise * self.rng.standard_normal()
            frames[index] = cv2.addWeighted(frame, gain, grain[int(self.rng.integers(3))], 1.0, 0.0, dtype=cv2.CV_8U)
        return frames

    def _px(self, xy: np.ndarray | tuple[float, float], origin: tuple[int, int]) -> tuple[int, int]:
        x, y = self.scene.to_px(float(xy[0]), float(xy[1]))
        return _pt((x + origin[0], y + origin[1]))

    def _draw_board(self, frame: np.ndarray, state: FrameState, origin: tuple[int, int]) -> None:
        scene = self.scene
        if not scene.springboard:
            return
        base = -scene.height
        top = [(-scene.edge_px / scene.ppm - 1, base), (-2.1, base), (0.0, base + state.board_dip)]
        bottom = [(x, y + 0.1) for x, y in reversed(top)]
        polygon = np.array([self._px(p, origin) for p in top + bottom], np.int32)
        cv2.fillPoly(frame, [polygon], scene.look.concrete, cv2.LINE_AA, SHIFT)

    def _draw_diver(self, frame: np.ndarray, state: FrameState, origin: tuple[int, int]) -> None:
        look, ppm = self.scene.look, self.scene.ppm
        joints = {name: self._px(point, origin) for name, point in skeleton(state).items()}
        limb = max(2, int(round(0.13 * ppm)))
        leg = max(2, int(round(0.19 * ppm)))
        torso = max(2, int(round(0.32 * ppm * state.pose.width)))
        far_skin = tuple(int(c * 0.75) for c in look.skin)

        def line(a: str, b: str, colour: tuple[int, int, int], thickness: int) -> None:
            cv2.line(frame, joints[a], joints[b], colour, thickness, cv2.LINE_AA, SHIFT)

        line("shoulder", "far_elbow", far_skin, limb)
        line("far_elbow", "far_wrist", far_skin, limb)
        line("hip", "far_knee", far_skin, leg)
        line("far_knee", "far_ankle", far_skin, leg)
        line("hip", "knee", look.skin, leg)
        line("knee", "ankle", look.skin, leg)
        line("hip", "shoulder", look.skin, torso)
        # the swimsuit: most of the torso and the top of the thighs, in a vivid colour, so the
        # hip fold of a tuck or pike (and its opening) is a high-contrast edge
        hip = np.array(joints["hip"], np.float64)
        suit_top = tuple(int(v) for v in hip + 0.6 * (np.array(joints["shoulder"]) - hip))
        suit_leg = tuple(int(v) for v in hip + 0.3 * (np.array(joints["knee"]) - hip))
        cv2.line(frame, suit_top, tuple(int(v) for v in hip), look.suit, torso + 1, cv2.LINE_AA, SHIFT)
        cv2.line(frame, tuple(int(v) for v in hip), suit_leg, look.suit, leg + 1, cv2.LINE_AA, SHIFT)
        cv2.circle(frame, joints["head"], int(SEGMENTS["head"] * ppm * SCALE), look.skin, -1, cv2.LINE_AA, SHIFT)
        cv2.circle(frame, joints["hair"], int(0.65 * SEGMENTS["head"] * ppm * SCALE), look.hair, -1, cv2.LINE_AA, SHIFT)
        line("shoulder", "near_elbow", look.skin, limb)
        line("near_elbow", "near_wrist", look.skin, limb)

    def _draw_splash(self, frame: np.ndarray, index: int, origin: tuple[int, int]) -> None:
        since = index - self.plan.entry_frame
        if since < 0:
            return
        t = since / 30.0
        size, x0 = self.splash, self.plan.entry_x
        white = (235, 242, 248)
        overlay = frame.copy()
        # foam on the surface: spreads and stays (a rip entry leaves only a small ring)
        half_width = (0.12 + 1.1 * size) * (0.6 + 0.4 * min(t / 0.4, 1.0))
        centre = self._px((x0, 0.0), origin)
        axes = (int(half_width * self.scene.ppm * SCALE), int(0.1 * self.scene.ppm * SCALE))
        cv2.ellipse(overlay, centre, axes, 0, 0, 360, white, -1, cv2.LINE_AA, SHIFT)
        # the column: rises for a few frames, then collapses; a big splash stands longer
        envelope = min(since / 4.0, 1.0) * max(0.0, 1.0 - since / (8.0 + 22.0 * size))
        if envelope > 0:
            column_height = 3.0 * size * envelope
            xs = np.linspace(-half_width * 0.6, half_width * 0.6, len(self.crown))
            crown = [(x0 + x, -column_height * c * (1 - (x / (half_width + 1e-6)) ** 2)) for x, c in zip(xs, self.crown)]
            polygon = np.array([self._px(p, origin) for p in [(x0 + xs[-1], 0.0), (x0 + xs[0], 0.0)] + crown], np.int32)
            cv2.fillPoly(overlay, [polygon], white, cv2.LINE_AA, SHIFT)
        # droplets: ballistic until they fall back into the pool
        radius = max(1, int(0.05 * self.scene.ppm))
        xs = x0 + self.drops_x + self.drops_vx * t
        ys = self.drops_vy * t + 0.5 * 9.81 * t * t
        for x, y in zip(xs, ys):
            if y < 0.0:
                cv2.circle(overlay, self._px((x, y), origin), radius * SCALE, white, -1, cv2.LINE_AA, SHIFT)
        alpha = 0.9 * max(0.35, 1.0 - t / 1.5)
        cv2.addWeighted(overlay, alpha, frame, 1.0 - alpha, 0.0, dst=frame)
