"""Which devices a training run can use: the CUDA GPUs with name and free memory, or why only the CPU.

The Trainer tab asks this through the same child process that trains (``aqa-judge devices
--json``), so what it shows is what the run will find, and the app never imports torch for it.
"""

from __future__ import annotations

from typing import Any

import torch


def list_devices() -> dict[str, Any]:
    """``{"gpus": [{index, name, free_mib, total_mib}], "cpu_reason": str | None}``."""
    if torch.version.cuda is None:
        return {"gpus": [], "cpu_reason": "this PyTorch build has no CUDA support (a CPU-only build)"}
    if not torch.cuda.is_available():
        return {"gpus": [], "cpu_reason": "no NVIDIA GPU or driver found (PyTorch has CUDA but cannot reach a GPU)"}
    gpus = []
    for index in range(torch.cuda.device_count()):
        free, total = torch.cuda.mem_get_info(index)
        gpus.append({"index": index, "name": torch.cuda.get_device_name(index), "free_mib": free // 2**20, "total_mib": total // 2**20})
    return {"gpus": gpus, "cpu_reason": None}


def describe(devices: dict[str, Any]) -> list[str]:
    """One line per choice, for people: each GPU, or "CPU only" with the reason."""
    if not devices["gpus"]:
        return [f"CPU only: {devices['cpu_reason']}"]
    return [f"GPU {g['index']}: {g['name']}, {g['free_mib'] / 1024:.1f} of {g['total_mib'] / 1024:.1f} GiB free" for g in devices["gpus"]]
