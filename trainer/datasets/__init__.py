"""Dataset readers behind one interface: ``open_dataset(path)`` -> ``DiveDataset``.

The kind is detected from the path (a ``.npz`` file, our ``annotations.csv`` layout, MTL-AQA or
FineDiving) or named explicitly; every reader refuses malformed input as a whole.
"""

from __future__ import annotations

from pathlib import Path

from aqa_core.errors import DatasetError

from .base import SPLITS, DiveDataset, DiveRecord, carve_validation
from .features_npz import read_features_npz
from .finediving import looks_like_finediving, read_finediving
from .mtl_aqa import looks_like_mtl_aqa, read_mtl_aqa
from .own_csv import read_own_csv

READERS = {"own": read_own_csv, "mtl_aqa": read_mtl_aqa, "finediving": read_finediving, "features": read_features_npz}

__all__ = ["SPLITS", "DiveDataset", "DiveRecord", "READERS", "carve_validation", "detect_kind", "open_dataset"]


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


def open_dataset(path: str | Path, kind: str = "auto") -> DiveDataset:
    kind = detect_kind(Path(path)) if kind == "auto" else kind
    if kind not in READERS:
        raise DatasetError(f"{path}: unknown dataset kind {kind!r}; known: {', '.join(READERS)}")
    return READERS[kind](Path(path))
