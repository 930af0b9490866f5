"""Reader for FineDiving (Xu et al., CVPR 2022) as released, unchanged.

``Annotations/`` holds, keyed by ``(event name, index)``:

* ``FineDiving_coarse_annotation.pkl``: ``action_type`` (the dive number), ``start_frame``,
  ``end_frame``, ``dive_score``, ``difficulty``, ``judge_scores``;
* ``FineDiving_fine-grained_annotation.pkl``: ``action_type``, ``dive_score``, ``difficulty``,
  ``steps_transit_frames``, ``frames_labels``, ``sub-action_types``;
* ``fine-grained_annotation_aqa.pkl``: the TSA code's tuple form of the latter,
  ``(action_type, dive_score, difficulty, steps_transit_frames, frames_labels)``;
* ``train_split.pkl`` / ``test_split.pkl`` (lists of keys) and ``Sub_action_Types_Table.pkl``.

Frames are ``<frames root>/<event>/<index>/<source frame number>.jpg``, one folder per dive; the
frames root is ``FINADiving_MTL_256s/`` (or ``FineDiving/``, as the README draws it) beside
``Annotations/``, or any folder named by ``frames_root``.

FineDiving's ``judge_scores`` are the marks that COUNT, not the whole panel: 3 in individual
events, 5 in synchronised ones (2 execution + 3 synchronisation), and all 7 for the dives taken
from MTL-AQA. Counted marks are kept as they are (``judges_counted``): their rule is sum x DD
(x 0.6 synchronised); a 7-mark panel goes through the 7-judge rule. The height is read from the
event name where it has one ("Men3m" -> 3). Sub-action steps stay in the records.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aqa_core.errors import DatasetError
from aqa_core.rules import HEIGHTS

from .base import LABEL, PIXELS, DiveDataset, DiveRecord, Problem, as_int, as_list, located, pair_key, parse_float, parse_judges, require_dives, unique_listed
from .consistency import checked_labels
from .pixels import dive_folder_frames, inside, plain_name
from .safe_pickle import load_annotation_pickle, load_split_list

COARSE = "FineDiving_coarse_annotation.pkl"
FINE = "FineDiving_fine-grained_annotation.pkl"
FINE_TUPLES = ("fine-grained_annotation_aqa.pkl", "fine-grained_annotation_for_aqa.pkl")  # the README names it both ways
SUB_ACTIONS = "Sub_action_Types_Table.pkl"
ANNOTATION_NAMES = (FINE, COARSE, *FINE_TUPLES)
SPLIT_DIRS = (".", "../train_test_split")  # relative to the annotation folder
FRAME_DIRS = ("FINADiving_MTL_256s", "FineDiving")
COUNTED = {"individual": 3, "synchronised": 5}
MTL_AQA_PANEL = 7
_HEIGHT = re.compile(r"(\d+(?:\.\d+)?)m", re.IGNORECASE)
JUDGES_NOTE = (
    "FineDiving judge_scores are the counting marks only (3 individual, 5 synchronised; 7 = a whole "
    "MTL-AQA panel): trained as they are, final = their sum x DD (x 0.6 synchronised)"
)


def looks_like_finediving(path: Path) -> bool:
    return _locate(Path(path)) is not None


def read_finediving(path: Path, frames_root: Path | None = None) -> DiveDataset:
    root, anno = located(path, _locate, f"no FineDiving annotations ({' or '.join(ANNOTATION_NAMES)}, in Annotations/ or here)")
    fine, coarse = _labels(anno)
    frames = _frames_root(root, frames_root)
    listed, problems = _splits(anno)
    records = []
    for key, split in listed:
        record = _record(key, fine.get(key), coarse.get(key), split, frames, problems)
        if record is not None:
            records.append(record)
    require_dives(records, problems, anno)
    sub_actions, notes = _sub_actions(anno / SUB_ACTIONS)
    notes = {"split": "FineDiving train/test", "judge_scores": JUDGES_NOTE, "pixels": f"dive frame folders in {frames}", **notes}
    source = anno / FINE if (anno / FINE).is_file() else anno
    return DiveDataset(
        name="FineDiving", source=source, kind="finediving", records=records, notes=notes, layout="finediving", problems=problems, sub_action_names=sub_actions
    )


def _locate(path: Path) -> tuple[Path, Path] | None:
    """(dataset root, annotation folder) from the root or from ``Annotations/`` itself."""
    for anno in (path / "Annotations", path):
        if any((anno / name).is_file() for name in ANNOTATION_NAMES):
            root = anno.parent if anno == path and path.name == "Annotations" else path
            return root, anno
    return None


def _labels(anno: Path) -> tuple[dict, dict]:
    """The fine-grained labels (dict file, else the tuple file) and the coarse ones (judge scores)."""
    fine_path = anno / FINE if (anno / FINE).is_file() else next((anno / n for n in FINE_TUPLES if (anno / n).is_file()), None)
    coarse_path = anno / COARSE if (anno / COARSE).is_file() else None
    fine = _keyed(fine_path) if fine_path else {}
    coarse = _keyed(coarse_path) if coarse_path else {}
    return fine, coarse


def _keyed(path: Path) -> dict:
    data = load_annotation_pickle(path)
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected a dict keyed by (event, index), got {type(data).__name__}")
    return {_normal_key(k): v for k, v in data.items()}


def _normal_key(item: object) -> object:
    """(event, index) with the index as an int, so keys from every file compare equal; else the item as it is."""
    return pair_key(item, lambda event: event if isinstance(event, str) else None) or item


def _splits(anno: Path) -> tuple[list[tuple[object, str]], list[Problem]]:
    folder = next((anno / d for d in SPLIT_DIRS if (anno / d / "train_split.pkl").is_file()), anno)
    listed = []
    for split in ("train", "test"):
        for item in load_split_list(folder / f"{split}_split.pkl", "(event, index) pairs"):
            listed.append((_normal_key(item), split))
    return unique_listed(listed, _name)


def _frames_root(root: Path, frames_root: Path | None) -> Path:
    if frames_root is not None:
        if not Path(frames_root).is_dir():
            raise DatasetError(f"{frames_root}: frames folder does not exist")
        return Path(frames_root)
    for name in FRAME_DIRS:
        if (root / name).is_dir():
            return root / name
    raise DatasetError(f"{root}: no FineDiving frames folder ({' or '.join(FRAME_DIRS)}) beside Annotations/; name it with --frames")


def _record(key: object, fine: object, coarse: object, split: str, frames_root: Path, problems: list[Problem]) -> DiveRecord | None:
    """The dive's labels and its frames, each checked; every problem found goes to ``problems``."""
    name = _name(key)
    try:
        event_name, index = _split_key(key)
    except DatasetError as exc:
        problems.append(Problem(name, str(exc), LABEL, split))
        return None
    record, found = checked_labels(name, split, lambda: _labelled(name, event_name, split, _merge(fine, coarse)))
    try:
        folder = inside(frames_root, f"{plain_name(event_name, 'event name')}/{index}")
        frames = dive_folder_frames(folder)
    except DatasetError as exc:
        found.append(Problem(name, str(exc), PIXELS, split))
    problems.extend(found)
    if found or record is None:
        return None
    return dataclasses.replace(record, video=folder, frames=frames)


def _labelled(name: str, event_name: str, split: str, label: Mapping[str, Any]) -> DiveRecord:
    event = "synchronised" if "sync" in event_name.lower() else "individual"
    judges, counted = _judges(label.get("judge_scores"), event)
    heights = [float(m.group(1)) for m in _HEIGHT.finditer(event_name) if float(m.group(1)) in HEIGHTS]  # "2020m" is no height
    return DiveRecord(
        key=name,
        split=split,
        final_score=parse_float(label.get("dive_score"), None, "dive score", low=0.0, high=200.0),
        difficulty=parse_float(label.get("difficulty"), None, "difficulty", low=0.5, high=5.0),
        judge_scores=judges,
        judges_counted=counted,
        event=event,
        dive_number=str(label.get("action_type") or "").strip() or None,
        height=heights[0] if heights else None,
        window=_window(label),
        transit_frames=_ints(label.get("steps_transit_frames"), "steps_transit_frames"),
        frame_labels=_ints(label.get("frames_labels"), "frames_labels"),
        sub_action_types=_sub_action_pairs(label.get("sub-action_types")),
    )


def _split_key(key: object) -> tuple[str, int]:
    if not (isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], str) and isinstance(key[1], int)) or key[1] < 0:
        raise DatasetError(f"{key!r} is not an (event name, index) pair")
    return key[0], key[1]


def _merge(fine: object, coarse: object) -> dict[str, Any]:
    """One label from the fine-grained entry (dict or tuple) and the coarse one; they must agree."""
    label: dict[str, Any] = {}
    if isinstance(fine, Mapping):
        label.update(fine)
    elif isinstance(fine, Sequence) and not isinstance(fine, str) and len(fine) >= 3:
        label.update(zip(("action_type", "dive_score", "difficulty", "steps_transit_frames", "frames_labels"), fine))
    elif fine is not None:
        raise DatasetError("fine-grained annotation is neither a dict nor an (action_type, score, difficulty, ...) tuple")
    if coarse is not None and not isinstance(coarse, Mapping):
        raise DatasetError("coarse annotation is not a dict")
    if fine is None and coarse is None:
        raise DatasetError("listed in a split file but has no annotation")
    for field_name, value in (coarse or {}).items():
        if field_name in ("dive_score", "difficulty") and field_name in label and not _same(label[field_name], value):
            raise DatasetError(f"{field_name} {label[field_name]} in the fine-grained annotation but {value} in the coarse one")
        label.setdefault(field_name, value)
    return label


def _same(a: object, b: object) -> bool:
    try:
        return abs(float(a) - float(b)) < 0.005  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _judges(values: object, event: str) -> tuple[tuple[float, ...] | None, bool]:
    """The marks and whether they are the counting ones (see the module docstring)."""
    if values is None:
        return None, False
    marks = as_list(values, "judge_scores")
    if not marks:
        return None, False
    sizes = (COUNTED[event], MTL_AQA_PANEL) if event == "individual" else (COUNTED[event],)
    scores = parse_judges(marks, None, sizes)
    return scores, scores is not None and len(scores) == COUNTED[event]


def _window(label: Mapping) -> tuple[int, int] | None:
    if label.get("start_frame") is None and label.get("end_frame") is None:
        return None
    start, end = as_int(label.get("start_frame")), as_int(label.get("end_frame"))
    if start is None or end is None or start < 0 or end < start:
        raise DatasetError(f"start_frame/end_frame {label.get('start_frame')!r}/{label.get('end_frame')!r} are not a frame window")
    return start, end


def _ints(values: object, what: str) -> tuple[int, ...] | None:
    if values is None:
        return None
    try:
        numbers = [float(v) for v in as_list(values, what)]  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise DatasetError(f"{what} is not a list of numbers") from None
    if not all(math.isfinite(v) and v == int(v) for v in numbers):
        raise DatasetError(f"{what} holds a value that is not a whole frame number or label")
    return tuple(int(v) for v in numbers)


def _sub_action_pairs(types: object) -> tuple[tuple[int, str], ...] | None:
    if types is None:
        return None
    if not isinstance(types, Mapping):
        raise DatasetError("sub-action_types is not a dict")
    try:
        return tuple(sorted((int(k), str(v)) for k, v in types.items()))
    except (TypeError, ValueError):
        raise DatasetError("sub-action_types keys are not sub-action numbers") from None


def _sub_actions(path: Path) -> tuple[dict[int, str] | None, dict[str, str]]:
    if not path.is_file():
        return None, {}
    table = load_annotation_pickle(path)
    if isinstance(table, Mapping):
        try:
            return {int(k): str(v) for k, v in table.items()}, {}
        except (TypeError, ValueError):
            pass
    return None, {"sub_action_table": f"{path.name} is not a number -> name table; not used"}


def _name(key: object) -> str:
    """``event/index`` as FineDiving's folders spell it; anything else as its repr."""
    if isinstance(key, tuple) and len(key) == 2:
        return f"{key[0]}/{key[1]}"
    return repr(key)
