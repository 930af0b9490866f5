"""A training run as the app sees it: a child process it starts, follows, stops, kills or resumes.

The child is the app's own ``train`` subcommand (app/child_command.py) started *detached*, with
stdout and stderr going to files in the run folder: a run can outlive the app (the person closing
it chose "leave running"), and nothing the child does can block or take down the GUI. A timer
reads whatever new whole lines the files hold (never waiting), parses the progress events
(trainer/progress.py) and hands them on. Whether the child is still alive comes from the lock it
holds (``RunLock``), so a crash, a kill or an out-of-memory death is noticed within a tick and
reported with the last thing the child said on stderr.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QIODevice, QObject, QTimer, Signal

from app.child_command import prepared_process
from trainer.child import own_command
from trainer.progress import TERMINAL, RunLock, StopRequest, check_schema

STDOUT = "stdout.jsonl"
STDERR = "stderr.log"
POLL_MS = 200
START_TIMEOUT_S = 120.0  # a cold start imports torch; after this without a lock, the child never came up


class _Tail:
    """New whole lines of a growing file, from where the last read stopped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.is_file() else 0
        self._partial = b""

    def lines(self) -> list[str]:
        if not self.path.is_file():
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read()
        self.offset += len(chunk)
        *whole, self._partial = (self._partial + chunk).split(b"\n")
        return [line.decode("utf-8", "replace").rstrip("\r") for line in whole]

    def rest(self) -> list[str]:
        """At the end: the last line even without its newline."""
        lines, self._partial = self.lines() + ([self._partial.decode("utf-8", "replace")] if self._partial else []), b""
        return [line for line in lines if line]


class TrainingRun(QObject):
    """One run folder (the trainer's work_dir). Signals arrive on the GUI thread."""

    event = Signal(dict)  # every progress event, in order
    log = Signal(str)  # every line, events included, for the log view
    ended = Signal(str, str)  # outcome (done | cancelled | error | crashed), one line for people

    def __init__(self, folder: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.folder = Path(folder)
        self.lock = RunLock(self.folder)
        self.last_terminal: dict[str, Any] | None = None
        self.stderr_tail: list[str] = []
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._started_at = 0.0
        self._out: _Tail | None = None
        self._err: _Tail | None = None

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def start(self, config: Path, resume: bool = False) -> bool:
        """Start ``train CONFIG`` (``--resume``: from the last checkpoint); False and ``ended`` if it cannot start."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.lock.reset()
        StopRequest(self.folder).clear()
        program, *arguments = own_command("train", str(config), "--work-dir", str(self.folder), *(["--resume"] if resume else []))
        self._out, self._err = _Tail(self.folder / STDOUT), _Tail(self.folder / STDERR)
        self.last_terminal, self.stderr_tail = None, []
        process = prepared_process(program, arguments)
        process.setWorkingDirectory(str(self.folder))
        process.setStandardOutputFile(str(self.folder / STDOUT), QIODevice.OpenModeFlag.Append)
        process.setStandardErrorFile(str(self.folder / STDERR), QIODevice.OpenModeFlag.Append)
        self.log.emit(f"$ {program} {' '.join(arguments)}")
        if not process.startDetached():
            self.ended.emit("crashed", f"could not start the training process ({program}): {process.errorString()}")
            return False
        self._started_at = time.monotonic()
        self._timer.start()
        return True

    def stop(self) -> None:
        """Ask for a cooperative stop: the epoch finishes, its checkpoint is written, then ``cancelled``."""
        StopRequest(self.folder).request()
        self.log.emit("stop requested: the run ends after this epoch's checkpoint")

    def kill(self) -> None:
        """End the child now (its last finished epoch's checkpoint stays for a resume)."""
        pid = self.lock.pid()
        if pid is not None:
            os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))  # Windows: SIGTERM is TerminateProcess
            self.log.emit(f"killed the training process {pid}")

    def poll(self) -> None:
        """One tick: hand on new lines; if the child has gone, say how it ended."""
        assert self._out is not None and self._err is not None
        alive = self.lock.alive()  # read before the files, so no line written before the end is missed
        self._take(self._out.lines(), self._err.lines())
        if alive:
            return
        if not self.lock.started() and self.last_terminal is None and time.monotonic() - self._started_at < START_TIMEOUT_S:
            return  # still starting (an error before the lock, such as an unreadable config, ends it at once)
        self._timer.stop()
        self._take(self._out.rest(), self._err.rest())
        self.ended.emit(*self._outcome())

    def _take(self, out: list[str], err: list[str]) -> None:
        for line in out:
            self.log.emit(line)
            record = _event(line)
            if record is None:
                continue
            if record["event"] in TERMINAL:
                self.last_terminal = record
            self.event.emit(record)
        for line in err:
            self.log.emit(line)
            if line.strip():
                self.stderr_tail = (self.stderr_tail + [line])[-20:]

    def _outcome(self) -> tuple[str, str]:
        last = self.last_terminal
        if last is None:
            said = self.stderr_tail[-1].strip() if self.stderr_tail else "nothing on its error output"
            if not self.lock.started():
                return "crashed", f"the training process did not start: {said}"
            return "crashed", f"the training process ended without a word (crashed or killed); its last message: {said}"
        if last["event"] == "done":
            return "done", f"Model bundle written to {last['bundle']}; the Models tab compares it with the others"
        if last["event"] == "cancelled":
            return "cancelled", f"{last['message']}"
        return "error", str(last["message"])


def _event(line: str) -> dict[str, Any] | None:
    """A progress event, or None for any other line (a library's print); a newer schema is a log line too."""
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
        check_schema(record)
    except ValueError:
        return None
    return record if isinstance(record, dict) and "event" in record else None
