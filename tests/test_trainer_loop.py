"""Training on a small features .npz: learns, writes a loadable bundle, resumes exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from aqa_core.bundle import load_bundle
from aqa_core.errors import AQAError
from trainer.config import config_from_dict, load_config
from trainer.progress import read_events
from trainer.run import train

D = 16


def make_npz(folder: Path, n: int = 90, seed: int = 0) -> Path:
    """Features that carry a latent quality; judges and the final score follow from it."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(0, 1, n)
    direction = rng.normal(size=D)
    feats = rng.normal(size=(n, 10, D)) * 0.5 + q[:, None, None] * direction
    judges = np.clip(np.round((4 + 5 * q[:, None] + rng.normal(0, 0.4, (n, 7))) * 2) / 2, 0, 10)
    dd = rng.choice([2.0, 2.8, 3.2], n)
    final = np.sort(judges, 1)[:, 2:5].sum(1) * dd
    split = np.array(["train"] * (n - 20) + ["test"] * 20)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "f.npz", features=feats, judge_scores=judges, difficulty=dd, final_score=final, split=split)
    return folder / "f.npz"


def config(folder: Path, work: str, **overrides):
    raw = {
        "dataset": "f.npz", "out": f"{work}/bundle", "work_dir": work, "epochs": 4, "batch_size": 16, "lr": 1e-3, "seed": 7,
        "model": {"head": {"name": "musdl", "judges": 7, "in_dim": D, "hidden": [32, 16]}}, **overrides,
    }
    return config_from_dict(raw, folder, "test config")


def test_musdl_learns_and_writes_bundle_with_data_card(tmp_path: Path) -> None:
    make_npz(tmp_path)
    out = train(config(tmp_path, "run", epochs=12))
    bundle = load_bundle(out)
    card = bundle.data_card
    assert card["split_sizes"] == {"train": 60, "val": 10, "test": 20} and card["synthetic"] is False
    assert "carved 10 of 70" in card["dataset_notes"]["validation"]
    assert card["test"]["rho"] > 0.6, card["test"]
    events = read_events(tmp_path / "run" / "progress.jsonl")
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds.count("epoch") == 12 and kinds[-2:] == ["test", "done"]
    epoch = next(e for e in events if e["event"] == "epoch")
    assert {"epoch", "step", "losses", "val_rho", "val_rl2", "eta_s", "checkpoint"} <= set(epoch)


def test_resume_continues_exactly(tmp_path: Path) -> None:
    make_npz(tmp_path)
    train(config(tmp_path, "full", epochs=4))
    train(config(tmp_path, "split", epochs=2))
    train(config(tmp_path, "split", epochs=4), resume=True)
    full = load_file(str(tmp_path / "full" / "bundle" / "weights.safetensors"))
    resumed = load_file(str(tmp_path / "split" / "bundle" / "weights.safetensors"))
    assert full.keys() == resumed.keys()
    for name in full:
        torch.testing.assert_close(full[name], resumed[name], rtol=0, atol=1e-6)
    kinds = [e["event"] for e in read_events(tmp_path / "split" / "progress.jsonl")]
    assert "resume" in kinds and kinds.count("epoch") == 4


def test_regression_baseline_and_usdl_train(tmp_path: Path) -> None:
    make_npz(tmp_path)
    usdl = {"head": {"name": "usdl", "in_dim": D, "hidden": [32, 16], "score_range": [0, 100]}}
    for loss in ("kl", "mse"):
        card = load_bundle(train(config(tmp_path, f"usdl_{loss}", epochs=2, loss=loss, model=usdl, decoding="expectation"))).data_card
        assert card["loss"] == loss and np.isfinite(card["test"]["rho"])


def test_gpu_out_of_memory_names_a_batch_size_that_fits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An OOM in a step becomes one message with a smaller batch and the accumulate alternative."""
    import trainer.loop

    def exhausted(self, batch: dict) -> torch.Tensor:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(trainer.loop._Loss, "forward", exhausted)
    make_npz(tmp_path)
    with pytest.raises(AQAError, match=r"micro-batches of 8 dives; try batch_size 8 or accumulate 4"):
        train(config(tmp_path, "oom", batch_size=16, accumulate=2))


def test_config_errors_are_user_messages(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("dataset: f.npz\nout: b\nwork_dir: w\nepochz: 3\n")
    with pytest.raises(AQAError, match="c.yaml: unknown setting\\(s\\) epochz"):
        load_config(bad)
    bad.write_text("dataset: f.npz\nout: b\nwork_dir: w\nbatch_size: 10\naccumulate: 3\n")
    with pytest.raises(AQAError, match="not divisible"):
        load_config(bad)


def test_cli_train_streams_json_and_evaluate_agrees_with_data_card(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from cli.main import main

    make_npz(tmp_path)
    (tmp_path / "c.json").write_text(json.dumps({
        "dataset": "f.npz", "out": "b", "work_dir": "w", "epochs": 3, "batch_size": 16, "lr": 1e-3,
        "model": {"head": {"name": "musdl", "judges": 7, "in_dim": D, "hidden": [16]}},
    }))
    assert main(["train", str(tmp_path / "c.json")]) == 0
    streamed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in streamed] == [e["event"] for e in read_events(tmp_path / "w" / "progress.jsonl")]
    assert main(["evaluate", str(tmp_path / "b"), str(tmp_path / "f.npz"), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    card = load_bundle(tmp_path / "b").data_card
    assert figures["dives"] == card["split_sizes"]["test"]
    assert figures["spearman"] == pytest.approx(card["test"]["rho"]) and figures["rl2"] == pytest.approx(card["test"]["rl2"])
    assert figures["judge_mae_per_path"] == card["test"]["judge_mae"] and figures["judge_mae"] == pytest.approx(card["test"]["judge_mae_mean"])
    assert figures["coverage"] == pytest.approx(card["test"]["coverage"])
    assert main(["evaluate", str(tmp_path / "b"), str(tmp_path / "missing.npz")]) == 2


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parent.parent / "configs" / "train").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_load_and_build_their_heads(path: Path, tmp_path: Path) -> None:
    from aqa_core.methods import build_method, method_name

    cfg = load_config(path)
    if "auto" in json.dumps(cfg.model):  # in_dim / score_range read from the dataset at training time
        from trainer.datasets import open_dataset
        from trainer.run import resolve_auto

        cfg = resolve_auto(cfg, open_dataset(make_npz(tmp_path)))
    model = build_method(cfg.model, with_backbone=False)
    assert model.name == method_name(cfg.model)  # the config's method, or (configs before methods) its head's
