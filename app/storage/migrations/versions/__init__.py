"""Alembic revisions, oldest first: 0001 initial schema, 0002 notes, tags and the model registry, 0003 listing columns on dives."""
