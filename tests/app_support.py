"""Shared pieces of the app tests: a tiny MUSDL bundle, isolated settings, waiting for a result."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QSettings

from aqa_core.bundle import ModelBundle, bundle_from_model
from aqa_core.methods import build_method
from aqa_core.result import ScoreResult
from app.main import MainWindow
from app.state import AppState, DiveSheet
from app.tabs.judging_desk import JudgingDesk
from app.widgets.player import Player

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "models" / "musdl_tiny.json"
SHEET = DiveSheet(dive_number="107B")  # a 10 m 107B before a 7-judge panel: what most app tests score
CARD = {"dataset": "none", "synthetic": True, "intended_use": "tests"}


def tiny_bundle(seed: int = 0, judges: int = 7) -> ModelBundle:
    torch.manual_seed(seed)
    config = json.loads(CONFIG.read_text())
    config["head"]["judges"] = judges
    return bundle_from_model(build_method(config), f"tiny-app-{judges}", str(seed), CARD)


@pytest.fixture
def app_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Own data folder (analysis cache, demo) and own QSettings (shortcuts, recent files)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("AQA_JUDGE_HOME", str(home))
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    return home


@pytest.fixture
def desk(qtbot, app_home: Path):  # noqa: ANN001, ANN201, F811 (pytest fixtures)
    """The judging desk alone, on the tiny bundle."""
    widget = JudgingDesk(AppState())
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    widget.commands.use_bundle(tiny_bundle())
    yield widget
    widget.commands.shutdown()


@pytest.fixture
def window(qtbot, app_home: Path, tmp_path: Path):  # noqa: ANN001, ANN201, F811 (pytest fixtures)
    """The whole main window with its own sessions database, on the tiny bundle."""
    win = MainWindow(database=tmp_path / "sessions.db")
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitUntil(lambda: win.commands.db is not None and win.sessions is not None, timeout=20000)
    win.commands.use_bundle(tiny_bundle())
    yield win
    win.commands.shutdown()


def wait_for_result(qtbot, state: AppState, timeout_ms: int = 60000) -> ScoreResult:  # noqa: ANN001 (pytest-qt)
    qtbot.waitUntil(lambda: state.result is not None and not state.analysing, timeout=timeout_ms)
    assert state.result is not None
    return state.result


def frame_index_on_screen(player: Player, factory) -> int:  # noqa: ANN001 (conftest.TinyVideoFactory)
    """The source frame index painted by ``player``, read back from the pixels it shows."""
    image = player.current_image()
    assert image is not None
    image = image.convertToFormat(image.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes()).reshape(image.height(), image.bytesPerLine())
    return factory.index_of(rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3))
