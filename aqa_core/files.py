"""Reading untrusted files within limits, hashing them, and writing files atomically: one place for each job.

Every reader of a user-supplied file (bundle manifests, session exports, annotation files) states
what the real file can be (its largest plausible size, its nesting depth) and this module refuses
anything larger *before* allocating for it. A 1 GiB sparse ``bundle.json`` or a 100,000-deep JSON
array is then one line naming the file, not a minute of swapping or a ``RecursionError``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
import zlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aqa_core.errors import AQAError

if TYPE_CHECKING:  # NumPy is imported by the readers that need it, so writing a file (a session export) does not wait for it
    import numpy as np

_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: linear on long strings


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks (never whole into memory)."""
    with Path(path).open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader (or a crash) sees the old file or the new one, never half of it.

    The partial name carries the process id, so two processes writing the same file never
    share a temporary; ``os.replace`` is atomic on POSIX and Windows. A failed write leaves no
    partial behind.
    """
    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def size_text(n: int) -> str:
    """Bytes in words for messages: 2048 -> '2.0 KiB'."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def read_limited(path: Path, limit: int, what: str, error: type[AQAError]) -> bytes:
    """The whole file if it is at most ``limit`` bytes; ``error`` naming the file otherwise.

    The size is checked before reading and the read itself stops at ``limit + 1`` bytes, so a file
    that grows (or lies through a FIFO) while we read is refused too.
    """
    path = Path(path)
    try:
        if not path.is_file():
            raise error(f"{path}: not a file")
        size = path.stat().st_size
        if size > limit:
            raise error(f"{path}: {size_text(size)} is too large for {what} (at most {size_text(limit)})")
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise error(f"{path}: grew past {size_text(limit)} while being read; refusing it as {what}")
    return data


@cache
def _brackets() -> np.ndarray:
    """+1 for each byte that opens an array or object, -1 for each that closes one, 0 for the rest."""
    import numpy as np

    table = np.zeros(256, np.int8)
    table[[ord("["), ord("{")]] = 1
    table[[ord("]"), ord("}")]] = -1
    return table


def json_depth(data: bytes) -> int:
    """Deepest nesting of arrays and objects in JSON text, brackets inside strings ignored (no parsing)."""
    import numpy as np

    codes = np.frombuffer(_JSON_STRING.sub(b'""', data), np.uint8)
    if codes.size == 0:
        return 0
    return int(max(np.cumsum(_brackets()[codes], dtype=np.int64).max(), 0))


def parse_json(data: bytes, source: Path | str, max_depth: int, error: type[AQAError]) -> Any:
    """JSON from bytes with its nesting depth checked first; every failure is ``error`` naming ``source``."""
    depth = json_depth(data)
    if depth > max_depth:
        raise error(f"{source}: JSON nested {depth} levels deep (at most {max_depth}); refusing it")
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise error(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise error(f"{source}: not valid JSON ({exc})") from None


def read_json(path: Path, limit: int, max_depth: int, what: str, error: type[AQAError]) -> Any:
    """``read_limited`` then ``parse_json``: a bounded JSON file reader."""
    return parse_json(read_limited(path, limit, what, error), path, max_depth, error)


def load_npz(path: Path, max_bytes: int, error: type[AQAError], max_ratio: int = 50) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` (no pickles), with each ``.npy`` header checked before allocating.

    A lying header (shape larger than the member's data), a member that inflates ``max_ratio``
    times past its compressed size (a zip bomb; real arrays of floats compress less than 2x), or
    more than ``max_bytes`` in all are refused with ``error`` naming the file and the array.
    """
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                name = info.filename.removesuffix(".npy")
                total += info.file_size
                if total > max_bytes:
                    raise error(f"{path}: arrays unpack to more than {size_text(max_bytes)}; refusing it")
                if info.file_size > (1 << 20) and info.file_size > max_ratio * max(info.compress_size, 1):
                    raise error(f"{path}: array '{name}' inflates {info.file_size // max(info.compress_size, 1)}x (a zip bomb?); refusing it")
                with archive.open(info) as handle:
                    arrays[name] = _read_npy(handle, info.file_size, f"{path}: array '{name}'", error)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as exc:  # RuntimeError: "encrypted"
        raise error(f"{path}: not a readable .npz file ({exc})") from None
    return arrays


def _read_npy(handle: Any, member_size: int, where: str, error: type[AQAError]) -> np.ndarray:
    import numpy as np

    version = np.lib.format.read_magic(handle)
    if version not in ((1, 0), (2, 0)):
        raise error(f"{where}: unsupported .npy version {version[0]}.{version[1]}")
    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = reader(handle, max_header_size=10_000)
    if dtype.hasobject:
        raise error(f"{where}: holds Python objects (pickles); refusing it")
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if min(shape, default=0) < 0 or nbytes > member_size:
        raise error(f"{where}: header claims shape {shape} ({size_text(nbytes)}) but the file holds {size_text(member_size)}")
    data = bytearray(nbytes)
    got = handle.readinto(data)
    if got != nbytes:
        raise error(f"{where}: truncated ({got} of {nbytes} bytes)")
    array = np.frombuffer(data, dtype=dtype)
    return array.reshape(shape[::-1]).transpose() if fortran else array.reshape(shape)
