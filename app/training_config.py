"""The Trainer tab's settings as a training config (trainer/config.py reads it), and the presets.

Presets are the shipped training configs (configs/train/*.yaml: the seeds' published settings);
choosing one fills the form, and what the form then says wins. A model part the form does not
name (neck, aggregation, bins) comes from the preset when its method and backbone match, else from
the shipped model config (configs/models/*.json) of that method and backbone. The config is saved
in the run folder, so a run can be loaded back and resumed.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aqa_core.option_names import method_name
from aqa_core.own_program import CHECKOUT

PRESETS = CHECKOUT / "configs" / "train"
MODELS = CHECKOUT / "configs" / "models"
PATHS = ("dataset", "out", "work_dir", "feature_cache", "frames_root")  # a preset's own paths never leak into a run


@dataclass
class Settings:
    dataset: Path
    method: str
    backbone: str
    mode: str = "features"
    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-4
    seed: int = 0
    partial: bool = False  # leave out dives with missing frames or a damaged video (listed) instead of refusing
    device: str | None = None  # None: the trainer's choice (the GPU when there is one)
    gpus: tuple[int, ...] = ()  # several: one DDP process per GPU (device "cuda"; each rank its own GPU)


def presets() -> dict[str, dict[str, Any]]:
    """Shipped presets by name (the file's stem)."""
    return {path.stem: load_preset(path) for path in sorted(PRESETS.glob("*.yaml"))}


def load_preset(path: Path) -> dict[str, Any]:
    """A training config file as a dict (YAML or JSON)."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: not a training config (a mapping of settings)")
    return raw


def settings_of(raw: dict[str, Any], dataset: Path) -> Settings:
    """What the form shows for a preset or a loaded config."""
    model = raw.get("model", {})
    return Settings(
        dataset=dataset, method=method_name(model) if model else "musdl", backbone=model.get("backbone", {}).get("name", "i3d"),
        mode=raw.get("mode", "features"), epochs=int(raw.get("epochs", 100)), batch_size=int(raw.get("batch_size", 32)),
        lr=float(raw.get("lr", 1e-4)), seed=int(raw.get("seed", 0)), partial=bool(raw.get("partial", False)), device=raw.get("device"),
    )


def shipped_model(method: str, backbone: str) -> dict[str, Any]:
    """configs/models/<method>_<backbone>.json, the tested model of that method on that backbone."""
    path = MODELS / f"{method}_{backbone}.json"
    if not path.is_file():
        raise ValueError(f"no shipped model config for {method} on {backbone} ({path.name}); pick a preset or load a config")
    return json.loads(path.read_text(encoding="utf-8"))


def build_config(settings: Settings, run: Path, name: str, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The config the run trains with: ``base`` (a preset) overridden by the form, paths inside ``run``."""
    config = {k: v for k, v in copy.deepcopy(base or {}).items() if k not in PATHS}
    base_model = config.get("model", {})
    if base_model and method_name(base_model) == settings.method and base_model.get("backbone", {}).get("name") == settings.backbone:
        model = base_model
    else:
        model = shipped_model(settings.method, settings.backbone)
    if Path(settings.dataset).suffix == ".npz":  # features someone extracted: their width, whatever the backbone,
        for part in (p for p in model.values() if isinstance(p, dict)):  # and their scores' range (the trainer reads both)
            for key in ("in_dim", "score_range"):
                if key in part:
                    part[key] = "auto"
    config.update(
        dataset=str(Path(settings.dataset).resolve()), out=str(run / "bundle"), work_dir=str(run), model=model, mode=settings.mode,
        epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr, seed=settings.seed, name=name, version=run.name,
        partial=settings.partial,
    )
    if settings.device:
        config["device"] = settings.device
    else:
        config.pop("device", None)
    return config


def save_config(config: dict[str, Any], run: Path) -> Path:
    run.mkdir(parents=True, exist_ok=True)
    path = run / "config.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path
