"""The I3D on a CUDA GPU: ms per dive batched under bf16/fp16 autocast (eager and torch.compile with
CUDA graphs, whichever pays), the share of the GPU's measured dense bf16 matmul throughput, and
fine-tune-mode training clips per second. Without CUDA it prints one row: "no GPU".

Goal (issue 16): <= 5 ms per dive on an H100/H200-class chip. Timings do not depend on the weight
values, so an untrained I3D is used.

    python benchmarks/bench_gpu.py [--dives 16]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.table import Row, best_seconds, format_table  # noqa: E402

DIVES, CLIPS, FRAMES, SIZE = 16, 10, 16, 224


def _cuda_best(run, repeats: int = 5) -> float:  # noqa: ANN001
    import torch

    return best_seconds(run, repeats, sync=torch.cuda.synchronize)


def rows() -> list[Row]:
    import torch

    if not torch.cuda.is_available():
        return [Row("GPU", None, "", note="no GPU (this PyTorch sees no CUDA device)")]
    import aqa_core.backbones  # noqa: F401 - registers the backbones
    from aqa_core.registry import BACKBONES
    from benchmarks.bench_backbone import dive_flops

    device = torch.device("cuda")
    name = torch.cuda.get_device_name(device)
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    n = 8192
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    matmul = 2 * n**3 / _cuda_best(lambda: a @ b) / 1e12  # TFLOP/s
    flops = dive_flops()  # one dive = 10 clips
    model = BACKBONES.build({"name": "i3d", "pretrained": False}).to(device, memory_format=torch.channels_last_3d).eval()
    clips = (torch.rand(DIVES * CLIPS, 3, FRAMES, SIZE, SIZE, device=device) * 2 - 1).contiguous(memory_format=torch.channels_last_3d)

    def forward(module):  # noqa: ANN001, ANN202
        def run() -> None:
            with torch.inference_mode(), torch.autocast("cuda", dtype=dtype):
                module(clips)
        return run

    eager = _cuda_best(forward(model)) / DIVES
    out = [Row(f"GPU {name}: I3D dive, eager {str(dtype)[6:]} autocast, {DIVES} dives a batch", eager * 1e3, "ms",
               note=f"{flops / eager / 1e12 / matmul:.0%} of measured dense {str(dtype)[6:]} matmul ({matmul:.0f} TFLOP/s); goal <= 5 ms")]
    try:
        compiled = torch.compile(model, mode="max-autotune")  # CUDA graphs + autotuned kernels
        best = _cuda_best(forward(compiled)) / DIVES
        out.append(Row(f"GPU {name}: I3D dive, torch.compile max-autotune (CUDA graphs)", best * 1e3, "ms", "eager, same run", eager * 1e3,
                       note=f"{flops / best / 1e12 / matmul:.0%} of dense matmul"))
    except Exception as exc:  # noqa: BLE001 - compilation is an optimisation; eager still stands
        out.append(Row(f"GPU {name}: torch.compile", None, "ms", note=f"failed: {type(exc).__name__}: {exc}"[:120]))

    train = BACKBONES.build({"name": "i3d", "pretrained": False}).to(device, memory_format=torch.channels_last_3d).train()
    optimizer = torch.optim.SGD(train.parameters(), lr=1e-4)
    batch = clips[:32]

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=dtype):
            loss = train(batch).float().pow(2).mean()
        loss.backward()
        optimizer.step()

    seconds = _cuda_best(step, repeats=3)
    out.append(Row(f"GPU {name}: fine-tune training, {len(batch)} clips a step", len(batch) / seconds, "clips/s", lower_is_better=False,
                   note=f"{3 * flops / CLIPS * len(batch) / seconds / 1e12 / matmul:.0%} of dense matmul (3x forward FLOPs)"))
    return out


if __name__ == "__main__":
    print(format_table([("gpu", row) for row in rows()]))
