"""Two gloo processes on CPU train the same model as one process does (same global batch)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file

from test_trainer_loop import config, make_npz
from trainer.run import train


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(rank: int, world: int, port: int, folder: str) -> None:
    os.environ.update({"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(1)
    train(config(Path(folder), "ddp", epochs=3, device="cpu"))


@pytest.mark.slow
def test_two_gloo_processes_match_single_process(tmp_path: Path) -> None:
    make_npz(tmp_path)
    train(config(tmp_path, "single", epochs=3, device="cpu"))
    mp.spawn(_rank_main, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    single = load_file(str(tmp_path / "single" / "bundle" / "weights.safetensors"))
    ddp = load_file(str(tmp_path / "ddp" / "bundle" / "weights.safetensors"))
    assert single.keys() == ddp.keys()
    for name in single:
        torch.testing.assert_close(ddp[name], single[name], rtol=1e-4, atol=1e-5)
    events = (tmp_path / "ddp" / "progress.jsonl").read_text().splitlines()
    assert sum('"event": "start"' in line for line in events) == 1  # only rank 0 writes the log
    assert '"world_size": 2' in events[0]
