"""Keep None, True and False alive under PySide6 6.12 on Python 3.11.

PySide6 6.12 returns ``None`` from every void method and ``True`` from ``Signal.emit`` without
taking a reference. On Python 3.12+ those objects are immortal, so nothing happens; on 3.11 each
call drops their reference count by one and the interpreter aborts ("deallocating None") after a
few thousand calls, i.e. within a minute of playing a video. We give them the immortality they
have on 3.12: a reference count so large that no run can use it up. Importing ``app`` applies it
before any Qt object exists.
"""

from __future__ import annotations

import ctypes
import sys

_RESERVE = 1 << 48  # references; ~9e6 years of 1000 leaked references per second


def make_singletons_immortal() -> None:
    if sys.version_info >= (3, 12):
        return  # immortal objects: the leaked decrefs are no-ops
    for singleton in (None, True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value += _RESERVE
