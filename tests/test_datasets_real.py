"""MTL-AQA's three released layouts, built from the real annotation files with tiny frames for
every dive, read unchanged.

The expected counts come from the files themselves, read here independently of the readers: the
split files, and the 7-judge rule applied to annotations.csv (30 real rows break it; see
tests/test_rules_mtl_aqa.py). The MUSDL pickle carries one more real typo: dive 04_49 has a
judge mark of 45.0 where annotations.csv has 4.5.

The whole-video layouts hold every frame of every window (151,364 files each, hard links built
once for the module in a RAM folder where there is one) or every broadcast (links to one tiny
MP4); a partial download is a copy with some broadcasts or one frame missing.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pytest

from aqa_core.rules import apply_panel_rule
from cli.main import main
from dataset_layouts import build_core, build_musdl, build_release, build_release_videos, longest_window_end, mtl_files, scratch_folder, tiny_jpegs, tiny_mp4
from trainer.datasets import inspect_dataset, open_dataset
from trainer.datasets.safe_pickle import load_annotation_pickle

pytestmark = pytest.mark.shared
VIDEO = 13  # the broadcast a partial download holds


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
def layouts(tmp_path_factory: pytest.TempPathFactory, real: dict):
    with scratch_folder(tmp_path_factory.mktemp("layouts")) as base:
        palette = tiny_jpegs(base / "palette")
        broadcast = tiny_mp4(base / "broadcast.mp4", longest_window_end() + 1)
        yield {
            "musdl": build_musdl(base / "musdl" / "MTL-AQA", palette, frames_per_dive=1),
            "core": build_core(base / "core" / "MTL-AQA", palette),
            "release": build_release(base / "release" / "MTL-AQA_dataset_release", palette),
            "release_videos": build_release_videos(base / "videos" / "MTL-AQA_dataset_release", broadcast),
            "release_partial": build_release_videos(base / "partial" / "MTL-AQA_dataset_release", broadcast, videos={VIDEO}),
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


def test_core_layout_every_dive_and_a_missing_frame(layouts: dict, real: dict, capsys: pytest.CaptureFixture[str]) -> None:
    root = layouts["core"]
    code, report = check(capsys, root)
    assert code == 0 and report["layout"] == "mtl_aqa_core" and report["missing_pixels"] == 0
    assert report["dives"] == 1412 - 30 and report["splits"] == counts(set(real["split"]) - real["dirty"], real["split"])
    assert report["with_dive_number"] == report["with_judge_scores"] == report["with_difficulty"] == 1382 and report["with_captions"] == 0
    assert {p["dive"] for p in report["problems"]} == real["dirty"] and all("contradicts" in p["problem"] for p in report["problems"])
    assert check(capsys, root / "info")[1]["dives"] == 1382
    first = min(open_dataset(root).records, key=lambda r: r.key)
    start, end = first.window
    assert [f.name for f in first.frames] == [f"{n + 1:08d}.jpg" for n in range(start, end + 1)]  # ffmpeg numbers from 1
    # One frame gone from a broadcast's folder: that dive is a partial download, refused unless asked.
    gone = first.frames[5]
    gone.unlink()
    try:
        code, report = check(capsys, root)
        assert code == 1 and report["missing_pixels"] == 1 and "frames or video unusable for 1 dive" in report["refusal"]
        assert {"dive": first.key, "problem": f"1 frame(s) of window {start}-{end} missing in {gone.parent} (first: frame {start + 5})"} in report["problems"]
        code, report = check(capsys, root, "--partial")
        assert code == 0 and report["dives"] == 1381
    finally:
        os.link(first.frames[0], gone)


def test_release_layout_with_frames_reads_captions_and_has_no_judges(layouts: dict, real: dict, capsys: pytest.CaptureFixture[str]) -> None:
    root = layouts["release"]
    for path in (root, root / "Ready_2_Use" / "MTL-AQA_split_0_data"):
        code, report = check(capsys, path)
        assert code == 0 and report["layout"] == "mtl_aqa_release" and report["problems"] == []
        assert report["dives"] == 1412 and report["splits"] == counts(set(real["split"]), real["split"])
        assert (report["with_judge_scores"], report["with_dive_number"], report["with_difficulty"], report["with_captions"]) == (0, 0, 1412, 1412)
        assert "whole-video frame folders" in report["notes"]["pixels"]
    ds = inspect_dataset(root)
    assert ds.vocab is not None and len(ds.vocab) == 5781
    record = ds.records[0]
    assert record.caption[0] == "<sos>" and record.caption[-1] == "<eos>" and all(w in ds.vocab for w in record.caption[1:-1])
    assert record.frames[0].name == f"{record.window[0] + 1:06d}.jpg" and len(record.frames) == record.window[1] - record.window[0] + 1


def test_release_layout_with_its_broadcasts(layouts: dict, real: dict, capsys: pytest.CaptureFixture[str]) -> None:
    root = layouts["release_videos"]
    code, report = check(capsys, root)
    assert code == 0 and report["layout"] == "mtl_aqa_release" and report["dives"] == 1412 and report["problems"] == []
    assert report["with_captions"] == 1412 and "whole videos" in report["notes"]["pixels"]
    record = min(open_dataset(root).records, key=lambda r: r.key)
    assert record.video == root / "whole_videos" / f"{record.key[:2]}.mp4" and record.frames is None


def test_partial_download_is_refused_unless_asked(layouts: dict, real: dict, capsys: pytest.CaptureFixture[str]) -> None:
    root = layouts["release_partial"]  # only broadcast 13 downloaded
    code, report = check(capsys, root)
    assert code == 1 and report["missing_pixels"] == 1412 - 30 and "frames or video unusable for 1382 dives" in report["refusal"]
    assert {p["dive"] for p in report["problems"]} == set(real["split"]) - real["video13"]
    assert all("does not exist" in p["problem"] for p in report["problems"])
    code, report = check(capsys, root, "--partial")
    assert code == 0 and report["dives"] == 30 and report["splits"] == counts(real["video13"], real["split"])
    assert report["listed"] == counts(set(real["split"]), real["split"])


def test_text_report_names_the_real_typos(layouts: dict, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dataset", "check", str(layouts["musdl"])]) == 0
    out = capsys.readouterr().out
    assert "mtl_aqa_musdl" in out and "usable dives      1381" in out
    assert "04_49: judge score 45 is out of range [0, 10]" in out
    assert "01_70: final score 18.15 contradicts judges x DD (37.95 by the rule)" in out


def test_methods_that_need_judges_say_so_on_the_release(layouts: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The release has no judge scores: MUSDL is refused in one line naming a dive, before any frame is read."""
    config = tmp_path / "musdl.json"
    config.write_text(json.dumps({
        "dataset": str(layouts["release_partial"]), "work_dir": "run", "out": "run/bundle", "epochs": 1,
        "model": {"backbone": {"name": "tiny", "feature_dim": 8, "seed": 0}, "head": {"name": "musdl", "judges": 7, "in_dim": 8, "hidden": [4]}},
    }))
    assert main(["train", str(config), "--partial"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "dive 13_" in err[0] and "a MUSDL head with 7 judges needs 7 judge scores" in err[0]
    assert not (tmp_path / "run" / "features").exists()
