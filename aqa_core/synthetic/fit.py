"""Re-fit the synthetic judge model from real panels: ``python -m aqa_core.synthetic.fit [CSV]``.

Reads the MTL-AQA annotations (seven judges per dive) and writes
``resources/synthetic/judge_model.json``. The noise curve is calibrated by simulation because
rounding to half points and clamping at 10 change the spread a judge's raw noise produces.
"""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from pathlib import Path

import numpy as np

from aqa_core.errors import DatasetError
from aqa_core.paths import shared_dir
from aqa_core.synthetic.judges import PANEL_SIZE, JudgeModel, round_half

JUDGE_COLUMNS = [f"judge{i}" for i in range(1, PANEL_SIZE + 1)]
NOISE_BINS = 10  # equal-count bins of the panel mean for the sigma(m) curve
CALIBRATION_ROUNDS = 6


def default_csv() -> Path | None:
    root = shared_dir()
    return root / "data" / "mtl_aqa" / "annotations.csv" if root else None


def read_panels(csv_path: Path) -> tuple[np.ndarray, list[tuple[str, float]]]:
    """Judge scores (n, 7) and (dive number, difficulty) per dive from an MTL-AQA style CSV."""
    try:
        with csv_path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise DatasetError(f"{csv_path}: cannot read ({exc.strerror})") from exc
    if not rows or not set(JUDGE_COLUMNS + ["dive_number", "difficulty"]) <= set(rows[0]):
        raise DatasetError(f"{csv_path}: expected columns dive_number, difficulty, {', '.join(JUDGE_COLUMNS)}")
    try:
        scores = np.array([[float(row[c]) for c in JUDGE_COLUMNS] for row in rows])
        dives = [(row["dive_number"], float(row["difficulty"])) for row in rows]
    except ValueError as exc:
        raise DatasetError(f"{csv_path}: a judge score or difficulty is not a number ({exc})") from exc
    return scores, dives


def panel_statistics(scores: np.ndarray) -> dict[str, float]:
    """The statistics the synthetic panel must reproduce (also used by the tests)."""
    means = scores.mean(axis=1)
    corr = np.corrcoef(scores.T)
    return {
        "within_dive_std": float(scores.std(axis=1, ddof=1).mean()),
        "inter_judge_correlation": float(corr[~np.eye(len(corr), dtype=bool)].mean()),
        "panel_mean_mean": float(means.mean()),
        "panel_mean_std": float(means.std()),
    }


def fit_judge_model(csv_path: Path) -> JudgeModel:
    scores, dives = read_panels(csv_path)
    means = scores.mean(axis=1)
    deviation = scores - means[:, None]
    spread = deviation.std(axis=0)

    # sigma(m): the real within-dive std in equal-count bins of m, then corrected by simulation
    # until simulated panels (same m, rounding, clamping) show the same spread per bin.
    order = np.argsort(means)
    bins = np.array_split(order, NOISE_BINS)
    centres = np.array([np.median(means[b]) for b in bins])
    target = np.array([scores[b].std(axis=1, ddof=1).mean() for b in bins])
    model = JudgeModel(
        panel_mean_quantiles=[round(float(q), 4) for q in np.quantile(means, np.linspace(0, 1, 101))],
        judge_bias=[round(float(b), 4) for b in deviation.mean(axis=0)],
        judge_scale=[round(float(s), 4) for s in spread / spread.mean()],
        noise_panel_mean=[round(float(c), 4) for c in centres],
        noise_sigma=[round(float(t), 4) for t in target],
        dive_mix=[
            {"dive_number": code, "difficulty": dd, "count": count}
            for (code, dd), count in sorted(Counter(dives).items(), key=lambda item: -item[1])
        ],
        target={k: round(v, 4) for k, v in panel_statistics(scores).items()},
        source=f"{csv_path.name}: {len(scores)} real panels of {PANEL_SIZE} judges (MTL-AQA)",
    )
    rng = np.random.default_rng(0)
    sigma = target.copy()
    for _ in range(CALIBRATION_ROUNDS):
        simulated = []
        for b, s in zip(bins, sigma):
            m = np.repeat(means[b], 20)[:, None]
            raw = m + np.asarray(model.judge_bias) + np.asarray(model.judge_scale) * s * rng.standard_normal((len(m), PANEL_SIZE))
            simulated.append(round_half(raw).std(axis=1, ddof=1).mean())
        sigma = sigma * target / np.maximum(simulated, 1e-6)
    return JudgeModel(**{**model.__dict__, "noise_sigma": [round(float(s), 4) for s in sigma]})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", type=Path, default=default_csv(), help="MTL-AQA annotations.csv")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: the packaged resource)")
    args = parser.parse_args(argv)
    if args.csv is None:
        parser.error("no CSV given and ../shared/data/mtl_aqa/annotations.csv is absent")
    path = fit_judge_model(args.csv).save(args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
