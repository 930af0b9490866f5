"""ScoreResults and filled databases for the storage and sessions tests (no model involved)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import event

from aqa_core.result import ClipEstimate, DiveInfo, Estimate, JudgeEstimate, ScoreResult, Uncertainty
from app.storage.repository import DiveRecord, Repository

BINS = [i * 0.5 for i in range(21)]


def _distribution(center: float) -> list[float]:
    weights = np.exp(-0.5 * ((np.asarray(BINS) - center) / 0.7) ** 2)
    return (weights / weights.sum()).tolist()


def make_result(final: float, judge_scores: list[float] | None = None, model: str = "demo_musdl", version: str = "1.0",
                dive_number: str = "107B", difficulty: float = 3.0) -> ScoreResult:
    """A MUSDL-shaped result whose judges say ``judge_scores`` and whose final is ``final``."""
    judge_scores = judge_scores or [8.0] * 7
    estimate = Estimate(score=final, expectation=final, std=1.0, entropy=1.2, low=final - 2, high=final + 2)
    judges = [
        JudgeEstimate(index=i, estimate=Estimate(s, s, 0.5, 1.0, s - 1, s + 1), distribution=_distribution(s), dropped=i in (0, 6))
        for i, s in enumerate(judge_scores)
    ]
    clips = [ClipEstimate(index=c, start_frame=c * 10, end_frame=c * 10 + 15, distributions=[_distribution(8.0)], score=final)
             for c in range(10)]
    return ScoreResult(
        video="dive.mp4", model_name=model, model_version=version, head="musdl",
        dive=DiveInfo("individual", len(judge_scores), dive_number, 10.0, difficulty, "Forward 3½ somersaults, pike"),
        dive_window=(12, 115), bins=BINS, clips=clips, aggregate=[_distribution(s) for s in judge_scores], judges=judges,
        final=estimate, uncertainty=Uncertainty("low", 1.5, ["clear entry"]), decoding="argmax",
        timings={"decode": 0.4, "backbone": 1.1},
    )


def fill(repo: Repository, n: int, start: datetime = datetime(2026, 5, 1, 10, 0)) -> list[int]:
    """``n`` dives across two competitions and three athletes, every other one with a real panel."""
    rng = np.random.default_rng(0)
    ids = []
    for i in range(n):
        quality = float(rng.uniform(4, 9.5))
        judges = [round(2 * (quality + rng.normal(0, 0.4))) / 2 for _ in range(7)]
        record = DiveRecord(competition=("Spring Cup", "Summer Open")[i % 2], event="Men 10m platform",
                            athlete=("Ana", "Ben", "Chloe")[i % 3], round=1 + i % 6, performed_at=start + timedelta(days=i))
        humans = [min(10.0, max(0.0, s + 0.5 * (j == 3))) for j, s in enumerate(judges)] if i % 2 == 0 else None
        saved = repo.save_scored_dive(record, make_result(round(quality * 9, 2), judges, dive_number=("107B", "407C")[i % 2]),
                                      humans, human_final=round(sum(sorted(humans)[2:5]) * 3.0, 2) if humans else None)
        ids.append(saved.dive_id)
    return ids


def watch_gui_thread(engine) -> list[str]:
    """From now on, collect every SQL statement run on the GUI thread (there must be none)."""
    offenders: list[str] = []
    main = threading.main_thread()

    def _watch(conn, cursor, statement, *args):
        if threading.current_thread() is main:
            offenders.append(statement)

    event.listen(engine, "before_cursor_execute", _watch)
    return offenders


def write_until_killed(path: str, report) -> None:  # noqa: ANN001 (a multiprocessing Connection)
    """The fault test's child: one whole scored dive per transaction, each id reported after commit."""
    from app.storage.database import open_database

    repo = Repository(open_database(path))
    result = make_result(70.0)
    report.send("ready")
    for i in range(1_000_000):
        saved = repo.save_scored_dive(DiveRecord("Cup", "10m", f"Diver {i % 5}", round=i), result, [8.0] * 7, human_final=72.0)
        report.send(saved.dive_id)
