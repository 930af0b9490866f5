"""How the app runs one of its own subcommands as a child process (training, dataset check, devices).

The command line and environment come from ``aqa_core.own_program`` (the self-test and the video
check use the same ones), so the packaged app and a source checkout agree; this module only
prepares the QProcess.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QProcess, QProcessEnvironment

from aqa_core.own_program import child_environment, own_command


def prepared_process(program: str, arguments: list[str], parent: object | None = None, environment: dict[str, str] | None = None) -> QProcess:
    """A QProcess for ``program``: the checkout importable, Python's output unbuffered, UTF-8 either way, plus ``environment``."""
    process = QProcess(parent)
    process.setProgram(program)
    process.setArguments(arguments)
    env = QProcessEnvironment()
    for key, value in child_environment(environment).items():
        env.insert(key, value)
    process.setProcessEnvironment(env)
    return process


class JsonChild:
    """A short child command whose stdout is one JSON document (``dataset check --json``, ``train-options --json``).

    Runs attached but asynchronously: ``done(document | None, exit_code, stderr)`` arrives on the
    GUI thread when it ends; a child that crashes or prints no JSON gives ``None`` and its stderr.
    """

    def __init__(self, arguments: list[str], done, parent: object | None = None) -> None:  # noqa: ANN001 (a callable)
        program, *args = own_command(*arguments)
        self.process = prepared_process(program, args, parent)
        self._done = done
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._failed)

    def start(self) -> None:
        self.process.start()

    def _failed(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._done(None, -1, f"could not start {self.process.program()}: {self.process.errorString()}")

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        out = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        err = bytes(self.process.readAllStandardError()).decode("utf-8", "replace").strip()
        try:
            document = json.loads(out) if out.strip() else None
        except ValueError:
            document = None
        if status == QProcess.ExitStatus.CrashExit:
            err = err or "the child process crashed"
        self._done(document, code, err)
