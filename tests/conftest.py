"""Fixtures shared by the whole suite: tiny synthetic videos, the real clips, an isolated home.

``isolated_home`` is opt-in, not autouse: the installed I3D weights live in the real user data
folder, and tests that need them must still find them.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from aqa_core.paths import shared_dir

REAL_CLIPS = ("tokyo2020_dive_a.mp4", "tokyo2020_dive_b.mp4")


class TinyVideoFactory:
    """Writes short MP4s ('mp4v') whose frames say which index they are.

    Frame ``i`` is flat grey at ``level(i)`` with a pure red top-left quadrant, so a test can
    recover the index from a decoded frame despite lossy compression (``index_of``), check RGB
    order (red is channel 0) and check rotation (where the red corner went).
    """

    STEP = 8  # grey levels between consecutive frames; codec error is a few levels

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def level(cls, index: int) -> int:
        return 16 + (index * cls.STEP) % 224

    @classmethod
    def frames(cls, count: int, width: int = 64, height: int = 48) -> np.ndarray:
        """The RGB frames the factory writes, ``(count, height, width, 3)`` uint8."""
        frames = np.empty((count, height, width, 3), np.uint8)
        for index in range(count):
            frames[index] = cls.level(index)
            frames[index, : height // 2, : width // 2] = (255, 0, 0)
        return frames

    @classmethod
    def index_of(cls, frame: np.ndarray) -> int:
        """The index (mod 28) encoded in a decoded RGB frame, read from its grey bottom-right quadrant."""
        height, width = frame.shape[:2]
        grey = float(frame[height // 2 + 2 :, width // 2 + 2 :].mean())
        return int(round((grey - 16) / cls.STEP))

    def __call__(
        self,
        count: int = 24,
        width: int = 64,
        height: int = 48,
        fps: float = 25.0,
        name: str = "tiny.mp4",
    ) -> Path:
        path = self.folder / name
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        assert writer.isOpened(), "OpenCV cannot write mp4v here"
        for frame in self.frames(count, width, height):
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        writer.release()
        return path


@pytest.fixture
def tiny_video(tmp_path: Path) -> TinyVideoFactory:
    """``tiny_video(count=24, width=64, height=48, fps=25.0, name="tiny.mp4") -> Path``."""
    return TinyVideoFactory(tmp_path)


@pytest.fixture
def shared_clips() -> tuple[Path, Path]:
    """The two real 10 m dives (dive_a: 109 frames, dive_b: 87), or skip without ../shared."""
    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared (real clips) is not present")
    dive_a, dive_b = (shared / "data" / "clips" / name for name in REAL_CLIPS)
    return dive_a, dive_b


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point AQA_JUDGE_HOME at an empty temp folder (no weights, no database) for this test."""
    home = tmp_path / "aqa-home"
    home.mkdir()
    monkeypatch.setenv("AQA_JUDGE_HOME", str(home))
    return home


@pytest.fixture
def one_thread():
    """Tiny matrices: extra intra-op threads only synchronise (the trainer does the same on cached features)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
