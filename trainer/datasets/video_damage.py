"""Every dive's video or frame images checked for decoding damage before it is trained or evaluated on.

Why: FFmpeg conceals what it cannot decode and OpenCV hands the concealed frames over as whole
(``aqa_core.video_check``): a club video with a few bad blocks would train the model on smeared
pixels labelled with the real marks, and nothing would say so. So each dive's window is decoded
once more in a child process that reads FFmpeg's error log, as the desk and ``score`` do. A damaged
dive becomes a pixels problem (``PIXELS``): refused unless training is partial, then left out and
listed in the data card, exactly like a missing frame.

The answers are kept per video content, window and check version in the user's data folder
(``video_checks``), so training, ``evaluate`` and ``dataset check --videos`` ask each video once,
whatever their feature caches are. A check that could not run is not kept (asked again next time);
its dive is trained on with a warning that names it, since refusing every dive of a machine where
the check cannot start would leave a club unable to train at all.

Dives stored as frame images (MTL-AQA's and FineDiving's releases) are checked the same way, image
by image: libjpeg conceals a cut or corrupt JPEG as OpenCV reads it (half a downloaded frame reads as
a whole one with a grey lower half) and says so only on stderr (``damaged_images``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from aqa_core.files import atomic_write_text
from aqa_core.paths import user_data_dir
from aqa_core.result import Damage
from aqa_core.video_check import CHECK_VERSION, DamageCheck

from .base import PIXELS, DiveDataset, DiveRecord, Problem
from .pixels import content_hash, is_frame_images, pixel_files

if TYPE_CHECKING:
    from trainer.progress import ProgressStream

EVENT = "video_check"  # the progress event (done, total, eta_s) the Trainer tab and CLI show


def answers_dir() -> Path:
    return user_data_dir() / "video_checks"


def checked_by_decoding(record: DiveRecord) -> bool:
    """A dive read from a video file or from frame images (not stored features)."""
    return record.features is None and record.video is not None and (record.video.is_file() or is_frame_images(record))


def answer_key(record: DiveRecord) -> str:
    """What an answer is about: the video's bytes (or the frame images' names and bytes), the window, the check's version."""
    spec = {"video_sha256": content_hash(record), "window": record.window, "check": CHECK_VERSION}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:40]


def _check(record: DiveRecord) -> DamageCheck:
    """The child that decodes the dive once more: its frame images, or its video's window."""
    return DamageCheck(pixel_files(record)) if is_frame_images(record) else DamageCheck(record.video, record.window)  # type: ignore[arg-type]


def _stored(path: Path) -> tuple[bool, Damage | None]:
    """(known, damage) from a kept answer; an unreadable one is not known (asked again)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return True, (Damage.from_dict(data["damage"]) if data["damage"] is not None else None)
    except (OSError, ValueError, KeyError, TypeError):
        return False, None


def _store(path: Path, damage: Damage | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"damage": dataclasses.asdict(damage) if damage is not None else None}))


def _checked(records: Sequence[DiveRecord], jobs: int) -> Iterator[tuple[DiveRecord, Damage | None]]:
    """Each record's answer, ``jobs`` children at a time, in order; children still running are killed on the way out."""
    pending = iter(records)
    running: list[tuple[DiveRecord, DamageCheck]] = []
    try:
        while True:
            while len(running) < jobs and (record := next(pending, None)) is not None:
                running.append((record, _check(record)))
            if not running:
                return
            record, check = running.pop(0)
            yield record, check.result()
    finally:
        for _, check in running:
            check.stop()


def check_videos(dataset: DiveDataset, progress: ProgressStream | None = None, jobs: int | None = None) -> DiveDataset:
    """``dataset`` with each damaged video's dive moved from ``records`` to ``problems`` (kind ``PIXELS``).

    ``jobs``: checks run at once (each is one decoding thread); default one per CPU, at most 4.
    """
    targets = [r for r in dataset.records if checked_by_decoding(r)]
    if not targets:
        return dataset
    store = answers_dir()
    paths = {r.key: store / f"{answer_key(r)}.json" for r in targets}
    answers: dict[str, Damage | None] = {}
    for record in targets:
        known, damage = _stored(paths[record.key])
        if known:
            answers[record.key] = damage
    todo = [r for r in targets if r.key not in answers]
    if todo:
        jobs = jobs or max(1, min(4, os.cpu_count() or 1))
        done_before = len(targets) - len(todo)
        if progress:
            progress.emit(EVENT, done=done_before, total=len(targets), eta_s=None)
            progress.bar(len(targets), "video check", initial=done_before)
        started = time.monotonic()
        for n, (record, damage) in enumerate(_checked(todo, jobs), start=1):
            answers[record.key] = damage
            if damage is None or not damage.problem:
                _store(paths[record.key], damage)
            if progress:
                progress.advance()
                if n % 20 == 0 or n == len(todo):
                    eta = (time.monotonic() - started) / n * (len(todo) - n)
                    progress.emit(EVENT, done=done_before + n, total=len(targets), eta_s=round(eta, 1))
        if progress:
            progress.close_bar()
    return _with_answers(dataset, answers, len(targets), progress)


def _with_answers(dataset: DiveDataset, answers: dict[str, Damage | None], checked: int, progress: ProgressStream | None) -> DiveDataset:
    damaged = {key: d for key, d in answers.items() if d is not None and d.frames}
    unchecked = {key: d.problem for key, d in answers.items() if d is not None and d.problem}
    problems = [Problem(r.key, _damage_problem(r, damaged[r.key]), PIXELS, r.split) for r in dataset.records if r.key in damaged]
    images = sum(1 for r in dataset.records if r.key in answers and is_frame_images(r))
    what = " and ".join(part for part in (_count(checked - images, "video"), _count(images, "dive's frame images", "dives' frame images")) if part)
    summary = f"{what} checked for decoding damage: {len(damaged)} damaged"
    if unchecked:
        first = next(iter(unchecked.items()))
        more = f" and {len(unchecked) - 1} more" if len(unchecked) > 1 else ""
        warning = f"{len(unchecked)} dive(s) could not be checked for damage and are used unchecked: {first[0]} ({first[1]}){more}"
        summary += f"; {warning}"
        if progress:
            progress.emit("warning", message=warning)
    return dataclasses.replace(
        dataset,
        records=[r for r in dataset.records if r.key not in damaged],
        problems=[*dataset.problems, *problems],
        notes={**dataset.notes, "video_check": summary},
    )


def _damage_problem(record: DiveRecord, damage: Damage) -> str:
    """The problem as the data card lists it: the video's damaged frames, or the damaged image files by name."""
    if not is_frame_images(record):
        sample = f" ({damage.sample})" if damage.sample else ""
        return f"damaged video {record.video.name}: FFmpeg could not decode {damage.where} cleanly{sample}"  # type: ignore[union-attr]
    files = pixel_files(record)
    names = ", ".join(files[i].name for i in damage.frames[:5] if i < len(files)) + (", ..." if len(damage.frames) > 5 else "")
    detail = damage.sample if len(damage.frames) == 1 else f"{names}; first {damage.sample}"
    return f"damaged frame images: {len(damage.frames)} of {len(files)} unusable ({detail})"


def _count(n: int, one: str, many: str | None = None) -> str:
    return "" if n == 0 else f"{n} {one if n == 1 else many or one + 's'}"
