"""Learnability of the synthetic dives: USDL, MUSDL, an MSE head and the ridge baseline on frozen I3D features.

Trains each method with the real trainer on the demo dataset (``aqa-judge make-demo-data``),
selecting on validation and reporting the held-out test split once, and prints:
method, Spearman rho, relative L2, per-judge MAE, calibrated 80/95% coverage, minutes (feature
extraction is reported on its own line because all methods share the cache). The ridge row
(``loss: ridge``, trainer/ridge.py) is the linear bar every head must beat.

    python benchmarks/bench_learnability.py --data build/demo_data --cached-only

``--cached-only`` restricts the run to dives whose I3D features are already in the cache (so a
slow, shared CPU can still report on the dives it managed to extract); ``--ship`` copies the
MUSDL bundle to resources/models/demo_musdl.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import time
from pathlib import Path

from aqa_core.bundle import load_bundle
from aqa_core.paths import resource
from aqa_core.synthetic import write_dataset
from trainer.config import config_from_dict, load_config
from trainer.datasets import open_dataset
from trainer.features import extract_features, feature_keys
from trainer.progress import ProgressStream
from trainer.run import train

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "configs" / "train" / "demo_musdl.yaml"


def cached_subset(data: Path, cache: Path, model: dict, out: Path) -> Path:
    """A copy of the dataset's CSV holding only the dives whose features are cached.

    The dives are looked up under the trainer's own cache keys (a weights file by its sha256, the model's
    segmentation), so the subset is exactly the dives training will find cached.
    """
    records = open_dataset(data).records
    keep = {str(r.video) for r, key in zip(records, feature_keys(records, model), strict=True) if (cache / f"{key}.npy").is_file()}
    out.mkdir(parents=True, exist_ok=True)
    with (data / "annotations.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    kept = [row for row in rows if str((data / row["video"]).resolve()) in keep]
    with (out / "annotations.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    card = json.loads((data / "dataset.json").read_text()) if (data / "dataset.json").is_file() else {}
    card.update({"synthetic": True, "subset": f"{len(kept)} of {len(rows)} dives of {data.name} (those with cached I3D features)"})
    (out / "dataset.json").write_text(json.dumps(card, indent=2))
    # The videos are hard-linked into the subset (copied across file systems): a symlink to the original
    # folder would point outside the subset, which the dataset reader refuses (trainer/datasets/pixels.inside).
    for row in kept:
        target = out / row["video"]
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(data / row["video"], target)
            except OSError:
                shutil.copy2(data / row["video"], target)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "build" / "demo_data")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "bench_learnability")
    parser.add_argument("--cache", type=Path, default=ROOT / "build" / "demo_musdl_work" / "features")
    parser.add_argument("--cached-only", action="store_true")
    parser.add_argument("--epochs", type=int, default=None, help="override the demo config's epochs")
    parser.add_argument("--ship", action="store_true", help="copy the MUSDL bundle to resources/models/demo_musdl")
    args = parser.parse_args()

    demo = load_config(DEMO_CONFIG)
    started = time.monotonic()
    if not (args.data / "annotations.csv").is_file():
        write_dataset(args.data, n=300, seed=2026)  # the demo dataset of configs/train/demo_musdl.yaml
    generate_minutes = (time.monotonic() - started) / 60
    data = cached_subset(args.data, args.cache, demo.model, args.work / f"{args.data.name}_cached") if args.cached_only else args.data
    started = time.monotonic()
    extract_features(open_dataset(data).records, demo.model, args.cache, ProgressStream(None, stdout=False))
    feature_minutes = (time.monotonic() - started) / 60

    usdl_head = {"name": "usdl", "bins": 101, "score_range": [0, 110], "in_dim": 1024, "hidden": demo.model["head"]["hidden"]}
    methods = {
        "USDL": {"model": {**demo.model, "head": usdl_head}, "loss": "kl", "sigma": 5.0},
        "MUSDL": {},
        "MSE head": {"model": {**demo.model, "head": usdl_head}, "loss": "mse", "decoding": "expectation"},
        "Ridge baseline": {
            "model": {**demo.model, "aggregation": {"name": "average"}, "head": {**usdl_head, "hidden": []}},
            "loss": "ridge", "decoding": "expectation",
        },
    }
    rows = []
    for method, overrides in methods.items():
        folder = args.work / method.split()[0].lower()
        shutil.rmtree(folder, ignore_errors=True)
        raw = {**demo.to_json(), "dataset": str(data), "work_dir": str(folder), "out": str(folder / "bundle"), "feature_cache": str(args.cache), **overrides}
        if args.epochs:
            raw["epochs"] = args.epochs
        config = config_from_dict(raw, ROOT, f"{method} config")
        start = time.monotonic()
        bundle = train(config, progress=ProgressStream(folder / "progress.jsonl", stdout=False, bar=False))
        minutes = (time.monotonic() - start) / 60
        card = load_bundle(bundle).data_card
        rows.append((method, card, minutes, bundle))

    sizes = rows[0][1]["split_sizes"]
    print(f"\nLearnability on {data} (train {sizes['train']}, val {sizes['val']}, test {sizes['test']}); test split, best-validation epoch")
    print(f"synthetic dataset generation in this run: {generate_minutes:.1f} min (skipped when it exists)")
    print(f"I3D feature extraction in this run: {feature_minutes:.1f} min (dives already cached are not re-extracted)")
    print(f"{'method':<16}{'rho':>8}{'R-l2':>8}{'final MAE':>11}{'cov 80':>8}{'cov 95':>8}{'train min':>11}  judge MAE (mean; per judge, sorted low to high)")
    for method, card, minutes, _ in rows:
        test = card["test"]
        judges = f"{test['judge_mae_mean']:.2f}; " + " ".join(f"{v:.2f}" for v in test["judge_mae"]) if "judge_mae" in test else "-"
        cov = test.get("coverage", {})
        print(
            f"{method:<16}{test['rho']:>8.3f}{test['rl2']:>8.3f}{test['final_mae']:>11.2f}{cov.get('0.8', float('nan')):>8.0%}"
            f"{cov.get('0.95', float('nan')):>8.0%}{minutes:>11.2f}  {judges}"
        )
    if args.ship:
        target = resource("models", "demo_musdl")
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(rows[1][3], target)
        print(f"shipped the MUSDL bundle to {target}")


if __name__ == "__main__":
    main()
