"""The command line that runs ``aqa-judge ARGS`` as a child of this same program.

Why: the Trainer tab and the bundle's self-test train in a child process (a crash or an
out-of-memory there never takes the desk with it). In a frozen app there is no Python to call,
so the child is the app's own executable with a subcommand; in a checkout or an installed wheel
it is this interpreter running ``cli.main``. Either way it is exactly the code that is running.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The bundle's console program: on Windows the desk runs as the windowed "AQA Judge.exe" beside
# it, whose child would have no stdout for the progress stream. (A Windows caller passes
# creationflags=subprocess.CREATE_NO_WINDOW so no console window opens.)
CONSOLE_PROGRAM = "aqa-judge.exe" if sys.platform == "win32" else "aqa-judge"


def own_command(*args: str) -> list[str]:
    """``[program, *args]``: this bundle's console executable, or this Python with ``-m cli.main``."""
    if getattr(sys, "frozen", False):
        console = Path(sys.executable).with_name(CONSOLE_PROGRAM)
        return [str(console) if console.is_file() else sys.executable, *args]
    return [sys.executable, "-m", "cli.main", *args]


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
