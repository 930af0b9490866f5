"""Heads and the head half of a distribution method, on small random features (no backbone needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from aqa_core import decoding
from aqa_core.errors import RuleError
from aqa_core.heads import panel
from aqa_core.methods import build_method
from aqa_core.registry import AGGREGATORS, HEADS
from aqa_core.result import DiveInfo
from aqa_core.rules import apply_panel_rule

CONFIGS = Path(__file__).resolve().parent.parent / "configs" / "models"


def tiny_config(head: str) -> dict:
    return json.loads((CONFIGS / f"{head}_tiny.json").read_text())


def test_heads_and_aggregator_are_registered() -> None:
    assert {"usdl", "musdl"} <= set(HEADS.names())
    assert "average" in AGGREGATORS.names()


@pytest.mark.parametrize(("head", "paths", "bins"), [("usdl", 1, 101), ("musdl", 7, 21)])
def test_head_forward_shapes(head: str, paths: int, bins: int) -> None:
    model = build_method(tiny_config(head), with_backbone=False)
    out = model.head_forward(torch.randn(3, 10, 64))
    assert out.clip_logits.shape == (3, 10, paths, bins)
    assert out.logits.shape == (3, paths, bins)


def test_pooled_logits_come_from_the_mean_clip_feature() -> None:
    model = build_method(tiny_config("musdl"), with_backbone=False)
    features = torch.randn(2, 10, 64)
    out = model.head_forward(features)
    torch.testing.assert_close(out.logits, model.head(features.mean(dim=1)))
    # Each clip's own distribution is the head applied to that clip alone.
    torch.testing.assert_close(out.clip_logits[:, 4], model.head(features[:, 4]))


def test_judge_paths_are_separate_networks() -> None:
    head = HEADS.build({"name": "musdl", "judges": 3, "in_dim": 8, "hidden": [4]})
    torch.manual_seed(0)
    logits = head(torch.randn(5, 8))
    assert not torch.allclose(logits[:, 0], logits[:, 1])
    with torch.no_grad():
        head.path_mlps[1][0].weight.zero_()
        head.path_mlps[1][0].bias.zero_()
    changed = head(torch.randn(5, 8))
    # Path 1 now ignores its input; paths 0 and 2 do not.
    assert torch.allclose(changed[0, 1], changed[1, 1])
    assert not torch.allclose(changed[0, 0], changed[1, 0])


def test_bin_values_follow_the_configured_range() -> None:
    musdl = HEADS.build({"name": "musdl"})
    assert musdl.bin_values.tolist() == [i / 2 for i in range(21)]
    usdl = HEADS.build({"name": "usdl", "bins": 11, "score_range": [0, 100]})
    assert usdl.bin_values.tolist() == pytest.approx([10.0 * i for i in range(11)])
    # bin_values follow from the config, so they are not saved with the trained weights.
    assert not any("bin_values" in k for k in musdl.state_dict())


def test_head_refuses_an_empty_range() -> None:
    with pytest.raises(ValueError, match="score range"):
        HEADS.build({"name": "usdl", "score_range": [5, 5]})


def test_default_head_is_the_papers_mlp() -> None:
    head = HEADS.build({"name": "musdl"})
    linear = [m for m in head.path_mlps[0] if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(1024, 256), (256, 128), (128, 21)]
    assert len(head.path_mlps) == 7


# --- decoding: hand-made distributions -------------------------------------------------------

JUDGE_VALUES = np.arange(21) / 2.0  # 0, 0.5, ..., 10


def peaked(centre: float, width: float = 0.5) -> np.ndarray:
    dist = np.exp(-0.5 * ((JUDGE_VALUES - centre) / width) ** 2)
    return dist / dist.sum()


def test_argmax_and_expectation_decoding() -> None:
    dist = np.zeros(21)
    dist[[12, 16]] = [0.6, 0.4]  # 6.0 (60%) and 8.0 (40%)
    assert decoding.estimate(dist, JUDGE_VALUES, "argmax").score == 6.0
    est = decoding.estimate(dist, JUDGE_VALUES, "expectation")
    assert est.score == pytest.approx(6.8)
    assert est.expectation == pytest.approx(6.8)
    assert est.std == pytest.approx(np.sqrt(0.6 * 0.8**2 + 0.4 * 1.2**2))
    assert est.entropy == pytest.approx(-(0.6 * np.log(0.6) + 0.4 * np.log(0.4)))
    assert (est.low, est.high) == (6.0, 8.0)


def test_interval_of_point_mass_and_uniform() -> None:
    point_mass = np.zeros(21)
    point_mass[15] = 1.0
    est = decoding.estimate(point_mass, JUDGE_VALUES, "argmax")
    assert (est.low, est.high, est.std, est.entropy) == (7.5, 7.5, 0.0, 0.0)
    uniform = decoding.estimate(np.full(21, 1 / 21), JUDGE_VALUES, "expectation")
    assert (uniform.low, uniform.high) == (0.0, 10.0)
    assert uniform.entropy == pytest.approx(np.log(21))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1e6), min_size=1, max_size=30).filter(lambda w: sum(w) > 0))
def test_entropy_is_scipy_stats_entropy_of_the_normalised_weights(weights: list[float]) -> None:
    """decoding.entropy spares scoring the scipy.stats import; it must still be scipy.stats.entropy (counts included)."""
    from scipy import stats

    assert decoding.entropy(np.array(weights)) == pytest.approx(stats.entropy(weights), rel=1e-12, abs=1e-12)
    counts = np.round(np.array(weights)).astype(int)
    if counts.sum() > 0:
        assert decoding.entropy(counts) == pytest.approx(stats.entropy(counts), rel=1e-12, abs=1e-12)


def test_unknown_decoding_is_refused() -> None:
    with pytest.raises(ValueError, match="median"):
        decoding.estimate(peaked(5), JUDGE_VALUES, "median")


def test_sampling_follows_the_distributions() -> None:
    dists = np.stack([peaked(3.0, 1.0), peaked(8.0, 0.7)])
    draws = decoding.sample(dists, JUDGE_VALUES, 20000, np.random.default_rng(1))
    assert draws.shape == (20000, 2)
    for path in range(2):
        freq = np.array([(draws[:, path] == v).mean() for v in JUDGE_VALUES])
        assert np.abs(freq - dists[path]).max() < 0.015


# --- panels: MUSDL paths through the diving rule -----------------------------------------------


def dive(panel: int = 7, event: str = "individual", dd: float = 3.0) -> DiveInfo:
    return DiveInfo(event=event, panel_size=panel, dive_number="107B", height=10.0, difficulty=dd)


def test_panel_paths() -> None:
    assert panel.panel_paths(7, dive(7)) == list(range(7))
    assert panel.panel_paths(7, dive(5)) == [1, 2, 3, 4, 5]
    assert panel.panel_paths(9, dive(9, "synchronised")) == list(range(9))
    with pytest.raises(RuleError, match="predicts 7 judges.*9-judge synchronised"):
        panel.panel_paths(7, dive(9, "synchronised"))
    with pytest.raises(RuleError, match="predicts 5 judges.*7-judge"):
        panel.panel_paths(5, dive(7))


def test_rule_on_marks_matches_the_rule_on_grid_and_stays_continuous_off_it() -> None:
    marks = [9.0, 8.5, 9.0, 8.0, 9.0, 8.5, 9.0]
    on_grid = panel.rule_on_marks(marks, dive(dd=3.8))
    assert on_grid.final == apply_panel_rule(marks, "individual", 3.8).final
    off_grid = panel.rule_on_marks([m + 0.1 for m in marks], dive(dd=3.8))
    assert off_grid.dropped == on_grid.dropped
    assert off_grid.final == pytest.approx(on_grid.final + 0.3 * 3.8)
    # Marks that round alike still drop the truly highest and lowest.
    close = [5.24, 4.93, 5.14, 5.1, 4.92]
    outcome = panel.rule_on_marks(close, dive(panel=5, dd=2.0))
    assert outcome.dropped == [0, 4]
    assert outcome.final == pytest.approx((4.93 + 5.14 + 5.1) * 2.0)


def test_panel_estimate_drops_judges_and_its_interval_covers_the_panels() -> None:
    centres = [6.0, 6.5, 7.0, 7.0, 7.5, 8.0, 8.5]
    dists = np.stack([peaked(c, 0.6) for c in centres])
    result = panel.panel_estimate(dists, JUDGE_VALUES, dive(dd=3.2), "argmax")
    assert [j.score for j in result.judges] == centres
    assert sum(result.dropped) == 4
    assert result.final.score == apply_panel_rule(centres, "individual", 3.2).final
    # An independent simulation of the same panels lands inside the 95% interval ~95% of the time.
    rng = np.random.default_rng(123)
    finals = [
        apply_panel_rule([float(rng.choice(JUDGE_VALUES, p=d)) for d in dists], "individual", 3.2).final
        for _ in range(600)
    ]
    inside = np.mean([(result.final.low <= f <= result.final.high) for f in finals])
    assert 0.9 <= inside <= 1.0
    assert result.final.low < result.final.score < result.final.high


def test_uncertainty_levels_and_reasons() -> None:
    narrow = panel.panel_estimate(np.stack([peaked(7.0, 0.2)] * 7), JUDGE_VALUES, dive(), "argmax")
    calm = decoding.assess_uncertainty(narrow.final, 3.0, [j.score for j in narrow.judges])
    assert (calm.level, calm.reasons) == ("low", [])
    wide = panel.panel_estimate(np.stack([peaked(5.0, 3.0)] * 7), JUDGE_VALUES, dive(), "argmax")
    worried = decoding.assess_uncertainty(wide.final, 3.0, [5.0, 5.0])
    assert worried.level == "high"
    assert worried.value == pytest.approx((wide.final.high - wide.final.low) / 2)
    per_mark = worried.value / 3.0 / 3  # the half-width per point of the counted sum (DD 3.0), a third of it per counted mark
    assert worried.reasons[0] == f"the 95% range of the distribution is about ±{per_mark:.1f} marks on each counted judge, more than a full mark"
    split = decoding.assess_uncertainty(narrow.final, 3.0, [5.0, 7.0])
    assert split.level == "medium"
    assert any(r.startswith("judges disagree") for r in split.reasons)
