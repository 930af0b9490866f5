"""How fast I3D turns one dive (10 clips x 16 frames x 224^2) into features, and how close to the hardware.

Run: ``python benchmarks/bench_backbone.py [--repeats 3] [--device cpu] [--precision auto]``.

It prints seconds per dive (best of ``--repeats``) for
* the seeds' reference way: ten clip forward passes one after another, float32, contiguous layout;
* float32, all clips in one batched forward, contiguous and channels_last_3d layouts;
* with ``--precision bfloat16`` (or on CUDA), bf16/fp16 autocast, batched, channels_last_3d;
* on the CPU with OpenVINO installed, the project's float32 OpenVINO engines (the I3D converted
  as ``aqa_core.inference.openvino_engine`` converts it): clip by clip on all threads, and clips
  on one stream per thread;
with the model's achieved GFLOP/s (FLOPs counted once with FlopCounterMode) against a large
matmul's GFLOP/s in the same dtype measured in the same run, so the figures stay comparable on a
machine shared with other work. PyTorch's float32 matmul goes to MKL, which on an AMD CPU runs
far below the vector units' rate (195 GFLOP/s where OpenVINO's convolutions reach 470), so the
OpenVINO rows are set against OpenVINO's own float32 matmul, the real float32 compute floor.
Timings do not depend on the weight values, so an untrained I3D is used and the benchmark needs
no weights.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aqa_core.backbones  # noqa: F401,E402 - registers the backbones
from aqa_core.registry import BACKBONES  # noqa: E402
from aqa_core.runtime import Runtime, choose_runtime  # noqa: E402
from benchmarks.table import best_seconds  # noqa: E402

CLIPS, FRAMES, SIZE = 10, 16, 224


def dive_flops() -> int:
    """FLOPs of one dive's forward, counted on the meta device (no arithmetic is done)."""
    with torch.device("meta"):
        meta_model = BACKBONES.build({"name": "i3d", "pretrained": False})
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        meta_model(torch.empty(CLIPS, 3, FRAMES, SIZE, SIZE, device="meta"))
    return counter.get_total_flops()


def matmul_gflops(runtime: Runtime, dtype: torch.dtype, repeats: int, n: int = 2048) -> float:
    a = torch.randn(n, n, device=runtime.device, dtype=dtype)
    b = torch.randn(n, n, device=runtime.device, dtype=dtype)

    def run() -> None:
        (a @ b).sum().item()  # .item() synchronises CUDA

    return 2 * n**3 / best_seconds(run, repeats) / 1e9


def openvino_matmul_gflops(threads: int, repeats: int, n: int = 2048) -> float:
    """float32 GFLOP/s of an n^2 matmul compiled by OpenVINO's CPU plugin on ``threads`` threads."""
    import numpy as np
    import openvino as ov
    from openvino import opset1

    from aqa_core.inference.openvino_engine import _core

    rng = np.random.default_rng(0)
    a = opset1.parameter([n, n], np.float32)
    model = ov.Model([opset1.matmul(a, opset1.constant(rng.standard_normal((n, n), np.float32)), False, False)], [a])
    request = _core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": threads,
                                                    "PERFORMANCE_HINT": "LATENCY"}).create_infer_request()
    x = rng.standard_normal((n, n), np.float32)
    return 2 * n**3 / best_seconds(lambda: request.infer({0: x}), repeats) / 1e9


def openvino_rows(model: torch.nn.Module, clips: torch.Tensor, threads: int, repeats: int) -> list[tuple[str, str, float]]:
    """[(variant, "openvino float32", seconds per dive)] for the project's float32 OpenVINO engines; [] without OpenVINO."""
    from aqa_core.inference.openvino_engine import OpenVinoEngine, convert, openvino_available

    if not openvino_available():
        return []
    with tempfile.TemporaryDirectory() as folder:
        path = convert(model, tuple(clips.shape[1:]), Path(folder) / "i3d.openvino" / "i3d.xml")
        engines = [OpenVinoEngine(path, "float32", threads)]
        if threads > 1:
            engines.append(OpenVinoEngine(path, "float32", threads, streams=threads))
        return [(engine.name, "openvino float32", best_seconds(lambda e=engine: e.features(clips), repeats)) for engine in engines]


def measure(device: str | None, precision: str, threads: int | None, repeats: int) -> tuple[Runtime, int, dict[str, float], list[tuple[str, str, float]]]:
    """(chosen runtime, FLOPs per dive, matmul GFLOP/s per dtype, [(variant, dtype, seconds per dive)])."""
    chosen = choose_runtime(device, precision, threads)
    float32 = Runtime(chosen.device, None, True, chosen.threads, "float32")
    reference = Runtime(chosen.device, None, False, chosen.threads, "float32 reference")
    model = BACKBONES.build({"name": "i3d", "pretrained": False})
    clips = torch.rand(CLIPS, 3, FRAMES, SIZE, SIZE, generator=torch.Generator().manual_seed(0)) * 2 - 1

    def batched(runtime: Runtime) -> Callable[[], object]:
        module, batch = runtime.prepare_module(model), runtime.prepare_input(clips)

        def run() -> object:
            with runtime.autocast():
                return module(batch).float().sum().item()

        return run

    def one_clip_at_a_time() -> object:
        module, batch = reference.prepare_module(model), reference.prepare_input(clips)
        with torch.no_grad():
            return [module(clip[None]).sum().item() for clip in batch]

    matmul = {"float32": matmul_gflops(chosen, torch.float32, repeats)}
    if chosen.autocast_dtype is not None:
        matmul[chosen.precision] = matmul_gflops(chosen, chosen.autocast_dtype, repeats)
    rows = [("reference: 10 passes, float32", "float32", best_seconds(one_clip_at_a_time, repeats))]
    rows.append(("batched, contiguous, float32", "float32", best_seconds(batched(reference), repeats)))
    rows.append(("batched, channels_last, float32", "float32", best_seconds(batched(float32), repeats)))
    if chosen.autocast_dtype is not None:
        rows.append((f"batched, channels_last, {chosen.precision}", chosen.precision, best_seconds(batched(chosen), repeats)))
    if chosen.device.type == "cpu":
        openvino = openvino_rows(model, clips, chosen.threads, repeats)
        if openvino:
            matmul["openvino float32"] = openvino_matmul_gflops(chosen.threads, repeats)
            rows += openvino
    return chosen, dive_flops(), matmul, rows


def rows() -> list:
    """scripts/bench's rows: the seeds' way against the matmul compute floor, each variant against the seeds' way.

    bf16 is included where the CPU computes it natively, although its scores do not agree with
    float32 (bench_runtime.py says so and the chooser excludes it): it shows what the precision costs.
    """
    from aqa_core.inference.cpu import cpu_features
    from benchmarks.table import Row

    precision = "bfloat16" if cpu_features().native_bf16 or torch.cuda.is_available() else "float32"
    chosen, flops, matmul, measured = measure(None, precision, None, 1)
    (name0, _, seeds), *others = measured
    floor = flops / (matmul["float32"] * 1e9)
    out = [Row(f"I3D dive (untrained weights), {name0}", seeds, "s", "compute floor at float32 matmul rate", floor,
               note=f"{flops / 1e9:.0f} GFLOP, {matmul['float32']:.0f} GFLOP/s matmul")]
    if "openvino float32" in matmul:
        rate = matmul["openvino float32"]
        out.append(Row("I3D dive, compute floor at OpenVINO's float32 matmul rate", flops / (rate * 1e9), "s", "seeds' way (reference row)", seeds,
                       note=f"{rate:.0f} GFLOP/s (PyTorch's MKL matmul: {matmul['float32']:.0f})"))
    for name, dtype, seconds in others:
        note = f"{flops / seconds / 1e9 / matmul[dtype]:.0%} of {dtype} matmul ({matmul[dtype]:.0f} GFLOP/s)"
        out.append(Row(f"I3D dive (untrained weights), {name}", seconds, "s", "seeds' way (reference row)", seeds, note=note))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default=None)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    chosen, flops, matmul, rows = measure(args.device, args.precision, args.threads, args.repeats)
    print(f"device: {chosen.description}; one dive = {CLIPS} clips x {FRAMES} x {SIZE}^2 = {flops / 1e9:.1f} GFLOP")
    for name, rate in matmul.items():
        print(f"{name} matmul 2048^2: {rate:.0f} GFLOP/s")
    base = rows[0][2]
    print(f"\n{'variant':40} {'s/dive':>8} {'GFLOP/s':>8} {'of matmul':>10} {'speed-up':>9}")
    for name, dtype, seconds in rows:
        rate = flops / seconds / 1e9
        print(f"{name:40} {seconds:8.2f} {rate:8.0f} {rate / matmul[dtype]:10.0%} {base / seconds:8.2f}x")


if __name__ == "__main__":
    main()
