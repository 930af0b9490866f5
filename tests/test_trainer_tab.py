"""The Trainer tab runs real, tiny trainings in child processes: progress, stop, resume, finish, and failures as messages."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pytestqt.exceptions import TimeoutError as QtTimeout

from app.tabs.trainer import FEW_TEST_DIVES, TrainerTab, eta_text
from aqa_core.bundle import load_bundle
from tests.app_support import app_home  # noqa: F401 (fixture)
from tests.test_trainer_loop import make_npz

WAIT_MS = 120_000  # each child imports torch; the shared CI machine can be slow to start one

CRASH_AFTER_FIRST_EPOCH = """
import os, sys
import trainer.loop as loop
original = loop.Trainer._train_epoch
def crash(self, data, epoch, curriculum):
    loss = original(self, data, epoch, curriculum)
    if epoch == 1:
        os.abort()  # a hard death mid-run (a driver fault, the OOM killer): no last word
    return loss
loop.Trainer._train_epoch = crash
from cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture
def tab(qtbot, app_home: Path, tmp_path: Path) -> TrainerTab:  # noqa: F811 (fixture)
    widget = TrainerTab(tmp_path / "runs")
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitUntil(lambda: widget.options is not None, timeout=WAIT_MS)
    return widget


def ready(qtbot, tab: TrainerTab, dataset: Path, epochs: int) -> None:  # noqa: ANN001
    tab.set_dataset(dataset)
    qtbot.waitUntil(lambda: tab.report is not None, timeout=WAIT_MS)
    tab.method.setCurrentText("musdl")
    tab.backbone.setCurrentText("tiny")
    tab.choose_devices("cpu")
    tab.epochs.setValue(epochs)
    tab.batch.setValue(8)
    tab.lr.setValue(1e-3)
    assert tab.start_button.isEnabled()


def wait_for_an_epoch(qtbot, tab: TrainerTab, seen: list[dict]) -> None:  # noqa: ANN001
    """Until the run reports an epoch; a timeout fails with what the tab and the child said, not only that it waited."""
    try:
        qtbot.waitUntil(lambda: any(e["event"] == "epoch" for e in seen), timeout=WAIT_MS)
    except QtTimeout:
        stderr = tab.run.folder / "stderr.log"
        said = stderr.read_text(errors="replace")[-2000:] if stderr.is_file() else "(no stderr.log)"
        pytest.fail(f"no epoch in {WAIT_MS / 1000:.0f} s: status {tab.status.text()!r}, message {tab.message.text()!r}, "
                    f"events {[e['event'] for e in seen]}, child alive {tab.run.running()}; its stderr: {said}")


def events_of(tab: TrainerTab) -> list[dict]:
    seen: list[dict] = []
    tab.run.event.connect(seen.append)
    return seen


def test_train_stop_resume_finish_through_the_tab(qtbot, tab: TrainerTab, tmp_path: Path) -> None:
    import aqa_core.backbones  # noqa: F401
    import aqa_core.methods  # noqa: F401
    import torch
    from aqa_core.registry import BACKBONES, METHODS

    assert [tab.method.itemText(i) for i in range(tab.method.count())] == METHODS.names()  # the registries, not a list
    assert [tab.backbone.itemText(i) for i in range(tab.backbone.count())] == BACKBONES.names()
    assert (tab.method.currentText(), tab.backbone.currentText()) == ("musdl", "i3d")  # preselected: a shipped config, not the first name
    assert tab.device_values()[-1] == "cpu" and tab.chosen_devices() == (["cuda:0"] if torch.cuda.is_available() else ["cpu"])
    if not torch.cuda.is_available():
        assert tab.device_note.text().startswith("CPU only: ")
    ready(qtbot, tab, make_npz(tmp_path / "data", n=600), epochs=6)
    assert "usable dives      600" in tab.check_text.toPlainText() and "no problems" in tab.check_text.toPlainText()
    tab.start()
    seen = events_of(tab)
    assert tab.stop_button.isEnabled() and not tab.start_button.isEnabled()
    wait_for_an_epoch(qtbot, tab, seen)
    assert tab.status.text().startswith("Epoch ") and " of 6: validation ρ" in tab.status.text()
    tab.stop()
    with qtbot.waitSignal(tab.run.ended, timeout=WAIT_MS) as ended:
        pass
    assert ended.args[0] == "cancelled", ended.args
    stopped_at = seen[-1]["epoch"]
    assert seen[-1]["event"] == "cancelled" and stopped_at < 6
    assert tab.resume_button.isEnabled() and tab.start_button.isEnabled()
    assert tab.status.text().startswith("Stopped: no model yet") and "Models tab" in tab.status.text()  # it is not registered
    tab.resume()
    resumed = events_of(tab)
    with qtbot.waitSignal(tab.bundle_trained, timeout=WAIT_MS) as trained:
        pass
    assert [e["epoch"] for e in resumed if e["event"] == "epoch"] == list(range(stopped_at + 1, 7))
    assert list(tab.loss_curve.getData()[0]) == [1, 2, 3, 4, 5, 6]  # one curve across the stop
    bundle = load_bundle(Path(trained.args[0]))
    assert bundle.data_card["test"]["rho"] > 0.5
    test_dives = next(e["splits"]["test"] for e in resumed if e["event"] == "start")
    assert tab.status.text().startswith(f"Finished: on the {test_dives} test dives ρ {bundle.data_card['test']['rho']:.3f}")
    assert ("take with care" in tab.status.text()) == (test_dives < FEW_TEST_DIVES)
    assert not tab.resume_button.isEnabled()


def test_failures_are_messages_and_the_tab_stays_usable(qtbot, tab: TrainerTab, tmp_path: Path, monkeypatch) -> None:
    """A missing and a corrupt dataset, a child that dies mid-run, then closing the app during the resumed run."""
    import trainer.child

    tab.set_dataset(tmp_path / "missing.npz")
    qtbot.waitUntil(lambda: "Cannot train" in tab.check_text.toPlainText(), timeout=WAIT_MS)
    assert "missing.npz" in tab.check_text.toPlainText() and not tab.start_button.isEnabled()
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    tab.set_dataset(broken)
    qtbot.waitUntil(lambda: "Cannot train" in tab.check_text.toPlainText() and "broken.npz" in tab.check_text.toPlainText(), timeout=WAIT_MS)
    assert "Traceback" not in tab.check_text.toPlainText()
    tab.start()
    assert "Pick a dataset the check accepts first" in tab.message.text()

    ready(qtbot, tab, make_npz(tmp_path / "data", n=300), epochs=500)
    monkeypatch.setattr(trainer.child, "own_command", lambda *args: [sys.executable, "-c", CRASH_AFTER_FIRST_EPOCH, *args])
    tab.start()
    with qtbot.waitSignal(tab.run.ended, timeout=WAIT_MS) as ended:
        pass
    assert ended.args[0] == "crashed"
    assert "ended without a word" in tab.message.text() and tab.status.text() == "The training process crashed."
    assert tab.start_button.isEnabled() and tab.resume_button.isEnabled()

    monkeypatch.undo()
    tab.resume()
    seen = events_of(tab)
    wait_for_an_epoch(qtbot, tab, seen)
    assert [e["event"] for e in seen[:2]] == ["start", "resume"]
    assert next(e for e in seen if e["event"] == "epoch")["epoch"] == 2  # the crash in epoch 2 kept epoch 1's checkpoint
    monkeypatch.setattr(tab, "ask_close_choice", lambda: "cancel")
    assert tab.confirm_close() is False and tab.run.running
    monkeypatch.setattr(tab, "ask_close_choice", lambda: "leave")
    assert tab.confirm_close() is True and tab.run.lock.alive()  # it would outlive the window
    monkeypatch.setattr(tab, "ask_close_choice", lambda: "kill")
    assert tab.confirm_close() is True
    with qtbot.waitSignal(tab.run.ended, timeout=WAIT_MS) as ended:
        pass
    assert ended.args[0] == "crashed" and not tab.run.lock.alive()


def test_dives_with_human_scores_from_the_database_become_the_dataset(qtbot, tab: TrainerTab, tmp_path: Path, tiny_video) -> None:  # noqa: ANN001
    from app.storage.database import open_database
    from app.storage.repository import DiveRecord, Repository
    from tests.storage_support import make_result

    with open_database(tmp_path / "club.sqlite") as db:
        repo = Repository(db)
        tab.set_database(db)
        tab.use_database()
        qtbot.waitUntil(lambda: "Cannot make a dataset" in tab.check_text.toPlainText(), timeout=WAIT_MS)
        assert "no dive has both a real panel's scores and a video" in tab.check_text.toPlainText()
        for i in range(3):
            saved = repo.save_scored_dive(DiveRecord("Cup", "10m", "Ana", video_path=tiny_video(count=116 + i, name=f"d{i}.mp4")),
                                          make_result(60.0 + i))
            repo.set_human_scores(saved.dive_id, [7.0, 7.5, 7.5, 8.0, 7.0, 7.5, 8.0], final=67.5)
        tab.use_database()
        qtbot.waitUntil(lambda: tab.report is not None, timeout=WAIT_MS)
    assert tab.report["dives"] == 3 and tab.report["with_judge_scores"] == 3
    assert Path(tab.dataset_path.text(), "annotations.csv").is_file()
    assert "usable dives      3" in tab.check_text.toPlainText()


def test_a_preset_of_a_method_without_a_judge_head_keeps_its_model(tmp_path: Path) -> None:
    """CoRe's preset names its method, not a head: choosing it keeps the preset's tree and exemplar settings
    (the form's method matches the preset's method, whatever its head is called)."""
    from app.training_config import Settings, build_config, presets

    preset = presets()["mtl_aqa_core"]
    config = build_config(Settings(dataset=tmp_path / "MTL-AQA", method="core", backbone="i3d"), tmp_path / "run", "club", preset)
    assert config["model"] == preset["model"] and config["model"]["core"] == {"exemplars": 10, "min_pool": 3}


def test_the_video_check_before_training_shows_its_own_count(tab: TrainerTab) -> None:
    tab.on_event({"event": "video_check", "done": 2, "total": 6, "eta_s": 3.0})
    assert tab.progress.text() == "checking for damage 2 / 6 dives" and tab.eta.text() == eta_text(3.0)
    tab.on_event({"event": "features", "done": 0, "total": 5, "eta_s": None})
    assert tab.progress.text() == "features 0 / 5 dives"


def test_a_damaged_video_refuses_the_dataset_until_partial_leaves_it_out(qtbot, tab: TrainerTab, tmp_path: Path) -> None:
    from tests.video_damage_support import club_dataset

    folder, _ = club_dataset(tmp_path / "club")
    tab.resize(1440, 850)  # the main window's size: the plots take what the settings column leaves
    qtbot.waitUntil(lambda: tab.width() == 1440)
    width = tab.settings_column.width()
    tab.set_dataset(folder)
    qtbot.waitUntil(lambda: tab.report is not None, timeout=WAIT_MS)
    assert not tab.report["trainable"] and "dive5.mp4: damaged video dive5.mp4" in tab.check_text.toPlainText()
    assert tab.settings_column.width() == width  # the report and its histogram fit the column: the plots stay put
    assert tab.check_text.toPlainText().startswith("Refused: ")  # the reason Start is off, where the box shows it
    assert not tab.start_button.isEnabled()
    tab.partial.setChecked(True)  # asks the check again, with partial
    qtbot.waitUntil(lambda: tab.report is not None, timeout=WAIT_MS)
    assert tab.report["trainable"] and tab.report["dives"] == 5 and "damaged video" in tab.check_text.toPlainText()
    assert tab.settings().partial
    from app.training_config import build_config

    assert build_config(tab.settings(), tmp_path / "run", "club")["partial"] is True


def test_too_few_training_dives_to_carve_a_validation_split_keep_start_off(qtbot, tab: TrainerTab, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.dataset_layouts import build_finediving, tiny_jpegs

    build_finediving(tmp_path / "FineDiving", tiny_jpegs(tmp_path / "palette"))  # 3 usable training dives, no validation listed
    tab.set_dataset(tmp_path / "FineDiving")
    qtbot.waitUntil(lambda: tab.report is not None, timeout=WAIT_MS)
    assert tab.report["splits"]["train"] == 3 and tab.report["splits"]["val"] == 0
    text = tab.check_text.toPlainText()
    assert text.startswith("Refused: too few training dives (3) to set 15% aside for validation"), text  # round(3 x 0.15) = 0 dives
    assert not tab.start_button.isEnabled()
    config = tmp_path / "half.yaml"
    config.write_text("val_fraction: 0.34\nepochs: 3\n")  # round(3 x 0.34) = 1 dive: the run can carve it
    import app.file_dialogs as file_dialogs

    monkeypatch.setattr(file_dialogs.QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(config), ""))
    tab._ask_config()  # Load a config…
    assert tab.report["trainable"] and "training sets aside 34% of the training dives" in tab.check_text.toPlainText()
    assert tab.epochs.value() == 3
