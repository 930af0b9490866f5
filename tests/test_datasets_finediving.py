"""FineDiving as released: a fixture of our own in its real structure (see tests/dataset_layouts.py).

Truth by hand: the fixture's counted marks give dive_score by sum x DD (x 0.6 synchronised),
except Men3m/2 whose 6.5 x 3 x 3.1 = 60.45 was written 60.0; the MTL-AQA dive's 7 marks go
through the 7-judge rule (drop 8.5 8.5 and 9.5 9.5, keep 9 + 9 + 9.5 = 27.5; x 3.2 = 88.0).
A model trained on counted marks learns the 3 counting marks of the individual dives (the MTL-AQA
dive's are its J2 9.0, J4 9.0 and J6 9.5) and sets the 2 synchronised dives aside.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest

from aqa_core.errors import DatasetError, RuleError
from cli.main import main
from dataset_layouts import build_finediving, tiny_jpegs, write_pickle
from trainer.datasets import detect_kind, inspect_dataset, open_dataset

IND, SYNC = "FINADivingWorldCup2021_Men3m_final_r1", "FullMenSynchronised10mPlatform_Tokyo2020Replays_2"


@pytest.fixture
def finediving(tmp_path: Path) -> Path:
    build_finediving(tmp_path / "FineDiving", tiny_jpegs(tmp_path / "palette"))
    return tmp_path / "FineDiving"


def test_finediving_as_released(finediving: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert detect_kind(finediving) == detect_kind(finediving / "Annotations") == "finediving"
    assert main(["dataset", "check", str(finediving), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["layout"] == "finediving" and report["dives"] == 5
    assert report["splits"] == {"train": 3, "val": 0, "test": 2} and report["listed"] == {"train": 4, "val": 0, "test": 2}
    assert report["with_judge_scores"] == report["with_sub_actions"] == report["with_dive_number"] == 5
    assert report["with_counted_marks"] == 4  # Men3m/0, Men3m/1 and both synchronised dives; the MTL-AQA dive has a whole panel
    assert report["problems"] == [{"dive": f"{IND}/2", "problem": "final score 60 contradicts judges x DD (60.45 by the rule)"}]
    assert "counting marks only" in report["notes"]["judge_scores"]
    ds = open_dataset(finediving)
    by_key = {r.key: r for r in ds.records}
    ind, sync, mtl = by_key[f"{IND}/0"], by_key[f"{SYNC}/3"], by_key["MTL-AQA_WorldChampionships_10m/5"]
    assert (ind.event, ind.height, ind.dive_number, ind.judges_counted, ind.judge_scores) == ("individual", 3.0, "307C", True, (8.0, 8.0, 8.0))
    assert (sync.event, sync.height, sync.judges_counted, len(sync.judge_scores)) == ("synchronised", 10.0, True, 5)
    assert (mtl.judges_counted, len(mtl.judge_scores), mtl.height) == (False, 7, 10.0)
    assert ind.transit_frames == (4, 8) and ind.frame_labels[:5] == (0, 0, 0, 0, 3) and len(ind.frame_labels) == len(ind.frames) == 12
    assert ind.sub_action_types == ((0, "Forward"), (3, "Pike"), (28, "Entry")) and ds.sub_action_names[28] == "Entry"
    assert ind.window == (489, 500) and ind.frames[0].name == "00489.jpg" and ind.frames[-1].name == "00500.jpg"
    with pytest.raises(DatasetError, match=f"--strict refuses 1 dive with problems: {IND}/2: final score 60 contradicts"):
        open_dataset(finediving, strict=True)


def test_frames_root_anywhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frames = tmp_path / "elsewhere" / "FINADiving_MTL_256s"
    build_finediving(tmp_path / "FineDiving", tiny_jpegs(tmp_path / "palette"), frames_root=frames)
    assert main(["dataset", "check", str(tmp_path / "FineDiving")]) == 2
    assert "no FineDiving frames folder (FINADiving_MTL_256s or FineDiving) beside Annotations/" in capsys.readouterr().err
    assert len(open_dataset(tmp_path / "FineDiving", frames_root=frames).records) == 5
    # The README draws the frames folder as FineDiving/ beside the annotations: found as well.
    shutil.move(frames, tmp_path / "FineDiving" / "FineDiving")
    assert len(open_dataset(tmp_path / "FineDiving").records) == 5


def test_height_is_the_first_fina_height_in_the_event_name(finediving: Path) -> None:
    """``Tokyo2020m_Men3m...``: 2020 m is no height, 3 m is; the renamed event's dives keep their frames."""
    anno, renamed = finediving / "Annotations", "Tokyo2020m_Men3m_final_r1"
    for name in ("FineDiving_coarse_annotation.pkl", "FineDiving_fine-grained_annotation.pkl", "train_split.pkl"):
        data = pickle.loads((anno / name).read_bytes())
        rename = lambda key: (renamed, key[1]) if key[0] == IND else key  # noqa: E731
        write_pickle(anno / name, {rename(k): v for k, v in data.items()} if isinstance(data, dict) else [rename(k) for k in data])
    shutil.move(finediving / "FINADiving_MTL_256s" / IND, finediving / "FINADiving_MTL_256s" / renamed)
    heights = {r.key: r.height for r in inspect_dataset(finediving).records}
    assert heights[f"{renamed}/0"] == heights[f"{renamed}/1"] == 3.0


def test_tuple_annotations_alone_train_without_judges(finediving: Path) -> None:
    for name in ("FineDiving_coarse_annotation.pkl", "FineDiving_fine-grained_annotation.pkl"):
        (finediving / "Annotations" / name).unlink()
    ds = inspect_dataset(finediving)
    assert len(ds.records) == 6 and not ds.problems  # the tuple file has no judge marks to contradict
    assert all(r.judge_scores is None and r.frame_labels is not None for r in ds.records)


def test_key_outside_the_frames_root_is_a_problem_never_a_read(finediving: Path) -> None:
    """``../../OUTSIDE`` as an event name must not reach frames outside FINADiving_MTL_256s/."""
    anno = finediving / "Annotations"
    outside = finediving.parent / "OUTSIDE" / "0"
    outside.mkdir(parents=True)
    shutil.copy(finediving.parent / "palette" / "tone0.jpg", outside / "00001.jpg")
    hostile = {("../../OUTSIDE", 0), ("..", 0), (str(finediving.parent / "OUTSIDE"), 0)}
    coarse = pickle.loads((anno / "FineDiving_coarse_annotation.pkl").read_bytes())
    fine = pickle.loads((anno / "FineDiving_fine-grained_annotation.pkl").read_bytes())
    template = next(iter(coarse.values()))
    for key in hostile:
        coarse[key] = template
        fine[key] = next(iter(fine.values()))
    write_pickle(anno / "FineDiving_coarse_annotation.pkl", coarse)
    write_pickle(anno / "FineDiving_fine-grained_annotation.pkl", fine)
    write_pickle(anno / "train_split.pkl", [*pickle.loads((anno / "train_split.pkl").read_bytes()), *sorted(hostile)])
    ds = inspect_dataset(finediving)
    problems = {p.dive: p.problem for p in ds.problems}
    assert all("is not a plain folder name" in problems[f"{e}/{i}"] for e, i in hostile)
    assert all(outside not in (r.frames[0].parent, r.video) for r in ds.records)
    with pytest.raises(DatasetError, match="frames or video unusable for 3 dives"):
        open_dataset(finediving)


def test_trains_unchanged_and_the_data_card_says_what_was_used(finediving: Path) -> None:
    from aqa_core.bundle import load_bundle
    from aqa_core.data_card import describe_data_card
    from trainer.config import config_from_dict
    from trainer.run import train

    raw = {
        "dataset": "FineDiving", "work_dir": "run", "out": "run/bundle", "epochs": 2, "batch_size": 2, "val_fraction": 0.34,
        "model": {"backbone": {"name": "tiny", "feature_dim": 8, "seed": 0}, "head": {"name": "usdl", "in_dim": 8, "hidden": [4]}},
    }
    card = load_bundle(train(config_from_dict(raw, finediving.parent, "test config"))).data_card
    assert card["dataset_layout"] == "finediving" and card["split_sizes"] == {"train": 2, "val": 1, "test": 2}
    assert card["split_sizes_listed"] == {"train": 4, "val": 0, "test": 2}
    assert card["left_out"] == [{"dive": f"{IND}/2", "problems": ["final score 60 contradicts judges x DD (60.45 by the rule)"]}]
    assert "counting marks only" in card["judge_scores"]
    assert "1 dive with label or frame problems left out" in describe_data_card(card) and "counting marks" in describe_data_card(card)


def test_train_command_takes_the_frames_root_and_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The frames root and the strict policy can be given on the command line, or the frames root in the config."""
    frames = tmp_path / "elsewhere" / "FINADiving_MTL_256s"
    build_finediving(tmp_path / "FineDiving", tiny_jpegs(tmp_path / "palette"), frames_root=frames)
    settings = {
        "dataset": "FineDiving", "work_dir": "run", "out": "run/bundle", "epochs": 1, "batch_size": 2, "val_fraction": 0.34,
        "model": {"backbone": {"name": "tiny", "feature_dim": 8, "seed": 0}, "head": {"name": "usdl", "in_dim": 8, "hidden": [4]}},
    }
    config, named = tmp_path / "fd.json", tmp_path / "fd_frames.json"
    config.write_text(json.dumps(settings))
    named.write_text(json.dumps({**settings, "frames_root": "elsewhere/FINADiving_MTL_256s"}))  # relative to the config
    assert main(["train", str(config), "--frames", str(frames), "--strict"]) == 2  # frames found: the refusal is the typo's
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--strict refuses 1 dive with problems: {IND}/2" in err[0]
    assert main(["train", str(named)]) == 0
    assert (tmp_path / "run" / "bundle" / "bundle.json").is_file()
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run" / "bundle"), str(tmp_path / "FineDiving"), "--frames", str(frames), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["dives"] == 2  # the test split, read from the frames kept elsewhere


TINY = {"backbone": {"name": "tiny", "feature_dim": 8, "seed": 0}}
COUNTED_MODELS = {
    "musdl": {**TINY, "marks": "counted", "head": {"name": "musdl", "judges": 3, "in_dim": 8, "hidden": [4]}},
    "ud_aqa": {**TINY, "method": "ud_aqa", "marks": "counted", "aggregation": {"name": "average"}, "head": {"name": "musdl", "in_dim": 8},
               "ud_aqa": {"judges": 3, "in_dim": 8, "hidden": [4], "cvae_hidden": [4]}},
}


@pytest.mark.parametrize("method", sorted(COUNTED_MODELS))
def test_judge_heads_train_on_the_counted_marks(finediving: Path, method: str) -> None:
    """MUSDL and UD-AQA learn the 3 counting marks; a 7-judge sheet is then scored by the counted rule, none dropped."""
    import torch

    from aqa_core.bundle import load_bundle
    from aqa_core.data_card import describe_data_card
    from aqa_core.rules import apply_panel_rule, make_dive_info
    from aqa_core.scorer import Scorer
    from trainer.config import config_from_dict
    from trainer.run import train

    raw = {"dataset": "FineDiving", "work_dir": "run", "out": "run/bundle", "epochs": 2, "batch_size": 2, "val_fraction": 0.5, "model": COUNTED_MODELS[method]}
    bundle = load_bundle(train(config_from_dict(raw, finediving.parent, "test config")))
    card = bundle.data_card
    assert card["marks"] == "counted" and card["split_sizes"] == {"train": 1, "val": 1, "test": 1}  # 3 usable individual dives
    assert card["set_aside"]["dives"] == [f"{SYNC}/3", f"{SYNC}/4"] and "(train 1, val 0, test 1)" in card["set_aside"]["why"]
    assert "whole panels read as their counting marks by the rule: 1" in card["counted_marks"]
    assert "trained on counted marks, not a full panel" in describe_data_card(card)
    assert card["test"]["judge_mae"] and len(card["test"]["judge_mae"]) == 3  # the MTL-AQA dive's counting marks, path by path
    scorer = Scorer(bundle)
    sheet = make_dive_info("individual", 7, "107B", 3.0, None)
    result = scorer.score_features(torch.randn(4, 8), sheet, [[0]] * 4, (0, 3), "dive.mp4")
    marks = [j.estimate.score for j in result.judges]
    assert result.counted_marks and len(marks) == 3 and not any(j.dropped for j in result.judges)
    assert marks == sorted(marks) and result.final.score == apply_panel_rule(marks, "individual", sheet.difficulty, counted=True).final
    with pytest.raises(RuleError, match="counting marks of individual events and cannot score a synchronised dive"):
        scorer.score_features(torch.randn(4, 8), make_dive_info("synchronised", 11, None, None, 3.0), [[0]] * 4, (0, 3), "dive.mp4")


def test_full_panel_head_refuses_counted_marks_in_one_line(finediving: Path) -> None:
    from trainer.config import config_from_dict
    from trainer.run import train

    model = {**TINY, "head": {"name": "musdl", "judges": 7, "in_dim": 8, "hidden": [4]}}
    raw = {"dataset": "FineDiving", "work_dir": "run", "out": "run/bundle", "epochs": 1, "batch_size": 2, "val_fraction": 0.34, "model": model}
    with pytest.raises(DatasetError, match="a MUSDL head with 7 judges needs 7 judge scores"):
        train(config_from_dict(raw, finediving.parent, "test config"))


@pytest.mark.parametrize(("model", "message"), [
    ({"marks": "some", "head": {"name": "musdl", "judges": 3, "in_dim": 8}}, "model.marks: model marks 'some' is not 'panel'"),
    ({"marks": "counted", "head": {"name": "musdl", "judges": 7, "in_dim": 8}}, "model.marks: 7 counted marks fit no event"),
    ({"marks": "counted", "head": {"name": "usdl", "in_dim": 8}}, "model.marks: 1 counted marks fit no event"),
])
def test_a_counted_marks_config_is_checked_before_any_data(model: dict, message: str) -> None:
    from aqa_core.errors import ConfigError
    from trainer.config import config_from_dict

    with pytest.raises(ConfigError, match=f"fd.yaml: {message}"):
        config_from_dict({"dataset": "FineDiving", "work_dir": "run", "out": "run/bundle", "model": {**TINY, **model}}, Path("."), "fd.yaml")
