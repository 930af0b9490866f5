"""A training run as the app sees it: a child process it starts, follows, stops, kills or resumes.

The child is the app's own ``train`` subcommand (app/child_command.py) started *detached*, with
stdout and stderr going to files in the run folder: a run can outlive the app (the person closing
it chose "leave running"), and nothing the child does can block or take down the GUI. A timer
reads whatever new whole lines the files hold (never waiting), parses the progress events
(trainer/progress.py) and hands them on. Whether the child is still alive comes from the lock it
holds (``RunLock``), so a crash, a kill or an out-of-memory death is noticed within a tick and
reported with the last thing the child said on stderr.

Several GPUs are one child too: our own ``torchrun`` subcommand starting one ``train`` per GPU
(trainer/child.py). What was launched (how many processes, which GPUs, where this attempt's lines
begin in the output files) is kept in ``launch.json``, so Resume repeats it and an app started
again can follow a run someone left running (``LEFT_RUNNING``: re-read the files from the
attempt's start, then tail them until the run ends, or say that it died without a last word).
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QIODevice, QObject, QTimer, Signal

from aqa_core.files import atomic_write_text
from app.child_command import prepared_process
from trainer.child import gpu_environment, train_command
from trainer.progress import TERMINAL, RunLock, StopRequest, check_schema

STDOUT = "stdout.jsonl"
STDERR = "stderr.log"
LAUNCH = "launch.json"
LEFT_RUNNING = "LEFT_RUNNING"  # the app closed with "leave it running": the next app follows the run again
POLL_MS = 200
START_TIMEOUT_S = 120.0  # a cold start imports torch; after this without a lock, the child never came up


class _Tail:
    """New whole lines of a growing file, from where the last read stopped."""

    def __init__(self, path: Path, offset: int | None = None) -> None:
        """From ``offset`` (default: the file's current end, so only what is written from now on)."""
        self.path = path
        self.offset = offset if offset is not None else (path.stat().st_size if path.is_file() else 0)
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

    def start(self, config: Path, resume: bool = False, gpus: list[int] | None = None, processes: int | None = None) -> bool:
        """Start ``train CONFIG`` (``--resume``: from the last checkpoint); False and ``ended`` if it cannot start.

        ``gpus``: the GPU indices the run sees (several: one DDP process each); ``processes``: how
        many processes (default one per GPU; on CPU, gloo DDP). A resume without them repeats the
        run's previous launch.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        before = self.launch() if resume and gpus is None and processes is None else {}
        gpus = list(gpus if gpus is not None else before.get("gpus", []))
        processes = int(processes or before.get("processes") or max(1, len(gpus)))
        self.lock.reset()
        self.forget_left()
        StopRequest(self.folder).clear()
        program, *arguments = train_command(config, self.folder, resume=resume, processes=processes)
        self._out, self._err = _Tail(self.folder / STDOUT), _Tail(self.folder / STDERR)
        self.last_terminal, self.stderr_tail = None, []
        self._write_launch(gpus=gpus, processes=processes, config=str(config), stdout_offset=self._out.offset, stderr_offset=self._err.offset)
        process = prepared_process(program, arguments, environment=gpu_environment(gpus))
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

    def follow(self) -> None:
        """Follow a run this app did not start (or started before a restart): its lines since the attempt began, then on.

        Everything the files hold is handed on first (the curves redraw from the whole run, a
        terminal event of an earlier attempt is not this attempt's end); then the timer tails them.
        A run that is no longer alive and left no end event ends as ``crashed`` at the first tick.
        """
        launch, stdout = self.launch(), self.folder / STDOUT
        attempt = int(launch.get("stdout_offset", 0))
        earlier = stdout.read_bytes()[:attempt].decode("utf-8", "replace").splitlines() if stdout.is_file() else []
        self._out, self._err = _Tail(stdout, attempt), _Tail(self.folder / STDERR, int(launch.get("stderr_offset", 0)))
        self.last_terminal, self.stderr_tail = None, []
        self._take(earlier, [], history=True)
        self._take(self._out.lines(), self._err.lines())  # this attempt's lines so far (its end, if it has one, at the first tick)
        self.log.emit(f"following the run in {self.folder} again")
        self._started_at = time.monotonic() - START_TIMEOUT_S  # it started long ago: no grace for a start
        self._timer.start()

    def launch(self) -> dict[str, Any]:
        """What ``start`` last launched here (empty for a run folder from before launch.json)."""
        try:
            saved = json.loads((self.folder / LAUNCH).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return saved if isinstance(saved, dict) else {}

    def _write_launch(self, **launch: Any) -> None:
        atomic_write_text(self.folder / LAUNCH, json.dumps(launch))

    def leave(self) -> None:
        """The app closes and the run goes on: mark it, so the next app start follows it again."""
        (self.folder / LEFT_RUNNING).touch()

    def forget_left(self) -> None:
        (self.folder / LEFT_RUNNING).unlink(missing_ok=True)

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
        self.forget_left()
        self.ended.emit(*self._outcome())

    def _take(self, out: list[str], err: list[str], history: bool = False) -> None:
        """Hand on lines; ``history``: an earlier attempt's, whose end (a stop before a resume) is not this run's."""
        for line in out:
            self.log.emit(line)
            record = _event(line)
            if record is None or (history and record["event"] in TERMINAL):
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
