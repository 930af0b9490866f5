"""``aqa-judge make-demo-data``: write a synthetic dataset in our own layout (for the trainer and demos)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from aqa_core.errors import DatasetError


def parse_size(text: str) -> tuple[int, int]:
    """``WxH`` (e.g. 320x240) -> (width, height)."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"size {text!r} is not WIDTHxHEIGHT, e.g. 320x240")
    width, height = int(match.group(1)), int(match.group(2))
    if not (64 <= width <= 4096 and 64 <= height <= 4096):
        raise argparse.ArgumentTypeError(f"size {text!r}: width and height must be 64-4096 pixels")
    return width, height


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "make-demo-data",
        help="generate synthetic dive videos with judge panels (our dataset layout)",
        description="Render N procedural dives (MP4) with seven judges fitted to real panels and write "
        "annotations.csv in our own dataset layout. The folder appears only when complete.",
    )
    parser.add_argument("--n", type=int, required=True, help="number of dives")
    parser.add_argument("--out", type=Path, required=True, help="output folder (must not exist or be empty)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same dataset; default 0)")
    parser.add_argument("--size", type=parse_size, default=(320, 240), help="frame size WxH (default 320x240)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.set_defaults(handler=make_demo_data)


def make_demo_data(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from aqa_core.synthetic import write_dataset

    if args.n < 1:
        raise DatasetError(f"--n must be at least 1, not {args.n}")
    # a short delay keeps a refused output folder from printing an empty bar before the error
    with tqdm(total=args.n, unit="dive", desc="make-demo-data", disable=args.quiet, delay=0.3) as bar:
        folder = write_dataset(args.out, args.n, args.seed, size=args.size, progress=lambda done, total: bar.update(1))
    if not args.quiet:
        print(f"wrote {args.n} dives to {folder} (annotations.csv, videos/)")
    return 0
