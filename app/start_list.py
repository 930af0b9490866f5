"""A competition's start list read from CSV, so the dive sheet fills itself as each video opens.

A recorder drops the videos in diving order; the start list says who dives what in that order.
Columns (header row, any order, case-insensitive): ``diver``, ``dive_number``, ``height`` and
``round``; ``dd`` and ``event`` are optional (an empty DD is looked up from the table). Every
row is checked with the same diving rules as the desk before the list is used, and the first
bad row is refused with the file, the line and the reason: a typo is reported, never repaired.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from aqa_core.errors import AQAError, DatasetError

REQUIRED = ("diver", "dive_number", "height", "round")
OPTIONAL = ("dd", "event")
MAX_BYTES = 1 << 20  # a start list is a few hundred rows; anything bigger is not one
MAX_ROWS = 2000


@dataclass(frozen=True)
class StartEntry:
    diver: str
    dive_number: str
    height: float
    round: int
    difficulty: float | None = None
    event: str = "individual"

    @property
    def label(self) -> str:
        dd = f", DD {self.difficulty:.1f}" if self.difficulty is not None else ""
        return f"R{self.round} {self.diver}: {self.dive_number} {self.height:g} m{dd}"


def read_start_list(path: str | Path) -> list[StartEntry]:
    """The entries of ``path`` in order; DatasetError naming the file and line for a bad one."""
    from aqa_core.rules import PANEL_SIZES, make_dive_info, normalise_event

    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise DatasetError(f"{path}: is {path.stat().st_size} bytes; a start list is at most {MAX_BYTES} bytes")
        text = path.read_text(encoding="utf-8-sig")  # Excel writes a byte-order mark
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the start list ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: is not UTF-8 text (save the start list as CSV UTF-8)") from exc
    reader = csv.DictReader(text.splitlines())
    header = {name.strip().lower(): name for name in reader.fieldnames or []}
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise DatasetError(f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                           f"(a start list needs {', '.join(REQUIRED)})")
    entries = []
    for line, row in enumerate(reader, start=2):
        if len(entries) >= MAX_ROWS:
            raise DatasetError(f"{path}: more than {MAX_ROWS} dives; a start list is one competition")
        values = {column: (row.get(header[column]) or "").strip() for column in REQUIRED + OPTIONAL if column in header}
        if not any(values.values()):
            continue  # blank line
        try:
            height = float(values["height"])
            round_number = int(values["round"])
            dd = float(values["dd"].replace(",", ".")) if values.get("dd") else None
        except ValueError:
            raise DatasetError(f"{path}:{line}: height '{values['height']}', round '{values['round']}' "
                               f"or DD '{values.get('dd', '')}' is not a number") from None
        try:
            event = normalise_event(values.get("event") or "individual")
        except AQAError as exc:
            raise DatasetError(f"{path}:{line}: {exc}") from None
        if not values["diver"]:
            raise DatasetError(f"{path}:{line}: the diver's name is empty")
        if round_number < 1:
            raise DatasetError(f"{path}:{line}: round {round_number} is not a round (rounds count from 1)")
        try:
            info = make_dive_info(event, PANEL_SIZES[event][-1], values["dive_number"], height, dd)
        except AQAError as exc:
            raise DatasetError(f"{path}:{line}: {exc}") from None
        entries.append(StartEntry(values["diver"], info.dive_number or "", float(info.height or height), round_number, dd, info.event))
    if not entries:
        raise DatasetError(f"{path}: has no dives under its header")
    return entries
