"""``aqa-judge --self-test``: does this install work, end to end, without a display?

Written for the frozen bundle (CI builds it and runs this; a club can run it when something is
off), and it runs the same from a checkout. Each check prints one line, ``ok`` or ``FAILED``
with the reason, and the exit status is 0 only when every check passed:

1. imports every module of the four packages and finds every registry filled;
2. builds the main window on Qt's offscreen platform (the Qt plugins and pyqtgraph are there);
3. creates a temporary sessions database and migrates it to the newest schema (Alembic's scripts
   are there);
4. names the device torch will compute on: a CUDA build without a reachable GPU says so, with
   torch's own reason, and (frozen, Linux) checks that the CUDA libraries opened by name at run
   time (cuDNN's engines, NVRTC's builtins) are in the bundle, since nothing fails without them
   until a GPU is there;
5. converts a small test backbone to OpenVINO and runs it on OpenVINO's CPU plugin (the plugin
   and the model frontends are opened by file name, so only running proves they were packaged);
   where OpenVINO is not installed (a platform without its wheels) it says so and passes;
6. generates one demo dive, decodes it and scores it with the shipped demo model on the engine
   scoring would use here (the cached measured choice, else float32 PyTorch; never measured
   here) and names that engine (needs the installed I3D weights: ``aqa-judge weights install``);
7. trains heads on made-up features for one epoch in a child process of this very program
   (``own_command``), as the Trainer tab does, and loads the bundle it wrote (the tiny test
   backbone is named, so this check does not depend on the I3D weights that check 5 needs).

Everything is written in a temporary folder that is removed at the end; the user's sessions,
settings and models are not touched.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

PACKAGES = ("aqa_core", "trainer", "app", "cli")
# Alembic runs env.py and the revisions itself, inside a migration; importing them alone fails.
NOT_IMPORTABLE_ALONE = ("app.storage.migrations.",)
TRAIN_TIMEOUT_S = 600
FEATURE_DIM = 16


def check_imports() -> str:
    names = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            if not module.name.startswith(NOT_IMPORTABLE_ALONE):
                importlib.import_module(module.name)
                names.append(module.name)
    from aqa_core.neck import NECKS
    from aqa_core.registry import AGGREGATORS, BACKBONES, HEADS, SEGMENTATIONS

    registries = {r.kind: r.names() for r in (BACKBONES, AGGREGATORS, HEADS, SEGMENTATIONS, NECKS)}
    empty = [kind for kind, entries in registries.items() if not entries]
    if empty or "i3d" not in registries["backbone"]:
        raise RuntimeError(f"registries not filled on import: {', '.join(empty) or 'no i3d backbone'}")
    return f"{len(names)} modules; " + ", ".join(f"{kind} {len(entries)}" for kind, entries in registries.items())


def check_window() -> str:
    from PySide6.QtWidgets import QApplication

    from app.main import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    window = MainWindow(open_db=False)
    window.show()
    app.processEvents()
    shown = window.isVisible()
    window.close()
    app.processEvents()
    if not shown:
        raise RuntimeError("the main window did not show")
    return f"main window shown on Qt platform {app.platformName()!r}"


def check_database(folder: Path) -> str:
    from alembic.runtime.migration import MigrationContext

    from app.storage.database import head_revision, open_database

    with open_database(folder / "sessions.db") as database, database.engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    if revision != head_revision():
        raise RuntimeError(f"the new database is at revision {revision}, expected {head_revision()}")
    return f"created and migrated to {revision}"


# Opened with dlopen by name when a GPU first runs a kernel, so a bundle without them imports
# torch and passes on a CPU-only machine, then fails on the club's GPU.
CUDA_RUNTIME_LOADED = ("libcudnn_engines_precompiled.so*", "libcudnn_ops.so*", "libnvrtc-builtins*.so*")


def check_device() -> str:
    import torch

    from trainer.devices import describe, list_devices

    where = "; ".join(describe(list_devices()))
    if torch.version.cuda is None:
        return f"torch {torch.__version__}; {where}"
    if not torch.cuda.is_available():
        try:
            torch.cuda.init()
        except Exception as exc:  # noqa: BLE001 - its message is the reason we report
            where += f" (torch: {str(exc).strip().splitlines()[0]})"
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle and sys.platform == "linux":
        libraries = Path(bundle) / "nvidia"
        missing = [pattern for pattern in CUDA_RUNTIME_LOADED if not any(libraries.glob(f"*/lib/{pattern}"))]
        if missing:
            raise RuntimeError(f"the CUDA bundle lacks {', '.join(missing)} under {libraries}")
        where += f"; cuDNN and NVRTC run-time libraries present under {libraries.name}/"
    return f"torch {torch.__version__} built for CUDA {torch.version.cuda}; {where}"


def check_openvino(folder: Path) -> str:
    from aqa_core.inference.openvino_engine import openvino_available, self_check

    if not openvino_available():
        return "not installed here (no wheel for this platform): PyTorch runs the backbone"
    return self_check(folder)


def check_scoring(folder: Path) -> str:
    from aqa_core.bundle import default_bundle_path, load_bundle
    from aqa_core.result import DiveInfo
    from aqa_core.scorer import Scorer
    from aqa_core.video import probe
    from app.demo import prepare_demo

    dive = prepare_demo(folder=folder / "demo", n=1)[0]
    info = probe(dive.video)
    bundle_path = default_bundle_path()
    if bundle_path is None:
        raise RuntimeError("no demo model in the bundle's resources")
    scorer = Scorer.measured(load_bundle(bundle_path), measure=False)
    result = scorer.score(dive.video, DiveInfo("individual", 7, dive.dive_number, dive.height, dive.difficulty))
    if not np.isfinite(result.final.score):
        raise RuntimeError("the final score is not finite")
    return (f"{dive.video.name} ({info.frame_count} frames) scored {result.final.score:.2f} by {result.model_name} "
            f"on {scorer.choice.engine} in {result.timings.get('total', 0.0):.1f} s (DD {dive.difficulty:g}; the synthetic panel gave {sum(sorted(dive.judge_scores)[2:5]) * dive.difficulty:.2f})")


def check_training(folder: Path) -> str:
    from aqa_core.bundle import load_bundle
    from aqa_core.own_program import own_command

    rng = np.random.default_rng(0)
    n = 40
    quality = rng.uniform(0, 1, n)
    features = rng.normal(size=(n, 10, FEATURE_DIM)) * 0.5 + quality[:, None, None]
    judges = np.clip(np.round((4 + 5 * quality[:, None] + rng.normal(0, 0.4, (n, 7))) * 2) / 2, 0, 10)
    difficulty = np.full(n, 2.0)
    final = np.sort(judges, 1)[:, 2:5].sum(1) * difficulty
    split = np.array(["train"] * 30 + ["test"] * 10)
    np.savez(folder / "features.npz", features=features, judge_scores=judges, difficulty=difficulty, final_score=final, split=split)
    config = {"dataset": "features.npz", "out": "bundle", "work_dir": "work", "epochs": 1, "batch_size": 16, "seed": 0,
              "name": "self-test", "model": {"backbone": {"name": "tiny", "feature_dim": FEATURE_DIM},
                                              "head": {"name": "musdl", "judges": 7, "in_dim": FEATURE_DIM, "hidden": [16]}}}
    (folder / "train.json").write_text(json.dumps(config), encoding="utf-8")
    command = own_command("train", str(folder / "train.json"))
    done = subprocess.run(command, capture_output=True, text=True, timeout=TRAIN_TIMEOUT_S, check=False, cwd=folder)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"`{' '.join(command)}` exited {done.returncode}: {last[0]}")
    events = [json.loads(line)["event"] for line in done.stdout.splitlines() if line.startswith("{")]
    if "epoch" not in events or events[-1] != "done":
        raise RuntimeError(f"the progress stream ended without an epoch and 'done': {events}")
    bundle = load_bundle(folder / "bundle")
    program = " ".join([Path(command[0]).name, *command[1:-1]])
    return f"`{program} CONFIG` (a child process) trained 1 epoch and wrote bundle {bundle.name!r}"


def run_self_test() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    print(f"aqa-judge self-test: {'frozen bundle ' + str(Path(sys.executable).parent) if getattr(sys, 'frozen', False) else 'source checkout'}")
    failed = 0
    with tempfile.TemporaryDirectory(prefix="aqa-self-test-") as tmp:
        folder = Path(tmp)
        checks: list[tuple[str, Callable[[], str]]] = [
            ("imports", check_imports),
            ("window", check_window),
            ("database", lambda: check_database(folder)),
            ("device", check_device),
            ("openvino", lambda: check_openvino(folder)),
            ("scoring", lambda: check_scoring(folder)),
            ("training", lambda: check_training(folder)),
        ]
        for name, check in checks:
            started = time.perf_counter()
            try:
                line = check()
            except Exception as exc:  # noqa: BLE001 - every failure is reported, then the next check runs
                failed += 1
                print(f"FAILED {name}: {type(exc).__name__}: {exc}", flush=True)
                if os.environ.get("AQA_JUDGE_DEBUG"):
                    traceback.print_exc()
            else:
                print(f"ok     {name} ({time.perf_counter() - started:.1f} s): {line}", flush=True)
    print("self-test passed" if not failed else f"self-test FAILED: {failed} of {len(checks)} checks")
    return 0 if not failed else 1
