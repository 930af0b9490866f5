"""Heads and the head half of AQAModel, on small random features (no backbone needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from aqa_core.model import AQAModel
from aqa_core.registry import AGGREGATORS, HEADS

CONFIGS = Path(__file__).resolve().parent.parent / "configs" / "models"


def tiny_config(head: str) -> dict:
    return json.loads((CONFIGS / f"{head}_tiny.json").read_text())


def test_heads_and_aggregator_are_registered() -> None:
    assert {"usdl", "musdl"} <= set(HEADS.names())
    assert "average" in AGGREGATORS.names()


@pytest.mark.parametrize(("head", "paths", "bins"), [("usdl", 1, 101), ("musdl", 7, 21)])
def test_head_forward_shapes(head: str, paths: int, bins: int) -> None:
    model = AQAModel(tiny_config(head), with_backbone=False)
    out = model.head_forward(torch.randn(3, 10, 64))
    assert out.clip_logits.shape == (3, 10, paths, bins)
    assert out.logits.shape == (3, paths, bins)


def test_pooled_logits_come_from_the_mean_clip_feature() -> None:
    model = AQAModel(tiny_config("musdl"), with_backbone=False)
    features = torch.randn(2, 10, 64)
    out = model.head_forward(features)
    torch.testing.assert_close(out.logits, model.head(features.mean(dim=1)))
    # Each clip's own distribution is the head applied to that clip alone.
    torch.testing.assert_close(out.clip_logits[:, 4], model.head(features[:, 4]))


def test_judge_paths_are_separate_networks() -> None:
    head = HEADS.build({"name": "musdl", "judges": 3, "in_dim": 8, "hidden": [4]})
    torch.manual_seed(0)
    logits = head(torch.randn(5, 8))
    assert not torch.allclose(logits[:, 0], logits[:, 1])
    with torch.no_grad():
        head.path_mlps[1][0].weight.zero_()
        head.path_mlps[1][0].bias.zero_()
    changed = head(torch.randn(5, 8))
    # Path 1 now ignores its input; paths 0 and 2 do not.
    assert torch.allclose(changed[0, 1], changed[1, 1])
    assert not torch.allclose(changed[0, 0], changed[1, 0])


def test_bin_values_follow_the_configured_range() -> None:
    musdl = HEADS.build({"name": "musdl"})
    assert musdl.bin_values.tolist() == [i / 2 for i in range(21)]
    usdl = HEADS.build({"name": "usdl", "bins": 11, "score_range": [0, 100]})
    assert usdl.bin_values.tolist() == pytest.approx([10.0 * i for i in range(11)])
    # bin_values follow from the config, so they are not saved with the trained weights.
    assert not any("bin_values" in k for k in musdl.state_dict())


def test_head_refuses_an_empty_range() -> None:
    with pytest.raises(ValueError, match="score range"):
        HEADS.build({"name": "usdl", "score_range": [5, 5]})


def test_default_head_is_the_papers_mlp() -> None:
    head = HEADS.build({"name": "musdl"})
    linear = [m for m in head.path_mlps[0] if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(1024, 256), (256, 128), (128, 21)]
    assert len(head.path_mlps) == 7
