"""Can a judge trust what the model says? Coverage, panel spread and the unfamiliar-footage flag.

On data the model never trained on, for a bundle (default: the shipped demo model):

* coverage of the calibrated 80% and 95% intervals (final score and judge marks) on held-out
  synthetic dives of the training venue (the demo dataset's test split) and of a new venue
  (another dataset seed, every dive held out);
* the median within-dive spread of the predicted panel (std of the seven marks) against the real
  MTL-AQA panels' (annotations.csv);
* how often the unfamiliar-footage flag fires on those synthetic dives and on real footage, and
  how often a dive lies beyond the calibrated range (intervals "may be too narrow").

    python benchmarks/bench_trust.py --data build/demo_data --new-venue build/new_venue \\
        --clips ../shared/data/clips --annotations ../shared/data/mtl_aqa/annotations.csv
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from aqa_core.bundle import default_bundle_path, load_bundle
from aqa_core.rules import make_dive_info
from aqa_core.synthetic import write_dataset
from trainer.evaluate import evaluate_bundle

ROOT = Path(__file__).resolve().parent.parent
NEW_VENUE_SEED = 7  # any seed but the demo dataset's 2026 draws another hall and camera


def real_panel_spread(annotations: Path) -> float:
    """Median over dives of the sample std of the seven real marks (rows with a blank mark skipped)."""
    spreads = []
    with annotations.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            try:
                marks = [float(row[f"judge{i}"]) for i in range(1, 8)]
            except (KeyError, ValueError):
                continue
            spreads.append(np.std(marks, ddof=1))
    return float(np.median(spreads))


def row(name: str, figures: dict) -> str:
    cov, jcov = figures.get("coverage", {}), figures.get("judge_coverage", {})
    spread = figures.get("median_panel_spread")
    return (
        f"{name:<28}{figures['dives']:>6}{figures['spearman']:>7.3f}{cov.get('0.8', np.nan):>8.0%}{cov.get('0.95', np.nan):>8.0%}"
        f"{jcov.get('0.8', np.nan):>8.0%}{jcov.get('0.95', np.nan):>8.0%}{'' if spread is None else f'{spread:>9.2f}':>9}"
        f"{figures.get('unfamiliar_rate', np.nan):>11.0%}{figures.get('beyond_calibration_rate', np.nan):>9.0%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=default_bundle_path())
    parser.add_argument("--data", type=Path, default=ROOT / "build" / "demo_data")
    parser.add_argument("--new-venue", type=Path, nargs="+", default=[ROOT / "build" / "new_venue"],
                        help="held-out datasets of other venues (the first is generated with seed 7 when missing)")
    parser.add_argument("--new-venue-dives", type=int, default=45)
    parser.add_argument("--cache", type=Path, default=ROOT / "build" / "demo_musdl_work" / "features")
    parser.add_argument("--clips", type=Path, default=ROOT.parent / "shared" / "data" / "clips")
    parser.add_argument("--annotations", type=Path, default=ROOT.parent / "shared" / "data" / "mtl_aqa" / "annotations.csv")
    args = parser.parse_args()

    if not (args.new_venue[0] / "annotations.csv").is_file():
        write_dataset(args.new_venue[0], args.new_venue_dives, NEW_VENUE_SEED)
    demo = evaluate_bundle(args.bundle, args.data, split="test", cache_dir=args.cache)
    venues = [evaluate_bundle(args.bundle, folder, split="all", cache_dir=args.cache) for folder in args.new_venue]
    print(f"\nTrust figures of {args.bundle} (calibrated central intervals; flagged = unfamiliar footage; beyond = farther than the calibration dives)")
    print(f"{'held-out dives':<28}{'dives':>6}{'rho':>7}{'fin 80':>8}{'fin 95':>8}{'mrk 80':>8}{'mrk 95':>8}{'spread':>9}{'flagged':>11}{'beyond':>9}")
    print(row("demo venue (test split)", demo))
    for folder, venue in zip(args.new_venue, venues):
        print(row(f"new venue {folder.name} (all)", venue))
    if args.annotations.is_file():
        print(f"real MTL-AQA panels: median within-dive spread (std of 7 marks) {real_panel_spread(args.annotations):.2f}")
    videos = sorted(args.clips.glob("*.mp4")) if args.clips.is_dir() else []
    if videos:
        from aqa_core.scorer import Scorer

        scorer = Scorer(load_bundle(args.bundle))
        dive = make_dive_info("individual", 7, "107B", 10.0, None)
        flagged = 0
        for video in videos:
            result = scorer.score(video, dive)
            marks = [j.estimate.score for j in result.judges]
            fam = result.familiarity
            flagged += bool(fam and fam.unfamiliar)
            print(
                f"real clip {video.name}: final {result.final.score:.2f} [{result.final.low:.1f}-{result.final.high:.1f}], "
                f"marks {min(marks):g}-{max(marks):g} (std {np.std(marks, ddof=1):.2f}), "
                + (f"distance {fam.score:.2f} vs threshold {fam.threshold:.2f}, {'FLAGGED' if fam.unfamiliar else 'not flagged'}" if fam else "no feature summary")
                + f", uncertainty {result.uncertainty.level}"
            )
        print(f"real clips flagged as unfamiliar: {flagged} of {len(videos)}")


if __name__ == "__main__":
    main()
