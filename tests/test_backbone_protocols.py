"""C3D and R(2+1)D: shapes, declared preprocessing, weights from a named file, and what a bundle records of them.

Random weights stand in for the published ones (Sports-1M C3D is 320 MB, R(2+1)D-18 126 MB);
they are written in every layout the real files come in (legacy and zip ``torch.save``,
safetensors), so the loader is exercised on the real formats without the downloads.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from aqa_core.backbones import c3d, i3d, r2plus1d
from aqa_core.backbones.weights_file import read_weights_file
from aqa_core.bundle import build_model, bundle_from_model, load_bundle, save_bundle
from aqa_core.clips import clip_protocol, frames_to_clips
from aqa_core.errors import BundleError, ConfigError, WeightsError
from aqa_core.files import file_sha256
from aqa_core.methods import build_method
from aqa_core.registry import BACKBONES
from aqa_core.result import DiveInfo
from trainer.config import config_from_dict

CARD = {"dataset": "unit test", "synthetic": True}
DIVE = DiveInfo("individual", 7, "107B", 3.0, 3.0)


def r2plus1d_model(weights: Path | None) -> dict:
    backbone = {"name": "r2plus1d", **({"weights": str(weights)} if weights else {"pretrained": False})}
    return {
        "backbone": backbone,
        "aggregation": {"name": "average"},
        "head": {"name": "musdl", "judges": 7, "bins": 21, "score_range": [0.0, 10.0], "in_dim": 512, "hidden": [16]},
    }


def random_state(module: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """Random values of the module's names and shapes; batch-norm variances positive, so outputs stay finite."""
    generator = torch.Generator().manual_seed(seed)
    state = {k: torch.randn(v.shape, generator=generator) * 0.05 if v.is_floating_point() else v.clone() for k, v in module.state_dict().items()}
    return {k: v.abs() + 0.5 if k.endswith("running_var") else v for k, v in state.items()}


@pytest.fixture(scope="module")
def r2_weights(tmp_path_factory) -> tuple[Path, Path]:
    """Two different R(2+1)D-18 checkpoints, zip ``torch.save`` layout (torchvision's own files)."""
    folder = tmp_path_factory.mktemp("r2")
    paths = []
    for seed in (0, 1):
        path = folder / f"r2plus1d_{seed}.pth"
        torch.save(random_state(r2plus1d.R2Plus1D(), seed), path)
        paths.append(path)
    return paths[0], paths[1]


# --- shapes ----------------------------------------------------------------------------------


def test_c3d_gives_mtl_aqas_8192_pool5_features_and_only_takes_its_clip_size() -> None:
    model = BACKBONES.build({"name": "c3d", "pretrained": False})
    assert model.feature_dim == 8192
    with torch.inference_mode():
        assert model(torch.zeros(1, 3, 16, 112, 112)).shape == (1, 8192)  # 512 channels x 1 x 4 x 4
        with pytest.raises(ValueError, match=r"C3D takes clips of \(16, 112, 112\)"):
            model(torch.zeros(1, 3, 16, 64, 64))


def test_r2plus1d_is_torchvisions_r2plus1d_18() -> None:
    model = BACKBONES.build({"name": "r2plus1d", "pretrained": False})
    # torchvision's documentation of R2Plus1D_18_Weights.KINETICS400_V1: 31,505,325 parameters.
    assert sum(p.numel() for p in model.parameters()) == 31_505_325
    state = model.state_dict()
    assert tuple(state["layer2.0.conv1.0.0.weight"].shape) == (230, 64, 1, 3, 3)  # midplanes = 64*128*27 // (64*9 + 3*128)
    assert {"stem.0.weight", "stem.4.running_var", "layer4.1.conv2.1.bias", "layer3.0.downsample.1.weight", "fc.weight"} <= set(state)
    with torch.inference_mode():
        x = torch.zeros(2, 3, 8, 32, 32)
        assert model(x).shape == (2, 512) and model.logits(x).shape == (2, 400)


# --- declared preprocessing and segmentation -----------------------------------------------------


def test_each_backbone_declares_its_papers_clips() -> None:
    scheme, preprocessing = clip_protocol({"backbone": {"name": "c3d"}})
    assert (scheme.num_frames, scheme.clip_len, scheme.starts) == (96, 16, (0, 16, 32, 48, 64, 80))  # MTL-AQA: 6 x 16 of 96
    assert preprocessing is c3d.PREPROCESSING
    assert clip_protocol({"backbone": {"name": "r2plus1d"}})[0] == scheme
    scheme, preprocessing = clip_protocol({"backbone": {"name": "i3d"}})
    assert scheme.starts == (0, 10, 20, 30, 40, 50, 60, 70, 80, 87) and preprocessing is i3d.PREPROCESSING
    with pytest.raises(ConfigError, match="segmentation cuts clips of 8 frames, but backbone 'c3d' takes clips of 16"):
        clip_protocol({"backbone": {"name": "c3d"}, "segmentation": {"name": "uniform", "clips": 4, "clip_len": 8}})


def test_a_training_config_records_the_backbones_segmentation(tmp_path: Path) -> None:
    raw = {"dataset": ".", "work_dir": "w", "out": "o", "model": r2plus1d_model(None)}
    config = config_from_dict(raw, tmp_path, "t.yaml")
    assert config.model["segmentation"] == {"name": "uniform", "clips": 6, "clip_len": 16, "num_frames": 96}
    bad = {**raw, "model": {**r2plus1d_model(None), "segmentation": "usdl_10x16", "backbone": {"name": "c3d", "pretrained": False}}}
    bad["model"]["head"] = {**bad["model"]["head"], "in_dim": 8192}
    assert config_from_dict(bad, tmp_path, "t.yaml").model["segmentation"] == "usdl_10x16"  # 16-frame clips: allowed
    bad["model"]["segmentation"] = {"name": "uniform", "clips": 3, "clip_len": 32, "num_frames": 96}
    with pytest.raises(ConfigError, match="^t.yaml: model: segmentation cuts clips of 32 frames"):
        config_from_dict(bad, tmp_path, "t.yaml")


@pytest.mark.parametrize("module", [c3d, r2plus1d])
def test_resize_crop_and_values_are_the_backbones(module) -> None:
    frames = np.zeros((40, 256, 342, 3), np.uint8)  # twice 128 x 171
    frames[:, :, :171] = (200, 100, 50)  # left half one colour, right half another
    frames[:, :, 171:] = (10, 20, 30)
    preprocessing = module.PREPROCESSING
    scheme, _ = clip_protocol({"backbone": {"name": module.__name__.rsplit(".", 1)[1]}})
    clips = frames_to_clips(frames, scheme, preprocessing=preprocessing).clips
    assert clips.shape == (6, 3, 16, 112, 112)
    mean, std, divide = (np.array(v, np.float32) for v in (preprocessing.mean, preprocessing.std, (preprocessing.divide,) * 3))
    left = (np.array([200, 100, 50], np.float32) / divide - mean) / std  # worked by hand from the declared numbers
    right = (np.array([10, 20, 30], np.float32) / divide - mean) / std
    pixel = clips[2, :, 5].numpy()  # (3, 112, 112)
    np.testing.assert_allclose(pixel[:, 60, 10], left, rtol=1e-5)
    np.testing.assert_allclose(pixel[:, 60, 100], right, rtol=1e-5)
    # The 171-wide frame's colour boundary at 85.5 sits 55.5 columns into the crop (left offset round(59/2) = 30).
    assert np.allclose(pixel[:, :, 54], left[:, None], rtol=1e-5) and np.allclose(pixel[:, :, 57], right[:, None], rtol=1e-5)


# --- weights from a named file -----------------------------------------------------------------


def test_a_missing_weights_file_says_which_file_and_where_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(WeightsError) as unnamed:
        BACKBONES.build({"name": "c3d"})
    assert str(unnamed.value) == (
        "C3D needs its Sports-1M weights: name the file with model.backbone.weights (or --backbone-weights); "
        f"get it from {c3d.INFO.source}"
    )
    missing = tmp_path / "c3d.pickle"
    with pytest.raises(WeightsError) as absent:
        BACKBONES.build({"name": "r2plus1d", "weights": str(missing)})
    message = str(absent.value)
    assert "\n" not in message and message.startswith(f"R(2+1)D weights file {missing} not found; get it from r2plus1d_18-91a641e6.pth")


@pytest.mark.parametrize("layout", ["legacy torch.save", "zip torch.save", "safetensors"])
def test_c3d_weights_load_from_every_published_layout(tmp_path: Path, layout: str) -> None:
    stock = random_state(c3d.C3D(), 3)
    published = {**stock, "fc6.weight": torch.zeros(4, 8), "fc8.bias": torch.zeros(487)}  # classifier kept by the file, not the backbone
    path = tmp_path / ("c3d.safetensors" if layout == "safetensors" else "c3d.pickle")
    if layout == "safetensors":
        save_file(published, str(path))
    else:
        torch.save(published, path, _use_new_zipfile_serialization=layout == "zip torch.save")
    model = BACKBONES.build({"name": "c3d", "weights": str(path)})
    assert model.weights_sha256 == file_sha256(path)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, stock[name]), name


def test_r2plus1d_checkpoint_with_its_batch_norm_counters_loads_exactly(r2_weights: tuple[Path, Path]) -> None:
    path = r2_weights[0]
    state = read_weights_file(path)
    assert state["stem.1.num_batches_tracked"].dtype == torch.int64
    reference = r2plus1d.R2Plus1D().eval()
    reference.load_state_dict(state)
    model = BACKBONES.build({"name": "r2plus1d", "weights": str(path)})
    x = torch.randn(1, 3, 8, 32, 32)
    with torch.inference_mode():
        assert torch.equal(model(x), reference(x))


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_a_checkpoint_that_runs_code_is_refused_without_running_it(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"conv1.weight": torch.zeros(1), "payload": _Evil()}, path)
    with pytest.raises(WeightsError, match=r"evil\.pth: the checkpoint refers to posix\.system, which this file never needs; refusing it"):
        read_weights_file(path)


@pytest.mark.parametrize("damage", ["truncated", "not a checkpoint", "wrong shapes"])
def test_damaged_weight_files_are_one_line_errors(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "c3d.pickle"
    if damage == "wrong shapes":
        torch.save({**random_state(c3d.C3D(), 0), "conv1.weight": torch.zeros(64, 3, 1, 1, 1)}, path, _use_new_zipfile_serialization=False)
        expected = r"conv1\.weight has shape \(64, 3, 1, 1, 1\), C3D needs \(64, 3, 3, 3, 3\)"
    else:
        torch.save({"conv1.weight": torch.ones(3)}, path, _use_new_zipfile_serialization=False)
        path.write_bytes(path.read_bytes()[:-5] if damage == "truncated" else b"hello, not weights")
        expected = "not a readable PyTorch checkpoint|cut short|no end"
    with pytest.raises(WeightsError, match=expected) as error:
        BACKBONES.build({"name": "c3d", "weights": str(path)})
    assert "\n" not in str(error.value) and str(path) in str(error.value)


# --- what a bundle records -------------------------------------------------------------------------


def test_a_bundle_records_its_weights_and_refuses_other_ones(tmp_path: Path, r2_weights: tuple[Path, Path]) -> None:
    trained_on, other = r2_weights
    torch.manual_seed(0)
    method = build_method(r2plus1d_model(trained_on), with_backbone=False)
    folder = save_bundle(bundle_from_model(method, "r2", "1", CARD), tmp_path / "b")
    record = json.loads((folder / "bundle.json").read_text())["data_card"]["backbone"]
    assert record == {
        "name": "r2plus1d", "pretrained": True, "weights_sha256": file_sha256(trained_on),
        "preprocessing": r2plus1d.PREPROCESSING.to_dict(), "fine_tuned": None,
    }  # fmt: skip
    bundle = load_bundle(folder)
    model = build_model(bundle)  # the file the config names: the one it was trained on
    assert model.backbone.weights_sha256 == record["weights_sha256"]
    with pytest.raises(BundleError) as refused:
        build_model(bundle, backbone_weights=other)
    assert str(refused.value) == (
        f"model bundle 'r2' was trained on R(2+1)D weights with sha256 {file_sha256(trained_on)[:12]}…, but {other} has "
        f"{file_sha256(other)[:12]}…; name the file it was trained on (--backbone-weights) or retrain the model"
    )
    moved = tmp_path / "elsewhere.pth"
    moved.write_bytes(trained_on.read_bytes())
    assert build_model(bundle, backbone_weights=moved).backbone.weights_sha256 == record["weights_sha256"]  # a copy elsewhere is fine


@pytest.mark.parametrize("backbone", ["c3d", "r2plus1d"])
def test_the_shipped_model_configs_build_and_cut_their_backbones_clips(tmp_path: Path, backbone: str) -> None:
    model = json.loads((Path(__file__).resolve().parents[1] / "configs" / "models" / f"musdl_{backbone}.json").read_text())
    config = config_from_dict({"dataset": ".", "work_dir": "w", "out": "o", "model": model}, tmp_path, "t.yaml")
    assert config.model["segmentation"] == BACKBONES.declared(backbone).segmentation
    assert build_method(config.model, with_backbone=False).backbone is None  # the heads build without the weights file
    with pytest.raises(WeightsError, match="name the file with model.backbone.weights"):
        build_method(config.model)  # the weights file is the user's to name


def test_the_feature_cache_keys_a_named_weights_file_by_its_content(tmp_path: Path, r2_weights: tuple[Path, Path]) -> None:
    from trainer.features import _keyed_backbone

    first, other = r2_weights
    copy = tmp_path / "moved.pth"
    copy.write_bytes(first.read_bytes())
    key = _keyed_backbone({"name": "r2plus1d", "weights": str(first)}, None)
    assert key == {"name": "r2plus1d", "weights_sha256": file_sha256(first)}
    assert _keyed_backbone({"name": "r2plus1d", "weights": str(copy)}, None) == key  # moved: the features still hold
    copy.write_bytes(other.read_bytes())
    assert _keyed_backbone({"name": "r2plus1d", "weights": str(copy)}, None) != key  # replaced in place: they do not
