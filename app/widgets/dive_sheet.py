"""The dive sheet (event, height, panel, diver, dive number, DD, round, note) and the model selector.

The widget only collects what the judge types and shows what the rules answer (the dive in
words, the DD looked up, or the reason it is refused); validation itself is the command's job
(app/commands.py), so a typed sheet and a scripted one go through the same rules.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from aqa_core.data_card import describe_data_card
from aqa_core.option_names import method_name, model_label
from aqa_core.result import DiveInfo
from app.state import DiveSheet

HEIGHT_NAMES = {1.0: "1 m springboard", 3.0: "3 m springboard", 5.0: "5 m platform", 7.5: "7.5 m platform", 10.0: "10 m platform"}
SYNTHETIC_WARNING = "Synthetic dives only: a demo, not a judge."  # one line in the dock at 1280x800
PANELS = {"individual": (5, 7), "synchronised": (9, 11)}


def data_card_text(bundle: Any) -> str:
    """A short, honest description of what the model was trained on."""
    card = dict(bundle.data_card)
    lines = [f"<b>{html.escape(model_label(bundle.name, bundle.version))}</b> ({html.escape(str(method_name(bundle.config)))} method)"]
    if card.get("synthetic"):
        lines.append(f"<span style='color:#b05000'>{SYNTHETIC_WARNING}</span>")
    lines.append(html.escape(describe_data_card(card)))
    if card.get("date"):
        lines.append(f"trained {html.escape(str(card['date'])[:10])}")
    return "<br>".join(lines)


def parse_tags(text: str) -> tuple[str, ...]:
    """Comma-separated tags, trimmed, each once, sorted as the database lists them (at most 60 characters each)."""
    tags: list[str] = []
    for tag in (t.strip()[:60] for t in text.split(",")):
        if tag and tag.lower() not in (t.lower() for t in tags):
            tags.append(tag)
    return tuple(sorted(tags))


def format_dd(difficulty: float | None) -> str:
    """DD as the rules print it, one decimal (3.0, not 3); empty when there is none."""
    return "" if difficulty is None else f"{difficulty:.1f}"


class DiveSheetWidget(QWidget):
    sheet_edited = Signal(object)  # DiveSheet
    choose_model_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.event_box = QComboBox()
        self.event_box.addItems(list(PANELS))
        self.height_box = QComboBox()
        for value, name in HEIGHT_NAMES.items():
            self.height_box.addItem(name, value)
        self.panel = QComboBox()
        self.diver = QLineEdit()
        self.diver.setPlaceholderText("diver's name")
        self.dive_number = QLineEdit()
        self.dive_number.setPlaceholderText("e.g. 107B")
        self.description = QLabel("")
        self.dd = QLineEdit()
        self.dd.setPlaceholderText("looked up")
        self.round = QSpinBox()
        self.round.setRange(1, 12)
        self.note = QLineEdit()
        self.note.setPlaceholderText("note on this dive (saved with it)")
        self.tags = QLineEdit()
        self.tags.setPlaceholderText("tags, comma separated (e.g. entry, training)")
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #c02020;")
        # Two fields a row where they belong together (the panel with its event, the round with the diver,
        # the DD with the dive): the whole sheet and the model card fit the dock of a 1280x800 window.
        self.dd.setMaximumWidth(60)
        self.round.setMaximumWidth(56)
        form = QFormLayout()
        form.addRow("Event", self._pair(self.event_box, None, self.panel))
        form.addRow("Height", self.height_box)
        form.addRow("Diver", self._pair(self.diver, "Round", self.round))
        form.addRow("Dive", self._pair(self.dive_number, "DD", self.dd))
        # The dive in words, or why the sheet is refused (never both): one row, so the sheet keeps its height
        # and the dock column, split once when the desk shows, never scrolls the model card away later.
        self.description.setWordWrap(True)
        answer = QHBoxLayout()
        answer.addWidget(self.description, 1)
        answer.addWidget(self.problem, 1)
        form.addRow("", answer)
        form.addRow("Note", self.note)
        form.addRow("Tags", self.tags)
        # One unwrapped line each, the data card in their tooltips: a wrapped label's height is underestimated
        # by the dock column, which then cut the box's bottom (the button, the synthetic-dives warning) at
        # 1280x800 (seen under Xvfb).
        self.model_label = QLabel("No model loaded")
        self.model_warning = QLabel("")  # what the data card warns of (synthetic dives)
        self.model_warning.setMinimumHeight(self.model_warning.fontMetrics().lineSpacing())
        self.model_warning.setStyleSheet("color: #b05000;")
        for label in (self.model_label, self.model_warning):
            # A long model name is cut at the column's edge (the whole name is in the tooltip's data card)
            # instead of widening the dock column past a 1280 px screen ("club-musdl v20261202-141122").
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.model_button = QPushButton("Change…")  # short: the model's name beside it keeps the room
        self.model_button.setToolTip("The Models tab: the models this club has, and which one the desk uses")
        model_layout = QGridLayout()  # the name beside the button, the warning the whole width below them
        model_layout.setContentsMargins(6, 4, 6, 4)
        model_layout.addWidget(self.model_label, 0, 0)
        model_layout.addWidget(self.model_button, 0, 1)
        model_layout.addWidget(self.model_warning, 1, 0, 1, 2)
        model_layout.setColumnStretch(0, 1)
        model_box = QGroupBox()  # its text names the model: no title line
        model_box.setLayout(model_layout)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)  # the dock around it is titled "Dive sheet"
        layout.addLayout(form)
        layout.addWidget(model_box)
        self._filling = False
        self.sheet = DiveSheet()
        self._fill_panels(self.sheet.event)
        self.event_box.currentTextChanged.connect(self._on_event)
        self.height_box.currentIndexChanged.connect(lambda _: self._emit(difficulty=None))
        self.panel.currentIndexChanged.connect(lambda _: self._emit())
        self.diver.editingFinished.connect(self._emit)
        self.dive_number.editingFinished.connect(lambda: self._emit(difficulty=None))
        self.dd.editingFinished.connect(self._on_dd)
        self.round.valueChanged.connect(lambda _: self._emit())
        self.note.editingFinished.connect(self._emit)
        self.tags.editingFinished.connect(self._emit)
        self.model_button.clicked.connect(self.choose_model_requested)

    @staticmethod
    def _pair(first: QWidget, label: str | None, second: QWidget) -> QHBoxLayout:
        """Two fields in one form row: ``first`` takes the spare width, ``second`` (after ``label``) keeps its own."""
        row = QHBoxLayout()
        row.addWidget(first, 1)
        if label:
            row.addWidget(QLabel(label))
        row.addWidget(second)
        return row

    def _fill_panels(self, event: str) -> None:
        self.panel.clear()
        for size in PANELS.get(event, (7,)):
            self.panel.addItem(f"{size} judges", size)

    def set_sheet(self, sheet: DiveSheet) -> None:
        """Show ``sheet`` without echoing it back as an edit."""
        self._filling = True
        self.sheet = sheet
        self.event_box.setCurrentText(sheet.event)
        self._fill_panels(sheet.event)
        self.panel.setCurrentIndex(max(0, self.panel.findData(sheet.panel_size)))
        self.height_box.setCurrentIndex(max(0, self.height_box.findData(sheet.height)))
        self.diver.setText(sheet.diver)
        self.dive_number.setText(sheet.dive_number)
        self.round.setValue(sheet.round)
        self.note.setText(sheet.note)
        self.tags.setText(", ".join(sheet.tags))
        self.dd.setText(format_dd(sheet.difficulty))  # a looked-up DD is filled in by show_validation
        self._filling = False

    def show_validation(self, info: DiveInfo | None, problem: str) -> None:
        """The rules' answer for the sheet on screen; a refused sheet shows no stale description or DD."""
        self.problem.setText(problem)
        self.description.setText(info.description or "" if info is not None else "")
        self.dd.setText(format_dd(info.difficulty if info is not None else self.sheet.difficulty))

    def show_model(self, bundle: Any, message: str) -> None:
        """The model's name and (if so) its synthetic-data warning; the whole data card in the tooltip and Help ▸ About."""
        if bundle is None:
            self.model_label.setText(f"<b>{message}</b>")
            self.model_label.setToolTip("")
            self.model_warning.setText("")
            return
        card = data_card_text(bundle)
        self.model_label.setText(f"<b>{html.escape(model_label(bundle.name, bundle.version))}</b> "
                                 f"({html.escape(str(method_name(bundle.config)))})")
        self.model_warning.setText(SYNTHETIC_WARNING if dict(bundle.data_card).get("synthetic") else "")
        for label in (self.model_label, self.model_warning):
            label.setToolTip(card + "<br><i>(also in Help ▸ About)</i>")

    def _on_event(self, event: str) -> None:
        if self._filling:
            return
        self._filling = True
        self._fill_panels(event)
        self._filling = False
        self._emit()

    def _on_dd(self) -> None:
        text = self.dd.text().strip().replace(",", ".")
        try:
            value = float(text) if text else None
        except ValueError:
            self.problem.setText(f"DD '{text}' is not a number")
            self.description.setText("")
            return
        self._emit(difficulty=value)

    def _emit(self, **overrides: Any) -> None:
        if self._filling:
            return
        fields: dict[str, Any] = {
            "event": self.event_box.currentText(),
            "height": float(self.height_box.currentData()),
            "panel_size": int(self.panel.currentData() or PANELS[self.event_box.currentText()][0]),
            "diver": self.diver.text().strip(),
            "dive_number": self.dive_number.text().strip().upper(),
            "round": self.round.value(),
            "note": self.note.text().strip(),
            "tags": parse_tags(self.tags.text()),
        }
        fields.update(overrides)
        self.sheet = self.sheet.with_changes(**fields)
        self.sheet_edited.emit(self.sheet)
