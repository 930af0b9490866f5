"""Notes and tags on dives, and the registry of model bundles used for analyses.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "note",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("dive_id", sa.Integer, sa.ForeignKey("dive.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index("ix_note_dive_id", "note", ["dive_id"])
    op.create_table(
        "tag",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(60), nullable=False, unique=True),
    )
    op.create_table(
        "dive_tag",
        sa.Column("dive_id", sa.Integer, sa.ForeignKey("dive.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tag_id", sa.Integer, sa.ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_table(
        "model_entry",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.String(60), nullable=False),
        sa.Column("path", sa.Text),
        sa.Column("data_card_json", sa.Text, nullable=False),
        sa.Column("registered_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("name", "version"),
    )


def downgrade() -> None:
    for table in ("model_entry", "dive_tag", "tag", "note"):
        op.drop_table(table)
