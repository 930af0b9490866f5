"""One dataset interface for every source (our CSV layout, MTL-AQA, FineDiving, feature files).

Readers turn a source into a ``DiveDataset`` of ``DiveRecord`` rows. Each reader validates the
whole source before returning anything, so a malformed row never yields a half-imported
dataset: the first problem raises ``DatasetError`` naming the file, the row and the reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aqa_core.errors import DatasetError

SPLITS = ("train", "val", "test")
PANEL_SIZES = (5, 7, 9, 11)


@dataclass(frozen=True)
class DiveRecord:
    """One labelled dive: where its pixels (or features) are and what the judges said."""

    key: str  # unique within the dataset; names the dive in messages and in the feature cache
    split: str  # "train" | "val" | "test"
    final_score: float
    difficulty: float | None = None
    judge_scores: tuple[float, ...] | None = None
    event: str = "individual"
    dive_number: str | None = None
    height: float | None = None
    video: Path | None = None  # a video file, or a folder of frame images
    window: tuple[int, int] | None = None  # first and last frame (inclusive) inside ``video``
    commentary: str = ""
    features: np.ndarray | None = field(default=None, compare=False, repr=False)  # (clips, D)


@dataclass
class DiveDataset:
    """All records of one source plus notes that end up in the model's data card."""

    name: str
    source: Path
    kind: str
    records: list[DiveRecord]
    notes: dict[str, object] = field(default_factory=dict)

    def split(self, name: str) -> list[DiveRecord]:
        return [r for r in self.records if r.split == name]

    def split_sizes(self) -> dict[str, int]:
        return {name: len(self.split(name)) for name in SPLITS}

    @property
    def judges(self) -> int | None:
        """Panel size shared by every record, or None when some record lacks judge scores."""
        sizes = {len(r.judge_scores) if r.judge_scores else 0 for r in self.records}
        return sizes.pop() if len(sizes) == 1 and 0 not in sizes else None


def carve_validation(dataset: DiveDataset, fraction: float = 0.15, seed: int = 0) -> DiveDataset:
    """Give a source without a validation split one, drawn (seeded) from train.

    Why: model selection and early stopping must never look at test. The carve is recorded in
    ``notes`` so the data card says where the validation dives came from.
    """
    if dataset.split("val"):
        return dataset
    train = [i for i, r in enumerate(dataset.records) if r.split == "train"]
    count = int(round(len(train) * fraction))
    if len(train) < 2 or count < 1:
        raise DatasetError(f"{dataset.source}: too few training dives ({len(train)}) to carve a validation split")
    chosen = set(np.random.default_rng(seed).choice(train, size=count, replace=False).tolist())
    records = [dataclasses.replace(r, split="val") if i in chosen else r for i, r in enumerate(dataset.records)]
    notes = {**dataset.notes, "validation": f"carved {count} of {len(train)} training dives (fraction {fraction}, seed {seed})"}
    return dataclasses.replace(dataset, records=records, notes=notes)


def parse_float(text: object, where: str, what: str, *, low: float | None = None, high: float | None = None) -> float:
    """A finite number inside [low, high], or DatasetError saying which value is wrong."""
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DatasetError(f"{where}: {what} {text!r} is not a number") from None
    if not np.isfinite(value) or (low is not None and value < low) or (high is not None and value > high):
        raise DatasetError(f"{where}: {what} {value} is out of range [{low}, {high}]")
    return value


def parse_judges(values: Sequence[object], where: str) -> tuple[float, ...] | None:
    """Judge scores 0-10 in half points, in a panel of 5, 7, 9 or 11; None when all are blank."""
    present = [v for v in values if v is not None and str(v).strip() != ""]
    if not present:
        return None
    if len(present) != len(values) or len(present) not in PANEL_SIZES:
        raise DatasetError(f"{where}: expected 5, 7, 9 or 11 judge scores, got {len(present)} of {len(values)}")
    scores = tuple(parse_float(v, where, "judge score", low=0.0, high=10.0) for v in present)
    for s in scores:
        if s * 2 != round(s * 2):
            raise DatasetError(f"{where}: judge score {s} is not a half point")
    return scores


def parse_split(text: str, where: str) -> str:
    aliases = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
    split = aliases.get(text.strip().lower())
    if split is None:
        raise DatasetError(f"{where}: split {text!r} is not one of train, val, test")
    return split


def require_unique_keys(records: Sequence[DiveRecord], source: Path) -> None:
    seen: set[str] = set()
    for r in records:
        if r.key in seen:
            raise DatasetError(f"{source}: dive {r.key} appears twice")
        seen.add(r.key)
    if not records:
        raise DatasetError(f"{source}: no dives found")
