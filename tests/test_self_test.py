"""``aqa-judge --self-test`` reports each check and what failed; the frozen bundle runs the same code.

Run here without I3D weights (an isolated home), so scoring must fail with the install hint while
every other check, the child-process training step included, passes and the exit status is 1.
The full pass (weights installed) is what ``scripts/package --self-test`` shows on the bundle.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cli.main import main
from trainer.child import CONSOLE_PROGRAM, own_command


@pytest.mark.slow
def test_self_test_names_the_failed_check_and_exits_1(qapp, isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--self-test"]) == 1
    lines = capsys.readouterr().out.splitlines()
    status = {line.split()[1].rstrip(":"): line.split()[0] for line in lines if line.startswith(("ok ", "FAILED "))}
    assert status == {"imports": "ok", "window": "ok", "database": "ok", "scoring": "FAILED", "training": "ok"}
    scoring = next(line for line in lines if line.startswith("FAILED scoring"))
    assert "I3D weights not found" in scoring and "aqa-judge weights install" in scoring
    assert lines[-1] == "self-test FAILED: 1 of 5 checks"
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
