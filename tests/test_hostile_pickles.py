"""Hostile pickles: code payloads, bombs and corrupt streams through every reader that unpickles.

The readers are the I3D checkpoint reader (``read_checkpoint``, also reached through the archive
installer) and the research datasets' annotation reader. Each payload would create a marker file
if it ran; every case asserts the exact one-line refusal and that the marker never appears.
The expected global is what the standard library's own Unpickler asks for, not what our code says.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pytest
from hostile_support import (
    PAYLOAD_NAMES,
    PROTOCOLS,
    assert_refused,
    nested_dicts_pickle,
    nested_lists_pickle,
    payloads,
    shared_leaves,
)

from aqa_core.errors import DatasetError, WeightsError
from aqa_core.safe_pickle import NUMPY_ARRAYS, PickleLimits, PickleTooLarge, restricted_load
from aqa_core.weights import CHECKPOINT_LIMITS, read_checkpoint
from trainer.datasets.safe_pickle import load_annotation_pickle


class _Recorder(pickle.Unpickler):
    """The stdlib's view: the first global a pickle asks for."""

    def find_class(self, module: str, name: str) -> object:
        raise LookupError(f"{module}.{name}")


def first_global(data: bytes) -> str:
    with pytest.raises(LookupError) as caught:
        _Recorder(io.BytesIO(data)).load()
    return str(caught.value.args[0])


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("name", PAYLOAD_NAMES)
def test_checkpoint_payload_never_runs(tmp_path: Path, name: str, protocol: int) -> None:
    marker = tmp_path / "pwned"
    data = pickle.dumps({"params": {"Conv3d_1a_7x7": payloads(marker)[name]}, "batch_stats": {}}, protocol=protocol)
    wanted = first_global(data)
    assert_refused(lambda: read_checkpoint(data, "evil.ckpt"), f"evil.ckpt: the checkpoint refers to {wanted}, which this file never needs; refusing it", WeightsError)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("name", PAYLOAD_NAMES)
def test_annotation_payload_never_runs(tmp_path: Path, name: str, protocol: int) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "final_annotations_dict.pkl"
    path.write_bytes(pickle.dumps({("01", 1): {"final_score": payloads(marker)[name]}}, protocol=protocol))
    wanted = first_global(path.read_bytes())
    expected = f"{path}: not a plain-data annotation pickle (refers to {wanted}, which this file never needs; refusing it)"
    assert_refused(lambda: load_annotation_pickle(path), expected, DatasetError)
    assert not marker.exists()


BOMBS = {
    "shared leaves 100**4": (pickle.dumps({"params": shared_leaves(4, 100), "batch_stats": {}}, protocol=4), "unpickles to more than 10000 values (shared references expand); refusing it"),
    "shared leaves 2**200": (pickle.dumps({"params": shared_leaves(200), "batch_stats": {}}, protocol=2), "nests deeper than 8 levels; refusing it"),
    "100k nested lists": (nested_lists_pickle(100_000), "nests deeper than 8 levels; refusing it"),
    "100k nested dicts": (nested_dicts_pickle(100_000), "nests deeper than 8 levels; refusing it"),
    "9 nested dicts": (nested_dicts_pickle(9), "nests deeper than 8 levels; refusing it"),
    "10001 small values": (pickle.dumps({"params": list(range(10_001)), "batch_stats": {}}), "unpickles to more than 10000 values (shared references expand); refusing it"),
}


@pytest.mark.parametrize("name", BOMBS)
def test_checkpoint_bombs_are_refused_by_their_size(name: str) -> None:
    data, reason = BOMBS[name]
    assert_refused(lambda: read_checkpoint(data, "bomb.ckpt"), f"bomb.ckpt: not a readable checkpoint ({reason})", WeightsError)


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_annotation_nesting_is_refused(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.pkl"
    path.write_bytes(nested_lists_pickle(depth))
    assert_refused(lambda: load_annotation_pickle(path), f"{path}: not a plain-data annotation pickle (nests deeper than 32 levels; refusing it)", DatasetError)


def test_annotation_shared_leaves_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "shared.pkl"
    path.write_bytes(pickle.dumps(shared_leaves(5, 100)))
    assert len(path.read_bytes()) < 2000  # a kilobyte that would walk 10**10 leaves
    expected = f"{path}: not a plain-data annotation pickle (unpickles to more than 5000000 values (shared references expand); refusing it)"
    assert_refused(lambda: load_annotation_pickle(path), expected, DatasetError)


def test_input_larger_than_the_limit_is_refused_while_reading() -> None:
    data = pickle.dumps(np.zeros(2000, np.float32), protocol=4)
    limits = PickleLimits(max_input_bytes=1000)
    with pytest.raises(PickleTooLarge, match=r"^is larger than 1000 bytes, more than this file can be; refusing it$"):
        restricted_load(io.BytesIO(data), NUMPY_ARRAYS, limits=limits)


def test_array_bytes_over_the_limit_are_refused() -> None:
    data = pickle.dumps([np.zeros(300, np.float32)] * 2, protocol=4)  # the same array twice counts twice
    with pytest.raises(PickleTooLarge, match=r"^holds more than 2000 bytes of arrays; refusing it$"):
        restricted_load(io.BytesIO(data), NUMPY_ARRAYS, limits=PickleLimits(max_array_bytes=2000))


def test_limits_pass_what_the_real_checkpoint_shape_needs() -> None:
    """A plain checkpoint-shaped tree (5 levels, arrays) is read back exactly: the limits do not refuse real files."""
    tree = {"params": {"Mixed_3b": {"Branch_0/Conv3d_0a_1x1": {"Conv_0": {"kernel": np.arange(6, dtype=np.float32)}}}}, "batch_stats": {}}
    loaded = read_checkpoint(pickle.dumps(tree, protocol=4), "ok.ckpt")
    np.testing.assert_array_equal(loaded["params"]["Mixed_3b"]["Branch_0/Conv3d_0a_1x1"]["Conv_0"]["kernel"], np.arange(6, dtype=np.float32))
    assert CHECKPOINT_LIMITS.max_depth == 8


VALID = pickle.dumps({"params": {"a": np.arange(4, dtype=np.float32)}, "batch_stats": {}}, protocol=4)


@pytest.mark.parametrize("cut", [0, 1, 2, 5, 17, len(VALID) // 2, len(VALID) - 1])
def test_truncated_checkpoint(cut: int) -> None:
    assert_refused(lambda: read_checkpoint(VALID[:cut], "cut.ckpt"), r"^cut\.ckpt: not a readable checkpoint \(.+\)$", WeightsError)


CORRUPT = {
    "not a pickle": b"PK\x03\x04 this is a zip",
    "unknown opcode": b"\x80\x02\xff.",
    "stack underflow": b"\x80\x02a.",
    "memo get of nothing": b"\x80\x02h\x05.",
    "array lies about its shape": pickle.dumps(np.zeros(4, np.float32), protocol=4).replace(b"K\x04\x85", b"J\x00\xca\x9a;\x85"),
    "persistent id": b"\x80\x02X\x01\x00\x00\x00aQ.",
    "a list, not a dict": pickle.dumps([1, 2, 3]),
    "dict without batch_stats": pickle.dumps({"params": {}}),
}


@pytest.mark.parametrize("name", CORRUPT)
def test_corrupt_checkpoint_streams(name: str) -> None:
    data = CORRUPT[name]
    expected = (
        "wrong.ckpt: expected a Flax checkpoint with 'params' and 'batch_stats'"
        if name in ("a list, not a dict", "dict without batch_stats")
        else r"^wrong\.ckpt: not a readable checkpoint \(.+\)$"
    )
    assert_refused(lambda: read_checkpoint(data, "wrong.ckpt"), expected, WeightsError)
