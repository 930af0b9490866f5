"""The shared shape of USDL and MUSDL heads: one MLP per path, each ending in a score distribution.

Both papers' heads are the same block (FC 1024->256->128->bins with ReLU, softmax at the end);
they differ only in how many paths there are and what the bins mean. Keeping one class means the
trainer, the bundle and the scorer handle every head the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class HeadOutput:
    """Logits before softmax; the trainer needs log-probabilities, the scorer probabilities."""

    clip_logits: torch.Tensor  # (B, N, P, bins): the head applied to every clip's own feature
    logits: torch.Tensor  # (B, P, bins): the head applied to the temporally pooled feature


def mlp(in_dim: int, hidden: Sequence[int], out_dim: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = in_dim
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


class DistributionHead(nn.Module):
    """``paths`` independent MLPs mapping a feature to logits over ``bins`` evenly spaced scores.

    ``bin_values`` gives the score each bin stands for, on the scale the head predicts (final-score
    points for USDL, one judge's 0-10 mark for MUSDL); the trainer builds its Gaussian soft labels
    over exactly these values and the scorer decodes against them.
    """

    kind = "distribution"

    def __init__(
        self,
        paths: int,
        bins: int,
        score_range: Sequence[float],
        in_dim: int = 1024,
        hidden: Sequence[int] = (256, 128),
    ) -> None:
        super().__init__()
        low, high = (float(v) for v in score_range)
        if paths < 1 or bins < 2 or not high > low:
            raise ValueError(f"{self.kind} head needs paths >= 1, bins >= 2 and a score range low < high")
        self.paths = paths
        self.bins = bins
        self.in_dim = in_dim
        self.score_range = (low, high)
        self.path_mlps = nn.ModuleList(mlp(in_dim, hidden, bins) for _ in range(paths))
        # Not persistent: it follows from the config, so bundles only carry trained weights.
        self.register_buffer("bin_values", torch.linspace(low, high, bins), persistent=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(..., in_dim)`` features -> ``(..., paths, bins)`` logits."""
        return torch.stack([path(features) for path in self.path_mlps], dim=-2)
