"""Training configuration: a YAML or JSON file read into one validated dataclass.

Relative paths in the file are resolved against the file's folder, so a config can sit next to
its dataset and be run from anywhere.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aqa_core.errors import ConfigError

__all__ = ["ConfigError", "TrainConfig", "config_from_dict", "load_config", "with_backbone_weights", "with_paths"]


MODES = ("features", "finetune")  # a frozen backbone's cached features | the backbone trained too

# No segmentation: a model config without one gets its backbone's declared segmentation, written into
# the config (so the bundle names it), I3D's usdl_10x16 for this default. The head and aggregation
# complete only a model that names no method (configs before methods: its head's name is the
# method); a model naming its method gets the default backbone alone, since a UD-AQA or CoRe model
# given MUSDL's head would carry, and record in its bundle, a part it never uses.
DEFAULT_MODEL: dict[str, Any] = {
    "backbone": {"name": "i3d", "pretrained": True},
    "aggregation": {"name": "average"},
    "head": {"name": "musdl", "judges": 7},
}


@dataclass
class TrainConfig:
    dataset: Path
    out: Path  # the model bundle folder written at the end
    work_dir: Path  # checkpoints, progress log, feature cache
    dataset_kind: str = "auto"
    frames_root: Path | None = None  # frames/videos kept apart from the annotations (FineDiving's FINADiving_MTL_256s)
    strict: bool = False  # refuse a dataset with any problem dive instead of leaving those dives out
    partial: bool = False  # train on the dives whose frames are present (a partial download)
    model: dict[str, Any] = field(default_factory=lambda: json.loads(json.dumps(DEFAULT_MODEL)))
    loss: str = "kl"  # "kl" (USDL/MUSDL) | "mse" | "l1" (regression on the head's expected score) | "ridge" (trainer/ridge.py)
    sigma: float | None = None  # soft-label std in score units; None: 5 bins (the seed code's std=5)
    epochs: int = 100
    batch_size: int = 32  # the global batch, split over processes and accumulation steps
    accumulate: int = 1
    lr: float = 1e-4  # the seeds' Adam settings
    weight_decay: float = 1e-5
    seed: int = 0
    val_seed: int = 0  # the validation carve's own seed: changing the training seed keeps the same validation dives
    val_fraction: float = 0.15
    patience: int | None = None  # early stopping on validation rho; None trains all epochs
    decoding: str = "argmax"
    device: str | None = None
    precision: str = "auto"
    name: str = "model"
    version: str = "1"
    feature_cache: Path | None = None  # default: <work_dir>/features
    mode: str = "features"  # "features" (frozen backbone, cached) | "finetune"

    def to_json(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(self).items()}


_PATHS = ("dataset", "out", "work_dir", "feature_cache", "frames_root")


def with_paths(config: TrainConfig, **paths: str | Path | None) -> TrainConfig:
    """``config`` with the given paths (``dataset``, ``out``, ``work_dir``) replaced; relative ones from the current folder."""
    given = {k: Path(v).resolve() for k, v in paths.items() if v is not None}
    unknown = sorted(set(given) - set(_PATHS))
    if unknown:
        raise ConfigError(f"cannot override {', '.join(unknown)}: only {', '.join(_PATHS)} are paths")
    return dataclasses.replace(config, **given)


def with_backbone_weights(config: TrainConfig, weights: str | Path | None) -> TrainConfig:
    """``config`` whose backbone loads its pretrained weights from ``weights`` (relative: from the current folder); None: unchanged."""
    if weights is None:
        return config
    backbone = {**config.model.get("backbone", {}), "weights": str(Path(weights).expanduser().resolve())}
    return dataclasses.replace(config, model={**config.model, "backbone": backbone})


def config_from_dict(raw: dict[str, Any], base: Path, where: str) -> TrainConfig:
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    for key in ("dataset", "out", "work_dir"):
        if key not in raw:
            raise ConfigError(f"{where}: '{key}' is required")
    values = dict(raw)
    for key in _PATHS:
        if values.get(key) is not None:
            values[key] = (base / str(values[key])).resolve()
    if "model" in values:
        if not isinstance(values["model"], dict):
            raise ConfigError(f"{where}: model: expected a mapping of the model's parts, not {type(values['model']).__name__}")
        defaults = {"backbone": DEFAULT_MODEL["backbone"]} if "method" in values["model"] else DEFAULT_MODEL
        values["model"] = {**json.loads(json.dumps(defaults)), **values["model"]}
        backbone = values["model"].get("backbone")
        if isinstance(backbone, dict) and backbone.get("weights") is not None:  # a weights file, like every path, from the config's folder
            values["model"]["backbone"] = {**backbone, "weights": str((base / str(backbone["weights"])).expanduser().resolve())}
    _check_types(values, where)
    try:
        config = TrainConfig(**values)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    _check(config, where)
    return config


_SCALARS: dict[Any, tuple[type, ...]] = {int: (int,), float: (int, float), str: (str,), bool: (bool,)}


def _check_types(values: dict[str, Any], where: str) -> None:
    """A number, word or switch given as something else is one line naming its key (``epochs: ten``
    used to reach a comparison and surface as an internal error). Paths and the model are checked apart."""
    hints = typing.get_type_hints(TrainConfig)
    for key, value in values.items():
        hint = hints[key]
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)
        options = [t for t in typing.get_args(hint) if t is not type(None)] if union else [hint]
        allowed = tuple(k for t in options for k in _SCALARS.get(t, ()))
        if not allowed or (value is None and union and type(None) in typing.get_args(hint)):
            continue  # not a scalar setting, or an optional one left unset
        if isinstance(value, bool) and bool not in allowed or not isinstance(value, allowed):
            raise ConfigError(f"{where}: {key}: expected {' or '.join(t.__name__ for t in options)}, not {value!r}")


def load_config(path: str | Path) -> TrainConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'} ({exc})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings")
    return config_from_dict(raw, path.parent, str(path))


def _check(c: TrainConfig, where: str) -> None:
    checks = [
        (c.loss in ("kl", "mse", "l1", "ridge"), f"loss {c.loss!r} is not kl, mse, l1 or ridge"),
        (c.mode in MODES, f"mode {c.mode!r} is not features or finetune"),
        (c.decoding in ("argmax", "expectation"), f"decoding {c.decoding!r} is not argmax or expectation"),
        (c.epochs >= 1, "epochs must be at least 1"),
        (c.batch_size >= 1 and c.accumulate >= 1, "batch_size and accumulate must be at least 1"),
        (c.batch_size % c.accumulate == 0, f"batch_size {c.batch_size} is not divisible by accumulate {c.accumulate}"),
        (c.lr > 0, "lr must be positive"),
        (c.sigma is None or c.sigma > 0, "sigma must be positive"),
        (0 < c.val_fraction < 1, "val_fraction must be between 0 and 1"),
        # a regression loss trains the distribution's mean and leaves its shape free, so its most
        # probable bin means nothing (it gave every dive the same score): decode the mean
        (c.loss not in ("mse", "l1") or c.decoding == "expectation", f"loss {c.loss} trains the expected score: set decoding: expectation (argmax is meaningless for it)"),
        (c.loss != "ridge" or _is_linear(c.model), "loss ridge is a linear model: set model.head.hidden: [] and model.aggregation: {name: average}"),
        (c.loss != "ridge" or c.mode == "features", "loss ridge fits on cached features: set mode: features"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"{where}: {message}")
    _check_model(c, where)


def _check_model(c: TrainConfig, where: str) -> None:
    """Every part the model config names exists and takes the arguments given, before any data is read;
    a model config naming no segmentation gets its backbone's declared one written in.

    ``auto`` sizes are filled from the data later, so they are checked as a stand-in size.
    """
    from aqa_core.clips import clip_protocol, model_segmentation
    from aqa_core.errors import RuleError
    from aqa_core.methods import build_method, method_class
    from aqa_core.rules import counted_event

    key = "model.method" if "method" in c.model else "model.head.name"
    try:
        method = method_class(c.model)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {key}: {exc}") from None
    if c.loss not in method.losses:
        raise ConfigError(f"{where}: loss: method {method.name!r} trains with loss {', '.join(method.losses)}, not {c.loss!r}")
    stand_in = json.loads(json.dumps(c.model))
    parts = [part for part in stand_in.values() if isinstance(part, dict)]
    # an "auto" width stands in as the width another part gives (1 if none does), so that parts agreeing
    # once the features are known are not refused by the build-time width check
    width = next((part["in_dim"] for part in parts if isinstance(part.get("in_dim"), int)), 1)
    for part in parts:
        part.update({k: width if k == "in_dim" else [0.0, 1.0] for k, v in part.items() if v == "auto"})
    try:
        model = build_method(stand_in, with_backbone=False, loss=c.loss, sigma=c.sigma)
        c.model.setdefault("segmentation", json.loads(json.dumps(model_segmentation(c.model))))
        clip_protocol(c.model)
    except (ConfigError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: model: {exc}") from None
    try:
        if model.counted:  # judge paths that are counting marks: 3 (individual) or 5 (synchronised) of them
            counted_event(model.panel)
    except (ConfigError, RuleError) as exc:
        raise ConfigError(f"{where}: model.marks: {exc}") from None


def _is_linear(model: dict[str, Any]) -> bool:
    return list(model.get("head", {}).get("hidden", [None])) == [] and model.get("aggregation", {}).get("name") == "average"
