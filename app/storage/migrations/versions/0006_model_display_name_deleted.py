"""The model registry's own name for an entry, and entries whose bundle was deleted.

``display_name`` is what the club calls a model in the Models tab (renaming never touches the
bundle, whose name and version the analyses record). ``deleted_at`` marks an entry whose bundle
was deleted: the row stays, so every analysis made with that model still finds its data card.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("model_entry", sa.Column("display_name", sa.String(200)))
    op.add_column("model_entry", sa.Column("deleted_at", sa.DateTime))


def downgrade() -> None:
    with op.batch_alter_table("model_entry") as batch:
        batch.drop_column("deleted_at")
        batch.drop_column("display_name")
