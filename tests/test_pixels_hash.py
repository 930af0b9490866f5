"""A dive's content hash: the bytes it names, read once per version of the files (``content_hash``)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from trainer.datasets import pixels
from trainer.datasets.base import DiveRecord


def record(video: Path, frames: tuple[Path, ...] | None = None) -> DiveRecord:
    return DiveRecord(key="d1", split="train", final_score=50.0, video=video, frames=frames)


def test_a_video_is_hashed_by_its_bytes_once_per_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    video = tmp_path / "dive.mp4"
    video.write_bytes(b"first version of the file")
    opened: list[Path] = []
    real_open = Path.open

    def counting(self: Path, mode: str = "r", *args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - a spy on the real method
        if "r" in mode:
            opened.append(self)  # reads only: the test's own writes go through it too
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", counting)
    first = pixels.content_hash(record(video))
    assert first == hashlib.sha256(b"first version of the file").hexdigest()
    assert pixels.content_hash(record(video)) == first and opened == [video]  # the second ask (features) read nothing
    video.write_bytes(b"second, longer version of it")
    os.utime(video, ns=(1, 1))
    assert pixels.content_hash(record(video)) == hashlib.sha256(b"second, longer version of it").hexdigest()
    assert opened == [video, video]


def test_frame_images_hash_their_names_and_bytes_in_order(tmp_path: Path) -> None:
    folder = tmp_path / "dive"
    folder.mkdir()
    files = []
    for i, data in enumerate((b"frame one", b"frame two")):
        files.append(folder / f"{i:05d}.jpg")
        files[-1].write_bytes(data)
    expected = hashlib.sha256(b"00000.jpgframe one00001.jpgframe two").hexdigest()
    assert pixels.content_hash(record(folder, tuple(files))) == expected
    assert pixels.content_hash(record(folder, tuple(reversed(files)))) != expected  # the order is the dive's
