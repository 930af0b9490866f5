"""``aqa-judge train``: dataset -> (features) -> fit -> test once -> model bundle with a data card.

The same function runs alone or as each rank under torchrun; only rank 0 writes the progress log,
checkpoints and the bundle.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aqa_core import __version__
from aqa_core.bundle import bundle_from_model, save_bundle
from aqa_core.errors import DatasetError
from aqa_core.model import AQAModel

from .config import TrainConfig
from .datasets import DiveDataset, DiveRecord, carve_validation, open_dataset
from .distributed import DistContext, barrier, init_distributed, shutdown
from .evaluate import labels_from
from .features import check_pixels, extract_features, load_record_clips
from .loop import SplitData, Trainer
from .progress import ProgressStream

CHECKPOINTS = "checkpoints"
LOG = "progress.jsonl"


def code_version() -> str:
    """``git describe`` of the checkout when there is one, else the package version."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).parent)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    return __version__


def _check_labels(dataset: DiveDataset, config: TrainConfig) -> None:
    head = config.model["head"]
    for r in dataset.records:
        where = f"{dataset.source}, dive {r.key}"
        if head["name"] == "musdl":
            judges = head.get("judges", 7)
            if r.judge_scores is None or len(r.judge_scores) != judges:
                raise DatasetError(f"{where}: a MUSDL head with {judges} judges needs {judges} judge scores")
            if r.difficulty is None:
                raise DatasetError(f"{where}: a MUSDL head needs the dive's difficulty (DD)")


def _split(records: list[DiveRecord], inputs: Any) -> SplitData:
    judges = [r.judge_scores for r in records] if all(r.judge_scores for r in records) else None
    difficulty = [r.difficulty for r in records] if all(r.difficulty for r in records) else None
    labels = labels_from([r.final_score for r in records], judges, difficulty, [r.event for r in records])
    return SplitData(fetch=inputs, labels=labels)


def _feature_fetch(features: np.ndarray):
    tensor = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
    return lambda idx: tensor[idx]


def _clip_fetch(records: list[DiveRecord], segmentation: Any):
    return lambda idx: torch.stack([load_record_clips(records[int(i)], segmentation).clips for i in idx]) if len(idx) else torch.empty(0)


def prepare_splits(dataset: DiveDataset, config: TrainConfig, progress: ProgressStream, ctx: DistContext) -> dict[str, SplitData]:
    splits = {name: dataset.split(name) for name in ("train", "val", "test")}
    # Every split's pixels are checked before the first one is extracted or fine-tuned on.
    check_pixels([r for r in dataset.records if r.features is None])
    out = {}
    for name, records in splits.items():
        if config.mode == "finetune":
            out[name] = _split(records, _clip_fetch(records, config.model.get("segmentation", "usdl_10x16")))
            continue
        if all(r.features is not None for r in records):
            feats = np.stack([r.features for r in records]) if records else np.zeros((0, 1, 1), np.float32)
        else:
            cache = config.feature_cache or config.work_dir / "features"
            # Rank 0 extracts; the other ranks wait, then read the finished cache.
            feats = extract_features(records, config.model, cache, progress) if ctx.is_main else None
            barrier(ctx)
            if feats is None:
                feats = extract_features(records, config.model, cache)
        out[name] = _split(records, _feature_fetch(feats))
    return out


def train(config: TrainConfig, resume: bool = False, progress: ProgressStream | None = None) -> Path:
    """Run a whole training; returns the bundle folder."""
    ctx = init_distributed(config.device)
    try:
        progress = progress or ProgressStream(config.work_dir / LOG, enabled=ctx.is_main)
        torch.manual_seed(config.seed)
        opened = open_dataset(config.dataset, config.dataset_kind, config.frames_root, strict=config.strict, partial=config.partial)
        listed = opened.listed_sizes()
        dataset = carve_validation(opened, config.val_fraction, config.seed)
        _check_labels(dataset, config)
        sizes = dataset.split_sizes()
        if not sizes["train"] or not sizes["val"]:
            raise DatasetError(f"{dataset.source}: need training and validation dives, have {sizes}")
        finals = np.array([r.final_score for r in dataset.records])
        score_range = (float(finals.min()), float(finals.max()))
        progress.emit(
            "start", dataset=str(dataset.source), kind=dataset.kind, layout=dataset.layout or dataset.kind, splits=sizes, listed=listed,
            left_out=[p.to_dict() for p in dataset.problems], world_size=ctx.world_size, config=config.to_json(),
        )
        data = prepare_splits(dataset, config, progress, ctx)
        model = AQAModel(config.model, with_backbone=config.mode == "finetune")
        if config.mode == "features":  # end to end, the features change as the backbone trains
            model.fit_neck(data["train"].fetch(torch.arange(len(data["train"]))))
        trainer = Trainer(config, model, ctx, progress, score_range)
        fit = trainer.fit(data["train"], data["val"], config.work_dir / CHECKPOINTS, resume=resume)
        model.load_state_dict(fit.best_state)
        test = trainer.evaluate(data["test"])[0] if sizes["test"] else None
        progress.emit("test", figures=test, best_epoch=fit.best_epoch)
        card = data_card(dataset, config, len(fit.history), fit.best_epoch, fit.best_val, test) | dataset_use(dataset, listed)
        if ctx.is_main:
            save_bundle(bundle_from_model(model, config.name, config.version, card), config.out)
        barrier(ctx)
        progress.emit("done", bundle=config.out, best_epoch=fit.best_epoch, val=fit.best_val, test=test)
        return config.out
    finally:
        shutdown(ctx)


def dataset_use(dataset: DiveDataset, listed: dict[str, int]) -> dict[str, Any]:
    """Exactly which dives the model saw: the layout, dives used of those listed, and each left out and why."""
    return {
        "dataset_layout": dataset.layout or dataset.kind,
        "split_sizes_listed": listed,  # what the dataset's own split files name (MTL-AQA / FineDiving have no val)
        "left_out": [{"dive": dive, "problems": reasons} for dive, reasons in dataset.left_out().items()],
        **({"judge_scores": dataset.notes["judge_scores"]} if "judge_scores" in dataset.notes else {}),
    }


def data_card(dataset: DiveDataset, config: TrainConfig, epochs_run: int, best_epoch: int, val: dict, test: dict | None) -> dict[str, Any]:
    """What the app and CLI show next to every score from this model."""
    # Engineer E's generator writes dataset.json with a "kind" naming it synthetic.
    synthetic = bool(dataset.notes.get("synthetic")) or "synthetic" in str(dataset.notes.get("kind", "")).lower()
    return {
        "dataset": dataset.name,
        "dataset_kind": dataset.kind,
        "dataset_notes": {k: v for k, v in dataset.notes.items() if isinstance(v, (str, int, float, bool))},
        "split_sizes": dataset.split_sizes(),
        "synthetic": synthetic,
        "intended_use": "demonstration only: trained on synthetic dives, not a judge of real footage" if synthetic else "research",
        "head": config.model["head"]["name"],
        "loss": config.loss,
        "decoding": config.decoding,
        "mode": config.mode,
        "epochs_trained": epochs_run,  # fewer than configured when early stopping ended the run
        "best_epoch": best_epoch,
        "validation": val,
        "test": test,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "seed": config.seed,
        **({"backbone_note": "backbone fine-tuned; its weights are in the checkpoints, the bundle (format 1) stores heads only"} if config.mode == "finetune" else {}),
    }
