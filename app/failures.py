"""How any failure of background work becomes one line for the user.

Workers, tasks and queries all end here, so the status line always hears how a job ended: an
AQAError is already the user's one line, an OSError names the file, and anything else (a bug)
is still reported, with its type, while its traceback goes to stderr for the developer. Nothing
ever leaves "Scoring…" on screen or a task unanswered.
"""

from __future__ import annotations

import sys
import traceback

from aqa_core.errors import AQAError


def describe_failure(label: str, exc: BaseException) -> str:
    """One line about ``exc``, raised while doing ``label`` (e.g. "scoring dive.mp4")."""
    if isinstance(exc, AQAError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{label}: {exc.strerror or exc}{where}"
    traceback.print_exception(exc, file=sys.stderr)
    return f"{label} failed: {type(exc).__name__}: {exc} (an internal error; the app is still usable)"
