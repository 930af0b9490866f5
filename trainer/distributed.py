"""torch.distributed set-up so one entry point runs alone or under ``torchrun --nproc_per_node N``.

torchrun sets RANK/WORLD_SIZE/LOCAL_RANK; we then join the process group (NCCL on GPUs, gloo on
CPU), pin each rank to its GPU, and let only rank 0 write logs, checkpoints and bundles. Each
optimisation step splits the same global batch over the ranks, so N processes reproduce a
single-process run (up to float summation order).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str | None = None) -> DistContext:
    """Join the torchrun process group if there is one; otherwise a single-process context."""
    want_cuda = (device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext(device=torch.device(device or ("cuda" if want_cuda else "cpu")))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if want_cuda else "gloo")
    if want_cuda:
        torch.cuda.set_device(local_rank)
    return DistContext(rank=dist.get_rank(), world_size=dist.get_world_size(), device=torch.device(f"cuda:{local_rank}" if want_cuda else "cpu"))


def wrap(model: torch.nn.Module, ctx: DistContext) -> torch.nn.Module:
    if not ctx.active:
        return model
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def barrier(ctx: DistContext) -> None:
    if ctx.active:
        dist.barrier()


def any_rank(ctx: DistContext, flag: bool) -> bool:
    """True on every rank when it is true on any: a stop file seen by one rank between two others' checks."""
    if not ctx.active:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=ctx.device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def shutdown(ctx: DistContext) -> None:
    if ctx.active and dist.is_initialized():
        dist.destroy_process_group()
