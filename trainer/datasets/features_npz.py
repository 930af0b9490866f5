"""Reader for precomputed features: one ``.npz`` with ``features`` (N x D or N x clips x D),
``final_score`` and optional ``judge_scores`` (N x K), ``difficulty`` (N), ``split`` (N strings),
``dive_number`` (N FINA numbers, for methods that recognise dives), ``commentary`` (N lines, for
methods that write commentary) and ``dive_id`` (N unique names, used as the dives' keys in messages
and evaluation output).

Why a separate reader: researchers often hold features but not videos; training the heads
from them needs no backbone at all.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aqa_core.errors import DatasetError
from aqa_core.files import load_npz

from .base import DiveDataset, DiveRecord, parse_float, parse_judges, parse_split, duplicate_problems


# 100,000 dives x 10 clips x 1024 float32 features is 4 GB; no real features file is larger.
MAX_NPZ_BYTES = 4 << 30


def read_features_npz(path: Path) -> DiveDataset:
    path = Path(path)
    arrays = load_npz(path, MAX_NPZ_BYTES, DatasetError)
    for name in ("features", "final_score"):
        if name not in arrays:
            raise DatasetError(f"{path}: missing array '{name}'")
    features = arrays["features"].astype(np.float32)
    if features.ndim == 2:
        features = features[:, None, :]
    if features.ndim != 3 or features.shape[0] == 0:
        raise DatasetError(f"{path}: 'features' must be N x D or N x clips x D, got shape {arrays['features'].shape}")
    if features.shape[1] == 0 or features.shape[2] == 0:
        raise DatasetError(f"{path}: 'features' has shape {arrays['features'].shape}: every dive needs at least one clip of at least one feature")
    if not np.isfinite(features).all():
        raise DatasetError(f"{path}: 'features' contains NaN or infinity")
    n = features.shape[0]
    for name in ("final_score", "judge_scores", "difficulty", "split", "dive_id", "dive_number", "commentary"):
        if name in arrays and len(arrays[name]) != n:
            raise DatasetError(f"{path}: '{name}' has {len(arrays[name])} rows but 'features' has {n}")
    records = []
    for i in range(n):
        where = f"{path}, row {i}"
        judges = arrays.get("judge_scores")
        records.append(
            DiveRecord(
                key=str(arrays["dive_id"][i]) if "dive_id" in arrays else f"row{i}",
                split=parse_split(str(arrays["split"][i]), where) if "split" in arrays else "train",
                final_score=parse_float(arrays["final_score"][i], where, "final score", low=0.0, high=200.0),
                difficulty=parse_float(arrays["difficulty"][i], where, "difficulty", low=0.5, high=5.0) if "difficulty" in arrays else None,
                judge_scores=parse_judges(list(judges[i]), where) if judges is not None else None,
                dive_number=str(arrays["dive_number"][i]) if "dive_number" in arrays else None,
                commentary=str(arrays["commentary"][i]) if "commentary" in arrays else "",
                features=features[i],
            )
        )
    duplicates = duplicate_problems([(r.key, r.split) for r in records])
    if duplicates:  # the keys name dives in evaluation output: two rows under one name would be misread
        raise DatasetError(f"{path}: dive {duplicates[0].dive} appears twice")
    return DiveDataset(name=path.stem, source=path, kind="features", records=records)
