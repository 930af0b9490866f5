"""The Models tab: every bundle trained here or opened on the desk, compared two at a time, one active for the desk.

The rows come from the model registry (app/storage/model_registry.py) on a worker thread, like
every database access. Comparing shows the two data cards' test figures side by side and says
plainly when they were not tested on the same dives. Making a model active loads it on the desk;
analyses already stored keep naming the model they were made with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QLabel, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from app.storage.model_registry import ModelRow, activate, compare, list_models, register_bundle, same_test_dives
from app.workers import Task, run_task

COLUMNS = ("Model", "Trained on", "Test dives", "Test ρ", "Test relative ℓ2", "Active", "Folder")


class ModelsTab(QWidget):
    activated = Signal(str)  # the bundle folder the desk should now use

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db: Any = None
        self.rows: list[ModelRow] = []
        self._tasks: list[Task] = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.compare_button = QPushButton("Compare the two selected")
        self.activate_button = QPushButton("Use the selected model on the desk")
        self.compare_button.clicked.connect(self.compare_selected)
        self.activate_button.clicked.connect(self.activate_selected)
        self.status = QLabel("Open a sessions database to see its models.")
        self.status.setWordWrap(True)
        self.comparison = QTableWidget(0, 3)
        self.comparison.setHorizontalHeaderLabels(("Test figure", "", ""))
        self.comparison.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.comparison.horizontalHeader().setStretchLastSection(True)
        self.comparison.hide()  # until two models are compared
        self.comparison_note = QLabel("")
        self.comparison_note.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.compare_button)
        buttons.addWidget(self.activate_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 2)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.comparison_note)
        layout.addWidget(self.comparison, 1)
        self._update_buttons()

    def _background(self, fn: Any, label: str, done: Any) -> None:
        task = run_task(fn, label, lambda value: (self._tasks.remove(task), done(value)),
                        lambda message: (self._tasks.remove(task), self.status.setText(message)))
        self._tasks.append(task)

    def set_database(self, db: Any) -> None:
        self.db = db
        self.refresh()

    def refresh(self) -> None:
        if self.db is not None:
            db = self.db
            self._background(lambda: list_models(db), "listing the models", self._show)

    def register(self, folder: str | Path) -> None:
        """Record a bundle (a finished run, a bundle opened on the desk); a bad folder is one line here."""
        if self.db is None:
            return
        db = self.db
        self._background(lambda: register_bundle(db, folder), f"registering {folder}", lambda _id: self.refresh())

    def _show(self, rows: list[ModelRow]) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            test = row.test
            cells = (row.label, str(row.data_card.get("dataset", "—")), str((row.data_card.get("split_sizes") or {}).get("test", "—")),
                     f"{test['rho']:.3f}" if "rho" in test else "—", f"{test['rl2']:.3f}" if "rl2" in test else "—",
                     "● on the desk" if row.active else "", row.path or "")
            for j, text in enumerate(cells):
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.status.setText(f"{len(rows)} model(s) in this database." if rows else "No models yet: train one, or open a bundle on the desk.")
        self._update_buttons()

    def selected(self) -> list[ModelRow]:
        return [self.rows[i] for i in sorted({index.row() for index in self.table.selectionModel().selectedRows()})]

    def select(self, *indices: int) -> None:
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for index in indices:
            self.table.selectRow(index)
        self.table.setSelectionMode(mode)

    def compare_selected(self) -> None:
        chosen = self.selected()
        if len(chosen) != 2:
            self.status.setText("Select exactly two models to compare.")
            return
        a, b = chosen
        table = compare(a, b)
        self.comparison.setRowCount(len(table))
        self.comparison.setHorizontalHeaderLabels(("Test figure", a.label, b.label))
        for i, cells in enumerate(table):
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
                self.comparison.setItem(i, j, item)
        self.comparison.resizeColumnsToContents()
        self.comparison.show()
        self.comparison_note.setText(
            "Tested on the same dives: the figures compare directly." if same_test_dives(a, b)
            else "Not tested on the same dives (another dataset or split): these figures do not compare directly."
        )

    def activate_selected(self) -> None:
        chosen = self.selected()
        if len(chosen) != 1 or self.db is None:
            self.status.setText("Select one model to use on the desk.")
            return
        row, db = chosen[0], self.db
        if not row.path or not (Path(row.path) / "bundle.json").is_file():
            self.status.setText(f"{row.label}: its bundle is no longer at {row.path}")
            return
        self._background(lambda: activate(db, row.id), f"activating {row.label}", self._activated)

    def _activated(self, row: ModelRow) -> None:
        self.status.setText(f"{row.label} is now the desk's model; stored analyses keep the model they were made with.")
        self.activated.emit(row.path)
        self.refresh()

    def _update_buttons(self) -> None:
        count = len(self.table.selectionModel().selectedRows()) if self.table.selectionModel() else 0
        self.compare_button.setEnabled(count == 2)
        self.activate_button.setEnabled(count == 1)
