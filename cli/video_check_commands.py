"""``aqa-judge video-check``: which frames of a video, or which frame images, did not decode cleanly.

The desk and ``score`` run it as a child process on the dive's window, the trainer on every dive
of a dataset (aqa_core.video_check says why it must be a process of its own); a user can run it on
any file or frame folder. With ``--json`` it prints ``{"frames": [...], "read": N, "lost": N,
"errors": N, "sample": "..."}`` (0-based frames, or positions among the images; ``lost``: of
them, the frames after a video's decoding stopped at an error).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

WHOLE_FILE = 10**9  # no --frames: read until the file ends


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "video-check",
        help="list the frames of a video (or the frame images) that do not decode cleanly",
        description="Decode a video (or frames FIRST..LAST, 0-based) and list the frames FFmpeg reported errors in; "
                    "or decode frame images (a folder of them, or the files) and list those cut short, corrupt or of another size than the first.",
    )
    parser.add_argument("sources", type=Path, nargs="+", metavar="VIDEO",
                        help="the video; or a folder of frame images, or the image files; @FILE reads these from FILE, one per line")
    parser.add_argument("--frames", type=int, nargs=2, metavar=("FIRST", "LAST"), help="only these frames (0-based, inclusive)")
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    parser.set_defaults(handler=run_video_check)


def run_video_check(args: argparse.Namespace) -> int:
    from aqa_core.errors import VideoError
    from aqa_core.video_check import damaged_frames, damaged_images

    sources = [path for source in args.sources for path in _expanded(source)]
    missing = next((p for p in sources if not p.exists()), None)
    if missing is not None:
        raise VideoError(f"{missing}: no such file")
    first, last = args.frames if args.frames else (0, WHOLE_FILE)
    if not 0 <= first <= last:
        raise VideoError(f"{sources[0]}: --frames {first} {last} is not a range of frames")
    video = len(sources) == 1 and sources[0].is_file() and not _is_image(sources[0])
    if video:
        answer, what = damaged_frames(sources[0], first, last), "frames"
    else:
        images = _images(sources)
        if first >= len(images):
            raise VideoError(f"{sources[0]}: --frames {first} {last} starts past the last of {len(images)} frame images")
        answer, what = damaged_images(images[first : last + 1]), "frame images"
        answer["frames"] = [first + f for f in answer["frames"]]  # positions among all the images given
    if args.json:
        print(json.dumps(answer))
        return 0
    name = sources[0] if len(sources) == 1 else f"{len(sources)} files"
    frames = answer["frames"]
    if not frames:
        print(f"{name}: {answer['read']} {what[:-1] if answer['read'] == 1 else what} decoded without errors")
        return 0
    shown = ", ".join(str(f + 1) for f in frames[:20]) + (", ..." if len(frames) > 20 else "")
    if video:
        lost = f", and {answer['lost']} more not decoded at all" if answer["lost"] else ""
        print(f"{name}: {len(frames) - answer['lost']} of {answer['read']} frames damaged (decoded with errors, or predicted from such frames){lost} "
              f"(frames {shown}, as people count)")
        print(f"  FFmpeg: {answer['sample']}")
    else:
        print(f"{name}: {len(frames)} of {len(frames) + answer['read']} frame images are cut short, corrupt or of another size (images {shown}, as people count)")
        print(f"  first: {answer['sample']}")
    return 1


def _expanded(source: Path) -> list[Path]:
    """``@FILE``: the paths FILE lists, one a line, read as UTF-8 (how the trainer writes it, whatever the
    system's code page: argparse's own ``@`` reading uses the locale's encoding before Python 3.12)."""
    from aqa_core.errors import VideoError

    text = str(source)
    if not text.startswith("@"):
        return [source]
    try:
        paths = [Path(line) for line in Path(text[1:]).read_text(encoding="utf-8").splitlines() if line]
    except (OSError, UnicodeDecodeError) as exc:
        raise VideoError(f"{text[1:]}: cannot read the list of frame images ({exc})") from None
    if not paths:
        raise VideoError(f"{text[1:]}: lists no frame images")
    return paths


def _is_image(path: Path) -> bool:
    from trainer.datasets.pixels import IMAGE_SUFFIXES

    return path.suffix.lower() in IMAGE_SUFFIXES


def _images(sources: list[Path]) -> list[Path]:
    """The image files in order: a folder's sorted by name (as the datasets read them), files as given."""
    from aqa_core.errors import VideoError
    from trainer.datasets.pixels import frame_files

    if len(sources) == 1 and sources[0].is_dir():
        files = frame_files(sources[0])
        if not files:
            raise VideoError(f"{sources[0]}: a folder without frame images")
        return files
    folder = next((p for p in sources if p.is_dir()), None)
    if folder is not None:
        raise VideoError(f"{folder}: a folder among files; give one folder, or image files")
    return list(sources)
