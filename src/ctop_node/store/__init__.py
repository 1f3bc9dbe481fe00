"""The record store: records and their versions, the ingest log and the outbox.

``open_store(url)`` gives a ``RecordStore`` (see ``interfaces``) on SQLite or PostgreSQL,
with its schema brought up to date by the Alembic revisions shipped in ``migrations``.
"""

from __future__ import annotations

from ctop_node.errors import StorageError
from ctop_node.store import migrate as _migrate
from ctop_node.store._engine import create_store_engine, parse_url, sqlite_path
from ctop_node.store._report_sql import ManifestEntry, Period
from ctop_node.store.sql import SqlStore

__all__ = ["ManifestEntry", "Period", "SqlStore", "open_store"]


def open_store(url: str, *, migrate: bool = True, create: bool = True) -> SqlStore:
    """Open the store at ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``).

    SQLite: the file's directory is created, and each connection uses WAL,
    ``synchronous=NORMAL``, foreign keys and a busy timeout. ``migrate`` runs
    ``alembic upgrade head``; ``create=False`` refuses a SQLite file that does not exist yet
    (``store.missing``), for read-only commands that should not leave an empty database.
    """
    parsed = parse_url(url)
    if not create and parsed.get_backend_name() == "sqlite":
        path = sqlite_path(parsed)
        if path is not None and not path.exists():
            raise StorageError(f"no database at {path}", code="store.missing")
    engine = create_store_engine(url)
    try:
        if migrate:
            _migrate.upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return SqlStore(engine, url)
