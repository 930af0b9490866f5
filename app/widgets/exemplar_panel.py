"""The exemplars a comparison model (CoRe) scored this dive against, one row each, beside the judges.

Each row: the exemplar's id, dive number and DD, its own final score, the relative score the model
predicted against it, and the vote (this dive's final as judged against that exemplar); the match
says why it was chosen (same dive number, same DD, or the nearest DD). Clicking a row asks for the
exemplar beside this dive in Compare (``open_requested``), when the bundle recorded its video and
the file is there; otherwise the panel says why not. A model that does not compare shows nothing.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from aqa_core.result import ExemplarVote, ScoreResult

COLUMNS = ("exemplar", "dive", "DD", "its score", "relative", "vote", "match")
NOT_COMPARING = "This model scores the dive on its own (no exemplars)."


def vote_cells(vote: ExemplarVote) -> list[str]:
    return [vote.exemplar_id, vote.dive_number or "–", f"{vote.difficulty:g}", f"{vote.score:.2f}", f"{vote.relative:+.2f}",
            f"{vote.vote:.2f}", vote.match]


def video_problem(vote: ExemplarVote) -> str | None:
    """Why the exemplar cannot be opened beside the dive, or None."""
    if vote.video is None:
        return f"Exemplar {vote.exemplar_id}: this model carries its features only, not its video."
    if not Path(vote.video).is_file():
        return f"Exemplar {vote.exemplar_id}: its video {vote.video} is not on this computer."
    return None


class ExemplarPanel(QWidget):
    open_requested = Signal(object)  # the ExemplarVote whose dive should open beside this one

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel(NOT_COMPARING)
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("Click an exemplar to open it beside this dive in Compare, synced on the take-off")
        self.table.setMinimumHeight(130)  # four votes without scrolling
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #505050;")
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        self.votes: list[ExemplarVote] = []
        self.table.cellClicked.connect(lambda row, _column: self.choose(row))
        self.set_result(None)

    def set_result(self, result: ScoreResult | None) -> None:
        votes = result.exemplar_votes if result is not None else None
        self.votes = list(votes.votes) if votes is not None else []
        self.table.setRowCount(len(self.votes))
        for row, vote in enumerate(self.votes):
            for column, text in enumerate(vote_cells(vote)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.setVisible(bool(self.votes))
        if votes is None:
            self.summary.setText(NOT_COMPARING)
        else:
            self.summary.setText(f"Final {result.final.score:.2f}: the mean of {len(self.votes)} votes, one per exemplar.")
        self.status.setText(votes.note if votes is not None and votes.note else "")

    def choose(self, row: int) -> None:
        """Ask for the exemplar of ``row`` beside this dive, or say why it cannot be opened."""
        vote = self.votes[row]
        problem = video_problem(vote)
        if problem is not None:
            self.status.setText(problem)
            return
        self.status.setText(f"Opening exemplar {vote.exemplar_id} beside this dive in Compare…")
        self.open_requested.emit(vote)
