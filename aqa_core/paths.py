"""Where things live: the user's data folder (platformdirs) and the packaged resources."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "aqa-judge"


def user_data_dir() -> Path:
    """Per-user folder for weights, the sessions database and caches.

    ``AQA_JUDGE_HOME`` overrides it (tests and portable installs use that).
    """
    override = os.environ.get("AQA_JUDGE_HOME")
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def weights_dir() -> Path:
    path = user_data_dir() / "weights"
    path.mkdir(parents=True, exist_ok=True)
    return path


WEIGHTS_FILENAME = "i3d_kinetics400.safetensors"


def i3d_weights_path() -> Path:
    """Where the converted Kinetics-400 I3D lives; here, not in aqa_core.weights, so asking needs no torch.

    The app's first-run check asks on a worker while the model loads on another: through
    aqa_core.weights it imported aqa_core.backbones on both threads at once, and Python's import
    locks called that a deadlock (seen under Xvfb: _DeadlockError on aqa_core.backbones.preprocessing).
    """
    return weights_dir() / WEIGHTS_FILENAME


def resources_dir() -> Path:
    """The ``resources/`` folder, in a source checkout or inside a PyInstaller bundle."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


def shared_dir() -> Path | None:
    """``../shared`` beside the checkout (real clips and labels), if present."""
    candidate = Path(__file__).resolve().parent.parent.parent / "shared"
    return candidate if candidate.is_dir() else None
