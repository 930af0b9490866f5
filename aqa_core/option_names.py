"""Names of the engine's choices (decodings, backbone precisions, a config's method), importable without torch or scipy.

The CLI offers them as argparse choices while it builds its parser, which every command does,
``dd`` and ``--help`` included; importing them from ``aqa_core.decoding`` (scipy) or
``aqa_core.runtime`` (torch) would make those instant commands wait for a second or two of imports.
The modules that act on the names re-export them from here, so there is one list of each. The
GUI asks a model config which method it builds (the model card, the Trainer tab's presets) before
the methods package, which imports torch, is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aqa_core.errors import ConfigError

DECODINGS = ("argmax", "expectation")
PRECISIONS = ("auto", "float32", "bfloat16", "float16")


def method_name(config: Mapping[str, Any]) -> Any:
    """The method a model config builds: ``config["method"]``, else (configs before methods) its head's name."""
    if "method" in config:
        return config["method"]
    head = config.get("head")
    if not isinstance(head, Mapping) or "name" not in head:
        raise ConfigError("model config names no method (\"method\") and no head (\"head\": {\"name\": ...})")
    return head["name"]


def model_label(name: str, version: str | int | None) -> str:
    """How every screen and report names a model: ``demo_musdl v2`` (one wording, whichever tab or command shows it)."""
    version = str(version or "").strip()
    if not version:
        return name
    return f"{name} v{version}" if version[:1].isdigit() else f"{name} {version}"  # "club", "v3": as they are
