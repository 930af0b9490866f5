"""Fault tolerance: a writer killed at random moments, a locked file, a full disk, a read-only folder."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import event
from storage_support import make_result, write_until_killed

from app.storage.database import open_database
from app.storage.errors import StorageError
from app.storage.repository import DiveRecord, Repository

# Children fork from a clean server process that has numpy and the storage layer loaded already
# (not this test's own modules: the server does not see the tests folder), so twenty kill rounds
# cost seconds, not a Python start-up each. A child reports a dive id only after its commit.
FORKSERVER = multiprocessing.get_context("forkserver")
FORKSERVER.set_forkserver_preload(["numpy", "app.storage.repository"])
ROUNDS = 10
REPORT_WAIT_S = 60  # one save takes ~0.02 s on a quiet machine; this only bounds a hung writer


def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as raw:
        return raw.execute("PRAGMA integrity_check").fetchone()[0]


def _next_report(receiver, what: str):  # noqa: ANN001, ANN202 (a multiprocessing Connection; ids are int, the first "ready")
    assert receiver.poll(REPORT_WAIT_S), f"the writer sent no {what} in {REPORT_WAIT_S} s"
    return receiver.recv()


def test_writer_killed_at_random_moments_loses_no_committed_dive(tmp_path):
    """Each round kills a writer at a random moment of its save cycle, never before it has saved.

    The moments are measured in saves, not seconds: a child first reports two commits (so every
    round has dives to lose, however loaded the machine), then dies after a random zero to three of
    its own save times, so the kill falls anywhere in a save (its commit included) at any load.
    """
    path = tmp_path / "s.sqlite"
    open_database(path).close()
    rng = random.Random(5)
    committed: list[int] = []
    for _ in range(ROUNDS):
        receiver, sender = FORKSERVER.Pipe(duplex=False)
        child = FORKSERVER.Process(target=write_until_killed, args=(str(path), sender))
        child.start()
        sender.close()
        try:
            assert _next_report(receiver, "ready") == "ready"
            committed.append(_next_report(receiver, "first committed dive"))
            first = time.monotonic()
            committed.append(_next_report(receiver, "second committed dive"))
            save_s = time.monotonic() - first
            time.sleep(rng.uniform(0.0, 3.0) * save_s)
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.join()
        while receiver.poll():
            try:
                committed.append(receiver.recv())
            except EOFError:
                break
        receiver.close()
    assert _integrity(path) == "ok"
    with open_database(path) as db, sqlite3.connect(path) as raw:
        present = {r[0] for r in raw.execute("SELECT id FROM dive")}
        assert set(committed) <= present
        # No half-saved action: every dive has its analysis and its whole panel.
        assert raw.execute("SELECT COUNT(*) FROM dive WHERE latest_analysis_id IS NULL").fetchone()[0] == 0
        assert raw.execute("SELECT COUNT(*) FROM analysis").fetchone()[0] == len(present)
        assert {r[0] for r in raw.execute("SELECT COUNT(*) FROM human_score GROUP BY dive_id")} == {7}
        assert Repository(db).latest_analysis(committed[-1]) == make_result(70.0)


def test_a_locked_database_is_reported_and_nothing_is_lost(tmp_path):
    path = tmp_path / "s.sqlite"
    with open_database(path, busy_timeout_s=0.2) as db:
        repo = Repository(db)
        first = repo.save_scored_dive(DiveRecord("Cup", "10m", "Ana"), make_result(70.0))
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StorageError, match=f"{path.name}.*locked by another program"):
            repo.save_scored_dive(DiveRecord("Cup", "10m", "Ben"), make_result(60.0))
        assert [r.dive_id for r in repo.list_dives()] == [first.dive_id]  # readers still work in WAL
        other.execute("ROLLBACK")
        other.close()
        repo.save_scored_dive(DiveRecord("Cup", "10m", "Ben"), make_result(60.0))
        assert len(repo.list_dives()) == 2


def test_a_full_disk_is_reported_and_earlier_dives_survive(tmp_path):
    path = tmp_path / "s.sqlite"
    with open_database(path) as db:
        repo = Repository(db)
        kept = [repo.save_scored_dive(DiveRecord("Cup", "10m", "Ana", round=i), make_result(70.0 + i)).dive_id for i in range(3)]
        with sqlite3.connect(path) as raw:
            pages = raw.execute("PRAGMA page_count").fetchone()[0]

        @event.listens_for(db.engine, "connect")
        def _tiny_disk(dbapi_connection, _record):
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 2}")

        db.engine.dispose()  # new connections get the size limit
        with pytest.raises(StorageError, match=f"{path.name}.*full.*earlier ones are intact"):
            for i in range(50):
                repo.save_scored_dive(DiveRecord("Cup", "10m", "Ben", round=i), make_result(50.0))
    assert _integrity(path) == "ok"
    with open_database(path) as db:
        repo = Repository(db)
        assert {r.dive_id for r in repo.list_dives()} >= set(kept)
        assert [repo.latest_analysis(d).final.score for d in kept] == [70.0, 71.0, 72.0]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_reported(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(StorageError, match="read-only"):
            open_database(folder / "s.sqlite")
    finally:
        folder.chmod(0o755)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc, a folder nobody may create files in")
def test_a_folder_nobody_can_write_is_reported(tmp_path):
    with pytest.raises(StorageError, match="aqa-sessions.sqlite: cannot be written: the file or its folder is read-only"):
        open_database(Path("/proc/self/aqa-sessions.sqlite"))
