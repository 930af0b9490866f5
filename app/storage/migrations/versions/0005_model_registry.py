"""The model registry: each entry's bundle fingerprint, and which one the desk uses.

``fingerprint`` is the bundle's own content hash (bundle.json's ``fingerprint``), so the same
bundle copied elsewhere is one entry and a different bundle reusing a name and version is told
apart. ``active`` marks the one entry the desk scores with (at most one; app/storage/model_registry.py).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("model_entry", sa.Column("fingerprint", sa.String(64)))  # SQLite adds columns in place
    op.add_column("model_entry", sa.Column("active", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_index("ix_model_entry_fingerprint", "model_entry", ["fingerprint"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_model_entry_fingerprint", "model_entry")
    with op.batch_alter_table("model_entry") as batch:
        batch.drop_column("active")
        batch.drop_column("fingerprint")
