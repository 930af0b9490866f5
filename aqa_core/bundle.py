"""Model bundles: a folder with ``bundle.json`` (config, data card, tensor list) and ``weights.safetensors``.

Only the trainable parts (neck statistics, aggregator and head) are stored; the frozen backbone is named in the
config and rebuilt from the installed weights, so a bundle is a few hundred kB instead of 50 MB.
Loading checks everything a hand-edited or half-copied bundle can get wrong (format version,
JSON, tensor names and shapes against the config) and refuses it with a ``BundleError`` that
names the file and the problem, before any scoring starts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from aqa_core.errors import BundleError
from aqa_core.model import AQAModel
from aqa_core.paths import resource

FORMAT_VERSION = 1
MANIFEST = "bundle.json"
WEIGHTS = "weights.safetensors"
DEMO_BUNDLE = ("models", "demo_musdl")


@dataclass
class ModelBundle:
    name: str
    version: str
    config: dict[str, Any]
    data_card: dict[str, Any]  # dataset, split sizes, val/test figures, date, code version, synthetic, intended_use
    state_dict: dict[str, torch.Tensor] = field(repr=False)
    format_version: int = FORMAT_VERSION
    # Fitted after training, JSON only: interval calibration, training-feature summary (see
    # aqa_core.calibration, aqa_core.familiarity). Empty for a bundle that has none.
    fitted: dict[str, Any] = field(default_factory=dict, repr=False)


def bundle_from_model(model: AQAModel, name: str, version: str, data_card: dict[str, Any]) -> ModelBundle:
    """Package a (trained) model's trainable parts."""
    state = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.trainable_state_dict().items()}
    return ModelBundle(name=name, version=version, config=dict(model.config), data_card=dict(data_card), state_dict=state)


def save_bundle(bundle: ModelBundle, folder: str | Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in bundle.state_dict.items()}
    save_file(tensors, str(folder / WEIGHTS))
    manifest = {
        "name": bundle.name,
        "version": bundle.version,
        "format_version": bundle.format_version,
        "config": bundle.config,
        "data_card": bundle.data_card,
        **({"fitted": bundle.fitted} if bundle.fitted else {}),
        "tensors": {k: {"shape": list(v.shape), "dtype": str(v.dtype).removeprefix("torch.")} for k, v in tensors.items()},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return folder


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not folder.is_dir():
        raise BundleError(f"{folder}: model bundle folder not found")
    if not path.is_file():
        raise BundleError(f"{path}: missing; a model bundle folder holds {MANIFEST} and {WEIGHTS}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise BundleError(f"{path}: expected a JSON object")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(f"{path}: format_version {version!r} is not supported (this program reads version {FORMAT_VERSION})")
    for key, kind in (("name", str), ("version", str), ("config", dict), ("data_card", dict), ("tensors", dict)):
        if not isinstance(manifest.get(key), kind):
            raise BundleError(f"{path}: '{key}' is missing or not a {kind.__name__}")
    if not isinstance(manifest.get("fitted", {}), dict):
        raise BundleError(f"{path}: 'fitted' is not a dict")
    return manifest


def _expected_shapes(config: dict[str, Any], path: Path) -> dict[str, tuple[int, ...]]:
    """Names and shapes the config implies, from a backbone-free model (cheap, needs no weights)."""
    try:
        parts = AQAModel(config, with_backbone=False)
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{path}: config cannot build a model ({exc})") from None
    return {k: tuple(v.shape) for k, v in parts.trainable_state_dict().items()}


def load_bundle(folder: str | Path) -> ModelBundle:
    folder = Path(folder)
    manifest = _read_manifest(folder)
    manifest_path = folder / MANIFEST
    weights_path = folder / WEIGHTS
    if not weights_path.is_file():
        raise BundleError(f"{weights_path}: missing")
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise BundleError(f"{weights_path}: unreadable or corrupt safetensors file ({exc})") from None
    expected = _expected_shapes(manifest["config"], manifest_path)
    listed = {k: tuple(v.get("shape", ())) for k, v in manifest["tensors"].items()}
    if listed != expected:
        raise BundleError(f"{manifest_path}: tensor list does not match the config ({_difference(listed, expected)})")
    found = {k: tuple(v.shape) for k, v in state.items()}
    if found != expected:
        raise BundleError(f"{weights_path}: tensors do not match the config ({_difference(found, expected)})")
    return ModelBundle(
        name=manifest["name"],
        version=manifest["version"],
        format_version=FORMAT_VERSION,
        config=manifest["config"],
        data_card=manifest["data_card"],
        state_dict=state,
        fitted=manifest.get("fitted", {}),
    )


def _difference(found: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]]) -> str:
    missing = sorted(set(expected) - set(found))
    if missing:
        return f"missing tensor {missing[0]}" + (f" and {len(missing) - 1} more" if len(missing) > 1 else "")
    extra = sorted(set(found) - set(expected))
    if extra:
        return f"unexpected tensor {extra[0]}" + (f" and {len(extra) - 1} more" if len(extra) > 1 else "")
    name = next(k for k in sorted(expected) if found[k] != expected[k])
    return f"tensor {name} has shape {list(found[name])}, expected {list(expected[name])}"


def default_bundle_path() -> Path | None:
    """The shipped demo model, if it has been trained and installed into resources/."""
    path = resource(*DEMO_BUNDLE)
    return path if (path / MANIFEST).is_file() else None


def build_model(bundle: ModelBundle) -> AQAModel:
    """The full model (backbone included) with the bundle's trained parts loaded, in eval mode."""
    try:
        model = AQAModel(bundle.config)
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"model bundle '{bundle.name}': config cannot build a model ({exc})") from None
    missing, unexpected = model.load_state_dict(bundle.state_dict, strict=False)
    missing = [k for k in missing if not k.startswith("backbone.")]
    if missing or unexpected:
        raise BundleError(f"model bundle '{bundle.name}': weights do not match the model (missing {missing}, unexpected {unexpected})")
    return model.eval()
