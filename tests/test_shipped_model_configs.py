"""Every shipped model config (configs/models/<method>_<backbone>.json) builds its method, through the paths that read it.

The Trainer tab offers every registered method on every backbone and takes the parts it does not
show from the shipped config of that method and backbone (app/training_config.py); the trainer then
reads the model through config_from_dict. So each file must build the method its name says on the
backbone its name says, keep exactly its own parts through the trainer's config path, and every
method must have one on I3D, the tab's default backbone. Built, not trained: a backbone is built as
its architecture without its pretrained weights file (no download, no forward pass of a real
backbone: the method checks the backbone's declared feature width against its parts).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from aqa_core.backbones.preprocessing import backbone_info, without_pretrained
from aqa_core.errors import ConfigError
from aqa_core.methods import build_method, method_name
from aqa_core.registry import METHODS
from aqa_core.result import DiveInfo
from trainer.config import config_from_dict
from trainer.datasets import open_dataset
from trainer.run import resolve_auto

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "models"
SHIPPED = sorted(CONFIGS.glob("*.json"))


def method_and_backbone(path: Path) -> tuple[str, str]:
    """The method and backbone a shipped config's file name promises: ``mtl_aqa_dd_i3d.json`` -> (mtl_aqa_dd, i3d)."""
    method, backbone = path.stem.rsplit("_", 1)
    return method, backbone


def dives(n: int) -> list[DiveInfo]:
    return [DiveInfo("individual", 7, "105B", 3.0, [2.4, 2.8, 3.2][i % 3]) for i in range(n)]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_a_shipped_config_builds_the_method_its_name_says_on_its_backbone(path: Path) -> None:
    config = json.loads(path.read_text(encoding="utf-8"))
    method, backbone = method_and_backbone(path)
    assert method_name(config) == method and config["backbone"]["name"] == backbone
    backbone_info(config["backbone"])  # the backbone declares the preprocessing the scorer will apply
    torch.manual_seed(0)
    # with its backbone: the method refuses a backbone whose feature width is not its parts' in_dim
    model = build_method({**config, "backbone": without_pretrained(config["backbone"])}).eval()
    assert model.name == method and model.backbone is not None
    fits_and_predicts(model, model.backbone.feature_dim)  # the width the method checked its parts against


def fits_and_predicts(model, width: int) -> None:  # noqa: ANN001
    """The parts take ``width``-d clip features: fit on a split (CoRe: its bank), one finite loss, one prediction."""
    torch.manual_seed(1)
    n = 12
    judges = torch.linspace(5.0, 8.0, n)[:, None].repeat(1, 7)
    difficulty = torch.tensor([d.difficulty for d in dives(n)])
    batch = {"features": torch.randn(n, 10, width), "judges": judges, "final": judges[:, 2:5].sum(1) * difficulty, "dives": dives(n)}
    model.fit(batch)
    assert torch.isfinite(model.loss(batch))
    model.eval()
    (prediction,) = model.predict({**batch, "features": batch["features"][:1], "dives": batch["dives"][:1]}, "expectation")
    assert prediction.final.low <= prediction.final.score <= prediction.final.high


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_trainer_reads_a_shipped_config_as_written(path: Path, tmp_path: Path) -> None:
    """Through the trainer's config path the model keeps its own parts: nothing is added to a method that does not use it
    (a UD-AQA or CoRe model once received MUSDL's default head, and its bundle recorded it)."""
    model = json.loads(path.read_text(encoding="utf-8"))
    config = config_from_dict({"dataset": "d", "out": "o", "work_dir": "w", "model": model}, tmp_path, str(path))
    assert config.model == model


@pytest.mark.parametrize("method", METHODS.names())
def test_every_method_has_an_i3d_config_that_trains_from_the_trainer_tab_on_features(method: str, tmp_path: Path) -> None:
    """The Trainer tab's default backbone: the form's method on I3D, a features .npz, through to a model built at its width."""
    from test_trainer_loop import D, make_npz

    from app.training_config import Settings, build_config

    assert (CONFIGS / f"{method}_i3d.json").is_file()
    npz = make_npz(tmp_path)
    raw = build_config(Settings(dataset=npz, method=method, backbone="i3d"), tmp_path / "run", "club")
    config = resolve_auto(config_from_dict(raw, tmp_path, "trainer tab"), open_dataset(npz))
    model = build_method(config.model, with_backbone=False)
    assert model.name == method
    fits_and_predicts(model, D)


def test_a_model_naming_its_method_but_missing_a_part_is_one_line_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^run\.json: model: method 'musdl' needs a head") as caught:
        config_from_dict({"dataset": "d", "out": "o", "work_dir": "w", "model": {"method": "musdl"}}, tmp_path, "run.json")
    assert "\n" not in str(caught.value)


def test_a_model_that_is_not_a_mapping_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^run\.json: model: expected a mapping of the model's parts, not str$"):
        config_from_dict({"dataset": "d", "out": "o", "work_dir": "w", "model": "musdl"}, tmp_path, "run.json")


@pytest.mark.parametrize(("setting", "message"), [
    ({"epochs": "ten"}, r"epochs: expected int, not 'ten'"),
    ({"lr": True}, r"lr: expected float, not True"),
    ({"sigma": "wide"}, r"sigma: expected float, not 'wide'"),
    ({"version": 2}, r"version: expected str, not 2"),
])
def test_a_setting_of_the_wrong_type_is_one_line_naming_its_key(setting: dict, message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=rf"^run\.json: {message}$"):
        config_from_dict({"dataset": "d", "out": "o", "work_dir": "w", **setting}, tmp_path, "run.json")


def test_optional_settings_left_unset_and_whole_numbers_for_rates_are_accepted(tmp_path: Path) -> None:
    config = config_from_dict({"dataset": "d", "out": "o", "work_dir": "w", "sigma": None, "patience": None, "lr": 1}, tmp_path, "run.json")
    assert config.sigma is None and config.lr == 1
