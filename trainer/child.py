"""The command line that runs ``aqa-judge ARGS`` as a child of this same program.

Why: the Trainer tab and the bundle's self-test train in a child process (a crash or an
out-of-memory there never takes the desk with it). In a frozen app there is no Python to call,
so the child is the app's own executable with a subcommand; in a checkout or an installed wheel
it is this interpreter running ``cli.main``. Either way it is exactly the code that is running.
"""

from __future__ import annotations

import sys


def own_command(*args: str) -> list[str]:
    """``[program, *args]`` where ``program`` is this frozen executable, or this Python with ``-m cli.main``."""
    if getattr(sys, "frozen", False):
        return [sys.executable, *args]
    return [sys.executable, "-m", "cli.main", *args]
