"""Dataset readers: each layout read from a tiny fixture tree, and malformed input refused whole."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from aqa_core.errors import DatasetError
from trainer.datasets import carve_validation, detect_kind, inspect_dataset, open_dataset

HEADER = "video,start_frame,end_frame,event,dive_number,height,difficulty,judge1,judge2,judge3,judge4,judge5,judge6,judge7,final_score,split,commentary\n"


def write_own(folder: Path, rows: list[str], tiny_video) -> Path:
    """annotations.csv plus a real 24-frame video for every row (the reader probes each one)."""
    folder.mkdir(parents=True, exist_ok=True)
    for row in rows:
        name = row.split(",")[0]
        if not (folder / name).exists():
            (folder / name).write_bytes(tiny_video(count=24, name=name).read_bytes())
    (folder / "annotations.csv").write_text(HEADER + "".join(r + "\n" for r in rows))
    return folder


GOOD = [  # final scores as the 7-judge rule gives them: 24 x 3.0 and 18 x 3.4
    "a.mp4,,,individual,107B,10,3.0,8,8.5,8,7.5,8,8,9,72.0,train,nice",
    "b.mp4,3,20,individual,5253B,3,3.4,6,6,6.5,6,5.5,6,6,61.2,val,",
    "c.mp4,,,individual,,,,,,,,,,,50.5,test,",
]


def test_own_layout_reads_every_field(tmp_path: Path, tiny_video) -> None:
    ds = open_dataset(write_own(tmp_path / "d", GOOD, tiny_video))
    assert ds.kind == "own" and ds.split_sizes() == {"train": 1, "val": 1, "test": 1} and not ds.problems
    a, b, c = ds.records
    assert a.judge_scores == (8, 8.5, 8, 7.5, 8, 8, 9) and a.window is None and a.commentary == "nice"
    assert b.window == (3, 20) and b.height == 3.0 and b.difficulty == 3.4 and b.video == (tmp_path / "d" / "b.mp4").resolve()
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
def test_own_layout_lists_bad_rows_and_strict_refuses_them(tmp_path: Path, tiny_video, bad: str, reason: str) -> None:
    folder = write_own(tmp_path / "d", [*GOOD, bad], tiny_video)
    ds = open_dataset(folder)  # default: the bad row is left out and listed, the good ones train
    assert len(ds.records) == 3 and len(ds.problems) == 1
    assert ds.problems[0].problem.startswith("row 5: ") and reason in ds.problems[0].problem
    with pytest.raises(DatasetError) as err:
        open_dataset(folder, strict=True)
    message = str(err.value)
    assert "annotations.csv" in message and "row 5" in message and reason in message and "\n" not in message


def test_own_layout_refuses_missing_video_unless_partial(tmp_path: Path, tiny_video) -> None:
    folder = write_own(tmp_path / "d", GOOD, tiny_video)
    (folder / "b.mp4").unlink()
    with pytest.raises(DatasetError, match=r"frames or video unusable for 1 dive \(b.mp4@3-20: row 3: video .*b.mp4 does not exist\)"):
        open_dataset(folder)
    assert [r.key for r in open_dataset(folder, partial=True).records] == ["a.mp4", "c.mp4"]


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
        (tmp_path / "frames" / f"{v:02d}_{c:02d}" / "00000.jpg").write_bytes(b"jpeg")
    assert detect_kind(tmp_path) == "mtl_aqa"
    ds = open_dataset(tmp_path)
    assert [r.key for r in ds.records] == ["01_01", "01_02", "02_01"] and not ds.problems
    first = ds.records[0]
    assert first.split == "test" and first.final_score == 88.0 and first.judge_scores[4] == 8.5
    assert first.video == tmp_path / "frames" / "01_01" and first.frames == (tmp_path / "frames" / "01_01" / "00000.jpg",)


def test_mtl_aqa_whole_video_uses_annotated_window(tmp_path: Path, tiny_video) -> None:
    labels = {
        (3, 1): {"final_score": 48.75, "difficulty": 2.5, "judge_scores": [6.5] * 7, "start_frame": 4, "end_frame": 20},
        (3, 2): {"final_score": 48.75, "difficulty": 2.5, "judge_scores": [6.5] * 7, "start_frame": 10, "end_frame": 40},
    }
    _pickle(tmp_path / "final_annotations_dict.pkl", labels)
    _pickle(tmp_path / "train_split_0.pkl", [(3, 1), (3, 2)])
    _pickle(tmp_path / "test_split_0.pkl", [])
    (tmp_path / "whole_videos").mkdir()
    tiny_video(count=24, name="whole_videos/03.mp4")
    ds = inspect_dataset(tmp_path)
    (record,) = ds.records
    assert record.video == tmp_path / "whole_videos" / "03.mp4" and record.window == (4, 20)
    (problem,) = ds.problems
    assert problem.dive == "03_02" and "window 10-40 ends past the video's last frame (23)" in problem.problem


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
    with pytest.raises(DatasetError, match="no MTL-AQA frames or videos found"):
        open_dataset(tmp_path)
    (tmp_path / "frames").mkdir()
    with pytest.raises(DatasetError, match=r"unusable for 1 dive \(01_01: frame folder .*01_01 is missing\)"):
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
        folder = tmp_path / "frames" / f"{int(video):02d}_{int(clip):02d}"
        folder.mkdir(parents=True)
        (folder / "00000.jpg").write_bytes(b"jpeg")
    ds = open_dataset(tmp_path)
    assert ds.kind == "mtl_aqa" and ds.layout == "mtl_aqa_csv"
    # The 30 rows whose final score the 7-judge rule does not give (tests/test_rules_mtl_aqa.py) are left out.
    assert len(ds.records) == len(rows) - 30 and len(ds.problems) == 30
    assert ds.listed_sizes() == {"train": 1059, "val": 0, "test": 353}
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
        (tmp_path / "FINADiving_MTL_256s" / event / str(idx) / "00489.jpg").write_bytes(b"jpeg")
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


def test_mtl_aqa_split_dirt_is_listed_per_dive(tmp_path: Path) -> None:
    good = {"final_score": 48.75, "difficulty": 2.5, "judge_scores": [6.5] * 7}
    _pickle(tmp_path / "info" / "final_annotations_dict.pkl", {(1, 1): good, (1, 2): good, (1, 3): {**good, "judge_scores": [6.5] * 6 + [6.3]}})
    _pickle(tmp_path / "info" / "train_split_0.pkl", [(1, 1), (1, 2), (9, 9), (1, 3)])
    _pickle(tmp_path / "info" / "test_split_0.pkl", [(1, 2), "junk"])
    for clip in (1, 2, 3):
        (tmp_path / "frames" / f"01_{clip:02d}").mkdir(parents=True)
        (tmp_path / "frames" / f"01_{clip:02d}" / "00000.jpg").write_bytes(b"jpeg")
    ds = inspect_dataset(tmp_path)
    assert [r.key for r in ds.records] == ["01_01"]
    assert sorted((p.dive, p.problem) for p in ds.problems) == [
        ("'junk'", "entry of test_split_0.pkl is not a (video, clip) pair"),
        ("01_02", "listed 2 times"),
        ("01_03", "judge score 6.3 is not a half point"),
        ("09_09", "listed in a split file but has no annotation"),
    ]
