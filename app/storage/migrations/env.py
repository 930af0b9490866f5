"""Alembic environment: runs on the connection that ``app.storage.database`` hands over.

There is no alembic.ini: the app configures Alembic in code so migrations work the same from a
source checkout, an installed wheel or a frozen build, always on the database being opened.
"""

from __future__ import annotations

from alembic import context

from app.storage.models import Base

connection = context.config.attributes["connection"]
# render_as_batch: SQLite cannot ALTER most things, so later revisions copy-and-move tables.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
