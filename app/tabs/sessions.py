"""The sessions browser: every stored dive, filtered, opened straight into the desk.

Opening a dive emits ``open_dive_requested(dive_id)``; the desk then reads
``Repository.latest_analysis(dive_id)`` and redraws the stored analysis without re-scoring.
Selecting two dives and "Compare side by side" emits ``compare_requested(older, newer)``: the
coach's two attempts open in Compare, synced on the entry, each with its stored clip curve.
All queries run on the thread pool (``QueryRunner``); the table is a model over plain rows so
ten thousand dives fill it at once.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QDate, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.storage.background import QueryRunner
from app.storage.database import Database
from app.storage.repository import DiveFilter, DiveRow, FilterChoices, Repository

ANY_DATE = QDate(2000, 1, 1)  # the minimum of the date edits, shown as "any"
ANY_SCORE = -1.0
# "any" in the combo boxes: row ids start at 1 and model names are never empty. Not None:
# PySide6 6.12 on Python 3.11 loses a reference to None on every currentData() returning it.
ANY_ID, ANY_MODEL = 0, ""
FILTER_DELAY_MS = 150  # typing a dive number re-queries once the judge pauses

def local_time(utc: datetime | None) -> str:
    """An analysis time (stored in UTC) as the judge's clock shows it."""
    return "" if utc is None else utc.replace(tzinfo=timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M:%S")


COLUMNS: tuple[tuple[str, Any], ...] = (
    ("Date", lambda r: r.performed_at.strftime("%Y-%m-%d %H:%M")),
    ("Video", lambda r: r.video_name),
    ("Competition", lambda r: r.competition),
    ("Event", lambda r: r.event),
    ("Athlete", lambda r: r.athlete),
    ("Round", lambda r: "" if r.round is None else str(r.round)),
    ("Dive", lambda r: r.dive_number or ""),
    ("Height", lambda r: "" if r.height is None else f"{r.height:g} m"),
    ("DD", lambda r: f"{r.difficulty:.1f}"),
    # the desk's own words: its "Final" line is the model's prediction, its "Real panel" line the judges' final
    ("Predicted final", lambda r: "" if r.predicted_final is None else f"{r.predicted_final:.2f}"),
    ("Real panel", lambda r: "" if r.human_final is None else f"{r.human_final:.2f}"),
    ("Model", lambda r: r.model or ""),
    ("Uncertainty", lambda r: r.uncertainty or ""),
    ("Analysed", lambda r: local_time(r.analysed_at)),
)


def combo_data(combo: QComboBox, default: Any) -> Any:
    """The current item's data, without ever asking Qt for a missing (None) item's data."""
    return combo.currentData() if combo.currentIndex() >= 0 else default


class DiveTableModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[DiveRow] = []

    def set_rows(self, rows: list[DiveRow]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008 (Qt signature)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and index.isValid():
            return COLUMNS[index.column()][1](self.rows[index.row()])
        if role == Qt.ItemDataRole.ToolTipRole and index.isValid():  # the whole text of a cut-off cell
            row = self.rows[index.row()]
            return row.video_path if COLUMNS[index.column()][0] == "Video" else COLUMNS[index.column()][1](row)
        if role == Qt.ItemDataRole.UserRole and index.isValid():
            return self.rows[index.row()].dive_id
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section][0]
        return None


class SessionsBrowser(QWidget):
    """List and filter stored dives; double-click (or Open) asks the desk to show one."""

    open_dive_requested = Signal(int)
    compare_requested = Signal(int, int)  # two stored dives, side by side in Compare (oldest in A)
    loaded = Signal(int)  # number of rows shown, after each query (tests and the status bar)

    def __init__(self, database: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.repository = Repository(database)
        self._rows_query = QueryRunner(self)
        self._choices_query = QueryRunner(self)
        self._rows_query.error.connect(self._show_error)
        self._choices_query.error.connect(self._show_error)
        self._debounce = QTimer(self, singleShot=True, interval=FILTER_DELAY_MS)
        self._debounce.timeout.connect(self.reload_rows)

        self.competition = QComboBox()
        self.athlete = QComboBox()
        self.model_name = QComboBox()
        self.dive_number = QLineEdit(placeholderText="e.g. 407C")
        self.date_from, self.date_to = self._date_edit(), self._date_edit()
        self.score_min, self.score_max = self._score_edit(), self._score_edit()
        self.status = QLabel()
        self.open_button = QPushButton("Open in desk")
        self.open_button.clicked.connect(self._open_current)
        self.compare_button = QPushButton("Compare side by side")
        self.compare_button.setToolTip("Select two dives (Ctrl+click) to open them in Compare, synced on the entry")
        self.compare_button.setEnabled(False)
        self.compare_button.clicked.connect(self._compare_selected)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)

        self.table_model = DiveTableModel()
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)  # two to compare
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setResizeContentsPrecision(100)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # file names differ at the end
        self.table.doubleClicked.connect(lambda index: self.open_dive_requested.emit(self.table_model.data(index, Qt.ItemDataRole.UserRole)))

        left, right = QFormLayout(), QFormLayout()
        left.addRow("Competition", self.competition)
        left.addRow("Athlete", self.athlete)
        left.addRow("Dive number", self.dive_number)
        right.addRow("Model", self.model_name)
        right.addRow("From / to", _row(self.date_from, self.date_to))
        right.addRow("Predicted score", _row(self.score_min, self.score_max))
        filters = QHBoxLayout()
        filters.addLayout(left, 1)
        filters.addLayout(right, 1)
        self.table.selectionModel().selectionChanged.connect(
            lambda *_: self.compare_button.setEnabled(len(self.selected_dives()) == 2))
        buttons = QHBoxLayout()  # the count takes the spare width, the buttons their own
        buttons.addWidget(self.status, 1)
        for button in (refresh, self.compare_button, self.open_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

        for combo in (self.competition, self.athlete, self.model_name):
            combo.currentIndexChanged.connect(self._filters_changed)
        for edit in (self.date_from, self.date_to):
            edit.dateChanged.connect(self._filters_changed)
        for spin in (self.score_min, self.score_max):
            spin.valueChanged.connect(self._filters_changed)
        self.dive_number.textChanged.connect(self._filters_changed)
        self.refresh()

    # --- queries (on the pool) -------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the filter choices and the rows (after a save, an import or a new database)."""
        self._choices_query.submit(self.repository.filter_choices, self._set_choices)
        self.reload_rows()

    def reload_rows(self) -> None:
        filters, repository = self.current_filter(), self.repository
        self.status.setText("Loading…")
        self._rows_query.submit(lambda: repository.list_dives(filters), self._set_rows)

    def set_database(self, database: Database) -> None:
        """Show another sessions database (File → Open session database)."""
        self.repository = Repository(database)
        self.refresh()

    def current_filter(self) -> DiveFilter:
        def day(edit: QDateEdit) -> date | None:
            return None if edit.date() == ANY_DATE else edit.date().toPython()

        def score(spin: QDoubleSpinBox) -> float | None:
            return None if spin.value() == ANY_SCORE else spin.value()

        return DiveFilter(
            competition_id=combo_data(self.competition, ANY_ID) or None,
            athlete_id=combo_data(self.athlete, ANY_ID) or None,
            dive_number=self.dive_number.text().strip() or None,
            date_from=day(self.date_from),
            date_to=day(self.date_to),
            score_min=score(self.score_min),
            score_max=score(self.score_max),
            model_name=combo_data(self.model_name, ANY_MODEL) or None,
        )

    # --- results (on the GUI thread) ------------------------------------------------------

    def _set_choices(self, choices: FilterChoices) -> None:
        for combo, anything, items in (
            (self.competition, ANY_ID, [(c.name, c.id) for c in choices.competitions]),
            (self.athlete, ANY_ID, [(a.name, a.id) for a in choices.athletes]),
            (self.model_name, ANY_MODEL, [(m, m) for m in choices.models]),
        ):
            selected = combo_data(combo, anything)
            combo.blockSignals(True)
            combo.clear()
            combo.addItem("any", anything)
            for text, data in items:
                combo.addItem(text, data)
            combo.setCurrentIndex(max(0, combo.findData(selected)))
            combo.blockSignals(False)

    def _set_rows(self, rows: list[DiveRow]) -> None:
        self.table_model.set_rows(rows)
        self.table.resizeColumnsToContents()  # sampled rows only (precision below): quick with 10,000 dives
        self.status.setText(f"{len(rows)} dive{'s' if len(rows) != 1 else ''}")
        self.loaded.emit(len(rows))

    def _show_error(self, message: str) -> None:
        self.status.setText(message)

    def _filters_changed(self) -> None:
        self._debounce.start()

    def _open_current(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self.open_dive_requested.emit(self.table_model.data(index, Qt.ItemDataRole.UserRole))

    def selected_dives(self) -> list[int]:
        """The selected rows' dive ids, oldest dive first."""
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        chosen = [self.table_model.rows[row] for row in rows if row < len(self.table_model.rows)]
        return [row.dive_id for row in sorted(chosen, key=lambda r: (r.performed_at, r.dive_id))]

    def _compare_selected(self) -> None:
        chosen = self.selected_dives()
        if len(chosen) == 2:
            self.compare_requested.emit(*chosen)

    @staticmethod
    def _date_edit() -> QDateEdit:
        edit = QDateEdit(calendarPopup=True, displayFormat="yyyy-MM-dd")
        edit.setMinimumDate(ANY_DATE)
        edit.setSpecialValueText("any")
        edit.setDate(ANY_DATE)
        return edit

    @staticmethod
    def _score_edit() -> QDoubleSpinBox:
        spin = QDoubleSpinBox(minimum=ANY_SCORE, maximum=200.0, singleStep=5.0, decimals=1)
        spin.setSpecialValueText("any")
        spin.setValue(ANY_SCORE)
        return spin


def _row(*widgets: QWidget) -> QWidget:
    holder = QWidget()
    layout = QHBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget)
    return holder
