"""Decoding 720p H.264: the app's decoder (OpenCV, RGB frames) against ``ffmpeg -f null`` on the same file.

``ffmpeg -f null`` decodes every frame and throws it away: the codec's own speed on this machine,
with ffmpeg's default threading, so the ratio says how much the app's path (OpenCV's FFmpeg,
BGR->RGB conversion, rotation) costs on top. The ffmpeg binary is the one the optional
``imageio-ffmpeg`` package ships (benchmark only; nothing else uses it); without it, or without
the real 720p clip in ../shared, the row says so.

    python benchmarks/bench_decode.py
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.table import Row, best_seconds, format_table  # noqa: E402

CLIP = "tokyo2020_dive_a.mp4"  # 1280x720 H.264, 109 frames


def rows() -> list[Row]:
    from aqa_core.paths import shared_dir
    from aqa_core.video import VideoReader, probe

    shared = shared_dir()
    video = shared / "data" / "clips" / CLIP if shared else None
    if video is None or not video.is_file():
        return [Row("decode 720p H.264", None, "fps", note=f"../shared/data/clips/{CLIP} not present")]
    info = probe(video)
    frames = info.frame_count

    def ours() -> None:
        with VideoReader(video) as reader:
            for _ in reader.iter_frames(range(frames)):
                pass

    ours_fps = frames / best_seconds(ours, 3, warm_up=False)
    figure = f"decode {info.width}x{info.height} H.264, app decoder (OpenCV, RGB)"
    try:
        import imageio_ffmpeg
    except ImportError:
        return [Row(figure, ours_fps, "fps", lower_is_better=False, note="ffmpeg reference needs `pip install imageio-ffmpeg`")]
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostats", "-nostdin", "-benchmark", "-i", str(video), "-f", "null", "-"]
    ffmpeg_fps = frames / min(_ffmpeg_seconds(command) for _ in range(3))
    return [Row(figure, ours_fps, "fps", "ffmpeg -f null, same file", ffmpeg_fps, lower_is_better=False,
                note=f"{frames} frames; both from opening the file, ffmpeg's process start left out")]


def _ffmpeg_seconds(command: list[str]) -> float:
    """ffmpeg's own ``-benchmark`` real time (opening the file to the last frame), without the process start.

    Why not the child's wall time: starting ffmpeg costs 0.1-0.2 s here, a quarter of decoding a 109-frame
    clip, and the app's decoder runs in-process, so its figure has no such start in it.
    """
    report = subprocess.run(command, check=True, capture_output=True, text=True).stderr
    found = re.search(r"rtime=([0-9.]+)s", report)
    if found is None:
        raise RuntimeError(f"ffmpeg -benchmark printed no rtime: {report[-200:]!r}")
    return float(found.group(1))


if __name__ == "__main__":
    print(format_table([("decode", row) for row in rows()]))
