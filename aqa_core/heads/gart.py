"""The group-aware regression tree (GART) of CoRe (Yu et al., ICCV 2021, Sec. 3.2).

A relative score (how much better the dive is than its exemplar) is split into two easier
problems: which of ``2^(depth-1)`` non-overlapping groups (intervals) it lies in, decided coarse
to fine by a binary tree, and where inside that group (a regression to [0, 1]).

Groups. The bounds come from the training pairs' score differences, as the paper's code builds
them: the groups are symmetric about 0; the positive half's bounds are quantiles of the sorted
|differences| (bound i = sorted[int(i / half * (count - 1))]), the first bound 0 and the last the
largest difference possible; the negative half mirrors it. A difference d >= 0 lies in positive
group i when b_i <= d < b_(i+1); d < 0 in the mirrored group with b_i <= -d < b_(i+1). Groups whose
two bounds coincide (many equal differences) are never a target. Inside group [left, right]
the target is (d - left) / (right - left), and the prediction is left + (right - left) x delta.

Tree. The paper's network: one FC layer to ``hidden`` features, then ``depth - 1`` levels; at each
level every node gives two children's logits and its own features split into two children's
(one linear layer per node); the leaves' log-probabilities are the sums along
their paths, and one regression per leaf gives delta.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def group_bounds(differences: np.ndarray, depth: int, largest: float) -> np.ndarray:
    """The positive half's ``half + 1`` bounds, 0 first and ``largest`` last (see module docstring)."""
    half = 2 ** (depth - 1) // 2
    values = np.sort(np.abs(np.asarray(differences, dtype=np.float64)))
    if not len(values):
        raise ValueError("no training-pair score differences to place the groups")
    bounds = np.array([values[int(i / half * (len(values) - 1))] for i in range(half + 1)])
    bounds[0], bounds[-1] = 0.0, max(float(largest), float(values[-1]))
    return bounds


class GroupedLinear(nn.Module):
    """One linear layer per node, applied to that node's features: ``(B, groups, in) -> (B, groups, out)``.

    What the paper's grouped 1x1 Conv1d computes, as one batched matmul (grouped convolutions
    were 4x slower to train on a CPU, measured).
    """

    def __init__(self, groups: int, in_dim: int, out_dim: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_dim)  # nn.Linear's default initialisation
        self.weight = nn.Parameter(torch.empty(groups, in_dim, out_dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(groups, out_dim).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias[:, None], x.transpose(0, 1), self.weight).transpose(0, 1)


class GroupTree(nn.Module):
    """The tree network plus its fitted group bounds (a buffer, so they travel in the bundle)."""

    def __init__(self, in_dim: int, hidden: int = 256, depth: int = 5) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError(f"a GART needs depth >= 2 (two groups or more), not {depth}")
        self.depth = depth
        self.leaves = 2 ** (depth - 1)
        self.first = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU())
        nodes = [2**d for d in range(depth - 1)]
        self.hidden = hidden
        self.split = nn.ModuleList(GroupedLinear(n, hidden, 2 * hidden) for n in nodes)
        self.decide = nn.ModuleList(GroupedLinear(n, hidden, 2) for n in nodes)
        self.regress = GroupedLinear(self.leaves, hidden, 1)
        # Until fitted: evenly spaced bounds on [0, 1], so an unfitted tree still decodes something finite.
        self.register_buffer("bounds", torch.linspace(0.0, 1.0, self.leaves // 2 + 1))

    def fit_bounds(self, differences: np.ndarray, largest: float) -> None:
        self.bounds.copy_(torch.as_tensor(group_bounds(differences, self.depth, largest), dtype=torch.float32))

    def groups(self) -> torch.Tensor:
        """``(leaves, 2)`` [left, right] of every group, most negative first."""
        b = self.bounds
        positive = torch.stack([b[:-1], b[1:]], dim=1)
        negative = -positive.flip(0)[:, [1, 0]]
        return torch.cat([negative, positive])

    def assign(self, differences: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each difference's group (leaf index) and its position inside the group, the training targets."""
        half = self.leaves // 2
        inner = self.bounds[1:-1].contiguous()
        step = torch.searchsorted(inner, differences.abs().contiguous(), right=True)  # b_i <= |d| < b_(i+1)
        leaf = torch.where(differences >= 0, half + step, half - 1 - step)
        left, right = self.groups()[leaf].unbind(-1)
        width = right - left
        position = torch.where(width > 0, (differences - left) / width.clamp_min(1e-12), differences - left)
        return leaf, position

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, in_dim)`` -> leaves' log-probabilities ``(B, leaves)`` and in-group positions ``(B, leaves)``."""
        h = self.first(x).unsqueeze(1)  # (B, nodes = 1, hidden)
        b = len(x)
        log_prob = torch.zeros(b, 1, device=x.device, dtype=h.dtype)
        for decide, split in zip(self.decide, self.split, strict=True):
            children = F.log_softmax(decide(h), dim=-1)  # (B, nodes, 2)
            log_prob = (log_prob.unsqueeze(-1) + children).reshape(b, -1)
            h = split(h).relu().reshape(b, -1, self.hidden)  # node k's children are 2k and 2k + 1
        return log_prob, self.regress(h).squeeze(-1)

    def relative(self, delta: torch.Tensor, leaf: torch.Tensor | None = None) -> torch.Tensor:
        """Relative scores from in-group positions: every leaf's ``(..., leaves)``, or the chosen leaf's."""
        left, right = self.groups().unbind(-1)
        values = left + (right - left) * delta
        return values if leaf is None else values.gather(-1, leaf.unsqueeze(-1)).squeeze(-1)
