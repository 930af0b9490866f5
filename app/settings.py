"""User preferences kept in QSettings: keyboard shortcuts and recent files.

Shortcuts are looked up by action name so the menus, the help overlay and the settings dialog
all read the same binding; a judge who rebinds "play" sees the new key everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSettings

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
