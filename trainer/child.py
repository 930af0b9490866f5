"""The command line that runs ``aqa-judge ARGS`` as a child of this same program.

Why: the Trainer tab and the bundle's self-test train in a child process (a crash or an
out-of-memory there never takes the desk with it). In a frozen app there is no Python to call,
so the child is the app's own executable with a subcommand; in a checkout or an installed wheel
it is this interpreter running ``cli.main``. Either way it is exactly the code that is running.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The bundle's console program: on Windows the desk runs as the windowed "AQA Judge.exe" beside
# it, whose child would have no stdout for the progress stream. (A Windows caller passes
# creationflags=subprocess.CREATE_NO_WINDOW so no console window opens.)
CONSOLE_PROGRAM = "aqa-judge.exe" if sys.platform == "win32" else "aqa-judge"


def own_command(*args: str) -> list[str]:
    """``[program, *args]``: this bundle's console executable, or this Python with ``-m cli.main``."""
    if getattr(sys, "frozen", False):
        console = Path(sys.executable).with_name(CONSOLE_PROGRAM)
        return [str(console) if console.is_file() else sys.executable, *args]
    return [sys.executable, "-m", "cli.main", *args]
