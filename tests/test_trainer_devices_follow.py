"""The Trainer tab's devices (one GPU, several through our own torchrun, the CPU), its score histogram, and a run followed again after a restart."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

import aqa_core.own_program
from app.tabs.trainer import TrainerTab
from app.training_config import build_config, save_config
from app.training_run import LEFT_RUNNING, TrainingRun
from tests.app_support import app_home  # noqa: F401 (fixture)
from tests.test_trainer_loop import make_npz
from tests.test_trainer_tab import WAIT_MS, ready, tab  # noqa: F401 (fixture)
from trainer.child import gpu_environment, train_command
from trainer.progress import TERMINAL, RunLock, read_events

TWO_GPUS = {
    "methods": ["musdl"], "backbones": ["tiny"], "modes": ["features"],
    "devices": {"gpus": [{"index": 0, "name": "NVIDIA A", "free_mib": 20480, "total_mib": 24576},
                         {"index": 1, "name": "NVIDIA B", "free_mib": 10240, "total_mib": 24576}], "cpu_reason": None},
}


def test_one_process_is_train_and_several_are_our_own_torchrun(monkeypatch, tmp_path: Path) -> None:
    config, work = tmp_path / "config.json", tmp_path / "run"
    assert train_command(config, work) == [sys.executable, "-m", "cli.main", "train", str(config), "--work-dir", str(work)]
    several = train_command(config, work, resume=True, processes=2)
    assert several[:5] == [sys.executable, "-m", "cli.main", "torchrun", "--"]
    assert several[5:8] == ["--standalone", "--nproc-per-node=2", "--no-python"]
    assert several[8:] == train_command(config, work, resume=True)  # every rank is exactly the single-process command
    assert gpu_environment([0, 2]) == {"CUDA_VISIBLE_DEVICES": "0,2"} and gpu_environment([]) == {}

    app = tmp_path / "bundle" / "AQA Judge"  # frozen: the bundle's console program, no Python, no torchrun on PATH
    app.parent.mkdir()
    (app.parent / aqa_core.own_program.CONSOLE_PROGRAM).write_text("")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(app))
    console = str(app.parent / aqa_core.own_program.CONSOLE_PROGRAM)
    assert train_command(config, work, processes=2) == [
        console, "torchrun", "--", "--standalone", "--nproc-per-node=2", "--no-python", console, "train", str(config), "--work-dir", str(work)]


def test_gpus_are_a_checklist_and_several_mean_ddp(qtbot, tab: TrainerTab) -> None:  # noqa: F811 (fixture)
    import torch

    if not torch.cuda.is_available():  # the real child's answer on this machine
        assert tab.device_values() == ["cpu"] and tab.device_note.text().startswith("CPU only: ")
    tab._got_options(TWO_GPUS, 0, "")  # what train-options --json says on a two-GPU machine
    assert [tab.device.item(i).text() for i in range(tab.device.count())] == [
        "GPU 0: NVIDIA A (20.0 of 24.0 GiB free)", "GPU 1: NVIDIA B (10.0 of 24.0 GiB free)", "CPU"]
    assert tab.chosen_devices() == ["cuda:0"] and "2 GPU(s) found" in tab.device_note.text()
    assert tab.settings().device == "cuda:0" and tab.settings().gpus == ()
    tab.device.item(1).setCheckState(Qt.CheckState.Checked)  # a person ticks the second GPU
    assert tab.chosen_devices() == ["cuda:0", "cuda:1"]
    assert (tab.settings().device, tab.settings().gpus) == ("cuda", (0, 1))
    tab.device.item(2).setCheckState(Qt.CheckState.Checked)  # the CPU unticks the GPUs
    assert tab.chosen_devices() == ["cpu"] and tab.settings().gpus == ()
    tab.choose_devices()
    assert not tab.start_button.isEnabled()  # nothing ticked: nothing to train on


def test_gpu_memory_from_the_epoch_events(qtbot, tab: TrainerTab) -> None:  # noqa: F811 (fixture)
    tab.on_event({"event": "start", "splits": {"train": 8, "val": 2, "test": 2}, "device": "cuda:0"})
    assert tab.gpu_memory.text() == "GPU memory: measuring…"
    tab.on_event({"event": "epoch", "epoch": 1, "epochs": 3, "train_loss": 1.0, "val_rho": 0.5, "best_epoch": 1, "eta_s": 4.0,
                  "gpu_memory_mib": 3584})
    assert tab.gpu_memory.text() == "GPU memory: 3.50 GiB peak"
    tab.on_event({"event": "start", "splits": {"train": 8, "val": 2, "test": 2}, "device": "cpu"})
    assert tab.gpu_memory.text() == ""


def test_the_score_histogram_before_start(qtbot, tab: TrainerTab, tmp_path: Path) -> None:  # noqa: F811 (fixture)
    data = make_npz(tmp_path / "data", n=120)
    ready(qtbot, tab, data, epochs=2)
    finals = np.load(data)["final_score"]
    counts, edges = np.histogram(finals, bins=20)
    bars = tab.histogram_bars.opts
    assert tab.histogram.isVisible() and list(bars["height"]) == list(counts) and sum(bars["height"]) == 120
    np.testing.assert_allclose(bars["x0"], edges[:-1], atol=1e-3)
    assert "120 usable dives" in tab.histogram.plotItem.titleLabel.text
    tab.set_dataset(tmp_path / "missing.npz")
    assert not tab.histogram.isVisible()


@pytest.mark.slow
def test_two_gloo_processes_through_the_tabs_launch(qtbot, app_home: Path, tmp_path: Path) -> None:  # noqa: F811 (fixture)
    """The real multi-process check without a GPU: our torchrun, two CPU ranks, one progress stream, a bundle."""
    from app.training_config import Settings

    data = make_npz(tmp_path / "data", n=120)
    folder = tmp_path / "runs" / "ddp"
    config = build_config(Settings(dataset=data, method="musdl", backbone="tiny", epochs=2, batch_size=16, lr=1e-3, device="cpu"),
                          folder, "club-ddp")
    run = TrainingRun(folder)
    seen: list[dict] = []
    run.event.connect(seen.append)
    assert run.start(save_config(config, folder), processes=2)
    with qtbot.waitSignal(run.ended, timeout=WAIT_MS) as ended:
        pass
    assert ended.args[0] == "done", (ended.args, run.stderr_tail)
    assert [e["event"] for e in seen].count("start") == 1 and seen[0]["world_size"] == 2  # rank 0 alone speaks
    assert [e["epoch"] for e in seen if e["event"] == "epoch"] == [1, 2]
    assert json.loads((folder / "launch.json").read_text())["processes"] == 2
    assert (folder / "bundle" / "bundle.json").is_file()


def _close_leaving_it_running(tab: TrainerTab, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(tab, "ask_close_choice", lambda: "leave")
    assert tab.confirm_close()
    tab.run._timer.stop()  # the window is gone: nobody follows the run any more
    tab.close()


@pytest.mark.slow
def test_a_run_left_running_is_followed_again_and_one_that_died_is_said(qtbot, app_home: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: F811
    first = TrainerTab(tmp_path / "runs")
    qtbot.addWidget(first)
    first.show()
    qtbot.waitUntil(lambda: first.options is not None, timeout=WAIT_MS)
    ready(qtbot, first, make_npz(tmp_path / "data", n=300), epochs=500)
    first.start()
    qtbot.waitUntil(lambda: len(first._curves["epoch"]) >= 2, timeout=WAIT_MS)
    folder = first.run.folder
    _close_leaving_it_running(first, monkeypatch)
    assert (folder / LEFT_RUNNING).is_file() and first.run.lock.alive()

    again = TrainerTab(tmp_path / "runs")  # the app started again
    qtbot.addWidget(again)
    assert again.run is not None and again.run.folder == folder and again.run.running
    assert again.status.text().startswith("Epoch ") and len(again._curves["epoch"]) >= 2  # re-read from the progress file
    seen = len(again._curves["epoch"])
    qtbot.waitUntil(lambda: len(again._curves["epoch"]) > seen, timeout=WAIT_MS)  # and followed on
    assert again._curves["epoch"] == list(range(1, len(again._curves["epoch"]) + 1))
    assert again.stop_button.isEnabled() and not again.start_button.isEnabled()
    _close_leaving_it_running(again, monkeypatch)

    os.kill(again.run.lock.pid(), signal.SIGKILL)  # it dies while no app is open: no end event
    qtbot.waitUntil(lambda: not again.run.lock.alive(), timeout=WAIT_MS)
    third = TrainerTab(tmp_path / "runs")
    qtbot.addWidget(third)
    with qtbot.waitSignal(third.run.ended, timeout=WAIT_MS) as ended:
        pass
    assert ended.args[0] == "crashed" and "ended without a word" in third.message.text()
    assert third.status.text() == "The training process crashed." and third.resume_button.isEnabled()
    assert not (folder / LEFT_RUNNING).exists()  # said once; the next start does not report it again
    events = [e["event"] for e in read_events(folder / "progress.jsonl")]
    assert "epoch" in events and not set(events) & set(TERMINAL)  # killed between any two events: none of them an end
    fourth = TrainerTab(tmp_path / "runs")
    qtbot.addWidget(fourth)
    assert fourth.run is None


@pytest.fixture(autouse=True)
def _no_stray_runs(tmp_path: Path):
    """A failed test must not leave a training child running on the shared machine."""
    yield
    for pid_file in (tmp_path / "runs").glob("*/running.pid"):
        pid = RunLock(pid_file.parent).pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
