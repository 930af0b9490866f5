"""Datasets are checked whole before any work starts (issue 10): paths stay inside the dataset,
windows fit their video, folders are not files, a BOM is read, contradictory finals are listed,
and a dive broken after reading stops extraction before the first feature is written."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from aqa_core.errors import DatasetError
from trainer.datasets import inspect_dataset, open_dataset
from trainer.features import extract_features

HEADER = "video,start_frame,end_frame,event,dive_number,height,difficulty," + ",".join(f"judge{i}" for i in range(1, 8)) + ",final_score,split,commentary\n"
MARKS = "107B,10,3.0,8,8.5,8,7.5,8,8,9,72.0"  # kept 8 + 8 + 8 = 24, x 3.0 = 72.0
TINY = {"backbone": {"name": "tiny", "feature_dim": 8, "seed": 0}, "segmentation": "usdl_10x16"}


def dataset(folder: Path, tiny_video, rows: list[str], bom: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("a.mp4", "b.mp4"):
        (folder / name).write_bytes(tiny_video(count=24, name=name).read_bytes())
    (folder / "clips").mkdir(exist_ok=True)
    text = HEADER + "".join(r + "\n" for r in rows)
    (folder / "annotations.csv").write_bytes((codecs.BOM_UTF8 if bom else b"") + text.encode())
    return folder


def test_every_hostile_path_is_a_problem_named_at_once(tmp_path: Path, tiny_video) -> None:
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(tiny_video(count=24, name="s.mp4").read_bytes())
    rows = [
        f"a.mp4,,,individual,{MARKS},train,",
        f"b.mp4,2,20,individual,{MARKS},train,",
        f"../secret.mp4,,,individual,{MARKS},train,",
        f"{secret},,,individual,{MARKS},train,",
        f"../../../../etc/passwd,,,individual,{MARKS},train,",
        f"clips,,,individual,{MARKS},train,",
        f"a.mp4,10,40,individual,{MARKS},test,",
        f"gone.mp4,,,individual,{MARKS},test,",
        f"b.mp4,0,5,individual,107B,10,3.0,8,8.5,8,7.5,8,8,9,75.0,test,",
    ]
    folder = dataset(tmp_path / "d", tiny_video, rows)
    ds = inspect_dataset(folder)
    assert [r.key for r in ds.records] == ["a.mp4", "b.mp4@2-20"]
    problems = [p.problem for p in ds.problems]
    assert problems == [
        "row 4: path '../secret.mp4' points outside the dataset folder " + str(folder),
        f"row 5: path '{secret}' points outside the dataset folder {folder}",
        "row 6: path '../../../../etc/passwd' points outside the dataset folder " + str(folder),
        f"row 7: {(folder / 'clips').resolve()} is a folder, not a video file",
        f"row 8: window 10-40 ends past the video's last frame (23) in {(folder / 'a.mp4').resolve()}",
        f"row 9: video {(folder / 'gone.mp4').resolve()} does not exist",
        "row 10: final score 75 contradicts judges x DD (72.00 by the rule)",
    ]
    with pytest.raises(DatasetError, match=r"frames or video unusable for 6 dives"):
        open_dataset(folder)
    assert len(open_dataset(folder, partial=True).records) == 2
    with pytest.raises(DatasetError, match="--strict refuses 7 dives"):
        open_dataset(folder, partial=True, strict=True)


def test_a_frames_root_is_the_other_place_paths_may_point(tmp_path: Path, tiny_video) -> None:
    folder = dataset(tmp_path / "d", tiny_video, [f"a.mp4,,,individual,{MARKS},train,"])
    media = tmp_path / "media"
    media.mkdir()
    (media / "a.mp4").write_bytes((folder / "a.mp4").read_bytes())
    (folder / "a.mp4").unlink()
    (record,) = open_dataset(folder, frames_root=media).records
    assert record.video == (media / "a.mp4").resolve()


def test_utf8_bom_header_is_read_not_a_missing_column(tmp_path: Path, tiny_video) -> None:
    folder = dataset(tmp_path / "d", tiny_video, [f"a.mp4,,,individual,{MARKS},train,"], bom=True)
    assert (folder / "annotations.csv").read_bytes().startswith(codecs.BOM_UTF8)
    (record,) = open_dataset(folder).records
    assert record.key == "a.mp4" and record.final_score == 72.0


def test_whole_check_runs_before_the_first_feature(tmp_path: Path, tiny_video) -> None:
    """A dive broken after reading (file replaced by a shorter one) stops extraction before any work."""
    folder = dataset(tmp_path / "d", tiny_video, [f"a.mp4,,,individual,{MARKS},train,", f"b.mp4,2,20,individual,{MARKS},train,"])
    records = open_dataset(folder).records
    (folder / "b.mp4").write_bytes(tiny_video(count=10, name="short.mp4").read_bytes())
    cache = tmp_path / "cache"
    with pytest.raises(DatasetError, match=r"pixels unusable for 1 dive\(s\), nothing extracted: b.mp4@2-20: window 2-20 ends past the video's last frame \(9\)"):
        extract_features(records, TINY, cache)
    assert not cache.exists() or not any(cache.iterdir())
