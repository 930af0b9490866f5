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


# Fuzz: whatever plain data the annotation files hold, a reader answers with a dataset (problems
# listed) or one DatasetError, never a traceback. Bounded in examples so it stays fast.
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True), st.text(max_size=12))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=8), st.tuples(inner, inner), st.dictionaries(st.text(max_size=12), inner, max_size=6)), max_leaves=20)
VALID = {"final_score": 72.0, "dive_score": 72.0, "difficulty": 3.0, "judge_scores": [8.0, 8.5, 8.0, 7.5, 8.0, 8.0, 9.0], "start_frame": 1, "end_frame": 5,
         "action_type": "107B", "steps_transit_frames": [1.0, 3.0], "frames_labels": [0, 0, 3, 3, 28], "sub-action_types": {0: "a", 3: "b", 28: "c"}}
# A valid label with some fields replaced by anything plain data can hold.
LABELS = st.one_of(st.dictionaries(st.sampled_from(sorted(VALID)), VALUES, max_size=4).map(lambda bad: {**VALID, **bad}), VALUES)
POOL = [(1, 1), ("Men3m", 0)]  # keys whose frame folders exist
KEYS = st.one_of(st.sampled_from(POOL), st.sampled_from(POOL), st.sampled_from(POOL), st.tuples(st.integers(-5, 30), st.integers(-5, 30)), st.tuples(st.text(max_size=10), st.integers(-3, 5)), SCALARS)


def _answers(read) -> None:
    try:
        read()
    except DatasetError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(labels=st.dictionaries(KEYS, LABELS, max_size=4), train=st.lists(KEYS, max_size=4), test=st.lists(KEYS, max_size=2))
def test_fuzzed_annotation_pickles_never_crash_a_reader(tmp_path_factory: pytest.TempPathFactory, labels, train, test) -> None:
    import pickle

    root = tmp_path_factory.mktemp("fuzz")
    (root / "info").mkdir()
    (root / "Annotations").mkdir()
    for folder in (root / "frames" / "01_01", root / "FINADiving_MTL_256s" / "Men3m" / "0"):
        folder.mkdir(parents=True)
        (folder / "00001.jpg").write_bytes(b"jpeg")
    for path, obj in ((root / "info" / "augmented_final_annotations_dict.pkl", labels), (root / "info" / "train_split_0.pkl", train), (root / "info" / "test_split_0.pkl", test),
                      (root / "Annotations" / "FineDiving_coarse_annotation.pkl", labels), (root / "Annotations" / "FineDiving_fine-grained_annotation.pkl", labels), (root / "Annotations" / "train_split.pkl", train), (root / "Annotations" / "test_split.pkl", test)):
        try:
            path.write_bytes(pickle.dumps(obj, protocol=4))
        except (ValueError, OverflowError):
            return
    _answers(lambda: inspect_dataset(root, "mtl_aqa"))
    _answers(lambda: inspect_dataset(root, "finediving"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text(alphabet=st.sampled_from(list(",\"\n\r;x.0123456789-e/ \ufeff\x00abcdefghijklmnopqrstuvwxyz")), max_size=400), header=st.booleans())
def test_fuzzed_csv_never_crashes_the_reader(tmp_path_factory: pytest.TempPathFactory, body: str, header: bool) -> None:
    folder = tmp_path_factory.mktemp("csv")
    (folder / "annotations.csv").write_text((HEADER if header else "") + body, encoding="utf-8")
    _answers(lambda: inspect_dataset(folder, "own"))


def test_training_checks_every_split_before_extracting_any(tmp_path: Path, tiny_video, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test-split dive gone after reading stops training before the train split is extracted."""
    import trainer.run as run
    from trainer.config import config_from_dict

    rows = [f"a.mp4,,,individual,{MARKS},train,", f"a.mp4,0,20,individual,{MARKS},train,", f"a.mp4,0,10,individual,{MARKS},val,", f"b.mp4,,,individual,{MARKS},test,"]
    folder = dataset(tmp_path / "d", tiny_video, rows)
    opened = run.open_dataset

    def open_then_lose_a_video(*args, **kwargs):
        ds = opened(*args, **kwargs)
        (folder / "b.mp4").unlink()
        return ds

    monkeypatch.setattr(run, "open_dataset", open_then_lose_a_video)
    raw = {"dataset": "d", "work_dir": "w", "out": "w/bundle", "feature_cache": "cache", "epochs": 1, "batch_size": 2,
           "model": {"backbone": TINY["backbone"], "head": {"name": "usdl", "in_dim": 8, "hidden": [4]}}}
    with pytest.raises(DatasetError, match=r"pixels unusable for 1 dive\(s\), nothing extracted: b.mp4: video .*b.mp4 does not exist"):
        run.train(config_from_dict(raw, tmp_path, "test config"))
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


@pytest.mark.parametrize("text", ["²", "--5", "٣", "1.5", ""])
def test_a_string_int_reads_only_plain_ascii_digits(text: str) -> None:
    """str.isdigit() accepts "²", which int() refuses: the fuzzer found it crashing a reader."""
    from trainer.datasets.base import as_int

    assert as_int(text) is None and as_int(" -12 ") == -12
