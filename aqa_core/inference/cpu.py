"""What the CPU computes natively: the facts that decide whether reduced precision can pay.

A club laptop may have neither AVX-512 nor AMX; bf16 there is emulated and slower than float32,
so such a candidate is not even measured. ``torch.backends.cpu.get_cpu_capability()`` says
"AVX512" with and without the bf16 extension, hence the flags from /proc/cpuinfo where it exists.
"""

from __future__ import annotations

import functools
import platform
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class CpuFeatures:
    model: str
    capability: str  # PyTorch's dispatch level: "DEFAULT", "AVX2", "AVX512", "AMX"...
    avx512: bool
    avx512_bf16: bool
    amx: bool

    @property
    def native_bf16(self) -> bool:
        """bf16 dot products in hardware (AVX512-BF16 or AMX): the only case reduced precision can win."""
        return self.avx512_bf16 or self.amx

    def describe(self) -> str:
        present = [name for name, flag in (("AVX-512", self.avx512), ("AVX512-BF16", self.avx512_bf16), ("AMX", self.amx)) if flag]
        return f"{self.model} ({', '.join(present) or 'no AVX-512, no AMX'})"


def _cpuinfo() -> tuple[str, set[str]]:
    """(model name, flags) from /proc/cpuinfo; empty where there is none (macOS, Windows)."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "", set()
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "")
    flags = next((set(line.split(":", 1)[1].split()) for line in lines if line.startswith(("flags", "Features"))), set())
    return model, flags


@functools.cache
def cpu_features() -> CpuFeatures:
    model, flags = _cpuinfo()
    capability = torch.backends.cpu.get_cpu_capability()
    amx = "amx_bf16" in flags or "AMX" in capability.upper()
    return CpuFeatures(
        model=model or platform.processor() or platform.machine(),
        capability=capability,
        avx512=amx or "avx512f" in flags or "AVX512" in capability.upper(),
        avx512_bf16="avx512_bf16" in flags,
        amx=amx,
    )
