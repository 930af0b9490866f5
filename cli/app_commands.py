"""``aqa-judge app [--demo] [VIDEO]``: start the desktop judging desk."""

from __future__ import annotations

import argparse
from pathlib import Path

from aqa_core.errors import VideoError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("app", help="open the judging desk (desktop app)")
    parser.add_argument("video", nargs="?", help="a dive video to open and score")
    parser.add_argument("--demo", action="store_true",
                        help="generate a few synthetic demo dives once and open them as a demo session")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.video and not Path(args.video).is_file():
        raise VideoError(f"{args.video}: no such file")
    from app.main import run_app  # Qt only when the app is really started

    return run_app(video=args.video, demo=args.demo)
