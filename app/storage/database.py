"""Opening a sessions database: checks, WAL and foreign keys, migration with a backup first.

``open_database`` is the one way in (the app's File → Open/New session database, the CLI, the
tests). It refuses a file that is not ours with a clear message, migrates an older database to
the newest schema only after copying it aside, and hands out one transaction per user action
(``Database.transaction``). Every SQLite failure leaves as a ``StorageError`` naming the file.

Alembic is imported only to migrate (or to list the revisions): importing it costs about as much as
the rest of ``aqa-judge sessions export``, and a database already at ``SCHEMA_HEAD`` is recognised
with one query on its version table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path

from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from aqa_core.paths import user_data_dir

from .errors import StorageError

if TYPE_CHECKING:
    from alembic.config import Config

DEFAULT_FILENAME = "sessions.sqlite"
SQLITE_MAGIC = b"SQLite format 3\x00"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The newest migration's revision (migrations/versions/): bump it with every new migration;
# test_storage_migrations checks that it is Alembic's head, so a database at it needs no migrating.
SCHEMA_HEAD = "0006"
VERSION_TABLE = "alembic_version"  # Alembic's default, which migrations/env.py keeps


def default_database_path() -> Path:
    """The sessions database in the user data folder (``$AQA_JUDGE_HOME`` in tests)."""
    return user_data_dir() / DEFAULT_FILENAME


def storage_error(path: Path, exc: BaseException, action: str) -> StorageError:
    """Turn an SQLite failure into one line that says which file and what to do."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    if "not a database" in text or "malformed" in text:
        reason = "is not an AQA Judge sessions database (not a readable SQLite file)"
    elif "locked" in text or "busy" in text:
        reason = "is locked by another program (another AQA Judge window?); close it or try again"
    elif "full" in text:
        reason = "cannot grow: the disk (or the database size limit) is full; the last change was not saved, earlier ones are intact"
    elif "readonly" in text or "read-only" in text or "unable to open" in text or "permission" in text:
        reason = "cannot be written: the file or its folder is read-only or missing"
    elif "immutable" in text:
        reason = "refused the change: analyses are immutable, re-score to add a new one"
    else:
        reason = f"failed: {getattr(exc, 'orig', None) or exc}"
    return StorageError(f"{path}: {reason} (while {action})")


def _alembic_config(connection: object | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def schema_revisions() -> list[str]:
    """Every schema revision this app knows, oldest first (the last one is the head), as Alembic reads them."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(_alembic_config()).walk_revisions()
    return [script.revision for script in scripts][::-1]


def head_revision() -> str:
    return schema_revisions()[-1]


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run Alembic on ``engine`` up to ``revision`` (tests build old databases with this)."""
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), revision)


def backup_copy(path: Path, label: str) -> Path:
    """Copy a live database (WAL included) with SQLite's backup API, beside the original."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.stem}.backup-{label}-{stamp}{path.suffix}")
    with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
    return target


def make_engine(path: Path, busy_timeout_s: float = 5.0) -> Engine:
    """An engine with foreign keys on, WAL journal and explicit BEGINs.

    pysqlite's own transaction handling is switched off so SQLAlchemy's BEGIN is the real
    one; writers use BEGIN IMMEDIATE so a busy database is reported at the start of an action,
    never halfway through it.
    """
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": busy_timeout_s})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


class Database:
    """An open sessions database: its path, its engine and transactions per user action."""

    def __init__(self, path: Path, engine: Engine, backup: Path | None = None) -> None:
        self.path = path
        self.engine = engine
        self.backup = backup  # the copy taken before migrating, if this open migrated
        self._writer = sessionmaker(engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False)
        self._reader = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def transaction(self, action: str = "saving") -> Iterator[Session]:
        """One user action = one transaction: all of it is saved, or none of it."""
        try:
            with self._writer() as session, session.begin():
                yield session
        except (SQLAlchemyError, sqlite3.Error) as exc:
            raise storage_error(self.path, exc, action) from exc

    @contextmanager
    def reading(self, action: str = "reading") -> Iterator[Session]:
        try:
            with self._reader() as session, session.begin():
                yield session
        except (SQLAlchemyError, sqlite3.Error) as exc:
            raise storage_error(self.path, exc, action) from exc

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise StorageError(f"{path}: is a folder, not a sessions database file")
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as handle:
            if handle.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
                raise StorageError(f"{path}: is not an AQA Judge sessions database (not an SQLite file)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"{path}: cannot create its folder ({exc.strerror})") from exc


def _current_revision(engine: Engine, path: Path) -> str | None:
    """The schema revision recorded in the version table (None: a new, empty database), read with plain SQL."""
    with engine.connect() as connection:
        tables = {name for (name,) in connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
        rows = connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").fetchall() if VERSION_TABLE in tables else []
    if len(rows) > 1:
        raise StorageError(f"{path}: records {len(rows)} schema versions at once, which no AQA Judge writes; refusing it")
    revision = rows[0][0] if rows else None
    if revision is None and tables - {VERSION_TABLE}:
        raise StorageError(f"{path}: is an SQLite database of another program (no AQA Judge schema version)")
    return revision


def open_database(path: str | Path | None = None, busy_timeout_s: float = 5.0) -> Database:
    """Open (creating if needed) a sessions database and bring its schema up to date.

    An older database is first copied beside itself (``<name>.backup-<revision>-<time>``)
    so an interrupted or faulty migration never costs a club its sessions.
    """
    path = Path(path).expanduser().absolute() if path is not None else default_database_path()
    _check_file(path)
    engine = make_engine(path, busy_timeout_s)
    backup, head = None, SCHEMA_HEAD
    try:
        current = _current_revision(engine, path)
        if current != SCHEMA_HEAD:  # at the head (every open but the first after an update) Alembic is not imported
            head = head_revision()
        if current != head:
            if current is not None and current not in schema_revisions():
                raise StorageError(f"{path}: was made by a newer AQA Judge (schema {current}); update the app to open it")
            if current is not None:
                backup = backup_copy(path, current)
            upgrade(engine)
    except (DBAPIError, sqlite3.Error, OSError) as exc:
        engine.dispose()
        action = f"updating it from schema {current} to {head}; it is unchanged, and a copy is at {backup}" if backup else "opening"
        raise storage_error(path, exc, action) from exc
    except StorageError:
        engine.dispose()
        raise
    return Database(path, engine, backup)


__all__ = [
    "Database",
    "StorageError",
    "backup_copy",
    "default_database_path",
    "head_revision",
    "open_database",
    "schema_revisions",
    "upgrade",
]
