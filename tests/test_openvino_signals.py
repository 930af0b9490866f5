"""OpenVINO engines leave the process able to take a signal: the trainer's cooperative SIGTERM stop.

OpenVINO's CPU plugin puts an alternate signal stack of its own on the compiling thread and, when
released, restores the one it found; two ``ov.Core``s released in the order they were made left
the main thread's alternate stack pointing at unmapped memory, and the next handled SIGTERM killed
the process with SIGSEGV (seen as the suite's OpenVINO test followed by its SIGTERM test). It runs
in a child process, so a crash fails this test instead of ending the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import gc, os, signal, sys
import aqa_core.backbones
from pathlib import Path
from aqa_core.inference.openvino_engine import OpenVinoEngine, convert
from aqa_core.registry import BACKBONES

module = BACKBONES.build({"name": "tiny", "feature_dim": 16, "seed": 2}).eval()
path = convert(module, (3, 16, 32, 32), Path(sys.argv[1]) / "tiny.openvino" / "i3d.xml")
first = OpenVinoEngine(path, "float32", threads=1)
second = OpenVinoEngine(path, "float32", threads=2, streams=2)  # a second engine, as the chooser builds
del first  # released in the order they were made: what crashed
gc.collect()
del second
gc.collect()
caught = []
signal.signal(signal.SIGTERM, lambda signum, frame: caught.append(signum))
os.kill(os.getpid(), signal.SIGTERM)
print("caught", caught)
"""


def test_a_handled_sigterm_after_openvino_engines_were_released_is_delivered(tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    assert "caught [15]" in done.stdout
