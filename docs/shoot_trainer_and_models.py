"""Retake docs/trainer_during.png, docs/trainer_after.png and docs/models.png.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/shoot_trainer_and_models.py   (from the checkout root)

A fresh user folder (nothing of the real one is read or changed), a features file named the way a
club names its export, then what a user does: pick the file in the Trainer tab, train MUSDL on
I3D-width features in a child process, and compare the new model with the shipped default in the
Models tab. The features are made up (a hidden quality, noisy clips, seven judges who agree with it
more or less), so the shots show the app's real widgets and a real twelve-epoch run on a CPU.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

DOCS = Path(__file__).resolve().parent
SIZE = (1440, 936)  # the other docs shots' size
EPOCHS, DURING_EPOCH = 12, 4
WAIT_S = 600


def club_features(path: Path, dives: int = 400, tested: int = 80, seed: int = 2026) -> Path:
    """``dives`` dives of 10 clips of 1024 features (I3D's width) with panels, DDs and finals that follow the rules."""
    rng = np.random.default_rng(seed)
    quality = rng.uniform(0, 1, dives)
    direction = rng.normal(size=1024)
    direction /= np.linalg.norm(direction)
    features = rng.normal(size=(dives, 10, 1024)) + 4.0 * quality[:, None, None] * direction
    judges = np.clip(np.round((4 + 5 * quality[:, None] + rng.normal(0, 0.4, (dives, 7))) * 2) / 2, 0, 10)
    difficulty = rng.choice([2.0, 2.6, 2.8, 3.0, 3.2, 3.4], dives)
    final = np.sort(judges, axis=1)[:, 2:5].sum(axis=1) * difficulty  # seven judges: the middle three times the DD
    split = np.array(["train"] * (dives - tested) + ["test"] * tested)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, features=features.astype(np.float32), judge_scores=judges, difficulty=difficulty, final_score=final, split=split)
    return path


def main() -> int:
    from aqa_core.paths import user_data_dir

    installed = user_data_dir() / "weights" / "i3d_kinetics400.safetensors"  # a bundle on I3D records their fingerprint
    if not installed.is_file():
        raise SystemExit(f"{installed}: not there; run `aqa-judge weights install` first")
    root = Path(tempfile.mkdtemp(prefix="aqa-docs-"))
    os.environ["AQA_JUDGE_HOME"] = str(root / "aqa-judge")  # from here on the app sees a fresh user folder
    (root / "aqa-judge" / "weights").mkdir(parents=True)
    (root / "aqa-judge" / "weights" / installed.name).symlink_to(installed)
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication(sys.argv)
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(root / "settings"))  # no recent files of the real user
    from app.main import MainWindow

    def wait_until(done: Callable[[], bool], what: str) -> None:
        print(f"waiting for {what}", flush=True)
        deadline = time.monotonic() + WAIT_S
        while not done():
            if time.monotonic() > deadline:
                raise SystemExit(f"gave up after {WAIT_S} s waiting for {what}")
            app.processEvents()
            time.sleep(0.02)

    def shoot(widget: QWidget, name: str) -> None:
        for _ in range(20):  # let the last layout and repaint land
            app.processEvents()
            time.sleep(0.01)
        if not widget.grab().save(str(DOCS / name)):
            raise SystemExit(f"cannot write {DOCS / name}")
        print(f"wrote {DOCS / name}")

    dataset = club_features(root / "club" / "riverside_club_2026.npz")
    win = MainWindow(database=root / "aqa-judge" / "sessions.sqlite")
    win.resize(*SIZE)
    win.show()
    win.load_desk_model()  # as `aqa-judge app` does: the shipped model becomes the registry's first entry
    tab = win.trainer
    win.show_tab(tab)  # the tab asks a child what training can use when it is first seen
    wait_until(lambda: tab.options is not None and win.models.db is not None, "the Trainer tab's options")
    wait_until(lambda: len(win.models.rows) == 1, "the shipped model in the Models tab")
    tab.set_dataset(dataset)
    wait_until(lambda: tab.report is not None, "the dataset check")
    tab.method.setCurrentText("musdl")
    tab.backbone.setCurrentText("i3d")
    tab.choose_devices("cpu")
    tab.epochs.setValue(EPOCHS)
    tab.batch.setValue(16)
    tab.lr.setValue(1e-3)  # the shipped model's rate
    trained: list[str] = []
    tab.bundle_trained.connect(trained.append)
    tab.start()
    ended: list[str] = []
    tab.run.ended.connect(lambda outcome, line: ended.append(f"{outcome} ({line})"))  # after the tab's own slot
    wait_until(lambda: len(tab._curves["epoch"]) >= DURING_EPOCH, f"epoch {DURING_EPOCH}")
    shoot(win, "trainer_during.png")
    wait_until(lambda: bool(ended), "the end of the run")
    if not trained:
        raise SystemExit(f"the run ended {ended[0]}; see {tab.run.folder}")
    shoot(win, "trainer_after.png")
    win.show_tab(win.models)
    wait_until(lambda: len(win.models.rows) == 2, "the new model in the Models tab")
    win.models.select(0, 1)
    win.models.compare_selected()
    shoot(win, "models.png")
    win.commands.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
