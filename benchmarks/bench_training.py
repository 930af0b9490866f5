"""Feature-cache training: seconds per epoch for the demo model's heads on 300 dives of cached features.

What ``aqa-judge train`` does each epoch in ``features`` mode (trainer/loop.py): the method's loss
on batches of 32 dives of 10 cached I3D features, Adam steps, one thread (the trainer's setting for
heads on the CPU). The reference, measured in the same run, is the same 300 dives' loss and
backward as one batch: the arithmetic without the per-step overhead.

    python benchmarks/bench_training.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.table import Row, format_table  # noqa: E402

DIVES, CLIPS, FEATURES, BATCH = 300, 10, 1024, 32


def rows() -> list[Row]:
    import numpy as np
    import torch

    from aqa_core.bundle import default_bundle_path, load_bundle
    from aqa_core.methods import build_method
    from aqa_core.result import DiveInfo

    config = {**load_bundle(default_bundle_path()).config, "backbone": {"name": "i3d", "pretrained": False}}
    model = build_method(config).train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    judges = torch.as_tensor(np.round(rng.uniform(4, 9, (DIVES, 7)) * 2) / 2, dtype=torch.float32)
    dives = [DiveInfo("individual", 7, "107B", 10.0, 3.0)] * DIVES
    data = {"features": torch.randn(DIVES, CLIPS, FEATURES, generator=torch.Generator().manual_seed(0)),
            "judges": judges, "final": judges.sort(dim=1).values[:, 2:5].sum(dim=1) * 3.0}
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)

    def batch(idx: torch.Tensor) -> dict:
        return {"features": data["features"][idx], "judges": data["judges"][idx], "final": data["final"][idx], "dives": [dives[i] for i in idx.tolist()]}

    def epoch() -> None:
        for start in range(0, DIVES, BATCH):
            optimizer.zero_grad(set_to_none=True)
            model.loss(batch(torch.arange(start, min(start + BATCH, DIVES)))).backward()
            optimizer.step()

    def one_batch() -> None:
        optimizer.zero_grad(set_to_none=True)
        model.loss(batch(torch.arange(DIVES))).backward()

    try:
        times = {}
        for name, run in (("epoch", epoch), ("one batch", one_batch)):
            run()
            best = []
            for _ in range(3):
                started = time.perf_counter()
                run()
                best.append(time.perf_counter() - started)
            times[name] = min(best)
    finally:
        torch.set_num_threads(threads)
    return [Row(f"feature-cache training, {config['head']['name']} heads, {DIVES} dives, batch {BATCH}", times["epoch"], "s/epoch",
                "same dives as one batch (no per-step overhead)", times["one batch"], note="1 thread, as the trainer runs heads")]


if __name__ == "__main__":
    print(format_table([("training", row) for row in rows()]))
