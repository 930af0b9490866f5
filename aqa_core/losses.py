"""Training losses of the seeds: KL to Gaussian soft labels (USDL, MUSDL) and the regression baseline.

USDL/MUSDL (Tang et al., CVPR 2020): a score label s becomes a Gaussian N(s, sigma) that is
truncated to the score range, discretised at the bin values and renormalised; the loss is
KL(soft label || predicted distribution). MUSDL trains one path per judge on the judges'
scores sorted ascending, so path k learns "the k-th most severe judge" rather than a seat.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gaussian_soft_labels(targets: torch.Tensor, bin_values: torch.Tensor, sigma: float) -> torch.Tensor:
    """(...,) score labels -> (..., bins) distributions over ``bin_values`` (sigma in score units).

    A softmax over the log-density is the same as evaluating the Gaussian at each bin and
    dividing by the sum (Eq. 1-2), but cannot underflow to 0/0 for labels far from every bin.
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    bins = bin_values.to(targets.device, torch.float32)
    z = (bins - targets.float().unsqueeze(-1)) / sigma
    return torch.softmax(-0.5 * z * z, dim=-1)


def kl_to_soft_labels(logits: torch.Tensor, soft_labels: torch.Tensor) -> torch.Tensor:
    """Sum over paths of KL(soft || softmax(logits)), averaged over the batch (Eq. 3 and 6)."""
    log_pred = F.log_softmax(logits.float(), dim=-1)
    per_path = F.kl_div(log_pred, soft_labels, reduction="none").sum(dim=-1)  # (B, P)
    return per_path.sum(dim=-1).mean()


def usdl_loss(logits: torch.Tensor, final_score: torch.Tensor, bin_values: torch.Tensor, sigma: float) -> torch.Tensor:
    """logits (B, 1, bins) against the final score (B,)."""
    return kl_to_soft_labels(logits, gaussian_soft_labels(final_score, bin_values, sigma).unsqueeze(1))


def musdl_loss(logits: torch.Tensor, judge_scores: torch.Tensor, bin_values: torch.Tensor, sigma: float) -> torch.Tensor:
    """logits (B, K, bins) against K judges' scores (B, K), sorted ascending as in the paper."""
    if logits.shape[1] != judge_scores.shape[1]:
        raise ValueError(f"head has {logits.shape[1]} judge paths but the labels have {judge_scores.shape[1]} judges")
    ordered = judge_scores.sort(dim=-1).values
    return kl_to_soft_labels(logits, gaussian_soft_labels(ordered, bin_values, sigma))


def regression_loss(prediction: torch.Tensor, target: torch.Tensor, kind: str = "mse") -> torch.Tensor:
    """The seeds' baseline: L2 (or L1) between a single predicted score and the label."""
    if kind == "mse":
        return F.mse_loss(prediction.float(), target.float())
    if kind == "l1":
        return F.l1_loss(prediction.float(), target.float())
    raise ValueError(f"unknown regression loss {kind!r}; known: mse, l1")
