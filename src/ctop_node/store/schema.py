"""Tables of the record store (SQLAlchemy Core), the same on SQLite and PostgreSQL.

This is the current shape of the database; the Alembic revisions under ``migrations/``
build it step by step and are checked against it by the tests. Change both together.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so later revisions can refer to them on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
Id = BigInteger().with_variant(Integer(), "sqlite")

DIRECTIONS = ("out", "in")
OUTBOX_STATES = ("pending", "delivered", "rejected", "dead")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out. SQLite keeps no offset, so UTC is stored naive there
    and the offset put back on reading; PostgreSQL stores ``timestamptz``."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: times must carry an offset")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


records = Table(
    "records",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("record_id", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("origin_party", String(8), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("tc_version", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("detail", Text, nullable=False),
    # The canonical JSON exactly as digested: bytes, so the digest can always be re-checked.
    Column("body", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("origin_party", "record_id", "version"),
    CheckConstraint("version >= 1", name="version_positive"),
    CheckConstraint("direction IN ('out', 'in')", name="direction"),
    CheckConstraint("length(digest) = 64", name="digest_length"),
)

record_heads = Table(
    "record_heads",
    metadata,
    Column("origin_party", String(8), nullable=False),
    Column("record_id", String(128), nullable=False),
    Column("latest_version", Integer, nullable=False),
    Column("latest_digest", String(64), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("origin_party", "record_id"),
    Index(None, "outcome"),
)

ingest_log = Table(
    "ingest_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("batch_id", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("position", Text, nullable=False),
    Column("record_id", String(128), nullable=True),
    Column("outcome", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("errors", Text, nullable=False),  # JSON list of FieldError.as_dict()
    Column("version", Integer, nullable=True),
    Column("unchanged", Boolean, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index(None, "batch_id"),
    Index(None, "record_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("record_pk", Id, ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    Column("record_id", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("peer_party", String(8), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    UniqueConstraint("record_pk", "peer_party"),
    CheckConstraint("state IN ('pending', 'delivered', 'rejected', 'dead')", name="state"),
    Index(None, "state", "next_attempt_at"),
)
