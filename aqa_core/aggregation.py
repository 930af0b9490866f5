"""Temporal aggregation of clip features, registered in ``AGGREGATORS``.

The MUSDL code pools at feature level on MTL-AQA ("temporal pooling at feature-level ... for
better results"): clip features are averaged before the head. Learned aggregators (weight-decider)
can register here later under their own names.
"""

from __future__ import annotations

import torch
from torch import nn

from aqa_core.registry import AGGREGATORS


@AGGREGATORS.register("average")
class AverageAggregator(nn.Module):
    """Mean over the clip axis: ``(B, N, D) -> (B, D)``."""

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features.mean(dim=1)
