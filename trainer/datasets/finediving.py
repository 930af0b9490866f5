"""Reader for the FineDiving layout (Xu et al., CVPR 2022) as distributed.

``FineDiving_fine-grained_annotation.pkl`` maps ``(event, index)`` to a dict (``action_type``,
``dive_score``, ``difficulty``, ``judge_scores``, ``start_frame``, ``end_frame``, ...); the older
``fine-grained_annotation_aqa.pkl`` maps it to a tuple ``(action_type, dive_score, difficulty, ...)``.
Splits are ``train_split.pkl`` / ``test_split.pkl``; frames are
``FINADiving_MTL_256s/<event>/<index>/*.jpg``. Files may sit in the root or in ``Annotations/``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from aqa_core.errors import DatasetError

from .base import DiveDataset, DiveRecord, parse_float, parse_judges, require_unique_keys
from .safe_pickle import load_annotation_pickle, load_split_list

ANNOTATION_FILES = ("FineDiving_fine-grained_annotation.pkl", "fine-grained_annotation_aqa.pkl")
FRAME_DIRS = ("FINADiving_MTL_256s", "FineDiving", ".")
_HEIGHT = re.compile(r"(\d+(?:\.\d+)?)m", re.IGNORECASE)


def looks_like_finediving(root: Path) -> bool:
    return _annotation_file(Path(root)) is not None


def read_finediving(root: Path) -> DiveDataset:
    root = Path(root)
    anno_path = _annotation_file(root)
    if anno_path is None:
        raise DatasetError(f"{root}: no FineDiving annotations ({' or '.join(ANNOTATION_FILES)})")
    labels = load_annotation_pickle(anno_path)
    if not isinstance(labels, dict):
        raise DatasetError(f"{anno_path}: expected a dict keyed by (event, index), got {type(labels).__name__}")
    records = []
    for split in ("train", "test"):
        split_path = anno_path.parent / f"{split}_split.pkl"
        keys = load_split_list(split_path, "(event, index) pairs")
        for key in keys:
            where = f"{anno_path}, dive {key!r}"
            if not isinstance(key, tuple) or len(key) != 2:
                raise DatasetError(f"{split_path}: {key!r} is not an (event, index) pair")
            if key not in labels:
                raise DatasetError(f"{where}: listed in {split_path.name} but has no annotation")
            records.append(_record(root, key, labels[key], split, where))
    require_unique_keys(records, anno_path)
    return DiveDataset(name="FineDiving", source=anno_path, kind="finediving", records=records, notes={"split": "FineDiving train/test"})


def _record(root: Path, key: tuple, label: object, split: str, where: str) -> DiveRecord:
    if isinstance(label, Mapping):
        number, score, difficulty = label.get("action_type"), label.get("dive_score"), label.get("difficulty")
        judges = label.get("judge_scores")
    elif isinstance(label, Sequence) and len(label) >= 3:
        number, score, difficulty, judges = label[0], label[1], label[2], None
    else:
        raise DatasetError(f"{where}: annotation is neither a dict nor an (action_type, score, difficulty, ...) tuple")
    if score is None or difficulty is None:
        raise DatasetError(f"{where}: annotation lacks dive_score or difficulty")
    event_name, index = str(key[0]), key[1]
    frames = next((root / d / event_name / str(index) for d in FRAME_DIRS if (root / d / event_name / str(index)).is_dir()), None)
    if frames is None:
        raise DatasetError(f"{where}: frame folder FINADiving_MTL_256s/{event_name}/{index}/ not found under {root}")
    height = _HEIGHT.search(event_name)
    return DiveRecord(
        key=f"{event_name}/{index}",
        split=split,
        final_score=parse_float(score, where, "dive score", low=0.0, high=200.0),
        difficulty=parse_float(difficulty, where, "difficulty", low=0.5, high=5.0),
        judge_scores=parse_judges(list(judges), where) if judges is not None and len(judges) else None,
        event="synchronised" if "synchro" in event_name.lower() else "individual",
        dive_number=str(number).strip() or None if number is not None else None,
        height=float(height.group(1)) if height else None,
        video=frames,
    )


def _annotation_file(root: Path) -> Path | None:
    for folder in (".", "Annotations"):
        for name in ANNOTATION_FILES:
            if (root / folder / name).is_file():
                return root / folder / name
    return None
