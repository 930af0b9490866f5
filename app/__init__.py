"""The desktop app (PySide6): judging desk, sessions, statistics; the only layer that imports Qt."""
