"""Per-feature processing of clip features before aggregation, registered in ``NECKS``.

Frozen I3D features have very different scales per dimension (a few dimensions dominate any
distance or dot product), so a small head trained on a few hundred dives learns faster and more
robustly on standardised features. The mean and std come from the training split only (the trainer
calls ``fit`` before the first epoch) and are persistent buffers, so they travel in the bundle's
safetensors and the bundle's shape check knows them like any other weight.
"""

from __future__ import annotations

import torch
from torch import nn

from aqa_core.registry import Registry

NECKS: Registry[nn.Module] = Registry("neck")


@NECKS.register("identity")
class IdentityNeck(nn.Identity):
    """No processing (the default, and what models without a "neck" entry use)."""

    def __init__(self, dim: int) -> None:
        super().__init__()


@NECKS.register("standardize")
class Standardize(nn.Module):
    """``(x - mean) / std`` per feature dimension, with statistics learnt from training features."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        # Until fitted this is the identity, so an unfitted model still behaves sensibly.
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    @torch.no_grad()
    def fit(self, features: torch.Tensor) -> None:
        """Set the statistics from training features ``(..., dim)`` (all clips of all dives)."""
        flat = features.reshape(-1, features.shape[-1]).to(self.mean.device, torch.float32)
        self.mean.copy_(flat.mean(dim=0))
        self.std.copy_(flat.std(dim=0, unbiased=False).clamp_min(self.eps))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.mean) / self.std
