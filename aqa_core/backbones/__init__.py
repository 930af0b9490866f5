"""Clip backbones, registered in ``aqa_core.registry.BACKBONES``.

Importing this package registers ``i3d`` (Kinetics-400 Inception I3D) and ``tiny`` (tests).
Every backbone takes (N, 3, T, H, W) RGB in [-1, 1]; ``forward`` returns (N, feature_dim)
features and ``logits`` (N, 400) Kinetics logits.
"""

from aqa_core.backbones import i3d, tiny

__all__ = ["i3d", "tiny"]
