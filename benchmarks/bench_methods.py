"""Every registered method on one dataset of cached features, same budget: validation selects, test once.

Prints, per method: test Spearman rho, R-l2, judge MAE, calibrated 80% / 95% coverage of the final on
test, dive-class accuracy (methods that recognise dives), training minutes, and inference ms per
dive on cached features; and whether it beats the ridge baseline (``loss: ridge``) on the same split.

    python benchmarks/bench_methods.py --features build/demo_features.npz   # the synthetic dives' I3D features
    python benchmarks/bench_methods.py --toy                                # no cache: generated stand-in features

``--features`` is a features ``.npz`` (trainer/datasets/features_npz.py: features, final_score,
judge_scores, difficulty, split, dive_number). ``--toy`` writes one whose features carry a latent
quality (judges and final follow from it, as in the synthetic generator) and the dive's class, so
the benchmark runs on a CPU without I3D; its figures are about the methods' machinery, not about
diving footage.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from aqa_core.bundle import load_bundle
from aqa_core.methods import build_method
from trainer.config import config_from_dict
from trainer.datasets import open_dataset
from trainer.evaluate import labels_from
from trainer.progress import ProgressStream
from trainer.run import train

ROOT = Path(__file__).resolve().parent.parent
TOY_DIVES = ("107B", "5253B", "405C", "626C", "305C", "205B")


def toy_features(path: Path, n: int = 400, dim: int = 64, seed: int = 0) -> Path:
    """Stand-in cached features: a latent quality sets seven judges' marks; dimensions 1-6 tell the dive class."""
    rng = np.random.default_rng(seed)
    quality = rng.uniform(0, 1, n)
    kind = rng.integers(0, len(TOY_DIVES), n)
    direction = rng.normal(size=dim)
    features = rng.normal(size=(n, 10, dim)) * 0.7 + quality[:, None, None] * direction
    features[np.arange(n), :, 1 + kind] += 2.0
    judges = np.clip(np.round((3.5 + 5.5 * quality[:, None] + rng.normal(0, 0.5, (n, 7))) * 2) / 2, 0, 10)
    dd = rng.choice([2.0, 2.6, 3.0, 3.4], n)
    final = np.sort(judges, 1)[:, 2:5].sum(1) * dd
    split = np.where(np.arange(n) < int(0.75 * n), "train", "test")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, features=features.astype(np.float32), judge_scores=judges, difficulty=dd, final_score=final, split=split,
             dive_number=np.array([TOY_DIVES[k] for k in kind]), dive_id=np.array([f"toy{i}" for i in range(n)]))
    return path


def method_models(dim: int) -> dict[str, tuple[dict, dict]]:
    """(model config, training overrides) per row; every row has the same epochs, batch and learning rate."""
    usdl = {"name": "usdl", "bins": 101, "score_range": [0, 110], "in_dim": dim, "hidden": [256, 128]}
    neck = {"name": "standardize"}
    return {
        "ridge": ({"neck": neck, "aggregation": {"name": "average"}, "head": {**usdl, "hidden": [], "bins": 201}}, {"loss": "ridge", "decoding": "expectation"}),
        "usdl": ({"neck": neck, "head": usdl}, {}),
        "musdl": ({"neck": neck, "head": {"name": "musdl", "judges": 7, "in_dim": dim, "hidden": [256, 128]}}, {}),
        "ud_aqa": ({"method": "ud_aqa", "neck": neck, "aggregation": {"name": "weight_decider", "in_dim": dim, "hidden": [256, 128, 256]},
                    "ud_aqa": {"in_dim": dim}}, {"decoding": "expectation"}),
        "mtl_aqa": ({"method": "mtl_aqa", "neck": neck, "head": usdl}, {"decoding": "expectation"}),
        "core": (core_model(dim, 10), {}),
    }


def core_model(dim: int, exemplars: int) -> dict:
    """CoRe + GART as the paper sets it (depth 5, 256-d nodes), voting over ``exemplars``."""
    return {"method": "core", "neck": {"name": "standardize"}, "core": {"exemplars": exemplars},
            "head": {"name": "gart", "in_dim": dim, "hidden": 256, "depth": 5, "bins": 101, "score_range": [0, 110]}}


def scoring_cost(repeats: int, bank: int = 300, clips: int = 10) -> list[tuple[str, float, float]]:
    """(row, head ms, total ms) per dive, I3D-sized (1024-d): a plain USDL score against CoRe with 1 and 10 exemplars.

    What the Scorer runs per dive: one I3D pass over the dive's clips (measured here, the same for
    every row), then the method's ``predict`` and per-clip ``clip_scores``. CoRe's bank holds
    ``bank`` dives (the demo's training split is 300); its weights are untrained, which costs the same.
    """
    from aqa_core.registry import BACKBONES
    from aqa_core.result import DiveInfo
    from bench_backbone import CLIPS, FRAMES, SIZE, best_seconds

    g = torch.Generator().manual_seed(0)
    backbone = BACKBONES.build({"name": "i3d", "pretrained": False})
    video = torch.rand(CLIPS, 3, FRAMES, SIZE, SIZE, generator=g) * 2 - 1
    with torch.inference_mode():
        backbone_s = best_seconds(lambda: backbone(video), 1)
    dive = DiveInfo("individual", 1, "107B", 3.0, 3.0)
    features = torch.randn(1, clips, 1024, generator=g)
    usdl = build_method({"neck": {"name": "standardize"}, "head": {"name": "usdl", "bins": 101, "score_range": [0, 110], "in_dim": 1024, "hidden": [256, 128]}}, with_backbone=False)
    models = [("usdl (plain score)", usdl)]
    for m in (1, 10):
        core = build_method(core_model(1024, m), with_backbone=False)
        dd = torch.tensor([2.0, 2.6, 3.0, 3.4])[torch.arange(bank) % 4]
        core.fit({"features": torch.randn(bank, clips, 1024, generator=g), "final": 20 + 10 * torch.rand(bank, generator=g) * dd,
                  "dives": [DiveInfo("individual", 1, "107B", 3.0, float(d)) for d in dd]})
        models.append((f"core, {m} exemplar{'s' if m > 1 else ''}", core))
    rows = []
    for name, method in models:
        method.eval()

        def score(method=method) -> None:  # noqa: ANN001
            with torch.inference_mode():
                method.clip_scores(features[0], dive, "argmax")
                method.predict({"features": features, "dives": [dive]}, "argmax")

        head_s = best_seconds(score, repeats)
        rows.append((name, 1000 * head_s, 1000 * (backbone_s + head_s)))
    return rows


def inference(bundle_dir: Path, data: Path) -> tuple[float, float | None]:
    """ms per dive of ``predict`` on the test split's cached features, and dive-class accuracy where the method recognises dives."""
    bundle = load_bundle(bundle_dir)
    method = build_method(bundle.config, with_backbone=False)
    method.load_state_dict(bundle.state_dict)
    method.eval()
    records = open_dataset(data).split("test")
    labels = labels_from([r.final_score for r in records], None, [r.difficulty for r in records], [r.event for r in records], [r.dive_number for r in records])
    batch = {"features": torch.from_numpy(np.stack([r.features for r in records]).astype(np.float32)), "dives": labels.dives(range(len(records)), method)}
    start = time.perf_counter()
    with torch.no_grad():
        predictions = method.predict(batch, bundle.data_card.get("decoding", "argmax"))
    ms = 1000 * (time.perf_counter() - start) / len(records)
    if predictions[0].recognised is None:
        return ms, None
    return ms, float(np.mean([p.recognised.dive_number == r.dive_number for p, r in zip(predictions, records, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=Path, help="a features .npz (the synthetic dives' cached I3D features)")
    parser.add_argument("--toy", action="store_true", help="generate stand-in features instead")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "bench_methods")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--methods", nargs="*", default=None)
    parser.add_argument("--cost-repeats", type=int, default=20, help="head timings per row of the scoring-cost table (0: skip it)")
    args = parser.parse_args()
    if args.features is None and not args.toy:
        parser.error("give --features PATH or --toy")
    data = toy_features(args.work / "toy_features.npz") if args.toy else args.features
    dim = int(open_dataset(data).records[0].features.shape[-1])
    rows = []
    for name, (model, overrides) in method_models(dim).items():
        if args.methods and name not in args.methods:
            continue
        folder = args.work / name
        shutil.rmtree(folder, ignore_errors=True)
        raw = {"dataset": str(data), "work_dir": str(folder), "out": str(folder / "bundle"), "epochs": args.epochs, "batch_size": 32,
               "lr": 1e-3, "seed": 0, "model": model, **overrides}
        start = time.monotonic()
        bundle = train(config_from_dict(raw, ROOT, f"{name} config"), progress=ProgressStream(folder / "progress.jsonl", stdout=False, bar=False))
        minutes = (time.monotonic() - start) / 60
        ms, accuracy = inference(bundle, data)
        rows.append((name, load_bundle(bundle).data_card, minutes, ms, accuracy))
    sizes = rows[0][1]["split_sizes"]
    print(f"\nMethods on {data} (train {sizes['train']}, val {sizes['val']}, test {sizes['test']}); test split, best-validation epoch, {args.epochs} epochs at most")
    print(f"{'method':<10}{'rho':>7}{'R-l2':>8}{'judge MAE':>11}{'cov 80':>8}{'cov 95':>8}{'class acc':>10}{'train min':>10}{'ms/dive':>9}  beats ridge")
    ridge = next((card["test"]["rho"] for name, card, *_ in rows if name == "ridge"), None)
    for name, card, minutes, ms, accuracy in rows:
        test, cov = card["test"], card["test"].get("coverage", {})
        judge = f"{test['judge_mae_mean']:.2f}" if "judge_mae_mean" in test else "-"
        acc = f"{accuracy:.0%}" if accuracy is not None else "-"
        beats = "-" if name == "ridge" or ridge is None else ("yes" if test["rho"] > ridge else "NO")
        print(f"{name:<10}{test['rho']:>7.3f}{test['rl2']:>8.3f}{judge:>11}{cov.get('0.8', float('nan')):>8.0%}{cov.get('0.95', float('nan')):>8.0%}"
              f"{acc:>10}{minutes:>10.2f}{ms:>9.2f}  {beats}")

    if args.cost_repeats:
        cost = scoring_cost(args.cost_repeats)
        print(f"\nScoring one dive, I3D-sized, this CPU: one I3D pass over 10 clips plus the head ({args.cost_repeats} head runs, best)")
        print(f"{'row':<22}{'head ms':>9}{'total ms':>10}{'x usdl':>8}")
        for name, head_ms, total_ms in cost:
            print(f"{name:<22}{head_ms:>9.2f}{total_ms:>10.0f}{total_ms / cost[0][2]:>8.3f}")


if __name__ == "__main__":
    main()
