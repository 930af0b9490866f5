"""Hostile features ``.npz`` files: every array header is checked before anything is allocated.

Each case writes a small file (or a small file that claims to be huge) and asserts the exact
one-line refusal, or the correct dataset for the valid variants.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
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


Change = Callable[[dict[str, bytes], Path], None]
"""Edits a good file's members (name -> .npy bytes) just before they are written to the path."""


def _replace(**arrays: np.ndarray | bytes) -> Change:
    """Put ``arrays`` (raw .npy bytes, or arrays to serialise) in place of the good ones."""
    encoded = {name: data if isinstance(data, bytes) else npy_bytes(data) for name, data in arrays.items()}
    return lambda members, _path: members.update(encoded)


def _only(**arrays: np.ndarray) -> Change:
    """Keep no good array: the file holds exactly ``arrays``."""
    replace = _replace(**arrays)
    return lambda members, path: (members.clear(), replace(members, path))


def _remove(name: str) -> Change:
    return lambda members, _path: members.pop(name)


def _features_with(at: tuple[int, int, int], value: float) -> np.ndarray:
    features = good_arrays()["features"]
    features[at] = value
    return features


def _pickled_payload(members: dict[str, bytes], path: Path) -> None:
    """'final_score' as objects whose unpickling would create ``pwned`` beside the file."""
    members["final_score"] = npy_bytes(np.array([payloads(path.parent / "pwned")["os.system"]] * 4, dtype=object))


# Each hostile file: how it differs from a good one, and the message expected after its path.
CASES: dict[str, tuple[Change, str]] = {
    "zero dives": (_only(features=np.zeros((0, 8), np.float32), final_score=np.zeros(0)),
                   "'features' must be N x D or N x clips x D, got shape (0, 8)"),
    "zero clips": (_replace(features=np.zeros((4, 0, 8), np.float32)),
                   "'features' has shape (4, 0, 8): every dive needs at least one clip of at least one feature"),
    "zero features": (_replace(features=np.zeros((4, 0), np.float32)),
                      "'features' has shape (4, 0): every dive needs at least one clip of at least one feature"),
    "1-D features": (_replace(features=np.zeros(4, np.float32)), "'features' must be N x D or N x clips x D, got shape (4,)"),
    "4-D features": (_replace(features=np.zeros((4, 1, 1, 8), np.float32)),
                     "'features' must be N x D or N x clips x D, got shape (4, 1, 1, 8)"),
    "header claims 10**12 floats": (_replace(features=lying_npy((10**12,))),
                                    "array 'features': header claims shape (1000000000000,) (3725.3 GiB) but the file holds 192 bytes"),
    "header claims 2**62 x 4 floats": (_replace(features=lying_npy((2**62, 4))),
                                       "array 'features': header claims shape (4611686018427387904, 4) (68719476736.0 GiB) "
                                       "but the file holds 192 bytes"),
    "header claims a few more floats": (_replace(features=lying_npy((4, 10, 8), b"\0" * 100)),
                                        "array 'features': header claims shape (4, 10, 8) (1.2 KiB) but the file holds 228 bytes"),
    "negative shape": (_replace(features=lying_npy((-4, 8))),
                       "array 'features': header claims shape (-4, 8) (-128 bytes) but the file holds 192 bytes"),
    "object array with a payload": (_pickled_payload, "array 'final_score': holds Python objects (pickles); refusing it"),
    "structured dtype with objects": (_replace(split=np.zeros(4, dtype=[("a", "O")])),
                                      "array 'split': holds Python objects (pickles); refusing it"),
    "npy version 3": (_replace(features=b"\x93NUMPY\x03\x00" + npy_bytes(good_arrays()["features"])[8:]),
                      "array 'features': unsupported .npy version 3.0"),
    "truncated array data": (_replace(features=npy_bytes(good_arrays()["features"])[:-7]),
                             "array 'features': truncated (1273 of 1280 bytes)"),
    "missing features": (_remove("features"), "missing array 'features'"),
    "missing final_score": (_remove("final_score"), "missing array 'final_score'"),
    "NaN feature": (_replace(features=_features_with((1, 2, 3), np.nan)), "'features' contains NaN or infinity"),
    "infinite feature": (_replace(features=_features_with((0, 0, 0), np.inf)), "'features' contains NaN or infinity"),
    "rows disagree": (_replace(final_score=np.zeros(3)), "'final_score' has 3 rows but 'features' has 4"),
    "final score 300": (_replace(final_score=np.array([300.0, 50, 50, 50])), ", row 0: final score 300 is out of range [0, 200]"),
}  # fmt: skip


def _write_case(path: Path, change: Change, compress: bool = False) -> Path:
    """A good features file with ``change`` made to it."""
    members = {name: npy_bytes(array) for name, array in good_arrays().items()}
    change(members, path)
    return write_npz(path, members, compress)


@pytest.mark.parametrize("name", CASES)
def test_hostile_npz_is_refused(tmp_path: Path, name: str) -> None:
    change, reason = CASES[name]
    path = _write_case(tmp_path / "features.npz", change)
    separator = "" if reason.startswith(",") else ": "
    assert_refused(lambda: read_features_npz(path), f"{path}{separator}{reason}", DatasetError)
    assert not (tmp_path / "pwned").exists()


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    path = _write_case(tmp_path / "features.npz", _replace(features=np.zeros((1024, 10, 256), np.float32)), compress=True)
    member = zipfile.ZipFile(path).getinfo("features.npy")
    ratio = member.file_size // member.compress_size
    assert_refused(lambda: read_features_npz(path), f"{path}: array 'features' inflates {ratio}x (a zip bomb?); refusing it", DatasetError)


def test_judge_score_off_the_grid_is_refused(tmp_path: Path) -> None:
    scores = np.full((4, 7), 7.5)
    scores[2, 3] = 42
    path = _write_case(tmp_path / "features.npz", _replace(judge_scores=scores))
    assert_refused(lambda: read_features_npz(path), rf"^{path}, row 2: .*42.*$", DatasetError)  # parse_judges' own wording


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
