"""Pretrained backbone weights from a file the user names: safetensors, or a PyTorch checkpoint read safely.

C3D's Sports-1M weights and R(2+1)D's Kinetics weights are published as PyTorch checkpoints
(``torch.save`` pickles), and nothing downloads them for the user: the backbone spec names the
file (``{"name": "c3d", "weights": "/path/c3d.pickle"}``, or ``--backbone-weights``) and a
missing one is one line saying which file and where to get it. A checkpoint is never given to
``torch.load``: its pickle goes through ``aqa_core.safe_pickle`` admitting only
``collections.OrderedDict``, with our own stand-ins for the tensor-rebuilding and storage globals
it names, so reading it can only ever produce tensors built from the file's own bytes. Both
layouts ``torch.save`` has written are read: the zip archive (PyTorch 1.6 and later) and the
legacy stream of pickles followed by raw storages (the 2017-2019 files these weights come in).

What a bundle records about such weights is ``file_sha256`` of the file: a bundle refuses to
score with any other file (``aqa_core.bundle``).
"""

from __future__ import annotations

import io
import pickle
import pickletools
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from aqa_core.backbones.preprocessing import BackboneInfo
from aqa_core.errors import WeightsError
from aqa_core.files import size_text
from aqa_core.safe_pickle import PickleLimits, RefusedGlobal, restricted_load

MAX_FILE_BYTES = 1 << 30  # C3D's Sports-1M checkpoint is 320 MB, R(2+1)D-34's 255 MB
LIMITS = PickleLimits(max_input_bytes=16 << 20, max_depth=8, max_nodes=100_000)  # the pickles hold names and shapes only
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # torch.serialization.MAGIC_NUMBER, the first pickle of a legacy file
_DTYPES = {
    "FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8, "BoolStorage": torch.bool,
}  # fmt: skip


@dataclass(frozen=True)
class _StorageType:
    dtype: torch.dtype


@dataclass
class _Storage:
    """A storage the pickle refers to; its bytes are filled in from the archive member or the legacy stream."""

    key: str
    dtype: torch.dtype
    numel: int
    data: torch.Tensor | None = None


@dataclass(frozen=True)
class _Pending:
    """A tensor named during unpickling, built once its storage's bytes are read."""

    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage: _Storage, offset: int, size: Any, stride: Any, *_: Any) -> _Pending:
    return _Pending(storage, int(offset), tuple(int(s) for s in size), tuple(int(s) for s in stride))


def _rebuild_parameter(data: Any, *_: Any) -> Any:
    return data


_SUBSTITUTES: dict[tuple[str, str], Any] = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(dtype) for name, dtype in _DTYPES.items()},
}
_ALLOWED = frozenset({("collections", "OrderedDict")})


def read_weights_file(path: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a safetensors file or a PyTorch state-dict checkpoint (WeightsError naming the file)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read ({exc.strerror})") from None
    if size > MAX_FILE_BYTES:
        raise WeightsError(f"{path}: {size_text(size)} is larger than any backbone's weights (at most {size_text(MAX_FILE_BYTES)})")
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise WeightsError(f"{path}: unreadable or corrupt safetensors file ({exc})") from None
    try:
        data = path.read_bytes()
        tree = _read_zip(data) if zipfile.is_zipfile(io.BytesIO(data)) else _read_legacy(data)
    except RefusedGlobal as exc:
        raise WeightsError(f"{path}: the checkpoint {exc}") from None
    except WeightsError as exc:
        raise WeightsError(f"{path}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a corrupt archive or stream can fail almost anywhere
        raise WeightsError(f"{path}: not a readable PyTorch checkpoint ({type(exc).__name__}: {exc})") from None
    return _state_dict(tree, path)


def _load_pickle(data: bytes, storages: dict[str, _Storage]) -> Any:
    def persistent(pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] in ("storage", b"storage") and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f"unexpected persistent id {str(pid)[:60]}")
        key, numel = str(pid[2]), int(pid[4])
        if len(pid) > 5 and pid[5] is not None:
            raise pickle.UnpicklingError("storage views are not used by state dicts")
        return storages.setdefault(key, _Storage(key, pid[1].dtype, numel))

    return restricted_load(io.BytesIO(data), _ALLOWED, encoding="latin1", limits=LIMITS, substitutes=_SUBSTITUTES, persistent=persistent)


def _read_zip(data: bytes) -> Any:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise WeightsError("no data.pkl in the checkpoint archive")
        root = pickles[0].split("/")[0]
        storages: dict[str, _Storage] = {}
        tree = _load_pickle(archive.read(pickles[0]), storages)
        byteorder = f"{root}/byteorder"
        if byteorder in names and archive.read(byteorder).strip() != b"little":
            raise WeightsError("the checkpoint was written big-endian")
        for storage in storages.values():
            member = f"{root}/data/{storage.key}"
            info = archive.getinfo(member)
            expected = storage.numel * _itemsize(storage.dtype)
            if info.file_size != expected:
                raise WeightsError(f"storage {storage.key} holds {info.file_size} bytes, its tensors need {expected}")
            storage.data = torch.frombuffer(bytearray(archive.read(member)), dtype=storage.dtype) if expected else torch.empty(0, dtype=storage.dtype)
    return tree


def _pickle_end(data: bytes, start: int) -> int:
    """Where the pickle starting at ``start`` ends (just after its STOP); genops allocates nothing large."""
    end = None
    for opcode, _, position in pickletools.genops(io.BytesIO(data[start : start + LIMITS.max_input_bytes])):
        if opcode.name == "STOP":
            end = start + position + 1
    if end is None:
        raise WeightsError("a pickle in the checkpoint has no end")
    return end


def _read_legacy(data: bytes) -> Any:
    """Legacy ``torch.save``: magic number, protocol, system info, the object, its storage keys, then each storage."""
    position, parts = 0, []
    storages: dict[str, _Storage] = {}
    for index in range(5):
        end = _pickle_end(data, position)
        chunk = data[position:end]
        parts.append(_load_pickle(chunk, storages) if index == 3 else restricted_load(io.BytesIO(chunk), frozenset(), encoding="latin1", limits=LIMITS))
        position = end
        if index == 0 and parts[0] != LEGACY_MAGIC:
            raise WeightsError("not a PyTorch checkpoint (no torch.save magic number)")
    keys = parts[4]
    if not isinstance(keys, list) or sorted(map(str, keys)) != sorted(storages):
        raise WeightsError("the checkpoint's storage list does not match its tensors")
    for key in map(str, keys):
        storage = storages[key]
        numel = int.from_bytes(data[position : position + 8], "little")
        nbytes = numel * _itemsize(storage.dtype)
        if numel != storage.numel or position + 8 + nbytes > len(data):
            raise WeightsError(f"storage {key} is cut short or mislabelled")
        raw = bytearray(data[position + 8 : position + 8 + nbytes])
        storage.data = torch.frombuffer(raw, dtype=storage.dtype) if nbytes else torch.empty(0, dtype=storage.dtype)
        position += 8 + nbytes
    return parts[3]


def _itemsize(dtype: torch.dtype) -> int:
    return torch.empty(0, dtype=dtype).element_size()


def _state_dict(tree: Any, path: Path) -> dict[str, torch.Tensor]:
    """The name -> tensor mapping: the checkpoint itself, or its ``state_dict`` / ``model`` entry."""
    if isinstance(tree, Mapping):
        for key in ("state_dict", "model"):
            if isinstance(tree.get(key), Mapping):
                tree = tree[key]
                break
    if not isinstance(tree, Mapping) or not tree:
        raise WeightsError(f"{path}: expected a state dict (names to tensors)")
    state = {}
    for name, value in tree.items():
        if not isinstance(name, str) or not isinstance(value, _Pending) or value.storage.data is None:
            raise WeightsError(f"{path}: entry {str(name)[:60]!r} is not a tensor")
        try:
            tensor = value.storage.data.as_strided(value.size, value.stride, value.offset).clone()
        except RuntimeError as exc:
            raise WeightsError(f"{path}: tensor {name} does not fit its storage ({exc})") from None
        state[name.removeprefix("module.")] = tensor
    return state


def named_weights(spec: Mapping[str, Any], info: BackboneInfo) -> Path:
    """The existing weights file a spec names; the one-line WeightsError says which file and where to get it."""
    given = spec.get("weights")
    where = f"get it from {info.source}" if info.source else "see the backbone's documentation"
    if not given:
        raise WeightsError(
            f"{info.label} needs its {info.pretrained_on} weights: name the file with model.backbone.weights "
            f"(or --backbone-weights); {where}"
        )
    path = Path(str(given)).expanduser()
    if not path.is_file():
        raise WeightsError(f"{info.label} weights file {path} not found; {where} on a computer that is online, and name your copy")
    return path


def load_named_weights(spec: Mapping[str, Any], info: BackboneInfo, module: torch.nn.Module, ignore: tuple[str, ...] = ()) -> str:
    """Load the named file into ``module`` (names and shapes checked, float32, finite); returns its file sha256.

    ``ignore`` are name prefixes a published checkpoint carries that the module leaves out (C3D's classifier).
    """
    from aqa_core.files import file_sha256

    path = named_weights(spec, info)
    state = {k: v for k, v in read_weights_file(path).items() if not k.startswith(ignore)}
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    missing, unexpected = sorted(expected.keys() - state.keys()), sorted(state.keys() - expected.keys())
    if missing or unexpected:
        detail = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise WeightsError(f"{path}: not the {info.label} {info.pretrained_on} weights ({detail}); {info.source}")
    for name, shape in expected.items():
        if tuple(state[name].shape) != shape:
            raise WeightsError(f"{path}: {name} has shape {tuple(state[name].shape)}, {info.label} needs {shape}")
        if state[name].is_floating_point():
            state[name] = state[name].float()
            if not torch.isfinite(state[name]).all():
                raise WeightsError(f"{path}: {name} holds NaN or infinity")
    module.load_state_dict(state)
    return file_sha256(path)


__all__ = ["load_named_weights", "named_weights", "read_weights_file"]
