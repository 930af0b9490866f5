"""Weight-Decider aggregation and the standardising neck, on small random features."""

from __future__ import annotations

import pytest
import torch

from aqa_core.bundle import ModelBundle, build_model, bundle_from_model, load_bundle, save_bundle
from aqa_core.errors import BundleError
from aqa_core.methods import build_method
from aqa_core.neck import Standardize
from aqa_core.registry import AGGREGATORS


def trained_like_wd(dim: int = 16) -> torch.nn.Module:
    """A Weight-Decider whose last layer is no longer zero, as after some training."""
    torch.manual_seed(0)
    wd = AGGREGATORS.build({"name": "weight_decider", "in_dim": dim, "hidden": [8]})
    torch.nn.init.normal_(wd.scorer[-1].weight, std=1.0)
    return wd


def test_weights_sum_to_one_over_clips_per_dimension() -> None:
    wd = trained_like_wd()
    weights = wd.weights(torch.randn(3, 10, 16))
    assert weights.shape == (3, 10, 16)
    assert (weights > 0).all()
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(3, 16))
    # Trained weights actually differ between clips (otherwise this would just be averaging).
    assert weights.std(dim=1).max() > 1e-3


def test_identical_clips_aggregate_to_that_clip() -> None:
    wd = trained_like_wd()
    clip = torch.randn(2, 1, 16)
    torch.testing.assert_close(wd(clip.expand(2, 10, 16)), clip[:, 0])


def test_untrained_weight_decider_is_averaging() -> None:
    wd = AGGREGATORS.build({"name": "weight_decider", "in_dim": 16, "hidden": [8]})
    features = torch.randn(4, 10, 16)
    torch.testing.assert_close(wd(features), features.mean(dim=1))


def test_weighting_follows_the_clip_features() -> None:
    wd = trained_like_wd()
    features = torch.randn(2, 10, 16)
    assert not torch.allclose(wd(features), features.mean(dim=1), atol=1e-3)


def test_gradients_reach_every_weight_decider_layer() -> None:
    wd = trained_like_wd()
    features = torch.randn(4, 10, 16, requires_grad=True)
    wd(features).pow(2).sum().backward()
    for name, param in wd.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert features.grad.abs().sum() > 0


def test_standardize_fits_training_statistics() -> None:
    torch.manual_seed(1)
    train = torch.randn(50, 10, 8) * torch.linspace(0.1, 20, 8) + torch.arange(8.0)
    neck = Standardize(8)
    torch.testing.assert_close(neck(train), train)  # unfitted: identity
    neck.fit(train)
    out = neck(train).reshape(-1, 8)
    torch.testing.assert_close(out.mean(dim=0), torch.zeros(8), atol=1e-4, rtol=0)
    torch.testing.assert_close(out.std(dim=0, unbiased=False), torch.ones(8), atol=1e-4, rtol=0)


def test_model_applies_the_neck_before_aggregation_and_per_clip() -> None:
    config = {
        "backbone": {"name": "tiny", "feature_dim": 16},
        "neck": {"name": "standardize"},
        "aggregation": {"name": "weight_decider", "in_dim": 16, "hidden": [8]},
        "head": {"name": "musdl", "judges": 7, "in_dim": 16, "hidden": [8]},
    }
    model = build_method(config, with_backbone=False)
    train = torch.randn(20, 10, 16) * 5 + 3
    model.fit({"features": train})
    assert {"neck.mean", "neck.std"} <= set(model.trainable_state_dict())
    features = torch.randn(2, 10, 16) * 5 + 3
    standardised = (features - train.reshape(-1, 16).mean(0)) / train.reshape(-1, 16).std(0, unbiased=False)
    out = model.head_forward(features)
    torch.testing.assert_close(out.clip_logits, model.head(standardised))
    torch.testing.assert_close(out.logits, model.head(model.aggregator(standardised)))


def test_bundle_carries_the_neck_statistics_and_weight_decider(tmp_path) -> None:
    config = {
        "backbone": {"name": "tiny", "feature_dim": 16, "seed": 0},
        "neck": {"name": "standardize"},
        "aggregation": {"name": "weight_decider", "in_dim": 16, "hidden": [8]},
        "head": {"name": "musdl", "judges": 7, "in_dim": 16, "hidden": [8]},
    }
    model = build_method(config, with_backbone=False)
    model.fit({"features": torch.randn(20, 10, 16) * 5 + 3})
    torch.nn.init.normal_(model.aggregator.scorer[-1].weight)
    save_bundle(bundle_from_model(model, "wd", "1", {}), tmp_path / "b")
    loaded = build_model(load_bundle(tmp_path / "b"))
    features = torch.randn(2, 10, 16)
    torch.testing.assert_close(loaded.head_forward(features).logits, model.eval().head_forward(features).logits)
    # A bundle whose statistics do not fit the config is refused before scoring.
    state = dict(model.trainable_state_dict(), **{"neck.std": torch.ones(15)})
    save_bundle(ModelBundle("wd", "1", config, {}, state), tmp_path / "bad")
    with pytest.raises(BundleError, match="neck.std"):
        load_bundle(tmp_path / "bad")
