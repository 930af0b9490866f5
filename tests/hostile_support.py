"""Shared pieces of the hostile-input corpus (tests/test_hostile_*.py).

``Payload`` pickles to a call that would create ``marker`` if it ever ran: every corpus test that
feeds one to a reader asserts the marker never appears. ``refusal`` runs a reader and returns its
one-line message, failing the test on any other exception or on a message of several lines.
"""

from __future__ import annotations

import builtins
import os
import pickle
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aqa_core.errors import AQAError


class Payload:
    """Unpickling this calls ``function(*args)``; each variant would touch ``marker``."""

    def __init__(self, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.function = function
        self.args = args

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return self.function, self.args


def payloads(marker: Path) -> dict[str, Payload]:
    """Classic pickle attacks, each of which would create ``marker``."""
    m = str(marker)
    return {
        "os.system": Payload(os.system, (f"touch {m}",)),
        "subprocess.call": Payload(subprocess.call, (["touch", m],)),
        "subprocess.Popen": Payload(subprocess.Popen, (["touch", m],)),
        "builtins.exec": Payload(builtins.exec, (f"open({m!r}, 'w').close()",)),
        "builtins.eval": Payload(builtins.eval, (f"open({m!r}, 'w').close()",)),
        "builtins.open": Payload(builtins.open, (m, "w")),
        "shutil.copy": Payload(shutil.copy, (__file__, m)),
        "os.makedirs": Payload(os.makedirs, (m,)),
    }


PAYLOAD_NAMES = tuple(payloads(Path("x")))
PROTOCOLS = tuple(range(pickle.HIGHEST_PROTOCOL + 1))


def global_name(payload: Payload) -> str:
    """``module.name`` as pickle writes the payload's function (os.system is posix.system on Linux)."""
    name = payload.function.__qualname__
    return f"{pickle.whichmodule(payload.function, name)}.{name}"


def refusal(call: Callable[[], Any], error: type[AQAError] = AQAError) -> str:
    """The one-line message of the ``error`` that ``call`` raises."""
    with pytest.raises(error) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message, f"not one line: {message!r}"
    assert "Traceback" not in message
    return message


def assert_refused(call: Callable[[], Any], expected: str, error: type[AQAError] = AQAError) -> None:
    """``call`` raises ``error`` whose message is exactly ``expected`` (a regex when it starts with '^')."""
    message = refusal(call, error)
    if expected.startswith("^"):
        assert re.fullmatch(expected[1:], message), f"{message!r} !~ {expected!r}"
    else:
        assert message == expected, f"{message!r} != {expected!r}"


def nested_lists_pickle(depth: int) -> bytes:
    """A protocol-2 pickle of ``depth`` lists nested in each other, 2 bytes per level (no recursion to build)."""
    return b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."


def nested_dicts_pickle(depth: int) -> bytes:
    """``{0: {0: ... {}}}`` ``depth`` levels deep."""
    return b"\x80\x02" + b"}K\x00" * depth + b"}" + b"s" * depth + b"."


def shared_leaves(levels: int, fanout: int = 2) -> list:
    """``[a, a, ...]`` where ``a`` is the same ``[b, b, ...]``...: tiny pickled, fanout**levels leaves walked."""
    node: list = []
    for _ in range(levels):
        node = [node] * fanout
    return node


def sparse_file(path: Path, size: int) -> Path:
    """A file that claims ``size`` bytes without using the disk."""
    with path.open("wb") as handle:
        handle.truncate(size)
    return path
