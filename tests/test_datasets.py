"""Dataset readers: each layout read from a tiny fixture tree, and malformed input refused whole."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from aqa_core.errors import DatasetError
from trainer.datasets import carve_validation, detect_kind, open_dataset

HEADER = "video,start_frame,end_frame,event,dive_number,height,difficulty,judge1,judge2,judge3,judge4,judge5,judge6,judge7,final_score,split,commentary\n"


def write_own(folder: Path, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for row in rows:
        (folder / row.split(",")[0]).write_bytes(b"x")
    (folder / "annotations.csv").write_text(HEADER + "".join(r + "\n" for r in rows))
    return folder


GOOD = [
    "a.mp4,,,individual,107B,10,3.0,8,8.5,8,7.5,8,8,9,72.0,train,nice",
    "b.mp4,3,90,individual,5253B,3,3.4,6,6,6.5,6,5.5,6,6,61.2,val,",
    "c.mp4,,,individual,,,,,,,,,,,50.5,test,",
]


def test_own_layout_reads_every_field(tmp_path: Path) -> None:
    ds = open_dataset(write_own(tmp_path / "d", GOOD))
    assert ds.kind == "own" and ds.split_sizes() == {"train": 1, "val": 1, "test": 1}
    a, b, c = ds.records
    assert a.judge_scores == (8, 8.5, 8, 7.5, 8, 8, 9) and a.window is None and a.commentary == "nice"
    assert b.window == (3, 90) and b.height == 3.0 and b.difficulty == 3.4 and b.video == (tmp_path / "d" / "b.mp4").resolve()
    assert c.judge_scores is None and c.difficulty is None and c.dive_number is None


@pytest.mark.parametrize(
    "bad, reason",
    [
        ("d.mp4,,,individual,107B,10,3.0,8,8.5,8,7.5,8,8,9.3,72.0,train,", "half point"),
        ("d.mp4,,,individual,107B,10,3.0,8,8.5,8,7.5,8,8,,72.0,train,", "judge scores"),
        ("d.mp4,,,individual,107B,10,3.0,8,8.5,8,7.5,8,8,9,abc,train,", "not a number"),
        ("d.mp4,,,individual,107B,10,3.0,8,8.5,8,7.5,8,8,9,72,holdout,", "split"),
        ("d.mp4,9,3,individual,107B,10,3.0,8,8.5,8,7.5,8,8,9,72,train,", "window"),
        ("d.mp4,,,team,107B,10,3.0,8,8.5,8,7.5,8,8,9,72,train,", "event"),
    ],
)
def test_own_layout_refuses_bad_rows_naming_file_and_row(tmp_path: Path, bad: str, reason: str) -> None:
    folder = write_own(tmp_path / "d", [*GOOD, bad])
    with pytest.raises(DatasetError) as err:
        open_dataset(folder)
    message = str(err.value)
    assert "annotations.csv" in message and "row 5" in message and reason in message


def test_own_layout_refuses_missing_video(tmp_path: Path) -> None:
    folder = write_own(tmp_path / "d", GOOD)
    (folder / "b.mp4").unlink()
    with pytest.raises(DatasetError, match=r"row 3: video b.mp4 does not exist"):
        open_dataset(folder)


def _pickle(path: Path, obj: object, protocol: int = 2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(obj, protocol=protocol))


def test_mtl_aqa_layout_with_frame_folders(tmp_path: Path) -> None:
    info = tmp_path / "info"
    labels = {
        (1, 1): {"final_score": np.float64(88.0), "difficulty": np.float64(3.2), "judge_scores": np.array([9.5, 9, 9.5, 9, 8.5, 9.5, 8.5]), "start_frame": 10, "end_frame": 100},
        (1, 2): {"final_score": 86.4, "difficulty": 3.2, "judge_scores": [9, 8.5, 9, 9, 9, 9, 9], "start_frame": 5, "end_frame": 95},
        (2, 1): {"final_score": 40.0, "difficulty": 2.0, "judge_scores": [6, 7, 6.5, 7, 7, 6, 6.5], "start_frame": 5, "end_frame": 95},
    }
    _pickle(info / "final_annotations_dict.pkl", labels)
    _pickle(info / "train_split_0.pkl", [(1, 2), (2, 1)])
    _pickle(info / "test_split_0.pkl", [(1, 1)])
    for v, c in labels:
        (tmp_path / "frames" / f"{v:02d}_{c:02d}").mkdir(parents=True)
    assert detect_kind(tmp_path) == "mtl_aqa"
    ds = open_dataset(tmp_path)
    assert [r.key for r in ds.records] == ["01_01", "01_02", "02_01"]
    first = ds.records[0]
    assert first.split == "test" and first.final_score == 88.0 and first.judge_scores[4] == 8.5
    assert first.video == tmp_path / "frames" / "01_01" and first.window is None


def test_mtl_aqa_whole_video_uses_annotated_window(tmp_path: Path) -> None:
    _pickle(tmp_path / "final_annotations_dict.pkl", {(3, 1): {"final_score": 50.0, "difficulty": 2.5, "judge_scores": [6.5] * 7, "start_frame": 100, "end_frame": 190}})
    _pickle(tmp_path / "train_split_0.pkl", [(3, 1)])
    _pickle(tmp_path / "test_split_0.pkl", [])
    (tmp_path / "whole_videos").mkdir()
    (tmp_path / "whole_videos" / "03.mp4").write_bytes(b"x")
    (record,) = open_dataset(tmp_path).records
    assert record.video == tmp_path / "whole_videos" / "03.mp4" and record.window == (100, 190)


def test_restricted_unpickler_refuses_code(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):  # noqa: D105 - the classic pickle exploit shape
            return (print, ("owned",))

    _pickle(tmp_path / "final_annotations_dict.pkl", {(1, 1): Evil()})
    with pytest.raises(DatasetError, match=r"final_annotations_dict.pkl: not a plain-data annotation pickle \(refers to [_a-z]*builtins?_*.print, which this file never needs; refusing it\)"):
        open_dataset(tmp_path)


def test_mtl_aqa_refuses_missing_pixels(tmp_path: Path) -> None:
    _pickle(tmp_path / "final_annotations_dict.pkl", {(1, 1): {"final_score": 50.0, "difficulty": 2.5, "judge_scores": [6.5] * 7}})
    _pickle(tmp_path / "train_split_0.pkl", [(1, 1)])
    _pickle(tmp_path / "test_split_0.pkl", [])
    with pytest.raises(DatasetError, match="dive 01_01: no frames/01_01/ folder"):
        open_dataset(tmp_path)


def test_mtl_aqa_csv_equivalent_reads_real_labels(tmp_path: Path) -> None:
    from aqa_core.paths import shared_dir

    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared is absent")
    text = (shared / "data" / "mtl_aqa" / "annotations.csv").read_text()
    (tmp_path / "annotations.csv").write_text(text)
    header, *rows = text.splitlines()
    for row in rows:
        video, clip = row.split(",")[:2]
        (tmp_path / "frames" / f"{int(video):02d}_{int(clip):02d}").mkdir(parents=True)
    ds = open_dataset(tmp_path)
    assert ds.kind == "mtl_aqa" and len(ds.records) == len(rows)
    assert ds.split_sizes() == {"train": 1059, "val": 0, "test": 353}
    assert ds.judges == 7 and all(r.dive_number for r in ds.records)


def test_finediving_layout(tmp_path: Path) -> None:
    anno = tmp_path / "Annotations"
    labels = {
        ("FINADivingWorldCup2021_Men3m_final_r1", 0): {"action_type": "307C", "dive_score": 81.6, "difficulty": 3.4, "judge_scores": [8, 8, 8, 8.5, 7.5, 8, 8], "start_frame": 489, "end_frame": 592},
        ("FullMenSynchronised10mPlatform_Tokyo2020Replays_2", 3): {"action_type": "6243D", "dive_score": 70.2, "difficulty": 3.2, "judge_scores": [], "start_frame": 1, "end_frame": 99},
    }
    _pickle(anno / "FineDiving_fine-grained_annotation.pkl", labels, protocol=4)
    _pickle(anno / "train_split.pkl", [("FINADivingWorldCup2021_Men3m_final_r1", 0)], protocol=4)
    _pickle(anno / "test_split.pkl", [("FullMenSynchronised10mPlatform_Tokyo2020Replays_2", 3)], protocol=4)
    for event, idx in labels:
        (tmp_path / "FINADiving_MTL_256s" / event / str(idx)).mkdir(parents=True)
    ds = open_dataset(tmp_path)
    assert ds.kind == "finediving"
    ind, sync = ds.records
    assert (ind.dive_number, ind.height, ind.event, ind.split) == ("307C", 3.0, "individual", "train")
    assert (sync.dive_number, sync.height, sync.event, sync.split, sync.judge_scores) == ("6243D", 10.0, "synchronised", "test", None)


def test_features_npz_and_validation_carve(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 20
    path = tmp_path / "f.npz"
    np.savez(path, features=rng.normal(size=(n, 10, 8)), final_score=rng.uniform(20, 90, n), judge_scores=np.full((n, 7), 7.5), split=np.array(["train"] * 16 + ["test"] * 4))
    ds = open_dataset(path)
    assert ds.split_sizes() == {"train": 16, "val": 0, "test": 4} and ds.records[0].features.shape == (10, 8)
    carved = carve_validation(ds, fraction=0.25, seed=3)
    assert carved.split_sizes() == {"train": 12, "val": 4, "test": 4}
    assert "carved 4 of 16" in carved.notes["validation"]
    again = carve_validation(ds, fraction=0.25, seed=3)
    assert [r.split for r in again.records] == [r.split for r in carved.records]


def test_features_npz_refuses_mismatched_lengths(tmp_path: Path) -> None:
    path = tmp_path / "f.npz"
    np.savez(path, features=np.zeros((5, 8)), final_score=np.zeros(4))
    with pytest.raises(DatasetError, match="f.npz: 'final_score' has 4 rows but 'features' has 5"):
        open_dataset(path)
