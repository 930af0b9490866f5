"""UD-AQA's uncertainty-guided curriculum: the share grows on convergence, and --resume replays it exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from test_trainer_loop import D, config, make_npz

from trainer.curriculum import Curriculum
from trainer.progress import read_events
from trainer.run import train


def test_the_share_starts_at_40_percent_and_grows_by_20_after_three_epochs_without_improvement() -> None:
    c = Curriculum()
    assert c.subset(10) is None  # the first epoch trains on every dive
    c.update(np.array([0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 0.0]), val_rho=0.1)
    assert c.share == 0.4 and c.subset(10).tolist() == [9, 1, 5, 3]  # the four least uncertain
    c.update(np.arange(10.0), 0.5)  # improves: stays at 40%
    for _ in range(2):
        c.update(np.arange(10.0), 0.4)
    assert c.share == 0.4
    c.update(np.arange(10.0)[::-1], 0.4)  # third epoch without improvement: converged on this share
    assert c.share == 0.6 and c.subset(10).tolist() == [9, 8, 7, 6, 5, 4]  # the order follows the latest u
    assert Curriculum.from_dict(json.loads(json.dumps(c.to_dict()))) == c


def test_ud_aqa_trains_on_the_curriculum_and_resumes_exactly(tmp_path: Path) -> None:
    make_npz(tmp_path)
    model = {"method": "ud_aqa", "aggregation": {"name": "weight_decider", "in_dim": D, "hidden": [16, 8, 16]},
             "ud_aqa": {"in_dim": D, "encoded": 16, "hidden": [16], "cvae_hidden": [16, 16]}}
    train(config(tmp_path, "full", epochs=4, model=model))
    train(config(tmp_path, "split", epochs=2, model=model))
    train(config(tmp_path, "split", epochs=4, model=model), resume=True)
    full = load_file(str(tmp_path / "full" / "bundle" / "weights.safetensors"))
    resumed = load_file(str(tmp_path / "split" / "bundle" / "weights.safetensors"))
    for name in full:
        torch.testing.assert_close(full[name], resumed[name], rtol=0, atol=1e-6)
    shares = [e.get("train_share") for e in read_events(tmp_path / "full" / "progress.jsonl") if e["event"] == "epoch"]
    # logged after each epoch: the share the next epoch trains on; the least uncertain 40% after the first, growing only
    assert shares[0] == 0.4 and shares == sorted(shares) and set(shares) <= {0.4, 0.6, 0.8, 1.0}
    resumed_shares = [e.get("train_share") for e in read_events(tmp_path / "split" / "progress.jsonl") if e["event"] == "epoch"]
    assert resumed_shares == shares
