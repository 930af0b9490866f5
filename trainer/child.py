"""The training child's command line: ``train`` itself, or torchrun running several copies of it.

The program and its environment come from ``aqa_core.own_program`` (the app's own executable when
frozen, this interpreter running ``cli.main`` otherwise), shared with the video check.
"""

from __future__ import annotations

from pathlib import Path

from aqa_core.own_program import own_command


def train_command(config: Path, work_dir: Path, resume: bool = False, processes: int = 1) -> list[str]:
    """The child that trains ``config``: ``train`` itself, or torchrun running ``processes`` copies of it (DDP).

    Several processes go through our own ``torchrun`` subcommand (torch's launcher run in this
    program, so the frozen app needs no ``torchrun`` on PATH) with ``--no-python``: each rank is
    ``own_command("train", ...)`` exactly as a single run is. ``--standalone`` picks a free port on
    this machine. Which GPUs the ranks see is the caller's CUDA_VISIBLE_DEVICES (``gpu_environment``).
    """
    train = own_command("train", str(config), "--work-dir", str(work_dir), *(["--resume"] if resume else []))
    if processes <= 1:
        return train
    return own_command("torchrun", "--", "--standalone", f"--nproc-per-node={processes}", "--no-python", *train)


def gpu_environment(gpus: list[int]) -> dict[str, str]:
    """The child's CUDA_VISIBLE_DEVICES for these GPU indices (rank i then uses the i-th of them); none: unchanged."""
    return {"CUDA_VISIBLE_DEVICES": ",".join(str(g) for g in gpus)} if gpus else {}
