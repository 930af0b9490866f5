"""Hostile features ``.npz`` files: every array header is checked before anything is allocated.

Each case writes a small file (or a small file that claims to be huge) and asserts the exact
one-line refusal, or the correct dataset for the valid variants.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hostile_support import assert_refused, payloads

import trainer.datasets.features_npz as features_npz
from aqa_core.errors import DatasetError
from trainer.datasets.features_npz import read_features_npz


def npy_bytes(array: np.ndarray, version: tuple[int, int] = (1, 0)) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version, allow_pickle=True)
    return buffer.getvalue()


def lying_npy(shape: tuple[int, ...], data: bytes = b"\0" * 64, dtype: str = "<f4") -> bytes:
    """A .npy whose header claims ``shape`` but which holds only ``data``."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data


def write_npz(path: Path, members: dict[str, bytes], compress: bool = False) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)
    return path


def good_arrays(n: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"features": rng.standard_normal((n, 10, 8)).astype(np.float32), "final_score": np.linspace(40, 80, n),
            "judge_scores": np.full((n, 7), 7.5), "difficulty": np.full(n, 3.0), "split": np.array(["train", "val", "test", "train"][:n])}  # fmt: skip


def test_valid_file_reads_exactly(tmp_path: Path) -> None:
    arrays = good_arrays()
    path = tmp_path / "f.npz"
    np.savez_compressed(path, **arrays)
    dataset = read_features_npz(path)
    assert [r.split for r in dataset.records] == ["train", "val", "test", "train"]
    np.testing.assert_array_equal(dataset.records[2].features, arrays["features"][2])
    assert [r.final_score for r in dataset.records] == arrays["final_score"].tolist()


def test_fortran_order_arrays_read_exactly(tmp_path: Path) -> None:
    arrays = good_arrays()
    members = {k: npy_bytes(np.asfortranarray(v) if k == "features" else v) for k, v in arrays.items()}
    dataset = read_features_npz(write_npz(tmp_path / "f.npz", members))
    np.testing.assert_array_equal(dataset.records[1].features, arrays["features"][1])


def _case(path: Path, name: str) -> str:
    """Write case ``name`` to ``path``; returns the expected message after the path."""
    g = good_arrays()
    members = {k: npy_bytes(v) for k, v in g.items()}
    if name == "zero dives":
        members = {"features": npy_bytes(np.zeros((0, 8), np.float32)), "final_score": npy_bytes(np.zeros(0))}
        write_npz(path, members)
        return "'features' must be N x D or N x clips x D, got shape (0, 8)"
    if name == "zero clips":
        members["features"] = npy_bytes(np.zeros((4, 0, 8), np.float32))
        write_npz(path, members)
        return "'features' has shape (4, 0, 8): every dive needs at least one clip of at least one feature"
    if name == "zero features":
        members["features"] = npy_bytes(np.zeros((4, 0), np.float32))
        write_npz(path, members)
        return "'features' has shape (4, 0): every dive needs at least one clip of at least one feature"
    if name == "1-D features":
        members["features"] = npy_bytes(np.zeros(4, np.float32))
        write_npz(path, members)
        return "'features' must be N x D or N x clips x D, got shape (4,)"
    if name == "4-D features":
        members["features"] = npy_bytes(np.zeros((4, 1, 1, 8), np.float32))
        write_npz(path, members)
        return "'features' must be N x D or N x clips x D, got shape (4, 1, 1, 8)"
    if name == "header claims 10**12 floats":
        members["features"] = lying_npy((10**12,))
        write_npz(path, members)
        return "array 'features': header claims shape (1000000000000,) (3725.3 GiB) but the file holds 192 bytes"
    if name == "header claims 2**62 x 4 floats":
        members["features"] = lying_npy((2**62, 4))
        write_npz(path, members)
        return "array 'features': header claims shape (4611686018427387904, 4) (68719476736.0 GiB) but the file holds 192 bytes"
    if name == "header claims a few more floats":
        members["features"] = lying_npy((4, 10, 8), b"\0" * 100)
        write_npz(path, members)
        return "array 'features': header claims shape (4, 10, 8) (1.2 KiB) but the file holds 228 bytes"
    if name == "negative shape":
        members["features"] = lying_npy((-4, 8))
        write_npz(path, members)
        return "array 'features': header claims shape (-4, 8) (-128 bytes) but the file holds 192 bytes"
    if name == "zip bomb":
        members["features"] = npy_bytes(np.zeros((1024, 10, 256), np.float32))
        write_npz(path, members, compress=True)
        info = zipfile.ZipFile(path).getinfo("features.npy")
        return f"array 'features' inflates {info.file_size // info.compress_size}x (a zip bomb?); refusing it"
    if name == "object array with a payload":
        marker = path.parent / "pwned"
        members["final_score"] = npy_bytes(np.array([payloads(marker)["os.system"]] * 4, dtype=object))
        write_npz(path, members)
        return "array 'final_score': holds Python objects (pickles); refusing it"
    if name == "structured dtype with objects":
        members["split"] = npy_bytes(np.zeros(4, dtype=[("a", "O")]))
        write_npz(path, members)
        return "array 'split': holds Python objects (pickles); refusing it"
    if name == "npy version 3":
        members["features"] = b"\x93NUMPY\x03\x00" + npy_bytes(g["features"])[8:]
        write_npz(path, members)
        return "array 'features': unsupported .npy version 3.0"
    if name == "truncated array data":
        members["features"] = npy_bytes(g["features"])[:-7]
        write_npz(path, members)
        return "array 'features': truncated (1273 of 1280 bytes)"
    if name == "missing features":
        del members["features"]
        write_npz(path, members)
        return "missing array 'features'"
    if name == "missing final_score":
        del members["final_score"]
        write_npz(path, members)
        return "missing array 'final_score'"
    if name == "NaN feature":
        bad = g["features"].copy()
        bad[1, 2, 3] = np.nan
        members["features"] = npy_bytes(bad)
        write_npz(path, members)
        return "'features' contains NaN or infinity"
    if name == "infinite feature":
        bad = g["features"].copy()
        bad[0, 0, 0] = np.inf
        members["features"] = npy_bytes(bad)
        write_npz(path, members)
        return "'features' contains NaN or infinity"
    if name == "rows disagree":
        members["final_score"] = npy_bytes(np.zeros(3))
        write_npz(path, members)
        return "'final_score' has 3 rows but 'features' has 4"
    if name == "final score 300":
        members["final_score"] = npy_bytes(np.array([300.0, 50, 50, 50]))
        write_npz(path, members)
        return ", row 0: final score 300 is out of range [0, 200]"
    if name == "judge score 42":
        scores = np.full((4, 7), 7.5)
        scores[2, 3] = 42
        members["judge_scores"] = npy_bytes(scores)
        write_npz(path, members)
        return None  # parse_judges' own wording; checked as a regex below
    raise AssertionError(name)


CASES = (
    "zero dives", "zero clips", "zero features", "1-D features", "4-D features", "header claims 10**12 floats",
    "header claims 2**62 x 4 floats", "header claims a few more floats", "negative shape", "zip bomb",
    "object array with a payload", "structured dtype with objects", "npy version 3", "truncated array data",
    "missing features", "missing final_score", "NaN feature", "infinite feature", "rows disagree", "final score 300",
)  # fmt: skip


@pytest.mark.parametrize("name", CASES)
def test_hostile_npz_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / "features.npz"
    reason = _case(path, name)
    separator = "" if reason.startswith(",") else ": "
    assert_refused(lambda: read_features_npz(path), f"{path}{separator}{reason}", DatasetError)
    assert not (tmp_path / "pwned").exists()


def test_judge_score_off_the_grid_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "features.npz"
    _case(path, "judge score 42")
    assert_refused(lambda: read_features_npz(path), rf"^{path}, row 2: .*42.*$", DatasetError)


def test_total_size_over_the_limit_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(features_npz, "MAX_NPZ_BYTES", 1000)
    path = tmp_path / "features.npz"
    np.savez(path, **good_arrays())
    assert_refused(lambda: read_features_npz(path), f"{path}: arrays unpack to more than 1000 bytes; refusing it", DatasetError)


def test_empty_zip_has_no_features(tmp_path: Path) -> None:
    path = tmp_path / "features.npz"
    path.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # a valid zip with no members
    assert_refused(lambda: read_features_npz(path), f"{path}: missing array 'features'", DatasetError)


@pytest.mark.parametrize("data", [b"", b"not a zip at all", b"PK\x03\x04" + b"\0" * 40, b"PK\x05\x06" + b"\0" * 17])
def test_not_a_zip(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "features.npz"
    path.write_bytes(data)
    assert_refused(lambda: read_features_npz(path), rf"^{path}: not a readable \.npz file \(.+\)$", DatasetError)


def test_truncated_zip(tmp_path: Path) -> None:
    path = tmp_path / "features.npz"
    np.savez_compressed(path, **good_arrays())
    path.write_bytes(path.read_bytes()[:-30])
    assert_refused(lambda: read_features_npz(path), rf"^{path}: not a readable \.npz file \(.+\)$", DatasetError)
