"""benchmarks/bench_methods.py's rotating-split protocol: its folds and its per-fold paired gain."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import bench_methods
from trainer.datasets import open_dataset


def test_rotating_folds_test_every_dive_once_validate_on_the_next_block_and_keep_the_labels(tmp_path: Path) -> None:
    data = bench_methods.toy_features(tmp_path / "toy.npz", n=50, dim=8)
    paths = bench_methods.fold_features(data, 5, tmp_path / "folds")
    whole = open_dataset(data).records
    splits = np.array([[r.split for r in open_dataset(p).records] for p in paths])  # (folds, dives)
    assert ((splits == "test").sum(axis=0) == 1).all() and ((splits == "val").sum(axis=0) == 1).all()
    assert ((splits == "test").sum(axis=1) == 10).all() and ((splits == "train").sum(axis=1) == 30).all()
    for k in range(5):  # fold k validates on the block fold k + 1 tests on
        assert np.array_equal(splits[k] == "val", splits[(k + 1) % 5] == "test")
    again = open_dataset(paths[2]).records
    assert [(r.key, r.final_score, r.difficulty, r.dive_number) for r in again] == [(r.key, r.final_score, r.difficulty, r.dive_number) for r in whole]
    assert np.array_equal(np.stack([r.features for r in again]), np.stack([r.features for r in whole]))
    assert bench_methods.fold_features(data, 5, tmp_path / "folds") == paths  # a rerun reads the files it wrote


def test_the_rotating_gain_is_the_mean_of_each_folds_own_rho_gain() -> None:
    truth = np.arange(80.0)
    folds = np.repeat([0, 1], 40)
    ridge = np.where(folds == 0, truth, -truth)  # rho 1 on fold 0, -1 on fold 1
    gain, low, high = bench_methods.rho_gain(truth.copy(), ridge, truth, folds)  # the method: rho 1 on both
    assert gain == pytest.approx(1.0) and low == pytest.approx(1.0) and high == pytest.approx(1.0)  # (0 + 2) / 2 in every resample
    single, *_ = bench_methods.rho_gain(truth.copy(), ridge, truth)
    assert single == pytest.approx(1.75, abs=0.01)  # one rho over both folds' dives: not what each fold's models were asked


def test_a_finished_mtl_aqa_run_is_reused_though_the_trainer_added_its_vocabulary(tmp_path: Path) -> None:
    """``--reuse`` compares the config asked for with the run's; MTL-AQA's logged one also holds the captions' vocabulary."""
    data = bench_methods.toy_features(tmp_path / "toy.npz", n=40, dim=8)
    arrays = dict(np.load(data))
    arrays["commentary"] = np.array(["a clean entry" if i % 2 else "some splash at the entry" for i in range(40)])
    np.savez(data, **arrays)
    model, overrides = bench_methods.method_models(8)["mtl_aqa"]
    folder = tmp_path / "run"
    bundle, _ = bench_methods.train_row("mtl_aqa", model, overrides, data, folder, epochs=1, lr=1e-3)
    assert "vocabulary" in json.loads((folder / "progress.jsonl").read_text().splitlines()[0])["config"]["model"]["mtl_aqa"]
    stamp = (folder / "progress.jsonl").stat().st_mtime_ns
    again, _ = bench_methods.train_row("mtl_aqa", model, overrides, data, folder, epochs=1, lr=1e-3, reuse=True)
    assert again == bundle and (folder / "progress.jsonl").stat().st_mtime_ns == stamp  # not trained again
    other, _ = bench_methods.train_row("mtl_aqa", model, overrides, data, folder, epochs=2, lr=1e-3, reuse=True)
    assert (folder / "progress.jsonl").stat().st_mtime_ns != stamp  # another config is trained
