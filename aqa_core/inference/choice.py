"""Choose the backbone engine by measurement on this machine, cache the choice, explain it.

Every candidate runs the same generated dive. Its features are decoded by the bundle's own head
and decoding and compared with float32 PyTorch's (``agreement``); only candidates within half a
point on the final and on every clip qualify, and the fastest of those is chosen.

What a first ``score`` runs (``measure_quickly``; benchmarks/bench_runtime.py times it against
measuring every engine in full, which took 68 s on a quiet 2-core CPU) spends full dives only
where they can change the answer: every candidate first runs one clip,
which gives its time per dive (ten clips; a batched engine may at best halve that) and a first
agreement check; one that already disagrees on that clip, or that cannot beat the fastest
agreeing engine so far, never runs the whole dive. The float32 reference is PyTorch batched (the
default engine, and a candidate itself); the seeds' way (one clip after another, contiguous
layout), which every speed-up is quoted against, is timed on one clip: its dive is ten of them.
``measure_and_choose`` runs everything in full on every probe (what benchmarks/bench_runtime.py
reports, with the seeds' way as the reference).

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
CACHE_FORMAT = 3  # 3: measured quickly (one probe dive, one clip before any full dive)
PROBE_SEED = 11  # the generated dive candidates are measured on: deterministic, no file needed
# A batched engine's dive against ten times its one-clip time: batching never halved a clip's cost
# on a CPU in bench_runtime's runs (bf16 batched was even slower than clip by clip); the bound
# only decides whether a candidate is worth running in full.
BATCHING_GAIN_BOUND = 0.5
REFERENCE_NAME = "pytorch float32 batched"
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
    from_one_clip: bool = False  # only one clip was run: its time is ten times that clip's

    def describe(self) -> str:
        if self.seconds_per_dive is None:
            return f"{self.name}: {self.problem}"
        timed = f"{self.seconds_per_dive:.2f} s per dive{' (from one clip)' if self.from_one_clip else ''}"
        if self.qualifies:
            return f"{self.name}: {timed}, {self.agreement}: agrees"
        return f"{self.name}: {timed}, EXCLUDED: {self.problem}"


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


@dataclass(frozen=True)
class Timed:
    """One engine's run of the probe dives: its best seconds per dive and its features, or why it could not run."""

    name: str
    precision: str
    seconds: float | None
    features: list[torch.Tensor]
    problem: str | None = None


def _cannot_run(name: str, exc: Exception) -> str:
    return f"cannot run here ({type(exc).__name__}: {exc})"


def _timed(engine: Engine, probes: Sequence[torch.Tensor], repeats: int) -> Timed:
    """Best seconds per dive and the features of every probe: one warm-up, then each probe, then extra repeats."""
    engine.features(probes[0])
    features, times = [], []
    for probe in [*probes, *[probes[0]] * max(0, repeats - len(probes))]:
        started = time.perf_counter()
        out = engine.features(probe)
        times.append(time.perf_counter() - started)
        if len(features) < len(probes):
            features.append(out.float().cpu())
    return Timed(engine.name, engine.precision, min(times), features)


def time_engines(reference: EngineBuilder, candidates: Sequence[Candidate], probes: Sequence[torch.Tensor],
                 repeats: int = 2) -> tuple[Timed, list[Timed]]:
    """Every engine in full on every probe: (the reference's run, each candidate's). A candidate that
    fails to build or run is recorded with its error."""
    timed_reference = _timed(reference(), probes, repeats)
    runs = []
    for candidate in candidates:
        try:
            runs.append(_timed(candidate.build(), probes, repeats))
        except Exception as exc:  # noqa: BLE001 - an engine that cannot run here is simply not a candidate
            runs.append(Timed(candidate.name, "?", None, [], _cannot_run(candidate.name, exc)))
    return timed_reference, runs


def _judged(model: Method, reference: Sequence[torch.Tensor], run: Timed, decoding: str) -> Measured:
    if run.seconds is None:
        return Measured(run.name, run.precision, None, None, None, False, run.problem)
    agreement: Agreement = compare(model, reference, run.features, decoding)
    problem = None if agreement.holds else f"{agreement.describe()}: outside the tolerance"
    return Measured(run.name, run.precision, run.seconds, agreement.final, agreement.clip, agreement.holds, problem, agreement.describe())


def _choice(measured: list[Measured], fallback: Timed, seeds_seconds: float) -> Choice:
    """The fastest qualifying candidate, else ``fallback`` (the float32 reference)."""
    qualified = sorted((m for m in measured if m.qualifies and m.seconds_per_dive is not None), key=lambda m: m.seconds_per_dive)
    cpu = cpu_features().describe()
    if not qualified:
        return Choice(fallback.name, fallback.precision, fallback.seconds, seeds_seconds,
                      "no candidate agreed with float32 within 0.5 point; the float32 reference runs", cpu, measured)
    best = qualified[0]
    excluded = [m for m in measured if not m.qualifies]
    reason = f"fastest of {len(qualified)} candidates whose scores agree with float32 within 0.5 point"
    if excluded:
        reason += "; excluded: " + "; ".join(f"{m.name} ({m.problem})" for m in excluded)
    return Choice(best.name, best.precision, best.seconds_per_dive, seeds_seconds, reason, cpu, measured)


def choose(model: Method, reference: Timed, runs: Sequence[Timed], decoding: str) -> Choice:
    """The fastest run whose scores agree with the reference's (the seeds' way, also the fallback)."""
    return _choice([_judged(model, reference.features, run, decoding) for run in runs], reference, reference.seconds)


def measure_and_choose(model: Method, reference: EngineBuilder, candidates: Sequence[Candidate], probes: Sequence[torch.Tensor],
                       decoding: str, repeats: int = 2) -> Choice:
    """Time the reference and every candidate in full on ``probes`` and keep the fastest that agrees."""
    return choose(model, *time_engines(reference, candidates, probes, repeats), decoding)


def _one_clip(engine: Engine, probe: torch.Tensor) -> tuple[float, torch.Tensor]:
    """(seconds, features) of the probe's first clip, after one warm-up run of it."""
    clip = probe[:1]
    engine.features(clip)
    started = time.perf_counter()
    features = engine.features(clip).float().cpu()
    return time.perf_counter() - started, features


def measure_quickly(model: Method, reference: EngineBuilder, seeds_way: EngineBuilder, candidates: Sequence[Candidate],
                    probe: torch.Tensor, decoding: str) -> tuple[Choice, Engine]:
    """The fastest engine that agrees on ``probe``, running a whole dive only where it can change the answer.

    ``reference`` is float32 PyTorch (a candidate itself and the fallback); ``seeds_way`` is timed
    on one clip. Returns the choice and its engine, already built and warm.
    """
    clips = len(probe)
    seeds_seconds = _one_clip(seeds_way(), probe)[0] * clips
    reference_engine = reference()
    reference_engine.features(probe[:1])
    started = time.perf_counter()
    reference_features = reference_engine.features(probe).float().cpu()
    reference_run = Timed(reference_engine.name, reference_engine.precision, time.perf_counter() - started, [reference_features])
    measured = [Measured(reference_run.name, reference_run.precision, reference_run.seconds, 0.0, 0.0, True, None, "the float32 reference")]
    engines: dict[str, Engine] = {reference_run.name: reference_engine}
    hopeful: list[tuple[float, float, Engine]] = []  # (the fastest its dive can be, ten clips' time, engine)
    for candidate in candidates:
        try:
            engine = candidate.build()
            clip_seconds, first = _one_clip(engine, probe)
        except Exception as exc:  # noqa: BLE001 - an engine that cannot run here is simply not a candidate
            measured.append(Measured(candidate.name, "?", None, None, None, False, _cannot_run(candidate.name, exc)))
            continue
        estimate = clip_seconds * clips
        agreement = compare(model, [reference_features[:1]], [first], decoding)
        if not agreement.holds:
            measured.append(Measured(engine.name, engine.precision, estimate, agreement.final, agreement.clip, False,
                                     f"on its first clip alone {agreement.describe()}: outside the tolerance", agreement.describe(), True))
            continue
        hopeful.append((estimate if engine.clip_by_clip else estimate * BATCHING_GAIN_BOUND, estimate, engine))
    best = reference_run.seconds
    for fastest, estimate, engine in sorted(hopeful, key=lambda entry: entry[0]):
        if fastest >= best:
            measured.append(Measured(engine.name, engine.precision, estimate, None, None, False,
                                     f"not run in full: one clip puts it at {fastest:.2f} s per dive at best, "
                                     f"no faster than {best:.2f} s", "", True))
            continue
        started = time.perf_counter()
        features = engine.features(probe).float().cpu()
        verdict = _judged(model, [reference_features], Timed(engine.name, engine.precision, time.perf_counter() - started, [features]), decoding)
        measured.append(verdict)
        if verdict.qualifies:
            best = min(best, verdict.seconds_per_dive)
            engines[engine.name] = engine
    choice = _choice(measured, reference_run, seeds_seconds)
    return choice, engines[choice.engine]


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
        return [Candidate(REFERENCE_NAME, torch_engine(None, False)),
                Candidate(f"pytorch {str(half).removeprefix('torch.')} batched", torch_engine(half, False))]
    native_bf16 = cpu_features().native_bf16
    candidates = [Candidate(REFERENCE_NAME, torch_engine(None, False)),
                  Candidate("pytorch float32 clip by clip", torch_engine(None, True))]
    if native_bf16:
        candidates += [Candidate("pytorch bfloat16 batched", torch_engine(torch.bfloat16, False)),
                       Candidate("pytorch bfloat16 clip by clip", torch_engine(torch.bfloat16, True))]
    from aqa_core.inference.openvino_engine import OpenVinoEngine, engine_name, ensure_converted, openvino_available

    if openvino_available() and weights_sha256 is not None:
        def openvino(precision: str, streams: int = 1) -> Candidate:
            def build() -> Engine:
                return OpenVinoEngine(ensure_converted(backbone, weights_sha256, clip_shape), precision, threads, streams)

            return Candidate(engine_name(precision, streams), build)

        candidates.append(openvino("float32"))
        if threads > 1:  # one stream per thread: with one thread there is nothing to overlap
            candidates.append(openvino("float32", streams=threads))
        if native_bf16:
            candidates.append(openvino("bfloat16"))
    return candidates


# --- what the scorer calls ---------------------------------------------------------------------


def probe_clip(scheme: Any, seed: int = PROBE_SEED) -> torch.Tensor:
    """The clips of a generated dive (the procedural generator, deterministic per seed): what candidates run."""
    from aqa_core.clips import frames_to_clips
    from aqa_core.synthetic.dive import generate_dive

    return frames_to_clips(generate_dive(seed).frames, scheme).clips


def installed_backbone_sha256(config: dict[str, Any], state_keys: Sequence[str]) -> str | None:
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
    weights_sha256 = installed_backbone_sha256(bundle.config, list(bundle.state_dict))
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
    seeds_way = Runtime(runtime.device, None, False, runtime.threads, "float32, the seeds' way")
    others = [candidate for name, candidate in candidates.items() if name != REFERENCE_NAME]
    choice, engine = measure_quickly(model, candidates[REFERENCE_NAME].build, lambda: TorchEngine(backbone, seeds_way, clip_by_clip=True),
                                     others, probe_clip(scheme), decoding)
    store_choice(key, choice)
    return engine, choice


def cached_engine_without_backbone(bundle: Any, device: str | None = None, threads: int | None = None) -> tuple[Engine, Choice] | None:
    """The cached choice's engine when it needs no PyTorch backbone (OpenVINO's saved model), else None.

    Building the PyTorch I3D (reading, checking and folding 50 MB of weights) is then skipped: the
    saved model is named by the verified weights hash that also keys the choice. None when there
    is no such cached choice, no saved model, or it does not build: ``chosen_engine`` decides then.
    """
    weights_sha256 = installed_backbone_sha256(bundle.config, list(bundle.state_dict))
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
        engine = OpenVinoEngine(path, choice.precision, runtime.threads, streams=runtime.threads if choice.engine.endswith(" streams") else 1)
    except Exception:  # noqa: BLE001 - as in chosen_engine: a saved model that no longer builds is measured again
        return None
    return (engine, choice) if engine.name == choice.engine else None
