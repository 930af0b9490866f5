"""Choose the backbone engine by measurement on this machine, cache the choice, explain it.

Every candidate runs the same generated dives. Its features are decoded by the bundle's own head
and decoding and compared with float32 PyTorch's (``agreement``); only candidates within half a
point on the final and on every clip qualify, and the fastest of those is chosen. The float32
PyTorch reference is the seeds' way (one clip after another, contiguous layout), so its time is
also the baseline every speed-up is quoted against.

The cache (``runtime_choice.json`` in the user data folder) keeps one choice per key: the
backbone weights' sha256, the bundle's fingerprint (agreement is measured through its head), the
CPU and its native features, the device and thread count, and the PyTorch and OpenVINO versions.
Any of them changing means a new measurement; a stale entry is never read.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from torch import nn

from aqa_core.errors import AQAError
from aqa_core.files import atomic_write_text
from aqa_core.inference.agreement import Agreement, compare
from aqa_core.inference.cpu import cpu_features
from aqa_core.inference.engines import Engine, TorchEngine
from aqa_core.methods.base import Method
from aqa_core.paths import user_data_dir
from aqa_core.runtime import Runtime

CACHE_FILE = "runtime_choice.json"
CACHE_FORMAT = 2
PROBE_SEEDS = (11, 12, 13)  # generated dives every candidate runs: deterministic, no file needed
# The tests' stand-in backbone costs microseconds: measuring it would only slow every test down.
UNMEASURED_BACKBONES = ("tiny",)

EngineBuilder = Callable[[], Engine]


@dataclass(frozen=True)
class Measured:
    name: str
    precision: str
    seconds_per_dive: float | None  # None: the candidate failed before it could be timed
    final_diff: float | None
    clip_diff: float | None
    qualifies: bool
    problem: str | None = None  # why it does not qualify
    agreement: str = ""  # Agreement.describe() of its scores

    def describe(self) -> str:
        if self.seconds_per_dive is None:
            return f"{self.name}: {self.problem}"
        verdict = "agrees" if self.qualifies else "EXCLUDED"
        return f"{self.name}: {self.seconds_per_dive:.2f} s per dive, {self.agreement}: {verdict}"


@dataclass(frozen=True)
class Choice:
    engine: str  # the chosen candidate's name
    precision: str
    seconds_per_dive: float
    reference_seconds: float  # float32 PyTorch clip by clip (the seeds' way), same run
    reason: str
    cpu: str
    measured: list[Measured] = field(default_factory=list)
    cached: bool = False  # read from the cache rather than measured now

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("cached")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Choice:
        measured = [Measured(**entry) for entry in data["measured"]]
        return cls(**{**data, "measured": measured, "cached": True})

    def summary(self) -> str:
        """One line for the app and ``score``: what runs, in what precision, how fast."""
        if not self.measured:
            return f"{self.engine} ({self.reason})"
        return f"{self.engine} ({self.seconds_per_dive:.2f} s per dive, {self.reference_seconds / self.seconds_per_dive:.1f}x the float32 clip-by-clip way)"


@dataclass(frozen=True)
class Candidate:
    name: str
    build: EngineBuilder


def _timed(engine: Engine, probes: Sequence[torch.Tensor], repeats: int) -> tuple[float, list[torch.Tensor]]:
    """(best seconds per dive, features of every probe): one warm-up, then each probe, then extra repeats."""
    engine.features(probes[0])
    features, times = [], []
    for probe in [*probes, *[probes[0]] * max(0, repeats - len(probes))]:
        started = time.perf_counter()
        out = engine.features(probe)
        times.append(time.perf_counter() - started)
        if len(features) < len(probes):
            features.append(out.float().cpu())
    return min(times), features


def measure_and_choose(
    model: Method,
    reference: EngineBuilder,
    candidates: Sequence[Candidate],
    probes: Sequence[torch.Tensor],
    decoding: str,
    repeats: int = 2,
) -> Choice:
    """Time the reference and every candidate on ``probes`` and keep the fastest that agrees.

    A candidate that fails to build or run is recorded with its error and never chosen. The
    reference itself is the fallback, so there is always a choice.
    """
    reference_engine = reference()
    reference_s, reference_features = _timed(reference_engine, probes, repeats)
    measured: list[Measured] = []
    engines: dict[str, Engine] = {}
    for candidate in candidates:
        try:
            engine = candidate.build()
            seconds, features = _timed(engine, probes, repeats)
        except Exception as exc:  # noqa: BLE001 - an engine that cannot run here is simply not a candidate
            measured.append(Measured(candidate.name, "?", None, None, None, False, f"cannot run here ({type(exc).__name__}: {exc})"))
            continue
        agreement: Agreement = compare(model, reference_features, features, decoding)
        problem = None if agreement.holds else f"{agreement.describe()}: outside the tolerance"
        measured.append(Measured(engine.name, engine.precision, seconds, agreement.final, agreement.clip, agreement.holds, problem, agreement.describe()))
        engines[engine.name] = engine
    qualified = sorted((m for m in measured if m.qualifies and m.seconds_per_dive is not None), key=lambda m: m.seconds_per_dive)
    cpu = cpu_features().describe()
    if not qualified:
        return Choice(reference_engine.name, reference_engine.precision, reference_s, reference_s,
                      "no candidate agreed with float32 within 0.5 point; the float32 reference runs", cpu, measured)
    best = qualified[0]
    excluded = [m for m in measured if not m.qualifies]
    reason = f"fastest of {len(qualified)} candidates whose scores agree with float32 within 0.5 point"
    if excluded:
        reason += "; excluded: " + "; ".join(f"{m.name} ({m.problem})" for m in excluded)
    return Choice(best.name, best.precision, best.seconds_per_dive, reference_s, reason, cpu, measured)


# --- the cache ---------------------------------------------------------------------------------


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def cache_key(weights_sha256: str, bundle_fingerprint: str, device: torch.device, threads: int) -> dict[str, Any]:
    """Everything a measured choice depends on."""
    cpu = cpu_features()
    return {
        "format": CACHE_FORMAT,
        "weights_sha256": weights_sha256,
        "bundle": bundle_fingerprint,
        "cpu": cpu.describe(),
        "capability": cpu.capability,
        "device": str(device) if device.type == "cpu" else f"{device} {torch.cuda.get_device_name(device)}",
        "threads": threads,
        "torch": torch.__version__,
        "openvino": _version("openvino"),
    }


def _key_id(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def cache_path() -> Path:
    return user_data_dir() / CACHE_FILE


def _read_cache() -> dict[str, Any]:
    try:
        data = json.loads(cache_path().read_bytes()[: 1 << 20])
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cached_choice(key: dict[str, Any]) -> Choice | None:
    """The choice measured for exactly this key, or None (absent, stale or unreadable: measure again)."""
    entry = _read_cache().get(_key_id(key))
    if not isinstance(entry, dict) or entry.get("key") != key:
        return None
    try:
        return Choice.from_dict(entry["choice"])
    except (KeyError, TypeError):
        return None


def store_choice(key: dict[str, Any], choice: Choice) -> None:
    """Add this key's choice to the cache (other keys' entries are kept), atomically."""
    data = _read_cache()
    data[_key_id(key)] = {"key": key, "choice": choice.to_dict()}
    atomic_write_text(cache_path(), json.dumps(data, indent=1))


# --- the candidates for the I3D ---------------------------------------------------------------


def candidates_for(backbone: nn.Module, device: torch.device, threads: int, weights_sha256: str | None, clip_shape: tuple[int, ...]) -> list[Candidate]:
    """Every engine worth measuring here: bf16 only where the hardware computes it, OpenVINO only if installed."""
    def torch_engine(dtype: torch.dtype | None, clip_by_clip: bool) -> EngineBuilder:
        return lambda: TorchEngine(backbone, Runtime(device, dtype, True, threads, "measured"), clip_by_clip)

    if device.type == "cuda":
        half = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return [Candidate("pytorch float32 batched", torch_engine(None, False)),
                Candidate(f"pytorch {str(half).removeprefix('torch.')} batched", torch_engine(half, False))]
    native_bf16 = cpu_features().native_bf16
    candidates = [Candidate("pytorch float32 batched", torch_engine(None, False)),
                  Candidate("pytorch float32 clip by clip", torch_engine(None, True))]
    if native_bf16:
        candidates += [Candidate("pytorch bfloat16 batched", torch_engine(torch.bfloat16, False)),
                       Candidate("pytorch bfloat16 clip by clip", torch_engine(torch.bfloat16, True))]
    from aqa_core.inference.openvino_engine import OpenVinoEngine, ensure_converted, openvino_available

    if openvino_available() and weights_sha256 is not None:
        def openvino(precision: str) -> EngineBuilder:
            return lambda: OpenVinoEngine(ensure_converted(backbone, weights_sha256, clip_shape), precision, threads)

        candidates.append(Candidate("openvino float32 clip by clip", openvino("float32")))
        if native_bf16:
            candidates.append(Candidate("openvino bfloat16 clip by clip", openvino("bfloat16")))
    return candidates


# --- what the scorer calls ---------------------------------------------------------------------


def probe_clips(scheme: Any, seeds: Sequence[int] = PROBE_SEEDS) -> list[torch.Tensor]:
    """Clips of generated dives (the procedural generator, deterministic per seed): what candidates run."""
    from aqa_core.clips import frames_to_clips
    from aqa_core.synthetic.dive import generate_dive

    return [frames_to_clips(generate_dive(seed).frames, scheme).clips for seed in seeds]


def _installed_backbone_sha256(config: dict[str, Any], state_keys: Sequence[str]) -> str | None:
    """The weights hash when the bundle runs the installed Kinetics I3D unchanged, else None."""
    spec = config.get("backbone")
    if not isinstance(spec, dict) or spec.get("name") != "i3d" or not spec.get("pretrained", True):
        return None
    if any(key.startswith("backbone.") for key in state_keys):  # a fine-tuned backbone travels in the bundle
        return None
    from aqa_core.weights import installed_i3d_sha256

    return installed_i3d_sha256()


def chosen_engine(model: Method, bundle: Any, decoding: str, device: str | None = None, threads: int | None = None,
                  progress: Callable[[str], None] | None = None, measure: bool = True) -> tuple[Engine, Choice]:
    """The measured engine for this bundle on this machine: from the cache, or measured now and cached.

    OpenVINO is a candidate only for the installed Kinetics I3D, whose weights hash names its
    converted model; every backbone gets the PyTorch candidates.
    """
    from aqa_core.clips import DEFAULT_SCHEME, get_scheme
    from aqa_core.runtime import choose_runtime

    runtime = choose_runtime(device, "float32", threads)
    backbone = model.backbone
    if backbone is None:
        raise AQAError(f"model '{bundle.name}' has no backbone to run")
    spec = bundle.config.get("backbone", {})
    if isinstance(spec, dict) and spec.get("name") in UNMEASURED_BACKBONES:
        engine = TorchEngine(backbone, runtime)
        return engine, Choice(engine.name, engine.precision, float("nan"), float("nan"),
                              f"the {spec['name']} backbone is not measured", cpu_features().describe())
    weights_sha256 = _installed_backbone_sha256(bundle.config, list(bundle.state_dict))
    key = cache_key(weights_sha256 or "in the bundle", bundle.fingerprint, runtime.device, runtime.threads)
    scheme = get_scheme(bundle.config.get("segmentation", DEFAULT_SCHEME))
    clip_shape = (3, scheme.clip_len, 224, 224)
    candidates = {c.name: c for c in candidates_for(backbone, runtime.device, runtime.threads, weights_sha256, clip_shape)}
    choice = cached_choice(key)
    if choice is not None and choice.engine in candidates:
        try:
            return candidates[choice.engine].build(), choice
        except Exception:  # noqa: BLE001 - the cached engine no longer builds (a deleted model file): measure again
            pass
    if not measure:
        engine = TorchEngine(backbone, runtime)
        return engine, Choice(engine.name, engine.precision, float("nan"), float("nan"),
                              "not measured on this machine yet (scoring a dive or `aqa-judge doctor --measure` measures)", cpu_features().describe())
    if progress is not None:
        progress(f"measuring {len(candidates)} backbone engines on this machine (once per weights, model and library versions)")
    reference = Runtime(runtime.device, None, False, runtime.threads, "float32 reference")
    choice = measure_and_choose(model, lambda: TorchEngine(backbone, reference, clip_by_clip=True), list(candidates.values()),
                                probe_clips(scheme), decoding)
    store_choice(key, choice)
    engine = candidates[choice.engine].build() if choice.engine in candidates else TorchEngine(backbone, reference, clip_by_clip=True)
    return engine, choice


def cached_engine_without_backbone(bundle: Any, device: str | None = None, threads: int | None = None) -> tuple[Engine, Choice] | None:
    """The cached choice's engine when it needs no PyTorch backbone (OpenVINO's saved model), else None.

    Building the PyTorch I3D (reading, checking and folding 50 MB of weights) is then skipped: the
    saved model is named by the verified weights hash that also keys the choice. None when there
    is no such cached choice, no saved model, or it does not build: ``chosen_engine`` decides then.
    """
    weights_sha256 = _installed_backbone_sha256(bundle.config, list(bundle.state_dict))
    if weights_sha256 is None:
        return None
    from aqa_core.inference.openvino_engine import OpenVinoEngine, converted_model_path, openvino_available
    from aqa_core.runtime import choose_runtime

    runtime = choose_runtime(device, "float32", threads)
    choice = cached_choice(cache_key(weights_sha256, bundle.fingerprint, runtime.device, runtime.threads))
    path = converted_model_path(weights_sha256)
    if choice is None or not choice.engine.startswith("openvino ") or not openvino_available() or not path.is_file():
        return None
    try:
        engine = OpenVinoEngine(path, choice.precision, runtime.threads)
    except Exception:  # noqa: BLE001 - as in chosen_engine: a saved model that no longer builds is measured again
        return None
    return (engine, choice) if engine.name == choice.engine else None
