"""Names of the engine's choices (decodings, backbone precisions), importable without torch or scipy.

The CLI offers them as argparse choices while it builds its parser, which every command does,
``dd`` and ``--help`` included; importing them from ``aqa_core.decoding`` (scipy) or
``aqa_core.runtime`` (torch) would make those instant commands wait for a second or two of imports.
The modules that act on the names re-export them from here, so there is one list of each.
"""

from __future__ import annotations

DECODINGS = ("argmax", "expectation")
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
