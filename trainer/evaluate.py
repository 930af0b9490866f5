"""From head logits to final scores and the figures a data card reports (rho, R-l2, judge MAE).

Decoding is the scorer's own: USDL reads the final score off its distribution; MUSDL decodes
every judge path and hands the marks to ``aqa_core.heads.panel.rule_on_marks`` (the diving rule,
DD and the synchronised multiplier), so a model is validated exactly as it will later score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from aqa_core.decoding import point, probabilities
from aqa_core.errors import DatasetError
from aqa_core.heads.panel import rule_on_marks
from aqa_core.metrics import relative_l2, spearman
from aqa_core.result import DiveInfo


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
    panel = points.shape[1]
    finals = np.array([
        rule_on_marks(marks.tolist(), DiveInfo(labels.events[i], panel, None, None, float(labels.difficulty[i]))).final
        for i, marks in enumerate(points)
    ])
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
        # Panels of different sizes (FineDiving: 3, 5 or 7 marks) have no per-judge-path comparison.
        judges=np.sort(np.asarray(judges, dtype=np.float64), axis=1) if judges is not None and len({len(j) for j in judges}) == 1 else None,
        difficulty=np.asarray(difficulty, dtype=np.float64) if difficulty is not None else None,
        events=list(events),
    )


def evaluate_bundle(bundle_dir: Path, dataset_path: Path, kind: str = "auto", split: str = "test", cache_dir: Path | None = None) -> dict:
    """A trained bundle on one split of a dataset: rho, R-l2, final MAE and per-judge MAE.

    The score range for R-l2 is the evaluated dives' own min..max (CoRe's convention per dataset).
    """
    from aqa_core.bundle import load_bundle
    from aqa_core.model import AQAModel
    from aqa_core.paths import user_data_dir

    from .datasets import open_dataset
    from .features import extract_features

    bundle = load_bundle(bundle_dir)
    dataset = open_dataset(dataset_path, kind)
    records = dataset.records if split == "all" else dataset.split(split)
    if not records:
        raise DatasetError(f"{dataset.source}: no dives in split '{split}' (sizes: {dataset.split_sizes()})")
    model = AQAModel(bundle.config, with_backbone=False)
    model.load_state_dict(bundle.state_dict)
    model.eval()
    if all(r.features is not None for r in records):
        features = np.stack([r.features for r in records])
    else:
        features = extract_features(records, bundle.config, cache_dir or user_data_dir() / "feature_cache")
    complete = lambda values: values if all(v is not None for v in values) else None  # noqa: E731
    labels = labels_from(
        [r.final_score for r in records], complete([r.judge_scores for r in records]), complete([r.difficulty for r in records]), [r.event for r in records]
    )
    with torch.no_grad():
        logits = model.head_forward(torch.from_numpy(features.astype(np.float32))).logits
    finals, judges = predict(logits, model.head.bin_values, model.head_kind, labels, bundle.data_card.get("decoding", "argmax"))
    figures = report(finals, labels, (float(labels.final.min()), float(labels.final.max())), judges)
    return {"bundle": str(bundle_dir), "model": bundle.name, "dataset": str(dataset.source), "split": split, "dives": len(records), **figures}
