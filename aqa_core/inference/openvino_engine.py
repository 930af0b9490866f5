"""The OpenVINO engine: the I3D converted once, saved beside the weights under their hash.

OpenVINO is a dependency only where PyPI has wheels for it (pyproject.toml's marker):
``openvino_available()`` says whether it is installed, and every path works without it. Its own
conversion from the module fails on the TF-SAME max-pool padding, so the model goes through
``torch.export`` first (which OpenVINO reads). The export is for one clip (batch 1): every
inference is one clip, which also lets the scorer stream clips as they finish (a static batch of
ten measured no faster). Converting takes tens of seconds, so the result is saved as
``<weights dir>/i3d-<weights sha256[:16]>.openvino/i3d.xml`` (+ ``.bin``) and reused; a model
saved for other weights is never read, because its folder name differs. OpenVINO caches its
compiled form of it in ``compiled/`` in the same folder, so only the first start compiles.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from aqa_core.errors import AQAError
from aqa_core.paths import weights_dir

MODEL_FILE = "i3d.xml"
COMPILED_CACHE = "compiled"  # beside the model: OpenVINO's compiled blobs
_PRECISION_HINTS = {"float32": "f32", "bfloat16": "bf16"}


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
    return (folder or weights_dir()) / f"i3d-{weights_sha256[:16]}.openvino" / MODEL_FILE


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


class OpenVinoEngine:
    """The converted model compiled for OpenVINO's CPU plugin, one clip per inference, in the given precision.

    A throughput-hint variant (one stream per thread, asynchronous requests) measured faster under
    load (1.38 s against 2.90 s per dive at load 2), but a process that had compiled it died of
    SIGSEGV on a later SIGTERM, the trainer's cooperative stop (the suite's SIGTERM test, every
    time), so it is not offered.
    """

    device = torch.device("cpu")
    clip_by_clip = True

    def __init__(self, model_path: Path, precision: str, threads: int) -> None:
        if precision not in _PRECISION_HINTS:
            raise AQAError(f"OpenVINO runs float32 or bfloat16, not {precision}")
        import openvino as ov

        config: dict[str, Any] = {
            "INFERENCE_PRECISION_HINT": _PRECISION_HINTS[precision],
            "INFERENCE_NUM_THREADS": threads,
            "PERFORMANCE_HINT": "LATENCY",
            # OpenVINO's own cache of the compiled model, keyed by the model, this configuration, the
            # device and its version: every later start loads it instead of compiling the I3D again
            # (1.3 s against 2.7 s, measured under load).
            "CACHE_DIR": str(model_path.parent / COMPILED_CACHE),
        }
        self.request = ov.Core().compile_model(str(model_path), "CPU", config).create_infer_request()
        self.precision = precision
        self.name = f"openvino {precision} clip by clip"

    def features(self, clips: torch.Tensor) -> torch.Tensor:
        arrays = np.ascontiguousarray(clips.float().cpu().numpy())
        outputs = [np.array(self.request.infer({0: arrays[i : i + 1]})[0], copy=True) for i in range(len(arrays))]
        return torch.from_numpy(np.concatenate(outputs)) if outputs else torch.empty(0)


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
