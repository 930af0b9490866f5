"""The contract between the app and a training process: versioned events, always a last word, cooperative stop."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from cli.main import main
from tests.test_trainer_loop import D, make_npz
from trainer.progress import EVENTS, SCHEMA_VERSION, TERMINAL, check_schema, read_events


@pytest.fixture
def own_signals():
    """``train`` installs SIGTERM/SIGINT handlers; give pytest its own back afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def write_config(folder: Path, epochs: int = 4, dataset: str = "f.npz") -> Path:
    path = folder / "c.json"
    path.write_text(json.dumps({
        "dataset": dataset, "out": "b", "work_dir": "w", "epochs": epochs, "batch_size": 16, "lr": 1e-3, "seed": 3,
        "model": {"head": {"name": "musdl", "judges": 7, "in_dim": D, "hidden": [16]}},
    }))
    return path


def streamed(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def test_every_event_carries_the_schema_and_its_documented_fields(tmp_path: Path, capsys, own_signals) -> None:
    make_npz(tmp_path)
    assert main(["train", str(write_config(tmp_path, epochs=3))]) == 0
    events = streamed(capsys)
    for event in events:
        check_schema(event)
        assert event["schema"] == SCHEMA_VERSION
        missing = set(EVENTS[event["event"]]) - set(event)
        assert not missing, (event["event"], missing)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and "best" in kinds
    assert sum(k in TERMINAL for k in kinds) == 1
    assert events[0]["devices"]["gpus"] or events[0]["devices"]["cpu_reason"]


def test_a_newer_schema_is_refused() -> None:
    with pytest.raises(ValueError, match="schema 99"):
        check_schema({"event": "epoch", "schema": 99})


def test_a_broken_dataset_ends_with_one_error_line_naming_the_file(tmp_path: Path, capsys, own_signals) -> None:
    (tmp_path / "annotations.csv").write_text("video,final_score\nx.mp4,not-a-number\n")
    assert main(["train", str(write_config(tmp_path, dataset="annotations.csv"))]) == 2
    events = streamed(capsys)
    assert events[-1]["event"] == "error" and "annotations.csv" in events[-1]["message"]
    assert "\n" not in events[-1]["message"] and events[-1]["detail"]
    assert read_events(tmp_path / "w" / "progress.jsonl")[-1]["event"] == "error"


def test_an_unreadable_config_still_says_so_as_an_event(tmp_path: Path, capsys, own_signals) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("dataset: f.npz\nout: b\nwork_dir: w\nepochz: 3\n")
    assert main(["train", str(bad)]) == 2
    (event,) = streamed(capsys)
    assert event["event"] == "error" and "epochz" in event["message"]


def test_a_bug_is_an_error_event_with_its_traceback_in_the_detail(tmp_path: Path, capsys, monkeypatch, own_signals) -> None:
    import trainer.loop

    def broken(self, data, epoch, curriculum):  # noqa: ANN001
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(trainer.loop.Trainer, "_train_epoch", broken)
    monkeypatch.delenv("AQA_JUDGE_DEBUG", raising=False)
    make_npz(tmp_path)
    assert main(["train", str(write_config(tmp_path))]) == 70
    error = streamed(capsys)[-1]
    assert error["event"] == "error" and error["message"] == "internal error (RuntimeError: boom); please report it with the log"
    assert "Traceback" in error["detail"] and "second line" in error["detail"]


def test_sigterm_finishes_the_epoch_checkpoints_cancels_and_resume_finishes(tmp_path: Path, capsys, monkeypatch, own_signals) -> None:
    import trainer.loop

    original = trainer.loop.Trainer._train_epoch

    def epoch_then_terminate(self, data, epoch, curriculum):  # noqa: ANN001
        loss = original(self, data, epoch, curriculum)
        if epoch == 1:
            os.kill(os.getpid(), signal.SIGTERM)  # as the app's Stop or a terminal's kill, mid-epoch
        return loss

    monkeypatch.setattr(trainer.loop.Trainer, "_train_epoch", epoch_then_terminate)
    make_npz(tmp_path)
    config = write_config(tmp_path, epochs=4)
    assert main(["train", str(config)]) == 3
    events = streamed(capsys)
    assert [e["event"] for e in events if e["event"] in ("epoch", "cancelled")] == ["epoch", "epoch", "cancelled"]
    cancelled = events[-1]
    assert cancelled["epoch"] == 2 and Path(cancelled["checkpoint"]).exists()
    assert not (tmp_path / "b").exists()
    monkeypatch.setattr(trainer.loop.Trainer, "_train_epoch", original)
    assert main(["train", str(config), "--resume"]) == 0
    resumed = streamed(capsys)
    assert [e["event"] for e in resumed if e["event"] in ("resume", "epoch", "done")] == ["resume", "epoch", "epoch", "done"]
    assert [e["epoch"] for e in resumed if e["event"] == "epoch"] == [3, 4]  # from the checkpoint of epoch 2
