"""Clip backbones, registered in ``aqa_core.registry.BACKBONES`` with what each declares (preprocessing.py).

Importing this package registers ``i3d`` (Kinetics-400 Inception I3D, the default), ``c3d``
(MTL-AQA's Sports-1M C3D), ``r2plus1d`` (the Weight-Decider paper's R(2+1)D, torchvision's
Kinetics-400 R(2+1)D-18) and ``tiny`` (tests). Every backbone takes (N, 3, T, H, W) clips made
as its declared preprocessing says; ``forward`` returns (N, feature_dim) features.
"""

from aqa_core.backbones import c3d, i3d, r2plus1d, tiny

__all__ = ["c3d", "i3d", "r2plus1d", "tiny"]
