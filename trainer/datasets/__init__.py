"""Dataset readers behind one interface: ``open_dataset(path)`` -> ``DiveDataset``.

The kind is detected from the path (a ``.npz`` file, our ``annotations.csv`` layout, MTL-AQA in
any of its layouts, or FineDiving) or named explicitly. ``inspect_dataset`` reads and checks
everything and returns every problem (``aqa-judge dataset check``); ``open_dataset`` does the same
and then applies the policy (left out and listed, ``partial``, ``strict``) that training uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from aqa_core.errors import DatasetError

from .base import SPLITS, DiveDataset, DiveRecord, Problem, apply_policy, carve_validation
from .features_npz import read_features_npz
from .finediving import looks_like_finediving, read_finediving
from .mtl_aqa import looks_like_mtl_aqa, read_mtl_aqa
from .own_csv import read_own_csv
from .video_damage import check_videos

if TYPE_CHECKING:
    from trainer.progress import ProgressStream

READERS = {"own": read_own_csv, "mtl_aqa": read_mtl_aqa, "finediving": read_finediving, "features": read_features_npz}

__all__ = ["SPLITS", "DiveDataset", "DiveRecord", "Problem", "READERS", "carve_validation", "detect_kind", "inspect_dataset", "open_dataset"]


def detect_kind(path: Path) -> str:
    path = Path(path)
    if path.is_file() and path.suffix == ".npz":
        return "features"
    if not path.is_dir():
        raise DatasetError(f"{path}: no such dataset folder or .npz file")
    if looks_like_finediving(path):
        return "finediving"
    if looks_like_mtl_aqa(path):
        return "mtl_aqa"
    if (path / "annotations.csv").is_file():
        return "own"
    raise DatasetError(f"{path}: not a known dataset layout (annotations.csv, MTL-AQA or FineDiving files, or a .npz)")


def inspect_dataset(path: str | Path, kind: str = "auto", frames_root: str | Path | None = None) -> DiveDataset:
    """Read and check the whole dataset; problem dives are in ``problems``, not in ``records``."""
    kind = detect_kind(Path(path)) if kind == "auto" else kind
    if kind not in READERS:
        raise DatasetError(f"{path}: unknown dataset kind {kind!r}; known: {', '.join(READERS)}")
    if kind == "features":
        if frames_root is not None:
            raise DatasetError(f"{path}: a features file has no frames; frames_root does not apply")
        return read_features_npz(Path(path))
    return READERS[kind](Path(path), Path(frames_root) if frames_root is not None else None)


def open_dataset(
    path: str | Path, kind: str = "auto", frames_root: str | Path | None = None, strict: bool = False, partial: bool = False,
    check_damage: bool = False, progress: ProgressStream | None = None,
) -> DiveDataset:
    """The dataset as training and evaluation use it: checked whole, then the policy applied.

    ``check_damage``: decode every video once more for FFmpeg's errors (``video_damage``) before the
    policy, so a damaged video refuses like a missing frame; ``progress`` hears how far that is.
    """
    dataset = inspect_dataset(path, kind, frames_root)
    if check_damage:
        dataset = check_videos(dataset, progress)
    return apply_policy(dataset, strict=strict, partial=partial)
