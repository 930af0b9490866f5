"""The method interface: every registered method trains, predicts, survives a bundle round trip, and
refuses a bad config in one line naming the file and the key."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from aqa_core.bundle import bundle_from_model, load_bundle, save_bundle
from aqa_core.errors import ConfigError
from aqa_core.methods import build_method, method_class
from aqa_core.registry import METHODS
from aqa_core.result import DiveInfo
from trainer.config import load_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "models"
CARD = {"dataset": "none", "synthetic": True}


def tiny(name: str) -> dict:
    config = json.loads((CONFIGS / f"{name}_tiny.json").read_text())
    if "head" in config:
        config["head"]["in_dim"] = 8
        config["head"]["hidden"] = [16]
    if "ud_aqa" in config:
        config["ud_aqa"]["in_dim"] = config["aggregation"]["in_dim"] = 8
    return config


def seeded_loss(method, batch: dict) -> float:  # noqa: ANN001
    """The loss in eval mode with a fixed seed, so a stochastic loss (UD-AQA's sampling) compares like with like."""
    method.eval()
    torch.manual_seed(123)
    with torch.no_grad():
        value = method.loss(batch).item()
    method.train()
    return value


def problem(seed: int = 0, dives: int = 48) -> dict:
    """Features whose first dimension sets every judge's mark: a signal any method can learn."""
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(dives, 4, 8, generator=g)
    quality = features[:, :, 0].mean(dim=1)
    marks = (5.0 + 2.0 * quality).clamp(0.5, 9.5)
    judges = torch.stack([marks + 0.5 * k for k in (-1, -0.5, 0, 0, 0, 0.5, 1)], dim=1).clamp(0, 10)
    difficulty = torch.full((dives,), 2.0)
    final = judges.sort(dim=1).values[:, 2:5].sum(dim=1) * difficulty
    dive_info = [DiveInfo("individual", 7, None, None, 2.0) for _ in range(dives)]
    return {"features": features, "final": final, "judges": judges, "dives": dive_info}


METHOD_NAMES = ["usdl", "usdl_dd", "musdl", "ud_aqa", "mtl_aqa", "mtl_aqa_dd"]



@pytest.mark.parametrize("name", METHOD_NAMES)
def test_loss_goes_down_on_a_tiny_problem(name: str, one_thread: None) -> None:
    torch.manual_seed(0)
    method = build_method(tiny(name), with_backbone=False)
    batch = problem()
    optimiser = torch.optim.Adam(method.parameters(), lr=2e-2)
    first = seeded_loss(method, batch)
    for _ in range(60):
        optimiser.zero_grad()
        method.loss(batch).backward()
        optimiser.step()
    assert seeded_loss(method, batch) < first - 0.1 * abs(first)
    method.eval()
    finals, _ = method.point_scores(batch, "expectation")
    assert np.corrcoef(finals, batch["final"].numpy())[0, 1] > 0.8  # it learnt the signal, not just the mean


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_predict_on_a_reloaded_bundle_is_identical(name: str, tmp_path: Path) -> None:
    torch.manual_seed(1)
    method = build_method(tiny(name), with_backbone=False)
    folder = save_bundle(bundle_from_model(method, "m", "1", CARD), tmp_path / "b")
    again = build_method(load_bundle(folder).config, with_backbone=False)
    again.load_state_dict(load_bundle(folder).state_dict)
    method.eval(), again.eval()
    batch = problem(seed=2, dives=5)
    for decoding in ("argmax", "expectation"):
        before, after = method.predict(batch, decoding), again.predict(batch, decoding)
        for b, a in zip(before, after, strict=True):
            assert b.final == a.final and b.judges == a.judges and b.samples == a.samples and b.recognised == a.recognised
            np.testing.assert_array_equal(b.distributions, a.distributions)


def test_configs_without_a_method_build_their_heads_method() -> None:
    assert {"usdl", "musdl", "ud_aqa", "mtl_aqa"} <= set(METHODS.names())
    assert method_class(tiny("musdl")).scales_with_difficulty
    assert not method_class(tiny("usdl")).scales_with_difficulty
    assert build_method({**tiny("usdl"), "method": "usdl"}, with_backbone=False).name == "usdl"


def _config_file(tmp_path: Path, model: dict, loss: str = "kl") -> Path:
    path = tmp_path / "train.json"
    decoding = "argmax" if loss == "kl" else "expectation"
    path.write_text(json.dumps({"dataset": "d", "out": "o", "work_dir": "w", "loss": loss, "decoding": decoding, "model": model}))
    return path


@pytest.mark.parametrize(
    ("model", "loss", "message"),
    [
        ({"method": "nope"}, "kl", r"model\.method: unknown method 'nope'; known: core, mtl_aqa, mtl_aqa_dd, musdl, ud_aqa, usdl, usdl_dd"),
        ({"head": {"name": "nope"}}, "kl", r"model\.head\.name: unknown method 'nope'"),
        ({"head": {"name": "musdl", "judgez": 7}}, "kl", r"model: head 'musdl': .*unexpected keyword argument 'judgez'"),
        ({"aggregation": {"name": "max"}, "head": {"name": "usdl"}}, "kl", r"model: unknown aggregator 'max'; known: average, weight_decider"),
        ({"head": {"name": "musdl"}}, "mse", r"loss: method 'musdl' trains with loss kl, not 'mse'"),
    ],
)
def test_config_errors_are_one_line_naming_file_and_key(tmp_path: Path, model: dict, loss: str, message: str) -> None:
    path = _config_file(tmp_path, model, loss)
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path)
    text = str(caught.value)
    assert text.startswith(str(path)) and "\n" not in text


def test_ud_aqa_point_scores_are_its_predictions_points(one_thread: None) -> None:
    """Model selection reads point_scores; the app reads predict: both must give the same finals and marks."""
    torch.manual_seed(0)
    method = build_method(tiny("ud_aqa"), with_backbone=False).eval()
    batch = problem(dives=2)
    for event, panel in (("individual", 7), ("individual", 5), ("synchronised", 11)):
        batch["dives"] = [DiveInfo(event, panel, None, None, 2.0), DiveInfo(event, panel, None, None, 3.4)]
        for decoding in ("argmax", "expectation"):
            finals, judges = method.point_scores(batch, decoding)
            predictions = method.predict(batch, decoding)
            assert finals.tolist() == [p.final.score for p in predictions]
            assert judges.tolist() == [[j.estimate.score for j in p.judges] for p in predictions]


def test_ud_aqa_samples_as_many_judges_as_the_panel_and_reports_its_uncertainty() -> None:
    torch.manual_seed(0)
    method = build_method(tiny("ud_aqa"), with_backbone=False).eval()
    batch = problem(dives=2)
    for event, panel in (("individual", 5), ("individual", 7), ("synchronised", 9), ("synchronised", 11)):
        batch["dives"] = [DiveInfo(event, panel, None, None, 2.0)] * 2
        prediction = method.predict(batch, "argmax")[0]
        assert len(prediction.judges) == panel and len(prediction.samples.panels[0]) == panel
        assert np.isfinite(prediction.samples.uncertainty) and prediction.samples.spread >= 0
        assert all(0 <= j.estimate.score <= 10 for j in prediction.judges)
        assert 0 <= prediction.final.score <= 30 * 2.0  # three kept marks of at most 10 (synchronised: 5 x 0.6) x DD
    again = method.predict(batch, "argmax")[0]  # seeded draws: the same dive gets the same panel
    assert again.samples == prediction.samples


def test_ud_aqa_scores_a_video_with_sampled_judges_through_the_scorer(tiny_video, tmp_path: Path) -> None:  # noqa: ANN001
    from aqa_core.runtime import choose_runtime
    from aqa_core.scorer import Scorer
    from app.analysis_cache import adapt_to_dive

    torch.manual_seed(0)
    config = json.loads((CONFIGS / "ud_aqa_tiny.json").read_text())
    bundle = load_bundle(save_bundle(bundle_from_model(build_method(config), "ud", "1", CARD), tmp_path / "b"))
    result = Scorer(bundle, choose_runtime("cpu", "float32")).score(tiny_video(count=30), DiveInfo("individual", 5, None, None, 2.0))
    assert result.head == "ud_aqa" and len(result.judges) == 5 and len(result.clips) == 10
    assert result.judge_samples is not None and len(result.judge_samples.panels[0]) == 5
    assert result.model_fingerprint == bundle.fingerprint
    from aqa_core.result import ScoreResult

    assert ScoreResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
    doubled = adapt_to_dive(result, DiveInfo("individual", 5, None, None, 4.0), "v")
    assert doubled is not None and doubled.final.score == pytest.approx(2 * result.final.score)


@pytest.mark.parametrize(
    ("code", "classes"),
    [
        ("107B", {"position": 2, "armstand": 0, "rotation": 0, "somersaults": 7, "twists": 0}),  # forward 3.5 pike
        ("5253B", {"position": 2, "armstand": 0, "rotation": 1, "somersaults": 5, "twists": 3}),  # back 2.5 som. 1.5 twists
        ("626C", {"position": 1, "armstand": 1, "rotation": 1, "somersaults": 6, "twists": 0}),  # armstand back 3 som. tuck
        ("405C", {"position": 1, "armstand": 0, "rotation": 3, "somersaults": 5, "twists": 0}),  # inward 2.5 tuck
    ],
)
def test_mtl_aqa_classes_are_the_dive_numbers_parts_and_give_the_number_back(code: str, classes: dict) -> None:
    from aqa_core.methods.mtl_aqa import dive_classes, dive_code

    assert dive_classes(code) == classes
    assert dive_code(classes) == code
    assert dive_classes("107Q") is None and dive_classes(None) is None


def test_mtl_aqa_recognises_the_dive_proposes_its_dd_and_flags_a_mismatch(one_thread: None) -> None:
    torch.manual_seed(0)
    method = build_method(tiny("mtl_aqa"), with_backbone=False)
    batch = problem(dives=40)
    codes = ["107B", "5253B"]
    kind = torch.arange(40) % 2
    batch["features"][:, :, 1] += 3.0 * (2 * kind[:, None] - 1)  # dimension 1 tells the two dives apart
    batch["dives"] = [DiveInfo("individual", 7, codes[k], 3.0, 2.4) for k in kind.tolist()]
    optimiser = torch.optim.Adam(method.parameters(), lr=2e-2)
    for _ in range(60):
        optimiser.zero_grad()
        method.loss(batch).backward()
        optimiser.step()
    method.eval()
    seen = method.predict(batch, "argmax")
    assert [p.recognised.dive_number for p in seen[:2]] == codes
    assert (seen[0].recognised.difficulty, seen[1].recognised.difficulty) == (3.1, 3.4)  # 107B and 5253B from 3 m (the DD table)
    assert not any(p.recognised.mismatch for p in seen)
    swapped = {**batch, "dives": [DiveInfo("individual", 7, codes[1 - k], 3.0, 2.4) for k in kind.tolist()]}
    assert all(p.recognised.mismatch for p in method.predict(swapped, "argmax"))


@pytest.mark.parametrize("name", ["mtl_aqa", "mtl_aqa_dd"])
def test_mtl_aqa_recognition_trains_the_body_the_score_reads(name: str) -> None:
    """The paper's multi-task sharing: the classifiers read the score MLP's last hidden layer, so with the
    score's weight at 0 the recognition loss alone still moves the score's first layer (and never its last)."""
    config = {**tiny(name), "mtl_aqa": {"alpha": 0.0, "gamma": 0.0}}
    method = build_method(config, with_backbone=False)
    batch = problem(dives=8)
    batch["dives"] = [DiveInfo("individual", 7, "107B", 3.0, 2.4)] * 8
    method.loss(batch).backward()
    first, last = method.head.path_mlps[0][0], method.head.path_mlps[0][-1]
    assert first.weight.grad is not None and first.weight.grad.abs().sum() > 0
    assert last.weight.grad is None or not last.weight.grad.any()
    assert all(layer.in_features == first.out_features for layer in method.classifiers.values())  # tiny: one hidden layer of 16


def test_mtl_aqa_scores_a_video_and_says_what_dive_it_sees(tiny_video, tmp_path: Path) -> None:  # noqa: ANN001
    from aqa_core.runtime import choose_runtime
    from aqa_core.scorer import Scorer

    torch.manual_seed(0)
    config = json.loads((CONFIGS / "mtl_aqa_tiny.json").read_text())
    bundle = load_bundle(save_bundle(bundle_from_model(build_method(config), "mtl", "1", CARD), tmp_path / "b"))
    result = Scorer(bundle, choose_runtime("cpu", "float32")).score(tiny_video(count=30), DiveInfo("individual", 7, "107B", 3.0, 3.1))
    assert result.head == "mtl_aqa" and result.recognised_dive is not None and result.judges == []
    assert result.recognised_dive.mismatch == (result.recognised_dive.dive_number != "107B")


@pytest.mark.parametrize("method", ["ud_aqa", "mtl_aqa"])
def test_the_trainer_trains_and_evaluates_every_method_through_the_interface(method: str, tmp_path: Path) -> None:
    from test_trainer_loop import D, config, make_npz

    from trainer.evaluate import evaluate_bundle
    from trainer.run import train

    make_npz(tmp_path)
    models = {
        "ud_aqa": {"method": "ud_aqa", "aggregation": {"name": "weight_decider", "in_dim": D, "hidden": [16, 8, 16]},
                   "ud_aqa": {"in_dim": D, "encoded": 16, "hidden": [16], "cvae_hidden": [16, 16]}},
        "mtl_aqa": {"method": "mtl_aqa", "head": {"name": "usdl", "in_dim": D, "hidden": [32, 16], "score_range": [0, 100]}},
    }
    out = train(config(tmp_path, "run", epochs=6, lr=1e-2, model=models[method], decoding="expectation"))
    bundle = load_bundle(out)
    assert bundle.data_card["method"] == method and "calibration" in bundle.fitted
    figures = evaluate_bundle(out, tmp_path / "f.npz")
    assert figures["dives"] == 20 and figures["spearman"] > 0.3, figures["spearman"]  # it learnt the quality the features carry


def test_a_features_npz_can_carry_dive_numbers_for_methods_that_recognise_dives(tmp_path: Path) -> None:
    from trainer.datasets import open_dataset

    path = tmp_path / "f.npz"
    np.savez(path, features=np.zeros((2, 3, 4), np.float32), final_score=np.array([50.0, 60.0]), dive_number=np.array(["107B", "5253B"]))
    assert [r.dive_number for r in open_dataset(path).records] == ["107B", "5253B"]
