"""``aqa-judge train``: dataset -> (features) -> fit -> test once -> model bundle with a data card.

The same function runs alone or as each rank under torchrun; only rank 0 writes the progress log,
checkpoints and the bundle.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aqa_core import __version__
from aqa_core.bundle import bundle_from_model, load_bundle, save_bundle
from aqa_core.errors import DatasetError
from aqa_core.familiarity import fit_familiarity
from aqa_core.files import file_sha256
from aqa_core.methods import Method, build_method, method_class
from aqa_core.methods.commentary import caption_words
from aqa_core.runtime import choose_runtime

from .config import ConfigError, TrainConfig
from .datasets import DiveDataset, DiveRecord, carve_validation, open_dataset
from .datasets.counted import for_model
from .devices import list_devices
from .distributed import DistContext, barrier, init_distributed, shutdown
from .evaluate import calibrate, coverages, labels_from, median_panel_spread, report
from .features import check_pixels, extract_features, records_clips
from .loop import FitResult, SplitData, Trainer
from .progress import ProgressStream, StopRequest
from .ridge import fit_ridge_head, ridge_baseline

CHECKPOINTS = "checkpoints"
LOG = "progress.jsonl"
RL2_DEFINITION = "CoRe's relative L2: 100 x mean(((predicted - true) / (high - low))^2), [low, high] = score_range (the training dataset's final scores)"
LEAK_RHO = 0.99  # a validation rho above this usually means the features saw the labels
JUDGE_MARKS = (0.0, 10.0)  # the scale every judge marks on: what a judge-marks method's score_range: auto means


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
    method = method_class(config.model)
    _check_score_range(dataset, config)
    for r in dataset.records:
        problem = method.label_problem(config.model, r.judge_scores, r.difficulty)
        if problem:
            raise DatasetError(f"{dataset.source}, dive {r.key}: {problem}")


def _check_score_range(dataset: DiveDataset, config: TrainConfig) -> None:
    """Refuse a head whose bins cannot reach the labels: it would train towards the range's edge."""
    head = config.model.get("head", {})
    if "score_range" not in head:
        return
    low, high = (float(v) for v in head["score_range"])
    values, what = _target_values(dataset, method_class(config.model).target)
    if values and (min(values) < low or max(values) > high):
        raise ConfigError(
            f"{dataset.source}: the {what} span {min(values):g}..{max(values):g} but the head's score_range is "
            f"[{low:g}, {high:g}]; widen score_range (or use score_range: auto)"
        )


def _target_values(dataset: DiveDataset, target: str) -> tuple[list[float], str]:
    """What a method's bins must span (its ``target``): judge marks, final scores, or final / DD."""
    if target == "judges":
        return [s for r in dataset.records for s in (r.judge_scores or ())], "judge marks"
    if target == "per_dd":
        # rounded: 99.0 / 3.3 is 30.000000000000004 in floats, a perfect dive, not one beyond a 0-30 range
        return [round(r.final_score / r.difficulty, 9) for r in dataset.records if r.difficulty], "final scores per point of DD"
    return [r.final_score for r in dataset.records], "final scores"


def resolve_auto(config: TrainConfig, dataset: DiveDataset) -> TrainConfig:
    """Fill ``in_dim: auto`` from the features and ``score_range: auto`` from the labels the method's bins stand for
    (the final, or final / DD, widened by 5%; judges' marks: the 0-10 scale)."""
    model = json.loads(json.dumps(config.model))
    head = model.get("head", {})
    feats = next((r.features for r in dataset.records if r.features is not None), None)
    for part in (p for p in model.values() if isinstance(p, dict)):  # the head, the aggregation, a method's own section (ud_aqa)
        if part.get("in_dim") == "auto":
            if feats is None:
                raise ConfigError(f"{dataset.source}: in_dim: auto needs a features dataset (.npz)")
            part["in_dim"] = int(feats.shape[-1])
    if head.get("score_range") == "auto":
        target = method_class(model).target
        if target == "judges":  # every judge marks on the same scale, whatever this dataset's marks happen to span
            head["score_range"] = list(JUDGE_MARKS)
        else:
            finals, _ = _target_values(dataset, target)
            margin = 0.05 * (max(finals) - min(finals))  # room for dives a little better or worse than any seen
            head["score_range"] = [max(0.0, min(finals) - margin), max(finals) + margin]
    model = method_class(model).configured_for(model, [caption_words(r.caption, r.commentary) for r in dataset.split("train")])
    return dataclasses.replace(config, model=model)


def _split(records: list[DiveRecord], inputs: Any, key: str = "features") -> SplitData:
    judges = [r.judge_scores for r in records] if all(r.judge_scores for r in records) else None
    difficulty = [r.difficulty for r in records] if all(r.difficulty for r in records) else None
    videos = [str(r.video.resolve()) if r.video is not None and r.video.is_file() else None for r in records]
    labels = labels_from([r.final_score for r in records], judges, difficulty, [r.event for r in records], [r.dive_number for r in records],
                         [r.key for r in records], videos, [caption_words(r.caption, r.commentary) for r in records])
    return SplitData(fetch=inputs, labels=labels, inputs=key)


def _feature_fetch(features: np.ndarray):
    tensor = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
    return lambda idx: tensor[idx]


def _clip_fetch(records: list[DiveRecord], model_config: dict[str, Any]):
    return lambda idx: torch.stack(list(records_clips([records[int(i)] for i in idx], model_config))) if len(idx) else torch.empty(0)


def prepare_splits(dataset: DiveDataset, config: TrainConfig, progress: ProgressStream, ctx: DistContext) -> dict[str, SplitData]:
    splits = {name: dataset.split(name) for name in ("train", "val", "test")}
    # Every split's pixels are checked before the first one is extracted or fine-tuned on.
    check_pixels([r for r in dataset.records if r.features is None])
    if config.mode == "finetune":
        return {name: _split(records, _clip_fetch(records, config.model), "clips") for name, records in splits.items()}
    # Every split's missing features in one extraction: one count for the user (not a bar per split
    # starting again at 0), one engine choice and one backbone built. Rank 0 extracts; the other
    # ranks wait, then read the finished cache.
    missing = [r for records in splits.values() for r in records if r.features is None]
    extracted: dict[int, np.ndarray] = {}
    if missing:
        cache = config.feature_cache or config.work_dir / "features"
        runtime = choose_runtime(str(ctx.device), "float32")  # on this rank's device; float32, as the cache holds
        feats = extract_features(missing, config.model, cache, progress, runtime) if ctx.is_main else None
        barrier(ctx)
        if feats is None:
            feats = extract_features(missing, config.model, cache, runtime=runtime)
        extracted = {id(r): f for r, f in zip(missing, feats, strict=True)}
    out = {}
    for name, records in splits.items():
        feats = np.stack([extracted[id(r)] if r.features is None else r.features for r in records]) if records else np.zeros((0, 1, 1), np.float32)
        out[name] = _split(records, _feature_fetch(feats))
    return out


def train(config: TrainConfig, resume: bool = False, progress: ProgressStream | None = None) -> Path:
    """Run a whole training; returns the bundle folder."""
    ctx = init_distributed(config.device)
    try:
        progress = progress or ProgressStream(config.work_dir / LOG, enabled=ctx.is_main)
        # Rank 0 checks the videos for damage; the others then read its kept answers.
        opened = open_dataset(config.dataset, config.dataset_kind, config.frames_root, strict=config.strict, partial=config.partial,
                              check_damage=True, progress=progress) if ctx.is_main else None
        barrier(ctx)
        if opened is None:
            opened = open_dataset(config.dataset, config.dataset_kind, config.frames_root, strict=config.strict, partial=config.partial, check_damage=True)
        listed = opened.listed_sizes()
        config = resolve_auto(config, opened)
        dataset = carve_validation(for_model(opened, build_method(config.model, with_backbone=False)), config.val_fraction, config.val_seed)
        torch.manual_seed(config.seed)  # after the stand-in model above, so the trained one starts as seeded
        _check_labels(dataset, config)
        sizes = dataset.split_sizes()
        if not sizes["train"] or not sizes["val"]:
            raise DatasetError(f"{dataset.source}: need training and validation dives, have {sizes}")
        finals = np.array([r.final_score for r in dataset.records])
        score_range = (float(finals.min()), float(finals.max()))
        progress.emit(
            "start", dataset=str(dataset.source), kind=dataset.kind, layout=dataset.layout or dataset.kind, splits=sizes, listed=listed,
            left_out=[p.to_dict() for p in dataset.problems], world_size=ctx.world_size, config=config.to_json(),
            devices=list_devices(), device=str(ctx.device),
        )
        data = prepare_splits(dataset, config, progress, ctx)
        model = build_method(config.model, with_backbone=config.mode == "finetune", loss=config.loss, sigma=config.sigma)
        if config.mode == "features":  # end to end, the features change as the backbone trains
            model.fit(data["train"].everything(model))
        trainer = Trainer(config, model, ctx, progress, score_range)
        trainer.stop = StopRequest(config.work_dir)
        if config.loss == "ridge":
            fit = _fit_ridge(trainer, model, data)
        else:
            fit = trainer.fit(data["train"], data["val"], config.work_dir / CHECKPOINTS, resume=resume)
        model.load_state_dict(fit.best_state)
        warnings = _leak_warning(fit.best_val)
        baseline = None
        if config.mode == "features" and config.loss != "ridge":
            baseline = ridge_baseline(*_inputs(data["train"]), *_inputs(data["val"]), *_inputs(data["test"]), score_range)
            if baseline["validation"]["rho"] > fit.best_val["rho"]:
                warnings.append(
                    f"the {model.name} method does not beat the ridge baseline on validation "
                    f"(rho {fit.best_val['rho']:.3f} vs {baseline['validation']['rho']:.3f}): tune it, or train loss: ridge"
                )
        for message in warnings:
            progress.emit("warning", message=message)
        fitted, held_out = fit_state(model, data, config.decoding, config.mode == "features")
        test = trainer.evaluate(data["test"])[0] if sizes["test"] else None
        if test is not None:
            test.update(held_out)
        progress.emit("test", figures=test, best_epoch=fit.best_epoch)
        card = data_card(dataset, config, len(fit.history), fit.best_epoch, fit.best_val, test) | dataset_use(dataset, listed)
        card.update(score_range=list(score_range), rl2=RL2_DEFINITION, warnings=warnings, **_fitted_card(fitted))
        if baseline is not None:
            card["ridge_baseline"] = baseline
        if ctx.is_main:
            bundle = bundle_from_model(model, config.name, config.version, card, fine_tuned=config.mode == "finetune")
            bundle.fitted = fitted
            save_bundle(bundle, config.out)
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
        **{key: dataset.notes[key] for key in ("judge_scores", "counted_marks") if key in dataset.notes},
        **({"set_aside": {"why": dataset.notes["set_aside"], "dives": dataset.set_aside}} if dataset.set_aside else {}),
    }


def _fit_ridge(trainer: Trainer, model: Method, data: dict[str, SplitData]) -> FitResult:
    train, val = data["train"], data["val"]
    chosen = fit_ridge_head(model, train.fetch(torch.arange(len(train))), train.labels, val.fetch(torch.arange(len(val))), val.labels)
    figures = {**trainer.evaluate(val)[0], **chosen}
    state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    return FitResult(state, 0, figures, [])


def _inputs(split: SplitData) -> tuple[torch.Tensor, np.ndarray]:
    return split.fetch(torch.arange(len(split))), split.labels.final


def _leak_warning(val: dict) -> list[str]:
    rho = val.get("rho")
    if isinstance(rho, float) and rho > LEAK_RHO:
        return [f"validation Spearman rho {rho:.3f} is above {LEAK_RHO}: this usually means the features saw the labels (check how they were made)"]
    return []


def fit_state(model: Method, data: dict[str, SplitData], decoding: str, features_mode: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Calibration (validation split) and the training-feature summary; with the test split's figures for them.

    Both are fitted after the weights, on dives the weights never trained on (validation), and
    checked once on test, like the weights.
    """
    device = next(model.parameters()).device
    model.eval()

    def predictions(split: SplitData, calibration=None):
        chunk, parts = (256 if features_mode else 2), []  # clips are ~100 MB a dive
        with torch.no_grad():
            for start in range(0, len(split), chunk):
                parts += model.predict(split.batch(torch.arange(start, min(start + chunk, len(split))), model, device), decoding, calibration)
        return parts

    calibration = calibrate(predictions(data["val"]), data["val"].labels)
    fitted: dict[str, Any] = {"calibration": calibration.to_dict()}
    held_out: dict[str, Any] = {}
    if features_mode:  # fine-tuned backbones change the features the summary would describe
        train, val = data["train"], data["val"]
        familiarity = fit_familiarity(train.fetch(torch.arange(len(train))).numpy(), val.fetch(torch.arange(len(val))).numpy())
        fitted["familiarity"] = familiarity.to_dict()
        if len(data["test"]):
            distances = familiarity.distance(data["test"].fetch(torch.arange(len(data["test"]))).numpy())
            held_out["unfamiliar_rate"] = float(np.mean(distances > familiarity.threshold))
    if len(data["test"]):
        test = predictions(data["test"], calibration)
        held_out.update(coverages(test, data["test"].labels))
        spread = median_panel_spread(test)
        if spread is not None:
            held_out["median_panel_spread"] = spread
    return fitted, held_out


def refit(bundle_dir: Path, dataset_path: Path, out: Path, cache_dir: Path, kind: str = "auto", version: str | None = None) -> Path:
    """Fit a trained bundle's calibration and feature summary again (or for the first time), weights untouched.

    For a bundle trained before calibration existed, or on a dataset whose validation split has
    grown. The dataset must be the one the bundle was trained on (same splits), or the fitted
    state would describe other dives; the data card's dataset hash is checked when it has one.
    """
    bundle = load_bundle(bundle_dir)
    card = dict(bundle.data_card)
    dataset = open_dataset(dataset_path, kind)
    if card.get("dataset_sha256") and card["dataset_sha256"] != dataset_hash(dataset.source):
        raise DatasetError(f"{dataset.source}: not the dataset bundle '{bundle.name}' was trained on (content hash differs)")
    model = build_method(bundle.config, with_backbone=False)
    model.load_state_dict(bundle.state_dict)
    dataset = carve_validation(for_model(dataset, model), float(card.get("val_fraction", 0.15)), int(card.get("val_seed", card.get("seed", 0))))
    splits = {}
    for name in ("train", "val", "test"):
        records = dataset.split(name)
        if all(r.features is not None for r in records):
            feats = np.stack([r.features for r in records])
        else:
            feats = extract_features(records, bundle.config, cache_dir, backbone_state=bundle.backbone_state)
        splits[name] = _split(records, _feature_fetch(feats))
    decoding = card.get("decoding", "argmax")
    fitted, held_out = fit_state(model, splits, decoding, card.get("mode", "features") == "features")
    card.setdefault("score_range", [min(r.final_score for r in dataset.records), max(r.final_score for r in dataset.records)])
    card.setdefault("rl2", RL2_DEFINITION)
    if len(splits["test"]):  # the test figures again, decoded as the scorer now decodes (ordered paths)
        test = splits["test"]
        finals, judges = model.point_scores(test.everything(model), decoding)
        card["test"] = {**report(finals, test.labels, tuple(card["score_range"]), judges), **held_out}
    if card.get("mode", "features") == "features" and card.get("loss") != "ridge":
        card["ridge_baseline"] = ridge_baseline(*_inputs(splits["train"]), *_inputs(splits["val"]), *_inputs(splits["test"]), tuple(card["score_range"]))
    card.update(dataset_path=str(dataset.source), dataset_sha256=dataset_hash(dataset.source), **_fitted_card(fitted))
    bundle.data_card, bundle.fitted = card, fitted
    bundle.version = version or bundle.version
    return save_bundle(bundle, out)


def _fitted_card(fitted: dict[str, Any]) -> dict[str, Any]:
    """What the data card says about the fitted state (the arrays themselves stay in ``fitted``)."""
    card: dict[str, Any] = {}
    if "calibration" in fitted:
        c = fitted["calibration"]
        card["calibration"] = f"{c['method']} ({c['dives']} dives), central intervals at 80% and 95%"
    if "familiarity" in fitted:
        f = fitted["familiarity"]
        card["familiarity"] = f"{f['method']} of {f['dives']} training dives; unfamiliar above {f['threshold']:.3g}"
    return card


def data_card(dataset: DiveDataset, config: TrainConfig, epochs_run: int, best_epoch: int, val: dict, test: dict | None) -> dict[str, Any]:
    """What the app and CLI show next to every score from this model."""
    # Engineer E's generator writes dataset.json with a "kind" naming it synthetic.
    synthetic = bool(dataset.notes.get("synthetic")) or "synthetic" in str(dataset.notes.get("kind", "")).lower()
    return {
        "dataset": dataset.name,
        "dataset_path": str(dataset.source),
        "dataset_sha256": dataset_hash(dataset.source),
        "dataset_kind": dataset.kind,
        "dataset_notes": {k: v for k, v in dataset.notes.items() if isinstance(v, (str, int, float, bool))},
        "split_sizes": dataset.split_sizes(),
        "synthetic": synthetic,
        "intended_use": "demonstration only: trained on synthetic dives, not a judge of real footage" if synthetic else "research",
        "method": method_class(config.model).name,
        "head": (config.model.get("head") or {}).get("name"),  # None: a method with no judge head of its own
        "marks": config.model.get("marks", "panel"),  # "counted": its judges are the counting marks only
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
        "val_seed": config.val_seed,
        "val_fraction": config.val_fraction,
    }


def dataset_hash(source: Path) -> str:
    """SHA-256 of a features file, or of the annotation file a dataset folder is read from."""
    source = Path(source)
    file = source if source.is_file() else source / "annotations.csv"
    return file_sha256(file) if file.is_file() else ""
