"""Opening databases made by every earlier schema revision, and files that are not ours."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

import pytest
from storage_support import make_result

from app.storage.database import SCHEMA_HEAD, head_revision, make_engine, open_database, schema_revisions, upgrade
from app.storage.errors import StorageError
from app.storage.repository import Repository

EARLIER = schema_revisions()[:-1]


def _old_database(path, revision):
    """A database at ``revision`` holding one analysed dive, written with plain SQL as that app would."""
    engine = make_engine(path)
    upgrade(engine, revision)
    engine.dispose()
    result = make_result(77.25, [8.0, 8.5, 8.5, 9.0, 8.0, 8.5, 7.5])
    with sqlite3.connect(path) as raw:
        raw.executescript(
            """
            INSERT INTO competition (id, uuid, name) VALUES (1, 'c-1', 'Old Cup');
            INSERT INTO event (id, uuid, competition_id, name, kind, height) VALUES (1, 'e-1', 1, '10m', 'individual', 10.0);
            INSERT INTO athlete (id, uuid, name) VALUES (1, 'a-1', 'Ana');
            INSERT INTO dive (id, uuid, event_id, athlete_id, dive_number, height, difficulty, panel_size, performed_at, human_final)
                VALUES (1, 'd-1', 1, 1, '107B', 10.0, 3.0, 7, '2025-03-01 10:00:00', 75.0);
            INSERT INTO human_score (dive_id, judge_index, score) VALUES (1, 0, 8.0), (1, 1, 8.5);
            """
        )
        raw.execute(
            "INSERT INTO analysis (id, uuid, dive_id, created_at, model_name, model_version, head, decoding, window_start, window_end,"
            " final_score, uncertainty_level, uncertainty_value, result_json)"
            " VALUES (1, 'an-1', 1, '2025-03-01 10:01:00', 'demo_musdl', '1.0', 'musdl', 'argmax', 12, 115, 77.25, 'low', 1.5, ?)",
            (json.dumps(result.to_dict()),),
        )
        raw.execute("UPDATE dive SET latest_analysis_id = 1")
        if revision >= "0003":  # that app kept the listing copy of the latest analysis on the dive
            raw.execute("UPDATE dive SET predicted_final = 77.25, model_name = 'demo_musdl', model_version = '1.0', uncertainty_level = 'low'")
        if revision >= "0004":  # and the latest analysis's time
            raw.execute("UPDATE dive SET analysed_at = '2025-03-01 10:01:00.000000'")
    return result


def test_there_is_an_upgrade_path_to_exercise():
    assert EARLIER, "at least one schema revision before the newest"


def test_the_head_an_open_trusts_without_alembic_is_alembics_head():
    """open_database skips Alembic for a database at SCHEMA_HEAD: a new migration must bump it."""
    assert SCHEMA_HEAD == head_revision()


@pytest.mark.parametrize("revision", EARLIER)
def test_older_database_is_backed_up_and_migrated_with_its_data(tmp_path, revision):
    path = tmp_path / "club.sqlite"
    result = _old_database(path, revision)
    with open_database(path) as db:
        assert db.backup is not None and db.backup.exists()
        repo = Repository(db)
        (row,) = repo.list_dives()
        assert (row.competition, row.athlete, row.dive_number, row.human_final, row.predicted_final) == ("Old Cup", "Ana", "107B", 75.0, 77.25)
        assert row.analysed_at == datetime(2025, 3, 1, 10, 1)  # revision 0004 copies the latest analysis's time
        assert repo.latest_analysis(1) == result
        assert repo.human_scores(1) == [8.0, 8.5]
        repo.add_note(1, "migrated")  # the newest tables work
    with sqlite3.connect(db.backup) as backup:
        assert backup.execute("SELECT version_num FROM alembic_version").fetchone()[0] == revision
        assert backup.execute("SELECT name FROM competition").fetchall() == [("Old Cup",)]
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version_num FROM alembic_version").fetchone()[0] == head_revision()
    with open_database(path) as again:  # up to date: no second backup
        assert again.backup is None


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path):
    path = tmp_path / "club.sqlite"
    _old_database(path, EARLIER[-1])
    with sqlite3.connect(path) as raw:  # a column the next revision (0006) wants to add: its ALTER fails
        raw.execute("ALTER TABLE model_entry ADD COLUMN display_name VARCHAR(200)")
    with pytest.raises(StorageError, match=f"club.sqlite: .*updating it from schema {EARLIER[-1]} to {head_revision()}; it is unchanged, and a copy is at"):
        open_database(path)
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version_num FROM alembic_version").fetchone()[0] == EARLIER[-1]
        assert raw.execute("SELECT name, human_final FROM dive JOIN athlete ON athlete.id = dive.athlete_id").fetchall() == [("Ana", 75.0)]


def test_a_text_file_is_refused_by_name(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("not a database at all, just some text that is long enough")
    with pytest.raises(StorageError, match="notes.sqlite.*not an AQA Judge sessions database"):
        open_database(path)
    assert path.read_text().startswith("not a database")


def test_another_programs_sqlite_is_refused_untouched(tmp_path):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE songs (title TEXT)")
    with pytest.raises(StorageError, match="another program"):
        open_database(path)
    with sqlite3.connect(path) as raw:
        assert [r[0] for r in raw.execute("SELECT name FROM sqlite_master")] == ["songs"]


def test_a_database_from_a_newer_app_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    open_database(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StorageError, match="newer AQA Judge"):
        open_database(path)


def test_a_database_recording_two_schema_versions_is_refused(tmp_path):
    path = tmp_path / "two.sqlite"
    open_database(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("INSERT INTO alembic_version (version_num) VALUES ('0001')")
    with pytest.raises(StorageError, match="two.sqlite: records 2 schema versions at once"):
        open_database(path)


def test_a_folder_path_and_an_uncreatable_folder_are_refused(tmp_path):
    with pytest.raises(StorageError, match="is a folder"):
        open_database(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="cannot create its folder"):
        open_database(blocker / "sub" / "s.sqlite")
