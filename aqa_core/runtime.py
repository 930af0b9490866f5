"""Where and in what precision the backbone runs.

I3D costs ~56 GFLOP per clip, so precision and memory layout decide whether scoring a dive takes
seconds or tens of seconds. On CUDA, and on CPUs with native bf16 dot products (AVX512-BF16 or
AMX), autocast to 16-bit roughly doubles throughput while the features stay within cosine 0.99
of float32 (tests/test_runtime.py checks that on the real clips). Elsewhere bf16 would be
emulated and slower than float32, so float32 is chosen.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from aqa_core.errors import AQAError
from aqa_core.option_names import PRECISIONS

_DTYPES = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}
_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
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
        """Inference mode plus autocast to ``autocast_dtype`` (nothing extra for float32)."""
        with torch.inference_mode(), torch.autocast(
            self.device.type, dtype=self.autocast_dtype or torch.float32, enabled=self.autocast_dtype is not None
        ):
            yield

    def _memory_format(self) -> torch.memory_format:
        return torch.channels_last_3d if self.channels_last else torch.contiguous_format

    def prepare_module(self, module: nn.Module) -> nn.Module:
        """Move a module to the device, in eval mode and the chosen memory format (in place)."""
        return module.eval().to(self.device, memory_format=self._memory_format())

    def prepare_input(self, clips: torch.Tensor) -> torch.Tensor:
        """Move an (N, 3, T, H, W) clip batch to the device in the chosen memory format."""
        return clips.to(self.device, memory_format=self._memory_format(), non_blocking=True)


@functools.cache
def cpu_supports_bf16() -> bool:
    """Native bf16 dot products (AVX512-BF16 or AMX), read from /proc/cpuinfo where it exists.

    ``torch.backends.cpu.get_cpu_capability()`` says "AVX512" for CPUs with and without the bf16
    extension, so it is not enough on its own; it does report "AMX" style capabilities on newer
    builds, which we also accept.
    """
    if "AMX" in torch.backends.cpu.get_cpu_capability().upper():
        return True
    try:
        with Path("/proc/cpuinfo").open(encoding="utf-8") as cpuinfo:
            flags = next((line.split(":", 1)[1].split() for line in cpuinfo if line.startswith("flags")), [])
    except OSError:
        return False
    return any(flag in flags for flag in _BF16_CPU_FLAGS)


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
    return torch.bfloat16 if cpu_supports_bf16() else None


def choose_runtime(device: str | None = None, precision: str = "auto", threads: int | None = None) -> Runtime:
    """Pick device, precision, layout and CPU threads; also applies the thread count to torch.

    ``precision="auto"`` picks 16-bit only where the hardware computes it natively. ``threads``
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
