"""Training progress as JSON lines: the Trainer tab and scripts read exactly this stream.

This stream is the contract between the app and a training process (a child the app does not
share memory with), so it is versioned: every event is one JSON object per line with ``event``,
``schema`` (``SCHEMA_VERSION``) and ``time``. ``EVENTS`` lists each event and the fields it always
carries; a reader ignores fields it does not know and refuses a newer major schema. A run's life:

    start -> features* -> resume? -> (epoch best?)* -> early_stop? -> warning* -> test -> done
                                   any point -> cancelled | error  (and nothing after)

A training process never ends without ``done``, ``cancelled`` or ``error`` (``aqa-judge train``,
cli/trainer_commands.py, reports any failure through ``report_failure``): an error
carries ``message`` (one line for people) and ``detail`` (for the log: the traceback of a bug).
On CUDA an ``epoch`` also carries ``gpu_memory_mib`` (rank 0's peak ``max_memory_allocated``).
Lines go to stdout (or any stream) and are appended to a log file; a tqdm bar on stderr serves
terminal users and stays off when stderr is not a TTY so logs and pipes stay clean.

A cooperative stop (``StopRequest``): a ``STOP`` file in the work folder, or SIGTERM / SIGINT,
asks the trainer to finish the epoch, write its checkpoint and end with ``cancelled``; ``train
--resume`` continues from that checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import traceback
from pathlib import Path
from collections.abc import Iterator
from typing import IO, Any

from tqdm import tqdm

SCHEMA_VERSION = 1
TERMINAL = ("done", "cancelled", "error")  # a run ends with exactly one of these
EVENTS: dict[str, tuple[str, ...]] = {
    "start": ("dataset", "splits", "config", "world_size", "devices"),
    "video_check": ("done", "total", "eta_s"),  # trainer.datasets.video_damage, before any feature
    "features": ("done", "total", "eta_s"),
    "resume": ("epoch", "checkpoint"),
    "epoch": ("epoch", "epochs", "step", "losses", "val_rho", "val_rl2", "val", "best_epoch", "eta_s", "checkpoint"),
    "best": ("epoch", "val"),
    "early_stop": ("epoch", "best_epoch"),
    "warning": ("message",),
    "test": ("figures", "best_epoch"),
    "done": ("bundle", "best_epoch", "val", "test"),
    "cancelled": ("epoch", "checkpoint", "message"),
    "error": ("message", "detail"),
}
STOP_FILE = "STOP"


class RunCancelled(Exception):
    """Raised after a cooperative stop has checkpointed and emitted ``cancelled``."""


class StopRequest:
    """Whether someone asked the run to stop: a ``STOP`` file in ``work_dir``, or SIGTERM / SIGINT.

    A file works on every platform and from any process (the app writes it); the signals serve a
    terminal user's Ctrl-C and ``kill``. Checked between epochs, so a stop never leaves a torn
    checkpoint; ``clear`` removes a stale file before a resumed run starts.
    """

    def __init__(self, work_dir: Path) -> None:
        self.path = Path(work_dir) / STOP_FILE

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def request(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()

    def install_signals(self) -> None:
        """SIGTERM / SIGINT become a stop file, so the training loop's own ``StopRequest`` sees them."""
        import signal

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda _signum, _frame: self.request())

    def requested(self) -> bool:
        return self.path.is_file()


class RunLock:
    """Whether a run's process is alive, from any process: the child holds a lock for its whole life.

    The operating system drops the lock when the process ends however it ends (a crash, a kill),
    so the app needs neither the child's exit status nor to be its parent (a run can outlive the
    app). ``pid`` (written after the lock is held) lets the app kill a child that is stuck.
    """

    def __init__(self, work_dir: Path) -> None:
        self.lock_path = Path(work_dir) / "running.lock"
        self.pid_path = Path(work_dir) / "running.pid"

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        from filelock import FileLock

        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(self.lock_path, timeout=0):
            self.pid_path.write_text(str(os.getpid()), encoding="ascii")
            yield

    def reset(self) -> None:
        """Before starting a child: nothing left from the previous one can be mistaken for it."""
        self.pid_path.unlink(missing_ok=True)

    def pid(self) -> int | None:
        """The child's pid once it holds the lock, else None (not started yet, or ended)."""
        if not self.started() or not self.alive():
            return None
        return int(self.pid_path.read_text(encoding="ascii"))

    def started(self) -> bool:
        return self.pid_path.is_file()

    def alive(self) -> bool:
        from filelock import FileLock, Timeout

        if not self.started():
            return False
        try:
            with FileLock(self.lock_path, timeout=0):
                return False
        except Timeout:
            return True


def report_failure(progress: ProgressStream, exc: BaseException) -> None:
    """The ``error`` event: one line for people (an AQAError's own text), the detail for the log."""
    from aqa_core.errors import AQAError

    if isinstance(exc, AQAError):
        message, detail = str(exc), f"{type(exc).__name__}: {exc}"
    elif isinstance(exc, MemoryError):
        message, detail = "the training ran out of memory; try a smaller batch size", "".join(traceback.format_exception(exc))
    elif isinstance(exc, KeyboardInterrupt):
        message, detail = "interrupted", "KeyboardInterrupt"
    else:
        first = str(exc).splitlines()[0] if str(exc) else ""
        message = f"internal error ({type(exc).__name__}: {first}); please report it with the log"
        detail = "".join(traceback.format_exception(exc))
    progress.emit("error", message=message, detail=detail)


def check_schema(record: dict[str, Any]) -> None:
    """Refuse an event from a newer, incompatible trainer (the app and trainer ship apart in a checkout)."""
    version = record.get("schema")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ValueError(f"progress event schema {version!r}, this app reads schema {SCHEMA_VERSION}")


class ProgressStream:
    def __init__(
        self, log_path: Path | None = None, stream: IO[str] | None = None, stdout: bool = True, bar: bool | None = None, enabled: bool = True
    ) -> None:
        """Lines go to ``stream``, else to the current ``sys.stdout`` unless ``stdout=False``.

        ``enabled=False`` (non-zero ranks under torchrun) swallows everything.
        """
        self.enabled = enabled
        self.stream = stream
        self.stdout = stdout
        self.log_path = log_path
        if log_path is not None and enabled:
            log_path.parent.mkdir(parents=True, exist_ok=True)
        use_bar = sys.stderr.isatty() if bar is None else bar
        self._bar: tqdm | None = None
        self._want_bar = enabled and use_bar

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        record = {"event": event, "schema": SCHEMA_VERSION, "time": round(time.time(), 3), **fields}
        if not self.enabled:
            return record
        line = json.dumps(record, default=_plain)
        target = self.stream or (sys.stdout if self.stdout else None)
        if target is not None:
            print(line, file=target, flush=True)
        if self.log_path is not None:
            with self.log_path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        return record

    def bar(self, total: int, desc: str, initial: int = 0) -> None:
        self.close_bar()
        if self._want_bar:
            self._bar = tqdm(total=total, desc=desc, initial=initial, file=sys.stderr, leave=False)

    def advance(self, n: int = 1, **postfix: Any) -> None:
        if self._bar is not None:
            self._bar.update(n)
            if postfix:
                self._bar.set_postfix(postfix, refresh=False)

    def close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _plain(value: Any) -> Any:
    """numpy/torch scalars and paths in events become plain JSON values."""
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def read_events(path: Path) -> list[dict[str, Any]]:
    """Parse a progress log back (the Trainer tab, tests)."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
