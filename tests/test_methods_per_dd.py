"""USDL_DD and our MTL-AQA per DD: the score path learns final / DD, the final is it x the typed DD.

Truth here is the diving rule worked by hand (final = counted marks' sum x DD, x 0.6 for a
synchronised event) and the seed's USDL_DD definition, not the code's own output.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from aqa_core.bundle import bundle_from_model
from aqa_core.calibration import Calibration
from aqa_core.errors import DatasetError
from aqa_core.methods import build_method, method_class
from aqa_core.result import DiveInfo
from aqa_core.runtime import choose_runtime
from aqa_core.scorer import Scorer

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "models"
PER_DD = ["usdl_dd", "mtl_aqa_dd"]
CALIBRATION = Calibration(judge_q={}, final_q={"0.8": 1.0, "0.95": 2.0}, judge_floor=0.0, final_floor=0.5, level_bounds=(1.0, 2.0), dives=10)


def tiny(name: str, dim: int = 8) -> dict:
    config = json.loads((CONFIGS / f"{name}_tiny.json").read_text())
    config["head"].update(in_dim=dim, hidden=[16])
    return config


def peaked(name: str, weights: dict[float, float]) -> torch.nn.Module:
    """A method whose head ignores its input and gives ``weights`` (per-DD value: probability) over its 0-30 bins."""
    method = build_method(tiny(name), with_backbone=False)
    values = method.head.bin_values.double().numpy()
    logits = np.full(len(values), -1e4)
    for value, p in weights.items():
        logits[int(np.argmin(np.abs(values - value)))] = np.log(p)
    layer = method.head.path_mlps[0][-1]
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.copy_(torch.from_numpy(logits).float())
    return method.eval()


def test_the_new_methods_are_registered_per_dd_and_their_bins_span_the_counted_sum() -> None:
    for name in PER_DD:
        cls = method_class(name)
        assert cls.scales_with_difficulty and cls.per_difficulty and cls.target == "per_dd"
        values = cls.score_values(tiny(name))
        assert (values[0], values[-1]) == (0.0, 30.0)  # three marks of 0-10: the axis is per point of DD, not the final
    assert not method_class("usdl").scales_with_difficulty and not method_class("mtl_aqa").per_difficulty


@pytest.mark.parametrize("name", PER_DD)
def test_the_final_is_the_decoded_per_dd_score_times_dd_by_hand(name: str) -> None:
    # Half the mass on 20.1, half on 24.0: expectation 22.05 per point of DD, argmax the first of the tie (20.1).
    method = peaked(name, {20.1: 0.5, 24.0: 0.5})
    dives = [DiveInfo("individual", 7, "107B", 3.0, 2.0), DiveInfo("individual", 7, "5253B", 3.0, 3.4)]
    batch = {"features": torch.randn(2, 3, 8), "dives": dives}
    finals, judges = method.point_scores(batch, "expectation")
    assert judges is None and finals == pytest.approx([44.1, 74.97])  # 22.05 x 2.0, 22.05 x 3.4
    predicted = method.predict(batch, "expectation")
    assert [p.final.score for p in predicted] == pytest.approx([44.1, 74.97])
    assert [p.final.expectation for p in predicted] == pytest.approx([44.1, 74.97])
    assert predicted[1].final.std == pytest.approx(1.95 * 3.4)  # half a 3.9-point gap, per DD, x DD
    assert (predicted[1].final.low, predicted[1].final.high) == pytest.approx((20.1 * 3.4, 24.0 * 3.4))
    np.testing.assert_allclose(predicted[0].distributions, predicted[1].distributions)  # the per-DD curve does not depend on DD
    clips = method.clip_scores(batch["features"][1], dives[1], "expectation")
    assert [score for _, score in clips] == pytest.approx([74.97] * 3)
    argmax = 44.1 if name == "mtl_aqa_dd" else 40.2  # MTL-AQA's score is trained on its mean: always decoded by expectation
    assert method.predict(batch, "argmax")[0].final.score == pytest.approx(argmax)  # else 20.1 x 2.0


@pytest.mark.parametrize("name", PER_DD)
def test_a_synchronised_dive_is_learnt_and_decoded_per_dd_too(name: str) -> None:
    # Synchronised: final = 0.6 x counted sum x DD. Five counted marks summing to 40 give 24 per point of DD.
    method = peaked(name, {24.0: 1.0})
    sync = DiveInfo("synchronised", 11, "107B", 3.0, 3.0)
    solo = DiveInfo("individual", 7, "107B", 3.0, 3.2)
    batch = {"features": torch.randn(2, 3, 8), "dives": [sync, solo], "final": torch.tensor([72.0, 76.8])}
    finals, _ = method.point_scores(batch, "expectation")
    assert finals == pytest.approx([0.6 * 40 * 3.0, 24.0 * 3.2])
    assert method.score_target(batch).tolist() == pytest.approx([24.0, 24.0])  # what it learns: final / DD
    predicted = method.predict(batch, "expectation", CALIBRATION)
    # Judged per DD x multiplier, as MUSDL: the 95% half-width is q 2.0 x floor 0.5 x scale (std 0).
    assert [p.scale for p in predicted] == pytest.approx([1.8, 3.2])
    assert predicted[0].final.intervals["0.95"] == pytest.approx((72.0 - 1.8, 72.0 + 1.8))
    assert predicted[1].final.intervals["0.8"] == pytest.approx((76.8 - 1.6, 76.8 + 1.6))


@pytest.mark.parametrize("name", PER_DD)
def test_loss_goes_down_where_dd_varies_and_the_footage_does_not_show_it(name: str, one_thread: None) -> None:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(3)
    features = torch.randn(64, 4, 8, generator=g)
    counted = (15.0 + 6.0 * features[:, :, 0].mean(dim=1)).clamp(1, 29)
    dd = torch.tensor([1.6, 2.0, 3.0, 3.8])[torch.randint(0, 4, (64,), generator=g)]
    batch = {"features": features, "final": counted * dd, "dives": [DiveInfo("individual", 7, None, None, float(d)) for d in dd]}
    method = build_method(tiny(name), with_backbone=False)
    method.fit(batch)
    optimiser = torch.optim.Adam(method.parameters(), lr=2e-2)
    first = method.loss(batch).item()
    for _ in range(80):
        optimiser.zero_grad()
        method.loss(batch).backward()
        optimiser.step()
    assert method.loss(batch).item() < 0.9 * first
    method.eval()
    finals, _ = method.point_scores(batch, "expectation")
    assert np.corrcoef(finals, batch["final"].numpy())[0, 1] > 0.9


@pytest.mark.parametrize("name", PER_DD)
def test_a_dive_without_dd_is_refused_in_one_line(name: str, tmp_path: Path) -> None:
    from test_trainer_loop import D, config

    from trainer.run import train

    assert method_class(name).label_problem(tiny(name), None, None) == (
        f"method {name!r} learns the final score per point of DD (final / DD): this dive has no DD")
    assert method_class(name).label_problem(tiny(name), None, 3.2) is None
    np.savez(tmp_path / "f.npz", features=np.zeros((4, 2, D), np.float32), final_score=np.array([50.0, 60.0, 55.0, 40.0]))
    model = {k: v for k, v in tiny(name, D).items() if k != "backbone"}
    with pytest.raises(DatasetError) as caught:
        train(config(tmp_path, "run", model=model, decoding="expectation"))
    text = str(caught.value)
    assert "f.npz" in text and "has no DD" in text and "\n" not in text


def test_the_score_range_check_is_per_dd_and_a_perfect_dive_fits(tmp_path: Path) -> None:
    from test_trainer_loop import D, config

    from aqa_core.errors import ConfigError
    from trainer.run import train

    model = {k: v for k, v in tiny("usdl_dd", D).items() if k != "backbone"}
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(30, 2, D)).astype(np.float32)
    dd = np.full(30, 3.3)
    final = np.full(30, 60.0)
    final[0] = 99.0  # 30 per point of DD: three 10s (99.0 / 3.3 is 30.000000000000004 in floats)
    np.savez(tmp_path / "f.npz", features=feats, final_score=final, difficulty=dd, split=np.array(["train"] * 20 + ["test"] * 10))
    train(config(tmp_path, "run", epochs=1, model=model, decoding="expectation"))
    final[1] = 3.3 * 31  # beyond the counted marks' 0-30
    np.savez(tmp_path / "f.npz", features=feats, final_score=final, difficulty=dd, split=np.array(["train"] * 20 + ["test"] * 10))
    with pytest.raises(ConfigError, match=r"the final scores per point of DD span 18.1818..31 but the head's score_range is \[0, 30\]"):
        train(config(tmp_path, "run2", epochs=1, model=model, decoding="expectation"))


def test_ridge_per_dd_fits_the_methods_own_target() -> None:
    from trainer.evaluate import labels_from
    from trainer.ridge import fit_ridge_head

    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 3, 6))
    counted = 15.0 + 3.0 * x.mean(axis=1) @ np.array([1.0, -0.5, 0.2, 0.0, 0.0, 0.3])
    dd = rng.choice([1.6, 2.0, 3.0, 3.8], 120)
    model = build_method({"method": "usdl_dd", "neck": {"name": "standardize"}, "aggregation": {"name": "average"},
                          "head": {"name": "usdl", "bins": 201, "score_range": [0, 30], "in_dim": 6, "hidden": []}}, with_backbone=False, loss="ridge")
    features = torch.from_numpy(x).float()
    model.fit({"features": features[:80]})
    labels = labels_from(counted * dd, None, dd, ["individual"] * 120)
    split = lambda rows: labels_from(labels.final[rows], None, labels.difficulty[rows], ["individual"] * len(rows))  # noqa: E731
    chosen = fit_ridge_head(model, features[:80], split(np.arange(80)), features[80:], split(np.arange(80, 120)))
    assert chosen["residual_std"] < 0.2  # per point of DD: the counted sum is linear in the features
    finals, _ = model.point_scores({"features": features[80:], "dives": labels.dives(range(80, 120), model)}, "expectation")
    np.testing.assert_allclose(finals, counted[80:] * dd[80:], atol=0.5)  # x DD: within half a point of the true final


@pytest.mark.parametrize("name", PER_DD)
def test_a_stored_result_on_a_new_dd_rescales_like_a_fresh_analysis(name: str) -> None:
    from app.analysis_cache import adapt_to_dive

    torch.manual_seed(0)
    config = json.loads((CONFIGS / f"{name}_tiny.json").read_text())
    bundle = bundle_from_model(build_method(config), name, "0", {"synthetic": True})
    bundle.fitted = {"calibration": CALIBRATION.to_dict()}
    scorer = Scorer(bundle, choose_runtime("cpu", "float32", threads=1))
    features = torch.randn(4, 64, generator=torch.Generator().manual_seed(5))
    frames = [list(range(i * 16, i * 16 + 16)) for i in range(4)]

    def score(dive: DiveInfo):  # noqa: ANN202
        return scorer.score_features(features, dive, frames, (0, 63), "v.mp4")

    first, other = DiveInfo("individual", 7, "107B", 3.0, 3.1), DiveInfo("individual", 7, "305C", 3.0, 2.4)
    stored, fresh = score(first), score(other)
    adapted = adapt_to_dive(stored, other, "v.mp4")
    assert adapted is not None and adapted.final.score == pytest.approx(fresh.final.score)
    assert adapted.final.score == pytest.approx(stored.final.score * 2.4 / 3.1)
    for level in ("0.8", "0.95"):
        assert adapted.final.intervals[level] == pytest.approx(fresh.final.intervals[level])
    assert adapted.uncertainty.level == fresh.uncertainty.level
    assert [c.score for c in adapted.clips] == pytest.approx([c.score for c in fresh.clips])
    assert adapted.bins == fresh.bins  # the per-DD axis, and the curve on it, do not move with DD
    np.testing.assert_allclose(adapted.aggregate, fresh.aggregate)


def test_the_trainer_tabs_method_list_is_the_method_registry(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from app.training_config import settings_of
    from cli.trainer_commands import run_train_options

    assert run_train_options(argparse.Namespace(json=True)) == 0
    methods = json.loads(capsys.readouterr().out)["methods"]
    assert {"usdl", "usdl_dd", "musdl", "ud_aqa", "mtl_aqa", "mtl_aqa_dd", "core"} <= set(methods)
    assert "gart" not in methods  # a head, not a method
    assert settings_of({"model": tiny("usdl_dd")}, Path("d.npz")).method == "usdl_dd"  # not its head's name (usdl)
