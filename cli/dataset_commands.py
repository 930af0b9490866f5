"""``aqa-judge dataset check PATH [--frames DIR] [--json] [--strict] [--partial] [--videos]``.

Reads and checks a dataset exactly as training will (labels, splits, every dive's frames or
video window; with ``--videos`` each video or frame image decoded for damage too) and reports every problem at
once. Exit status: 0 when training would accept it (problem dives left out), 1 when it would not
(missing frames or a damaged video without the partial option, or any problem under
``--strict``), 2 when it cannot be read at all.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    dataset = subparsers.add_parser("dataset", help="inspect a training dataset")
    verbs = dataset.add_subparsers(dest="dataset_command", required=True, metavar="VERB")
    check = verbs.add_parser("check", help="read and check a dataset as training would; list every problem")
    check.add_argument("path", type=Path, help="dataset folder (MTL-AQA, FineDiving, annotations.csv) or features .npz")
    check.add_argument("--frames", type=Path, default=None, help="folder holding the frames or videos, when not beside the annotations")
    check.add_argument("--kind", default="auto", choices=["auto", "own", "mtl_aqa", "finediving", "features"])
    check.add_argument("--strict", action="store_true", help="treat any problem as refusing the dataset (as training with strict: true)")
    check.add_argument("--partial", action="store_true", help="accept missing frames (as training with partial: true)")
    check.add_argument("--videos", action="store_true",
                       help="also decode every video (or frame image) once more for damage, as training does (about 0.3 s a dive; answers are kept)")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    from aqa_core.errors import DatasetError
    from trainer.datasets import inspect_dataset
    from trainer.datasets.base import apply_policy
    from trainer.datasets.report import check_report, report_lines

    dataset = inspect_dataset(args.path, args.kind, args.frames)
    if args.videos:
        from trainer.datasets.video_damage import check_videos
        from trainer.progress import ProgressStream

        dataset = check_videos(dataset, ProgressStream(stdout=False))  # its bar on a terminal; the report says the rest
    report = check_report(dataset)
    try:
        apply_policy(dataset, strict=args.strict, partial=args.partial)
        report["trainable"], report["refusal"] = True, None
    except DatasetError as exc:
        report["trainable"], report["refusal"] = False, str(exc)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print("\n".join(report_lines(report)))
        if report["refusal"]:
            print(f"  refused: {report['refusal']}")
    return 0 if report["trainable"] else 1
