"""An analysis stored by the app before methods existed opens from the database, as the desk redraws it.

``data/demo_v1_score.json`` is the golden result written by the code at 8ab7272 (result schema 2,
before methods, fingerprints and the optional fields; see test_bundle_versions.py). Here it sits in
a database of the first schema revision, written with plain SQL as that app would, and is read back
through today's migration and repository.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from app.storage.database import make_engine, open_database, schema_revisions, upgrade
from app.storage.repository import Repository
from aqa_core.result import ScoreResult

GOLDEN = Path(__file__).resolve().parent / "data" / "demo_v1_score.json"


def test_an_analysis_stored_before_methods_opens_from_a_first_revision_database(tmp_path: Path) -> None:
    path = tmp_path / "club.sqlite"
    engine = make_engine(path)
    upgrade(engine, schema_revisions()[0])
    engine.dispose()
    stored = GOLDEN.read_text(encoding="utf-8")
    with sqlite3.connect(path) as raw:
        raw.executescript(
            """
            INSERT INTO competition (id, uuid, name) VALUES (1, 'c-1', 'Old Cup');
            INSERT INTO event (id, uuid, competition_id, name, kind, height) VALUES (1, 'e-1', 1, '10m', 'individual', 10.0);
            INSERT INTO athlete (id, uuid, name) VALUES (1, 'a-1', 'Ana');
            INSERT INTO dive (id, uuid, event_id, athlete_id, dive_number, height, difficulty, panel_size, performed_at)
                VALUES (1, 'd-1', 1, 1, '105B', 10.0, 2.4, 7, '2025-03-01 10:00:00');
            """
        )
        raw.execute(
            "INSERT INTO analysis (id, uuid, dive_id, created_at, model_name, model_version, head, decoding, window_start, window_end,"
            " final_score, uncertainty_level, uncertainty_value, result_json)"
            " VALUES (1, 'an-1', 1, '2025-03-01 10:01:00', 'demo_musdl', '1', 'musdl', 'argmax', 0, 100, 50.0, 'low', 1.5, ?)",
            (stored,),
        )
        raw.execute("UPDATE dive SET latest_analysis_id = 1")
    with open_database(path) as db:
        result = Repository(db).latest_analysis(1)
    golden = json.loads(stored)
    assert golden["schema_version"] == 2 and result == ScoreResult.from_dict(golden)
    assert result.final.score == golden["final"]["score"] and [j.estimate.score for j in result.judges] == [j["estimate"]["score"] for j in golden["judges"]]
    assert (result.head, result.model_fingerprint, result.judge_samples, result.recognised_dive, result.commentary) == ("musdl", None, None, None, None)


def _newer(document: dict) -> dict:
    from aqa_core.result import SCHEMA_VERSION

    return {**document, "schema_version": SCHEMA_VERSION + 1, "a_field_of_tomorrow": [1, 2]}


def test_a_result_of_a_newer_schema_is_refused_in_one_line_naming_both_schemas() -> None:
    import pytest

    from aqa_core.errors import ResultSchemaError
    from aqa_core.result import SCHEMA_VERSION

    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert ScoreResult.from_dict({**golden, "schema_version": SCHEMA_VERSION}) is not None  # the newest it knows still reads
    with pytest.raises(ResultSchemaError) as refused:
        ScoreResult.from_dict(_newer(golden))
    message = str(refused.value)
    assert f"schema {SCHEMA_VERSION + 1}" in message and f"reads schema {SCHEMA_VERSION} and older" in message and "\n" not in message


def test_the_analysis_cache_scores_again_over_a_newer_schemas_file(tmp_path: Path) -> None:
    from app.analysis_cache import AnalysisCache

    result = ScoreResult.from_dict(json.loads(GOLDEN.read_text(encoding="utf-8")))
    AnalysisCache(tmp_path).put("k", result)
    assert AnalysisCache(tmp_path).get("k") == result  # a fresh cache reads the file
    stored = tmp_path / "k.json"
    stored.write_text(json.dumps(_newer(json.loads(stored.read_text(encoding="utf-8")))), encoding="utf-8")
    assert AnalysisCache(tmp_path).get("k") is None  # a miss: the desk scores the dive again


def test_a_session_export_from_a_newer_version_is_refused_naming_the_analysis_and_its_schema(tmp_path: Path) -> None:
    import pytest
    from storage_support import fill

    from app.storage.errors import StorageError
    from app.storage.exporters import export_session, import_session

    with open_database(tmp_path / "a.sqlite") as db:
        fill(Repository(db), 1)
        export_session(db, tmp_path / "session.json", "json")
    document = json.loads((tmp_path / "session.json").read_text(encoding="utf-8"))
    analysis = document["dives"][0]["analyses"][0]
    analysis["result"] = _newer(analysis["result"])
    (tmp_path / "newer.json").write_text(json.dumps(document), encoding="utf-8")
    with open_database(tmp_path / "b.sqlite") as other:
        with pytest.raises(StorageError, match=rf"newer.json: .*analysis .{analysis['uuid']}. is a score result stored in schema \d+ by a newer version of the program; this one reads schema \d+ and older"):
            import_session(other, tmp_path / "newer.json")
        assert Repository(other).list_dives() == []
