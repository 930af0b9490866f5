"""Every worker and background task reports any failure, not only the expected ones, and the
desk stays usable afterwards (issue: a RuntimeError in scoring left "Scoring…" on screen)."""

from __future__ import annotations

import pytest
from app_support import SHEET, app_home, tiny_bundle, wait_for_result  # noqa: F401 (fixture)

from app.state import AppState
from app.storage.background import QueryRunner
from app.tabs.judging_desk import JudgingDesk
from app.workers import ScoreWorker


@pytest.fixture
def desk(qtbot, app_home):  # noqa: ANN001, F811 (pytest fixtures)
    widget = JudgingDesk(AppState())
    qtbot.addWidget(widget)
    widget.show()
    widget.commands.use_bundle(tiny_bundle())
    yield widget
    widget.commands.shutdown()


class BrokenScorer:
    def stream(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201 - what ScoreWorker runs
        raise RuntimeError("injected fault in the scorer")


def test_a_runtime_error_in_scoring_reaches_the_status_line_and_the_desk_goes_on(qtbot, desk, tiny_video, monkeypatch) -> None:  # noqa: ANN001
    errors: list[str] = []
    desk.state.error.connect(errors.append)
    monkeypatch.setattr(ScoreWorker, "scorer_for", classmethod(lambda cls, bundle: BrokenScorer()))
    desk.commands.open_video(tiny_video(count=40), SHEET)
    qtbot.waitUntil(lambda: bool(errors), timeout=20000)
    assert "RuntimeError" in errors[0] and "injected fault in the scorer" in errors[0]
    assert "injected fault" in desk.status.text() and "Scoring" not in desk.status.text()
    assert not desk.state.analysing and desk.commands.score_worker is None and desk.state.result is None
    assert desk.transport.progress.text() == "" and not desk.transport.cancel.isVisible()
    monkeypatch.undo()  # the fault is gone: the same desk scores the next change
    desk.sheet.dive_number.setText("305C")
    desk.sheet.dive_number.editingFinished.emit()
    result = wait_for_result(qtbot, desk.state)
    assert result.dive.dive_number == "305C" and f"{result.final.score:.2f}" in desk.judges.final_label.text()


def test_a_background_task_and_its_handler_report_any_exception(qtbot, desk) -> None:  # noqa: ANN001
    errors: list[str] = []
    desk.state.error.connect(errors.append)

    def broken() -> None:
        raise KeyError("missing piece")

    desk.commands.run_background(broken, "loading the thing")
    qtbot.waitUntil(lambda: len(errors) == 1, timeout=10000)
    assert errors[0].startswith("loading the thing failed: KeyError") and "missing piece" in desk.status.text()

    def bad_handler(_value: object) -> None:
        raise ValueError("the handler tripped")

    desk.commands.run_background(lambda: 42, "drawing the answer", bad_handler)
    qtbot.waitUntil(lambda: len(errors) == 2, timeout=10000)
    assert errors[1].startswith("drawing the answer failed: ValueError") and "the handler tripped" in errors[1]


def test_a_failing_decode_is_reported_and_another_video_opens(qtbot, desk, tiny_video, monkeypatch) -> None:  # noqa: ANN001
    from aqa_core.video import VideoReader

    errors: list[str] = []
    desk.state.error.connect(errors.append)
    original = VideoReader.frame
    monkeypatch.setattr(VideoReader, "frame", lambda self, index: (_ for _ in ()).throw(MemoryError("no room for the frame")))
    desk.commands.open_video(tiny_video(count=20, name="first.mp4"), SHEET)
    qtbot.waitUntil(lambda: any("MemoryError" in e for e in errors), timeout=20000)
    assert "first.mp4" in next(e for e in errors if "MemoryError" in e)
    monkeypatch.setattr(VideoReader, "frame", original)
    path = tiny_video(count=20, name="second.mp4")
    desk.commands.open_video(path, SHEET)
    qtbot.waitUntil(lambda: desk.player.current_image() is not None and desk.state.video is not None, timeout=20000)
    assert desk.state.video.path == str(path)


def test_a_query_that_raises_anything_reports_it(qtbot) -> None:  # noqa: ANN001
    runner = QueryRunner()
    messages: list[str] = []
    runner.error.connect(messages.append)
    runner.submit(lambda: 1 / 0, lambda _value: None)
    qtbot.waitUntil(lambda: bool(messages), timeout=10000)
    assert "ZeroDivisionError" in messages[0] and not runner.busy
