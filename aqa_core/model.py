"""``AQAModel``: backbone -> neck -> temporal aggregation -> distribution head, from a config dict.

Config shape (also what a bundle stores)::

    {"backbone": {"name": "i3d", "pretrained": true},
     "segmentation": "usdl_10x16",
     "neck": {"name": "standardize"},            # optional; default identity
     "aggregation": {"name": "average"},
     "head": {"name": "musdl", "judges": 7, "in_dim": 1024}}

The backbone is frozen (the papers fine-tune only the MLP head on I3D features), so only the
neck (its fitted statistics), aggregator and head are "trainable parts" saved in a bundle. The trainer works on cached features
and builds the model with ``with_backbone=False``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

import aqa_core.aggregation  # noqa: F401  (registers aggregators)
import aqa_core.heads  # noqa: F401  (registers heads)
from aqa_core.heads import DistributionHead, HeadOutput
from aqa_core.neck import NECKS
from aqa_core.registry import AGGREGATORS, BACKBONES, HEADS

DEFAULT_AGGREGATION = {"name": "average"}
DEFAULT_NECK = {"name": "identity"}


class AQAModel(nn.Module):
    def __init__(self, config: Mapping[str, Any], with_backbone: bool = True) -> None:
        super().__init__()
        self.config = dict(config)
        self.aggregator: nn.Module = AGGREGATORS.build(self.config.get("aggregation", DEFAULT_AGGREGATION))
        self.head: DistributionHead = HEADS.build(self.config["head"])
        self.neck: nn.Module = NECKS.build({**self.config.get("neck", DEFAULT_NECK), "dim": self.head.in_dim})
        self.backbone: nn.Module | None = None
        if with_backbone:
            import aqa_core.backbones  # noqa: F401  (registers backbones; heavy, so only when needed)

            self.backbone = BACKBONES.build(self.config["backbone"])
            feature_dim = getattr(self.backbone, "feature_dim", None)
            if feature_dim != self.head.in_dim:
                raise ValueError(f"backbone gives {feature_dim}-d features but the head expects in_dim={self.head.in_dim}")
            self.backbone.requires_grad_(False)
            self.backbone.eval()

    @property
    def head_kind(self) -> str:
        return self.head.kind

    def train(self, mode: bool = True) -> AQAModel:
        """Keep the frozen backbone in eval mode (its batch-norm statistics are pretrained)."""
        super().train(mode)
        if self.backbone is not None:
            self.backbone.eval()
        return self

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """The tensors a bundle stores: everything except the frozen backbone."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("backbone.")}

    def features(self, clips: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` clips -> ``(N, D)`` backbone features."""
        if self.backbone is None:
            raise RuntimeError("this AQAModel was built without its backbone")
        return self.backbone(clips)

    def fit_neck(self, features: torch.Tensor) -> None:
        """Learn the neck's statistics from training clip features ``(B, N, D)``; no-op for the identity."""
        fit = getattr(self.neck, "fit", None)
        if fit is not None:
            fit(features)

    def pooled_logits(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, N, D)`` clip features -> ``(B, P, bins)``: the head on the aggregated feature."""
        return self.head(self.aggregator(self.neck(features)))

    def clip_logits(self, features: torch.Tensor) -> torch.Tensor:
        """``(..., D)`` clip features -> ``(..., P, bins)``: the head on each clip's own feature."""
        return self.head(self.neck(features))

    def head_forward(self, features: torch.Tensor) -> HeadOutput:
        """``(B, N, D)`` clip features -> per-clip and pooled logits."""
        return HeadOutput(clip_logits=self.clip_logits(features), logits=self.pooled_logits(features))

    def forward(self, clips: torch.Tensor) -> HeadOutput:
        """``(B, N, 3, T, H, W)`` clips -> ``HeadOutput``."""
        batch, n = clips.shape[:2]
        features = self.features(clips.flatten(0, 1)).float()
        return self.head_forward(features.view(batch, n, -1))
