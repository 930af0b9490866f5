"""The demo session: a handful of synthetic dives generated once into ``user_data_dir()/demo``.

Generating takes a few seconds, so it happens once (``write_dataset`` builds the folder under a
temporary name and renames it, so an interrupted first run is simply redone) and runs on a
worker with progress shown. The dives come back with their dive sheets so the desk can load
each one with the right dive number, height and DD, and with the synthetic panel's marks.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aqa_core.errors import DatasetError
from aqa_core.paths import user_data_dir

DEMO_DIVES = 6
DEMO_SEED = 2024
# The shipped demo model saw one venue only (its training data, configs/train/demo_musdl.yaml, is
# made with seed 2026); the demo dives are new dives filmed in that same hall.
DEMO_MODEL_DATA_SEED = 2026


@dataclass(frozen=True)
class DemoDive:
    video: Path
    dive_number: str
    height: float
    difficulty: float
    judge_scores: list[float]
    commentary: str

    @property
    def label(self) -> str:
        return f"{self.video.stem}: {self.dive_number} {self.height:g} m (DD {self.difficulty:g})"


def demo_folder() -> Path:
    return user_data_dir() / "demo"


def prepare_demo(progress: Callable[[int, int], None] | None = None, folder: Path | None = None,
                 n: int = DEMO_DIVES) -> list[DemoDive]:
    """The demo dives, generating them first if this is the first demo run."""
    from aqa_core.synthetic import write_dataset
    from aqa_core.synthetic.dataset import dataset_venue

    folder = folder if folder is not None else demo_folder()
    if not (folder / "annotations.csv").is_file():
        write_dataset(folder, n=n, seed=DEMO_SEED, progress=progress, venue=dataset_venue(DEMO_MODEL_DATA_SEED))
    return read_demo(folder)


def read_demo(folder: Path) -> list[DemoDive]:
    path = folder / "annotations.csv"
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the demo dives ({exc.strerror})") from exc
    dives = []
    for row in rows:
        judges = [float(v) for k, v in row.items() if k.startswith("judge") and v]
        dives.append(DemoDive(folder / row["video"], row["dive_number"], float(row["height"]),
                              float(row["difficulty"]), judges, row.get("commentary", "")))
    return dives
