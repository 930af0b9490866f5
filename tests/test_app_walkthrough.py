"""What a walk through the app under Xvfb found, each pinned by the behaviour a person relies on."""

from __future__ import annotations

from app_support import app_home, window  # noqa: F401 (fixtures)


def test_show_tab_brings_the_trainer_and_models_tabs_to_the_front(qtbot, window) -> None:  # noqa: ANN001
    """They sit inside placeholder pages (built late), so ``tabs.setCurrentWidget(trainer)`` did nothing and
    the docs' shooting script waited forever for the Trainer tab's options (asked when it is first shown)."""
    for tab in (window.trainer, window.models, window.desk):
        window.show_tab(tab)
        qtbot.waitUntil(tab.isVisible, timeout=5000)
        assert window.tabs.currentWidget() in (tab, tab.parentWidget())
