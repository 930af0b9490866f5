"""Commands that need no model answer without importing PyTorch (or Qt), each run as the user runs it.

Every command builds the whole parser, so one module importing torch at its top would make
``aqa-judge dd`` wait for it. Each command runs in a fresh interpreter (this test process has
torch loaded already) that reports which heavy packages its run left in ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "PySide6", "scipy", "safetensors", "alembic", "numpy")
# Runs cli.main.main with the given arguments, then prints its exit status and the heavy
# packages imported, as the last line of stderr.
PROBE = """
import json, sys
from cli.main import main
try:
    status = main(sys.argv[1:])
except SystemExit as exc:
    status = exc.code
print(json.dumps({"status": status, "heavy": [m for m in %r if m in sys.modules]}), file=sys.stderr)
""" % (HEAVY,)


def run_command(*args: str, home: Path) -> dict:
    env = {"PYTHONPATH": str(ROOT), "AQA_JUDGE_HOME": str(home), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    return json.loads(done.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [
    ("dd", "107B", "--height", "10"),
    ("final-score", "--event", "individual", "--dd", "3.8", "9", "8.5", "9", "8", "9", "8.5", "9"),
    ("--help",),
    ("score", "--help"),
    ("doctor", "--help"),
])
def test_rules_and_help_import_nothing_heavy(args: tuple[str, ...], tmp_path: Path) -> None:
    report = run_command(*args, home=tmp_path)
    assert report == {"status": 0, "heavy": []}


def test_sessions_export_needs_no_torch(tmp_path: Path) -> None:
    out = tmp_path / "sessions.json"
    report = run_command("sessions", "export", "--db", str(tmp_path / "sessions.db"), str(out), home=tmp_path)
    assert report["status"] == 0 and out.is_file()
    assert "torch" not in report["heavy"] and "PySide6" not in report["heavy"]


def test_sessions_commands_import_alembic_only_to_create_or_migrate(tmp_path: Path) -> None:
    """Creating the database runs the migrations (Alembic); a database already at the newest schema is opened without it."""
    db, out = tmp_path / "sessions.db", tmp_path / "sessions.json"
    created = run_command("sessions", "export", "--db", str(db), str(out), home=tmp_path)
    assert created["status"] == 0 and "alembic" in created["heavy"]
    exported = run_command("sessions", "export", "--db", str(db), str(out), home=tmp_path)
    assert exported == {"status": 0, "heavy": []}  # no Alembic, and no NumPy for writing JSON either
    imported = run_command("sessions", "import", "--db", str(db), str(out), home=tmp_path)
    assert imported["status"] == 0 and "alembic" not in imported["heavy"] and "torch" not in imported["heavy"]


def test_dataset_check_needs_no_torch(tmp_path: Path, tiny_video) -> None:
    folder = tmp_path / "dataset"
    folder.mkdir()
    (folder / "a.mp4").write_bytes(tiny_video(count=24).read_bytes())
    (folder / "annotations.csv").write_text(
        "video,start_frame,end_frame,event,dive_number,height,difficulty,judge1,judge2,judge3,judge4,judge5,judge6,judge7,final_score,split,commentary\n"
        "a.mp4,,,individual,107B,10,3.0,8,8.5,8,7.5,8,8,9,72.0,train,nice\n"
    )
    report = run_command("dataset", "check", str(folder), home=tmp_path)
    assert report["status"] in (0, 1)  # read and judged (1: too small to train on), not refused
    assert "torch" not in report["heavy"] and "PySide6" not in report["heavy"]


def test_the_apps_first_run_weights_check_imports_no_torch(tmp_path: Path) -> None:
    """It runs on a worker while the model loads on another; through torch it once raced that loader's imports."""
    probe = ("import sys; from aqa_core.paths import i3d_weights_path; print(i3d_weights_path().name); "
             f"print([m for m in {HEAVY!r} if m in sys.modules])")
    env = {"PYTHONPATH": str(ROOT), "AQA_JUDGE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.stdout.split() == ["i3d_kinetics400.safetensors", "[]"], done.stderr
