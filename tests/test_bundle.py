"""Model bundles: round trip and refusal of every broken bundle with a BundleError naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from aqa_core.bundle import bundle_from_model, load_bundle, manifest_sha256, save_bundle
from aqa_core.data_card import describe_data_card
from aqa_core.errors import BundleError
from aqa_core.methods import Method, build_method

CONFIGS = Path(__file__).resolve().parent.parent / "configs" / "models"
DATA_CARD = {"dataset": "unit test", "synthetic": True, "intended_use": "tests only"}


def head_model(seed: int = 1) -> Method:
    torch.manual_seed(seed)
    config = json.loads((CONFIGS / "musdl_tiny.json").read_text())
    return build_method(config, with_backbone=False)


@pytest.fixture()
def saved(tmp_path: Path) -> tuple[Method, Path]:
    model = head_model()
    return model, save_bundle(bundle_from_model(model, "t", "1.0", DATA_CARD), tmp_path / "b")


def test_round_trip_gives_identical_outputs(saved: tuple[Method, Path]) -> None:
    model, folder = saved
    bundle = load_bundle(folder)
    assert (bundle.name, bundle.version, bundle.format_version) == ("t", "1.0", 2)
    assert bundle.data_card == {**DATA_CARD, "backbone": bundle.data_card["backbone"]}
    assert bundle.data_card["backbone"]["name"] == "tiny"
    fresh = head_model(seed=99)
    features = torch.randn(2, 10, 64)
    assert not torch.allclose(fresh.head_forward(features).logits, model.head_forward(features).logits)
    fresh.load_state_dict(bundle.state_dict)
    torch.testing.assert_close(fresh.head_forward(features).logits, model.head_forward(features).logits, rtol=0, atol=0)


def test_manifest_lists_tensor_shapes(saved: tuple[Method, Path]) -> None:
    model, folder = saved
    manifest = json.loads((folder / "bundle.json").read_text())
    assert manifest["tensors"] == {k: {"shape": list(v.shape), "dtype": "float32"} for k, v in model.trainable_state_dict().items()}
    assert not any(k.startswith("backbone.") for k in manifest["tensors"])


def write_resealed(folder: Path, manifest: dict) -> None:
    """Write an edited manifest with a matching fingerprint, to reach the checks behind the fingerprint."""
    manifest["fingerprint"]["manifest_sha256"] = manifest_sha256(manifest)
    (folder / "bundle.json").write_text(json.dumps(manifest))


def edit_manifest(folder: Path, **changes: object) -> None:
    manifest = json.loads((folder / "bundle.json").read_text())
    manifest.update(changes)
    write_resealed(folder, manifest)


def test_wrong_format_version(saved: tuple[Method, Path]) -> None:
    _, folder = saved
    edit_manifest(folder, format_version=3)
    with pytest.raises(BundleError, match=r"bundle\.json.*format_version 3"):
        load_bundle(folder)


def test_missing_tensor(saved: tuple[Method, Path]) -> None:
    _, folder = saved
    tensors = load_file(str(folder / "weights.safetensors"))
    dropped = sorted(tensors)[0]
    del tensors[dropped]
    save_file(tensors, str(folder / "weights.safetensors"))
    with pytest.raises(BundleError, match=rf"weights\.safetensors.*missing tensor {dropped}"):
        load_bundle(folder)


def test_wrong_shape(saved: tuple[Method, Path]) -> None:
    _, folder = saved
    tensors = load_file(str(folder / "weights.safetensors"))
    name = sorted(tensors)[-1]
    tensors[name] = torch.zeros(3)
    save_file(tensors, str(folder / "weights.safetensors"))
    with pytest.raises(BundleError, match=rf"{name} has shape \[3\]"):
        load_bundle(folder)


def test_config_that_disagrees_with_the_weights(saved: tuple[Method, Path]) -> None:
    _, folder = saved
    manifest = json.loads((folder / "bundle.json").read_text())
    manifest["config"]["head"]["judges"] = 5
    write_resealed(folder, manifest)
    with pytest.raises(BundleError, match="does not match the config"):
        load_bundle(folder)


def test_corrupt_weights(saved: tuple[Method, Path]) -> None:
    _, folder = saved
    data = (folder / "weights.safetensors").read_bytes()
    (folder / "weights.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match=r"weights\.safetensors.*corrupt"):
        load_bundle(folder)


def test_corrupt_manifest(saved: tuple[Method, Path]) -> None:
    _, folder = saved
    (folder / "bundle.json").write_text("{not json")
    with pytest.raises(BundleError, match=r"bundle\.json: not valid JSON"):
        load_bundle(folder)


def test_unknown_head_in_config(saved: tuple[Method, Path]) -> None:
    _, folder = saved
    manifest = json.loads((folder / "bundle.json").read_text())
    manifest["config"]["head"]["name"] = "nonesuch"
    write_resealed(folder, manifest)
    with pytest.raises(BundleError, match="config cannot build a model.*nonesuch"):
        load_bundle(folder)


def test_missing_folder_and_files(tmp_path: Path, saved: tuple[Method, Path]) -> None:
    with pytest.raises(BundleError, match="folder not found"):
        load_bundle(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match=r"bundle\.json: missing"):
        load_bundle(tmp_path / "empty")
    _, folder = saved
    (folder / "weights.safetensors").unlink()
    with pytest.raises(BundleError, match=r"weights\.safetensors: missing"):
        load_bundle(folder)



def test_data_card_summary_says_what_the_model_learnt_from() -> None:
    card = {"dataset": "demo", "synthetic": True, "split_sizes": {"train": 70, "val": 15}, "validation": {"rho": 0.8123}}
    summary = describe_data_card(card)
    assert summary == "synthetic dives (demo); 70 train / 15 val; validation Spearman 0.81; not validated on real footage"
    assert describe_data_card({"synthetic": False}) == "real dives"
    with_test = describe_data_card({**card, "test": {"rho": 0.6855}})
    assert "validation Spearman 0.81; held-out test Spearman 0.69;" in with_test
