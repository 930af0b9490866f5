"""``aqa-judge find-dive``: the dives in an untrimmed video, as a table or as JSON.

The JSON is exactly ``{"dives": [{"take_off_index", "entry_index", "confidence", "replay"}]}``
with 0-based decode-order frame indices, so other tools can place their own windows on it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "find-dive",
        help="find the take-off and entry of every dive in a video",
        description="Detect dives (take-off, entry, confidence, replay) in an untrimmed video.",
    )
    parser.add_argument("video", type=Path, help="the video")
    parser.add_argument("--json", action="store_true", help='print {"dives": [...]} as JSON')
    parser.set_defaults(handler=run_find_dive)


def run_find_dive(args: argparse.Namespace) -> int:
    from aqa_core.dive_finder import find_dives  # OpenCV and SciPy: only for this command

    dives = find_dives(args.video)
    if args.json:
        print(json.dumps({"dives": [dive.to_dict() for dive in dives]}))
        return 0
    if not dives:
        print(f"{args.video}: no dive found")
        return 0
    print("dive  take-off  entry  confidence  replay")
    for number, dive in enumerate(dives, start=1):
        take_off = "in air" if dive.take_off_index is None else str(dive.take_off_index)
        print(f"{number:<5} {take_off:>8}  {dive.entry_index:>5}  {dive.confidence:10.2f}  {'yes' if dive.replay else 'no'}")
    return 0
