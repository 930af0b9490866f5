"""MTL-AQA's three released layouts, built from the real annotation files, read unchanged.

The expected counts come from the files themselves, read here independently of the readers: the
split files, and the 7-judge rule applied to annotations.csv (30 real rows break it; see
tests/test_rules_mtl_aqa.py). The MUSDL pickle carries one more real typo: dive 04_49 has a
judge mark of 45.0 where annotations.csv has 4.5.

Whole-video layouts need every frame of every window (151,364 files for all dives), so they are
built with frames for video 13 only (30 dives, 3,369 frames): the other 1,382 dives are the
"partial download" case and must be reported as missing, not trained on by default.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from aqa_core.rules import apply_panel_rule
from cli.main import main
from dataset_layouts import build_core, build_musdl, build_release, mtl_files, tiny_jpegs
from trainer.datasets import inspect_dataset, open_dataset
from trainer.datasets.safe_pickle import load_annotation_pickle

pytestmark = pytest.mark.shared
VIDEO = 13  # the smallest broadcast: its dives' frames are built for the whole-video layouts


@pytest.fixture(scope="module")
def real() -> dict:
    """Truth read straight from the shared files: splits, rule-breaking dives, video 13's dives."""
    files = mtl_files()
    if files is None:
        pytest.skip("../shared is absent")
    split = {}
    for name in ("train", "test"):
        for v, c in load_annotation_pickle(files / "release" / f"{name}_split_0.pkl"):
            split[f"{int(v):02d}_{int(c):02d}"] = name
    with (files / "annotations.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    dirty = {
        f"{int(r['video']):02d}_{int(r['clip']):02d}"
        for r in rows
        if f"{apply_panel_rule([r[f'judge{i}'] for i in range(1, 8)], 'individual', r['difficulty']).final:.2f}" != f"{float(r['final_score']):.2f}"
    }
    return {"split": split, "dirty": dirty, "video13": {k for k in split if k.startswith(f"{VIDEO:02d}_")}}


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory, real: dict) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("layouts")
    palette = tiny_jpegs(base / "palette")
    only = {tuple(int(x) for x in k.split("_")) for k in real["video13"]}
    return {
        "musdl": build_musdl(base / "musdl" / "MTL-AQA", palette, frames_per_dive=1),
        "core": build_core(base / "core" / "MTL-AQA", palette, only=only),
        "release": build_release(base / "release" / "MTL-AQA_dataset_release", palette, only=only),
    }


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["dataset", "check", *map(str, args), "--json"])
    return code, json.loads(capsys.readouterr().out)


def counts(keys: set[str], split: dict[str, str]) -> dict[str, int]:
    return {name: sum(split[k] == name for k in keys) for name in ("train", "val", "test")}


def test_musdl_layout_trains_without_its_typos(layouts: dict, real: dict, capsys: pytest.CaptureFixture[str]) -> None:
    root = layouts["musdl"]
    code, report = check(capsys, root)
    bad = real["dirty"] | {"04_49"}
    assert len(real["dirty"]) == 30 and "04_49" not in real["dirty"]
    assert code == 0 and report["layout"] == "mtl_aqa_musdl"
    assert report["dives"] == 1412 - 31 and report["splits"] == counts(set(real["split"]) - bad, real["split"])
    assert report["listed"] == counts(set(real["split"]), real["split"])
    assert (report["with_judge_scores"], report["with_difficulty"], report["with_dive_number"], report["with_captions"]) == (1381, 1381, 0, 0)
    assert {p["dive"] for p in report["problems"]} == bad and report["missing_pixels"] == 0
    typo = next(p["problem"] for p in report["problems"] if p["dive"] == "04_49")
    assert "judge score 45" in typo and "out of range" in typo
    # Every natural root of the layout finds the same dataset.
    assert check(capsys, root / "data" / "info")[1]["dives"] == 1381
    assert check(capsys, root, "--strict")[0] == 1


def test_musdl_frames_elsewhere_with_frames_option(layouts: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "MTL-AQA"
    shutil.copytree(layouts["musdl"] / "data" / "info", root / "data" / "info")
    assert main(["dataset", "check", str(root)]) == 2
    assert "no MTL-AQA frames or videos found" in capsys.readouterr().err
    code, report = check(capsys, root, "--frames", layouts["musdl"] / "data" / "frames")
    assert code == 0 and report["dives"] == 1381


def test_core_layout_partial_download_is_refused_unless_asked(layouts: dict, real: dict, capsys: pytest.CaptureFixture[str]) -> None:
    root = layouts["core"]
    code, report = check(capsys, root)
    present = real["video13"] - real["dirty"]
    assert report["layout"] == "mtl_aqa_core" and report["dives"] == len(present) == 27
    assert report["with_dive_number"] == report["with_judge_scores"] == 27
    assert report["missing_pixels"] == 1412 - 30 and code == 1 and "frames or video unusable for 1382 dives" in report["refusal"]
    label_problems = {p["dive"] for p in report["problems"] if "contradicts" in p["problem"]}
    assert label_problems == real["dirty"]  # checked for every dive, frames or not
    assert check(capsys, root, "--partial")[0] == 0
    assert check(capsys, root / "info", "--partial")[1]["dives"] == 27
    ds = open_dataset(root, partial=True)
    first = min(ds.records, key=lambda r: r.key)
    start, end = first.window
    assert [f.name for f in first.frames] == [f"{n + 1:08d}.jpg" for n in range(start, end + 1)]  # ffmpeg numbers from 1


def test_release_layout_reads_captions_and_has_no_judges(layouts: dict, real: dict, capsys: pytest.CaptureFixture[str]) -> None:
    root = layouts["release"]
    for path in (root, root / "Ready_2_Use" / "MTL-AQA_split_0_data"):
        code, report = check(capsys, path, "--partial")
        assert code == 0 and report["layout"] == "mtl_aqa_release"
        assert report["dives"] == 30 and report["splits"] == counts(real["video13"], real["split"])
        assert (report["with_judge_scores"], report["with_dive_number"], report["with_captions"]) == (0, 0, 30)
        assert {p["dive"] for p in report["problems"]} == set(real["split"]) - real["video13"]
    ds = inspect_dataset(root)
    assert ds.vocab is not None and len(ds.vocab) == 5781
    record = ds.records[0]
    assert record.caption[0] == "<sos>" and record.caption[-1] == "<eos>" and all(w in ds.vocab for w in record.caption[1:-1])


def test_text_report_names_the_real_typos(layouts: dict, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dataset", "check", str(layouts["musdl"])]) == 0
    out = capsys.readouterr().out
    assert "mtl_aqa_musdl" in out and "usable dives      1381" in out
    assert "04_49: judge score 45 is out of range [0, 10]" in out
    assert "01_70: final score 18.15 contradicts judges x DD (37.95 by the rule)" in out
