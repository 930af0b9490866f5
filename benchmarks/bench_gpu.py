"""The I3D on a CUDA GPU: ms per dive, the share of the GPU's measured dense bf16 matmul throughput,
and fine-tune-mode training clips per second. Without CUDA it prints one row: "no GPU".

The reference of every inference row is the product's own float32 engine (``TorchEngine`` under
``choose_runtime``) on one dive of 10 clips, measured in the same run; the rows then add one thing
each: 16-bit autocast (what "auto" picks on CUDA), cuDNN's autotuner, a batch of several dives
(throughput, as feature extraction for training runs), CUDA-graph replay of the whole forward
(the per-kernel launch cost gone), then fine-tune training steps, and torch.compile last (it
compiles for a minute or more). Goal (issue 16): <= 5 ms per dive on an
H100/H200-class chip. Timings do not depend on the weight values, so an untrained I3D is used.
Each row is printed to stderr as soon as it is measured, so a run cut short still says something.

    python benchmarks/bench_gpu.py [--dives 16] [--compile]
    python benchmarks/bench_gpu.py --device cpu --dives 1 --repeats 1   # a smoke run of the reference row
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.table import Row, best_seconds, format_table  # noqa: E402

CLIPS, FRAMES, SIZE = 10, 16, 224


def _timer(device_type: str, repeats: int) -> Callable[[Callable[[], object]], float]:
    import torch

    sync = torch.cuda.synchronize if device_type == "cuda" else None
    return lambda run: best_seconds(run, repeats, sync=sync)


def _say(row: Row, out: list[Row]) -> None:
    out.append(row)
    print(f"[gpu] {row.figure}: {row.value if row.value is None else round(row.value, 3)} {row.unit} {row.note}", file=sys.stderr, flush=True)


def rows(device: str = "cuda", dives: int = 16, repeats: int = 5, compile_: bool = True) -> list[Row]:
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        return [Row("GPU", None, "", note="no GPU (this PyTorch sees no CUDA device)")]
    import aqa_core.backbones  # noqa: F401 - registers the backbones
    from aqa_core.inference.engines import TorchEngine
    from aqa_core.registry import BACKBONES
    from aqa_core.runtime import choose_runtime
    from benchmarks.bench_backbone import dive_flops

    cuda = device == "cuda"
    timed = _timer(device, repeats)
    name = torch.cuda.get_device_name() if cuda else "CPU smoke run"
    half = torch.bfloat16 if not cuda or torch.cuda.is_bf16_supported() else torch.float16
    half_name = str(half).removeprefix("torch.")
    out: list[Row] = []
    if cuda:
        n = 8192
        a, b = (torch.randn(n, n, device=device, dtype=half) for _ in range(2))
        peak = 2 * n**3 / timed(lambda: a @ b) / 1e12
        del a, b
    else:
        peak = float("nan")
    _say(Row(f"{name}: dense {half_name} matmul 8192^3 (the ceiling the shares use)", peak, "TFLOP/s", lower_is_better=False), out)
    flops = dive_flops()  # one dive = 10 clips

    def share(seconds_per_dive: float, factor: float = 1.0) -> str:
        return f"{factor * flops / seconds_per_dive / 1e12 / peak:.1%} of that matmul rate" if cuda else ""

    backbone = BACKBONES.build({"name": "i3d", "pretrained": False})
    dive = torch.rand(CLIPS, 3, FRAMES, SIZE, SIZE) * 2 - 1
    many = torch.rand(dives * CLIPS, 3, FRAMES, SIZE, SIZE) * 2 - 1

    def engine_seconds(precision: str, clips: torch.Tensor) -> float:
        engine = TorchEngine(backbone, choose_runtime(device, precision))
        on_device = engine.runtime.prepare_input(clips)
        return timed(lambda: engine.features(on_device))

    reference = engine_seconds("float32", dive)
    ref_name = "product float32 engine, 1 dive"
    _say(Row(f"{name}: I3D, {ref_name} (IEEE float32: TF32 off)", reference * 1e3, "ms", note=share(reference)), out)

    def variant(figure: str, run: Callable[[], float], per: int = 1) -> float | None:
        try:
            seconds = run() / per
        except Exception as exc:  # noqa: BLE001 - one variant failing (a compiler, a capture) must not hide the others
            _say(Row(f"{name}: {figure}", None, "ms", note=f"failed: {type(exc).__name__}: {exc}"[:160]), out)
            return None
        _say(Row(f"{name}: {figure}", seconds * 1e3, "ms", ref_name, reference * 1e3, note=share(seconds)), out)
        return seconds

    if not cuda:
        return out
    variant(f"I3D, product {half_name} autocast engine, 1 dive", lambda: engine_seconds(half_name, dive))
    torch.backends.cudnn.benchmark = True  # cuDNN times its algorithms once per shape, then keeps the fastest
    variant("I3D, product float32 engine + cudnn.benchmark, 1 dive", lambda: engine_seconds("float32", dive))
    variant(f"I3D, {half_name} autocast + cudnn.benchmark, 1 dive", lambda: engine_seconds(half_name, dive))
    variant(f"I3D, {half_name} autocast + cudnn.benchmark, {dives} dives a batch (per dive)", lambda: engine_seconds(half_name, many), per=dives)
    variant(f"I3D, float16 autocast + cudnn.benchmark, {dives} dives a batch (per dive)", lambda: engine_seconds("float16", many), per=dives)

    model = backbone.to(device, memory_format=torch.channels_last_3d).eval()

    def tf32() -> float:  # PyTorch's default float32 on CUDA (TF32 convolutions), which our engine turns off
        static = dive.to(device, memory_format=torch.channels_last_3d)

        def run() -> None:
            with torch.inference_mode():
                model(static)
        return timed(run)

    variant("I3D, float32 with TF32 convolutions (PyTorch's default) + cudnn.benchmark, 1 dive", tf32)

    def graphed(clips: torch.Tensor) -> float:
        static = clips.to(device, memory_format=torch.channels_last_3d)
        # autocast's weight-cast cache must be off for capture: the cached casts would be freed with the graph's pool
        context = lambda: torch.autocast("cuda", dtype=half, cache_enabled=False)  # noqa: E731
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side), torch.inference_mode(), context():
            for _ in range(3):  # warm-up off the default stream, as capture requires
                model(static)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.inference_mode(), context(), torch.cuda.graph(graph):
            model(static)
        return timed(graph.replay)

    variant(f"I3D, {half_name} autocast + CUDA graph replay, 1 dive", lambda: graphed(dive))
    variant(f"I3D, {half_name} autocast + CUDA graph replay, {dives} dives a batch (per dive)", lambda: graphed(many), per=dives)

    train = BACKBONES.build({"name": "i3d", "pretrained": False}).to(device, memory_format=torch.channels_last_3d).train()
    optimizer = torch.optim.Adam(train.parameters(), lr=1e-5)  # the trainer's optimiser
    for size in (32, 160):
        batch = many[:size].to(device, memory_format=torch.channels_last_3d)

        def step() -> None:
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=half):
                loss = train(batch).float().pow(2).mean()
            loss.backward()
            optimizer.step()

        try:
            seconds = _timer(device, max(2, repeats // 2))(step)
            _say(Row(f"{name}: fine-tune step, {half_name} autocast, {size} clips a step", size / seconds, "clips/s", lower_is_better=False,
                     note=share(seconds / size * CLIPS, factor=3.0) + " (3x the forward FLOPs)"), out)
        except Exception as exc:  # noqa: BLE001
            _say(Row(f"{name}: fine-tune step, {size} clips", None, "clips/s", note=f"failed: {type(exc).__name__}: {exc}"[:160]), out)
    if compile_:
        def compiled() -> float:
            started = time.perf_counter()
            fast = torch.compile(model, mode="default")
            static = dive.to(device, memory_format=torch.channels_last_3d)
            with torch.inference_mode(), torch.autocast("cuda", dtype=half):
                fast(static)
            print(f"[gpu] torch.compile took {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)

            def run() -> None:
                with torch.inference_mode(), torch.autocast("cuda", dtype=half):
                    fast(static)
            return timed(run)

        variant(f"I3D, {half_name} autocast + torch.compile (inductor), 1 dive", compiled)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), or cpu for a smoke run of the reference row")
    parser.add_argument("--dives", type=int, default=16, help="dives in the throughput batch (default 16)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-compile", dest="compile_", action="store_false", help="skip torch.compile (minutes of compilation)")
    args = parser.parse_args(argv)
    print(format_table([("gpu", row) for row in rows(args.device, args.dives, args.repeats, args.compile_)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
