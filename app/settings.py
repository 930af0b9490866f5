"""User preferences kept in QSettings: keyboard shortcuts, recent files and where Open dialogs start.

Shortcuts are looked up by action name so the menus, the help overlay and the settings dialog
all read the same binding; a judge who rebinds "play" sees the new key everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

ORGANISATION = "aqa-judge"
APPLICATION = "AQA Judge Assistant"
MAX_RECENT = 10


@dataclass(frozen=True)
class ShortcutSpec:
    action: str
    label: str
    default: str


SHORTCUTS: tuple[ShortcutSpec, ...] = (
    ShortcutSpec("play_pause", "Play / pause", "Space"),
    ShortcutSpec("step_forward", "Next frame", "Right"),
    ShortcutSpec("step_back", "Previous frame", "Left"),
    ShortcutSpec("jump_forward", "Forward 1 s", "Shift+Right"),
    ShortcutSpec("jump_back", "Back 1 s", "Shift+Left"),
    ShortcutSpec("slower", "Slower (J)", "J"),
    ShortcutSpec("pause", "Pause (K)", "K"),
    ShortcutSpec("faster", "Faster (L)", "L"),
    ShortcutSpec("go_start", "First frame", "Home"),
    ShortcutSpec("go_end", "Last frame", "End"),
    ShortcutSpec("toggle_loop", "Loop the dive window", "Ctrl+L"),
    ShortcutSpec("full_screen", "Full screen", "F11"),
    ShortcutSpec("help", "Show shortcuts", "F1"),
    ShortcutSpec("open_video", "Open video", "Ctrl+O"),
    ShortcutSpec("export_frame", "Export frame (PNG)", "Ctrl+E"),
    ShortcutSpec("cancel_analysis", "Cancel analysis", "Escape"),
    ShortcutSpec("quit", "Quit", "Ctrl+Q"),
)


def settings() -> QSettings:
    return QSettings(ORGANISATION, APPLICATION)


def shortcut(action: str) -> str:
    """The key sequence bound to ``action`` (the user's binding, else the default)."""
    spec = next(s for s in SHORTCUTS if s.action == action)
    value = settings().value(f"shortcuts/{action}", spec.default)
    return str(value) if value else spec.default


def set_shortcut(action: str, sequence: str) -> None:
    settings().setValue(f"shortcuts/{action}", sequence)


def recent_files() -> list[str]:
    value = settings().value("recent_files", [])
    if isinstance(value, str):  # QSettings returns a bare string for a one-item list
        value = [value]
    return [str(v) for v in (value or [])]


def add_recent_file(path: str) -> list[str]:
    files = [path] + [f for f in recent_files() if f != path]
    files = files[:MAX_RECENT]
    settings().setValue("recent_files", files)
    return files


# Where each kind of Open dialog starts when nothing was chosen yet: a club PC's videos are in its
# videos folder; everything else in its documents.
_FIRST_FOLDERS = {"videos": QStandardPaths.StandardLocation.MoviesLocation}


def start_folder(kind: str) -> str:
    """The folder an Open dialog of ``kind`` starts in: the one the last such choice was in, else the
    user's videos (for videos) or documents folder, else home; never the program's working folder
    (every dialog started there: the install folder, or wherever the app was started from)."""
    remembered = settings().value(f"folders/{kind}", "")
    if remembered and Path(str(remembered)).is_dir():
        return str(remembered)
    location = _FIRST_FOLDERS.get(kind, QStandardPaths.StandardLocation.DocumentsLocation)
    folder = QStandardPaths.writableLocation(location)
    return folder if folder and Path(folder).is_dir() else str(Path.home())


def remember_folder(kind: str, chosen: str | Path) -> None:
    """``chosen`` (a file, or a folder itself) was picked: the next ``kind`` dialog starts beside it."""
    path = Path(chosen)
    folder = path if path.is_dir() else path.parent
    if folder.is_dir():
        settings().setValue(f"folders/{kind}", str(folder))
