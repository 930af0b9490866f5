"""Where the Open dialogs start: beside the last choice of their kind, else the user's folders, never the program's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from app_support import app_home  # noqa: F401 (fixture)
from PySide6.QtCore import QStandardPaths

from app import file_dialogs
from app.settings import start_folder
from app.widgets.compare_view import CompareView


class FakeDialog:
    """QFileDialog's static calls as a user answers them: records where each dialog started."""

    def __init__(self, answers: list[str]) -> None:
        self.answers, self.starts = answers, []

    def getOpenFileName(self, parent, title, start, file_filter):  # noqa: ANN001, ANN201, N802 (Qt's name)
        self.starts.append(start)
        return self.answers.pop(0), ""

    def getExistingDirectory(self, parent, title, start):  # noqa: ANN001, ANN201, N802
        self.starts.append(start)
        return self.answers.pop(0)


def first_start(kind_location: QStandardPaths.StandardLocation) -> str:
    folder = QStandardPaths.writableLocation(kind_location)
    return folder if folder and Path(folder).is_dir() else str(Path.home())


def test_the_first_dialog_starts_in_the_users_folder_not_the_working_one(qtbot, app_home, tmp_path: Path,  # noqa: ANN001, F811
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    program = tmp_path / "program"
    program.mkdir()
    monkeypatch.chdir(program)
    assert start_folder("videos") == first_start(QStandardPaths.StandardLocation.MoviesLocation)
    assert start_folder("sessions") == first_start(QStandardPaths.StandardLocation.DocumentsLocation)
    assert os.getcwd() not in {start_folder("videos"), start_folder("sessions")}


def test_compare_b_starts_where_a_was_opened_and_other_kinds_keep_their_own(qtbot, app_home, tmp_path: Path, tiny_video,  # noqa: ANN001, F811
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    card = tmp_path / "card"
    card.mkdir()
    dive_a = Path(tiny_video(count=20, name="a.mp4")).rename(card / "a.mp4")
    dive_b = Path(tiny_video(count=20, name="b.mp4")).rename(card / "b.mp4")
    fake = FakeDialog([str(dive_a), str(dive_b), ""])
    monkeypatch.setattr(file_dialogs, "QFileDialog", fake)
    view = CompareView()
    qtbot.addWidget(view)
    view.left._ask_open()
    view.right._ask_open()
    qtbot.waitUntil(lambda: view.left.player.meta is not None and view.right.player.meta is not None, timeout=10000)
    assert fake.starts[1] == str(card)  # B's dialog opened beside A
    assert file_dialogs.choose_file(None, "Import a start list", "start_lists", "*.csv") == ""  # cancelled: nothing remembered
    assert fake.starts[2] == first_start(QStandardPaths.StandardLocation.DocumentsLocation)
    assert start_folder("start_lists") == fake.starts[2]
    for pane in view.panes:
        pane.player.close_video()


def test_a_remembered_folder_that_is_gone_is_not_offered(qtbot, app_home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001, F811
    gone = tmp_path / "usb"
    gone.mkdir()
    monkeypatch.setattr(file_dialogs, "QFileDialog", FakeDialog([str(gone)]))
    assert file_dialogs.choose_folder(None, "A dataset folder", "datasets") == str(gone)
    assert start_folder("datasets") == str(gone)
    gone.rmdir()  # the memory stick was taken out
    assert start_folder("datasets") == first_start(QStandardPaths.StandardLocation.DocumentsLocation)
