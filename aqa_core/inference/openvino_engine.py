"""The OpenVINO engine: the I3D converted once, saved beside the weights under their hash.

OpenVINO is a dependency only where PyPI has wheels for it (pyproject.toml's marker):
``openvino_available()`` says whether it is installed, and every path works without it. Its own
conversion from the module fails on the TF-SAME max-pool padding, so the model goes through
``torch.export`` first (which OpenVINO reads). The export is for one clip (batch 1): every
inference is one clip, which also lets the scorer stream clips as they finish (a static batch of
ten measured no faster). The saved model keeps that static shape (the export baked the TF-SAME
pads for it in), and its max-pools compute no indices: ``torch.export`` writes every max-pool as
``max_pool3d_with_indices``, and the CPU plugin then computed each pool's unused indices and
reordered them into a plain layout for a dead output (13 of the 14 layout reorders, about 5% of
a clip). Converting takes tens of seconds, so the result is saved as
``<weights dir>/i3d-<weights sha256[:16]>-v<FORM>.openvino/i3d.xml`` (+ ``.bin``) and reused; a
model saved for other weights, or in an older form, is never read, because its folder name
differs. OpenVINO caches its compiled form of it in ``compiled/`` in the same folder, so only the
first start compiles.

Every engine compiles through ONE ``ov.Core`` per process (``_core``). OpenVINO's CPU plugin
(2026.4) installs an alternate signal stack (``sigaltstack``) of its own on the thread that
compiles, and when its last compiled model is released it puts back the stack it found there. Two
Cores mean two plugin instances: released in the order they were made (not the reverse), the
second puts back the first's stack, which the first has already unmapped, so the next signal with
a handler (the trainer's cooperative SIGTERM stop) cannot be delivered and the process dies of
SIGSEGV. One Core holds one plugin for the life of the process, so its stack is never freed
under a live signal handler (tests/test_openvino_signals.py).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from aqa_core.errors import AQAError
from aqa_core.paths import weights_dir

MODEL_FILE = "i3d.xml"
FORM = 2  # 2: static one-clip shape, max-pools without indices (1: dynamic shape, indices computed)
COMPILED_CACHE = "compiled"  # beside the model: OpenVINO's compiled blobs
_PRECISION_HINTS = {"float32": "f32", "bfloat16": "bf16"}

# The export copies PyTorch's own pytree specs, and that copy trips PyTorch's deprecation of its
# own LeafSpec check (torch 2.13): a FutureWarning a user saw in the terminal at the first start,
# about nothing they can change. Only that message is hidden.
warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning)


@functools.cache
def _core() -> Any:
    """The process's one ``ov.Core`` (see the module docstring: a second one can crash a later signal)."""
    import openvino as ov

    return ov.Core()


def openvino_available() -> bool:
    return importlib.util.find_spec("openvino") is not None


def openvino_version() -> str | None:
    if not openvino_available():
        return None
    from importlib import metadata

    try:
        return metadata.version("openvino")
    except metadata.PackageNotFoundError:
        return None


def converted_model_path(weights_sha256: str, folder: Path | None = None) -> Path:
    """Where the converted model for these weights lives (beside the weights by default)."""
    return (folder or weights_dir()) / f"i3d-{weights_sha256[:16]}-v{FORM}.openvino" / MODEL_FILE


def convert(backbone: nn.Module, clip_shape: tuple[int, ...], target: Path) -> Path:
    """Export ``backbone`` for one (1, *clip_shape) clip and save it as OpenVINO IR at ``target``.

    Written into a temporary folder that is renamed into place, so a crash leaves either no model
    or a complete one.
    """
    import openvino as ov

    example = torch.zeros(1, *clip_shape)
    with torch.inference_mode(False), torch.no_grad():
        exported = torch.export.export(backbone.eval(), (example,))
    model = ov.convert_model(exported)
    model.reshape([1, *clip_shape])
    _drop_pool_indices(model)
    folder = target.parent
    staging = folder.with_name(f".{folder.name}.{os.getpid()}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        ov.save_model(model, str(staging / target.name), compress_to_fp16=False)
        try:
            os.replace(staging, folder)
        except OSError:  # another process converted it first: theirs is as good
            if not target.is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _drop_pool_indices(model: Any) -> None:
    """Replace every max-pool whose indices nobody reads by the one-output MaxPool-1, in place.

    PyTorch's ``ceil_mode`` ("ceil_torch": a last window that would start in the padding is
    dropped) is MaxPool-1's "ceil" except there; a pool is replaced only where both give the
    same output shape, which on a static shape means the same windows.
    """
    from openvino import opset1

    for node in model.get_ordered_ops():
        if node.get_type_name() != "MaxPool" or node.get_output_size() < 2 or node.output(1).get_target_inputs():
            continue
        attributes = node.get_attributes()
        if any(d != 1 for d in attributes["dilations"]):
            continue
        rounding = attributes["rounding_type"].lower()
        simple = opset1.max_pool(node.input_value(0), attributes["strides"], attributes["pads_begin"], attributes["pads_end"],
                                 attributes["kernel"], "ceil" if rounding == "ceil_torch" else rounding, attributes["auto_pad"].lower())
        if simple.get_output_partial_shape(0) != node.get_output_partial_shape(0):
            continue
        simple.set_friendly_name(node.get_friendly_name())
        for target in list(node.output(0).get_target_inputs()):
            target.replace_source_output(simple.output(0))
    model.validate_nodes_and_infer_types()


class OpenVinoEngine:
    """The converted model compiled for OpenVINO's CPU plugin, in the given precision.

    ``streams`` 1: one clip per inference on all ``threads`` (the latency hint). ``streams`` > 1:
    several clips at once, one per stream, each stream on ``threads / streams`` threads (the
    throughput hint), from one Python thread per stream calling the blocking ``infer`` (OpenVINO
    releases the GIL; no asynchronous callbacks). Independent streams never wait at a barrier for
    each other, which is where two threads on one clip lose time on a busy machine (1.38 s against
    2.90 s per dive at load 2). A one-clip call (the desk streaming its curve) still runs on the
    latency model, so the streams never slow the first clip down.
    """

    device = torch.device("cpu")

    def __init__(self, model_path: Path, precision: str, threads: int, streams: int = 1) -> None:
        if precision not in _PRECISION_HINTS:
            raise AQAError(f"OpenVINO runs float32 or bfloat16, not {precision}")
        base: dict[str, Any] = {
            "INFERENCE_PRECISION_HINT": _PRECISION_HINTS[precision],
            "INFERENCE_NUM_THREADS": threads,
            # OpenVINO's own cache of the compiled model, keyed by the model, this configuration, the
            # device and its version: every later start loads it instead of compiling the I3D again
            # (1.3 s against 2.7 s, measured under load).
            "CACHE_DIR": str(model_path.parent / COMPILED_CACHE),
        }
        core = _core()
        self.request = core.compile_model(str(model_path), "CPU", {**base, "PERFORMANCE_HINT": "LATENCY"}).create_infer_request()
        self.stream_requests: list[Any] = []
        if streams > 1:
            model = core.compile_model(str(model_path), "CPU", {**base, "PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": streams})
            self.stream_requests = [model.create_infer_request() for _ in range(streams)]
        self.clip_by_clip = streams == 1
        self.precision = precision
        self.name = engine_name(precision, streams)
        # An infer request runs one inference at a time ("Infer Request is busy" otherwise), and one
        # engine is shared: the desk's model warm-up and the first dive's analysis called it at once
        # on a new machine, and that dive failed. Callers take turns.
        self._turn = threading.Lock()

    def features(self, clips: torch.Tensor) -> torch.Tensor:
        arrays = np.ascontiguousarray(clips.float().cpu().numpy())
        with self._turn:
            if not self.stream_requests or len(arrays) < 2:
                outputs = _infer_each(self.request, arrays, range(len(arrays)))
            else:
                streams = len(self.stream_requests)
                outputs = [np.empty(0, np.float32)] * len(arrays)
                with ThreadPoolExecutor(streams, thread_name_prefix="openvino-stream") as pool:
                    parts = [pool.submit(_infer_each, request, arrays, range(k, len(arrays), streams))
                             for k, request in enumerate(self.stream_requests)]
                    for k, part in enumerate(parts):
                        outputs[k::streams] = part.result()
        return torch.from_numpy(np.concatenate(outputs)) if outputs else torch.empty(0)


def engine_name(precision: str, streams: int) -> str:
    """What the chooser, its cache and ``doctor`` call an OpenVINO engine."""
    return f"openvino {precision} clip by clip" if streams == 1 else f"openvino {precision} clips on {streams} streams"


def _infer_each(request: Any, arrays: np.ndarray, indices: range) -> list[np.ndarray]:
    """``request``'s output for each of ``arrays[indices]``, one clip per inference, copied out of its reused buffer."""
    return [np.array(request.infer({0: arrays[i : i + 1]})[0], copy=True) for i in indices]


def ensure_converted(backbone: nn.Module, weights_sha256: str, clip_shape: tuple[int, ...]) -> Path:
    """The saved model for these weights, converting it first when there is none."""
    path = converted_model_path(weights_sha256)
    return path if path.is_file() else convert(backbone, clip_shape, path)


def self_check(folder: Path) -> str:
    """Convert a small stand-in backbone in ``folder``, run it on OpenVINO's CPU plugin, compare with PyTorch.

    What ``aqa-judge --self-test`` runs: in a frozen bundle it proves that the plugin and the
    PyTorch and IR frontends (opened by file name at run time) were packaged, in seconds and
    without the I3D weights.
    """
    from aqa_core.registry import BACKBONES

    module = BACKBONES.build({"name": "tiny", "feature_dim": 16, "seed": 2}).eval()
    clips = torch.rand(2, 3, 16, 32, 32, generator=torch.Generator().manual_seed(6)) * 2 - 1
    engine = OpenVinoEngine(convert(module, tuple(clips.shape[1:]), folder / "tiny.openvino" / MODEL_FILE), "float32", threads=1)
    with torch.inference_mode():
        expected = module(clips)
    difference = float((engine.features(clips) - expected).abs().max())
    if not difference <= 1e-4:
        raise AQAError(f"OpenVINO's features differ from PyTorch's by {difference:.2g} on the test backbone")
    return f"OpenVINO {openvino_version()}: a converted model ran on the CPU plugin, within {difference:.1g} of PyTorch"
