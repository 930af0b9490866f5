"""``aqa-judge train CONFIG`` and ``aqa-judge evaluate BUNDLE DATASET``.

Training prints its progress as JSON lines on stdout (trainer/progress.py: the Trainer tab reads
this stream from the child it starts; ``<work_dir>/progress.jsonl`` keeps a copy) and always ends
with ``done``, ``cancelled`` (exit status 3; a ``STOP`` file in the work folder or SIGTERM/SIGINT
asks for it) or ``error``; evaluation prints a small table, or JSON with ``--json``.
Multi-GPU: ``aqa-judge torchrun -- --standalone --nproc-per-node N --no-python aqa-judge train CONFIG``
(what the Trainer tab starts, trainer/child.py) runs the same command under DistributedDataParallel
(trainer/distributed.py).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser("train", help="train a model from a YAML/JSON config and write a model bundle")
    train.add_argument("config", type=Path, help="training config (.yaml or .json), see configs/train/")
    train.add_argument("--resume", action="store_true", help="continue from the last checkpoint in work_dir")
    train.add_argument("--dataset", type=Path, help="dataset folder or .npz (overrides the config's)")
    train.add_argument("--out", type=Path, help="model bundle folder to write (overrides the config's)")
    train.add_argument("--work-dir", type=Path, help="checkpoints, progress log and feature cache (overrides the config's)")
    train.add_argument("--frames", type=Path, help="folder holding the frames or videos, when not beside the annotations (overrides frames_root)")
    train.add_argument("--strict", action="store_true", help="refuse a dataset with any problem dive instead of leaving those dives out")
    train.add_argument("--partial", action="store_true", help="train on the dives whose frames are present (a partial download)")
    train.add_argument("--backbone-weights", type=Path, help="the pretrained weights file of a C3D or R(2+1)D backbone (overrides model.backbone.weights)")
    train.set_defaults(handler=run_train)

    options = subparsers.add_parser(
        "train-options", help="what training can use here: methods, backbones, modes, and the CUDA GPUs (name, free memory) or why only the CPU"
    )
    options.add_argument("--json", action="store_true", help="print them as JSON (the Trainer tab reads this)")
    options.set_defaults(handler=run_train_options)

    torchrun = subparsers.add_parser(
        "torchrun", help="torch's DDP launcher run by this program (the Trainer tab's several-GPU runs): aqa-judge torchrun -- TORCHRUN-ARGS"
    )
    torchrun.add_argument("arguments", nargs=argparse.REMAINDER, help="torchrun's own arguments, after --")
    torchrun.set_defaults(handler=run_torchrun)

    calibrate = subparsers.add_parser(
        "calibrate",
        help="fit a trained bundle's calibrated intervals and training-feature summary again (weights untouched)",
        description="Fit the conformal intervals on the validation split and the unfamiliar-footage summary on the "
        "training split of the dataset the bundle was trained on, check them on test, and write the bundle.",
    )
    calibrate.add_argument("bundle", type=Path, help="model bundle folder")
    calibrate.add_argument("dataset", type=Path, help="the dataset the bundle was trained on")
    calibrate.add_argument("--out", type=Path, help="bundle folder to write (default: replace BUNDLE)")
    calibrate.add_argument("--cache", type=Path, help="feature cache folder (default: the user data folder's)")
    calibrate.add_argument("--version", help="the bundle's new version (analyses cached under the old one then no longer match)")
    calibrate.add_argument("--kind", default="auto", choices=["auto", "own", "mtl_aqa", "finediving", "features"])
    calibrate.set_defaults(handler=run_calibrate)

    evaluate = subparsers.add_parser("evaluate", help="Spearman rho, relative L2 and per-judge errors of a bundle on a dataset")
    evaluate.add_argument("bundle", type=Path, help="model bundle folder")
    evaluate.add_argument("dataset", type=Path, help="dataset folder (annotations.csv, MTL-AQA, FineDiving) or features .npz")
    evaluate.add_argument("--kind", default="auto", choices=["auto", "own", "mtl_aqa", "finediving", "features"])
    evaluate.add_argument("--split", default="test", choices=["train", "val", "test", "all"])
    evaluate.add_argument("--decoding", choices=["argmax", "expectation"], help="decoding (default: the bundle's)")
    evaluate.add_argument("--json", action="store_true", help="print the figures and every dive's prediction as JSON")
    evaluate.add_argument("--frames", type=Path, help="folder holding the frames or videos, when not beside the annotations")
    evaluate.add_argument("--partial", action="store_true", help="evaluate the dives whose frames are present (a partial download)")
    evaluate.set_defaults(handler=run_evaluate)


EXIT_CANCELLED = 3


def run_train(args: argparse.Namespace) -> int:
    from trainer.config import load_config, with_backbone_weights, with_paths
    from trainer.progress import ProgressStream, RunCancelled, RunLock, StopRequest, report_failure

    main_rank = os.environ.get("RANK", "0") == "0"  # under torchrun, say it once
    progress = ProgressStream(enabled=main_rank)  # until the config names the work folder's log
    with contextlib.ExitStack() as alive:
        try:
            config = with_paths(load_config(args.config), dataset=args.dataset, out=args.out, work_dir=args.work_dir, frames_root=args.frames)
            config = with_backbone_weights(config, args.backbone_weights)
            if args.strict or args.partial:  # flags only switch a policy on; the config's own setting stands otherwise
                config = dataclasses.replace(config, strict=config.strict or args.strict, partial=config.partial or args.partial)
            if main_rank:  # before torch's import: the app knows the child is alive from here on
                alive.enter_context(RunLock(config.work_dir).hold())
            from trainer.run import LOG, train

            progress = ProgressStream(config.work_dir / LOG, enabled=main_rank)
            stop = StopRequest(config.work_dir)
            if main_rank:
                stop.clear()  # a stop file left by an earlier run must not cancel this one
            stop.install_signals()
            bundle = train(config, resume=args.resume, progress=progress)
        except RunCancelled as exc:
            print(f"aqa-judge train: {exc}; --resume continues", file=sys.stderr)
            return EXIT_CANCELLED
        except BaseException as exc:
            report_failure(progress, exc)
            raise
    if main_rank:
        print(f"model bundle written to {bundle}", file=sys.stderr)
    return 0


def run_torchrun(args: argparse.Namespace) -> int:
    """``torchrun`` without a ``torchrun`` on PATH: a frozen app has only its own executable (trainer/child.py)."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main as torchrun

    arguments = args.arguments[1:] if args.arguments[:1] == ["--"] else args.arguments
    try:
        torchrun(arguments)
    except ChildFailedError as exc:
        rank, failure = exc.get_first_failure()
        print(f"aqa-judge torchrun: training process rank {rank} failed (exit status {failure.exitcode})", file=sys.stderr)
        return 1
    return 0


def run_train_options(args: argparse.Namespace) -> int:
    import aqa_core.backbones  # noqa: F401  (registers the backbones)
    import aqa_core.methods  # noqa: F401  (registers the methods)
    from aqa_core.registry import BACKBONES, METHODS
    from trainer.config import MODES
    from trainer.devices import describe, list_devices

    options = {"methods": METHODS.names(), "backbones": BACKBONES.names(), "modes": list(MODES), "devices": list_devices()}
    if args.json:
        print(json.dumps(options))
        return 0
    print(f"methods    {', '.join(options['methods'])}\nbackbones  {', '.join(options['backbones'])}\nmodes      {', '.join(options['modes'])}")
    print("\n".join(describe(options["devices"])))
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    from aqa_core.paths import user_data_dir
    from trainer.run import refit

    out = refit(args.bundle, args.dataset, args.out or args.bundle, args.cache or user_data_dir() / "feature_cache", args.kind, args.version)
    print(f"calibrated bundle written to {out}", file=sys.stderr)
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from trainer.evaluate import evaluate_bundle

    figures = evaluate_bundle(args.bundle, args.dataset, args.kind, args.split, decoding=args.decoding, frames_root=args.frames, partial=args.partial)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{figures['model']} on {figures['dataset']} ({figures['split']}, {figures['dives']} dives, {figures['decoding']} decoding)")
    print(f"  Spearman rho      {figures['spearman']:.4f}")
    low, high = figures["score_range"]
    print(f"  relative L2       {figures['rl2']:.4f}  (score range {low:g}-{high:g})")
    print(f"  final-score MAE   {figures['final_mae']:.2f} points")
    if "judge_mae" in figures:
        per_judge = "  ".join(f"J{i + 1} {v:.2f}" for i, v in enumerate(figures["judge_mae_per_path"]))
        print(f"  judge MAE         {per_judge}  (mean {figures['judge_mae']:.2f}; judges sorted low to high)")
    for key, what in (("coverage", "final score"), ("judge_coverage", "judge marks")):
        if key in figures:
            print(f"  {what + ' coverage':<17} " + "  ".join(f"{float(k):.0%} interval {v:.0%}" for k, v in figures[key].items()))
    if "median_panel_spread" in figures:
        print(f"  panel spread      median std of the predicted marks {figures['median_panel_spread']:.2f}")
    if "unfamiliar_rate" in figures:
        print(f"  unfamiliar        {figures['unfamiliar_rate']:.0%} of the dives flagged as unlike the training footage, "
              f"{figures['beyond_calibration_rate']:.0%} farther out than the calibration dives")
    return 0
