"""Per-epoch checkpoints: model + optimizer tensors in safetensors, everything else in JSON.

Both files are written to temporary names and moved into place with ``os.replace`` (atomic on
POSIX and Windows), JSON last, so a kill at any moment leaves either the previous complete
checkpoint or the new one, never a torn mix; the JSON names the tensor file it belongs to.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from aqa_core.errors import AQAError
from aqa_core.files import atomic_write_text

STATE = "last.json"


class CheckpointError(AQAError):
    """A checkpoint to resume from is missing or does not belong to this run."""


def atomic_save_tensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}, str(tmp))
    os.replace(tmp, path)


def _flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, Any] = {"param_groups": state["param_groups"], "state": {}}
    for index, slots in state["state"].items():
        plain["state"][str(index)] = []
        for name, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{index}.{name}"] = value
            plain["state"][str(index)].append(name)
    return tensors, plain


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], plain: dict[str, Any]) -> dict[str, Any]:
    state = {int(index): {name: tensors[f"optimizer.{index}.{name}"] for name in names} for index, names in plain["state"].items()}
    return {"state": state, "param_groups": plain["param_groups"]}


def save_checkpoint(folder: Path, epoch: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer, best: dict[str, torch.Tensor], info: dict[str, Any]) -> Path:
    """Everything needed to continue after ``epoch`` (0-based, completed) exactly."""
    folder.mkdir(parents=True, exist_ok=True)
    opt_tensors, opt_plain = _flatten_optimizer(optimizer.state_dict())
    tensors = {**{f"model.{k}": v for k, v in model.state_dict().items()}, **{f"best.{k}": v for k, v in best.items()}, **opt_tensors}
    tensor_file = f"epoch{epoch:04d}.safetensors"
    atomic_save_tensors(tensors, folder / tensor_file)
    atomic_write_text(folder / STATE, json.dumps({"epoch": epoch, "tensors": tensor_file, "optimizer": opt_plain, **info}, indent=1))
    for old in folder.glob("epoch*.safetensors"):
        if old.name != tensor_file:
            old.unlink(missing_ok=True)
    return folder / tensor_file


def load_checkpoint(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> tuple[int, dict[str, torch.Tensor], dict[str, Any]]:
    """Restore model and optimizer; returns (completed epoch, best weights, the JSON info)."""
    state_path = folder / STATE
    if not state_path.is_file():
        raise CheckpointError(f"{state_path}: no checkpoint to resume from")
    info = json.loads(state_path.read_text(encoding="utf-8"))
    tensors = load_file(str(folder / info["tensors"]))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    optimizer.load_state_dict(_unflatten_optimizer(tensors, info["optimizer"]))
    best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
    return int(info["epoch"]), best, info
