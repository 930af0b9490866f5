"""Feature-cache mode (resumable cache from a real backbone run) and end-to-end fine-tuning,
both with the tiny backbone on tiny videos in our own dataset layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from aqa_core.bundle import load_bundle
from aqa_core.clips import load_dive_clips
from aqa_core.registry import BACKBONES
from trainer.config import config_from_dict
from trainer.datasets import open_dataset
from trainer.features import extract_features, feature_keys
from trainer.progress import ProgressStream, read_events
from trainer.run import train

TINY = {"name": "tiny", "feature_dim": 16, "seed": 0}
HEADER = "video,start_frame,end_frame,event,dive_number,height,difficulty," + ",".join(f"judge{i}" for i in range(1, 8)) + ",final_score,split,commentary\n"


def tiny_dataset(folder: Path, tiny_video) -> Path:
    rows = []
    for i, split in enumerate(["train", "train", "train", "val", "test"]):
        name = f"dive{i}.mp4"
        tiny_video(count=20 + i, name=name)
        judges = [5 + i * 0.5] * 7
        rows.append(f"{name},,,individual,107B,10,3.0,{','.join(map(str, judges))},{sum(judges[2:5]) * 3.0:.2f},{split},\n")
    (folder / "annotations.csv").write_text(HEADER + "".join(rows))
    return folder


def make_config(folder: Path, work: str, **overrides):
    raw = {
        "dataset": ".", "work_dir": work, "out": f"{work}/bundle", "feature_cache": "cache", "epochs": 1, "batch_size": 2,
        "model": {"backbone": TINY, "head": {"name": "musdl", "judges": 7, "in_dim": 16, "hidden": [8]}}, **overrides,
    }
    return config_from_dict(raw, folder, "test config")


def test_feature_cache_holds_backbone_output_and_is_reused(tmp_path: Path, tiny_video) -> None:
    tiny_dataset(tmp_path, tiny_video)
    config = make_config(tmp_path, "run1")
    train(config)
    cache = sorted((tmp_path / "cache").glob("*.npy"))
    assert len(cache) == 5
    record = open_dataset(tmp_path).records[0]
    backbone = BACKBONES.build(TINY).eval()
    with torch.no_grad():
        expected = backbone(load_dive_clips(record.video).clips).numpy()
    got = extract_features([record], config.model, tmp_path / "cache")[0]
    np.testing.assert_allclose(got, expected, rtol=0.05, atol=0.02)  # cache was written under the runtime's autocast
    stamps = [p.stat().st_mtime_ns for p in cache]
    train(make_config(tmp_path, "run2"))
    assert [p.stat().st_mtime_ns for p in cache] == stamps  # nothing recomputed


def test_every_splits_features_are_one_extraction_with_one_count(tmp_path: Path, tiny_video) -> None:
    """The trainer's features bar counts every dive to extract once (a bar per split started again at 0 for each)."""
    tiny_dataset(tmp_path, tiny_video)
    config = make_config(tmp_path, "run")
    train(config, progress=ProgressStream(tmp_path / "progress.jsonl", stdout=False, bar=False))
    counts = [(e["done"], e["total"]) for e in read_events(tmp_path / "progress.jsonl") if e["event"] == "features"]
    assert counts and {total for _, total in counts} == {5}  # 3 training, 1 validation, 1 test dive
    assert counts[-1] == (5, 5) and counts[0][0] == 0
    cached = {p.stem for p in (tmp_path / "cache").glob("*.npy")}
    assert cached == set(feature_keys(open_dataset(tmp_path).records, config.model))


def test_finetune_updates_backbone_with_accumulation(tmp_path: Path, tiny_video) -> None:
    tiny_dataset(tmp_path, tiny_video)
    train(make_config(tmp_path, "ft", mode="finetune", accumulate=2, lr=1e-2))
    checkpoint = next((tmp_path / "ft" / "checkpoints").glob("epoch*.safetensors"))
    tensors = load_file(str(checkpoint))
    initial = BACKBONES.build(TINY).state_dict()
    changed = [k for k, v in initial.items() if f"model.backbone.{k}" in tensors and not torch.equal(tensors[f"model.backbone.{k}"], v)]
    assert changed, "fine-tuning left every backbone weight untouched"
    bundle = load_bundle(tmp_path / "ft" / "bundle")  # the best epoch's backbone travels with the heads
    assert bundle.backbone_state is not None and bundle.backbone_state.keys() == initial.keys()
    assert all(torch.equal(bundle.backbone_state[k], tensors[f"best.backbone.{k}"]) for k in initial)
    # Evaluating a fine-tuned bundle extracts with its own backbone, cached apart from the stock one's features.
    record = open_dataset(tmp_path).records[0]
    tuned_state = {k: v * 1.5 for k, v in bundle.backbone_state.items()}  # the best epoch here was the first; make it differ
    tuned = extract_features([record], bundle.config, tmp_path / "eval", backbone_state=tuned_state)[0]
    stock = extract_features([record], bundle.config, tmp_path / "eval")[0]
    module = BACKBONES.build(TINY).eval()
    module.load_state_dict(tuned_state)
    with torch.no_grad():
        expected = module(load_dive_clips(record.video).clips).numpy()
    np.testing.assert_allclose(tuned, expected, rtol=0.05, atol=0.02)
    assert len(list((tmp_path / "eval").glob("*.npy"))) == 2 and not np.allclose(tuned, stock, rtol=0.05, atol=0.02)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (scripts/gpu_check runs this file there)")
def test_features_extracted_on_cuda_are_float32_like_the_cpus(tmp_path: Path, tiny_video) -> None:
    """The cache key does not name the engine, so a GPU must cache float32's features, not CUDA's bf16 "auto"."""
    from aqa_core.runtime import choose_runtime
    from trainer.datasets import DiveRecord
    from trainer.features import FEATURE_ATOL, FEATURE_RTOL

    records = [DiveRecord(key="d", split="train", final_score=0.0, video=tiny_video(count=20, name="d.mp4"))]
    model = {"backbone": TINY, "segmentation": "usdl_10x16"}
    on_gpu = extract_features(records, model, tmp_path / "gpu", ProgressStream(tmp_path / "log.jsonl", stdout=False))
    device = next(e["device"] for e in read_events(tmp_path / "log.jsonl") if e["event"] == "features" and "device" in e)
    assert device.startswith("CUDA") and device.endswith("float32"), device
    on_cpu = extract_features(records, model, tmp_path / "cpu", runtime=choose_runtime("cpu", "float32"))
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=FEATURE_RTOL, atol=FEATURE_ATOL)
