"""Engines for the record store: SQLite tuned for one busy writer, PostgreSQL pooled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError

from ctop_node.errors import StorageError
from ctop_node.store._sealed import attach, keyring_for

# Seconds a SQLite writer waits for another one before giving up with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 10_000

# Execution option: how a SQLite transaction begins. Writers ask for IMMEDIATE so that their
# reads (the heads of a batch) and writes are serialised against other processes.
SQLITE_BEGIN = "ctop_sqlite_begin"


def parse_url(url: str) -> URL:
    try:
        return make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise StorageError(f"bad database URL {url!r}: {exc}", code="store.url") from exc


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL, or None for in-memory databases."""
    db = url.database
    if not db or db == ":memory:" or db.startswith("file:") or url.query.get("mode") == "memory":
        return None
    return Path(db)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the sqlite3 module (it would not BEGIN before a SELECT
    # nor around DDL); SQLAlchemy's "begin" event below emits BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def create_store_engine(url: str) -> Engine:
    parsed = parse_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            path = sqlite_path(parsed)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed)
            event.listen(engine, "connect", _sqlite_on_connect)
            event.listen(engine, "begin", _sqlite_on_begin)
            attach(engine.dialect, keyring_for(url))
            return engine
        # No server-side prepared statements: a plan prepared while a table was nearly empty
        # (a sequential scan for the heads lookup) stayed in use as the table grew, and made
        # batches ~5x slower by 20,000 records.
        engine = create_engine(parsed, pool_pre_ping=True, connect_args={"prepare_threshold": None})
        attach(engine.dialect, keyring_for(url))  # encryption at rest of record content
        return engine
    except OSError as exc:
        raise StorageError(
            f"cannot create the database directory for {url}: {exc}", code="store.unavailable"
        ) from exc
    except (ArgumentError, ImportError, TypeError) as exc:  # unknown dialect or driver
        raise StorageError(f"cannot use database URL {url!r}: {exc}", code="store.url") from exc
