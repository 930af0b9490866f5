"""The Models tab: every bundle trained here or opened on the desk, compared two at a time, one active for the desk.

The rows come from the model registry (app/storage/model_registry.py) on a worker thread, like
every database access. Comparing shows the two data cards' test figures side by side and says
plainly when they were not tested on the same dives. Making a model active loads it on the desk;
analyses already stored keep naming the model they were made with. Rename, delete (asked first;
never the desk's model), export to a ``.zip`` or folder, and import a bundle someone sent all run
through the registry on a worker; what goes wrong is one line in the status.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.file_dialogs import choose_file
from app.storage.model_registry import (
    ModelRow,
    activate,
    compare,
    delete_model,
    export_bundle,
    import_bundle,
    list_models,
    register_bundle,
    rename,
    same_test_dives,
)
from app.workers import Task, run_task
from aqa_core.option_names import model_label
from aqa_core.paths import user_data_dir

COLUMNS = ("Model", "Trained on", "Test dives", "Test ρ", "Test relative ℓ2", "Active", "Folder")
BUNDLE_FILTER = "Model bundles (*.zip);;All files (*)"


def imported_models() -> Path:
    """Where imported bundles live (inside the app's data folder, so deleting one may remove its files)."""
    return user_data_dir() / "models"


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
        self.rename_button, self.delete_button = QPushButton("Rename…"), QPushButton("Delete…")
        self.export_button, self.import_button = QPushButton("Export…"), QPushButton("Import a model someone sent…")
        self.compare_button.clicked.connect(self.compare_selected)
        self.activate_button.clicked.connect(self.activate_selected)
        self.rename_button.clicked.connect(self.rename_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.export_button.clicked.connect(self.export_selected)
        self.import_button.clicked.connect(self.import_file)
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
        for button in (self.compare_button, self.activate_button, self.rename_button, self.delete_button, self.export_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.comparison_note)
        layout.addWidget(self.comparison, 2)
        self._update_buttons()

    def _background(self, fn: Any, label: str, done: Any) -> None:
        task = run_task(fn, label, lambda value: (self._tasks.remove(task), done(value)),
                        lambda message: (self._tasks.remove(task), self.status.setText(message)), engine=True)
        self._tasks.append(task)

    def set_database(self, db: Any) -> None:
        self.db = db
        self._update_buttons()
        self.refresh()

    def refresh(self, said: str = "") -> None:
        """List the entries again; ``said`` (what an action just did) stays in the status instead of the count."""
        if self.db is not None:
            db = self.db
            self._background(lambda: list_models(db), "listing the models", lambda rows: self._show(rows, said))

    def register(self, folder: str | Path) -> None:
        """Record a bundle (a finished run, a bundle opened on the desk); a bad folder is one line here."""
        if self.db is None:
            return
        db = self.db
        self._background(lambda: register_bundle(db, folder), f"registering {folder}", lambda _id: self.refresh())

    def _show(self, rows: list[ModelRow], said: str = "") -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            test = row.test
            cells = (row.label, str(row.data_card.get("dataset", "—")), str((row.data_card.get("split_sizes") or {}).get("test", "—")),
                     f"{test['rho']:.3f}" if "rho" in test else "—", f"{test['rl2']:.3f}" if "rl2" in test else "—",
                     "● on the desk" if row.active else "", row.path or "")
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"bundle {model_label(row.name, row.version)}, fingerprint {(row.fingerprint or '?')[:12]}")
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.status.setText(said or (f"{len(rows)} model(s) in this database." if rows else "No models yet: train one, or open a bundle on the desk."))
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
        self.activated.emit(row.path)
        self.refresh(f"{row.label} is now the desk's model; stored analyses keep the model they were made with.")

    # --- managing bundles ----------------------------------------------------------------------
    def ask_text(self, title: str, label: str, text: str) -> str | None:
        value, ok = QInputDialog.getText(self, title, label, text=text)
        return value if ok else None

    def ask_yes(self, question: str) -> bool:
        answer = QMessageBox.question(self, "Delete a model", question, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                                      QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def ask_export_target(self, suggested: str) -> str:
        return QFileDialog.getSaveFileName(self, "Export the model (a .zip to send, or a folder name)", suggested, BUNDLE_FILTER)[0]

    def ask_import_source(self) -> str:
        return choose_file(self, "Import a model bundle someone sent", "models", BUNDLE_FILTER)

    def _one(self, doing: str) -> ModelRow | None:
        chosen = self.selected()
        if len(chosen) != 1 or self.db is None:
            self.status.setText(f"Select one model to {doing}.")
            return None
        return chosen[0]

    def rename_selected(self) -> None:
        row = self._one("rename")
        name = None if row is None else self.ask_text("Rename the model", f"The club's name for {model_label(row.name, row.version)} "
                                                      "(blank: its own name):", row.display_name or "")
        if row is None or name is None:
            return
        db = self.db
        self._background(lambda: rename(db, row.id, name), f"renaming {row.label}",
                         lambda renamed: self.refresh(f"Renamed to '{renamed.label}' (the bundle itself is unchanged)."))

    def delete_selected(self) -> None:
        row = self._one("delete")
        if row is None:
            return
        if row.active:  # never silently: the desk would be left without the model it shows
            self.status.setText(f"{row.label} is the desk's model; make another one active before deleting it.")
            return
        owned = user_data_dir()
        where = ("its files in the app's data folder are removed" if row.path and Path(row.path).resolve().is_relative_to(owned.resolve())
                 else f"its folder {row.path} is left where it is")
        if not self.ask_yes(f"Delete {row.label}? It leaves this list and {where}; analyses made with it keep their model record."):
            return
        db = self.db

        def deleted(result: tuple[ModelRow, Path | None]) -> None:
            gone, folder = result
            self.refresh(f"Deleted {gone.label}" + (f" and its files ({folder})." if folder else f"; its folder {gone.path} is untouched."))

        self._background(lambda: delete_model(db, row.id, owned), f"deleting {row.label}", deleted)

    def export_selected(self) -> None:
        row = self._one("export")
        if row is None:
            return
        target = self.ask_export_target(str(Path.home() / f"{row.name}-{row.version}.zip"))
        if not target:
            return
        source = row.path or ""
        self._background(lambda: export_bundle(source, target), f"exporting {row.label}",
                         lambda out: self.status.setText(f"Exported {row.label} to {out}."))

    def import_file(self) -> None:
        if self.db is None:
            self.status.setText("Open a sessions database before importing a model.")
            return
        source = self.ask_import_source()
        if not source:
            return
        db, into = self.db, imported_models()
        self.status.setText(f"Checking {source}…")
        self._background(lambda: import_bundle(db, source, into), f"importing {source}",
                         lambda row: self.refresh(f"Imported {row.label}; select it and use it on the desk when you want."))

    def _update_buttons(self) -> None:
        count = len(self.table.selectionModel().selectedRows()) if self.table.selectionModel() else 0
        self.compare_button.setEnabled(count == 2)
        self.activate_button.setEnabled(count == 1)
        for button in (self.rename_button, self.delete_button, self.export_button):
            button.setEnabled(count == 1)
        self.import_button.setEnabled(self.db is not None)
