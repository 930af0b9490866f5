"""The method interface: every registered method trains, predicts, survives a bundle round trip, and
refuses a bad config in one line naming the file and the key."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from aqa_core.bundle import bundle_from_model, load_bundle, save_bundle
from aqa_core.errors import ConfigError
from aqa_core.methods import build_method, method_class
from aqa_core.registry import METHODS
from aqa_core.result import DiveInfo
from trainer.config import load_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "models"
CARD = {"dataset": "none", "synthetic": True}


def tiny(name: str) -> dict:
    config = json.loads((CONFIGS / f"{name}_tiny.json").read_text())
    config["head"]["in_dim"] = 8
    config["head"]["hidden"] = [16]
    return config


def problem(seed: int = 0, dives: int = 48) -> dict:
    """Features whose first dimension sets every judge's mark: a signal any method can learn."""
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(dives, 4, 8, generator=g)
    quality = features[:, :, 0].mean(dim=1)
    marks = (5.0 + 2.0 * quality).clamp(0.5, 9.5)
    judges = torch.stack([marks + 0.5 * k for k in (-1, -0.5, 0, 0, 0, 0.5, 1)], dim=1).clamp(0, 10)
    difficulty = torch.full((dives,), 2.0)
    final = judges.sort(dim=1).values[:, 2:5].sum(dim=1) * difficulty
    dive_info = [DiveInfo("individual", 7, None, None, 2.0) for _ in range(dives)]
    return {"features": features, "final": final, "judges": judges, "dives": dive_info}


@pytest.mark.parametrize("name", ["usdl", "musdl"])
def test_loss_goes_down_on_a_tiny_problem(name: str) -> None:
    torch.manual_seed(0)
    method = build_method(tiny(name), with_backbone=False)
    batch = problem()
    optimiser = torch.optim.Adam(method.parameters(), lr=1e-2)
    first = method.loss(batch).item()
    for _ in range(150):
        optimiser.zero_grad()
        method.loss(batch).backward()
        optimiser.step()
    assert method.loss(batch).item() < 0.5 * first
    finals, _ = method.point_scores(batch, "expectation")
    assert np.corrcoef(finals, batch["final"].numpy())[0, 1] > 0.8  # it learnt the signal, not just the mean


@pytest.mark.parametrize("name", ["usdl", "musdl"])
def test_predict_on_a_reloaded_bundle_is_identical(name: str, tmp_path: Path) -> None:
    torch.manual_seed(1)
    method = build_method(tiny(name), with_backbone=False)
    folder = save_bundle(bundle_from_model(method, "m", "1", CARD), tmp_path / "b")
    again = build_method(load_bundle(folder).config, with_backbone=False)
    again.load_state_dict(load_bundle(folder).state_dict)
    batch = problem(seed=2, dives=5)
    for decoding in ("argmax", "expectation"):
        before, after = method.predict(batch, decoding), again.predict(batch, decoding)
        for b, a in zip(before, after, strict=True):
            assert b.final == a.final and b.judges == a.judges
            np.testing.assert_array_equal(b.distributions, a.distributions)


def test_configs_without_a_method_build_their_heads_method() -> None:
    assert {"usdl", "musdl"} <= set(METHODS.names())
    assert method_class(tiny("musdl")).scales_with_difficulty
    assert not method_class(tiny("usdl")).scales_with_difficulty
    assert build_method({**tiny("usdl"), "method": "usdl"}, with_backbone=False).name == "usdl"


def _config_file(tmp_path: Path, model: dict, loss: str = "kl") -> Path:
    path = tmp_path / "train.json"
    decoding = "argmax" if loss == "kl" else "expectation"
    path.write_text(json.dumps({"dataset": "d", "out": "o", "work_dir": "w", "loss": loss, "decoding": decoding, "model": model}))
    return path


@pytest.mark.parametrize(
    ("model", "loss", "message"),
    [
        ({"method": "core"}, "kl", r"model\.method: unknown method 'core'; known: musdl, usdl"),
        ({"head": {"name": "nope"}}, "kl", r"model\.head\.name: unknown method 'nope'"),
        ({"head": {"name": "musdl", "judgez": 7}}, "kl", r"model: head 'musdl': .*unexpected keyword argument 'judgez'"),
        ({"aggregation": {"name": "max"}, "head": {"name": "usdl"}}, "kl", r"model: unknown aggregator 'max'; known: average, weight_decider"),
        ({"head": {"name": "musdl"}}, "mse", r"loss: method 'musdl' trains with loss kl, not 'mse'"),
    ],
)
def test_config_errors_are_one_line_naming_file_and_key(tmp_path: Path, model: dict, loss: str, message: str) -> None:
    path = _config_file(tmp_path, model, loss)
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path)
    text = str(caught.value)
    assert text.startswith(str(path)) and "\n" not in text
