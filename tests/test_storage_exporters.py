"""Session export/import round trips without duplicates, and the training dataset export."""

from __future__ import annotations

import csv
import json

import pytest
from storage_support import fill, make_result

from app.storage.database import open_database
from app.storage.errors import StorageError
from app.storage.exporters import export_dataset, export_session, import_session, session_document
from app.storage.repository import DiveRecord, Repository
from cli.main import main as cli
from trainer.datasets.own_csv import read_own_csv


@pytest.fixture
def repo(tmp_path):
    with open_database(tmp_path / "a.sqlite") as db:
        yield Repository(db)


def _comparable(document):
    """The document without database ids' side effects: entries sorted by uuid."""
    return sorted(document["dives"], key=lambda d: d["uuid"])


def test_json_round_trip_into_another_database_and_again_adds_nothing(repo, tmp_path):
    fill(repo, 6)
    dive_id = repo.list_dives()[0].dive_id
    repo.save_analysis(dive_id, make_result(88.0, version="2.0"))
    repo.add_note(dive_id, "splash")
    repo.add_tag(dive_id, "review")
    out = tmp_path / "session.json"
    assert export_session(repo.db, out, "json") == 6
    with open_database(tmp_path / "b.sqlite") as other:
        first = import_session(other, out)
        assert (first.dives_added, first.dives_already_present, first.analyses_added) == (6, 0, 7)
        again = import_session(other, out)
        assert (again.dives_added, again.dives_already_present, again.analyses_added) == (0, 6, 0)
        assert _comparable(session_document(other)) == _comparable(session_document(repo.db))
        copied = next(r.dive_id for r in Repository(other).list_dives() if r.predicted_final == 88.0)
        assert Repository(other).latest_analysis(copied) == make_result(88.0, version="2.0")


def test_csv_round_trip_keeps_latest_analysis_and_panel(repo, tmp_path):
    fill(repo, 4)
    out = tmp_path / "session.csv"
    assert export_session(repo.db, out, "csv") == 4
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    windows = {d["uuid"]: d["window"] for d in session_document(repo.db)["dives"]}
    assert all(w[0] is not None for w in windows.values())
    for row in rows:  # people read a spreadsheet: frames counted from 1, as the app shows them
        first, last = windows[row["dive_uuid"]]
        assert (int(row["first_frame"]), int(row["last_frame"])) == (first + 1, last + 1)
    with open_database(tmp_path / "b.sqlite") as other:
        assert import_session(other, out).dives_added == 4
        assert import_session(other, out).dives_added == 0
        assert {d["uuid"]: d["window"] for d in session_document(other)["dives"]} == windows
        mine = {(r.athlete, r.performed_at, r.predicted_final, r.human_final) for r in repo.list_dives()}
        theirs = {(r.athlete, r.performed_at, r.predicted_final, r.human_final) for r in Repository(other).list_dives()}
        assert mine == theirs


def test_bad_session_files_are_refused_by_name(repo, tmp_path):
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    with pytest.raises(StorageError, match="junk.json.*not valid JSON"):
        import_session(repo.db, junk)
    junk.write_text(json.dumps({"format": "something-else", "dives": []}))
    with pytest.raises(StorageError, match="not an AQA Judge session export"):
        import_session(repo.db, junk)
    junk.write_text(json.dumps({"format": "aqa-judge-session", "format_version": 1, "dives": [{"uuid": "x"}]}))
    with pytest.raises(StorageError, match=r"junk.json: dive 1 \('x'\): competition is missing or not an object; nothing was imported"):
        import_session(repo.db, junk)
    assert repo.list_dives() == []


def test_dataset_export_is_read_by_the_trainer(repo, tmp_path, tiny_video):
    # The trainer checks what it reads: the window (12-115) must fit the video, and the panel's
    # final must be what the rule gives (7.5 x 3 kept, x DD 3.0 = 67.5).
    videos = [tiny_video(count=116 + i, name=f"dive{i}.mp4") for i in range(3)]
    for i, video in enumerate(videos):
        saved = repo.save_scored_dive(DiveRecord("Cup", "10m", "Ana", video_path=video), make_result(60.0 + i))
        if i < 2:
            repo.set_human_scores(saved.dive_id, [7.0, 7.5, 7.5, 8.0, 7.0, 7.5, 8.0], final=67.5)
            repo.add_note(saved.dive_id, f"note {i}")
    repo.save_scored_dive(DiveRecord("Cup", "10m", "Ben"), make_result(50.0), [6.0] * 7, human_final=54.0)  # no video
    out = tmp_path / "dataset"
    assert export_dataset(repo.db, out) == 2
    dataset = read_own_csv(out)
    assert [r.final_score for r in dataset.records] == [67.5, 67.5] and not dataset.problems
    assert all(r.judge_scores == (7.0, 7.5, 7.5, 8.0, 7.0, 7.5, 8.0) and r.window == (12, 115) for r in dataset.records)
    assert {r.commentary for r in dataset.records} == {"note 0", "note 1"}
    assert {r.video.read_bytes() for r in dataset.records} == {videos[0].read_bytes(), videos[1].read_bytes()}


def test_cli_export_import_and_dataset(repo, tmp_path, capsys):
    fill(repo, 3)
    out = tmp_path / "s.csv"
    assert cli(["sessions", "export", "--db", str(repo.db.path), str(out)]) == 0
    assert cli(["sessions", "import", "--db", str(tmp_path / "new.sqlite"), str(out)]) == 0
    assert "imported 3 new dives" in capsys.readouterr().out
    assert cli(["sessions", "export-dataset", "--db", str(tmp_path / "new.sqlite"), str(tmp_path / "ds")]) == 2
    assert "no dive has both" in capsys.readouterr().err
    (tmp_path / "bad.sqlite").write_text("hello, not a database")
    assert cli(["sessions", "export", "--db", str(tmp_path / "bad.sqlite"), str(out)]) == 2
    assert "bad.sqlite: is not an AQA Judge sessions database" in capsys.readouterr().err
