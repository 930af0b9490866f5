"""The Linux installer recipe: one tar.gz; install, upgrade and uninstall keep the user's data.

The recipe is run on a stand-in app folder (a shell script named ``aqa-judge``), not on the
1 GB PyInstaller build: what is tested is what the scripts do with any build, in a throwaway HOME.
The real bundle is built and self-tested by ``scripts/package --self-test`` (CI).
"""

from __future__ import annotations

import configparser
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(os.name != "posix", reason="the Linux recipe is bash")


def fake_build(folder: Path, version: str) -> Path:
    app = folder / "aqa-judge"
    (app / "_internal").mkdir(parents=True)
    program = app / "aqa-judge"
    program.write_text(f"#!/bin/sh\necho aqa-judge {version} \"$@\"\n")
    program.chmod(0o755)
    return app


def make_and_unpack(tmp: Path, version: str) -> Path:
    app = fake_build(tmp / f"build-{version}", version)
    archive = tmp / f"aqa-judge-{version}-linux-cpu.tar.gz"
    subprocess.run(["bash", str(ROOT / "installer/linux/make_tarball.sh"), str(app), str(archive)], check=True, capture_output=True)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        tar.extractall(tmp / f"unpacked-{version}", filter="data")
    top = f"aqa-judge-{version}-linux-cpu"
    assert {f"{top}/aqa-judge/aqa-judge", f"{top}/aqa-judge.desktop", f"{top}/aqa-judge.png", f"{top}/install.sh", f"{top}/uninstall.sh"} <= set(names)
    return tmp / f"unpacked-{version}" / top


def run(script: Path, home: Path, *args: str) -> str:
    env = {"HOME": str(home), "PATH": os.environ["PATH"]}
    return subprocess.run(["bash", str(script), *args], check=True, capture_output=True, text=True, env=env).stdout


def test_install_upgrade_uninstall_keep_the_users_data(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    first = make_and_unpack(tmp_path, "0.1.0")
    fresh = run(first / "install.sh", home)
    assert "weights install" in fresh  # a fresh install's self-test would fail without the weights: say so first
    program = home / ".local/bin/aqa-judge"
    assert subprocess.run([str(program), "--self-test"], capture_output=True, text=True, check=True).stdout == "aqa-judge 0.1.0 --self-test\n"
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(home / ".local/share/applications/aqa-judge.desktop")
    desktop = entry["Desktop Entry"]
    assert desktop["Exec"] == f'"{home}/.local/opt/aqa-judge/aqa-judge" app %f'
    assert desktop["Icon"] == "aqa-judge" and (home / ".local/share/icons/hicolor/256x256/apps/aqa-judge.png").is_file()

    data = home / ".local/share/aqa-judge"
    (data / "weights").mkdir(parents=True)
    (data / "sessions.db").write_bytes(b"the club's sessions")
    (data / "weights/i3d_kinetics400.safetensors").write_bytes(b"weights")
    settings = home / ".config/aqa-judge/AQA Judge Assistant.conf"
    settings.parent.mkdir(parents=True)
    settings.write_text("[General]\nrecent=a.mp4\n")

    upgrade = run(make_and_unpack(tmp_path, "0.2.0") / "install.sh", home)
    assert "weights install" not in upgrade  # the weights are there
    assert subprocess.run([str(program)], capture_output=True, text=True, check=True).stdout == "aqa-judge 0.2.0\n"
    assert not (home / ".local/opt/aqa-judge.old").exists() and not (home / ".local/opt/aqa-judge.new").exists()
    assert (data / "sessions.db").read_bytes() == b"the club's sessions" and settings.is_file()

    said = run(first / "uninstall.sh", home)
    assert not (home / ".local/opt/aqa-judge").exists() and not program.exists() and not program.is_symlink()
    assert not (home / ".local/share/applications/aqa-judge.desktop").exists()
    assert (data / "sessions.db").is_file() and (data / "weights/i3d_kinetics400.safetensors").is_file() and settings.is_file()
    assert "are kept" in said

    run(first / "uninstall.sh", home, "--purge")
    assert not data.exists() and not settings.parent.exists()


def test_a_running_program_is_neither_upgraded_nor_removed(tmp_path: Path) -> None:
    import shutil
    import time

    home = tmp_path / "home"
    home.mkdir()
    unpacked = make_and_unpack(tmp_path, "0.1.0")
    run(unpacked / "install.sh", home)
    program = home / ".local/opt/aqa-judge/aqa-judge"
    shutil.copy2(shutil.which("sleep"), program)  # a real executable at the program's path, so it can be "running"
    env = {"HOME": str(home), "PATH": os.environ["PATH"]}
    with subprocess.Popen([str(program), "30"]) as running:
        try:
            time.sleep(0.2)
            for script in ("install.sh", "uninstall.sh"):
                said = subprocess.run(["bash", str(unpacked / script)], capture_output=True, text=True, env=env, check=False)
                assert said.returncode == 1 and f"running from {home}/.local/opt/aqa-judge (process {running.pid})" in said.stderr
                assert program.is_file()  # untouched
        finally:
            running.kill()
    run(unpacked / "uninstall.sh", home)  # once it has quit
    assert not program.exists()
