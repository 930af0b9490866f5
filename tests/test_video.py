"""Video probing and decoding: real clips, tiny synthetic files, and every kind of bad file."""

from __future__ import annotations

import shutil
import struct
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from aqa_core.errors import VideoError
from aqa_core.video import VideoReader, probe, read_frames

# tkhd display matrices (16.16 fixed point, last column 2.30) for a clockwise display rotation.
_ONE, _W = 0x10000, 0x40000000
_ROTATION_MATRICES = {
    90: (0, _ONE, 0, -_ONE, 0, 0, 0, 0, _W),
    180: (-_ONE, 0, 0, 0, -_ONE, 0, 0, 0, _W),
    270: (0, -_ONE, 0, _ONE, 0, 0, 0, 0, _W),
}


def _with_rotation_tag(source: Path, degrees: int) -> Path:
    """A copy of an MP4 whose track header says 'display rotated by ``degrees``' (as phones write)."""
    data = bytearray(source.read_bytes())
    box = data.find(b"tkhd")
    assert box > 0 and data[box + 4] == 0, "expected a version-0 tkhd box"
    matrix = box + 4 + 4 + 20 + 8 + 8  # type, version/flags, times/ids/duration, reserved, layer..volume
    data[matrix : matrix + 36] = struct.pack(">9i", *_ROTATION_MATRICES[degrees])
    target = source.with_name(f"rotated_{degrees}.mp4")
    target.write_bytes(bytes(data))
    return target


class _SeekCounter:
    """Wraps an OpenCV capture and counts position seeks, to check sequential reads never seek."""

    def __init__(self, capture: cv2.VideoCapture) -> None:
        self._capture = capture
        self.seeks = 0

    def set(self, prop: int, value: float) -> bool:
        if prop == cv2.CAP_PROP_POS_FRAMES:
            self.seeks += 1
        return self._capture.set(prop, value)

    def __getattr__(self, name: str):
        return getattr(self._capture, name)


def test_probe_tiny_video(tiny_video) -> None:
    path = tiny_video(count=24, width=64, height=48, fps=25.0)
    info = probe(path)
    assert info.frame_count == 24
    assert info.fps == pytest.approx(25.0)
    assert (info.width, info.height) == (64, 48)
    assert info.duration_s == pytest.approx(24 / 25.0)
    assert info.rotation == 0
    assert info.path == path.resolve()


def test_read_frames_is_rgb_in_order(tiny_video) -> None:
    path = tiny_video(count=20)
    frames = read_frames(path, 5, 14)
    assert frames.shape == (10, 48, 64, 3) and frames.dtype == np.uint8
    assert [tiny_video.index_of(frame) for frame in frames] == list(range(5, 15))
    red_corner = frames[0, 5, 5].astype(int)
    assert red_corner[0] > 200 and red_corner[2] < 60  # channel 0 is red: RGB, not BGR


def test_reader_random_access_matches_sequential_decode(tiny_video) -> None:
    path = tiny_video(count=28)
    sequential = read_frames(path, 0, 27)
    with VideoReader(path) as reader:
        for index in (17, 3, 27, 0, 12, 13, 26):
            np.testing.assert_array_equal(reader.frame(index), sequential[index])


def test_reader_sequential_reads_do_not_seek_and_cache_hits(tiny_video) -> None:
    with VideoReader(tiny_video(count=20)) as reader:
        counter = _SeekCounter(reader._capture)
        reader._capture = counter
        frames = [reader.frame(index) for index in range(20)]
        assert counter.seeks == 0
        again = reader.frame(19)  # cached: the same array, nothing decoded
        assert again is frames[19] and counter.seeks == 0
        assert not again.flags.writeable  # a caller cannot corrupt the cache
        reader.frame(2)  # backwards, evicted or not: must land on the right frame
        assert tiny_video.index_of(reader.frame(2)) == 2


def test_reader_refuses_other_threads(tiny_video) -> None:
    errors: list[BaseException] = []
    with VideoReader(tiny_video(count=5)) as reader:
        thread = threading.Thread(target=lambda: _capture_error(errors, reader.frame, 1))
        thread.start()
        thread.join()
        assert reader.frame(1).shape == (48, 64, 3)  # the owner thread still reads
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)


def _capture_error(errors: list[BaseException], call, *args) -> None:
    try:
        call(*args)
    except BaseException as exc:  # noqa: BLE001 - handed to the test thread
        errors.append(exc)


def test_non_ascii_file_name(tiny_video) -> None:
    path = tiny_video(count=6, name="plongée_10m_ü.mp4")
    assert probe(path).frame_count == 6
    assert tiny_video.index_of(read_frames(path, 3, 3)[0]) == 3


def test_reader_cache_is_bounded(tiny_video) -> None:
    with VideoReader(tiny_video(count=20), cache_size=4) as reader:
        for index in range(20):
            reader.frame(index)
        assert sorted(reader._cache) == [16, 17, 18, 19]


def test_frames_outside_the_video_are_refused(tiny_video) -> None:
    path = tiny_video(count=10)
    with VideoReader(path) as reader, pytest.raises(VideoError, match=r"frame index 10 outside the video \(indices 0-9, frames 1-10 as people count\)"):
        reader.frame(10)
    with pytest.raises(VideoError, match="tiny.mp4"):
        read_frames(path, 6, 5)


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotation_tag_is_applied_like_opencv_does(tiny_video, degrees: int) -> None:
    path = _with_rotation_tag(tiny_video(count=6, width=64, height=48), degrees)
    info = probe(path)
    assert info.rotation == degrees
    assert (info.width, info.height) == ((48, 64) if degrees in (90, 270) else (64, 48))
    reference = cv2.VideoCapture(str(path))  # OpenCV's own auto-rotation as the oracle
    assert reference.get(cv2.CAP_PROP_ORIENTATION_AUTO) != 0
    ok, expected_bgr = reference.read()
    reference.release()
    assert ok
    frame = read_frames(path, 0, 0)[0]
    np.testing.assert_array_equal(frame, cv2.cvtColor(expected_bgr, cv2.COLOR_BGR2RGB))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match=r"nowhere\.mp4: no such file"):
        probe(tmp_path / "nowhere.mp4")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.touch()
    with pytest.raises(VideoError, match=r"empty\.mp4: the file is empty"):
        probe(path)


def test_folder_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="is not a file"):
        VideoReader(tmp_path)


def test_text_renamed_mp4(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("Dive 107B, 10 m, judges 8 8.5 8 ...\n" * 20)
    with pytest.raises(VideoError, match=r"notes\.mp4: not a video"):
        probe(path)


def test_truncated_mp4_without_index(tiny_video, tmp_path: Path) -> None:
    data = tiny_video(count=24).read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: int(len(data) * 0.4)])
    with pytest.raises(VideoError, match=r"cut\.mp4: the video is damaged or truncated"):
        probe(path)


def test_truncated_avi_reports_the_frames_that_really_decode(tmp_path: Path, tiny_video) -> None:
    """An AVI keeps its header in front, so a cut file still opens: only real frames count."""
    full = tmp_path / "full.avi"
    writer = cv2.VideoWriter(str(full), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 48))
    for frame in tiny_video.frames(28):
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    claimed = int(cv2.VideoCapture(str(full)).get(cv2.CAP_PROP_FRAME_COUNT))
    data = full.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: int(len(data) * 0.7)])
    info = probe(cut)
    assert 0 < info.frame_count < claimed == 28
    frames = read_frames(cut, 0, info.frame_count - 1)
    assert [tiny_video.index_of(frame) for frame in frames] == list(range(info.frame_count))


def test_undecodable_frames(tiny_video, tmp_path: Path) -> None:
    data = bytearray(tiny_video(count=20).read_bytes())
    payload = data.find(b"mdat") + 4
    data[payload : payload + 800] = np.random.default_rng(0).integers(0, 256, 800, dtype=np.uint8).tobytes()
    path = tmp_path / "scrambled.mp4"
    path.write_bytes(bytes(data))
    with pytest.raises(VideoError, match=r"scrambled\.mp4: no frame could be decoded"):
        probe(path)


def test_edited_file_is_probed_again(tiny_video) -> None:
    path = tiny_video(count=10)
    assert probe(path).frame_count == 10
    shutil.copyfile(tiny_video(count=16, name="longer.mp4"), path)
    assert probe(path).frame_count == 16


@pytest.mark.shared
def test_real_clips_frame_counts_verified_by_decoding(shared_clips) -> None:
    for path, decodable in zip(shared_clips, (109, 87), strict=True):
        claimed = int(cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FRAME_COUNT))
        assert claimed != decodable  # the metadata lies, which is why probe verifies
        info = probe(path)
        assert info.frame_count == decodable
        assert (info.width, info.height) == (1280, 720)
        assert info.fps == pytest.approx(29.9, abs=0.2)
        assert info.duration_s == pytest.approx(decodable / info.fps)


@pytest.mark.shared
def test_real_clip_seek_is_frame_exact(shared_clips) -> None:
    path = shared_clips[1]
    sequential = read_frames(path, 0, 86)
    with VideoReader(path) as reader:
        for index in (60, 7, 86, 0, 45):
            np.testing.assert_array_equal(reader.frame(index), sequential[index])


@pytest.mark.shared
def test_real_clip_truncated_to_40_percent(shared_clips, tmp_path: Path) -> None:
    path = tmp_path / "dive_a_cut.mp4"
    data = shared_clips[0].read_bytes()
    path.write_bytes(data[: int(len(data) * 0.4)])
    with pytest.raises(VideoError, match=r"dive_a_cut\.mp4: the video is damaged or truncated"):
        probe(path)
