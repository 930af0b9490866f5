"""Damaged videos with an independent truth: which frames decode differently from the clean file's."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def textured_video(path: Path, count: int = 30) -> Path:
    """Random texture (a flat frame compresses to nothing a flipped byte could hit), MPEG-4 part 2."""
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (160, 120))
    for _ in range(count):
        writer.write(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8))
    writer.release()
    return path


def damaged_copy(clean: Path, path: Path, every: int = 97) -> Path:
    """Every ``every``-th byte of a tenth of the video stream inverted, half-way in; the container untouched.

    97 leaves every frame decodable (some concealed); 31 stops the decoding of the textured video
    a few frames after the damage (the frames after it are lost).
    """
    data = bytearray(clean.read_bytes())
    stream, index = data.find(b"mdat"), data.find(b"moov")
    start = stream + 8 + (index - stream) // 2
    for offset in range(start, start + (index - stream) // 10, every):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def frames_that_differ(clean: Path, damaged: Path) -> list[int]:
    """The clean file's frames that the damaged copy decodes differently, or not at all."""
    def decode(path: Path) -> list[np.ndarray]:
        capture, frames = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG), []
        while (frame := capture.read())[0]:
            frames.append(frame[1].astype(np.int16))
        return frames

    whole, broken = decode(clean), decode(damaged)
    assert len(broken) <= len(whole), "the damaged copy decodes more frames than the clean file"
    return [i for i, a in enumerate(whole) if i >= len(broken) or np.abs(a - broken[i]).mean() > 0.5]


SPLITS = ["train", "train", "train", "val", "test", "train"]  # the last dive is the damaged one
HEADER = "video,start_frame,end_frame,event,dive_number,height,difficulty," + ",".join(f"judge{i}" for i in range(1, 8)) + ",final_score,split,commentary\n"


def club_dataset(folder: Path) -> tuple[Path, list[int]]:
    """Five clean textured dives and a damaged copy of the first (dive5.mp4, train); (folder, the copy's damaged frames)."""
    folder.mkdir(parents=True)
    rows = []
    for i, split in enumerate(SPLITS):
        name = f"dive{i}.mp4"
        if i < 5:
            textured_video(folder / name, count=30 + i)
        else:
            damaged_copy(folder / "dive0.mp4", folder / name)
        judges = [5 + i * 0.5] * 7
        rows.append(f"{name},,,individual,107B,10,3.0,{','.join(map(str, judges))},{sum(judges[2:5]) * 3.0:.2f},{split},\n")
    (folder / "annotations.csv").write_text(HEADER + "".join(rows))
    truth = frames_that_differ(folder / "dive0.mp4", folder / "dive5.mp4")
    assert truth, "the damage must reach some frames"
    return folder, truth


def textured_jpeg(path: Path, seed: int = 0) -> Path:
    """A smooth random texture as a JPEG (about 20 KB), large enough that half of it is scan data."""
    rng = np.random.default_rng(seed)
    image = cv2.GaussianBlur(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8), (7, 7), 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image)
    return path


def cut_image(clean: Path, path: Path) -> Path:
    """The first half of the file, as an interrupted download or unpacking leaves it."""
    data = clean.read_bytes()
    path.unlink(missing_ok=True)  # a hard link to a shared frame must not be written through
    path.write_bytes(data[: len(data) // 2])
    return path


def corrupt_image(clean: Path, path: Path) -> Path:
    """Every 7th byte of 200 inverted, half-way into the file; its length and markers untouched."""
    data = bytearray(clean.read_bytes())
    for offset in range(len(data) // 2, len(data) // 2 + 200, 7):
        data[offset] ^= 0x55
    path.unlink(missing_ok=True)
    path.write_bytes(bytes(data))
    return path


def images_that_differ(clean: list[Path], damaged: list[Path]) -> list[int]:
    """Positions whose damaged image decodes differently from the clean one, or not at all."""
    def differ(a: Path, b: Path) -> bool:
        whole, broken = cv2.imread(str(a)), cv2.imread(str(b))
        return broken is None or np.abs(whole.astype(np.int16) - broken.astype(np.int16)).mean() > 0.5

    return [i for i, (a, b) in enumerate(zip(clean, damaged, strict=True)) if differ(a, b)]


def names_the_damage(frames: list[int], truth: list[int], reorder: int = 2) -> bool:
    """Every frame whose pixels differ is named; beyond them only frames next to the damage.

    The check cannot see a codec's frame order: data decoded on one grab can be of a frame shown up
    to ``reorder`` frames before it (B-frames), and after a keyframe's grab up to ``reorder``
    frames of the damaged group can still be shown (open GOPs) or none (no reordering). So it names
    those too: never a damaged frame missed, at most ``reorder`` frames before and after each damaged run.
    """
    near = {f + d for f in truth for d in range(-reorder, reorder + 1)}
    return set(truth) <= set(frames) <= near


def moving_video(path: Path, count: int = 150) -> Path:
    """A texture panning under a frame counter, MPEG-2 with B-frames in Matroska: frames are predicted
    from frames before and after them (open groups), as in broadcast footage."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mpg2"), 25.0, (320, 240))
    assert writer.isOpened(), "OpenCV cannot write MPEG-2 here"
    for i in range(count):
        frame = base[(i // 3) % 240 : (i // 3) % 240 + 240, i % 320 : i % 320 + 320].copy()
        cv2.putText(frame, str(i), (10, 100), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
        writer.write(frame)
    writer.release()
    return path


def flipped_copy(clean: Path, path: Path, at: float, count: int = 300) -> Path:
    """Every 11th of ``count`` bytes inverted from ``at`` (a fraction) of the file on."""
    data = bytearray(clean.read_bytes())
    for offset in range(int(len(data) * at), int(len(data) * at) + count, 11):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def cut_copy(clean: Path, path: Path, keep: float) -> Path:
    """The first ``keep`` of the file's bytes, as an interrupted copy leaves a video."""
    data = clean.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def raw_keyframes(path: Path) -> list[int]:
    """Indices of the packets the container marks as keyframes, demuxed without decoding (decode order)."""
    capture, keys, index = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_FORMAT, -1]), [], 0
    while capture.grab():
        if capture.get(cv2.CAP_PROP_LRF_HAS_KEY_FRAME):
            keys.append(index)
        index += 1
    return keys
