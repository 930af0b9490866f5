"""An ``Engine`` turns (N, 3, T, H, W) clips into (N, D) float32 features; here the PyTorch ones.

Clip by clip or batched is the engine's own business (the scorer hands it whatever clips it has):
on this project's 2-core AVX-512 CPU bf16 ran faster one clip at a time (0.95 s per dive against
1.37 s batched: a single clip's activations stay in cache), so both are candidates and the
measurement decides.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from aqa_core.runtime import Runtime


class Engine(Protocol):
    name: str  # what doctor and the app show: "pytorch float32 batched", "openvino float32"
    precision: str  # "float32", "bfloat16" or "float16": what ScoreResult.precision records
    device: torch.device
    clip_by_clip: bool  # one clip after another: a dive costs ten clips' time (the chooser's one-clip estimate)

    def features(self, clips: torch.Tensor) -> torch.Tensor:
        """(N, 3, T, H, W) clips in [-1, 1] -> (N, D) float32 features on ``device``."""
        ...


class TorchEngine:
    """The backbone under a ``Runtime`` (device, autocast precision, memory layout)."""

    def __init__(self, backbone: nn.Module, runtime: Runtime, clip_by_clip: bool = False) -> None:
        self.runtime = runtime
        self.backbone = runtime.prepare_module(backbone)
        self.clip_by_clip = clip_by_clip
        self.precision = runtime.precision
        self.device = runtime.device
        self.name = f"pytorch {self.precision} {'clip by clip' if clip_by_clip else 'batched'}"

    def features(self, clips: torch.Tensor) -> torch.Tensor:
        with self.runtime.autocast():
            if self.clip_by_clip:
                parts = [self.backbone(self.runtime.prepare_input(clip[None])).float() for clip in clips]
                return torch.cat(parts) if parts else self.backbone(self.runtime.prepare_input(clips)).float()
            return self.backbone(self.runtime.prepare_input(clips)).float()
