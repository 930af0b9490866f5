"""Model bundles: a folder with ``bundle.json`` (config, data card, tensor list) and ``weights.safetensors``.

Only the trainable parts (neck statistics, aggregator and head) are stored; the frozen backbone is named in the
config and rebuilt from its pretrained weights (installed, or the file the config names), so a bundle is a few
hundred kB instead of 50 MB. A fine-tuned backbone is the exception: its tensors are the model, so they are stored
beside the heads in ``backbone.safetensors`` (I3D's are 50 MB) and scoring builds the backbone from them alone.
Loading checks everything a hand-edited or half-copied bundle can get wrong (format version,
JSON, tensor names and shapes against the config) and refuses it with a ``BundleError`` that
names the file and the problem, before any scoring starts.

Why a fingerprint. A data card's figures (validation Spearman, judge error) are true only of
these exact weights on the exact backbone they were trained on. So ``bundle.json`` carries
``fingerprint`` (the content hash of the weights and of the manifest itself) and the data card
carries ``backbone`` (name, pretrained, the hash of the backbone weights, preprocessing, and for a fine-tuned
backbone the content hash of its stored tensors). The weights hash is the installed I3D's content hash, or
``file_sha256`` of the file a C3D or R(2+1)D config names.
Loading refuses a bundle whose weights or manifest changed since it was written, whose config
builds another backbone than the one its data card names, or whose weights are not finite
float32; ``build_model`` refuses it when the backbone weights it finds (installed, or the named file)
are not the ones it was trained on. Bundles written before fingerprints existed are refused with that reason (policy:
nothing unverifiable is presented as a score; retraining writes a fingerprinted bundle).
Reading is bounded (``MAX_*``): the real manifest is a few kB, the real weights a few MB.

Format versions. Version 2 (written since methods exist) adds ``method`` (the registered method
the config builds, aqa_core.methods), ``fitted_tensors`` (which stored tensors are fitted state
rather than trained weights, e.g. the standardising neck's statistics, refitted by the trainer
before the first epoch), ``fingerprint.content_sha256``, the backbone's declared preprocessing as a record
(``Preprocessing.to_dict``, not version 1's one-line description) and a fine-tuned backbone's tensors.
Version 1 (the shipped demo bundle)
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

from aqa_core.backbones.preprocessing import BackboneInfo, backbone_info, is_pretrained, without_pretrained
from aqa_core.errors import BundleError, ConfigError, WeightsError
from aqa_core.files import read_json, size_text
from aqa_core.methods import Method, build_method, method_class, method_name
from aqa_core.paths import resource

FORMAT_VERSION = 2  # written; see the module docstring for what each version holds
READABLE_VERSIONS = (1, 2)
MANIFEST = "bundle.json"
WEIGHTS = "weights.safetensors"
BACKBONE_WEIGHTS = "backbone.safetensors"  # a fine-tuned backbone's tensors
DEMO_BUNDLE = ("models", "demo_musdl")
FINGERPRINT = "fingerprint"
RECORD_KEYS = ("name", "pretrained", "weights_sha256", "preprocessing")  # data_card.backbone, every version
FINE_TUNED = "fine_tuned"  # version 2 adds it: None, or where the fine-tuned tensors are and their content hash
MAX_MANIFEST_BYTES = 4 << 20  # the demo manifest is 7 kB; a fitted state adds at most a few hundred kB
MAX_MANIFEST_DEPTH = 32
MAX_WEIGHTS_BYTES = 256 << 20  # heads only; the demo's are 2.5 MB
MAX_BACKBONE_BYTES = 1 << 30  # a fine-tuned backbone: I3D 50 MB, C3D 110 MB, R(2+1)D-18 126 MB
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
    # A fine-tuned backbone's own tensors (None: the backbone is the stock one, rebuilt from its weights).
    backbone_state: dict[str, torch.Tensor] | None = field(default=None, repr=False)

    @property
    def fingerprint(self) -> str:
        """Content hash of what this bundle scores with: weights, config, fitted state and a fine-tuned backbone."""
        return content_sha256(self.state_dict, self.config, self.fitted, self.backbone_state)


def content_sha256(
    state: dict[str, torch.Tensor], config: dict[str, Any], fitted: dict[str, Any], backbone: dict[str, torch.Tensor] | None = None
) -> str:
    from aqa_core.weights import state_sha256

    content = {"weights_sha256": state_sha256(state), "config": config, "fitted": fitted}
    if backbone is not None:  # absent otherwise, so bundles without one keep the fingerprint they always had
        content["backbone_sha256"] = state_sha256(backbone)
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def bundle_from_model(model: Method, name: str, version: str, data_card: dict[str, Any], fine_tuned: bool = False) -> ModelBundle:
    """Package a (trained) model's trainable parts, and its backbone's tensors when ``fine_tuned``.

    The data card gains the backbone they were trained on.
    """
    state = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.trainable_state_dict().items()}
    backbone = None
    if fine_tuned:
        if model.backbone is None:
            raise ValueError("a fine-tuned bundle needs the model's backbone")
        backbone = {k: _stored(v) for k, v in model.backbone.state_dict().items()}
    card = {**data_card, "backbone": data_card.get("backbone") or backbone_record(model.config, backbone)}
    return ModelBundle(name=name, version=version, config=dict(model.config), data_card=card, state_dict=state, backbone_state=backbone)


def _stored(tensor: torch.Tensor) -> torch.Tensor:
    """A tensor as a bundle stores it: on the CPU, contiguous, float32 when it is floating point (BN counters stay integers)."""
    tensor = tensor.detach().to("cpu")
    return (tensor.float() if tensor.is_floating_point() else tensor).contiguous()


def backbone_record(config: dict[str, Any], fine_tuned: dict[str, torch.Tensor] | None = None) -> dict[str, Any]:
    """What the heads were trained on: backbone, pretrained, its weights' hash, its preprocessing, fine-tuned tensors.

    Taken from the backbone's weights at the time of packaging (the weights the features came from).
    """
    from aqa_core.weights import state_sha256

    spec = config.get("backbone") or {}
    info = backbone_info(spec)
    pretrained = is_pretrained(spec)
    return {
        "name": spec.get("name"),
        "pretrained": pretrained,
        "weights_sha256": stock_weights_sha256(spec, info) if pretrained else None,
        "preprocessing": info.preprocessing.to_dict(),
        FINE_TUNED: None if fine_tuned is None else {"file": BACKBONE_WEIGHTS, "tensors_sha256": state_sha256(fine_tuned)},
    }


def stock_weights_sha256(spec: dict[str, Any], info: BackboneInfo) -> str:
    """The hash a bundle records of a pretrained backbone's weights: the installed I3D's, or the named file's bytes."""
    if not info.weights_file:  # the one backbone whose weights `aqa-judge weights install` puts in place: I3D
        from aqa_core.weights import installed_i3d_sha256

        return installed_i3d_sha256()
    from aqa_core.backbones.weights_file import named_weights
    from aqa_core.files import file_sha256

    return file_sha256(named_weights(spec, info))


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
    if bundle.backbone_state is not None:
        save_file({k: _stored(v) for k, v in bundle.backbone_state.items()}, str(folder / BACKBONE_WEIGHTS))
    else:
        (folder / BACKBONE_WEIGHTS).unlink(missing_ok=True)  # a stale one from an earlier bundle in this folder
    card = {**bundle.data_card, "backbone": bundle.data_card.get("backbone") or backbone_record(bundle.config, bundle.backbone_state)}
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
        "content_sha256": content_sha256(tensors, bundle.config, bundle.fitted, bundle.backbone_state),
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
    """The config must build exactly the backbone the data card says the model was trained on, seeing the same pixels."""
    record = manifest["data_card"].get("backbone")
    optional = (FINE_TUNED,) if manifest["format_version"] >= 2 else ()
    if not isinstance(record, dict) or not set(RECORD_KEYS) <= set(record) <= {*RECORD_KEYS, *optional}:
        raise BundleError(f"{path}: the data card does not name the backbone the model was trained on (data_card.backbone with {', '.join(RECORD_KEYS)})")
    spec = manifest["config"].get("backbone")
    if not isinstance(spec, dict):
        raise BundleError(f"{path}: config.backbone is missing or not an object")
    try:
        info = backbone_info(spec)
    except ConfigError as exc:
        raise BundleError(f"{path}: config cannot build a model ({exc})") from None
    built = (spec.get("name"), is_pretrained(spec))
    if built != (record["name"], record["pretrained"]):
        raise BundleError(
            f"{path}: config builds backbone {built[0]!r} (pretrained {built[1]}) but the data card's figures were measured on "
            f"{record['name']!r} (pretrained {record['pretrained']}); refusing it"
        )
    fine_tuned = record.get(FINE_TUNED)
    if fine_tuned is not None and not (isinstance(fine_tuned, dict) and fine_tuned.get("file") == BACKBONE_WEIGHTS and isinstance(fine_tuned.get("tensors_sha256"), str)):
        raise BundleError(f"{path}: data_card.backbone.{FINE_TUNED} must name {BACKBONE_WEIGHTS} and its tensors_sha256")
    if info.pretrained_on and fine_tuned is None and not (record["pretrained"] and isinstance(record["weights_sha256"], str)):
        article = "an" if info.label[0] in "AEIORS" else "a"
        raise BundleError(f"{path}: {article} {info.label} backbone without its {info.pretrained_on} weights gives random features; refusing it")
    # Version 1 (and version 2 before backbones declared it) recorded the one-line description.
    current = info.preprocessing.description if isinstance(record["preprocessing"], str) else info.preprocessing.to_dict()
    if record["preprocessing"] != current:
        raise BundleError(f"{path}: trained on preprocessing {record['preprocessing']!r}, this program does {current!r}")
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


def _read_safetensors(path: Path, limit: int, what: str) -> dict[str, torch.Tensor]:
    """``path``'s tensors, refused unread when the file is larger than ``what`` can be (``limit`` bytes)."""
    size = path.stat().st_size
    if size > limit:
        raise BundleError(f"{path}: {size_text(size)} is too large for {what} (at most {size_text(limit)})")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise BundleError(f"{path}: unreadable or corrupt safetensors file ({exc})") from None


def load_bundle(folder: str | Path) -> ModelBundle:
    folder = Path(folder)
    manifest = _read_manifest(folder)
    manifest_path = folder / MANIFEST
    weights_path = folder / WEIGHTS
    if not weights_path.is_file():
        raise BundleError(f"{weights_path}: missing")
    record = _check_backbone(manifest, manifest_path)
    state = _read_safetensors(weights_path, MAX_WEIGHTS_BYTES, "a bundle's heads")
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
        backbone_state=_load_fine_tuned(folder, record, manifest["config"]["backbone"]) if record.get(FINE_TUNED) else None,
    )
    if bundle.format_version >= 2 and manifest[FINGERPRINT].get("content_sha256") != bundle.fingerprint:
        raise BundleError(f"{manifest_path}: its config, fitted state or weights are not the ones its content fingerprint was taken of")
    return bundle


def _load_fine_tuned(folder: Path, record: dict[str, Any], spec: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The fine-tuned backbone's tensors: bounded, the architecture's names and shapes, finite, the recorded content."""
    from aqa_core.weights import state_sha256

    path = folder / BACKBONE_WEIGHTS
    if not path.is_file():
        raise BundleError(f"{path}: missing; this bundle's backbone was fine-tuned and its tensors are part of the model")
    state = _read_safetensors(path, MAX_BACKBONE_BYTES, "a backbone")
    expected = {k: tuple(v.shape) for k, v in _architecture(spec).state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if found != expected:
        raise BundleError(f"{path}: tensors do not match backbone {spec.get('name')!r} ({_difference(found, expected)})")
    for name in sorted(state):
        if state[name].is_floating_point() and (state[name].dtype != torch.float32 or not torch.isfinite(state[name]).all()):
            raise BundleError(f"{path}: tensor {name} is not finite float32")
    if state_sha256(state) != record[FINE_TUNED]["tensors_sha256"]:
        raise BundleError(f"{path}: the fine-tuned backbone is not the one this bundle was written with (content hash differs from {MANIFEST})")
    return state


def _architecture(spec: dict[str, Any]) -> torch.nn.Module:
    """The backbone a spec builds without its pretrained weights (names and shapes only; nothing is read)."""
    from aqa_core.registry import BACKBONES

    with torch.device("meta"):
        return BACKBONES.build(without_pretrained(spec))


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


def build_model(bundle: ModelBundle, backbone_weights: str | Path | None = None, with_backbone: bool = True) -> Method:
    """The full model (backbone included) with the bundle's trained parts loaded, in eval mode.

    A fine-tuned bundle's backbone is built from its stored tensors alone; otherwise from the stock
    weights, which must be the ones the bundle records. ``backbone_weights`` names the weights file
    for a C3D or R(2+1)D bundle moved to a computer where the file the config names is elsewhere.
    ``with_backbone=False``: the heads alone, for an engine that runs the backbone itself (OpenVINO's
    saved model of the installed I3D); the stock weights are still checked to be the bundle's.
    """
    spec = dict(bundle.config.get("backbone") or {})
    if bundle.backbone_state is not None:
        spec = without_pretrained(spec)
    elif backbone_weights is not None:
        spec["weights"] = str(backbone_weights)
    try:
        model = build_method({**bundle.config, "backbone": spec}, with_backbone=with_backbone)
    except WeightsError as exc:
        raise BundleError(f"model bundle '{bundle.name}': {exc}") from None
    except (ConfigError, KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"model bundle '{bundle.name}': config cannot build a model ({exc})") from None
    assert model.backbone is not None or not with_backbone
    if bundle.backbone_state is not None:
        if model.backbone is not None:
            model.backbone.load_state_dict(bundle.backbone_state)
    elif isinstance(bundle.data_card.get("backbone"), dict):
        _check_stock_backbone(bundle, model.backbone, spec, bundle.data_card["backbone"])
    missing, unexpected = model.load_state_dict(bundle.state_dict, strict=False)
    missing = [k for k in missing if not k.startswith("backbone.")]
    if missing or unexpected:
        raise BundleError(f"model bundle '{bundle.name}': weights do not match the model (missing {missing}, unexpected {unexpected})")
    return model.eval()


def _check_stock_backbone(bundle: ModelBundle, backbone: torch.nn.Module | None, spec: dict[str, Any], record: dict[str, Any]) -> None:
    """The backbone weights loaded (installed, or the named file; None: not loaded) must be the ones the bundle's heads were trained on."""
    if not isinstance(record.get("weights_sha256"), str):
        return
    info = backbone_info(spec)
    try:  # a named file was hashed as it was read (else it is hashed now); the installed I3D's hash is its install record's
        found = getattr(backbone, "weights_sha256", None) if info.weights_file and backbone is not None else stock_weights_sha256(spec, info)
    except WeightsError as exc:
        raise BundleError(f"model bundle '{bundle.name}': {exc}") from None
    if found == record["weights_sha256"]:
        return
    if not info.weights_file:
        raise BundleError(
            f"model bundle '{bundle.name}' was trained on I3D weights {record['weights_sha256'][:12]}…, "
            f"the installed ones are {found[:12]}…; run `aqa-judge weights install` or retrain the model"
        )
    raise BundleError(
        f"model bundle '{bundle.name}' was trained on {info.label} weights with sha256 {record['weights_sha256'][:12]}…, "
        f"but {spec.get('weights')} has {found[:12]}…; name the file it was trained on (--backbone-weights) or retrain the model"
    )
