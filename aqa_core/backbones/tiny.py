"""A tiny, seeded stand-in for I3D with the same interface, so tests run in milliseconds.

It has no pretrained weights and learns nothing about diving; it exists so that every component
downstream of the backbone (heads, scorer, trainer, app) can be exercised end to end on small
synthetic inputs without the 50 MB Kinetics checkpoint or seconds of CPU per clip.
"""

from __future__ import annotations

import torch
from torch import nn

from aqa_core.backbones.i3d import NUM_CLASSES
from aqa_core.backbones.i3d import PREPROCESSING as I3D_PREPROCESSING
from aqa_core.backbones.preprocessing import BackboneInfo
from aqa_core.registry import BACKBONES

# I3D's pixels, so everything downstream sees what it would with the real backbone.
INFO = BackboneInfo(label="tiny", preprocessing=I3D_PREPROCESSING, segmentation="usdl_10x16")


@BACKBONES.register("tiny", declares=INFO)
class TinyBackbone(nn.Module):
    """Two strided Conv3d + ReLU layers and a global average; ``seed`` fixes the initial weights."""

    def __init__(self, feature_dim: int = 64, seed: int = 0, hidden: int = 16) -> None:
        super().__init__()
        self.feature_dim = feature_dim
        # fork_rng keeps construction deterministic without disturbing the caller's random stream.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.features = nn.Sequential(
                nn.Conv3d(3, hidden, 3, stride=(1, 2, 2), padding=1),
                nn.ReLU(),
                nn.Conv3d(hidden, feature_dim, 3, stride=2, padding=1),
                nn.ReLU(),
            )
            self.classifier = nn.Linear(feature_dim, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, T, H, W) -> (N, feature_dim)."""
        return self.features(x).mean(dim=(2, 3, 4))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, T, H, W) -> (N, 400), an untrained Kinetics-shaped output."""
        return self.classifier(self.forward(x))
