"""Calibrated intervals, the unfamiliar-footage summary, ordered panels, the ridge baseline, coherent configs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from aqa_core.bundle import bundle_from_model, load_bundle, save_bundle
from aqa_core.calibration import Calibration, conformal_quantile, coverage, fit_calibration
from aqa_core.decoding import assess_uncertainty, estimate
from aqa_core.familiarity import fit_familiarity
from aqa_core.heads.panel import panel_estimate
from aqa_core.methods import build_method
from aqa_core.result import UNFAMILIAR_MESSAGE, DiveInfo, Estimate, Familiarity, ScoreResult
from aqa_core.scorer import Scorer
from trainer.config import ConfigError, with_paths
from trainer.run import train

from test_trainer_loop import D, config, make_npz

DIVE = DiveInfo("individual", 7, "107B", 10.0, 3.0)


def test_conformal_quantile_is_the_ceil_n_plus_one_rank() -> None:
    scores = np.arange(1.0, 10.0)[::-1]  # 9 scores, unsorted
    assert conformal_quantile(scores, 0.8) == 8.0  # ceil(10 x 0.8) = 8th smallest
    assert conformal_quantile(scores, 0.95) == 9.0  # ceil(9.5) = 10 > 9: the largest
    # (4 dives, 2 marks): share ceil(5 x 0.5) / 4 = 0.75 of the 8 values -> the 6th smallest
    assert conformal_quantile(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]), 0.5) == 6.0


def test_calibrated_intervals_hold_their_coverage_and_adapt_to_the_spread() -> None:
    rng = np.random.default_rng(0)

    def draw(n: int):
        spread = rng.uniform(0.5, 3.0, n)  # the model's own spread, here the true error scale
        pred = rng.uniform(30, 90, n)
        return pred, spread, pred + spread * rng.standard_normal(n)

    cal = fit_calibration(*draw(400), scale=np.ones(400))
    pred, spread, true = draw(20000)
    for level, nominal in (("0.8", 0.8), ("0.95", 0.95)):
        iv = np.array([cal.final_interval(p, s, 1.0, level) for p, s in zip(pred, spread)])
        assert abs(coverage(true, iv) - nominal) < 0.04
    half = np.array([cal.final_interval(p, s, 1.0, "0.95")[1] - p for p, s in zip(pred, spread)])
    assert np.corrcoef(half, spread)[0, 1] > 0.99  # wider where the model is less sure
    # the level bounds are validation terciles, so the levels split dives into thirds and discriminate
    levels = np.digitize(half, cal.level_bounds)
    errors = np.abs(true - pred)
    assert 0.25 < np.mean(levels == 0) < 0.42 and errors[levels == 2].mean() > 2 * errors[levels == 0].mean()


def test_calibration_survives_json_and_clips_marks_to_the_range() -> None:
    cal = fit_calibration(
        np.array([50.0, 60, 70]), np.array([3.0, 3, 3]), np.array([52.0, 57, 71]), np.array([3.0, 3, 3]),
        np.full((3, 7), 9.5), np.full((3, 7), 0.5), np.full((3, 7), 9.0),
    )
    again = Calibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert again == cal
    # every mark is off by 0.5 with spread 0.5 and floor 0.5 (the median spread): r = 0.5, so the
    # half-width is 0.5 x (0.5 + 0.5) = 0.5, and the top end is clipped to the 10-point mark range
    assert again.judge_interval(9.5, 0.5, "0.95") == (9.0, 10.0)


def test_unfamiliar_footage_is_flagged_and_familiar_is_not() -> None:
    rng = np.random.default_rng(1)
    basis = rng.normal(size=(8, 64))

    def dives(n: int, shift: float = 0.0) -> np.ndarray:
        latent = rng.normal(size=(n, 1, 8))
        clips = latent @ basis + 0.3 * rng.normal(size=(n, 10, 64))
        return clips + shift * rng.normal(size=(1, 1, 64))  # another camera: every dive moved the same way

    summary = fit_familiarity(dives(200), dives(40))
    familiar = summary.distance(dives(500)) > summary.threshold
    assert familiar.mean() <= 0.02
    assert (summary.distance(dives(50, shift=3.0)) > summary.threshold).all()


def test_unfamiliar_makes_uncertainty_high_and_says_why() -> None:
    est = Estimate(60.0, 60.0, 1.0, 1.0, 59.0, 61.0, {"0.8": (59.5, 60.5), "0.95": (59.0, 61.0)})
    calm = assess_uncertainty(est, 3.0, [8.0] * 7, bounds=(1.0, 2.0))
    assert calm.level == "low" and calm.reasons == []
    alarmed = assess_uncertainty(est, 3.0, [8.0] * 7, bounds=(1.0, 2.0), familiarity=Familiarity(9.0, 2.0, True))
    assert alarmed.level == "high" and alarmed.reasons == [UNFAMILIAR_MESSAGE]


def test_musdl_judges_come_out_in_path_order() -> None:
    values = np.arange(21) / 2
    peaks = [8.0, 6.0, 7.0, 7.5, 7.0, 9.0, 8.5]  # path 0 decoded above path 1: not a sorted panel
    dists = np.stack([np.where(values == p, 0.9, 0.1 / 20) for p in peaks])
    panel = panel_estimate(dists, values, DIVE, "argmax")
    assert [j.score for j in panel.judges] == sorted(peaks)
    assert panel.final.score == pytest.approx((7.0 + 7.5 + 8.0) * 3.0)  # the rule drops the same marks either way


def test_ridge_head_reproduces_closed_form_ridge(tmp_path: Path) -> None:
    """``loss: ridge`` gives, through the linear USDL head and expectation decoding, the primal ridge prediction."""
    from trainer.ridge import ridge_fit

    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(40, D)), rng.uniform(20, 80, 40)
    w, b = ridge_fit(x, y, 3.0)
    xc = x - x.mean(0)
    primal = np.linalg.solve(xc.T @ xc + 3.0 * np.eye(D), xc.T @ (y - y.mean()))
    np.testing.assert_allclose(w, primal, rtol=1e-8, atol=1e-10)
    assert b == pytest.approx(y.mean() - x.mean(0) @ primal)

    make_npz(tmp_path)
    head = {"name": "usdl", "in_dim": D, "hidden": [], "bins": 201, "score_range": [0, 100]}
    cfg = config(tmp_path, "ridge", loss="ridge", decoding="expectation", model={"aggregation": {"name": "average"}, "neck": {"name": "standardize"}, "head": head})
    bundle = load_bundle(train(cfg))
    data = np.load(tmp_path / "f.npz")
    model = build_method(bundle.config, with_backbone=False)
    model.load_state_dict(bundle.state_dict)
    split = data["split"]
    pooled = lambda f: model.neck(torch.from_numpy(f.astype(np.float32))).mean(1).double().numpy()  # noqa: E731
    train_rows = np.flatnonzero(split == "train")  # the trainer carves val from these with val_seed 0
    carved = set(np.random.default_rng(0).choice(train_rows, size=10, replace=False).tolist())
    fit_rows = [i for i in train_rows if i not in carved]
    w, b = ridge_fit(pooled(data["features"][fit_rows]), data["final_score"][fit_rows], bundle.data_card["validation"]["alpha"])
    test_rows = np.flatnonzero(split == "test")
    expected = pooled(data["features"][test_rows]) @ w + b
    with torch.no_grad():
        probs = torch.softmax(model.pooled_logits(torch.from_numpy(data["features"][test_rows].astype(np.float32)))[:, 0], -1).double()
    decoded = (probs @ model.head.bin_values.double()).numpy()
    inside = (expected > 10) & (expected < 90)  # truncation at the ends of the score range shifts the mean
    np.testing.assert_allclose(decoded[inside], expected[inside], atol=0.05)
    assert bundle.data_card["test"]["coverage"].keys() == {"0.8", "0.95"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"loss": "mse", "model": {"head": {"name": "usdl", "in_dim": D}}}, "set decoding: expectation"),
        ({"loss": "ridge", "model": {"head": {"name": "usdl", "in_dim": D, "hidden": [8]}}}, "hidden: \\[\\]"),
    ],
)
def test_incoherent_configs_are_refused_before_training(tmp_path: Path, overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(tmp_path, "w", **overrides)


def test_score_range_that_excludes_the_data_is_refused(tmp_path: Path) -> None:
    make_npz(tmp_path)
    head = {"name": "usdl", "in_dim": D, "hidden": [8], "score_range": [0, 50]}
    with pytest.raises(ConfigError, match=r"final scores span .* score_range is \[0, 50\]"):
        train(config(tmp_path, "w", model={"head": head}))
    assert not (tmp_path / "w" / "bundle").exists()


def test_validation_carve_has_its_own_seed_and_paths_can_be_overridden(tmp_path: Path) -> None:
    make_npz(tmp_path)
    notes = []
    for seed in (1, 2):
        cfg = with_paths(config(tmp_path, "w", epochs=1, seed=seed), out=tmp_path / f"b{seed}")
        card = load_bundle(train(cfg)).data_card
        notes.append(card["dataset_notes"]["validation"])
        assert card["seed"] == seed and card["dataset_path"] == str(tmp_path / "f.npz") and len(card["dataset_sha256"]) == 64
    assert notes[0] == notes[1] and "seed 0" in notes[0]


def test_leaky_features_raise_a_warning(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    final = rng.uniform(10, 90, 80)
    feats = rng.normal(size=(80, 2, D)) * 0.01
    feats[:, :, 0] = final[:, None]  # the label itself is a feature
    np.savez(tmp_path / "f.npz", features=feats, final_score=final, split=np.array(["train"] * 60 + ["test"] * 20))
    head = {"name": "usdl", "in_dim": D, "hidden": [], "score_range": [0, 100]}
    cfg = config(tmp_path, "w", loss="ridge", decoding="expectation", model={"aggregation": {"name": "average"}, "neck": {"name": "standardize"}, "head": head})
    card = load_bundle(train(cfg)).data_card
    assert card["validation"]["rho"] > 0.99 and "features saw the labels" in card["warnings"][0]


def test_score_result_round_trips_intervals_and_familiarity(tmp_path: Path) -> None:
    """A calibrated, flagged result survives JSON, and DD rescaling moves its intervals with it."""
    torch.manual_seed(0)
    config_json = json.loads((Path(__file__).resolve().parent.parent / "configs" / "models" / "musdl_tiny.json").read_text())
    model = build_method(config_json, with_backbone=False)
    bundle = bundle_from_model(model, "t", "1", {"dataset": "x"})
    cal = fit_calibration(np.full(5, 60.0), np.full(5, 2.0), np.array([58.0, 61, 63, 59, 60]), np.full(5, 3.0),
                          np.full((5, 7), 7.0), np.full((5, 7), 0.5), np.full((5, 7), 7.5))
    feats = np.random.default_rng(0).normal(size=(20, 10, model.head.in_dim))
    summary = fit_familiarity(feats[:15], feats[15:])
    bundle.fitted = {"calibration": cal.to_dict(), "familiarity": {**summary.to_dict(), "threshold": 0.0}}  # flags everything
    loaded = load_bundle(save_bundle(bundle, tmp_path / "b"))
    assert loaded.fitted == json.loads(json.dumps(bundle.fitted))
    from aqa_core.runtime import choose_runtime

    scorer = Scorer(loaded, choose_runtime("cpu", "float32", threads=1))
    result = scorer.score_features(torch.randn(10, model.head.in_dim), DIVE, [[i] for i in range(10)], (0, 9), "v")
    assert result.familiarity is not None and result.familiarity.unfamiliar and result.caveats == [UNFAMILIAR_MESSAGE]
    assert result.uncertainty.level == "high" and UNFAMILIAR_MESSAGE in result.uncertainty.reasons
    assert (result.final.low, result.final.high) == result.final.intervals["0.95"]
    assert all(j.estimate.intervals["0.8"][0] >= j.estimate.intervals["0.95"][0] for j in result.judges)
    again = ScoreResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result
    doubled = result.final.scaled(2.0)
    assert doubled.intervals["0.8"] == pytest.approx(tuple(2 * v for v in result.final.intervals["0.8"]))
    assert estimate(np.full(21, 1 / 21), np.arange(21) / 2, "argmax").intervals == {}


def test_evaluate_json_has_the_documented_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    make_npz(tmp_path)
    train(config(tmp_path, "run", epochs=2))
    capsys.readouterr()  # the training's progress stream
    assert main(["evaluate", str(tmp_path / "run" / "bundle"), str(tmp_path / "f.npz"), "--split", "all", "--decoding", "expectation", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert {"spearman", "rl2", "judge_mae", "coverage", "predictions"} <= set(figures)
    assert figures["dives"] == 90 and figures["decoding"] == "expectation" and set(figures["coverage"]) == {"0.8", "0.95"}
    first = figures["predictions"][0]
    assert {"dive_id", "predicted", "true", "intervals", "judges"} <= set(first) and first["dive_id"] == "row0"
    assert set(first["intervals"]) == {"0.8", "0.95"} and len(first["judges"]) == 7
    assert {"predicted", "true", "intervals"} <= set(first["judges"][0])
    marks = [j["true"] for j in first["judges"]]
    assert marks == sorted(marks)  # true marks in path order (ascending), as the paths predict them


def test_every_head_card_carries_the_ridge_bar_and_warns_below_it(tmp_path: Path) -> None:
    make_npz(tmp_path)  # features linear in the quality: ridge does well, a head after one epoch does not
    card = load_bundle(train(config(tmp_path, "w", epochs=1, lr=1e-5))).data_card
    bar = card["ridge_baseline"]
    assert {"rho", "rl2"} <= set(bar["validation"]) and {"rho", "rl2"} <= set(bar["test"])
    assert card["validation"]["rho"] < bar["validation"]["rho"]
    assert any("does not beat the ridge baseline" in w for w in card["warnings"])


def test_final_score_config_infers_dimension_and_range_and_takes_path_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    rng = np.random.default_rng(3)
    q = rng.uniform(0, 1, 60)
    feats = rng.normal(size=(60, 4, 12)) * 0.3 + q[:, None, None]
    np.savez(tmp_path / "final.npz", features=feats, final_score=20 + 60 * q, split=np.array(["train"] * 45 + ["test"] * 15))
    shipped = Path(__file__).resolve().parent.parent / "configs" / "train" / "features_final_score.yaml"
    argv = ["train", str(shipped), "--dataset", str(tmp_path / "final.npz"), "--out", str(tmp_path / "b"), "--work-dir", str(tmp_path / "w")]
    assert main(argv) == 0
    capsys.readouterr()
    bundle = load_bundle(tmp_path / "b")
    head = bundle.config["head"]
    assert head["in_dim"] == 12 and bundle.config["aggregation"]["in_dim"] == 12
    finals = 20 + 60 * q
    spread = finals.max() - finals.min()
    assert head["score_range"] == pytest.approx([finals.min() - 0.05 * spread, finals.max() + 0.05 * spread])
    assert bundle.data_card["dataset_path"] == str(tmp_path / "final.npz") and "ridge_baseline" in bundle.data_card


def test_dive_ids_from_the_npz_name_the_predictions_and_duplicates_are_refused(tmp_path: Path) -> None:
    from aqa_core.errors import DatasetError
    from trainer.datasets import open_dataset
    from trainer.evaluate import evaluate_bundle

    path = make_npz(tmp_path)
    data = dict(np.load(path))
    ids = np.array([f"dive-{i:03d}" for i in range(90)])
    np.savez(path, **data, dive_id=ids)
    out = train(config(tmp_path, "w", epochs=1))
    figures = evaluate_bundle(out, path, split="test")
    assert [p["dive_id"] for p in figures["predictions"]] == list(ids[data["split"] == "test"])
    ids[5] = ids[4]
    np.savez(tmp_path / "dup.npz", **data, dive_id=ids)
    with pytest.raises(DatasetError, match="dup.npz: dive dive-004 appears twice"):
        open_dataset(tmp_path / "dup.npz")


def test_score_json_carries_the_data_card_and_every_caveat(tiny_video, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    torch.manual_seed(0)
    config_json = json.loads((Path(__file__).resolve().parent.parent / "configs" / "models" / "musdl_tiny.json").read_text())
    model = build_method(config_json, with_backbone=False)
    bundle = bundle_from_model(model, "tiny", "1", {"dataset": "unit-test dives", "synthetic": True})
    feats = np.random.default_rng(0).normal(size=(20, 10, model.head.in_dim))
    bundle.fitted = {"familiarity": {**fit_familiarity(feats[:15], feats[15:]).to_dict(), "threshold": 0.0}}
    folder = save_bundle(bundle, tmp_path / "b")
    argv = ["score", str(tiny_video(count=20)), "--dd", "3.0", "--model", str(folder), "--device", "cpu", "--precision", "float32"]
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["data_card"] == bundle.data_card and data["familiarity"]["unfamiliar"] is True
    assert UNFAMILIAR_MESSAGE in data["caveats"] and any("not calibrated" in c for c in data["caveats"])
    assert main(argv) == 0
    text = capsys.readouterr().out
    for caveat in data["caveats"]:
        assert caveat.split(" (")[0] in text  # the text output says every caveat the JSON lists


def test_calibrate_adds_fitted_state_to_an_old_bundle_and_keeps_its_weights(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    make_npz(tmp_path)
    old = load_bundle(train(config(tmp_path, "w", epochs=2)))
    old.fitted = {}
    old.data_card = {k: v for k, v in old.data_card.items() if k not in ("calibration", "familiarity", "ridge_baseline")}
    save_bundle(old, tmp_path / "old")
    capsys.readouterr()
    assert main(["calibrate", str(tmp_path / "old"), str(tmp_path / "f.npz"), "--out", str(tmp_path / "new"), "--version", "2"]) == 0
    new = load_bundle(tmp_path / "new")
    assert new.version == "2" and {"calibration", "familiarity"} <= set(new.fitted) and "ridge_baseline" in new.data_card
    assert set(new.data_card["test"]["coverage"]) == {"0.8", "0.95"}
    for name, tensor in old.state_dict.items():
        assert torch.equal(tensor, new.state_dict[name])
    np.savez(tmp_path / "other.npz", **{**dict(np.load(tmp_path / "f.npz")), "final_score": np.load(tmp_path / "f.npz")["final_score"] + 1})
    assert main(["calibrate", str(tmp_path / "new"), str(tmp_path / "other.npz")]) == 2
    assert "not the dataset bundle 'model' was trained on" in capsys.readouterr().err


def test_footage_beyond_the_calibration_dives_says_the_intervals_may_be_too_narrow() -> None:
    from aqa_core.result import BEYOND_CALIBRATION_MESSAGE

    est = Estimate(60.0, 60.0, 1.0, 1.0, 59.0, 61.0, {"0.8": (59.5, 60.5), "0.95": (59.0, 61.0)})
    inside, beyond, far = (Familiarity(d, 6.0, d > 6.0, calibrated_within=2.0) for d in (1.5, 3.0, 7.0))
    assert inside.message is None and not inside.beyond_calibration
    assert beyond.beyond_calibration and beyond.message == BEYOND_CALIBRATION_MESSAGE
    assert far.message == UNFAMILIAR_MESSAGE and not far.beyond_calibration
    levels = [assess_uncertainty(est, 3.0, [8.0] * 7, (1.0, 2.0), f).level for f in (inside, beyond, far)]
    assert levels == ["low", "medium", "high"]
    rng = np.random.default_rng(4)
    train_f, val_f = rng.normal(size=(100, 3, 32)), rng.normal(size=(30, 3, 32))
    summary = fit_familiarity(train_f, val_f)
    assert summary.validation_max == pytest.approx(summary.distance(val_f).max())
    assert summary.threshold == pytest.approx(3.0 * summary.validation_max)


def test_point_distributions_calibrate_to_finite_intervals() -> None:
    """A method whose validation spreads are all 0 (collapsed distributions) still gets finite quantiles."""
    true = np.array([60.0, 62.0, 57.0, 65.0, 61.0])
    judges = np.array([[7.0, 7.5], [8.0, 7.5], [6.5, 7.0], [8.5, 8.0], [7.5, 7.5]])
    cal = fit_calibration(np.full(5, 60.0), np.zeros(5), true, np.full(5, 3.0), np.full((5, 2), 7.5), np.zeros((5, 2)), judges)
    assert all(np.isfinite(q) for q in [*cal.final_q.values(), *cal.judge_q.values()])
    assert cal.judge_floor == cal.final_floor == 0.25


def test_a_final_interval_never_reaches_above_what_the_dive_can_score() -> None:
    """A 95% interval showed 63.0-103.6 for a DD 3.4 dive, whose best is 102.0 (3 x 10 x 3.4): the top is cut there."""
    cal = Calibration(judge_q={}, final_q={"0.8": 1.0, "0.95": 2.0}, judge_floor=0.0, final_floor=0.5, level_bounds=(1.0, 2.0), dives=50)
    uncut = cal.final_interval(95.0, 3.4, 3.4, "0.95")  # 95 +- 2 x (1 + 0.5) x 3.4 = 95 +- 10.2
    assert uncut == pytest.approx((84.8, 105.2))
    assert cal.final_interval(95.0, 3.4, 3.4, "0.95", ceiling=102.0) == pytest.approx((84.8, 102.0))
    low, high = cal.final_interval(104.0, 1.0, 3.4, "0.95", ceiling=102.0)  # a point above the ceiling still gives low <= high
    assert low <= high == 102.0
    musdl = build_method({"aggregation": {"name": "average"}, "head": {"name": "musdl", "judges": 7, "in_dim": 4, "hidden": [4]}}, with_backbone=False)
    dive = DiveInfo("individual", 7, "307C", 3.0, 3.4)
    assert musdl.final_ceiling(dive) == 102.0
    top = Estimate(score=99.45, expectation=99.0, std=3.0, entropy=1.0, low=90.0, high=104.0)
    final = cal.calibrated_final(top, musdl.uncertainty_scale(dive, calibrated=True), musdl.final_ceiling(dive))
    assert final.high <= 102.0 and all(high <= 102.0 for _, high in final.intervals.values())


def test_the_level_never_calls_a_wide_interval_low_nor_ranks_on_widths_that_barely_differ() -> None:
    """The demo model's terciles sat 4% apart (5.42 and 5.62 per point): ±16.0 and ±16.1 read "high" and "low"."""
    def level(half_width: float, bounds: tuple[float, float] | None, scale: float = 3.0) -> str:
        est = Estimate(score=60.0, expectation=60.0, std=1.0, entropy=1.0, low=60.0 - half_width, high=60.0 + half_width)
        return assess_uncertainty(est, scale, [8.0] * 7, bounds).level

    demo = (5.417955046643025, 5.617099777749449)  # resources/models/demo_musdl's level_bounds
    # DD 2.8 and 3.0: 16.0 / 2.8 = 5.71 per point, 16.1 / 3.0 = 5.37; both over a full mark per counted judge (3.0)
    assert level(16.0, demo, 2.8) == level(16.1, demo, 3.0) == "high"
    assert level(2.0, demo) == "low"  # narrow in marks (0.67 per point): the barely-differing terciles do not raise it
    varied = (1.0, 2.0)  # validation widths that do differ: the rank counts, upwards only
    assert [level(w, varied) for w in (2.4, 4.5, 7.5)] == ["low", "medium", "high"]
    assert level(12.0, varied) == "high" and level(1.2, (0.1, 0.2)) == "high"  # ranked wide among very narrow dives
