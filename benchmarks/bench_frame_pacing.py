"""Frame pacing of the desk's player while a dive is being analysed.

Plays a 720p/30 fps video (the real clip ``tokyo2020_dive_a.mp4`` by default, looped) in the
real ``Player`` widget for ``--seconds`` while ``ScoreWorker`` analyses dives back to back on
the same machine, and prints the share of due frames shown within one frame interval of their
due time (a skipped frame counts as late). The target is >= 95%.

    python benchmarks/bench_frame_pacing.py [--video FILE] [--seconds 20] [--backbone i3d|tiny]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def build_bundle(backbone: str):  # noqa: ANN201 (ModelBundle; torch imported late)
    import torch

    from aqa_core.bundle import bundle_from_model, default_bundle_path, load_bundle
    from aqa_core.methods import build_method

    if backbone == "default":
        path = default_bundle_path()
        if path is None:
            raise SystemExit("no default bundle installed; use --backbone i3d or tiny")
        return load_bundle(path)
    torch.manual_seed(0)
    config = json.loads((ROOT / "configs" / "models" / f"musdl_{backbone}.json").read_text())
    return bundle_from_model(build_method(config), f"bench-{backbone}", "0", {"synthetic": True})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_video = ROOT.parent / "shared" / "data" / "clips" / "tokyo2020_dive_a.mp4"
    parser.add_argument("--video", default=str(default_video))
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--backbone", choices=("i3d", "tiny", "default"), default="i3d")
    parser.add_argument("--width", type=int, default=960, help="player width in pixels (16:9)")
    args = parser.parse_args()

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from aqa_core.rules import make_dive_info
    from app.analysis_cache import AnalysisCache
    from app.widgets.player import Player
    from app.workers import ScoreWorker

    app = QApplication(sys.argv[:1])
    bundle = build_bundle(args.backbone)
    dive = make_dive_info("individual", 7, "107B", 10.0, None)
    player = Player()
    player.resize(args.width, args.width * 9 // 16)
    player.show()
    analyses: list[float] = []
    workers: list[ScoreWorker] = []
    cache_dir = tempfile.TemporaryDirectory()

    def start_analysis() -> None:
        """A fresh cache each time, so every run really scores (no cache hit)."""
        worker = ScoreWorker(bundle, args.video, dive, None, AnalysisCache(Path(cache_dir.name) / str(len(workers))))
        started = time.perf_counter()
        worker.result_ready.connect(lambda _r: (analyses.append(time.perf_counter() - started), start_analysis()))
        worker.failed.connect(lambda message: print("analysis failed:", message))
        workers.append(worker)
        worker.start()

    def on_opened(meta) -> None:  # noqa: ANN001
        print(f"video: {meta.path} {meta.width}x{meta.height} {meta.fps:.2f} fps, {meta.frame_count} frames (looped)")
        player.set_loop((0, meta.frame_count - 1))
        start_analysis()
        player.play()
        QTimer.singleShot(int(args.seconds * 1000), app.quit)

    player.video_opened.connect(on_opened)
    player.video_failed.connect(lambda message: (print(message), app.quit()))
    player.open(args.video)
    app.exec()
    player.pause()
    for worker in workers:
        worker.cancel()
    for worker in workers:
        worker.wait()
    player.close_video()

    log = player.pacing
    late_ms = np.array(log.lateness_s) * 1000
    print(f"load average at start/end: {os.getloadavg()[0]:.2f} (1 min), cpus: {os.cpu_count()}")
    print(f"analyses completed while playing: {len(analyses)} ({args.backbone} backbone), "
          f"mean {np.mean(analyses) if analyses else float('nan'):.1f} s each")
    if late_ms.size:
        print(f"frames shown: {late_ms.size}, skipped: {log.skipped}; lateness ms p50 {np.percentile(late_ms, 50):.1f} "
              f"p95 {np.percentile(late_ms, 95):.1f} p99 {np.percentile(late_ms, 99):.1f} max {late_ms.max():.1f}")
    fraction = log.on_time_fraction()
    print(f"ON-TIME FRAMES: {fraction * 100:.1f}% within one frame interval of their due time (target >= 95%)")
    return 0 if fraction >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
