"""Running storage queries off the GUI thread and getting the answer back on it.

The sessions and statistics tabs must never touch SQLite on the GUI thread (a slow disk or a
locked file would freeze the desk), so every query runs on Qt's thread pool and its result or
StorageError message is delivered by a queued signal. Only the newest request's answer is
delivered: typing fast in a filter never paints stale rows over fresh ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.failures import describe_failure


class _Signals(QObject):
    done = Signal(int, object)
    failed = Signal(int, str)


class _Job(QRunnable):
    def __init__(self, generation: int, fn: Callable[[], Any], signals: _Signals) -> None:
        super().__init__()
        self.generation, self.fn, self.signals = generation, fn, signals

    def run(self) -> None:
        try:
            value = self.fn()
        except Exception as exc:  # noqa: BLE001 (any failure reaches the view, see app/failures.py)
            self.signals.failed.emit(self.generation, describe_failure("reading the sessions", exc))
        else:
            self.signals.done.emit(self.generation, value)


class QueryRunner(QObject):
    """Runs one query at a time per view on the global pool; ``result``/``error`` for the newest only."""

    result = Signal(object)
    error = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._generation = 0
        self._signals = _Signals(self)  # lives on the GUI thread, so emits from the pool are queued
        self._signals.done.connect(self._on_done)
        self._signals.failed.connect(self._on_failed)
        self._callbacks: dict[int, Callable[[Any], None]] = {}

    def submit(self, fn: Callable[[], Any], on_result: Callable[[Any], None]) -> None:
        self._generation += 1
        self._callbacks = {self._generation: on_result}
        QThreadPool.globalInstance().start(_Job(self._generation, fn, self._signals))

    @property
    def busy(self) -> bool:
        return bool(self._callbacks)

    def _on_done(self, generation: int, value: object) -> None:
        callback = self._callbacks.pop(generation, None)
        if callback is not None:
            callback(value)
            self.result.emit(value)

    def _on_failed(self, generation: int, message: str) -> None:
        if self._callbacks.pop(generation, None) is not None:
            self.error.emit(message)
