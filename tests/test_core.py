"""CoRe + GART: the tree's groups against hand-worked differences, the exemplar choice and its fallback,
the bank surviving a bundle round trip, and the method learning (alone and through the trainer)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from aqa_core.bundle import bundle_from_model, build_model, load_bundle, save_bundle
from aqa_core.errors import AQAError, ConfigError
from aqa_core.heads.gart import GroupTree, group_bounds
from aqa_core.methods import build_method
from aqa_core.methods.exemplars import Exemplar, ExemplarBank
from aqa_core.result import DiveInfo, ScoreResult
from aqa_core.scorer import Scorer
from trainer.config import config_from_dict
from trainer.progress import ProgressStream
from trainer.run import train
from benchmarks import bench_methods

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny matrices: see conftest.one_thread

ROOT = Path(__file__).resolve().parents[1]
CARD = {"dataset": "none", "synthetic": True}



def config(exemplars: int = 4, dim: int = 8) -> dict:
    return {"method": "core", "backbone": {"name": "tiny", "feature_dim": dim, "seed": 0}, "segmentation": "usdl_10x16",
            "neck": {"name": "standardize"}, "core": {"exemplars": exemplars},
            "head": {"name": "gart", "in_dim": dim, "hidden": 16, "depth": 3, "bins": 101, "score_range": [0.0, 100.0]}}


def problem(dives: int = 60, seed: int = 0) -> dict:
    """Features whose first dimension sets the marks; three DDs, a dive number per DD."""
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(dives, 4, 8, generator=g)
    marks = 15.0 + 5.0 * features[:, :, 0].mean(dim=1)
    dd = torch.tensor([2.0, 2.6, 3.0])[torch.arange(dives) % 3]
    numbers = {2.0: "107B", 2.6: "205B", 3.0: "305C"}
    info = [DiveInfo("individual", 1, numbers[round(float(d), 1)], None, float(d)) for d in dd]
    return {"features": features, "final": marks * dd, "dives": info, "ids": [f"dive{i}" for i in range(dives)]}


def trained(exemplars: int = 4, steps: int = 30) -> tuple:
    torch.manual_seed(0)
    method = build_method(config(exemplars), with_backbone=False)
    batch = problem()
    method.fit(batch)
    optimiser = torch.optim.Adam(method.parameters(), lr=5e-3)
    for _ in range(steps):
        optimiser.zero_grad()
        method.loss(batch).backward()
        optimiser.step()
    return method.eval(), batch


# --- the tree's groups --------------------------------------------------------------------------


def test_group_bounds_are_the_papers_quantiles_of_the_differences() -> None:
    # sorted |d| = [0, .5, 1, 1, 2, 3, 5, 8, 13]; 8 leaves, half 4: bounds at int(i / 4 * 8) = 0, 2, 4, 6, 8
    differences = np.array([13, -0.5, 1, 0, -1, 2, 8, -3, 5])
    assert group_bounds(differences, depth=4, largest=20.0).tolist() == [0.0, 1.0, 2.0, 5.0, 20.0]
    # the last bound is the largest difference possible, never less than the largest seen
    assert group_bounds(differences, depth=4, largest=10.0)[-1] == 13.0


def test_tree_assigns_differences_to_hand_worked_groups() -> None:
    tree = GroupTree(3, hidden=4, depth=3)
    tree.fit_bounds(np.array([0.0, 1, 2, 3, 4]), largest=4.0)  # bounds 0, sorted[2] = 2, 4
    assert tree.groups().tolist() == [[-4.0, -2.0], [-2.0, 0.0], [0.0, 2.0], [2.0, 4.0]]
    differences = torch.tensor([1.0, -3.0, 2.0, -2.0, 0.0, 4.0, -0.5])
    leaf, position = tree.assign(differences)
    assert leaf.tolist() == [2, 0, 3, 0, 2, 3, 1]  # d >= 0: b_i <= d < b_i+1; d < 0: b_i <= -d < b_i+1
    assert position.tolist() == pytest.approx([0.5, 0.5, 0.0, 1.0, 0.0, 1.0, 0.75])
    assert tree.relative(position[:, None].expand(-1, 4), leaf).tolist() == pytest.approx(differences.tolist())


def test_a_group_whose_bounds_coincide_is_never_a_target() -> None:
    tree = GroupTree(3, hidden=4, depth=3)
    tree.fit_bounds(np.array([0.0, 0, 0, 0, 1]), largest=6.0)  # bounds 0, 0, 6: group [0, 0) is empty
    leaf, position = tree.assign(torch.tensor([0.0, 0.5, -0.5]))
    assert leaf.tolist() == [3, 3, 0]
    assert position.tolist() == pytest.approx([0.0, 0.5 / 6, 5.5 / 6])


# --- which exemplars ------------------------------------------------------------------------------


def bank() -> ExemplarBank:
    rows = [("a", "107B", 3.0, 60.0), ("b", "107B", 3.0, 70.0), ("c", "305C", 3.0, 50.0), ("d", "305C", 3.0, 80.0),
            ("e", "5253B", 3.0, 65.0), ("f", "205B", 2.8, 55.0), ("g", "205B", 2.8, 58.0), ("h", "109C", 3.4, 90.0)]
    return ExemplarBank([Exemplar(i, n, "individual", dd, s) for i, n, dd, s in rows], clips=2, dim=4)


def ids(exemplars: ExemplarBank, index: np.ndarray) -> list[str]:
    return [exemplars.exemplars[int(k)].id for k in index]


def test_exemplars_are_chosen_by_dive_number_then_dd_then_nearest_dd() -> None:
    exemplars = bank()
    index, matches = exemplars.choose("107B", 3.0, "individual", 10)
    assert ids(exemplars, index) == ["a", "b", "c", "d", "e", "f", "g", "h"]
    assert matches == ["dive number"] * 2 + ["DD"] * 3 + ["nearest DD"] * 3
    # three of them: both 107B, then the middle-scored of the DD tier (c 50, e 65, d 80)
    index, matches = exemplars.choose("107B", 3.0, "individual", 3)
    assert ids(exemplars, index) == ["a", "b", "e"] and matches == ["dive number", "dive number", "DD"]


def test_a_bank_without_the_dives_dd_falls_back_to_the_nearest() -> None:
    exemplars = bank()
    index, matches = exemplars.choose("107C", 2.9, "individual", 3)  # 2.8 is 0.1 away, 3.0 is 0.1 away too: both nearest
    assert matches == ["nearest DD"] * 3
    assert {exemplars.exemplars[int(k)].difficulty for k in index} <= {2.8, 3.0}
    index, _ = exemplars.choose("107C", 3.3, "individual", 1)
    assert ids(exemplars, index) == ["h"]  # 3.4 is nearest


def test_a_training_pool_takes_whole_tiers_until_it_is_big_enough() -> None:
    exemplars = bank()
    # dive a itself left out: the other 107B (1), then the whole DD tier (3) makes 4 >= 3
    assert ids(exemplars, exemplars.pool("107B", 3.0, "individual", 3, exclude=0)) == ["b", "c", "d", "e"]
    assert ids(exemplars, exemplars.pool("205B", 2.8, "individual", 1, exclude=5)) == ["g"]


def test_votes_name_the_fallback_when_the_bank_has_no_exemplar_of_the_dd() -> None:
    method, batch = trained()
    prediction = method.predict({"features": batch["features"][:1], "dives": [DiveInfo("individual", 1, "109C", None, 3.4)]}, "argmax")[0]
    votes = prediction.exemplars
    assert [v.match for v in votes.votes] == ["nearest DD"] * 4
    assert {v.difficulty for v in votes.votes} == {3.0}  # the bank's DDs are 2.0, 2.6 and 3.0
    assert "no exemplar of DD 3.4" in votes.note and "features" in votes.note
    assert prediction.final.score == pytest.approx(np.mean([v.vote for v in votes.votes]), rel=1e-5)
    assert all(v.vote == pytest.approx(v.score + v.relative) for v in votes.votes)


# --- the bank in a bundle ------------------------------------------------------------------------


def test_voting_with_a_bank_loaded_from_a_saved_bundle_equals_voting_in_memory(tmp_path: Path) -> None:
    method, batch = trained()
    dive = DiveInfo("individual", 1, "205B", None, 3.0)
    features = batch["features"][7]
    expected = method.predict({"features": features[None], "dives": [dive]}, "argmax")[0]
    folder = save_bundle(bundle_from_model(method, "core", "1", CARD), tmp_path / "bundle")
    bundle = load_bundle(folder)
    assert "bank.features" in bundle.state_dict and len(bundle.config["core"]["bank"]["exemplars"]) == 60
    result = Scorer(bundle).score_features(features, dive, [[0, 1]] * 4, (0, 1), "dive.mp4")
    assert result.final.score == pytest.approx(expected.final.score, abs=1e-4)
    assert [v.exemplar_id for v in result.exemplar_votes.votes] == [v.exemplar_id for v in expected.exemplars.votes]
    assert [v.vote for v in result.exemplar_votes.votes] == pytest.approx([v.vote for v in expected.exemplars.votes], abs=1e-4)
    assert all(v.match == "DD" for v in result.exemplar_votes.votes)  # 205B at 3.0 is not in the bank
    assert ScoreResult.from_dict(result.to_dict()) == result
    reloaded = build_model(bundle)
    assert torch.equal(reloaded.bank.features, method.bank.features) and reloaded.tree.bounds.tolist() == method.tree.bounds.tolist()


def test_an_unfitted_core_model_refuses_to_score() -> None:
    method = build_method(config(), with_backbone=False)
    with pytest.raises(AQAError, match="no exemplar bank"):
        method.predict({"features": torch.zeros(1, 4, 8), "dives": [DiveInfo("individual", 1, None, None, 2.0)]}, "argmax")


def test_core_refuses_unknown_options_and_other_losses() -> None:
    with pytest.raises(ConfigError, match="unknown argument"):
        build_method({**config(), "core": {"exemplar": 3}}, with_backbone=False)
    with pytest.raises(ConfigError, match="loss: kl"):
        build_method(config(), with_backbone=False, loss="mse")


# --- learning ------------------------------------------------------------------------------------


def test_loss_goes_down_on_a_tiny_problem() -> None:
    torch.manual_seed(0)
    method = build_method(config(), with_backbone=False)
    batch = problem()
    method.fit(batch)

    def seeded() -> float:
        torch.manual_seed(1)
        with torch.no_grad():
            return method.loss(batch).item()

    first = seeded()
    optimiser = torch.optim.Adam(method.parameters(), lr=5e-3)
    for _ in range(40):
        optimiser.zero_grad()
        method.loss(batch).backward()
        optimiser.step()
    assert seeded() < 0.7 * first


def test_core_trains_through_the_trainer_and_its_bank_names_the_training_dives(tmp_path: Path) -> None:
    bench = bench_methods
    data = bench.toy_features(tmp_path / "toy.npz", n=300, dim=16)
    model = {**bench.core_model(16, 5), "head": {"name": "gart", "in_dim": 16, "hidden": 32, "depth": 4, "bins": 101, "score_range": [0, 110]}}
    raw = {"dataset": str(data), "work_dir": str(tmp_path / "work"), "out": str(tmp_path / "bundle"), "epochs": 20, "batch_size": 32,
           "lr": 3e-3, "seed": 0, "model": model}
    bundle = load_bundle(train(config_from_dict(raw, ROOT, "core test"), progress=ProgressStream(tmp_path / "p.jsonl", stdout=False, bar=False)))
    bank = bundle.config["core"]["bank"]["exemplars"]
    assert len(bank) == bundle.data_card["split_sizes"]["train"] and all(e["id"].startswith("toy") for e in bank)
    # the trainer's own ridge baseline on the same split: reported beside the figure, compared, not hard-coded
    card = bundle.data_card
    assert card["test"]["rho"] > card["ridge_baseline"]["test"]["rho"], (card["test"], card["ridge_baseline"])


def test_bench_methods_builds_its_features_npz_from_a_dataset_through_the_trainer_cache(tmp_path: Path) -> None:
    from aqa_core.synthetic import write_dataset
    from trainer.datasets import open_dataset
    from trainer.features import extract_features, feature_keys

    bench = bench_methods
    data = write_dataset(tmp_path / "dives", 3, seed=1, size=(128, 96))
    model = {"backbone": {"name": "tiny", "feature_dim": 16, "seed": 0}, "segmentation": "usdl_10x16"}
    cache = tmp_path / "cache"
    records = open_dataset(data).records
    read = open_dataset(bench.dataset_features(data, cache, tmp_path / "all.npz", model)).records
    assert [r.key for r in read] == [r.key for r in records]
    for got, want in zip(read, records, strict=True):  # the labels are the dataset's own, row for row
        assert (got.split, got.final_score, got.judge_scores, got.difficulty, got.dive_number, got.commentary) == (
            want.split, want.final_score, want.judge_scores, want.difficulty, want.dive_number, want.commentary)
    assert np.array_equal(np.stack([r.features for r in read]), extract_features(records, model, cache))
    # cached only: a dive whose features are not in the cache is left out, not extracted
    (cache / f"{feature_keys(records, model)[0]}.npy").unlink()
    read = open_dataset(bench.dataset_features(data, cache, tmp_path / "cached.npz", model, cached_only=True)).records
    assert [r.key for r in read] == [r.key for r in records[1:]]
    assert len(list(cache.glob("*.npy"))) == 2
