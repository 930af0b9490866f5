"""The repository on a real temporary SQLite database: save, re-score, filter, notes, relocation."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date, datetime

import pytest
from sqlalchemy import select
from storage_support import fill, make_result

from aqa_core.errors import AQAError
from aqa_core.video import probe
from app.storage.database import default_database_path, open_database
from app.storage.errors import StorageError
from app.storage.models import Dive, Video
from app.storage.repository import DiveFilter, DiveRecord, Repository


@pytest.fixture
def repo(tmp_path):
    db = open_database(tmp_path / "s.sqlite")
    yield Repository(db)
    db.close()


def test_default_path_is_in_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("AQA_JUDGE_HOME", str(tmp_path))
    assert default_database_path().parent == tmp_path
    with open_database() as db:
        assert db.path == tmp_path / "sessions.sqlite"
        with sqlite3.connect(db.path) as raw:
            assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_stored_analysis_round_trips_to_an_equal_score_result(repo):
    result = make_result(81.5, [8.5, 8.0, 9.0, 8.5, 8.0, 9.0, 7.5])
    saved = repo.save_scored_dive(DiveRecord("Cup", "10m", "Ana"), result)
    assert repo.latest_analysis(saved.dive_id) == result


def test_rescoring_adds_an_analysis_and_old_ones_are_immutable(repo):
    saved = repo.save_scored_dive(DiveRecord("Cup", "10m", "Ana"), make_result(70.0))
    second = repo.save_analysis(saved.dive_id, make_result(75.0, version="2.0"))
    assert second != saved.analysis_id
    assert repo.analysis_count(saved.dive_id) == 2
    assert repo.latest_analysis(saved.dive_id).final.score == 75.0
    with repo.db.transaction() as session, pytest.raises(Exception):
        session.connection().exec_driver_sql(f"UPDATE analysis SET final_score = 1 WHERE id = {saved.analysis_id}")
    with repo.db.reading() as session:
        assert session.connection().exec_driver_sql("SELECT final_score FROM analysis ORDER BY id").scalars().all() == [70.0, 75.0]


def test_foreign_keys_are_enforced(repo):
    with pytest.raises(StorageError):
        with repo.db.transaction() as session:
            session.connection().exec_driver_sql("INSERT INTO human_score (dive_id, judge_index, score) VALUES (999, 0, 8)")


def test_same_names_reuse_rows_and_human_scores_replace(repo):
    first = repo.save_scored_dive(DiveRecord("Cup", "10m", "Ana"), make_result(70.0), [8.0] * 7, human_final=72.0)
    second = repo.save_scored_dive(DiveRecord("Cup", "10m", "Ana"), make_result(60.0))
    choices = repo.filter_choices()
    assert [c.name for c in choices.competitions] == ["Cup"] and [c.name for c in choices.athletes] == ["Ana"]
    assert repo.set_human_scores(second.dive_id, [7.0, 7.5, 7.0, 7.0, 6.5, 7.0, 7.0], final=63.0) == 63.0
    repo.set_human_scores(first.dive_id, [9.0] * 7, final=81.0)
    assert repo.human_scores(first.dive_id) == [9.0] * 7
    assert {r.dive_id: r.human_final for r in repo.list_dives()} == {first.dive_id: 81.0, second.dive_id: 63.0}


def test_filters_select_exactly_the_matching_dives(repo):
    fill(repo, 24)
    rows = repo.list_dives()
    assert len(rows) == 24
    assert [r.performed_at for r in rows] == sorted((r.performed_at for r in rows), reverse=True)
    choices = repo.filter_choices()
    ana = next(c.id for c in choices.athletes if c.name == "Ana")
    cup = next(c.id for c in choices.competitions if c.name == "Spring Cup")
    cases = {
        DiveFilter(athlete_id=ana): lambda r: r.athlete == "Ana",
        DiveFilter(competition_id=cup): lambda r: r.competition == "Spring Cup",
        DiveFilter(dive_number="407c"): lambda r: r.dive_number == "407C",
        DiveFilter(date_from=date(2026, 5, 5), date_to=date(2026, 5, 10)): lambda r: date(2026, 5, 5) <= r.performed_at.date() <= date(2026, 5, 10),
        DiveFilter(score_min=60, score_max=75): lambda r: 60 <= r.predicted_final <= 75,
        DiveFilter(model_name="other"): lambda r: False,
    }
    for filters, keep in cases.items():
        got = {r.dive_id for r in repo.list_dives(filters)}
        assert got == {r.dive_id for r in rows if keep(r)}, filters


def test_notes_tags_and_model_registry(repo):
    saved = repo.save_scored_dive(DiveRecord("Cup", "10m", "Ana"), make_result(70.0))
    repo.add_note(saved.dive_id, "late kick-out")
    repo.add_tag(saved.dive_id, "entry")
    repo.add_tag(saved.dive_id, "entry")
    assert repo.notes(saved.dive_id) == ["late kick-out"] and repo.tags(saved.dive_id) == ["entry"]
    assert repo.register_model("demo_musdl", "1.0", data_card={"n": 3}) == repo.register_model("demo_musdl", "1.0")
    with pytest.raises(StorageError, match="dive 999"):
        repo.add_note(999, "x")


def test_moved_video_is_found_by_content_hash(repo, tmp_path):
    clip = tmp_path / "takes" / "dive.mp4"
    clip.parent.mkdir()
    clip.write_bytes(b"\x00fake video bytes" * 100)
    decoy = tmp_path / "elsewhere" / "other.mp4"
    decoy.parent.mkdir()
    decoy.write_bytes(b"\x01fake video bytes" * 100)  # same size, other content
    saved = repo.save_scored_dive(DiveRecord("Cup", "10m", "Ana", video_path=clip), make_result(70.0))
    assert repo.locate_video(saved.dive_id) == clip.absolute()
    moved = tmp_path / "elsewhere" / "renamed.mp4"
    shutil.move(clip, moved)
    assert repo.locate_video(saved.dive_id, [tmp_path / "elsewhere"]) == moved
    assert repo.locate_video(saved.dive_id) == moved  # the new place was saved
    moved.unlink()
    with pytest.raises(StorageError, match="missing"):
        repo.locate_video(saved.dive_id, [tmp_path])


def test_every_saved_field_is_listed(repo):
    when = datetime(2026, 6, 1, 12, 30)
    saved = repo.save_scored_dive(DiveRecord("Cup", "Women 3m", "Chloe", "FRA", 3, when), make_result(66.5, model="m", version="7"))
    (row,) = repo.list_dives()
    assert (row.dive_id, row.competition, row.event, row.athlete, row.round, row.performed_at) == (saved.dive_id, "Cup", "Women 3m", "Chloe", 3, when)
    assert (row.dive_number, row.height, row.difficulty, row.predicted_final, row.model, row.uncertainty) == ("107B", 10.0, 3.0, 66.5, "m v7", "low")


def test_panel_final_follows_the_diving_rules_unless_given(repo):
    saved = repo.save_scored_dive(DiveRecord("Cup", "10m", "Ana"), make_result(90.0, difficulty=3.8))
    # 7 judges: drop the two highest and two lowest, 8.5 + 9 + 9 = 26.5, x 3.8
    assert repo.set_human_scores(saved.dive_id, [9, 8.5, 9, 8, 9, 8.5, 9]) == pytest.approx(100.70)
    with pytest.raises(AQAError):
        repo.set_human_scores(saved.dive_id, [9, 8.5, 9, 8, 9, 8.5, 12])
    assert repo.human_scores(saved.dive_id) == [9, 8.5, 9, 8, 9, 8.5, 9]  # the refused panel changed nothing


def test_video_is_stored_with_its_probed_metadata(repo, tiny_video):
    clip = tiny_video(count=30, width=64, height=48, fps=25.0)
    info = probe(clip)
    saved = repo.save_scored_dive(DiveRecord("Cup", "10m", "Ana", video_path=clip, video_info=info), make_result(70.0))
    again = repo.save_scored_dive(DiveRecord("Cup", "10m", "Ana", video_path=clip), make_result(71.0))
    with repo.db.reading() as session:
        videos = session.scalars(select(Video)).all()
        assert len(videos) == 1  # one file, known by its content
        assert (videos[0].fps, videos[0].frame_count, videos[0].width, videos[0].height) == (info.fps, info.frame_count, 64, 48)
        assert videos[0].size_bytes == clip.stat().st_size
        assert {session.get(Dive, d).video_id for d in (saved.dive_id, again.dive_id)} == {videos[0].id}
