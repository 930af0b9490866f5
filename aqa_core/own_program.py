"""The command line and environment that run ``aqa-judge ARGS`` as a child of this same program.

Why: training (the Trainer tab, the bundle's self-test) and the check of a video for decoding
errors run in child processes: a crash or an out-of-memory there never takes the desk with it,
and a child's stderr is its own (FFmpeg's error log can only be read there, ``video_check``). In
a frozen app there is no Python to call, so the child is the app's own executable with a
subcommand; in a checkout or an installed wheel it is this interpreter running ``cli.main``.
Either way it is exactly the code that is running.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The bundle's console program: on Windows the desk runs as the windowed "AQA Judge.exe" beside
# it, whose child would have no stdout for the progress stream. (A Windows caller passes
# creationflags=subprocess.CREATE_NO_WINDOW so no console window opens.)
CONSOLE_PROGRAM = "aqa-judge.exe" if sys.platform == "win32" else "aqa-judge"
CHECKOUT = Path(__file__).resolve().parent.parent


def own_command(*args: str) -> list[str]:
    """``[program, *args]``: this bundle's console executable, or this Python with ``-m cli.main``."""
    if getattr(sys, "frozen", False):
        console = Path(sys.executable).with_name(CONSOLE_PROGRAM)
        return [str(console) if console.is_file() else sys.executable, *args]
    return [sys.executable, "-m", "cli.main", *args]


def child_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment for a child: the checkout importable, Python's output unbuffered and UTF-8, plus ``extra``."""
    env = dict(os.environ)
    if not getattr(sys, "frozen", False):
        env["PYTHONPATH"] = os.pathsep.join([str(CHECKOUT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.update({"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8", **(extra or {})})
    return env
