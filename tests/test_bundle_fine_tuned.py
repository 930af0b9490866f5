"""A fine-tuned backbone travels in its bundle: reloaded it predicts exactly as the model in memory did.

Before, fine-tune mode saved only the heads, so a fine-tuned bundle scored with the stock backbone
and could not reproduce its own data card.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from aqa_core.bundle import BACKBONE_WEIGHTS, build_model, bundle_from_model, load_bundle, save_bundle
from aqa_core.clips import frames_to_clips
from aqa_core.errors import BundleError
from aqa_core.methods import Method, build_method
from aqa_core.result import DiveInfo
from aqa_core.weights import state_sha256

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "models"
CARD = {"dataset": "unit test", "synthetic": True}
DIVE = DiveInfo("individual", 7, "107B", 3.0, 3.0)


def fine_tuned_tiny() -> Method:
    """The tiny MUSDL model after a few real gradient steps through its backbone."""
    torch.manual_seed(0)
    model = build_method(json.loads((CONFIGS / "musdl_tiny.json").read_text()))
    model.backbone.requires_grad_(True)
    optimiser = torch.optim.SGD(model.backbone.parameters(), lr=0.5)
    batch = {"clips": clips()[None].repeat(2, 1, 1, 1, 1, 1), "final": torch.tensor([60.0, 60.0]), "judges": torch.full((2, 7), 9.5), "dives": [DIVE, DIVE]}
    model.train()
    for _ in range(3):
        optimiser.zero_grad()
        model.loss(batch).backward()
        optimiser.step()
    return model.requires_grad_(False).eval()


def clips() -> torch.Tensor:
    frames = np.random.default_rng(5).integers(0, 256, (30, 40, 48, 3), dtype=np.uint8)
    return frames_to_clips(frames, size=32).clips


def predicted(model: Method) -> tuple[np.ndarray, list[float]]:
    with torch.inference_mode():
        prediction = model.predict({"clips": clips()[None], "dives": [DIVE]}, "argmax")[0]
    return prediction.distributions, [j.estimate.expectation for j in prediction.judges]


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[Method, Path]:
    model = fine_tuned_tiny()
    return model, save_bundle(bundle_from_model(model, "ft", "1", CARD, fine_tuned=True), tmp_path_factory.mktemp("ft") / "bundle")


def test_a_fine_tuned_bundle_predicts_exactly_as_the_model_in_memory(saved: tuple[Method, Path]) -> None:
    model, folder = saved
    reloaded = build_model(load_bundle(folder))
    distributions, judges = predicted(model)
    again, again_judges = predicted(reloaded)
    np.testing.assert_array_equal(again, distributions)
    assert again_judges == judges


def test_the_stock_backbone_would_have_scored_it_differently(saved: tuple[Method, Path]) -> None:
    model, folder = saved
    bundle = load_bundle(folder)
    stock = build_model(bundle.__class__(**{**bundle.__dict__, "backbone_state": None}))
    assert not np.array_equal(predicted(stock)[0], predicted(model)[0])
    with torch.inference_mode():
        assert not torch.equal(stock.features(clips()), model.features(clips()))


def test_the_bundle_records_the_fine_tuned_tensors(saved: tuple[Method, Path]) -> None:
    model, folder = saved
    manifest = json.loads((folder / "bundle.json").read_text())
    stored = load_file(str(folder / BACKBONE_WEIGHTS))
    assert manifest["data_card"]["backbone"]["fine_tuned"] == {"file": BACKBONE_WEIGHTS, "tensors_sha256": state_sha256(stored)}
    assert stored.keys() == model.backbone.state_dict().keys()
    assert not any(k.startswith("backbone.") for k in manifest["tensors"])  # heads and backbone stay in their own files
    without = bundle_from_model(model, "ft", "1", CARD)
    assert load_bundle(folder).fingerprint != without.fingerprint  # the cache never mixes the two


def test_a_plain_bundle_written_over_a_fine_tuned_one_leaves_no_backbone_behind(tmp_path: Path, saved: tuple[Method, Path]) -> None:
    model, _ = saved
    folder = save_bundle(bundle_from_model(model, "ft", "1", CARD, fine_tuned=True), tmp_path / "b")
    save_bundle(bundle_from_model(model, "ft", "2", CARD), folder)
    assert not (folder / BACKBONE_WEIGHTS).exists() and load_bundle(folder).backbone_state is None


@pytest.mark.parametrize("damage", ["missing", "changed", "wrong shape"])
def test_a_damaged_fine_tuned_backbone_is_refused(tmp_path: Path, saved: tuple[Method, Path], damage: str) -> None:
    model, _ = saved
    folder = save_bundle(bundle_from_model(model, "ft", "1", CARD, fine_tuned=True), tmp_path / "b")
    path = folder / BACKBONE_WEIGHTS
    state = load_file(str(path))
    first = sorted(state)[0]
    if damage == "missing":
        path.unlink()
        expected = f"{path}: missing; this bundle's backbone was fine-tuned and its tensors are part of the model"
    elif damage == "changed":
        save_file({**state, first: state[first] + 0.01}, str(path))
        expected = f"{path}: the fine-tuned backbone is not the one this bundle was written with (content hash differs from bundle.json)"
    else:
        save_file({**state, first: torch.zeros(3)}, str(path))
        expected = f"{path}: tensors do not match backbone 'tiny' (tensor {first} has shape [3], expected {list(state[first].shape)})"
    with pytest.raises(BundleError) as refused:
        load_bundle(folder)
    assert str(refused.value) == expected


def test_a_version_2_bundle_from_before_backbones_declared_their_preprocessing_still_loads(tmp_path: Path, saved: tuple[Method, Path]) -> None:
    from aqa_core.backbones.i3d import PREPROCESSING as I3D_PREPROCESSING
    from aqa_core.bundle import manifest_sha256

    model, _ = saved
    folder = save_bundle(bundle_from_model(model, "old", "1", CARD), tmp_path / "b")
    manifest = json.loads((folder / "bundle.json").read_text())
    record = manifest["data_card"]["backbone"]
    assert record["preprocessing"] == I3D_PREPROCESSING.to_dict() and record["fine_tuned"] is None  # tiny sees I3D's pixels
    del record["fine_tuned"]
    record["preprocessing"] = I3D_PREPROCESSING.description  # as written before this change
    manifest["fingerprint"]["manifest_sha256"] = manifest_sha256(manifest)
    (folder / "bundle.json").write_text(json.dumps(manifest))
    assert load_bundle(folder).backbone_state is None
    record["preprocessing"] = "rgb x/255"
    manifest["fingerprint"]["manifest_sha256"] = manifest_sha256(manifest)
    (folder / "bundle.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="trained on preprocessing 'rgb x/255', this program does"):
        load_bundle(folder)
