"""One dataset interface for every source (our CSV layout, MTL-AQA, FineDiving, feature files).

Readers turn a source into a ``DiveDataset`` of ``DiveRecord`` rows. Each reader reads and checks
the whole source before returning anything (labels, splits, every dive's frames or video window),
so nothing is extracted or trained before all of it has been seen. A file that cannot be read at
all raises ``DatasetError``; a problem with one dive (a typo in a mark, a final score the rule
does not give, missing frames) is collected as a ``Problem`` and that dive is kept out of
``records``. ``apply_policy`` then decides: by default label problems are left out and listed,
missing pixels refuse unless ``partial`` is asked for, and ``strict`` refuses any problem. Labels
are never repaired.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from aqa_core.errors import DatasetError

SPLITS = ("train", "val", "test")
PANEL_SIZES = (5, 7, 9, 11)
LABEL, PIXELS = "label", "pixels"  # Problem kinds: a wrong value, or frames/video not usable
K = TypeVar("K")


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
    # The dive's frame images in order, resolved and checked by the reader (None: read ``video``).
    frames: tuple[Path, ...] | None = field(default=None, compare=False, repr=False)
    caption: tuple[str, ...] | None = None  # MTL-AQA commentary tokens (<sos> ... <eos>)
    # FineDiving's judge_scores are only the marks that count (3 individual, 5 synchronised):
    # their rule is sum x DD (x 0.6 synchronised), with no judges dropped.
    judges_counted: bool = False
    transit_frames: tuple[int, ...] | None = None  # FineDiving steps_transit_frames
    frame_labels: tuple[int, ...] | None = None  # FineDiving sub-action label of every frame
    sub_action_types: tuple[tuple[int, str], ...] | None = None  # FineDiving sub-action id -> name


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one dive; ``dive`` is the dataset's own key written plainly."""

    dive: str
    problem: str
    kind: str = LABEL  # LABEL: left out by default; PIXELS: refused unless training is partial
    split: str | None = None

    def to_dict(self) -> dict[str, str]:
        return {"dive": self.dive, "problem": self.problem}


@dataclass
class DiveDataset:
    """All records of one source plus notes that end up in the model's data card."""

    name: str
    source: Path
    kind: str
    records: list[DiveRecord]  # the usable dives only
    notes: dict[str, object] = field(default_factory=dict)
    layout: str = ""  # which release this was read as, e.g. "mtl_aqa_core"
    problems: list[Problem] = field(default_factory=list)  # dives kept out of ``records`` and why
    vocab: dict[str, int] | None = None  # MTL-AQA caption vocabulary (word -> index)
    sub_action_names: dict[int, str] | None = None  # FineDiving Sub_action_Types_Table
    set_aside: list[str] = field(default_factory=list)  # sound dives the model has no paths for (datasets.counted)

    def split(self, name: str) -> list[DiveRecord]:
        return [r for r in self.records if r.split == name]

    def split_sizes(self) -> dict[str, int]:
        return {name: len(self.split(name)) for name in SPLITS}

    def listed_sizes(self) -> dict[str, int]:
        """Dives each split names, usable or not (the data card says how many of them were used)."""
        left_out = {p.dive: p.split for p in self.problems}
        sizes = self.split_sizes()
        for split in left_out.values():
            if split in sizes:
                sizes[split] += 1
        return sizes

    def left_out(self) -> dict[str, list[str]]:
        """Each problem dive and all its reasons, in the order found."""
        reasons: dict[str, list[str]] = {}
        for p in self.problems:
            reasons.setdefault(p.dive, []).append(p.problem)
        return reasons

    @property
    def judges(self) -> int | None:
        """Panel size shared by every record, or None when some record lacks judge scores."""
        sizes = {len(r.judge_scores) if r.judge_scores else 0 for r in self.records}
        return sizes.pop() if len(sizes) == 1 and 0 not in sizes else None


def validation_count(train: int, fraction: float) -> int:
    """How many of ``train`` dives a source without a validation split gives to it; 0: too few to carve one."""
    count = int(round(train * fraction))
    return count if train >= 2 and count >= 1 else 0


def carve_validation(dataset: DiveDataset, fraction: float = 0.15, seed: int = 0) -> DiveDataset:
    """Give a source without a validation split one, drawn (seeded) from train.

    Why: model selection and early stopping must never look at test. The carve is recorded in
    ``notes`` so the data card says where the validation dives came from.
    """
    if dataset.split("val"):
        return dataset
    train = [i for i, r in enumerate(dataset.records) if r.split == "train"]
    count = validation_count(len(train), fraction)
    if not count:
        raise DatasetError(f"{dataset.source}: too few training dives ({len(train)}) to carve a validation split")
    chosen = set(np.random.default_rng(seed).choice(train, size=count, replace=False).tolist())
    records = [dataclasses.replace(r, split="val") if i in chosen else r for i, r in enumerate(dataset.records)]
    notes = {**dataset.notes, "validation": f"carved {count} of {len(train)} training dives (fraction {fraction}, seed {seed})"}
    return dataclasses.replace(dataset, records=records, notes=notes)


def apply_policy(dataset: DiveDataset, strict: bool = False, partial: bool = False) -> DiveDataset:
    """Refuse, or keep the problem dives out and say so in ``notes`` (hence in the data card).

    Why two kinds: a typo in a few labels is normal in real releases and leaving those dives out
    loses little, but missing frames usually mean an unfinished download, which must not turn
    silently into a smaller dataset.
    """
    problems = dataset.problems
    if not problems:
        return dataset
    if strict:
        raise DatasetError(f"{dataset.source}: --strict refuses {_count(problems)} with problems: {_sample(problems)}")
    missing = [p for p in problems if p.kind == PIXELS]
    if missing and not partial:
        raise DatasetError(
            f"{dataset.source}: frames or video unusable for {_count(missing)} ({_sample(missing)}); "
            "train on the dives that are usable with the partial option, or fix the download or the files"
        )
    notes = {**dataset.notes, "left_out": f"{len(dataset.left_out())} dives with problems left out (listed in the data card)"}
    return dataclasses.replace(dataset, notes=notes)


def _count(problems: Sequence[Problem]) -> str:
    dives = len({p.dive for p in problems})
    return f"{dives} dive{'s' if dives != 1 else ''}"


def _sample(problems: Sequence[Problem], shown: int = 3) -> str:
    text = "; ".join(f"{p.dive}: {p.problem}" for p in problems[:shown])
    return text + (f"; and {len(problems) - shown} more (aqa-judge dataset check lists them all)" if len(problems) > shown else "")


def _at(where: str | None, message: str) -> str:
    return f"{where}: {message}" if where else message


def as_int(value: object) -> int | None:
    """A whole number from an annotation (int, numpy int, integral float, digit string), else None.

    Why not ``int()``: it truncates 1.5 to 1 and raises OverflowError on infinity.
    """
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if np.isfinite(value) and value == int(value) else None
    if isinstance(value, str):
        digits = value.strip().removeprefix("-")  # one sign: "--5" is not a number
        return int(value.strip()) if digits.isascii() and digits.isdigit() else None  # "²" is a digit to isdigit, not to int
    return None


def pair_key(item: object, first: Callable[[object], Any] = as_int) -> tuple[Any, int] | None:
    """A two-part dive key from an annotation file, MTL-AQA's (video, clip) or FineDiving's (event, index).

    A tuple or list of two whose first part ``first`` reads (None: not readable) and whose second
    is a whole number; None when the item is not such a key.
    """
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        return None
    head, index = first(item[0]), as_int(item[1])
    return (head, index) if head is not None and index is not None else None


def as_list(value: object, what: str) -> list[object]:
    """A list, tuple or 1-d array from an annotation as a list; DatasetError for anything else."""
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return list(value)
    raise DatasetError(f"{what} {value!r} is not a list")


def parse_float(text: object, where: str | None, what: str, *, low: float | None = None, high: float | None = None) -> float:
    """A finite number inside [low, high], or DatasetError saying which value is wrong."""
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DatasetError(_at(where, f"{what} {text!r} is not a number")) from None
    if not np.isfinite(value) or (low is not None and value < low) or (high is not None and value > high):
        raise DatasetError(_at(where, f"{what} {value:g} is out of range [{low:g}, {high:g}]" if low is not None and high is not None else f"{what} {value} is out of range"))
    return value


def parse_judges(values: Sequence[object], where: str | None, sizes: Sequence[int] = PANEL_SIZES) -> tuple[float, ...] | None:
    """Judge scores 0-10 in half points, as many as one of ``sizes``; None when all are blank."""
    present = [v for v in values if v is not None and str(v).strip() != ""]
    if not present:
        return None
    if len(present) != len(values) or len(present) not in sizes:
        allowed = ", ".join(str(n) for n in sizes[:-1]) + f" or {sizes[-1]}" if len(sizes) > 1 else str(sizes[0])
        raise DatasetError(_at(where, f"expected {allowed} judge scores, got {len(present)} of {len(values)}"))
    scores = tuple(parse_float(v, where, "judge score", low=0.0, high=10.0) for v in present)
    for s in scores:
        if s * 2 != round(s * 2):
            raise DatasetError(_at(where, f"judge score {s:g} is not a half point"))
    return scores


def parse_split(text: str, where: str | None) -> str:
    aliases = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
    split = aliases.get(str(text).strip().lower())
    if split is None:
        raise DatasetError(_at(where, f"split {text!r} is not one of train, val, test"))
    return split


def duplicate_problems(keys: Sequence[tuple[str, str | None]]) -> list[Problem]:
    """A dive named twice (in one split file, in both, or on two rows) is a problem, not a merge."""
    seen: dict[str, int] = {}
    for key, _ in keys:
        seen[key] = seen.get(key, 0) + 1
    problems, told = [], set()
    for key, split in keys:
        if seen[key] > 1 and key not in told:
            told.add(key)
            problems.append(Problem(key, f"listed {seen[key]} times", LABEL, split))
    return problems


def unique_listed(listed: Sequence[tuple[K, str]], name: Callable[[K], str]) -> tuple[list[tuple[K, str]], list[Problem]]:
    """Split-file entries without the dives named more than once, and those dives as problems."""
    duplicates = duplicate_problems([(name(k), s) for k, s in listed])
    twice = {p.dive for p in duplicates}
    return [(k, s) for k, s in listed if name(k) not in twice], duplicates


def located(path: Path, locate: Callable[[Path], K | None], missing: str) -> K:
    """What a reader's ``locate`` finds from any of its layout's natural folders, or DatasetError saying what is missing."""
    found = locate(Path(path))
    if found is None:
        raise DatasetError(f"{path}: {missing}")
    return found


def require_dives(records: Sequence[DiveRecord], problems: Sequence[Problem], source: Path) -> None:
    if not records and not problems:
        raise DatasetError(f"{source}: no dives found")
