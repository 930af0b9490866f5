"""scripts/check_qt_xcb: a missing X11 library of Qt's xcb plugin gets the exact apt-get line.

The plugin is stood in for by a tiny shared library linked against stub libraries that are then
deleted, so ``ldd`` reports them missing as on a stock desktop. A library this system does have
(after ``apt-get install libxcb-icccm4``) cannot be made missing, so that case only runs where
it is absent; a made-up library is missing everywhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "check_qt_xcb"


def fake_qt(tmp_path: Path, sonames: tuple[str, ...]) -> Path:
    """A fake python whose PySide6 Qt folder holds a libqxcb.so needing ``sonames``, all deleted."""
    if shutil.which("gcc") is None or shutil.which("ldd") is None:
        pytest.skip("needs gcc and ldd to build the stand-in plugin")
    source = tmp_path / "empty.c"
    source.write_text("int plugin_marker(void) { return 0; }\n")
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for soname in sonames:
        subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(stubs / soname), f"-Wl,-soname,{soname}", str(source)], check=True)
    qt = tmp_path / "site" / "PySide6" / "Qt"
    (qt / "plugins" / "platforms").mkdir(parents=True)
    (qt / "lib").mkdir()
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(qt / "plugins" / "platforms" / "libqxcb.so"), str(source),
                    "-Wl,--no-as-needed", f"-L{stubs}", *[f"-l:{soname}" for soname in sonames]], check=True)
    shutil.rmtree(stubs)
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\necho {qt}\n")
    python.chmod(0o755)
    return python


def installed(soname: str) -> bool:
    listing = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout if shutil.which("ldconfig") else ""
    return soname in listing


def run(python: Path, platform: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    if platform is not None:
        env["QT_QPA_PLATFORM"] = platform
    return subprocess.run([str(SCRIPT), str(python)], capture_output=True, text=True, env=env, timeout=60)


def test_the_two_libraries_a_stock_desktop_lacks_get_the_apt_get_line(tmp_path: Path) -> None:
    sonames = ("libxcb-icccm.so.4", "libxcb-keysyms.so.1")
    if any(installed(s) for s in sonames):
        pytest.skip("this system has libxcb-icccm4/libxcb-keysyms1 installed: they cannot be made missing")
    done = run(fake_qt(tmp_path, sonames), None)
    assert done.returncode == 1
    assert "libxcb-icccm.so.4 libxcb-keysyms.so.1" in done.stderr
    assert "sudo apt-get install -y libxcb-icccm4 libxcb-keysyms1\n" in done.stderr


def test_an_unknown_missing_library_is_named_and_headless_runs_are_not_checked(tmp_path: Path) -> None:
    python = fake_qt(tmp_path, ("libxcb-made-up-for-a-test.so.9",))
    done = run(python, None)
    assert done.returncode == 1 and "libxcb-made-up-for-a-test.so.9" in done.stderr
    assert "no package known here for: libxcb-made-up-for-a-test.so.9" in done.stderr and "apt-get install" not in done.stderr
    assert run(python, "offscreen").returncode == 0
