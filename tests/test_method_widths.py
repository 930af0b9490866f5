"""A model whose parts disagree on the clip features' width is refused when it is built, naming the keys.

Before, UD-AQA's aggregation with another in_dim than its own built silently and failed at the
first training batch with a matrix-shape error that named no setting.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aqa_core.errors import ConfigError
from aqa_core.methods import build_method
from trainer.config import config_from_dict

MODELS = Path(__file__).resolve().parent.parent / "configs" / "models"
TINY = sorted(MODELS.glob("*_tiny.json"))


def _width_keys(config: dict) -> list[tuple[str, str]]:
    """(section, key) of every width a part declares: in_dim in each part."""
    return [(section, "in_dim") for section, part in config.items() if isinstance(part, dict) and "in_dim" in part]


@pytest.mark.parametrize("path", TINY, ids=lambda p: p.stem)
def test_every_part_of_a_shipped_model_takes_the_backbones_width(path: Path) -> None:
    config = json.loads(path.read_text(encoding="utf-8"))
    build_method(config, with_backbone=True)  # as shipped: every width agrees
    for section, key in _width_keys(config):
        broken = json.loads(json.dumps(config))
        broken[section][key] = config[section][key] + 8
        with pytest.raises(ConfigError, match=rf"{section}\.{key} {config[section][key] + 8}\b.*backbone's feature_dim"):
            build_method(broken, with_backbone=True)


def test_ud_aqas_aggregation_of_another_width_is_refused_without_a_backbone_too() -> None:
    config = json.loads((MODELS / "ud_aqa_tiny.json").read_text(encoding="utf-8"))
    config["aggregation"]["in_dim"] = 48
    with pytest.raises(ConfigError, match=r"ud_aqa\.in_dim 64, aggregation\.in_dim 48"):
        build_method(config, with_backbone=False)


def test_a_training_config_with_auto_widths_beside_a_given_one_still_loads(tmp_path: Path) -> None:
    model = json.loads((MODELS / "ud_aqa_tiny.json").read_text(encoding="utf-8"))
    model["aggregation"]["in_dim"] = "auto"  # the Trainer tab writes auto; the other part keeps its 64
    raw = {"model": model, "dataset": str(tmp_path), "out": str(tmp_path / "out"), "work_dir": str(tmp_path / "work"), "loss": "kl"}
    assert config_from_dict(raw, tmp_path, "train.yaml").model["aggregation"]["in_dim"] == "auto"
    model["aggregation"]["in_dim"], model["ud_aqa"]["in_dim"] = 64, 48  # two widths given that disagree: the file and the keys named
    with pytest.raises(ConfigError, match=r"train.yaml: model: .*ud_aqa\.in_dim 48, aggregation\.in_dim 64"):
        config_from_dict({**raw, "model": model}, tmp_path, "train.yaml")
