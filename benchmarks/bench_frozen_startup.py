"""Frozen app start-up: seconds from launching ``aqa-judge app`` to its main window being visible.

Run: ``python benchmarks/bench_frozen_startup.py [--runs 3] [--app dist/aqa-judge/aqa-judge]``
after ``scripts/package``; the same is measured for this checkout's ``python -m cli.main app``
for comparison. Each run starts its own Xvfb display (no window manager, so the window is
mapped as soon as the app shows it) and polls ``xwininfo`` every 20 ms for the window titled
"AQA Judge Assistant" in state IsViewable. Each run uses an empty AQA_JUDGE_HOME, as a first
start after installing does (the weights dialog then follows the window). Target (issue 17):
a visible window within a few seconds; torch loads on a worker after the window is shown.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TITLE = "AQA Judge Assistant"
TIMEOUT_S = 120.0


def _visible(display: str) -> bool:
    done = subprocess.run(["xwininfo", "-display", display, "-name", TITLE], capture_output=True, text=True, check=False)
    return done.returncode == 0 and "IsViewable" in done.stdout


def time_to_window(command: list[str]) -> float:
    # -displayfd: Xvfb picks a free display and says which, so runs never share one with another job's X server.
    # -noreset: without it the server resets whenever its last client leaves, i.e. after the readiness
    # probe and after every xwininfo poll until the app has connected, and a client connecting during
    # a reset is refused: Qt then aborts (SIGABRT, "could not connect to display") before any window.
    # That was the frozen app's unexplained SIGABRT; a probe followed at once by a second client was
    # refused in 8 of 40 trials without -noreset, 0 of 40 with it.
    read_end, write_end = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1920x1080x24", "-nolisten", "tcp", "-noreset"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_end,))
    os.close(write_end)
    try:
        with os.fdopen(read_end) as answer:
            number = answer.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        display = f":{number}"
        deadline = time.monotonic() + 10
        while subprocess.run(["xwininfo", "-display", display, "-root"], capture_output=True, check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"Xvfb {display} does not answer")
            time.sleep(0.05)
        with tempfile.TemporaryDirectory(prefix="aqa-startup-") as home:
            env = {**os.environ, "DISPLAY": display, "AQA_JUDGE_HOME": home, "XDG_CONFIG_HOME": home, "PYTHONPATH": str(ROOT)}
            env.pop("QT_QPA_PLATFORM", None)
            started = time.perf_counter()
            log = Path(home) / "app.log"
            with open(log, "wb") as output:
                app = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=home)
            try:
                while not _visible(display):
                    if app.poll() is not None:
                        tail = log.read_text(errors="replace").strip().splitlines()[-15:]
                        raise RuntimeError(f"{command[0]} exited {app.returncode} before showing a window:\n" + "\n".join(tail))
                    if time.perf_counter() - started > TIMEOUT_S:
                        raise RuntimeError(f"no window after {TIMEOUT_S:.0f} s")
                    time.sleep(0.02)
                return time.perf_counter() - started
            finally:
                app.terminate()
                try:
                    app.wait(10)
                except subprocess.TimeoutExpired:
                    app.kill()
                    app.wait()
    finally:
        xvfb.terminate()
        xvfb.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--app", type=Path, default=ROOT / "dist" / "aqa-judge" / "aqa-judge")
    args = parser.parse_args()
    if not shutil.which("Xvfb") or not shutil.which("xwininfo"):
        print("skipped: needs Xvfb and xwininfo (apt-get install xvfb x11-utils)")
        return 0
    commands = {"source checkout (python -m cli.main app)": [sys.executable, "-m", "cli.main", "app"]}
    if args.app.is_file():
        commands = {f"frozen bundle ({args.app.relative_to(ROOT) if args.app.is_relative_to(ROOT) else args.app} app)": [str(args.app), "app"], **commands}
    else:
        print(f"no frozen bundle at {args.app} (scripts/package builds it); measuring the checkout only")
    print(f"{'app':52} {'runs':>4} {'first s':>8} {'median s':>9}")
    for label, command in commands.items():
        times = [time_to_window(command) for _ in range(args.runs)]
        print(f"{label:52} {len(times):4d} {times[0]:8.2f} {statistics.median(times):9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
