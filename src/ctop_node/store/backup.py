"""A consistent copy of a node's database while the node runs, and putting one back.

SQLite: the SQLite online backup API (``sqlite3.Connection.backup``) copies a snapshot page by
page while ``serve`` keeps writing (WAL mode). PostgreSQL: ``pg_dump`` of the node's schema in
its custom format (one snapshot transaction), put back with ``pg_restore`` into a database
where that schema does not exist yet (a new server, or after the old schema was dropped); both
tools come with the PostgreSQL client packages and are looked up on PATH.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy.engine import URL

from ctop_node.errors import StorageError
from ctop_node.store._engine import parse_url, sqlite_path

SQLITE_FILE = "node.db"
PG_FILE = "node.pgdump"


@dataclass(frozen=True, slots=True)
class DatabaseCopy:
    kind: str  # "sqlite" | "postgresql"
    file: Path
    schema: str | None = None  # PostgreSQL: the schema the dump holds


def _pg_schema(url: URL) -> str:
    """The schema of a node's PostgreSQL URL: the first of ``options=-csearch_path=...``,
    else ``public``."""
    options = unquote(str(url.query.get("options", "")))
    for part in options.split():
        if part.startswith("-csearch_path="):
            return part.removeprefix("-csearch_path=").split(",")[0].strip() or "public"
    return "public"


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URL for the command-line tools; the password goes by environment, not argv."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise StorageError(
            f"{name} not found: install the PostgreSQL client tools (postgresql-client)",
            code="store.backup.tool",
        )
    return found


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=3600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StorageError(f"{what}: {exc}", code="store.backup.tool") from exc
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise StorageError(f"{what} failed: {reason}", code="store.backup.tool")


def sqlite_files(url: str) -> list[Path]:
    """The files of a SQLite database (with its WAL, shared-memory and journal files); none
    for PostgreSQL."""
    parsed = parse_url(url)
    path = sqlite_path(parsed) if parsed.get_backend_name() == "sqlite" else None
    if path is None:
        return []
    return [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")]


def snapshot(url: str, dest_dir: Path) -> DatabaseCopy:
    """Copy the database at ``url`` into ``dest_dir`` as one consistent snapshot."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(parsed)
        if path is None or not path.exists():
            raise StorageError(f"no database file to back up at {path}", code="store.missing")
        out = dest_dir / SQLITE_FILE
        try:
            src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                dst = sqlite3.connect(out)
                try:
                    src.backup(dst)
                finally:
                    dst.close()
            finally:
                src.close()
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite backup of {path}: {exc}", code="store.backup") from exc
        return DatabaseCopy("sqlite", out)
    schema = _pg_schema(parsed)
    target, env = _libpq(parsed)
    out = dest_dir / PG_FILE
    _run(
        [
            _tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--schema={schema}",
            f"--file={out}",
            f"--dbname={target}",
        ],
        env,
        "pg_dump",
    )
    return DatabaseCopy("postgresql", out, schema)


def restore(copy: DatabaseCopy, url: str) -> None:
    """Put ``copy`` back as the database at ``url`` (a SQLite file that must not exist yet, or
    a PostgreSQL database without the dumped schema)."""
    parsed = parse_url(url)
    kind = "sqlite" if parsed.get_backend_name() == "sqlite" else "postgresql"
    if kind != copy.kind:
        raise StorageError(
            f"the backup holds a {copy.kind} database; {url!r} is {kind}",
            code="store.backup.kind",
        )
    if kind == "sqlite":
        path = sqlite_path(parsed)
        if path is None:
            raise StorageError("cannot restore into an in-memory database", code="store.url")
        if path.exists():
            raise StorageError(f"{path} exists: restore into a new one", code="store.exists")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".restoring")
        shutil.copyfile(copy.file, tmp)
        tmp.replace(path)
        return
    schema = _pg_schema(parsed)
    if copy.schema is not None and schema != copy.schema:
        raise StorageError(
            f"the backup holds schema {copy.schema!r}; the target URL uses {schema!r}: "
            "restore into a URL with the same search_path",
            code="store.backup.schema",
        )
    target, env = _libpq(parsed)
    _run(
        [
            _tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={target}",
            str(copy.file),
        ],
        env,
        "pg_restore",
    )
