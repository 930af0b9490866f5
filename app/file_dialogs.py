"""The app's Open dialogs: each kind starts where the last one of its kind chose (``settings.start_folder``).

A coach who opened dive A from a memory card's folder found dive B's dialog back in the
program's working folder (seen under Xvfb): every dialog was given "" as its start.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from app.settings import remember_folder, start_folder


def choose_file(parent: QWidget | None, title: str, kind: str, file_filter: str) -> str:
    """A file to open ("" if cancelled); its folder is where the next ``kind`` dialog starts."""
    path, _ = QFileDialog.getOpenFileName(parent, title, start_folder(kind), file_filter)
    if path:
        remember_folder(kind, path)
    return path


def choose_folder(parent: QWidget | None, title: str, kind: str) -> str:
    """A folder ("" if cancelled); the next ``kind`` dialog starts in it."""
    folder = QFileDialog.getExistingDirectory(parent, title, start_folder(kind))
    if folder:
        remember_folder(kind, folder)
    return folder


def choose_new_file(parent: QWidget | None, title: str, kind: str, name: str, file_filter: str) -> str:
    """A file to create, offered as ``name`` in the ``kind`` folder ("" if cancelled); remembered like an opened one."""
    path, _ = QFileDialog.getSaveFileName(parent, title, str(Path(start_folder(kind)) / name), file_filter)
    if path:
        remember_folder(kind, path)
    return path
