"""From a method's predictions to the figures a data card reports (rho, R-l2, judge MAE, coverage).

Decoding is the method's own (``Method.point_scores`` and ``Method.predict``, the very calls the
scorer makes), so a model is validated exactly as it will later score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from aqa_core.calibration import LEVELS, Calibration, coverage, fit_calibration
from aqa_core.decoding import check_decoding
from aqa_core.errors import DatasetError
from aqa_core.methods import DivePrediction, Method
from aqa_core.metrics import relative_l2, spearman
from aqa_core.result import DiveInfo, Estimate


@dataclass
class Labels:
    """A split's labels as arrays (judges sorted as the MUSDL paths are)."""

    final: np.ndarray  # (N,)
    judges: np.ndarray | None  # (N, K) ascending, or None
    difficulty: np.ndarray | None  # (N,)
    events: list[str]
    dive_numbers: list[str | None] | None = None  # what methods that recognise dives learn from
    keys: list[str] | None = None  # the dives' ids, for methods that keep training dives (CoRe's exemplar bank)
    videos: list[str | None] | None = None  # each dive's video file, where it is one (the app opens an exemplar's)
    captions: list[tuple[str, ...] | None] | None = None  # caption words, for methods that write commentary

    def dives(self, rows: Sequence[int], method: Method) -> list[DiveInfo]:
        """Dive info for the method's batch: event, the panel it was trained on, DD (1 where it does not read DD)."""
        if self.difficulty is None and method.scales_with_difficulty:
            raise DatasetError(f"{method.name} needs each dive's difficulty (DD) to turn judge scores into a final score")
        numbers = self.dive_numbers or [None] * len(self.events)
        return [
            DiveInfo(self.events[i], method.panel, numbers[i], None, float(self.difficulty[i]) if self.difficulty is not None else 1.0)
            for i in rows
        ]


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


def labels_from(
    final: Sequence[float], judges: Sequence[Sequence[float]] | None, difficulty: Sequence[float] | None, events: Sequence[str],
    dive_numbers: Sequence[str | None] | None = None, keys: Sequence[str] | None = None, videos: Sequence[str | None] | None = None,
    captions: Sequence[tuple[str, ...] | None] | None = None,
) -> Labels:
    return Labels(
        final=np.asarray(final, dtype=np.float64),
        # Panels of different sizes (FineDiving: 3, 5 or 7 marks) have no per-judge-path comparison.
        judges=np.sort(np.asarray(judges, dtype=np.float64), axis=1) if judges is not None and len({len(j) for j in judges}) == 1 else None,
        difficulty=np.asarray(difficulty, dtype=np.float64) if difficulty is not None else None,
        events=list(events),
        dive_numbers=list(dive_numbers) if dive_numbers is not None else None,
        keys=list(keys) if keys is not None else None,
        videos=list(videos) if videos is not None else None,
        captions=list(captions) if captions is not None and any(captions) else None,
    )


def calibrate(predictions: list[DivePrediction], labels: Labels) -> Calibration:
    """Conformal calibration from uncalibrated validation predictions (aqa_core.calibration)."""
    finals = np.array([p.final.score for p in predictions])
    spreads = np.array([p.final.std for p in predictions])
    judges = labels.judges if predictions[0].judges else None
    marks = np.array([[j.estimate.score for j in p.judges] for p in predictions]) if judges is not None else None
    mark_spread = np.array([[j.estimate.std for j in p.judges] for p in predictions]) if judges is not None else None
    return fit_calibration(finals, spreads, labels.final, np.array([p.scale for p in predictions]), marks, mark_spread, judges)


def coverages(predictions: list[DivePrediction], labels: Labels) -> dict[str, dict[str, float]]:
    """Share of true finals (and true marks, sorted as the paths are) inside the calibrated intervals."""
    if not predictions or not predictions[0].final.intervals:
        return {}
    out: dict[str, dict[str, float]] = {"coverage": {}, "judge_coverage": {}}
    for level in LEVELS:
        out["coverage"][level] = coverage(labels.final, np.array([p.final.intervals[level] for p in predictions]))
        if labels.judges is not None and predictions[0].judges and predictions[0].judges[0].estimate.intervals:
            iv = np.array([[j.estimate.intervals[level] for j in p.judges] for p in predictions])
            out["judge_coverage"][level] = coverage(labels.judges, iv)
    if not out["judge_coverage"]:
        del out["judge_coverage"]
    return out


def median_panel_spread(predictions: list[DivePrediction]) -> float | None:
    """Median over dives of the sample std of the predicted marks (real MTL-AQA 7-judge panels: 0.35)."""
    if not predictions or not predictions[0].judges:
        return None
    return float(np.median([np.std([j.estimate.score for j in p.judges], ddof=1) for p in predictions]))


def _interval_dict(est: Estimate) -> dict[str, list[float]]:
    return {level: [round(lo, 4), round(hi, 4)] for level, (lo, hi) in est.intervals.items()}


def prediction_rows(keys: Sequence[str], predictions: list[DivePrediction], labels: Labels, unfamiliar: Sequence[bool] | None) -> list[dict]:
    """The ``predictions`` list of ``aqa-judge evaluate --json``."""
    rows = []
    for i, (key, p) in enumerate(zip(keys, predictions, strict=True)):
        row: dict = {"dive_id": key, "predicted": round(p.final.score, 4), "true": float(labels.final[i]), "intervals": _interval_dict(p.final)}
        if p.judges:
            truth = labels.judges[i] if labels.judges is not None else [None] * len(p.judges)
            row["judges"] = [
                {"predicted": j.estimate.score, "true": None if t is None else float(t), "intervals": _interval_dict(j.estimate)}
                for j, t in zip(p.judges, truth, strict=True)
            ]
        if unfamiliar is not None:
            row["unfamiliar"] = bool(unfamiliar[i])
        rows.append(row)
    return rows


def evaluate_bundle(
    bundle_dir: Path,
    dataset_path: Path,
    kind: str = "auto",
    split: str = "test",
    cache_dir: Path | None = None,
    decoding: str | None = None,
    frames_root: Path | None = None,
    partial: bool = False,
) -> dict:
    """A trained bundle on one split of a dataset, decoded and calibrated exactly as the scorer does.

    ``frames_root`` and ``partial`` read the dataset as training does (frames kept elsewhere, a
    partial download); every dive's pixels are checked, and its video for decoding damage, before
    the first feature is extracted.

    The score range of R-l2 is the one the data card records (the training dataset's final
    scores, CoRe's convention), so a split's figure means the same as the card's; a bundle from
    before that record falls back to the evaluated dataset's whole range.
    """
    from aqa_core.bundle import load_bundle
    from aqa_core.familiarity import FeatureSummary
    from aqa_core.methods import build_method
    from aqa_core.paths import user_data_dir

    from .datasets import open_dataset
    from .datasets.counted import for_model
    from .features import check_pixels, extract_features

    bundle = load_bundle(bundle_dir)
    model = build_method(bundle.config, with_backbone=False)
    model.load_state_dict(bundle.state_dict)
    model.eval()
    dataset = for_model(open_dataset(dataset_path, kind, frames_root, partial=partial, check_damage=True), model)
    records = dataset.records if split == "all" else dataset.split(split)
    if not records:
        raise DatasetError(f"{dataset.source}: no dives in split '{split}' (sizes: {dataset.split_sizes()})")
    decoding = check_decoding(decoding or bundle.data_card.get("decoding", "argmax"))
    if all(r.features is not None for r in records):
        features = np.stack([r.features for r in records])
    else:
        check_pixels([r for r in records if r.features is None])
        features = extract_features(records, bundle.config, cache_dir or user_data_dir() / "feature_cache", backbone_state=bundle.backbone_state)
    complete = lambda values: values if all(v is not None for v in values) else None  # noqa: E731
    labels = labels_from(
        [r.final_score for r in records], complete([r.judge_scores for r in records]), complete([r.difficulty for r in records]), [r.event for r in records]
    )
    calibration = Calibration.from_dict(bundle.fitted["calibration"]) if "calibration" in bundle.fitted else None
    batch = {"features": torch.from_numpy(features.astype(np.float32)), "dives": labels.dives(range(len(records)), model)}
    predictions = model.predict(batch, decoding, calibration)
    finals = np.array([p.final.score for p in predictions])
    judges = np.array([[j.estimate.score for j in p.judges] for p in predictions]) if predictions[0].judges else None
    all_finals = [r.final_score for r in dataset.records]
    score_range = tuple(bundle.data_card.get("score_range") or (min(all_finals), max(all_finals)))
    figures = report(finals, labels, score_range, judges)  # type: ignore[arg-type]
    unfamiliar, familiar_figures = None, {}
    if "familiarity" in bundle.fitted:
        summary = FeatureSummary.from_dict(bundle.fitted["familiarity"])
        distance = summary.distance(features)
        unfamiliar = (distance > summary.threshold).tolist()
        beyond = (distance > summary.validation_max) & ~np.array(unfamiliar)
        familiar_figures = {"unfamiliar_rate": float(np.mean(unfamiliar)), "beyond_calibration_rate": float(np.mean(beyond))}
    return {
        "bundle": str(bundle_dir),
        "model": bundle.name,
        "dataset": str(dataset.source),
        "split": split,
        "decoding": decoding,
        "dives": len(records),
        "spearman": figures["rho"],
        "rl2": figures["rl2"],
        "score_range": list(score_range),
        "final_mae": figures["final_mae"],
        **({"judge_mae": figures["judge_mae_mean"], "judge_mae_per_path": figures["judge_mae"]} if "judge_mae" in figures else {}),
        **coverages(predictions, labels),
        **({"median_panel_spread": median_panel_spread(predictions)} if judges is not None else {}),
        **familiar_figures,
        "predictions": prediction_rows([r.key for r in records], predictions, labels, unfamiliar),
    }
