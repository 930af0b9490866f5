"""Copy each dive's latest prediction onto the dive row, so the browser never reads analyses.

Analysis rows carry the whole ScoreResult JSON (about 14 kB), and joining 10,000 of them to
fill the sessions browser cost more than the 100 ms budget. The copied columns are kept in step
by ``Repository`` whenever an analysis becomes a dive's latest; this revision fills them in
for databases made before it.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COPIED = ("final_score", "model_name", "model_version", "uncertainty_level")
TARGET = ("predicted_final", "model_name", "model_version", "uncertainty_level")


def upgrade() -> None:
    with op.batch_alter_table("dive") as batch:
        batch.add_column(sa.Column("predicted_final", sa.Float))
        batch.add_column(sa.Column("model_name", sa.String(200)))
        batch.add_column(sa.Column("model_version", sa.String(60)))
        batch.add_column(sa.Column("uncertainty_level", sa.String(10)))
    assignments = ", ".join(f"{target} = (SELECT {source} FROM analysis WHERE analysis.id = dive.latest_analysis_id)" for source, target in zip(COPIED, TARGET))
    op.execute(f"UPDATE dive SET {assignments} WHERE latest_analysis_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("dive") as batch:
        for column in TARGET:
            batch.drop_column(column)
