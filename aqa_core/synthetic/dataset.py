"""``write_dataset``: a folder of synthetic dives in our own dataset layout.

Layout (what the trainer reads and the sessions export writes): ``annotations.csv`` with
``video,start_frame,end_frame,event,dive_number,height,difficulty,judge1..judge7,final_score,
split,commentary`` and the MP4 videos under ``videos/``. Beside it, ``synthetic_truth.csv``
keeps what only a generator knows (latent quality, panel mean, faults) for learnability checks,
and ``dataset.json`` says how the folder was made.

The folder is built under a hidden temporary name and renamed into place at the end, so an
interrupted run never leaves a half-written dataset that looks complete.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np

from aqa_core.errors import DatasetError
from aqa_core.synthetic.dive import DEFAULT_SIZE, SyntheticDive, generate_dive
from aqa_core.synthetic.faults import FAULTS
from aqa_core.synthetic.footage import Footage
from aqa_core.synthetic.judges import PANEL_SIZE, default_judge_model
from aqa_core.synthetic.render import Venue

SPLITS = ("train", "val", "test")
ANNOTATION_COLUMNS = (
    ["video", "start_frame", "end_frame", "event", "dive_number", "height", "difficulty"]
    + [f"judge{i}" for i in range(1, PANEL_SIZE + 1)]
    + ["final_score", "split", "commentary"]
)
VENUE_STREAM = 0x7E7E  # keeps the venue's draws apart from the dives' (whose streams are [seed, index])
TRUTH_COLUMNS = ["video", "seed", "quality", "panel_mean", "over_rotated", *FAULTS]


def dive_seed(dataset_seed: int, index: int) -> int:
    """The seed of dive ``index``: independent of n, so a smaller dataset is a prefix of a larger one."""
    return int(np.random.SeedSequence([dataset_seed, index]).generate_state(1)[0])


def dataset_venue(dataset_seed: int) -> Venue:
    """The hall and camera every dive of a dataset shares, from its own stream of the dataset seed."""
    return Venue.sample(np.random.default_rng(np.random.SeedSequence([dataset_seed, VENUE_STREAM])))


def assign_splits(n: int, seed: int, fractions: Sequence[float]) -> list[str]:
    """A shuffled split label per dive with counts rounded from ``fractions`` (train, val, test)."""
    if len(fractions) != len(SPLITS) or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise DatasetError(f"split fractions {tuple(fractions)} must be three non-negative numbers summing to 1")
    train = int(round(fractions[0] * n))
    val = min(int(round(fractions[1] * n)), n - train)
    labels = ["train"] * train + ["val"] * val + ["test"] * (n - train - val)
    order = np.random.default_rng(seed).permutation(n)
    return [labels[i] for i in order]


def write_video(path: Path, dive: SyntheticDive | Footage) -> None:
    """An 'mp4v' MP4 of a dive or of untrimmed footage (anything with ``frames`` and ``fps``)."""
    height, width = dive.frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), dive.fps, (width, height))
    if not writer.isOpened():
        raise DatasetError(f"{path}: OpenCV cannot write an MP4 (mp4v) video here")
    try:
        for frame in dive.frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()


def _annotation_row(video: str, dive: SyntheticDive, split: str) -> list[str]:
    return [
        video,
        "0",
        str(len(dive.frames) - 1),
        "individual",
        dive.dive_number,
        f"{dive.height:g}",
        f"{dive.difficulty:g}",
        *(f"{score:g}" for score in dive.judge_scores),
        f"{dive.final_score:.2f}",
        split,
        dive.commentary,
    ]


def _truth_row(video: str, seed: int, dive: SyntheticDive) -> list[str]:
    faults = (f"{dive.faults[name]:.4f}" for name in FAULTS)
    return [video, str(seed), f"{dive.quality:.4f}", f"{dive.panel_mean:.4f}", str(int(dive.over_rotated)), *faults]


def _write_csv(path: Path, header: Sequence[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _prepare_target(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DatasetError(f"{out}: already exists and is not an empty folder; choose a new output folder")


def write_dataset(
    out_dir: str | Path,
    n: int,
    seed: int,
    split_fractions: Sequence[float] = (0.7, 0.15, 0.15),
    size: tuple[int, int] = DEFAULT_SIZE,
    progress: Callable[[int, int], None] | None = None,
    venue: Venue | None = None,
) -> Path:
    """Generate ``n`` dives into ``out_dir`` (which must not exist or be empty); returns the folder.

    ``size`` is (width, height); ``progress(done, n)`` is called after each dive. All dives are
    filmed at one venue (a dataset is one competition's broadcast): ``venue``, by default the one
    drawn from ``seed``.
    """
    out = Path(out_dir)
    if n < 1:
        raise DatasetError(f"{out}: the number of dives must be at least 1, not {n}")
    _prepare_target(out)
    splits = assign_splits(n, seed, split_fractions)
    venue = venue or dataset_venue(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "videos").mkdir(parents=True)
    try:
        annotations, truth = [], []
        for index in range(n):
            seed_i = dive_seed(seed, index)
            dive = generate_dive(seed_i, size=size, venue=venue)
            video = f"videos/dive_{index + 1:05d}.mp4"
            write_video(staging / video, dive)
            annotations.append(_annotation_row(video, dive, splits[index]))
            truth.append(_truth_row(video, seed_i, dive))
            if progress:
                progress(index + 1, n)
        _write_csv(staging / "synthetic_truth.csv", TRUTH_COLUMNS, truth)
        card = {
            "kind": "synthetic diving dataset (aqa_core.synthetic)",
            "synthetic": True,  # the trainer's data card marks models trained on it as demo-only
            "dives": n,
            "seed": seed,
            "size": list(size),
            "split_fractions": list(split_fractions),
            "judge_model": default_judge_model().source,
            "venue": asdict(venue),
        }
        (staging / "dataset.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        _write_csv(staging / "annotations.csv", ANNOTATION_COLUMNS, annotations)
        _prepare_target(out)  # nobody filled it while we worked
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out
