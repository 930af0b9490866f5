"""Builds MTL-AQA's three released layouts from the real annotation files in ../shared, and a
FineDiving tree in its released structure, with tiny frames for every dive.

Frames are hard links to a handful of tiny JPEGs (a different one per frame position, so dives do
not all look alike to a backbone): a whole-video layout holds every frame of every window
(151,364 files), and a hard link costs a tenth of a symbolic link on an overlay file system.
Whole-video frames are numbered as ffmpeg numbers them (from 1); whole videos are links to one
tiny MP4 as long as the longest window needs (``probe`` reads it once: links resolve to it).
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from aqa_core.paths import shared_dir
from trainer.datasets.safe_pickle import load_annotation_pickle

PALETTE = 8  # distinct tiny JPEGs the frames point at
RAM_FOLDER = Path("/dev/shm")  # tmpfs where Linux has one: creating 300,000 links there takes half the time


@contextmanager
def scratch_folder(fallback: Path) -> Iterator[Path]:
    """A folder for a large tree of links: in RAM where the machine offers it, else ``fallback``; removed after."""
    base = RAM_FOLDER if RAM_FOLDER.is_dir() and os.access(RAM_FOLDER, os.W_OK) else fallback
    folder = Path(tempfile.mkdtemp(prefix="aqa-layouts-", dir=base))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def mtl_files() -> Path | None:
    shared = shared_dir()
    return shared / "data" / "mtl_aqa" if shared is not None else None


def tiny_jpegs(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(PALETTE):
        image = np.full((8, 8, 3), 20 + 28 * i, np.uint8)
        image[:4, :4] = (0, 0, 255)
        path = folder / f"tone{i}.jpg"
        cv2.imwrite(str(path), image)
        paths.append(path)
    return paths


def _link_frames(folder: Path, names: list[str], palette: list[Path]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        os.link(palette[i % len(palette)], folder / name)


def tiny_mp4(path: Path, frames: int) -> Path:
    """An 8x8 MP4 of ``frames`` black frames (about 13 bytes a frame)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (8, 8))
    black = np.zeros((8, 8, 3), np.uint8)
    for _ in range(frames):
        writer.write(black)
    writer.release()
    return path


def _windows(annotations: Path) -> dict[tuple[int, int], tuple[int, int]]:
    labels = load_annotation_pickle(annotations)
    return {(int(v), int(c)): (int(x["start_frame"]), int(x["end_frame"])) for (v, c), x in labels.items()}


def _video_frames(base: Path, windows: dict[tuple[int, int], tuple[int, int]], width: int, palette: list[Path], only: set | None = None) -> None:
    """Whole-video frame folders ``base/VV/%0{width}d.jpg`` holding every frame of every window."""
    per_video: dict[int, set[int]] = {}
    for (video, clip), (start, end) in windows.items():
        if only is None or (video, clip) in only:
            per_video.setdefault(video, set()).update(range(start + 1, end + 2))  # ffmpeg numbers from 1
    for video, numbers in per_video.items():
        _link_frames(base / f"{video:02d}", [f"{n:0{width}d}.jpg" for n in sorted(numbers)], palette)


def build_release(root: Path, palette: list[Path], only: set | None = None) -> Path:
    """The official release: Ready_2_Use/MTL-AQA_split_0_data/ and whole_videos_frames/VV/%06d.jpg."""
    info = root / "Ready_2_Use" / "MTL-AQA_split_0_data"
    shutil.copytree(mtl_files() / "release", info)
    _video_frames(root / "whole_videos_frames", _windows(info / "final_annotations_dict.pkl"), 6, palette, only)
    return root


def build_release_videos(root: Path, video: Path, videos: set[int] | None = None) -> Path:
    """The official release with its broadcasts: whole_videos/VV.mp4, each a link to ``video``."""
    info = root / "Ready_2_Use" / "MTL-AQA_split_0_data"
    shutil.copytree(mtl_files() / "release", info)
    (root / "whole_videos").mkdir()
    for number in sorted({v for v, _ in _windows(info / "final_annotations_dict.pkl")}):
        if videos is None or number in videos:
            os.symlink(video, root / "whole_videos" / f"{number:02d}.mp4")
    return root


def longest_window_end() -> int:
    """The last frame (0-based) any MTL-AQA window reaches: how long the stand-in broadcast must be."""
    return max(end for _, end in _windows(mtl_files() / "release" / "final_annotations_dict.pkl").values())


def build_musdl(root: Path, palette: list[Path], frames_per_dive: int = 3, only: set | None = None) -> Path:
    """The USDL/MUSDL code's MTL-AQA/: data/info/*.pkl and data/frames/VV_CC/*.jpg."""
    info = root / "data" / "info"
    shutil.copytree(mtl_files() / "musdl_info", info)
    for video, clip in _windows(info / "augmented_final_annotations_dict.pkl"):
        if only is None or (video, clip) in only:
            _link_frames(root / "data" / "frames" / f"{video:02d}_{clip:02d}", [f"{i:05d}.jpg" for i in range(frames_per_dive)], palette)
    return root


def build_core(root: Path, palette: list[Path], only: set | None = None) -> Path:
    """The CoRe code's MTL-AQA/: info/*.pkl and new/new_total_frames_256s/VV/%08d.jpg."""
    info = root / "info"
    shutil.copytree(mtl_files() / "core_info", info)
    _video_frames(root / "new" / "new_total_frames_256s", _windows(info / "final_annotations_dict_with_dive_number.pkl"), 8, palette, only)
    return root


def write_pickle(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(obj, protocol=4))


def build_finediving(root: Path, palette: list[Path], frames_root: Path | None = None) -> dict[tuple[str, int], dict]:
    """A small FineDiving tree as released (Annotations/*.pkl + FINADiving_MTL_256s/<event>/<index>/).

    Judge scores are the counted marks, their sum x DD (x 0.6 synchronised) equals dive_score,
    except where a dive is deliberately inconsistent (see the returned coarse labels).
    """
    ind, sync, mtl = "FINADivingWorldCup2021_Men3m_final_r1", "FullMenSynchronised10mPlatform_Tokyo2020Replays_2", "MTL-AQA_WorldChampionships_10m"
    coarse = {
        (ind, 0): {"action_type": "307C", "start_frame": 489, "end_frame": 500, "dive_score": 81.6, "difficulty": 3.4, "judge_scores": [8.0, 8.0, 8.0]},
        (ind, 1): {"action_type": "5253B", "start_frame": 900, "end_frame": 911, "dive_score": 68.0, "difficulty": 3.4, "judge_scores": [6.5, 7.0, 6.5]},  # rule: 68.00
        (ind, 2): {"action_type": "107B", "start_frame": 1200, "end_frame": 1211, "dive_score": 60.0, "difficulty": 3.1, "judge_scores": [6.5, 6.5, 6.5]},  # rule: 60.45, a typo
        (sync, 3): {"action_type": "6243D", "start_frame": 10, "end_frame": 21, "dive_score": 70.2, "difficulty": 3.25, "judge_scores": [7.0, 7.0, 7.5, 7.5, 7.0]},  # 36 x 3.25 x 0.6
        (sync, 4): {"action_type": "109C", "start_frame": 40, "end_frame": 51, "dive_score": 82.08, "difficulty": 3.8, "judge_scores": [7.0, 7.0, 7.0, 7.0, 8.0]},  # 36 x 3.8 x 0.6
        (mtl, 5): {"action_type": "407C", "start_frame": 7377, "end_frame": 7388, "dive_score": 88.0, "difficulty": 3.2, "judge_scores": [9.5, 9.0, 9.5, 9.0, 8.5, 9.5, 8.5]},
    }
    fine = {}
    for key, c in coarse.items():
        length = c["end_frame"] - c["start_frame"] + 1
        labels = np.array([0] * 4 + [3] * 4 + [28] * (length - 8))
        fine[key] = {
            "action_type": c["action_type"], "dive_score": c["dive_score"], "difficulty": c["difficulty"],
            "steps_transit_frames": np.array([4.0, 8.0]), "frames_labels": labels, "sub-action_types": {0: "Forward", 3: "Pike", 28: "Entry"},
        }
    anno = root / "Annotations"
    write_pickle(anno / "FineDiving_coarse_annotation.pkl", coarse)
    write_pickle(anno / "FineDiving_fine-grained_annotation.pkl", fine)
    write_pickle(anno / "fine-grained_annotation_aqa.pkl", {k: (f["action_type"], f["dive_score"], f["difficulty"], f["steps_transit_frames"], f["frames_labels"]) for k, f in fine.items()})
    write_pickle(anno / "Sub_action_Types_Table.pkl", {0: "Forward", 3: "Pike", 28: "Entry"})
    write_pickle(anno / "train_split.pkl", [(ind, 0), (ind, 1), (ind, 2), (sync, 3)])
    write_pickle(anno / "test_split.pkl", [(sync, 4), (mtl, 5)])
    frames = frames_root or root / "FINADiving_MTL_256s"
    for (event, index), c in coarse.items():
        _link_frames(frames / event / str(index), [f"{n:05d}.jpg" for n in range(c["start_frame"], c["end_frame"] + 1)], palette)
    return coarse
