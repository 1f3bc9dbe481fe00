"""Alembic, run in code: the store's schema is brought to ``head`` when it is opened.

There is no alembic.ini: the configuration is built here and the scripts live in the
package (``ctop_node/store/migrations``), so an installed node migrates its own database.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from ctop_node.store._engine import SQLITE_BEGIN
from ctop_node.store._errors import translated

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Key of the PostgreSQL advisory lock that serialises nodes migrating the same schema.
_PG_LOCK_KEY = 0x4354_4F50  # "CTOP"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with translated("read the schema revision"), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _locked(conn: Connection) -> Connection:
    if conn.dialect.name == "postgresql":
        # Two nodes opening one database at once must not both create the tables.
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:k, hashtext(current_schema()))"),
            {"k": _PG_LOCK_KEY},
        )
    return conn


def upgrade(engine: Engine, revision: str = "head") -> None:
    with translated("migrate the database"), engine.connect() as conn:
        conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        with conn.begin():
            command.upgrade(alembic_config(_locked(conn)), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with translated("downgrade the database"), engine.connect() as conn:
        conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        with conn.begin():
            command.downgrade(alembic_config(_locked(conn)), revision)
