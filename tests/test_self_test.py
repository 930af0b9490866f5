"""``aqa-judge --self-test`` reports each check and what failed; the frozen bundle runs the same code.

Run here without I3D weights (an isolated home), so scoring must fail with the install hint while
every other check, the child-process training step included, passes and the exit status is 1.
The full pass (weights installed) is what ``scripts/package --self-test`` shows on the bundle.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from aqa_core.inference.openvino_engine import openvino_available
from cli.main import main
from cli.self_test import check_device
from aqa_core.own_program import CONSOLE_PROGRAM, own_command


@pytest.mark.slow
def test_self_test_names_the_failed_check_and_exits_1(qapp, isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--self-test"]) == 1
    lines = capsys.readouterr().out.splitlines()
    status = {line.split()[1].rstrip(":"): line.split()[0] for line in lines if line.startswith(("ok ", "FAILED "))}
    assert status == {"imports": "ok", "window": "ok", "database": "ok", "device": "ok", "openvino": "ok", "scoring": "FAILED", "training": "ok"}
    scoring = next(line for line in lines if line.startswith("FAILED scoring"))
    assert "I3D weights not found" in scoring and "aqa-judge weights install" in scoring
    openvino = next(line for line in lines if line.startswith("ok     openvino"))
    assert ("a converted model ran on the CPU plugin" in openvino) if openvino_available() else ("not installed here" in openvino)
    assert lines[-1] == "self-test FAILED: 1 of 7 checks"
    assert not list(isolated_home.glob("**/sessions.db"))  # everything was written in a temporary folder


def test_the_trainer_child_is_this_program(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert own_command("train", "c.yaml") == [sys.executable, "-m", "cli.main", "train", "c.yaml"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    windowed = tmp_path / "AQA Judge"
    windowed.write_bytes(b"")
    monkeypatch.setattr(sys, "executable", str(windowed))
    assert own_command("train", "c.yaml") == [str(windowed), "train", "c.yaml"]  # no console program beside it
    (tmp_path / CONSOLE_PROGRAM).write_bytes(b"")
    assert own_command("train", "c.yaml") == [str(tmp_path / CONSOLE_PROGRAM), "train", "c.yaml"]


def test_a_cuda_bundle_without_a_gpu_says_why_and_needs_its_run_time_cuda_libraries(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import torch

    def no_driver() -> None:
        raise RuntimeError("Found no NVIDIA driver on your system.\nPlease check that you have an NVIDIA GPU")

    monkeypatch.setattr(torch.version, "cuda", "13.0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "init", no_driver)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    (tmp_path / "nvidia" / "cudnn" / "lib").mkdir(parents=True)
    (tmp_path / "nvidia" / "cudnn" / "lib" / "libcudnn_ops.so.9").write_bytes(b"")
    with pytest.raises(RuntimeError, match=r"lacks libcudnn_engines_precompiled.so\*, libnvrtc-builtins\*.so\*"):
        check_device()
    (tmp_path / "nvidia" / "cudnn" / "lib" / "libcudnn_engines_precompiled.so.9").write_bytes(b"")
    (tmp_path / "nvidia" / "cu13" / "lib").mkdir(parents=True)
    (tmp_path / "nvidia" / "cu13" / "lib" / "libnvrtc-builtins.so.13.0").write_bytes(b"")
    line = check_device()
    assert "built for CUDA 13.0; CPU only: no NVIDIA GPU or driver found" in line
    assert "(torch: Found no NVIDIA driver on your system.)" in line
