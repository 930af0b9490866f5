"""Read the research datasets' annotation pickles without executing arbitrary code.

``pickle.load`` on a downloaded file can run anything. These annotation files only hold dicts,
lists, tuples, strings and numpy scalars/arrays, so the unpickler admits exactly those and
refuses every other global with a DatasetError naming the file.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from aqa_core.errors import DatasetError
from aqa_core.safe_pickle import NUMPY_ARRAYS, restricted_load

ANNOTATION_GLOBALS = NUMPY_ARRAYS | {
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),  # how protocol-2 pickles carry numpy's raw bytes
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("__builtin__", "set"),  # pickles written by Python 2 (MTL-AQA)
    ("__builtin__", "frozenset"),
}


def load_annotation_pickle(path: Path) -> Any:
    """Unpickle plain data only; Python-2 byte strings are decoded as latin-1 like numpy expects."""
    try:
        with Path(path).open("rb") as handle:
            return restricted_load(handle, ANNOTATION_GLOBALS, encoding="latin1")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise DatasetError(f"{path}: not a plain-data annotation pickle ({exc})") from None


def load_split_list(path: Path, what: str) -> list[Any] | tuple[Any, ...]:
    """A research dataset's split file: a pickled list of dive keys (``what`` names their form)."""
    if not path.is_file():
        raise DatasetError(f"{path}: split file is missing")
    keys = load_annotation_pickle(path)
    if not isinstance(keys, (list, tuple)):
        raise DatasetError(f"{path}: expected a list of {what}")
    return keys
