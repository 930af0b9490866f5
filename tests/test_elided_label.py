"""The desk's one-line status: cut to its width with "…", the whole text in the tooltip only when cut."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

from app.widgets.elided_label import ElidedLabel

LONG = "Scored 66.00 in 5.6 s (backbone on cpu, openvino, float32): the whole line the desk would wrap"


def _ask_tooltip(label: ElidedLabel) -> str:
    QToolTip.hideText()
    QApplication.sendEvent(label, QHelpEvent(QEvent.Type.ToolTip, QPoint(5, 5), label.mapToGlobal(QPoint(5, 5))))
    return QToolTip.text() if QToolTip.isVisible() else ""


def test_cut_text_ends_in_an_ellipsis_and_its_tooltip_is_the_whole_text(qtbot) -> None:  # noqa: ANN001
    label = ElidedLabel(LONG)
    qtbot.addWidget(label)
    label.resize(120, 20)
    label.show()
    qtbot.waitExposed(label)
    assert label.shown_text().endswith("…") and len(label.shown_text()) < len(LONG)
    assert label.text() == LONG  # text() stays whole for whoever reads it
    assert _ask_tooltip(label) == LONG


def test_uncut_text_keeps_the_callers_own_tooltip(qtbot) -> None:  # noqa: ANN001
    label = ElidedLabel("Saved")
    label.setToolTip("/home/club/sessions.db")
    qtbot.addWidget(label)
    label.resize(400, 20)
    label.show()
    qtbot.waitExposed(label)
    assert label.shown_text() == "Saved"
    assert _ask_tooltip(label) == "/home/club/sessions.db"
