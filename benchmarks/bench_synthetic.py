"""How fast the synthetic generator is: ``python benchmarks/bench_synthetic.py [--dives N]``.

Reports seconds per rendered dive (110 frames, 320x240 unless told) and per dive written to disk
as MP4, because the trainer's demo model is built from a few hundred of them.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from aqa_core.synthetic import generate_dive, write_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dives", type=int, default=10)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    args = parser.parse_args()
    size = (args.width, args.height)

    generate_dive(0, size=size)  # warm caches (judge model, DD table, prior)
    render = []
    for seed in range(args.dives):
        start = time.perf_counter()
        generate_dive(seed, size=size, n_frames=110)
        render.append(time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        write_dataset(Path(folder) / "bench", args.dives, seed=0, size=size)
        written = (time.perf_counter() - start) / args.dives
    print(f"generate_dive, 110 frames {size[0]}x{size[1]}: median {statistics.median(render):.3f} s, max {max(render):.3f} s")
    print(f"write_dataset: {written:.3f} s per dive (render + MP4 encode)")


if __name__ == "__main__":
    main()
