"""``aqa-judge video-check``: which frames of a video FFmpeg could not decode cleanly.

The desk and ``score`` run it as a child process on the dive's window (aqa_core.video_check
says why it must be a process of its own); a user can run it on any file. With ``--json`` it
prints ``{"frames": [...], "read": N, "lost": N, "errors": N, "sample": "..."}`` (0-based frames;
``lost``: of them, the frames after the decoding stopped at an error).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

WHOLE_FILE = 10**9  # no --frames: read until the file ends


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "video-check",
        help="list the frames of a video that FFmpeg reports decoding errors in",
        description="Decode a video (or frames FIRST..LAST, 0-based) and list the frames FFmpeg reported errors in.",
    )
    parser.add_argument("video", type=Path, help="the video")
    parser.add_argument("--frames", type=int, nargs=2, metavar=("FIRST", "LAST"), help="only these frames (0-based, inclusive)")
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    parser.set_defaults(handler=run_video_check)


def run_video_check(args: argparse.Namespace) -> int:
    from aqa_core.errors import VideoError
    from aqa_core.video_check import damaged_frames

    if not args.video.is_file():
        raise VideoError(f"{args.video}: no such file")
    first, last = args.frames if args.frames else (0, WHOLE_FILE)
    if not 0 <= first <= last:
        raise VideoError(f"{args.video}: --frames {first} {last} is not a range of frames")
    answer = damaged_frames(args.video, first, last)
    if args.json:
        print(json.dumps(answer))
        return 0
    frames = answer["frames"]
    if not frames:
        print(f"{args.video}: {answer['read']} frames decoded without errors")
        return 0
    shown = ", ".join(str(f + 1) for f in frames[:20]) + (", ..." if len(frames) > 20 else "")
    lost = f", and {answer['lost']} more not decoded at all" if answer["lost"] else ""
    print(f"{args.video}: {len(frames) - answer['lost']} of {answer['read']} frames decoded with errors{lost} (frames {shown}, as people count)")
    print(f"  FFmpeg: {answer['sample']}")
    return 1
