"""Hostile input through the ``aqa-judge`` command: one line on stderr, exit status 2, no traceback.

Most cases call ``cli.main.main`` in process; a handful run ``python -m cli.main`` in a child
process, so the real interpreter's own handling of an escaping exception is covered too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hostile_support import nested_lists_pickle
from safetensors.torch import load_file, save_file
from storage_support import fill

from app.storage.database import open_database
from app.storage.exporters import export_session
from app.storage.repository import Repository
from aqa_core.bundle import bundle_from_model, save_bundle
from aqa_core.methods import build_method
from cli import main as cli_main
from cli.main import main

ROOT = Path(__file__).resolve().parent.parent
CARD = {"dataset": "unit test", "synthetic": True}


def one_line_refusal(capsys: pytest.CaptureFixture[str], argv: list[str], prefix: str, expected_rc: int = 2) -> str:
    assert main(argv) == expected_rc
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), captured.err
    assert "Traceback" not in captured.err and "\x1b" not in captured.err
    return lines[0]


@pytest.fixture
def nan_bundle(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    config = json.loads((ROOT / "configs" / "models" / "musdl_tiny.json").read_text())
    folder = save_bundle(bundle_from_model(build_method(config, with_backbone=False), "t", "1", CARD), tmp_path / "b")
    state = load_file(str(folder / "weights.safetensors"))
    save_file({k: torch.full_like(v, float("nan")) for k, v in state.items()}, str(folder / "weights.safetensors"))
    return folder


def test_nan_bundle_is_never_scored(capsys: pytest.CaptureFixture[str], nan_bundle: Path, tmp_path: Path) -> None:
    line = one_line_refusal(capsys, ["score", str(tmp_path / "any.mp4"), "--dd", "3.0", "--model", str(nan_bundle)], "aqa-judge score: ")
    assert line.endswith("holds NaN or infinity")


def test_zero_clip_features_are_not_evaluated(capsys: pytest.CaptureFixture[str], nan_bundle: Path, tmp_path: Path) -> None:
    good = tmp_path / "good"
    torch.manual_seed(0)
    config = json.loads((ROOT / "configs" / "models" / "musdl_tiny.json").read_text())
    save_bundle(bundle_from_model(build_method(config, with_backbone=False), "t", "1", CARD), good)
    npz = tmp_path / "features.npz"
    np.savez(npz, features=np.zeros((4, 0, 64), np.float32), final_score=np.full(4, 50.0), split=np.array(["test"] * 4))
    line = one_line_refusal(capsys, ["evaluate", str(good), str(npz), "--kind", "features"], "aqa-judge evaluate: ")
    assert line == f"aqa-judge evaluate: {npz}: 'features' has shape (4, 0, 64): every dive needs at least one clip of at least one feature"


@pytest.fixture
def db_with_dives(tmp_path: Path) -> Path:
    path = tmp_path / "source.sqlite"
    with open_database(path) as db:
        fill(Repository(db), 3)
    return path


SESSION_FILES = {
    "deep.json": (b"[" * 100_000, "JSON nested 100000 levels deep (at most 32); refusing it"),
    "version.json": (json.dumps({"format": "aqa-judge-session", "format_version": "x", "dives": []}).encode(), "has an unknown format_version ('x'; this program reads 1)"),
    "dd.json": (None, None),
    "marks.csv": (b"dive_uuid,competition_uuid,event_uuid,athlete_uuid,difficulty,panel_size,performed_at,human_scores\nd,c,e,a,3.0,7,2026-01-01T00:00:00,7 eight 9\n", None),
}


@pytest.mark.parametrize("name", SESSION_FILES)
def test_bad_session_files(capsys: pytest.CaptureFixture[str], db_with_dives: Path, tmp_path: Path, name: str) -> None:
    data, reason = SESSION_FILES[name]
    path = tmp_path / name
    if name == "dd.json":
        export_json = tmp_path / "export.json"
        with open_database(db_with_dives) as db:
            export_session(db, export_json, "json")
        document = json.loads(export_json.read_text())
        document["dives"][0]["difficulty"] = -3
        data = json.dumps(document).encode()
        uuid = document["dives"][0]["uuid"]
        reason = f"dive 1 ({uuid!r}): dive sheet is refused by the rules: degree of difficulty -3.0 must be greater than 0; nothing was imported"
    if name == "marks.csv":
        reason = None
    path.write_bytes(data)
    target = tmp_path / "target.sqlite"
    line = one_line_refusal(capsys, ["sessions", "import", "--db", str(target), str(path)], "aqa-judge sessions: ")
    if reason is not None:
        assert line == f"aqa-judge sessions: {path}: {reason}"
    else:
        assert line == f"aqa-judge sessions: {path}, row 2: human_scores 'eight' is not a number"


def test_escape_sequences_in_names_are_printed_safely(capsys: pytest.CaptureFixture[str], db_with_dives: Path, tmp_path: Path) -> None:
    export_json = tmp_path / "export.json"
    with open_database(db_with_dives) as db:
        export_session(db, export_json, "json")
    document = json.loads(export_json.read_text())
    document["dives"][0]["athlete"]["name"] = "Ana\x1b]0;owned\x07\x1b[2J\nforged line"
    evil = tmp_path / "evil\x1b[31m.json"
    evil.write_text(json.dumps(document))
    assert main(["sessions", "import", "--db", str(db_with_dives), str(evil)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "conflict: athlete " in out and "'Ana\\x1b]0;owned\\x07" in out  # repr-escaped, then cut to 40 characters
    assert "evil\\x1b[31m.json" in out
    assert main(["sessions", "import", "--db", str(db_with_dives), str(tmp_path / "missing\x1b[2J.json")]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "missing\\x1b[2J.json: not a file" in err


def test_conflict_policy_from_the_command_line(capsys: pytest.CaptureFixture[str], db_with_dives: Path, tmp_path: Path) -> None:
    export_json = tmp_path / "export.json"
    with open_database(db_with_dives) as db:
        export_session(db, export_json, "json")
    document = json.loads(export_json.read_text())
    document["dives"][0]["difficulty"] = 3.5
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(document))
    assert main(["sessions", "import", "--on-conflict", "keep-existing", "--db", str(db_with_dives), str(changed)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "imported 0 new dives (2 already present, 0 replaced, 1 skipped), 0 analyses, 0 notes"
    assert out[2] == f"conflict: dive {document['dives'][0]['uuid']}: difficulty 3.0 stored, 3.5 in the file: kept the stored one; the file's was not imported"
    assert main(["sessions", "import", "--on-conflict", "replace", "--db", str(db_with_dives), str(changed)]) == 0
    assert "1 replaced" in capsys.readouterr().out


def test_export_says_which_database_and_why_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.sqlite"
    out = tmp_path / "out.json"
    assert main(["sessions", "export", "--db", str(missing), str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"exported 0 dives from database {missing} to {out}",
        "nothing to export: it did not exist, so an empty one was created; give --db FILE to read another sessions database",
    ]
    assert main(["sessions", "export", "--db", str(missing), str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("nothing to export: it holds no dives")


def test_export_names_the_default_database(capsys: pytest.CaptureFixture[str], isolated_home: Path, tmp_path: Path) -> None:
    assert main(["sessions", "export", str(tmp_path / "o.csv")]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"exported 0 dives from the default database {isolated_home / 'sessions.sqlite'} to {tmp_path / 'o.csv'}"


def test_bomb_archive_install(capsys: pytest.CaptureFixture[str], isolated_home: Path, tmp_path: Path) -> None:
    from test_weights import _archive

    archive = _archive(tmp_path, nested_lists_pickle(100_000))
    line = one_line_refusal(capsys, ["weights", "install", "--quiet", "--from", str(archive)], "aqa-judge weights: ")
    assert line.endswith("not a readable checkpoint (nests deeper than 8 levels; refusing it)")


def test_a_bug_is_one_line_with_its_own_exit_status(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import cli.rules_commands as rules

    def broken(args: object) -> int:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(rules, "show_dd", broken)  # register() reads it when main() builds the parser
    assert main(["dd", "107B"]) == cli_main.EXIT_BUG
    err = capsys.readouterr().err
    assert err == "aqa-judge dd: internal error (RuntimeError: boom\\nsecond line); please report it, AQA_JUDGE_DEBUG=1 shows the traceback\n"
    monkeypatch.setenv("AQA_JUDGE_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["dd", "107B"])


@pytest.mark.parametrize("error", [MemoryError, RecursionError])
def test_out_of_memory_or_stack_is_a_refusal(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, error: type) -> None:
    import cli.rules_commands as rules

    def exhausted(args: object) -> int:
        raise error()

    monkeypatch.setattr(rules, "show_dd", exhausted)
    assert main(["dd", "107B"]) == 2
    what = "memory" if error is MemoryError else "nesting"
    assert capsys.readouterr().err == f"aqa-judge dd: the input needs more {what} than any real file; refusing it\n"


# --- through a real child process -------------------------------------------------------------


def _run(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AQA_JUDGE_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("AQA_JUDGE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False)


def test_subprocess_deep_session_file(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_bytes(b"{" * 50_000)
    done = _run(["sessions", "import", "--db", str(tmp_path / "t.sqlite"), str(path)], tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"aqa-judge sessions: {path}: JSON nested 50000 levels deep (at most 32); refusing it\n"


def test_subprocess_nan_bundle(tmp_path: Path, nan_bundle: Path) -> None:
    done = _run(["score", str(tmp_path / "v.mp4"), "--dd", "3.0", "--model", str(nan_bundle)], tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("aqa-judge score: ") and done.stderr.rstrip().endswith("holds NaN or infinity")


def test_subprocess_corrupt_bundle_manifest(tmp_path: Path, nan_bundle: Path) -> None:
    (nan_bundle / "bundle.json").write_bytes(b"\xff" * 10)
    done = _run(["score", str(tmp_path / "v.mp4"), "--dd", "3.0", "--model", str(nan_bundle)], tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"aqa-judge score: {nan_bundle / 'bundle.json'}: not UTF-8 text (invalid start byte at byte 0)\n"
