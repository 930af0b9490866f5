"""Find the dives in untrimmed footage: take-off, entry, confidence and whether it is a replay.

What a broadcast (and our synthetic footage) shows of a dive, and what this module reads from it,
all on frames shrunk to ``ANALYSIS_WIDTH`` pixels in one sequential decode:

* **Shot cuts**: the colour histogram (hue x saturation) jumps between two frames of different
  shots; within one shot the Bhattacharyya distance stays under 0.25 on the real Olympic clips,
  a cut to the crowd in the synthetic footage measures 0.44-0.88, so ``CUT_DISTANCE`` is 0.35.
* **The fall**: the camera follows the diver down, so the whole picture slides up, frame after
  frame (phase correlation of consecutive frames gives that global shift). On both real clips the
  slide grows from ~1 to ~13 % of the frame height per frame and stops dead when the diver
  reaches the water. A dive is a run of such frames that moves the camera at least
  ``MIN_TRAVEL`` frame heights; the **entry** is the sharpest drop of the slide at the end of
  that run (frames 56 and 42 of the real clips, our labels). The synthetic footage paints rows of
  spectators behind the tower for this cue: against a bare wall the correlation locks onto noise.
* **The take-off** comes before the fall by the rise to the apex: the camera starts descending
  near the apex, ``RISE_S`` after the take-off (0.43 s for a 0.9 m jump, v = sqrt(2 g h) / g).
  When that lies more than ``IN_AIR_MARGIN_S`` before the shot began, the video starts in the
  air and the take-off is ``None``; within the margin the shot start is the best estimate.
* **Replays**: a replay is the same dive again, slowed down: within ``REPLAY_WITHIN_S`` of the
  previous dive, a fall that takes at least ``REPLAY_SLOWER`` times as many frames while the
  camera travels the same distance (within ``REPLAY_SAME_TRAVEL``). A 10 m dive after a 3 m one
  also falls 1.7 times longer, but the camera travels almost three times as far. A replay from
  another camera angle travels differently and is not recognised (it is listed as a dive).

Measured in ``benchmarks/bench_dive_finder.py`` and not used: the I3D's Kinetics probability of
"springboard diving" over 16-frame windows of real clip a is 0.00-0.56 while the diver is in
the air and 0.90-1.00 from the entry on, through the settling splash: it says "there is a pool
with a splash", not where the take-off is, and costs 0.4 s a window (about 90 s per minute of
video at a stride of 8 frames, against about 5 s to score one dive). The splash itself (white
near the water) is faint on the real clips (under 1 % of the frame in the half second after the
entry) while the white far edge of the pool crosses the frame during the fall, so the camera's
stop marks the entry better.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.ndimage import uniform_filter1d

from aqa_core.video import VideoReader

ANALYSIS_WIDTH = 160
CUT_DISTANCE = 0.35
DESCENT_PER_FRAME = 0.01  # frame heights per frame the picture must slide up to count as following a fall
SMOOTH_FRAMES = 5  # mean over a few frames: slow-motion replays repeat frames, phase correlation spikes
MAX_SLIDE = 0.2  # frame heights per frame; the real clips peak at 0.15, more is a correlation glitch
MAX_GAP_S = 0.3  # a fall interrupted this briefly (correlation glitches, repeated slow-motion frames) is one fall
MIN_TRAVEL = 0.8  # frame heights the camera must descend for a dive (synthetic: 3 m ~1.0, 10 m ~2.9)
MIN_FALL_S = 0.3  # even a 1 m dive falls for about 0.6 s
RISE_S = 0.43  # take-off to apex, where the camera starts down
IN_AIR_MARGIN_S = 0.3  # a take-off estimate this close before the shot began is put at its start
REPLAY_SLOWER = 1.4
REPLAY_SAME_TRAVEL = 0.2  # the same dive filmed the same way: the camera travels the same distance
REPLAY_WITHIN_S = 60.0
# Margins of a scoring window around take-off and entry, in seconds: the dive windows our synthetic
# generator renders like MTL-AQA's (stand 8 + crouch 7 frames before the take-off, 22 after the
# entry, at 30 fps) show the diver on the board before leaving it and the splash after.
WINDOW_BEFORE_S = 0.5
WINDOW_AFTER_S = 0.75


@dataclass(frozen=True)
class FoundDive:
    """One dive: 0-based decode-order frame indices (``take_off_index`` None when it starts in the air)."""

    take_off_index: int | None
    entry_index: int
    confidence: float
    replay: bool

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class FrameSignals:
    """Per-frame measurements the finder decides on, kept so benchmarks and tests can look at them."""

    fps: float
    height: int  # analysis frame height in pixels
    descent: np.ndarray  # (T,) upward slide of the picture from frame t-1 to t, in pixels (0 at t=0)
    cut: np.ndarray  # (T,) histogram distance from frame t-1 (0 at t=0)


def shrink(frame: np.ndarray) -> np.ndarray:
    """The analysis frame: ``ANALYSIS_WIDTH`` wide, area-averaged (cheap and alias-free)."""
    height, width = frame.shape[:2]
    size = (ANALYSIS_WIDTH, max(1, round(height * ANALYSIS_WIDTH / width)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def measure(frames: Iterable[np.ndarray], fps: float) -> FrameSignals:
    """Signals of shrunk RGB frames (see ``shrink``) in decode order, one frame held at a time.

    Streaming, so an hour of footage costs a few arrays of floats, not its frames.
    """
    meter = SignalMeter(fps)
    for frame in frames:
        meter.add(frame)
    return meter.signals()


class SignalMeter:
    """``measure`` one frame at a time, so one decode can feed the finder and something else (the clips)."""

    def __init__(self, fps: float) -> None:
        self.fps = float(fps)
        self.descent: list[float] = []
        self.cut: list[float] = []
        self.height = 0
        self._grey: np.ndarray | None = None
        self._hist: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.descent)

    def add(self, frame: np.ndarray) -> None:
        """The next shrunk RGB frame (see ``shrink``)."""
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
        hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)
        hist = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256])
        cv2.normalize(hist, hist, 1.0, 0.0, cv2.NORM_L1)
        if self._grey is None:
            self.height = int(frame.shape[0])
            self.descent.append(0.0)
            self.cut.append(0.0)
        else:
            (_, dy), _ = cv2.phaseCorrelate(self._grey, grey)
            self.descent.append(-dy)
            self.cut.append(cv2.compareHist(self._hist, hist, cv2.HISTCMP_BHATTACHARYYA))
        self._grey, self._hist = grey, hist

    def signals(self) -> FrameSignals:
        return FrameSignals(fps=self.fps, height=self.height, descent=np.array(self.descent), cut=np.array(self.cut))


def read_signals(path: str | Path) -> FrameSignals:
    """Decode the file once, sequentially, shrinking every frame as it comes (see ``measure``).

    Kept per file version (path, size, mtime) for the last ``SIGNALS_KEPT`` files, and callers
    asking at the same time share one decode: the desk lists the dives and scores the first one
    as soon as a video opens, and two whole-file decodes would delay both on a laptop's cores.
    """
    try:
        stat = Path(path).stat()
    except OSError:
        return _decode_signals(path)  # VideoReader names the problem
    key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
    with _signals_lock:
        pending = _signals.get(key)
        owner = pending is None
        if owner:
            pending = _signals[key] = Future()
            while len(_signals) > SIGNALS_KEPT:
                _signals.popitem(last=False)
        else:
            _signals.move_to_end(key)
    if owner:
        try:
            pending.set_result(_decode_signals(path))
        except BaseException as exc:
            with _signals_lock:
                if _signals.get(key) is pending:
                    del _signals[key]  # a failure is not kept: the next call tries again
            pending.set_exception(exc)
            raise
    return pending.result()


SIGNALS_KEPT = 8
_signals_lock = threading.Lock()
_signals: OrderedDict[tuple[str, int, int], Future[FrameSignals]] = OrderedDict()


def _decode_signals(path: str | Path) -> FrameSignals:
    with VideoReader(path) as reader:
        signals = measure(reader.iter_frames(range(reader.info.frame_count), transform=shrink), reader.info.fps)
    for values in (signals.descent, signals.cut):
        values.setflags(write=False)  # shared by every caller of read_signals
    return signals


def find_dives(path: str | Path) -> list[FoundDive]:
    """The dives in a video file, in time order (see the module docstring for how)."""
    return dives_from_signals(read_signals(path))


def dives_from_signals(signals: FrameSignals) -> list[FoundDive]:
    """The dives the signals show: every followed fall long enough, replays marked (module docstring)."""
    return [dive for _last, dive in _falls(signals) if dive is not None]


def _falls(signals: FrameSignals) -> Iterator[tuple[int, FoundDive | None]]:
    """Every run of followed-fall frames in time order: its last frame, and its dive (None: too short a fall)."""
    fps, count = signals.fps, len(signals.descent)
    if count < 3:
        return
    shot_starts = [0] + [i for i in range(1, count) if signals.cut[i] > CUT_DISTANCE]
    speed = _smoothed_descent(signals, shot_starts)
    falling = speed > DESCENT_PER_FRAME * signals.height
    previous: tuple[int, int, float] | None = None  # (entry, fall frames, travel) of the last original dive
    for first, last in _runs(falling, _max_gap(fps)):
        travel = float(signals.descent[first : last + 1].clip(min=0).sum()) / signals.height
        if travel < MIN_TRAVEL or last - first + 1 < MIN_FALL_S * fps:
            yield last, None
            continue
        entry = _entry(signals.descent, first, last)
        shot_start = max(s for s in shot_starts if s <= first)
        fall = last - first + 1
        slowdown = fall / previous[1] if previous is not None else 1.0
        replay = (
            previous is not None
            and entry - previous[0] <= REPLAY_WITHIN_S * fps
            and slowdown >= REPLAY_SLOWER
            and abs(travel / previous[2] - 1.0) <= REPLAY_SAME_TRAVEL
        )
        take_off = _take_off(first, shot_start, fps * slowdown if replay else fps)
        confidence = _confidence(travel, speed, first, last)
        yield last, FoundDive(take_off, entry, confidence, bool(replay))
        if not replay:
            previous = (entry, fall, travel)


def _max_gap(fps: float) -> int:
    return int(round(MAX_GAP_S * fps))


def first_dive_settled(signals: FrameSignals, frame_count: int) -> tuple[bool, FoundDive | None]:
    """Whether the signals of the first ``len(signals.descent)`` of ``frame_count`` frames already settle the first dive, and that dive.

    The first dive the finder reports for the whole video (never a replay: nothing comes before
    it) depends only on the frames up to a few past the end of its fall: the smoothed speed of
    frame t reads frames up to t + ``SMOOTH_FRAMES // 2``, a later falling frame within
    ``MAX_GAP_S`` would join the fall, and the entry and confidence read three frames past it.
    Once that many frames past every fall so far are in, the answer is the whole video's
    (``dives_from_signals``), so the desk can start on the dive's clips without decoding the
    rest. (False, None) while undecided; (True, None) when the whole video holds no dive.
    """
    seen = len(signals.descent)
    if seen >= frame_count:
        return True, next(iter(dives_from_signals(signals)), None)
    margin = max(_max_gap(signals.fps) + 1, 3) + SMOOTH_FRAMES // 2 + 1
    for last, dive in _falls(signals):
        if last + margin > seen:
            return False, None
        if dive is not None:
            return True, dive
    return False, None


class FirstDiveWatch:
    """Full-resolution frames in decode order in; the scoring window of the first dive out, as soon as it is settled.

    ``detected_window`` without decoding past the dive (``first_dive_settled``): the clips of
    the dive can be cut from the same decode while it goes on. Checking costs a pass over the
    signals so far, so it runs every frame early on and every ``1/32`` of the frames seen later
    (a few frames late at most at the start of a recording, a linear cost over an hour of it).
    """

    def __init__(self, fps: float, frame_count: int) -> None:
        self.meter = SignalMeter(fps)
        self.frame_count = frame_count
        self.settled = False
        self.window: tuple[int, int] | None = None  # None once settled: no dive, the whole video is scored
        self._next_check = 1

    def add(self, frame: np.ndarray) -> bool:
        """The next decoded frame; True once the window is settled (add no more)."""
        self.meter.add(shrink(frame))
        seen = len(self.meter)
        if seen >= self._next_check or seen >= self.frame_count:
            self._next_check = seen + max(1, seen // 32)
            self.settled, dive = first_dive_settled(self.meter.signals(), self.frame_count)
            if dive is not None:
                self.window = scoring_window(dive, self.frame_count, self.meter.fps)
        return self.settled


def _smoothed_descent(signals: FrameSignals, shot_starts: list[int]) -> np.ndarray:
    """Descent averaged over ``SMOOTH_FRAMES`` within each shot (a cut's own shift is noise)."""
    limit = MAX_SLIDE * signals.height
    raw = signals.descent.clip(-limit, limit)
    raw[shot_starts] = 0.0
    bounds = shot_starts + [len(raw)]
    return np.concatenate(
        [uniform_filter1d(raw[a:b], SMOOTH_FRAMES, mode="nearest") for a, b in zip(bounds, bounds[1:]) if b > a]
    )


def _runs(mask: np.ndarray, max_gap: int) -> list[tuple[int, int]]:
    """Inclusive (first, last) runs of True, joining runs separated by at most ``max_gap`` False."""
    runs: list[tuple[int, int]] = []
    for index in np.flatnonzero(mask):
        if runs and index - runs[-1][1] <= max_gap + 1:
            runs[-1] = (runs[-1][0], int(index))
        else:
            runs.append((int(index), int(index)))
    return runs


def _entry(descent: np.ndarray, first: int, last: int) -> int:
    """The frame where the slide drops most sharply near the end of the fall: the camera hits the water.

    Searched from the last third of the fall to two frames past its (smoothed) end; the entry itself
    often adds a correlation spike (diver and splash break the picture's match), which only
    sharpens the drop.
    """
    lo = first + 2 * (last - first) // 3
    hi = min(last + 3, len(descent) - 1)
    drops = descent[lo:hi] - descent[lo + 1 : hi + 1]
    return lo + 1 + int(np.argmax(drops)) if len(drops) else min(last + 1, len(descent) - 1)


def _take_off(fall_start: int, shot_start: int, fps: float) -> int | None:
    """One rise before the fall began; None when that lies clearly before the shot (starts in the air).

    ``fps`` is frames per real second: the footage rate, times the slowdown for a slow-motion replay.
    """
    estimate = fall_start - int(round(RISE_S * fps))
    if estimate >= shot_start:
        return estimate
    return shot_start if shot_start - estimate <= IN_AIR_MARGIN_S * fps else None


def _confidence(travel: float, speed: np.ndarray, first: int, last: int) -> float:
    """How clearly this is a followed fall that stopped at the water, in [0, 1].

    Half from the camera's travel (2 frame heights or more is a full score: the real 10 m clips
    travel 3.2-3.6, the synthetic 10 m dives about 2.9), half from how sharply it stopped (the
    speed just after the fall against the fastest during it; a camera that drifts on was not
    stopped by an entry).
    """
    peak = float(speed[first : last + 1].max())
    after = float(np.abs(speed[last + 1 : last + 4]).mean()) if last + 1 < len(speed) else peak
    stop = 1.0 - min(after / peak, 1.0) if peak > 0 else 0.0
    return round(0.5 * min(travel / 2.0, 1.0) + 0.5 * stop, 3)



def scoring_window(dive: FoundDive, frame_count: int, fps: float) -> tuple[int, int]:
    """Take-off to entry plus the margins, inside the video (from frame 0 when it starts in the air)."""
    start = 0 if dive.take_off_index is None else dive.take_off_index - int(round(WINDOW_BEFORE_S * fps))
    end = dive.entry_index + int(round(WINDOW_AFTER_S * fps))
    return max(0, start), min(frame_count - 1, end)


def detected_window(path: str | Path) -> tuple[int, int] | None:
    """The scoring window of the first dive that is not a replay; None when no dive is found."""
    signals = read_signals(path)
    original = next((d for d in dives_from_signals(signals) if not d.replay), None)
    if original is None:
        return None
    return scoring_window(original, len(signals.descent), signals.fps)
