"""The model registry: entries by content fingerprint, one active model, two compared on their data cards' test figures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.storage.database import open_database
from app.storage.errors import StorageError
from app.storage.model_registry import active_model, activate, compare, list_models, register_bundle, same_test_dives
from aqa_core.bundle import save_bundle
from tests.app_support import tiny_bundle

TEST_A = {"rho": 0.81234, "rl2": 0.5, "final_mae": 3.456, "judge_mae_mean": 0.42, "coverage": {"0.8": 0.75, "0.95": 0.9}, "unfamiliar_rate": 0.05}
TEST_B = {"rho": 0.9, "rl2": 0.25, "final_mae": 2.0, "coverage": {"0.8": 0.8}}


def bundle(folder: Path, seed: int, version: str, test: dict) -> Path:
    made = tiny_bundle(seed)
    made.version = version
    made.data_card.update(test=test, dataset="club.npz", dataset_sha256="ab" * 32, split_sizes={"train": 50, "val": 9, "test": 20})
    return save_bundle(made, folder)


def test_register_activate_compare(tmp_path: Path) -> None:
    a = bundle(tmp_path / "a", 0, "1", TEST_A)
    b = bundle(tmp_path / "b", 1, "2", TEST_B)
    with open_database(tmp_path / "club.sqlite") as db:
        first = register_bundle(db, a)
        second = register_bundle(db, b)
        shutil.copytree(a, tmp_path / "moved")
        assert register_bundle(db, tmp_path / "moved") == first  # the same content is the same entry
        rows = {row.id: row for row in list_models(db)}
        assert len(rows) == 2 and rows[first].path == str((tmp_path / "moved").resolve())
        fingerprint = json.loads((a / "bundle.json").read_text())["fingerprint"]["manifest_sha256"]
        assert rows[first].fingerprint == fingerprint and rows[first].test == TEST_A
        assert active_model(db) is None
        activate(db, first)
        activate(db, second)
        assert [row.id for row in list_models(db) if row.active] == [second] and active_model(db).id == second
        assert same_test_dives(rows[first], rows[second])
        table = compare(rows[first], rows[second])
    by_figure = {label: (x, y) for label, x, y in table}
    assert by_figure["model"] == ("tiny-app-7 v1", "tiny-app-7 v2")  # aqa_core.option_names.model_label
    assert by_figure["Spearman ρ"] == ("0.812", "0.900")
    assert by_figure["final-score MAE (points)"] == ("3.46", "2.00")
    assert by_figure["judge MAE (marks)"] == ("0.42", "—")  # a figure the other card lacks is a dash, not a zero
    assert by_figure["interval coverage"] == ("80%: 75%, 95%: 90%", "80%: 80%")
    assert by_figure["unfamiliar-footage rate"] == ("5%", "—")
    assert by_figure["test dives"] == ("20", "20")


def test_another_model_under_a_taken_name_and_version_is_refused(tmp_path: Path) -> None:
    with open_database(tmp_path / "club.sqlite") as db:
        register_bundle(db, bundle(tmp_path / "a", 0, "1", TEST_A))
        with pytest.raises(StorageError, match="a different model is already registered as tiny-app-7 1"):
            register_bundle(db, bundle(tmp_path / "b", 1, "1", TEST_B))


def test_a_folder_without_a_fingerprinted_manifest_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "bundle.json").write_text(json.dumps({"name": "x", "version": "1"}))
    with open_database(tmp_path / "club.sqlite") as db:
        with pytest.raises(StorageError, match=r"old/bundle.json: the bundle has no content fingerprint"):
            register_bundle(db, tmp_path / "old")
        with pytest.raises(StorageError, match=r"nothing/bundle.json: cannot read the model manifest"):
            register_bundle(db, tmp_path / "nothing")
        assert list_models(db) == []
