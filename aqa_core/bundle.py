"""Model bundles: a folder with ``bundle.json`` (config, data card, tensor list) and ``weights.safetensors``.

Only the trainable parts (neck statistics, aggregator and head) are stored; the frozen backbone is named in the
config and rebuilt from the installed weights, so a bundle is a few hundred kB instead of 50 MB.
Loading checks everything a hand-edited or half-copied bundle can get wrong (format version,
JSON, tensor names and shapes against the config) and refuses it with a ``BundleError`` that
names the file and the problem, before any scoring starts.

Why a fingerprint. A data card's figures (validation Spearman, judge error) are true only of
these exact weights on the exact backbone they were trained on. So ``bundle.json`` carries
``fingerprint`` (the content hash of the weights and of the manifest itself) and the data card
carries ``backbone`` (name, pretrained, the content hash of the backbone weights, preprocessing).
Loading refuses a bundle whose weights or manifest changed since it was written, whose config
builds another backbone than the one its data card names, or whose weights are not finite
float32; ``build_model`` refuses it when the installed backbone weights are not the ones it was
trained on. Bundles written before fingerprints existed are refused with that reason (policy:
nothing unverifiable is presented as a score; retraining writes a fingerprinted bundle).
Reading is bounded (``MAX_*``): the real manifest is a few kB, the real weights a few MB.

Format versions. Version 2 (written since methods exist) adds ``method`` (the registered method
the config builds, aqa_core.methods), ``fitted_tensors`` (which stored tensors are fitted state
rather than trained weights, e.g. the standardising neck's statistics, refitted by the trainer
before the first epoch) and ``fingerprint.content_sha256``. Version 1 (the shipped demo bundle)
still loads and scores exactly as before: its config names only a head, whose method is the
head's. ``ModelBundle.fingerprint`` is the content hash of what a bundle scores with (weights,
config, fitted state), for both versions, so caches keyed on it never answer a retrained bundle
of the same name and version from the old model's results.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from aqa_core.errors import BundleError, ConfigError, WeightsError
from aqa_core.files import read_json, size_text
from aqa_core.methods import Method, build_method, method_class, method_name
from aqa_core.paths import resource

FORMAT_VERSION = 2  # written; see the module docstring for what each version holds
READABLE_VERSIONS = (1, 2)
MANIFEST = "bundle.json"
WEIGHTS = "weights.safetensors"
DEMO_BUNDLE = ("models", "demo_musdl")
FINGERPRINT = "fingerprint"
# What the backbone saw: bump when aqa_core/clips.py changes resizing, cropping or value range.
PREPROCESSING = "rgb x/127.5-1, short side x256/224, centre crop 224 (aqa_core.clips v1)"
MAX_MANIFEST_BYTES = 4 << 20  # the demo manifest is 7 kB; a fitted state adds at most a few hundred kB
MAX_MANIFEST_DEPTH = 32
MAX_WEIGHTS_BYTES = 256 << 20  # heads only; the demo's are 2.5 MB
MAX_NAME, MAX_VERSION = 200, 60  # the sessions database's model_name / model_version columns


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

    @property
    def fingerprint(self) -> str:
        """Content hash of what this bundle scores with: weights, config and fitted state (not name, version or card)."""
        return content_sha256(self.state_dict, self.config, self.fitted)


def content_sha256(state: dict[str, torch.Tensor], config: dict[str, Any], fitted: dict[str, Any]) -> str:
    from aqa_core.weights import state_sha256

    content = {"weights_sha256": state_sha256(state), "config": config, "fitted": fitted}
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def bundle_from_model(model: Method, name: str, version: str, data_card: dict[str, Any]) -> ModelBundle:
    """Package a (trained) model's trainable parts; the data card gains the backbone they were trained on."""
    state = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.trainable_state_dict().items()}
    card = {**data_card, "backbone": data_card.get("backbone") or backbone_record(model.config)}
    return ModelBundle(name=name, version=version, config=dict(model.config), data_card=card, state_dict=state)


def backbone_record(config: dict[str, Any]) -> dict[str, Any]:
    """What the heads were trained on: backbone name, pretrained, its weights' content hash, preprocessing.

    Taken from the installed weights at the time of packaging (the weights the features came from).
    """
    name, pretrained = _backbone_identity(config.get("backbone") or {})
    weights = None
    if name == "i3d" and pretrained:
        from aqa_core.weights import installed_i3d_sha256

        weights = installed_i3d_sha256()
    return {"name": name, "pretrained": pretrained, "weights_sha256": weights, "preprocessing": PREPROCESSING}


def _backbone_identity(spec: dict[str, Any]) -> tuple[Any, bool]:
    """(name, pretrained) a backbone spec builds; only I3D has pretrained weights (on by default)."""
    name = spec.get("name")
    return name, bool(spec.get("pretrained", True)) if name == "i3d" else False


def manifest_sha256(manifest: dict[str, Any]) -> str:
    """Content hash of every manifest entry except the fingerprint itself (canonical JSON)."""
    content = {k: v for k, v in manifest.items() if k != FINGERPRINT}
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def save_bundle(bundle: ModelBundle, folder: str | Path) -> Path:
    from aqa_core.weights import state_sha256

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in bundle.state_dict.items()}
    save_file(tensors, str(folder / WEIGHTS))
    card = {**bundle.data_card, "backbone": bundle.data_card.get("backbone") or backbone_record(bundle.config)}
    manifest = {
        "name": bundle.name,
        "version": bundle.version,
        "format_version": FORMAT_VERSION,
        "method": method_name(bundle.config),
        "config": bundle.config,
        "data_card": card,
        **({"fitted": bundle.fitted} if bundle.fitted else {}),
        "fitted_tensors": build_method(bundle.config, with_backbone=False).fitted_tensor_names(),
        "tensors": {k: {"shape": list(v.shape), "dtype": str(v.dtype).removeprefix("torch.")} for k, v in tensors.items()},
    }
    manifest[FINGERPRINT] = {
        "weights_sha256": state_sha256(tensors),
        "content_sha256": content_sha256(tensors, bundle.config, bundle.fitted),
        "manifest_sha256": manifest_sha256(manifest),
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return folder


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not folder.is_dir():
        raise BundleError(f"{folder}: model bundle folder not found")
    if not path.is_file():
        raise BundleError(f"{path}: missing; a model bundle folder holds {MANIFEST} and {WEIGHTS}")
    manifest = read_json(path, MAX_MANIFEST_BYTES, MAX_MANIFEST_DEPTH, "a bundle manifest", BundleError)
    if not isinstance(manifest, dict):
        raise BundleError(f"{path}: expected a JSON object")
    version = manifest.get("format_version")
    if type(version) is not int or version not in READABLE_VERSIONS:  # true and 1.0 compare equal to 1
        readable = " and ".join(str(v) for v in READABLE_VERSIONS)
        raise BundleError(f"{path}: format_version {version!r} is not supported (this program reads versions {readable})")
    for key, kind in (("name", str), ("version", str), ("config", dict), ("data_card", dict), ("tensors", dict)):
        if not isinstance(manifest.get(key), kind):
            raise BundleError(f"{path}: '{key}' is missing or not a {kind.__name__}")
    if not isinstance(manifest.get("fitted", {}), dict):
        raise BundleError(f"{path}: 'fitted' is not a dict")
    _check_fingerprint(manifest, path)
    _check_shown_text(manifest, path)
    if version >= 2:
        _check_method(manifest, path)
    return manifest


def _check_method(manifest: dict[str, Any], path: Path) -> None:
    """A version-2 manifest names the method its config builds, and which tensors are fitted state."""
    try:
        built = method_class(manifest["config"]).name
    except ConfigError as exc:
        raise BundleError(f"{path}: config cannot build a model ({exc})") from None
    if manifest.get("method") != built:
        raise BundleError(f"{path}: 'method' is {manifest.get('method')!r} but the config builds method {built!r}")
    fitted = manifest.get("fitted_tensors")
    if not isinstance(fitted, list) or not all(isinstance(name, str) and name in manifest["tensors"] for name in fitted):
        raise BundleError(f"{path}: 'fitted_tensors' must list names of stored tensors")


def _check_shown_text(manifest: dict[str, Any], path: Path) -> None:
    """Name, version and data card are printed beside every score and stored with it: short, no terminal escapes."""
    for key, limit in (("name", MAX_NAME), ("version", MAX_VERSION)):
        if not 0 < len(manifest[key]) <= limit:
            raise BundleError(f"{path}: '{key}' must be 1 to {limit} characters, not {len(manifest[key])}")
    stack: list[Any] = [manifest["name"], manifest["version"], manifest["data_card"]]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and any(unicodedata.category(ch) in ("Cc", "Cf") for ch in item):
            raise BundleError(f"{path}: the name, version or data card holds control characters ({item[:40]!r}); refusing it")
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _check_fingerprint(manifest: dict[str, Any], path: Path) -> None:
    """The manifest is as written (see module docstring for the policy on bundles without one)."""
    fingerprint = manifest.get(FINGERPRINT)
    if fingerprint is None:
        raise BundleError(
            f"{path}: has no fingerprint (written before bundles recorded the hashes of their weights and backbone), "
            "so what it would score cannot be checked; retrain it with `aqa-judge train`"
        )
    if not isinstance(fingerprint, dict) or not all(isinstance(fingerprint.get(k), str) for k in ("weights_sha256", "manifest_sha256")):
        raise BundleError(f"{path}: 'fingerprint' must hold weights_sha256 and manifest_sha256 strings")
    if manifest_sha256(manifest) != fingerprint["manifest_sha256"]:
        raise BundleError(f"{path}: was edited after the bundle was written (its content no longer matches its fingerprint); its data card may not describe this model")


def _check_backbone(manifest: dict[str, Any], path: Path) -> dict[str, Any]:
    """The config must build exactly the backbone the data card says the model was trained on."""
    record = manifest["data_card"].get("backbone")
    keys = ("name", "pretrained", "weights_sha256", "preprocessing")
    if not isinstance(record, dict) or set(record) != set(keys):
        raise BundleError(f"{path}: the data card does not name the backbone the model was trained on (data_card.backbone with {', '.join(keys)})")
    spec = manifest["config"].get("backbone")
    if not isinstance(spec, dict):
        raise BundleError(f"{path}: config.backbone is missing or not an object")
    built = _backbone_identity(spec)
    if built != (record["name"], record["pretrained"]):
        raise BundleError(
            f"{path}: config builds backbone {built[0]!r} (pretrained {built[1]}) but the data card's figures were measured on "
            f"{record['name']!r} (pretrained {record['pretrained']}); refusing it"
        )
    if record["name"] == "i3d" and not (record["pretrained"] and isinstance(record["weights_sha256"], str)):
        raise BundleError(f"{path}: an I3D backbone without its Kinetics-400 weights gives random features; refusing it")
    if record["preprocessing"] != PREPROCESSING:
        raise BundleError(f"{path}: trained on preprocessing {record['preprocessing']!r}, this program does {PREPROCESSING!r}")
    return record


def _check_weights(state: dict[str, torch.Tensor], manifest: dict[str, Any], path: Path) -> None:
    """float32, finite, and exactly the tensors the fingerprint was taken of."""
    from aqa_core.weights import state_sha256

    for name in sorted(state):
        tensor = state[name]
        if tensor.dtype != torch.float32:
            raise BundleError(f"{path}: tensor {name} is {str(tensor.dtype).removeprefix('torch.')}, a bundle stores float32")
        if not torch.isfinite(tensor).all():
            raise BundleError(f"{path}: tensor {name} holds NaN or infinity")
    if state_sha256(state) != manifest[FINGERPRINT]["weights_sha256"]:
        raise BundleError(f"{path}: the weights are not the ones this bundle was written with (content hash differs from {MANIFEST}'s fingerprint)")


def _expected_shapes(config: dict[str, Any], path: Path) -> dict[str, tuple[int, ...]]:
    """Names and shapes the config implies, from a backbone-free model (cheap, needs no weights)."""
    try:
        parts = build_method(config, with_backbone=False)
    except (ConfigError, KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{path}: config cannot build a model ({exc})") from None
    return {k: tuple(v.shape) for k, v in parts.trainable_state_dict().items()}


def load_bundle(folder: str | Path) -> ModelBundle:
    folder = Path(folder)
    manifest = _read_manifest(folder)
    manifest_path = folder / MANIFEST
    weights_path = folder / WEIGHTS
    if not weights_path.is_file():
        raise BundleError(f"{weights_path}: missing")
    _check_backbone(manifest, manifest_path)
    size = weights_path.stat().st_size
    if size > MAX_WEIGHTS_BYTES:
        raise BundleError(f"{weights_path}: {size_text(size)} is too large for a bundle's heads (at most {size_text(MAX_WEIGHTS_BYTES)})")
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
    _check_weights(state, manifest, weights_path)
    bundle = ModelBundle(
        name=manifest["name"],
        version=manifest["version"],
        format_version=manifest["format_version"],
        config=manifest["config"],
        data_card=manifest["data_card"],
        state_dict=state,
        fitted=manifest.get("fitted", {}),
    )
    if bundle.format_version >= 2 and manifest[FINGERPRINT].get("content_sha256") != bundle.fingerprint:
        raise BundleError(f"{manifest_path}: its config, fitted state or weights are not the ones its content fingerprint was taken of")
    return bundle


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


def build_model(bundle: ModelBundle) -> Method:
    """The full model (backbone included) with the bundle's trained parts loaded, in eval mode."""
    try:
        model = build_method(bundle.config)
    except (ConfigError, KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"model bundle '{bundle.name}': config cannot build a model ({exc})") from None
    _check_installed_backbone(bundle)
    missing, unexpected = model.load_state_dict(bundle.state_dict, strict=False)
    missing = [k for k in missing if not k.startswith("backbone.")]
    if missing or unexpected:
        raise BundleError(f"model bundle '{bundle.name}': weights do not match the model (missing {missing}, unexpected {unexpected})")
    return model.eval()


def _check_installed_backbone(bundle: ModelBundle) -> None:
    """The installed backbone weights must be the ones the bundle's heads were trained on."""
    record = bundle.data_card.get("backbone")
    if not isinstance(record, dict) or record.get("name") != "i3d" or not isinstance(record.get("weights_sha256"), str):
        return
    from aqa_core.weights import installed_i3d_sha256

    try:
        installed = installed_i3d_sha256()
    except WeightsError as exc:
        raise BundleError(f"model bundle '{bundle.name}': {exc}") from None
    if installed != record["weights_sha256"]:
        raise BundleError(
            f"model bundle '{bundle.name}' was trained on I3D weights {record['weights_sha256'][:12]}…, "
            f"the installed ones are {installed[:12]}…; run `aqa-judge weights install` or retrain the model"
        )
