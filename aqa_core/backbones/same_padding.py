"""TensorFlow "SAME" padding for 3-D convolution and max pooling.

DeepMind's Kinetics I3D was trained in TensorFlow, where "SAME" pads asymmetrically (the extra
pixel goes after) and max pooling pads with -inf. PyTorch's ``padding=`` is symmetric, so a naive
port shifts every strided layer by half a pixel and the classifier degrades. These helpers
reproduce TF exactly while using PyTorch's native (copy-free) padding whenever it is equivalent.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

Triple = tuple[int, int, int]


def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding that TF "SAME" applies to one dimension."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad_argument(pads: list[tuple[int, int]]) -> list[int]:
    """``F.pad`` order: last dimension first, (W_before, W_after, H_before, H_after, T_before, T_after)."""
    return [p for before, after in reversed(pads) for p in (before, after)]


def _torch_ceil_out(size: int, kernel: int, stride: int, pad: int) -> int:
    """Output length of a PyTorch pool with ``ceil_mode=True`` (the rule of ``pooling_output_shape``)."""
    out = math.ceil((size + 2 * pad - kernel) / stride) + 1
    if (out - 1) * stride >= size + pad:
        out -= 1
    return out


def conv3d_same(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: Triple) -> torch.Tensor:
    """3-D convolution with TF "SAME" padding (zeros)."""
    kernel = weight.shape[2:]
    pads = [same_pads(n, k, s) for n, k, s in zip(x.shape[2:], kernel, stride, strict=True)]
    if all(before == after for before, after in pads):
        return F.conv3d(x, weight, bias, stride, padding=tuple(before for before, _ in pads))
    x = F.pad(x, _pad_argument(pads))
    return F.conv3d(x, weight, bias, stride)


def max_pool3d_same(x: torch.Tensor, kernel: Triple, stride: Triple) -> torch.Tensor:
    """3-D max pooling with TF "SAME" padding (-inf).

    TF's only asymmetry is one extra padded element *after*; PyTorch's ``ceil_mode`` lets the last
    window hang over the end and ignores the overhang, which is the same as padding it with -inf.
    When that identity holds for every dimension no padded copy of the activation is made.
    """
    dims = list(zip(x.shape[2:], kernel, stride, strict=True))
    pads = [same_pads(n, k, s) for n, k, s in dims]
    native = all(
        after - before in (0, 1) and _torch_ceil_out(n, k, s, before) == math.ceil(n / s)
        for (n, k, s), (before, after) in zip(dims, pads, strict=True)
    )
    if native:
        return F.max_pool3d(x, kernel, stride, padding=tuple(before for before, _ in pads), ceil_mode=True)
    x = F.pad(x, _pad_argument(pads), value=float("-inf"))
    return F.max_pool3d(x, kernel, stride)
