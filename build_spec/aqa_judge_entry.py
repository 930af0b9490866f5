"""The frozen app's entry point (PyInstaller runs this file as ``__main__``).

Why not ``cli/main.py`` directly: three things must happen before anything else in a bundle.
``multiprocessing.freeze_support()`` lets a child process started by the frozen executable (a
DataLoader worker, torch.distributed) run its task instead of a second copy of the app; torch is
imported before Qt because on Windows importing torch after PySide6 fails to load c10.dll; and
a double-click (no arguments) opens the judging desk rather than printing the command's usage.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    import torch  # noqa: F401  - before Qt, see above

    from cli.main import main

    sys.exit(main(sys.argv[1:] or ["app"]))
