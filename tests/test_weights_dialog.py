"""The first-run weights dialog: download with a progress bar, the offline reason, the file route."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from index_support import Index, index, synthetic_archive  # noqa: F401 - fixtures

from aqa_core.index_download import INDEX_URL_ENV
from aqa_core.weights import i3d_weights_path, load_i3d_state_dict
from app.weights_dialog import WeightsDialog


def test_download_fills_the_bar_and_installs(qtbot, index: Index) -> None:  # noqa: F811 - fixture
    dialog = WeightsDialog()
    qtbot.addWidget(dialog)
    seen: list[int] = []
    dialog.bar.valueChanged.connect(seen.append)
    with qtbot.waitSignal(dialog.installed, timeout=60_000) as installed:
        dialog.download_button.click()
        assert not dialog.file_button.isEnabled()  # busy while the worker runs
    assert installed.args == [str(i3d_weights_path())]
    assert len(load_i3d_state_dict()) > 100
    assert len(index.body) in seen  # the bar reached the archive's size
    assert dialog.file_button.isEnabled() and "Installed" in dialog.message.text()


def test_offline_says_so_and_the_archive_route_still_installs(qtbot, isolated_home: Path, synthetic_archive: Path,  # noqa: F811
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv(INDEX_URL_ENV, f"http://127.0.0.1:{port}/simple")
    dialog = WeightsDialog()
    qtbot.addWidget(dialog)
    dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.download_button.isEnabled(), timeout=30_000)
    assert "offline" in dialog.message.text() and "--from" in dialog.message.text()
    assert not i3d_weights_path().exists()
    with qtbot.waitSignal(dialog.installed, timeout=60_000):
        dialog.install(synthetic_archive)  # what "Choose the archive file…" does with the chosen file
    assert len(load_i3d_state_dict()) > 100


def test_first_start_without_weights_offers_the_dialog(qtbot, isolated_home: Path) -> None:
    from app.main import MainWindow

    window = MainWindow(open_db=False)
    qtbot.addWidget(window)
    window.offer_weights_if_missing()
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(WeightsDialog)), timeout=30_000)


@pytest.mark.weights
def test_installed_weights_are_not_asked_for_again(qtbot) -> None:
    from app.main import MainWindow

    assert i3d_weights_path().is_file(), "needs the installed I3D weights (scripts/test installs them)"
    window = MainWindow(open_db=False)
    qtbot.addWidget(window)
    window.offer_weights_if_missing()
    window.commands.wait_for_background()
    qtbot.wait(200)  # the worker's answer is delivered through the event loop
    assert not window.findChildren(WeightsDialog)
