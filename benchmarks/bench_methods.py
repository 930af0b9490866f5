"""Every registered method on one dataset of cached features, same budget: validation selects, test once.

Prints, per method: test Spearman rho, R-l2, judge MAE, calibrated 80% / 95% coverage of the final on
test, dive-class accuracy (methods that recognise dives), training minutes, and inference ms per
dive on cached features; and whether it beats the ridge baseline (``loss: ridge``) on the same split.

    python benchmarks/bench_methods.py --data build/synth800 --cache build/synth800_cache  # a dataset: I3D features extracted (cached) first
    python benchmarks/bench_methods.py --features build/synth800_features.npz              # a features .npz already built
    python benchmarks/bench_methods.py --toy                                               # no I3D: generated stand-in features

``--data`` opens a dataset folder, extracts its frozen Kinetics I3D features (10 clips of 16 frames)
through the trainer's own cache (trainer/features.py: a rerun extracts nothing) and writes
``WORK/<name>_features.npz`` with the dataset's labels; ``--cached-only`` keeps only the dives
already cached. ``--features`` is such a ``.npz`` (trainer/datasets/features_npz.py).
``--reuse`` keeps every run under WORK that finished with the same config, so methods trained in
separate processes come into one table. ``--toy`` writes features that carry a latent quality and
the dive's class: the machinery runs on a CPU without I3D; its figures are not about footage.

Selection is on validation only: each method is trained at every rate of ``--lrs``, the epoch and
the rate with the best validation rho are kept, and only that bundle's test figures are read.
"Beats ridge" is judged on the paired test rho gain with a 95% bootstrap interval over the test
dives: a gain whose interval holds 0 is "within noise", not a win.

Measured on synthetic footage (a test instrument, not real-world accuracy): 800 generated dives,
their I3D features, the generator's own splits (train 560, val 120, test 120), every method at lr
1e-3, 3e-3 and 1e-2, 40 epochs, best-validation epoch, the rate chosen on validation rho, test read
once; ``ridge_dd`` is ``usdl_dd`` with ``loss: ridge`` (a ridge per point of DD), an extra reference
row: "beats ridge" stays the plain ridge. The 2-core CPU was shared with four other jobs (load 3-9),
so minutes and ms are loose::

    aqa-judge make-demo-data --n 800 --seed 7 --out build/synth800
    python benchmarks/bench_methods.py --data build/synth800 --cache build/synth800_cache --cost-repeats 0   # writes the .npz, then:
    python benchmarks/bench_methods.py --features WORK/synth800_features.npz --work WORK --reuse --cost-repeats 0

    Methods on /tmp/wm_final/synth800_features.npz (train 560, val 120, test 120); best-validation epoch of 40 at most, learning rate chosen by validation rho from 0.001, 0.003, 0.01; test read once
    method         lr val rho    rho    R-l2  judge MAE  cov 80  cov 95 class acc train min  ms/dive  beats ridge (test rho gain, paired 95% bootstrap)
    ridge           -   0.786  0.687   1.067          -     72%     98%         -      0.91     0.53  -
    usdl        0.001   0.789  0.718   1.009          -     74%     91%         -      1.04     0.18  within noise (+0.030 [-0.027, +0.095])
    musdl       0.003   0.892  0.874   0.574       0.67     76%     94%         -      4.38    35.52  yes (+0.187 [+0.111, +0.282])
    musdl_wd     0.01   0.914  0.839   0.688       0.70     67%     89%         -      5.43    24.11  yes (+0.151 [+0.067, +0.245])
    ud_aqa       0.01   0.871  0.791   0.777       0.78     81%     92%         -     17.43    19.02  yes (+0.104 [+0.016, +0.201])
    mtl_aqa     0.003   0.792  0.699   1.114          -     78%     92%       58%      5.13     1.79  within noise (+0.012 [-0.036, +0.069])
    core        0.001   0.887  0.863   0.545          -     84%     95%         -     10.70     3.20  yes (+0.176 [+0.108, +0.262])
    usdl_dd     0.003   0.888  0.865   0.571          -     80%     93%         -      0.80     0.11  yes (+0.177 [+0.102, +0.272])
    mtl_aqa_dd  0.001   0.873  0.861   0.572          -     78%     96%       52%      6.14     1.81  yes (+0.174 [+0.103, +0.262])
    ridge_dd        -   0.875  0.859   0.560          -     79%     98%         -      0.03     0.08  yes (+0.171 [+0.106, +0.257])
    train min: all learning rates tried together

    Against ridge per point of DD (ridge_dd, a reference; the criterion above stays the plain ridge):
    usdl      NO (-0.141 [-0.220, -0.075])
    musdl     within noise (+0.015 [-0.021, +0.057])
    musdl_wd  NO (within noise) (-0.020 [-0.083, +0.033])
    ud_aqa    NO (-0.067 [-0.137, -0.011])
    mtl_aqa   NO (-0.159 [-0.242, -0.086])
    core      within noise (+0.005 [-0.026, +0.037])
    usdl_dd   within noise (+0.006 [-0.032, +0.045])
    mtl_aqa_ddwithin noise (+0.002 [-0.037, +0.040])

(Printed before the last block's name column was widened from 10 to 12 characters.)

Every method that is given the typed DD beats ridge beyond noise: MUSDL and UD-AQA (marks x DD),
CoRe (per point of DD), and USDL_DD and our MTL-AQA per DD (final / DD learnt, x DD at inference;
the USDL seed's Table 4 on the real MTL-AQA: USDL 0.9066, USDL_DD 0.9231). USDL and MTL-AQA, which
predict the final itself and so must read the DD from the footage, do not (validation shows the
same gap, 0.08-0.11). But the DD is most of what they gain: a ridge per point of DD (0.859) is
within noise of USDL_DD, MTL-AQA per DD, MUSDL, MUSDL + Weight-Decider and CoRe, and beyond noise
above UD-AQA, USDL and MTL-AQA: on these features no method beats a DD-aware linear model beyond noise. The wider rate grid changed MUSDL (3e-3: 0.874
against 0.862 at 1e-3) and MUSDL + Weight-Decider (1e-2 wins on validation, 0.914, and gives 0.839 on
test against 0.854 at 1e-3: validation chose, test was not consulted); CoRe kept 1e-3.

The same 800 dives' features under the rotating protocol (``--folds 5``: every dive a test dive
once, per fold the rate and epoch chosen on that fold's validation, the gain the mean of the
folds' own paired gains, bootstrapped over all 800 dives), run as two processes on one core each
(``--methods ridge usdl usdl_dd ridge_dd`` and ``--methods ridge mtl_aqa``, ``--reuse``: the same
ridge runs, identical in both tables), machine shared with the test suite::

    python benchmarks/bench_methods.py --features WORK/synth800_features.npz --folds 5 --work WORK --cost-repeats 0 --methods ridge usdl usdl_dd ridge_dd
    python benchmarks/bench_methods.py --features WORK/synth800_features.npz --folds 5 --work WORK --cost-repeats 0 --methods ridge mtl_aqa --reuse

    method      val rho    rho  pooled train min  rates chosen                    beats ridge (mean per-fold test rho gain, paired 95% bootstrap)
    ridge         0.764  0.763   0.760      0.10  -                               -
    usdl          0.762  0.733   0.732      2.15  0.001,0.001,0.003,0.003,0.01    NO (-0.030 [-0.054, -0.007])
    mtl_aqa       0.774  0.756   0.749     21.85  0.001,0.01,0.003,0.001,0.003    NO (within noise) (-0.007 [-0.025, +0.011])
    usdl_dd       0.868  0.862   0.864      2.08  0.001,0.003,0.001,0.001,0.003   yes (+0.100 [+0.071, +0.129])
    ridge_dd      0.875  0.875   0.879      0.10  -                               yes (+0.112 [+0.088, +0.138])

    Against ridge per point of DD (ridge_dd, a reference), the same way:
    usdl        NO (-0.142 [-0.176, -0.111])
    usdl_dd     NO (within noise) (-0.013 [-0.026, +0.000])

So the single split's "within noise" gains of USDL (+0.030) and MTL-AQA (+0.012) were that split's
luck: over all 800 dives USDL is below ridge beyond noise and MTL-AQA is level with it. Neither
predicts the final better than a linear model of the frozen features does. More weight decay did not
change that on validation (USDL's mean validation rho over the folds: 0.762 at 1e-3, 0.764 at 1e-2,
0.504 at 1e-1, against ridge's 0.764; the test was not read for these). Fine-tuning the backbone, which
the seeds' figures rely on, is the step not measured here (on this 2-core CPU, 800 dives of I3D
fine-tuning per epoch take hours).

Why USDL and MTL-AQA once fell below ridge on ``--toy``: the toy drew each dive's DD independently
of its dive, 45 validation dives could not tell the rows apart, and at one rate the best epoch came
before MTL-AQA's classifiers had learnt. The toy now takes DD from the table, has 150 validation and
250 test dives; on it ridge reaches test rho 0.977 and no method beats it (USDL 0.972, MUSDL 0.974,
UD-AQA 0.976, MTL-AQA 0.973): its features carry quality along one linear direction.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from aqa_core.bundle import load_bundle
from aqa_core.errors import DatasetError
from aqa_core.files import load_npz
from aqa_core.methods import build_method
from aqa_core.rules.dd_table import difficulty
from trainer.config import config_from_dict
from trainer.datasets import open_dataset
from trainer.datasets.features_npz import MAX_NPZ_BYTES
from trainer.evaluate import labels_from
from trainer.features import extract_features, feature_keys
from trainer.progress import ProgressStream
from trainer.run import train

ROOT = Path(__file__).resolve().parent.parent
TOY_DIVES = ("107B", "5253B", "405C", "626C", "305C", "205B")
TOY_HEIGHT = 10.0
LEARNING_RATES = (1e-3, 3e-3, 1e-2)
ROTATING_METHODS = ("ridge", "usdl", "mtl_aqa", "usdl_dd", "ridge_dd")  # the two that predict the final itself, and the DD-aware references
I3D = {"backbone": {"name": "i3d", "pretrained": True}, "segmentation": "usdl_10x16"}  # frozen Kinetics I3D, 10 clips of 16 frames


def dataset_features(data: Path, cache: Path, out: Path, model: dict = I3D, cached_only: bool = False) -> Path:
    """A dataset's backbone features as a features ``.npz`` beside its labels: what ``--features`` reads.

    The features come from the trainer's own cache (trainer/features.py), so only dives not yet
    cached are extracted and a rerun costs seconds; the labels (final, judges, DD, split, dive
    number, commentary, key) are the dataset's records', so every method trains on exactly what
    ``aqa-judge train`` would give it. ``cached_only``: only the dives already in the cache, each in
    its own split (a slow CPU still reports on the dives it has extracted).
    """
    records = open_dataset(data).records
    if cached_only:
        records = [r for r, key in zip(records, feature_keys(records, model), strict=True) if (cache / f"{key}.npy").is_file()]
        if not records:
            raise SystemExit(f"{cache}: holds no features of {data}'s dives under this backbone")
    features = extract_features(records, model, cache, ProgressStream(None, stdout=False))
    labels = {"final_score": np.array([r.final_score for r in records]), "split": np.array([r.split for r in records]),
              "dive_id": np.array([r.key for r in records]), "commentary": np.array([r.commentary for r in records])}
    for name, values in (("judge_scores", [r.judge_scores for r in records]), ("difficulty", [r.difficulty for r in records]),
                         ("dive_number", [r.dive_number for r in records])):
        if all(v is not None for v in values):  # a label some dives lack is left out, not filled in
            labels[name] = np.array(values)
    return write_npz(out, {"features": features.astype(np.float32), **labels})


def write_npz(out: Path, arrays: dict[str, np.ndarray]) -> Path:
    """``arrays`` as ``out`` (a features ``.npz``), whole or not at all: a crash leaves no half file a rerun would read."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.stem}.{os.getpid()}.partial.npz")  # np.savez keeps a name ending in .npz as it is
    np.savez(partial, **arrays)
    os.replace(partial, out)
    return out


def fold_features(data: Path, folds: int, out_dir: Path, seed: int = 0) -> list[Path]:
    """The rotating splits of a features ``.npz``: one copy per fold, each dive in every fold's file, only ``split`` differs.

    The dives are dealt at random (``seed``) into ``folds`` blocks; fold k tests on block k,
    validates on block k+1 and trains on the rest, so every dive is a test dive exactly once and
    each fold keeps the single split's proportions (7 folds of 800: train 571-572, val and test
    114-115, against 560 / 120 / 120). A fold's file is written once; a rerun reads it.
    """
    arrays = load_npz(data, MAX_NPZ_BYTES, DatasetError)
    n = len(arrays["final_score"])
    if not 3 <= folds <= n:
        raise SystemExit(f"--folds {folds}: needs 3 to {n} folds (a test, a validation and a training block each)")
    block = np.empty(n, dtype=int)
    block[np.random.default_rng(seed).permutation(n)] = np.arange(n) % folds
    paths = []
    for k in range(folds):
        path = out_dir / f"{data.stem}_fold{k + 1}of{folds}.npz"
        if not path.is_file():
            split = np.where(block == k, "test", np.where(block == (k + 1) % folds, "val", "train"))
            write_npz(path, {**arrays, "split": split})
        paths.append(path)
    return paths


def toy_features(path: Path, n: int = 1000, dim: int = 64, seed: int = 0) -> Path:
    """Stand-in cached features: a latent quality sets seven judges' marks; dimensions 1-6 tell the dive class.

    Each dive's DD is its number's DD from 10 m in our table, as on a real sheet: the DD follows from
    the dive, which the footage shows. (Drawn independently of the dive, as it once was, the DD made
    the final score unpredictable from the features for every method that predicts the final itself:
    USDL, MTL-AQA and ridge all stopped near rho 0.78, while MUSDL and UD-AQA, which multiply by the
    typed DD, did not.)
    """
    rng = np.random.default_rng(seed)
    quality = rng.uniform(0, 1, n)
    kind = rng.integers(0, len(TOY_DIVES), n)
    direction = rng.normal(size=dim)
    features = rng.normal(size=(n, 10, dim)) * 0.7 + quality[:, None, None] * direction
    features[np.arange(n), :, 1 + kind] += 2.0
    judges = np.clip(np.round((3.5 + 5.5 * quality[:, None] + rng.normal(0, 0.5, (n, 7))) * 2) / 2, 0, 10)
    dd = np.array([difficulty(TOY_DIVES[k], TOY_HEIGHT) for k in kind])
    final = np.sort(judges, 1)[:, 2:5].sum(1) * dd
    split = np.select([np.arange(n) < int(0.6 * n), np.arange(n) < int(0.75 * n)], ["train", "val"], "test")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, features=features.astype(np.float32), judge_scores=judges, difficulty=dd, final_score=final, split=split,
             dive_number=np.array([TOY_DIVES[k] for k in kind]), dive_id=np.array([f"toy{i}" for i in range(n)]))
    return path


def method_models(dim: int) -> dict[str, tuple[dict, dict]]:
    """(model config, training overrides) per row; every row has the same epochs, batch and learning rates to choose from."""
    usdl = {"name": "usdl", "bins": 101, "score_range": [0, 110], "in_dim": dim, "hidden": [256, 128]}
    per_dd = {**usdl, "score_range": [0, 30]}  # final / DD: the counted marks' sum (0.6 x it for synchronised events)
    musdl = {"name": "musdl", "judges": 7, "in_dim": dim, "hidden": [256, 128]}
    neck = {"name": "standardize"}
    return {
        "ridge": ({"neck": neck, "aggregation": {"name": "average"}, "head": {**usdl, "hidden": [], "bins": 201}}, {"loss": "ridge", "decoding": "expectation"}),
        "usdl": ({"neck": neck, "head": usdl}, {"decoding": "expectation"}),
        "musdl": ({"neck": neck, "head": musdl}, {}),
        "musdl_wd": ({"neck": neck, "aggregation": {"name": "weight_decider", "in_dim": dim, "hidden": [64], "dropout": 0.2}, "head": musdl}, {}),
        "ud_aqa": ({"method": "ud_aqa", "neck": neck, "aggregation": {"name": "weight_decider", "in_dim": dim, "hidden": [256, 128, 256]},
                    "ud_aqa": {"in_dim": dim}}, {"decoding": "expectation"}),
        "mtl_aqa": ({"method": "mtl_aqa", "neck": neck, "head": usdl}, {"decoding": "expectation"}),
        "core": (core_model(dim, 10), {}),
        "usdl_dd": ({"method": "usdl_dd", "neck": neck, "head": per_dd}, {"decoding": "expectation"}),
        "mtl_aqa_dd": ({"method": "mtl_aqa_dd", "neck": neck, "head": per_dd}, {"decoding": "expectation"}),
        "ridge_dd": ({"method": "usdl_dd", "neck": neck, "aggregation": {"name": "average"}, "head": {**per_dd, "hidden": [], "bins": 201}},
                     {"loss": "ridge", "decoding": "expectation"}),  # a reference row: ridge per point of DD; "beats ridge" stays the plain ridge
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
    from bench_backbone import CLIPS, FRAMES, SIZE

    from benchmarks.table import best_seconds

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


def inference(bundle_dir: Path, data: Path) -> tuple[float, float | None, np.ndarray]:
    """ms per dive of ``predict`` on the test split's cached features, dive-class accuracy where the method recognises dives, the test finals."""
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
    finals = np.array([p.final.score for p in predictions])
    if predictions[0].recognised is None:
        return ms, None, finals
    return ms, float(np.mean([p.recognised.dive_number == r.dive_number for p, r in zip(predictions, records, strict=True)])), finals


def rho_gain(finals: np.ndarray, ridge: np.ndarray, truth: np.ndarray, folds: np.ndarray | None = None) -> tuple[float, float, float]:
    """Test rho minus ridge's on the same dives, with its paired 95% bootstrap interval: is the gain more than test noise?

    ``folds`` (the rotating protocol): each dive's fold; the gain is then the mean over folds of
    each fold's own test-rho gain (a fold's models rank only that fold's test dives, so no rho
    mixes two folds' models), and the bootstrap resamples all dives, pairs and fold labels kept.
    """
    def gain(a: np.ndarray, b: np.ndarray, y: np.ndarray, f: np.ndarray) -> float:
        return float(np.mean([stats.spearmanr(a[f == k], y[f == k])[0] - stats.spearmanr(b[f == k], y[f == k])[0] for k in np.unique(f)]))

    folds = np.zeros(len(truth), dtype=int) if folds is None else np.asarray(folds)
    boot = stats.bootstrap((finals, ridge, truth, folds), gain, paired=True, vectorized=False, n_resamples=2000, method="percentile",
                           random_state=np.random.default_rng(0))
    return gain(finals, ridge, truth, folds), float(boot.confidence_interval.low), float(boot.confidence_interval.high)


def verdict(value: float, low: float, high: float) -> str:
    """A paired rho gain in words: a win only when its 95% interval is above 0."""
    word = "yes" if low > 0 else "NO" if high < 0 else "within noise" if value > 0 else "NO (within noise)"
    return f"{word} ({value:+.3f} [{low:+.3f}, {high:+.3f}])"


def finished_run(folder: Path, config: dict) -> tuple[Path, float] | None:
    """The bundle and training minutes of a run under ``folder`` that ran to its end with ``config``
    (the trainer's config as JSON, its own folders aside), from the run's progress log; else None."""
    log = folder / "progress.jsonl"
    events = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    if not events or events[-1].get("event") != "done":
        return None

    def same(c: dict) -> dict:
        """The config as asked: MTL-AQA's vocabulary is what the trainer added from the training split's
        captions (``configured_for``), so a finished MTL-AQA run was never reused without this."""
        model = dict(c.get("model", {}))
        if isinstance(model.get("mtl_aqa"), dict):
            model["mtl_aqa"] = {k: v for k, v in model["mtl_aqa"].items() if k != "vocabulary"}
            if not model["mtl_aqa"]:
                del model["mtl_aqa"]
        return {**{k: v for k, v in c.items() if k not in ("work_dir", "out")}, "model": model}

    if same(events[0].get("config", {})) != same(config):
        return None
    return Path(events[-1]["bundle"]), (events[-1]["time"] - events[0]["time"]) / 60


def train_row(name: str, model: dict, overrides: dict, data: Path, folder: Path, epochs: int, lr: float, reuse: bool = False) -> tuple[Path, float]:
    """Train one method at one learning rate (``reuse``: keep a finished run of the same config); the bundle and the training minutes."""
    raw = {"dataset": str(data), "work_dir": str(folder), "out": str(folder / "bundle"), "epochs": epochs, "batch_size": 32,
           "lr": lr, "seed": 0, "model": model, **overrides}
    config = config_from_dict(raw, ROOT, f"{name} config")
    if reuse and (done := finished_run(folder, json.loads(json.dumps(config.to_json())))) is not None:
        return done
    shutil.rmtree(folder, ignore_errors=True)
    start = time.monotonic()
    bundle = train(config, progress=ProgressStream(folder / "progress.jsonl", stdout=False, bar=False))
    return bundle, (time.monotonic() - start) / 60


def select(name: str, data: Path, work: Path, epochs: int, lrs: Sequence[float], reuse: bool) -> tuple[float, float, Path, float]:
    """Train ``name`` at every rate (ridge: once, it is closed-form) and keep the best on validation rho.

    Returns (validation rho, rate, bundle, training minutes of every rate together); the test
    figures of the rates not chosen are never read.
    """
    model, overrides = method_models(int(open_dataset(data).records[0].features.shape[-1]))[name]
    tried = []
    for lr in lrs if overrides.get("loss") != "ridge" else [lrs[0]]:
        bundle, minutes = train_row(name, model, overrides, data, work / name / f"lr{lr:g}", epochs, lr, reuse)
        tried.append((load_bundle(bundle).data_card["validation"]["rho"], lr, bundle, minutes))
    val_rho, lr, bundle, _ = max(tried, key=lambda t: t[0])
    return val_rho, lr, bundle, sum(t[3] for t in tried)


def rotating(data: Path, folds: int, methods: Sequence[str], work: Path, epochs: int, lrs: Sequence[float], reuse: bool) -> None:
    """The rotating-split protocol: each method selected and tested per fold as on the single split, judged over every dive.

    Per fold (``fold_features``): every method at every rate, the rate and epoch chosen on that
    fold's validation, that fold's test read once. "Beats ridge" is the mean over folds of the
    paired test-rho gain, its 95% bootstrap interval over all the dives (each one a test dive
    once), so the interval is about sqrt(folds) times narrower than one split's 120 test dives give.
    """
    if "ridge" not in methods:
        raise SystemExit("--folds: the methods must include ridge, the baseline every row is judged against")
    paths = fold_features(data, folds, work / "folds")
    rows: dict[str, dict[str, list]] = {name: {"val": [], "test": [], "lr": [], "minutes": [], "finals": []} for name in methods}
    truth, fold_of = [], []
    for k, path in enumerate(paths):
        test = open_dataset(path).split("test")
        truth += [r.final_score for r in test]
        fold_of += [k] * len(test)
        for name in methods:
            val_rho, lr, bundle, minutes = select(name, path, work / f"fold{k + 1}", epochs, lrs, reuse)
            finals = inference(bundle, path)[2]
            row = rows[name]
            for key, value in (("val", val_rho), ("test", load_bundle(bundle).data_card["test"]["rho"]), ("lr", lr), ("minutes", minutes), ("finals", finals)):
                row[key].append(value)
            print(f"fold {k + 1}/{folds} {name:<10} lr {lr:g}  val rho {val_rho:.3f}  test rho {row['test'][-1]:.3f}  ({minutes:.1f} min)", flush=True)
    y, f = np.array(truth), np.array(fold_of)
    finals = {name: np.concatenate(row["finals"]) for name, row in rows.items()}
    print(f"\nRotating splits of {data}: {folds} folds, every dive a test dive once ({len(y)}); per fold the epoch (of {epochs} at most) "
          f"and the rate (from {', '.join(f'{lr:g}' for lr in lrs)}) chosen on that fold's validation rho, its test read once")
    print(f"{'method':<11}{'val rho':>8}{'rho':>7}{'pooled':>8}{'train min':>10}  {'rates chosen':<32}beats ridge (mean per-fold test rho gain, paired 95% bootstrap)")
    for name, row in rows.items():
        rates = "-" if method_models(1)[name][1].get("loss") == "ridge" else ",".join(f"{lr:g}" for lr in row["lr"])
        beats = "-" if name == "ridge" else verdict(*rho_gain(finals[name], finals["ridge"], y, f))
        print(f"{name:<11}{np.mean(row['val']):>8.3f}{np.mean(row['test']):>7.3f}{stats.spearmanr(finals[name], y)[0]:>8.3f}"
              f"{sum(row['minutes']):>10.2f}  {rates:<32}{beats}")
    print("val rho, rho: means over the folds; pooled: rho of all the folds' test predictions together; train min: every fold and rate")
    if "ridge_dd" in rows:
        print("\nAgainst ridge per point of DD (ridge_dd, a reference), the same way:")
        for name in rows:
            if name not in ("ridge", "ridge_dd"):
                print(f"{name:<12}{verdict(*rho_gain(finals[name], finals['ridge_dd'], y, f))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=Path, help="a features .npz (the synthetic dives' cached I3D features)")
    parser.add_argument("--data", type=Path, help="a dataset folder (aqa-judge make-demo-data): its I3D features are extracted (cached) into a features .npz first")
    parser.add_argument("--cache", type=Path, default=None, help="the I3D feature cache for --data (default: WORK/i3d_cache)")
    parser.add_argument("--cached-only", action="store_true", help="with --data: only the dives already in the cache")
    parser.add_argument("--toy", action="store_true", help="generate stand-in features instead")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "bench_methods")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--lrs", type=float, nargs="+", default=list(LEARNING_RATES),
                        help="learning rates tried per method; validation rho chooses one, test is read once for it")
    parser.add_argument("--methods", nargs="*", default=None)
    parser.add_argument("--reuse", action="store_true",
                        help="keep every run already finished under WORK (same features, epochs and rate): the table again without retraining, "
                             "or methods trained in separate processes brought into one table")
    parser.add_argument("--cost-repeats", type=int, default=20, help="head timings per row of the scoring-cost table (0: skip it)")
    parser.add_argument("--folds", type=int, default=None,
                        help="the rotating-split protocol instead of the dataset's split: this many folds, each dive a test dive once "
                             f"(methods: --methods, default {' '.join(ROTATING_METHODS)})")
    args = parser.parse_args()
    if sum(x is not None and x is not False for x in (args.features, args.data, args.toy)) != 1:
        parser.error("give one of --features PATH, --data DATASET_DIR or --toy")
    if args.data is not None:
        started = time.monotonic()
        data = dataset_features(args.data, args.cache or args.work / "i3d_cache", args.work / f"{args.data.name}_features.npz",
                                cached_only=args.cached_only)
        print(f"features of {args.data}: {data} ({(time.monotonic() - started) / 60:.1f} min; cached dives are not re-extracted)")
    else:
        data = toy_features(args.work / "toy_features.npz") if args.toy else args.features
    if args.folds is not None:
        unknown = sorted(set(args.methods or ()) - set(method_models(1)))
        if unknown:
            parser.error(f"unknown method(s) {', '.join(unknown)}")
        rotating(data, args.folds, args.methods or list(ROTATING_METHODS), args.work / "rotating", args.epochs, args.lrs, args.reuse)
        return
    rows = []
    for name in method_models(1):
        if args.methods and name not in args.methods:
            continue
        val_rho, lr, bundle, minutes = select(name, data, args.work, args.epochs, args.lrs, args.reuse)
        ms, accuracy, finals = inference(bundle, data)
        rows.append((name, load_bundle(bundle).data_card, minutes, ms, accuracy, lr, val_rho, finals))
    sizes = rows[0][1]["split_sizes"]
    print(f"\nMethods on {data} (train {sizes['train']}, val {sizes['val']}, test {sizes['test']}); best-validation epoch of "
          f"{args.epochs} at most, learning rate chosen by validation rho from {', '.join(f'{lr:g}' for lr in args.lrs)}; test read once")
    print(f"{'method':<10}{'lr':>7}{'val rho':>8}{'rho':>7}{'R-l2':>8}{'judge MAE':>11}{'cov 80':>8}{'cov 95':>8}{'class acc':>10}"
          f"{'train min':>10}{'ms/dive':>9}  beats ridge (test rho gain, paired 95% bootstrap)")
    ridge = next((card["test"]["rho"] for name, card, *_ in rows if name == "ridge"), None)
    ridge_finals = next((row[-1] for row in rows if row[0] == "ridge"), None)
    truth = np.array([r.final_score for r in open_dataset(data).split("test")])
    for name, card, minutes, ms, accuracy, lr, val_rho, finals in rows:
        test, cov = card["test"], card["test"].get("coverage", {})
        judge = f"{test['judge_mae_mean']:.2f}" if "judge_mae_mean" in test else "-"
        acc = f"{accuracy:.0%}" if accuracy is not None else "-"
        beats = "-"
        if name != "ridge" and ridge is not None and ridge_finals is not None:
            beats = verdict(*rho_gain(finals, ridge_finals, truth))
        rate = "-" if card.get("loss") == "ridge" else f"{lr:g}"
        print(f"{name:<10}{rate:>7}{val_rho:>8.3f}{test['rho']:>7.3f}{test['rl2']:>8.3f}{judge:>11}{cov.get('0.8', float('nan')):>8.0%}"
              f"{cov.get('0.95', float('nan')):>8.0%}{acc:>10}{minutes:>10.2f}{ms:>9.2f}  {beats}")
    print("train min: all learning rates tried together")
    reference = next((row[-1] for row in rows if row[0] == "ridge_dd"), None)
    if reference is not None:  # does a method beat a ridge that is also given the DD, not only the plain one?
        print("\nAgainst ridge per point of DD (ridge_dd, a reference; the criterion above stays the plain ridge):")
        for name, *_, finals in rows:
            if name not in ("ridge", "ridge_dd"):
                print(f"{name:<12}{verdict(*rho_gain(finals, reference, truth))}")

    if args.cost_repeats:
        cost = scoring_cost(args.cost_repeats)
        print(f"\nScoring one dive, I3D-sized, this CPU: one I3D pass over 10 clips plus the head ({args.cost_repeats} head runs, best)")
        print(f"{'row':<22}{'head ms':>9}{'total ms':>10}{'x usdl':>8}")
        for name, head_ms, total_ms in cost:
            print(f"{name:<22}{head_ms:>9.2f}{total_ms:>10.0f}{total_ms / cost[0][2]:>8.3f}")


if __name__ == "__main__":
    main()
