"""Alembic migrations of the sessions database (configured programmatically by app.storage.database)."""
