"""Temporal aggregation of clip features, registered in ``AGGREGATORS``.

The MUSDL code pools at feature level on MTL-AQA ("temporal pooling at feature-level ... for
better results"): clip features are averaged before the head. Averaging treats every clip alike,
though, and in diving the telling moments (entry, a late opening) sit in a few clips: the
Weight-Decider (Farabi et al., "Improving AQA Using Weighted Aggregation") learns, per clip and per
feature dimension, how much that clip's feature counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from aqa_core.heads.distribution import mlp
from aqa_core.registry import AGGREGATORS


@AGGREGATORS.register("average")
class AverageAggregator(nn.Module):
    """Mean over the clip axis: ``(B, N, D) -> (B, D)``."""

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features.mean(dim=1)


@AGGREGATORS.register("weight_decider")
class WeightDecider(nn.Module):
    """Per-feature softmax weights over the clips: ``f = sum_i softmax_i(WD(f_i)) * f_i``.

    ``WD`` is a small MLP applied to each clip's feature on its own (the paper's 128->64->32->64->128;
    here ``in_dim -> hidden... -> in_dim``); the softmax runs over the clip axis separately for each
    dimension, so every dimension's weights sum to one. The last layer starts at zero, so an
    untrained Weight-Decider is exactly averaging and training only departs from it where the
    data says a clip matters more.
    """

    def __init__(self, in_dim: int = 1024, hidden: Sequence[int] = (64,), dropout: float = 0.0) -> None:
        super().__init__()
        self.in_dim = in_dim  # the clip features' width (aqa_core.methods.base.require_one_feature_width)
        body = mlp(in_dim, hidden, in_dim)
        nn.init.zeros_(body[-1].weight)
        nn.init.zeros_(body[-1].bias)
        self.scorer = nn.Sequential(*([nn.Dropout(dropout)] if dropout else []), *body)

    def weights(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, N, D) -> (B, N, D)`` weights, summing to one over the clip axis."""
        return torch.softmax(self.scorer(features), dim=1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return (self.weights(features) * features).sum(dim=1)
