"""Where and in what precision the backbone runs.

I3D costs ~56 GFLOP per clip, so precision and memory layout decide whether scoring a dive takes
seconds or tens of seconds. bf16 keeps the features within cosine 0.9999 of float32 on the real
clips, but not the scores: an argmax-decoded clip score moves by whole bins (tests/test_runtime.py
and ``aqa_core.inference.agreement``). So "auto" on the CPU is float32; reduced precision runs
only where ``aqa_core.inference`` has measured that it agrees (it never has on this project's
CPU). On CUDA "auto" is still bf16/fp16 autocast: that choice is unmeasured, the CUDA path has not
run yet; float32 there is IEEE float32, not PyTorch's default TF32 convolutions (``Runtime.autocast``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from aqa_core.errors import AQAError
from aqa_core.option_names import PRECISIONS

_DTYPES = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}
# PyTorch's own default: one thread per physical core. SMT siblings share the vector units that
# convolutions saturate, so more threads than that only add contention; read it before anyone
# calls torch.set_num_threads.
_TORCH_DEFAULT_THREADS = torch.get_num_threads()


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    autocast_dtype: torch.dtype | None  # None: plain float32
    channels_last: bool  # channels_last_3d memory format for 5-D weights and inputs
    threads: int
    description: str

    @property
    def precision(self) -> str:
        """The name ScoreResult.precision records: "float32", "bfloat16" or "float16"."""
        return "float32" if self.autocast_dtype is None else str(self.autocast_dtype).removeprefix("torch.")

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        """Inference mode plus autocast to ``autocast_dtype``; float32 on CUDA is IEEE float32.

        PyTorch runs cuDNN convolutions in TF32 by default: a 10-bit mantissa, fp16's, where bf16's
        7 bits already moved argmax-decoded clip scores by whole bins on the CPU. A float32 that is
        TF32 would make the engine chooser measure 16-bit autocast against a reference that is not
        float32, and a result recorded as "float32" would not be. So TF32 is off inside.
        """
        with contextlib.ExitStack() as stack:
            stack.enter_context(torch.inference_mode())
            stack.enter_context(torch.autocast(self.device.type, dtype=self.autocast_dtype or torch.float32, enabled=self.autocast_dtype is not None))
            if self.device.type == "cuda" and self.autocast_dtype is None:
                stack.enter_context(_without_tf32())
            yield

    def _memory_format(self) -> torch.memory_format:
        return torch.channels_last_3d if self.channels_last else torch.contiguous_format

    def prepare_module(self, module: nn.Module) -> nn.Module:
        """Move a module to the device, in eval mode and the chosen memory format (in place)."""
        return module.eval().to(self.device, memory_format=self._memory_format())

    def prepare_input(self, clips: torch.Tensor) -> torch.Tensor:
        """Move an (N, 3, T, H, W) clip batch to the device in the chosen memory format."""
        return clips.to(self.device, memory_format=self._memory_format(), non_blocking=True)


@contextlib.contextmanager
def _without_tf32() -> Iterator[None]:
    """cuDNN convolutions and CUDA matmuls in IEEE float32 inside; PyTorch's settings restored after."""
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    before = matmul.allow_tf32
    matmul.allow_tf32 = False
    try:
        with cudnn.flags(enabled=cudnn.enabled, benchmark=cudnn.benchmark, benchmark_limit=cudnn.benchmark_limit,
                         deterministic=cudnn.deterministic, allow_tf32=False):
            yield
    finally:
        matmul.allow_tf32 = before


def cpu_supports_bf16() -> bool:
    """Native bf16 dot products (AVX512-BF16 or AMX); see ``aqa_core.inference.cpu``."""
    from aqa_core.inference.cpu import cpu_features

    return cpu_features().native_bf16


def available_cpus() -> int:
    """CPUs this process may run on (respects taskset / container CPU sets, unlike os.cpu_count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _resolve_device(device: str | None) -> torch.device:
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise AQAError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise AQAError(f"device {device!r} requested but this PyTorch build sees no CUDA GPU")
    if resolved.type not in ("cpu", "cuda"):
        raise AQAError(f"device {device!r} is not supported; use cpu or cuda")
    return resolved


def _auto_dtype(device: torch.device) -> torch.dtype | None:
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return None  # bf16 on the CPU only by measurement (aqa_core.inference), never by default


def choose_runtime(device: str | None = None, precision: str = "auto", threads: int | None = None) -> Runtime:
    """Pick device, precision, layout and CPU threads; also applies the thread count to torch.

    ``precision="auto"`` picks float32 on the CPU and 16-bit autocast on CUDA. ``threads``
    defaults to PyTorch's physical-core count, capped by the CPUs this process may use (a
    container's CPU set), since intra-op parallelism is where I3D's time goes.
    """
    if precision not in PRECISIONS:
        raise AQAError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    resolved = _resolve_device(device)
    dtype = _auto_dtype(resolved) if precision == "auto" else _DTYPES[precision]
    if resolved.type == "cpu" and dtype == torch.float16:
        raise AQAError("float16 is not supported on the CPU; use bfloat16 or float32")
    count = threads or min(_TORCH_DEFAULT_THREADS, available_cpus())
    torch.set_num_threads(count)
    if resolved.type == "cuda":
        where = f"CUDA {torch.cuda.get_device_name(resolved)}"
    else:
        where = f"CPU ({torch.backends.cpu.get_cpu_capability()}, {count} threads)"
    name = "float32" if dtype is None else f"{str(dtype).removeprefix('torch.')} autocast"
    return Runtime(device=resolved, autocast_dtype=dtype, channels_last=True, threads=count, description=f"{where}, {name}")
