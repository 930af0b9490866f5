"""benchmarks/bench_learnability.py's ``--cached-only`` subset: the dives the trainer's own cache keys find."""

from __future__ import annotations

import csv
from pathlib import Path

from aqa_core.synthetic import write_dataset
from trainer.datasets import open_dataset
from trainer.features import extract_features
from benchmarks import bench_learnability



def test_cached_only_keeps_the_dives_whose_features_the_trainer_cached(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "dives", 2, seed=1, size=(128, 96))
    # No segmentation in the config: the trainer cuts the backbone's declared one (R(2+1)D: 6 uniform clips), so a key
    # guessed from the raw config (USDL's 10 x 16 frames) names files the trainer never wrote.
    model = {"backbone": {"name": "r2plus1d", "pretrained": False}}
    records = open_dataset(data).records
    cache = tmp_path / "cache"
    extract_features(records[1:], model, cache)  # the trainer caches one of the two dives (R(2+1)D: seconds of CPU)
    subset = bench_learnability.cached_subset(data, cache, model, tmp_path / "subset")
    with (subset / "annotations.csv").open(newline="", encoding="utf-8") as handle:
        kept = [row["video"] for row in csv.DictReader(handle)]
    assert [str((data / v).resolve()) for v in kept] == [str(r.video) for r in records[1:]]
    assert [r.key for r in open_dataset(subset).records] == [r.key for r in records[1:]]
