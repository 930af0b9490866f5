"""``aqa-judge score`` through the real dispatcher, with a tiny bundle saved in the test."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from aqa_core.bundle import bundle_from_model, save_bundle
from aqa_core.methods import build_method
from aqa_core.result import ScoreResult
from aqa_core.rules import apply_panel_rule
from cli.main import main

CONFIGS = Path(__file__).resolve().parent.parent / "configs" / "models"
CARD = {"dataset": "unit-test dives", "synthetic": True, "split_sizes": {"train": 7, "val": 2, "test": 1}}


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = build_method(json.loads((CONFIGS / "musdl_tiny.json").read_text()))
    return save_bundle(bundle_from_model(model, "tiny-cli", "0.1", CARD), tmp_path_factory.mktemp("b") / "bundle")


def score(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["score", *argv, "--device", "cpu", "--precision", "float32"])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_output_is_a_score_result(tiny_video, bundle_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    video = tiny_video(count=20)
    code, out, _ = score(capsys, str(video), "--dive", "107B", "--height", "10", "--model", str(bundle_dir), "--json")
    assert code == 0
    result = ScoreResult.from_dict(json.loads(out))
    assert result.model_name == "tiny-cli"
    assert result.dive.dive_number == "107B" and result.dive.panel_size == 7
    marks = [j.estimate.score for j in result.judges]
    assert result.final.score == apply_panel_rule(marks, "individual", result.dive.difficulty).final


def test_table_output(tiny_video, bundle_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    video = tiny_video(count=20)
    code, out, _ = score(capsys, str(video), "--dd", "3.0", "--judges", "5", "--window", "2", "17", "--model", str(bundle_dir))
    assert code == 0
    assert "frames 2-17" in out
    assert [line.split()[0] for line in out.splitlines() if line.startswith("J")] == ["J1", "J2", "J3", "J4", "J5"]
    assert out.count("dropped") == 2
    assert "final" in out and "uncertainty" in out
    assert "trained on synthetic dives (unit-test dives); 7 train / 2 val / 1 test; not validated on real footage" in out


def test_no_installed_bundle_says_so(tiny_video, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # A frozen build reads resources/ from sys._MEIPASS: point it at an empty folder.
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    code, out, err = score(capsys, str(tiny_video()), "--dd", "3.0")
    assert code == 2 and out == ""
    assert "no trained model bundle installed" in err and "--model" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--window", "5", "99"], "dive window (frame indices) 4-98"),
        (["--window", "0", "9"], "frames are counted from 1"),
        (["--event", "synchronised", "--judges", "9"], "predicts 7 judges"),
        (["--judges", "6"], "not 6"),
    ],
)
def test_user_mistakes_are_one_line(
    tiny_video, bundle_dir: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    code, _, err = score(capsys, str(tiny_video()), "--dd", "3.0", "--model", str(bundle_dir), *extra)
    assert code == 2
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_bad_bundle_path(tiny_video, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = score(capsys, str(tiny_video()), "--dd", "3.0", "--model", str(tmp_path / "missing"))
    assert code == 2 and "model bundle folder not found" in err
