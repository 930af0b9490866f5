"""From head logits to final scores and the figures a data card reports (rho, R-l2, judge MAE).

Decoding follows the scorer: USDL reads the final score off its distribution; MUSDL decodes
every judge path, applies the diving rule (aqa_core.rules) to find the counting awards and
multiplies by DD (and 0.6 for synchronised events).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from aqa_core.decoding import point, probabilities
from aqa_core.errors import DatasetError
from aqa_core.metrics import relative_l2, spearman
from aqa_core.rules import apply_panel_rule


@dataclass
class Labels:
    """A split's labels as arrays (judges sorted as the MUSDL paths are)."""

    final: np.ndarray  # (N,)
    judges: np.ndarray | None  # (N, K) ascending, or None
    difficulty: np.ndarray | None  # (N,)
    events: list[str]


def predict(logits: torch.Tensor, bin_values: torch.Tensor, head: str, labels: Labels, decoding: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(N, P, bins) logits -> final scores (N,) and, for MUSDL, judge scores (N, K)."""
    probs = probabilities(logits.detach().float().cpu().numpy())
    values = bin_values.detach().cpu().numpy().astype(np.float64)
    points = np.array([[point(p, values, decoding) for p in sample] for sample in probs])  # (N, P)
    if head != "musdl":
        return points[:, 0], None
    if labels.difficulty is None:
        raise DatasetError("MUSDL needs each dive's difficulty (DD) to turn judge scores into a final score")
    finals = np.empty(len(points))
    for i, judges in enumerate(points):
        halves = np.clip(np.round(judges * 2) / 2, 0.0, 10.0)
        outcome = apply_panel_rule(halves.tolist(), labels.events[i], float(labels.difficulty[i]))
        finals[i] = judges[outcome.kept].sum() * labels.difficulty[i] * outcome.multiplier
    return finals, points


def report(pred_final: np.ndarray, labels: Labels, score_range: tuple[float, float], pred_judges: np.ndarray | None = None) -> dict[str, float | list[float]]:
    """Spearman rho and CoRe's relative L2 on the final score, plus per-judge-path MAE."""
    figures: dict[str, float | list[float]] = {
        "rho": float(spearman(pred_final, labels.final)),
        "rl2": float(relative_l2(pred_final, labels.final, score_range[0], score_range[1])),
        "final_mae": float(np.abs(pred_final - labels.final).mean()),
    }
    if pred_judges is not None and labels.judges is not None:
        per_judge = np.abs(pred_judges - labels.judges).mean(axis=0)
        figures["judge_mae"] = [round(float(v), 4) for v in per_judge]
        figures["judge_mae_mean"] = float(per_judge.mean())
    return figures


def labels_from(final: Sequence[float], judges: Sequence[Sequence[float]] | None, difficulty: Sequence[float] | None, events: Sequence[str]) -> Labels:
    return Labels(
        final=np.asarray(final, dtype=np.float64),
        judges=np.sort(np.asarray(judges, dtype=np.float64), axis=1) if judges is not None else None,
        difficulty=np.asarray(difficulty, dtype=np.float64) if difficulty is not None else None,
        events=list(events),
    )
