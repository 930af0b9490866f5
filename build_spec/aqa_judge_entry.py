"""The frozen app's entry point (PyInstaller runs this file as ``__main__``).

Why not ``cli/main.py`` directly: three things must happen before anything else in a bundle.
``multiprocessing.freeze_support()`` lets a child process started by the frozen executable (a
DataLoader worker, torch.distributed) run its task instead of a second copy of the app; torch is
imported before Qt because on Windows importing torch after PySide6 fails to load c10.dll (only
for the commands that load Qt: the rest start without torch's seconds); and
a double-click (no arguments) opens the judging desk rather than printing the command's usage.
``faulthandler`` goes first of all: a crash inside Qt or torch (SIGSEGV, SIGABRT) then leaves the
Python stack of every thread on stderr, which is all a club can send back. The windowed Windows
launcher has no stderr, so there it stays off.
"""

import faulthandler
import multiprocessing
import sys

# The commands that load Qt, so torch must come first; the others (the video check beside every
# analysis, `dd`, the trainer child) import torch when they need it, or never.
QT_COMMANDS = ("app", "--self-test")

if __name__ == "__main__":
    if sys.stderr is not None:
        faulthandler.enable(all_threads=True)
    multiprocessing.freeze_support()
    arguments = sys.argv[1:] or ["app"]
    if arguments[0] in QT_COMMANDS:
        import torch  # noqa: F401  - before Qt, see above

    from cli.main import main

    sys.exit(main(arguments))
