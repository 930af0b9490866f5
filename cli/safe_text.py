"""Text from files (athlete names, paths, error messages) made safe to print on a terminal.

A name read from a session file can hold escape sequences that recolour, retitle or rewrite the
user's terminal, or a newline that forges a second output line. Everything the CLI prints from
data goes through ``terminal_safe``, which shows control characters as Python escapes.
"""

from __future__ import annotations

import unicodedata


def terminal_safe(text: object) -> str:
    """``text`` with every control or format character (C0, DEL, C1, bidi overrides) escaped, on one line."""
    return "".join(
        ch if unicodedata.category(ch) not in ("Cc", "Cf") else ch.encode("unicode_escape").decode("ascii")
        for ch in str(text)
    )
