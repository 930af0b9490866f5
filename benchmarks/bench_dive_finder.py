"""How well and how fast the dive finder works: ``python benchmarks/bench_dive_finder.py [--footage N] [--no-kinetics]``.

In one run: events found and frame errors (median, 90th percentile) on untrimmed synthetic
footage (standing, dive, swim-out, slow replay, crowd cuts; exact truth from the generator) and
on the two real Olympic clips (our own labels, tests/data/real_clip_events.json); the finder's time per minute of
video against the Scorer's time for one dive on this CPU; and the real I3D's Kinetics
"springboard diving" probability over sliding windows of the real clips, with its cost, which is
why the finder does not use it by default.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from aqa_core.dive_finder import FoundDive, find_dives
from aqa_core.paths import shared_dir
from aqa_core.synthetic.dataset import write_video
from aqa_core.synthetic.footage import FootageEvent, render_footage
from aqa_core.video import probe

# Our hand labels of the real clips, with how each frame was decided (shared with the tests).
LABELS_FILE = Path(__file__).resolve().parent.parent / "tests" / "data" / "real_clip_events.json"
MATCH_FRAMES = 30  # a found entry further than this from a true one does not count as finding it


def match(found: list[FoundDive], truth: list[FootageEvent]) -> tuple[list[tuple[FoundDive, FootageEvent]], int]:
    """Pair each true event with the nearest unused found entry within ``MATCH_FRAMES``; and count the extra finds."""
    pairs, used = [], set()
    for event in truth:
        candidates = [(abs(f.entry_index - event.entry_index), i) for i, f in enumerate(found) if i not in used]
        distance, index = min(candidates, default=(MATCH_FRAMES + 1, -1))
        if distance <= MATCH_FRAMES:
            used.add(index)
            pairs.append((found[index], event))
    return pairs, len(found) - len(used)


def _summary(errors: list[int]) -> str:
    if not errors:
        return "n/a"
    return f"median {statistics.median(errors):.1f}, p90 {np.percentile(errors, 90):.1f}, max {max(errors)}"


def synthetic(count: int, folder: Path) -> float:
    """Print the synthetic figures; return the finder's seconds per minute of this footage."""
    found_n = truth_n = extra_n = replay_right = 0
    entry_err: dict[bool, list[int]] = {False: [], True: []}
    take_err: dict[bool, list[int]] = {False: [], True: []}
    seconds = frames = 0.0
    for seed in range(count):
        footage = render_footage(seed)
        path = folder / f"footage_{seed}.mp4"
        write_video(path, footage)
        start = time.perf_counter()
        found = find_dives(path)
        seconds += time.perf_counter() - start
        frames += len(footage.frames)
        pairs, extra = match(found, footage.events)
        truth_n += len(footage.events)
        found_n += len(pairs)
        extra_n += extra
        for dive, event in pairs:
            replay_right += dive.replay == event.replay
            entry_err[event.replay].append(abs(dive.entry_index - event.entry_index))
            if dive.take_off_index is not None:
                take_err[event.replay].append(abs(dive.take_off_index - event.take_off_index))
    print(f"synthetic footage: {count} files, {frames / 30 / 60:.1f} min at 30 fps, 192x144")
    print(f"  events found {found_n}/{truth_n}, extra finds {extra_n}, replay flag right {replay_right}/{found_n}")
    for replay in (False, True):
        kind = "replays (2x slow, frames)" if replay else "dives"
        print(f"  {kind}: entry error {_summary(entry_err[replay])}; take-off error {_summary(take_err[replay])}")
    return seconds / (frames / 30.0 / 60.0)


def real() -> tuple[Path | None, float]:
    """Print the real-clip figures; return one clip and the finder's seconds per minute of real video."""
    shared = shared_dir()
    if shared is None:
        print("real clips: ../shared not present, skipped")
        return None, float("nan")
    seconds = minutes = 0.0
    first = None
    entry_errors: list[int] = []
    take_errors: list[int] = []
    labels = json.loads(LABELS_FILE.read_text(encoding="utf-8"))["clips"]
    for name, label in labels.items():
        take_off, entry = label["take_off_index"], label["entry_index"]
        path = shared / "data" / "clips" / name
        first = first or path
        info = probe(path)
        start = time.perf_counter()
        found = find_dives(path)
        seconds += time.perf_counter() - start
        minutes += info.frame_count / info.fps / 60.0
        if not found:
            print(f"  {name}: labelled take-off {take_off}, entry {entry}; NO dive found")
            continue
        dive = found[0]
        if dive.take_off_index is None or take_off is None:
            take = "both in the air (right)" if dive.take_off_index == take_off else "wrong: one says in the air"
        else:
            take = f"error {abs(dive.take_off_index - take_off)}"
            take_errors.append(abs(dive.take_off_index - take_off))
        entry_errors.append(abs(dive.entry_index - entry))
        print(
            f"  {name} ({info.width}x{info.height}): found {len(found)} dive(s); entry {dive.entry_index} vs {entry} "
            f"(error {abs(dive.entry_index - entry)}), take-off {dive.take_off_index} vs {take_off} ({take}), "
            f"confidence {dive.confidence:.2f}"
        )
    print(f"  real: events found {len(entry_errors)}/{len(labels)}; entry error {_summary(entry_errors)}; "
          f"take-off error {_summary(take_errors)} (where both give a frame)")
    return first, seconds / minutes


def scoring_seconds(video: Path) -> float:
    """The demo bundle's Scorer on one dive window (the detector's budget); NaN without a bundle."""
    from aqa_core.rules import make_dive_info
    from aqa_core.scorer import Scorer
    from cli.score_commands import resolve_bundle

    try:
        scorer = Scorer(resolve_bundle(None))
    except Exception as exc:  # noqa: BLE001 - a benchmark reports what is missing and goes on
        print(f"scoring time: no bundle ({exc})")
        return float("nan")
    dive = make_dive_info("individual", 7, "107B", 10.0, None)
    scorer.score(video, dive, window=(0, 102))  # warm up
    start = time.perf_counter()
    scorer.score(video, dive, window=(0, 102))
    return time.perf_counter() - start


def kinetics(video: Path) -> None:
    """P("springboard diving") of 16-frame windows every 8 frames (224 px centre crop), and the cost."""
    import torch

    from aqa_core.backbones.kinetics import kinetics_labels
    from aqa_core.clips import crop_and_resize
    from aqa_core.registry import BACKBONES
    from aqa_core.runtime import choose_runtime
    from aqa_core.video import read_frames

    runtime = choose_runtime()
    backbone = runtime.prepare_module(BACKBONES.build({"name": "i3d", "pretrained": True}))
    index = kinetics_labels().index("springboard diving")
    info = probe(video)
    frames = read_frames(video, 0, info.frame_count - 1)
    small = torch.from_numpy(np.stack([crop_and_resize(f, 224) for f in frames])).permute(3, 0, 1, 2).float() / 127.5 - 1
    starts = list(range(0, info.frame_count - 16 + 1, 8))
    clips = torch.stack([small[:, s : s + 16] for s in starts])
    start = time.perf_counter()
    with torch.inference_mode(), runtime.autocast():
        probabilities = backbone.logits(runtime.prepare_input(clips)).float().softmax(dim=1)[:, index]
    elapsed = time.perf_counter() - start
    row = ", ".join(f"{s}-{s + 15}: {p:.2f}" for s, p in zip(starts, probabilities.tolist()))
    print(f"  I3D P(springboard diving) on {video.name}, windows: {row}")
    per_minute = elapsed / len(starts) * (info.fps * 60 / 8)
    print(f"  I3D cost {elapsed / len(starts):.2f} s per window: {per_minute:.0f} s per minute of video at stride 8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--footage", type=int, default=5, help="synthetic footage files (4 events each)")
    parser.add_argument("--no-kinetics", action="store_true", help="skip the I3D measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        synthetic_rate = synthetic(args.footage, Path(folder))
    print("real clips (10 m platform, 1280x720):")
    clip, real_rate = real()
    print(f"finder time: {real_rate:.1f} s per minute of 720p video ({real_rate * 3.6 / 60:.2f} s for a 3.6 s dive clip), "
          f"{synthetic_rate:.1f} s per minute of 192x144 footage")
    if clip is not None:
        print(f"scoring time: {scoring_seconds(clip):.1f} s per dive (demo bundle, 103 frames, 10 clips)")
        if not args.no_kinetics:
            kinetics(clip)


if __name__ == "__main__":
    main()
