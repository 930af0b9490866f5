"""The time of each dive's latest analysis on the dive row, and the coach's drawings.

The sessions browser lists the analysis time so two rows of the same clip (re-scored with
another window or model) can be told apart; like revision 0003's columns it is a copy kept in
step by ``Repository.set_latest_analysis``, so listing never reads the analysis rows.
``drawings_json`` holds the lines and angles drawn on the dive's frames (app/drawings.py).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dive") as batch:
        batch.add_column(sa.Column("analysed_at", sa.DateTime))
        batch.add_column(sa.Column("drawings_json", sa.Text))
    op.execute("UPDATE dive SET analysed_at = (SELECT created_at FROM analysis WHERE analysis.id = dive.latest_analysis_id) "
               "WHERE latest_analysis_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("dive") as batch:
        batch.drop_column("analysed_at")
        batch.drop_column("drawings_json")
