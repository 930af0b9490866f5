"""Storage benchmark: with 10,000 stored dives, is the sessions browser instant and saving quick?

Targets (issue 5): the query that fills the browser and a filtered query under 100 ms each,
saving one analysis under 20 ms. Run: ``python benchmarks/bench_storage.py [--dives 10000]``.
The database is filled in one transaction through the repository's own row builder, so the
rows (full ScoreResult JSON included) are exactly what the app stores.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from storage_support import make_result  # noqa: E402  (the tests' ScoreResult factory)

from app.storage.database import open_database  # noqa: E402
from app.storage.models import Athlete, Competition, Dive, Event, HumanScore  # noqa: E402
from app.storage.repository import DiveFilter, Repository, add_analysis_row  # noqa: E402

TARGETS_MS = {"open browser (all dives)": 100, "save analysis": 20}
FILTER_TARGET_MS = 100


def fill(repo: Repository, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    results = [make_result(round(float(q), 2), dive_number=d) for q, d in zip(rng.uniform(30, 95, 50), ["107B", "407C", "5253B", "109C", "207B"] * 10)]
    with repo.db.transaction() as session:
        competitions = [Competition(name=f"Competition {i}") for i in range(20)]
        athletes = [Athlete(name=f"Athlete {i:03d}", country="NOR") for i in range(200)]
        session.add_all(competitions + athletes)
        session.flush()
        events = [Event(competition_id=c.id, name="10m platform", kind="individual", height=10.0) for c in competitions]
        session.add_all(events)
        session.flush()
        start = datetime(2024, 1, 1, 9, 0)
        for i in range(n):
            result = results[i % len(results)]
            dive = Dive(
                event_id=events[i % len(events)].id, athlete_id=athletes[int(rng.integers(len(athletes)))].id, round=1 + i % 6,
                dive_number=result.dive.dive_number, height=10.0, difficulty=3.0, panel_size=7,
                performed_at=start + timedelta(minutes=97 * i), window_start=12, window_end=115,
                human_final=round(result.final.score + float(rng.normal(0, 3)), 2) if i % 2 else None,
                human_scores=[HumanScore(judge_index=j, score=8.0) for j in range(7)] if i % 2 else [],
            )  # fmt: skip
            session.add(dive)
            session.flush()
            add_analysis_row(session, dive, result)


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    """Median and worst wall time in ms over ``repeats`` runs (after one warm-up)."""
    value = fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), max(samples), value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dives", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--db", type=Path, default=None, help="keep the filled database here and reuse it next time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.db or Path(folder) / "bench.sqlite"
        if not path.exists():
            start = time.perf_counter()
            with open_database(path) as db:
                fill(Repository(db), args.dives)
            print(f"filled {args.dives} dives in {time.perf_counter() - start:.1f} s")
        print(f"database {path} ({path.stat().st_size / 1e6:.1f} MB)")

        open_ms, _, db = timed(lambda: open_database(path), 1)
        repo = Repository(db)
        athlete = repo.filter_choices().athletes[7].id
        competition = repo.filter_choices().competitions[3].id
        some_dive = repo.list_dives(limit=1)[0].dive_id
        result = make_result(71.5)
        rows: list[tuple[str, float, float, int, int | None]] = [("open database", open_ms, open_ms, 1, None)]
        cases: list[tuple[str, Callable[[], object], int | None]] = [
            ("open browser (all dives)", repo.list_dives, 100),
            ("filter choices (combos)", repo.filter_choices, FILTER_TARGET_MS),
            ("filter: athlete", lambda: repo.list_dives(DiveFilter(athlete_id=athlete)), FILTER_TARGET_MS),
            ("filter: competition", lambda: repo.list_dives(DiveFilter(competition_id=competition)), FILTER_TARGET_MS),
            ("filter: dive number", lambda: repo.list_dives(DiveFilter(dive_number="407C")), FILTER_TARGET_MS),
            ("filter: score 60-80", lambda: repo.list_dives(DiveFilter(score_min=60, score_max=80)), FILTER_TARGET_MS),
            ("filter: one month", lambda: repo.list_dives(DiveFilter(date_from=date(2024, 6, 1), date_to=date(2024, 6, 30))), FILTER_TARGET_MS),
            ("filter: model + score + dive", lambda: repo.list_dives(DiveFilter(model_name="demo_musdl", score_min=50, dive_number="107B")), FILTER_TARGET_MS),
            ("latest analysis (desk open)", lambda: repo.latest_analysis(some_dive), None),
            ("statistics pairs (athlete)", lambda: repo.score_pairs(athlete_id=athlete), None),
            ("save analysis", lambda: repo.save_analysis(some_dive, result), 20),
        ]
        for name, fn, target in cases:
            median, worst, value = timed(fn, args.repeats)
            count = len(value) if isinstance(value, list) else 1
            rows.append((name, median, worst, count, target))
        db.close()

    print(f"\n{'operation':32} {'median ms':>10} {'worst ms':>10} {'rows':>7} {'target':>8}  ok")
    failed = 0
    for name, median, worst, count, target in rows:
        ok = "" if target is None else ("yes" if median < target else "NO")
        failed += ok == "NO"
        print(f"{name:32} {median:10.1f} {worst:10.1f} {count:7d} {'' if target is None else f'<{target}':>8}  {ok}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
