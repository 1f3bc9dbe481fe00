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
    Computed,
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
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement, literal_column
from sqlalchemy.types import TypeDecorator

from ctop_node.store._sealed import Sealed

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
# withdrawn: a pending version taken back before it was delivered (a later version was
# refused under Art.6 or is not applicable, or the record was cancelled); never sent again.
OUTBOX_STATES = ("pending", "delivered", "rejected", "dead", "withdrawn")
# record: a record version (CONSIGNMENT / AMENDMENT); cancellation: a CANCELLATION naming
# the version of ``record_pk`` as the one cancelled.
OUTBOX_KINDS = ("record", "cancellation")
# applied: the record version is in ``records``; waiting: parked until its predecessor is
# applied; rejected: answered with a REJECTION; duplicate: the same record version came
# under another message id with the same digest; mismatch: ... with a different digest.
INBOX_STATES = ("applied", "waiting", "rejected", "duplicate", "mismatch")
ANSWER_TYPES = ("RECEIPT", "REJECTION")
CHANNELS = ("online", "lock")
CIRCUITS = ("closed", "open", "half_open")


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


class _EpochMs(FunctionElement[int]):
    """Milliseconds since the epoch of a stored UTC time: an integer, so the report's
    durations are integer differences instead of ``julianday()`` over text (SQLite)."""

    type = BigInteger()
    inherit_cache = True


class _EpochDay(FunctionElement[int]):
    """The UTC day of a stored time as days since the epoch: the report groups by it."""

    type = Integer()
    inherit_cache = True


@compiles(_EpochMs, "sqlite")
def _epoch_ms_sqlite(element: _EpochMs, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite's julianday() keeps whole milliseconds, so the rounding is exact.
    col = compiler.process(element.clauses, **kw)
    return f"CAST(round((julianday({col}) - 2440587.5) * 86400000.0) AS INTEGER)"


@compiles(_EpochMs, "postgresql")
def _epoch_ms_pg(element: _EpochMs, compiler: SQLCompiler, **kw: Any) -> str:
    # timezone('UTC', timestamptz) is immutable where extract(epoch from timestamptz) is not.
    col = compiler.process(element.clauses, **kw)
    return f"round(EXTRACT(EPOCH FROM timezone('UTC', {col})) * 1000)::bigint"


@compiles(_EpochDay, "sqlite")
def _epoch_day_sqlite(element: _EpochDay, compiler: SQLCompiler, **kw: Any) -> str:
    col = compiler.process(element.clauses, **kw)
    return f"CAST(julianday({col}) - 2440587.5 AS INTEGER)"


@compiles(_EpochDay, "postgresql")
def _epoch_day_pg(element: _EpochDay, compiler: SQLCompiler, **kw: Any) -> str:
    col = compiler.process(element.clauses, **kw)
    return f"floor(EXTRACT(EPOCH FROM timezone('UTC', {col})) / 86400)::integer"


def epoch_ms(column: str) -> Computed:
    """A generated column: ``column`` (a UTC time of the same table) in epoch milliseconds.
    Generated by the database, it is right for every row whichever path wrote it."""
    return Computed(_EpochMs(literal_column(column)))


def epoch_day(column: str) -> Computed:
    """A generated column: the UTC day of ``column`` as days since 1970-01-01."""
    return Computed(_EpochDay(literal_column(column)))


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
    Column("body", Sealed("records.body"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Read by the report without parsing ``body`` (revision 0010); NULL when not a record.
    Column("crossing_point", String(64), nullable=True),
    Column("planned_crossing_at", UtcDateTime, nullable=True),
    Column("channel_wish", String(8), nullable=True),
    # Generated from the times above (revision 0013): the report groups by day and measures
    # durations on integers. VIRTUAL on SQLite (the index below holds them), STORED on
    # PostgreSQL. Note for later revisions: Alembic's batch copy on SQLite cannot INSERT
    # into generated columns, so a batch that recreates this table must drop them first.
    Column("created_day", Integer, epoch_day("created_at")),
    Column("created_ms", BigInteger, epoch_ms("created_at")),
    Column("planned_ms", BigInteger, epoch_ms("planned_crossing_at")),
    UniqueConstraint("origin_party", "record_id", "version"),
    CheckConstraint("version >= 1", name="version_positive"),
    CheckConstraint("direction IN ('out', 'in')", name="direction"),
    CheckConstraint("length(digest) = 64", name="digest_length"),
    # Covering the report's scans, so they never read the wide rows (the body); in the
    # order of the report's GROUP BY, so SQLite reads the groups off the index instead of
    # sorting every entry of the period through a temporary B-tree (revision 0013).
    Index(
        "ix_records_report",
        "direction",
        "created_day",
        "crossing_point",
        "tc_version",
        "origin_party",
        "outcome",
        "reason",
        "channel_wish",
        "created_at",
        "created_ms",
        "planned_ms",
        "record_id",
        "version",
        "id",
    ),
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
    Column("updated_day", Integer, epoch_day("updated_at")),  # generated (revision 0013)
    PrimaryKeyConstraint("origin_party", "record_id"),
    Index(None, "outcome"),
    # Covering the report's count of versions per record (revision 0010), in the order of
    # its GROUP BY (revision 0013).
    Index("ix_record_heads_report", "updated_day", "outcome", "latest_version", "updated_at"),
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
    # Set when first sealed and reused for every retry, so the receiver can deduplicate.
    Column("message_id", String(36), nullable=True, unique=True),
    Column("message", LargeBinary, nullable=True),  # the sealed bytes: what we sent is kept
    Column("answer", LargeBinary, nullable=True),  # the peer's signed RECEIPT/REJECTION
    Column("answer_code", String(64), nullable=True),
    Column("sent_at", UtcDateTime, nullable=True),
    # The record's planned crossing, copied at queueing so the report needs no join
    # (revision 0010).
    Column("planned_crossing_at", UtcDateTime, nullable=True),
    Column("kind", String(16), nullable=False, server_default="record"),
    Column("reason", Text, nullable=True),  # why a cancellation was sent
    # Generated (revision 0013), as on ``records``: day and epoch milliseconds for the report.
    Column("created_day", Integer, epoch_day("created_at")),
    Column("created_ms", BigInteger, epoch_ms("created_at")),
    Column("delivered_ms", BigInteger, epoch_ms("delivered_at")),
    Column("planned_ms", BigInteger, epoch_ms("planned_crossing_at")),
    UniqueConstraint("record_pk", "peer_party", "kind"),
    CheckConstraint(
        "state IN ('pending', 'delivered', 'rejected', 'dead', 'withdrawn')", name="state"
    ),
    CheckConstraint("kind IN ('record', 'cancellation')", name="kind"),
    Index(None, "state", "next_attempt_at"),
    # Covering the report's scans of the outbox (revision 0010): no read of the sealed bytes;
    # in the order of its GROUP BY (revision 0013).
    Index(
        "ix_outbox_report",
        "created_day",
        "peer_party",
        "state",
        "answer_code",
        "created_at",
        "attempts",
        "delivered_at",
        "created_ms",
        "delivered_ms",
        "planned_ms",
    ),
)

inbox = Table(
    "inbox",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("sender_party", String(8), nullable=False),
    Column("type", String(16), nullable=False),
    Column("record_id", String(128), nullable=True),
    Column("version", Integer, nullable=True),
    Column("tc_version", Integer, nullable=False),
    Column("payload_digest", String(64), nullable=False),
    Column("message_digest", String(64), nullable=False),
    Column("message", Sealed("inbox.message"), nullable=False),  # raw bytes: non-repudiation
    # The decrypted payload while the message waits for its predecessor (and of a mismatch,
    # for reconciliation); NULL once applied: the body then lives in ``records``.
    Column("payload", Sealed("inbox.payload"), nullable=True),
    Column("answer", LargeBinary, nullable=False),  # our sealed answer, replayed verbatim
    Column("answer_type", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("applied_at", UtcDateTime, nullable=True),
    Column("errors", Text, nullable=True),  # JSON list of {code, field, message}
    Column("received_day", Integer, epoch_day("received_at")),  # generated (revision 0013)
    CheckConstraint(
        "state IN ('applied', 'waiting', 'rejected', 'duplicate', 'mismatch')", name="state"
    ),
    CheckConstraint("answer_type IN ('RECEIPT', 'REJECTION')", name="answer_type"),
    CheckConstraint("channel IN ('online', 'lock')", name="channel"),
    Index(None, "sender_party", "record_id", "version"),
    Index(None, "state"),
    # Covering the report's scan of received messages (revision 0010), in the order of its
    # GROUP BY (revision 0013).
    Index(
        "ix_inbox_report",
        "received_day",
        "sender_party",
        "tc_version",
        "type",
        "channel",
        "state",
        "answer_type",
        "received_at",
    ),
)

peer_status = Table(
    "peer_status",
    metadata,
    Column("peer_party", String(8), primary_key=True),
    Column("circuit", String(16), nullable=False),
    Column("consecutive_failures", Integer, nullable=False),
    Column("opened_until", UtcDateTime, nullable=True),
    Column("last_success_at", UtcDateTime, nullable=True),
    Column("last_failure_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    CheckConstraint("circuit IN ('closed', 'open', 'half_open')", name="circuit"),
)

# One row per authenticated lock read at the arrival node (smart-lock channel): the lock side
# of the reconciliation with the online copy. Refused reads store nothing.
lock_reads = Table(
    "lock_reads",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("lock_id", String(64), nullable=False),
    Column("payload_id", String(128), nullable=False),
    Column("sender_party", String(8), nullable=False),
    Column("record_id", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(64), nullable=False),  # digest of the record version on the lock
    Column("mode", String(8), nullable=False),  # 'full' | 'digest'
    Column("message_id", String(36), nullable=True),  # inbox row (NULL in digest mode)
    Column("lock_state", String(16), nullable=False),  # state of the lock when read
    Column("declared", Boolean, nullable=False),  # lock ID is a smart_lock_id of the record
    Column("tampered", Boolean, nullable=False),
    Column("findings", Text, nullable=False),  # JSON list of {code, message}
    Column("events", Text, nullable=False),  # JSON list of the verified events
    Column("reader_id", String(64), nullable=False),
    Column("image", Sealed("lock_reads.image"), nullable=False),  # as read: evidence
    Column("read_at", UtcDateTime, nullable=False),
    # Every reading is kept (the verdict takes the worst); the same image stored once.
    Column("nonce", String(64), nullable=True),  # the reader's challenge the device signed
    Column("image_digest", String(64), nullable=True),  # SHA-256 hex of ``image``
    UniqueConstraint("lock_id", "image_digest"),
    CheckConstraint("mode IN ('full', 'digest')", name="mode"),
    Index(None, "sender_party", "record_id", "version"),
    Index(None, "lock_id", "payload_id"),
)

# One row per payload written to a lock at the departure node: what `lock pending` no longer
# lists, and the departure side's proof of which lock carries which record version.
lock_writes = Table(
    "lock_writes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("record_id", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("peer_party", String(8), nullable=False),
    Column("lock_id", String(64), nullable=False),
    Column("payload_id", String(128), nullable=False, unique=True),
    Column("digest", String(64), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("size", Integer, nullable=False),
    Column("written_at", UtcDateTime, nullable=False),
    Index(None, "record_id", "version"),
)

# -- officers' UI (issue 10): users, their API tokens and sessions, and the search index ----

ROLES = (
    "arrival_officer",
    "departure_officer",
    "supervisor",
    "analyst",
    "auditor",
    "admin",
)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(32), nullable=False),
    Column("password_hash", Text, nullable=True),  # argon2id; NULL: token-only user
    Column("language", String(8), nullable=True),  # the user's saved UI language
    Column("disabled", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint(
        "role IN ('arrival_officer', 'departure_officer', 'supervisor', 'analyst', 'auditor', "
        "'admin')",
        name="role",
    ),
)

# Only the SHA-256 of a token is kept: a 256-bit random token needs no slow hash, and a
# database read gives no usable token.
user_tokens = Table(
    "user_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("scope", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # SHA-256 of the cookie value
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Index(None, "user_id"),
)

# The latest version of every record, flattened for the arrival view (one row per record).
record_index = Table(
    "record_index",
    metadata,
    Column("origin_party", String(8), nullable=False),
    Column("record_id", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("direction", String(3), nullable=False),
    Column("train_key", String(160), nullable=False),  # one run of a train: party, number, day
    Column("train_number", String(64), nullable=False),
    Column("crossing_point", String(64), nullable=False),
    Column("planned_crossing_at", UtcDateTime, nullable=False),
    Column("declaration_number", String(64), nullable=False),
    Column("consignee", String(512), nullable=False),
    Column("containers", Integer, nullable=False),
    Column("wagons", Integer, nullable=False),
    PrimaryKeyConstraint("origin_party", "record_id"),
    Index(None, "direction", "crossing_point", "planned_crossing_at"),
    Index(None, "train_key"),
    Index(None, "direction", "planned_crossing_at"),  # the train list's scan (0011)
)

# One row per train of ``record_index`` (grouped as the train list shows it), kept by the
# same catch-up: the list reads 200 rows instead of aggregating 50 index rows per train.
# ``first_planned``/``last_planned`` bound the planned crossings of the train's records.
train_summary = Table(
    "train_summary",
    metadata,
    Column("direction", String(3), nullable=False),
    Column("train_key", String(160), nullable=False),
    Column("origin_party", String(8), nullable=False),
    Column("train_number", String(64), nullable=False),
    Column("crossing_point", String(64), nullable=False),
    Column("first_planned", UtcDateTime, nullable=False),
    Column("last_planned", UtcDateTime, nullable=False),
    Column("records", Integer, nullable=False),
    Column("containers", Integer, nullable=False),
    Column("wagons", Integer, nullable=False),
    # train_key first: the catch-up replaces a train's rows by key.
    PrimaryKeyConstraint(
        "train_key", "direction", "origin_party", "train_number", "crossing_point"
    ),
    Index(None, "direction", "first_planned"),
)

# Search terms of the latest version of each record: (kind, upper-cased value) -> record.
SEARCH_KINDS = ("container", "wagon", "train", "declaration", "seal", "lock", "hs", "consignee")
search_terms = Table(
    "search_terms",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("value", String(512), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("origin_party", String(8), nullable=False),
    Column("record_id", String(128), nullable=False),
    # Prefix search is ``LIKE 'Q%'``: PostgreSQL uses a b-tree for it only with pattern ops
    # (its default collation is not C); SQLite ignores the option.
    Index(None, "value", postgresql_ops={"value": "varchar_pattern_ops"}),
    Index(None, "origin_party", "record_id"),
)

# How far the index has read ``records`` (by row id): it catches up incrementally.
index_progress = Table(
    "index_progress",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last_record_pk", BigInteger, nullable=False),
)

# Art.6 audit chain (X-Road message-log style): append-only, hash-chained, one row per event.
# ``digest`` = H(previous digest || H(canonical entry)); the database refuses UPDATE and
# DELETE on it (triggers in revision 0009), and ``ctop_node.access.audit_verify`` finds any
# change made around them. ``detail`` holds event metadata, never record content.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Id, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("object", String(300), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("origin", String(200), nullable=False),  # from where: cli@host, api@address
    Column("detail", Text, nullable=False),  # canonical JSON
    Column("detail_digest", String(64), nullable=False),
    Column("digest", String(64), nullable=False),
    Index(None, "object"),
)

# Checkpoints of the audit chain, signed by the node's signing key: the digest at ``seq`` as
# the node vouched for it, so rewriting or truncating the chain afterwards is detected.
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", Id, primary_key=True, autoincrement=False),
    Column("digest", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("signed", LargeBinary, nullable=False),  # COSE_Sign1 over the checkpoint payload
    Column("certificate", Text, nullable=False),  # PEM of the signing certificate
)

# The consent register (Art.6): the providing Party's written consent to use its data for a
# purpose other than customs control. Rows are never deleted; revocation is a timestamp.
consents = Table(
    "consents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("reference", String(128), nullable=False, unique=True),
    Column("from_party", String(8), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("scope", Text, nullable=False),  # JSON list of record-id patterns
    Column("valid_until", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("revoked_by", String(128), nullable=True),
    CheckConstraint("purpose IN ('court', 'administrative', 'third_party')", name="purpose"),
)

# Peer record versions whose body the retention period removed; digests and counts stay.
record_purges = Table(
    "record_purges",
    metadata,
    Column("record_pk", Id, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    Column("purged_at", UtcDateTime, nullable=False),
)

# Control results (issue 10): 'out' = recorded here by an arrival officer about a peer's
# record, sent back to that Party through ``state`` (pending -> delivered/rejected/dead);
# 'in' = received from the peer about one of our records (state 'received').
CONTROL_DECISIONS = ("released", "held", "further_control")
CONTROL_STATES = ("pending", "delivered", "rejected", "dead", "received")
control_results = Table(
    "control_results",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("direction", String(3), nullable=False),
    Column("origin_party", String(8), nullable=False),  # the Party whose record it is
    Column("record_id", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("peer_party", String(8), nullable=False),  # the other side of the exchange
    Column("decision", String(16), nullable=True),
    Column("payload", LargeBinary, nullable=False),  # canonical JSON of the ControlResult
    Column("recorded_by", String(64), nullable=True),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("message_id", String(36), nullable=True, unique=True),
    Column("message", LargeBinary, nullable=True),
    Column("answer", LargeBinary, nullable=True),
    Column("answer_code", String(64), nullable=True),
    Column("delivered_at", UtcDateTime, nullable=True),
    CheckConstraint("direction IN ('out', 'in')", name="direction"),
    CheckConstraint(
        "state IN ('pending', 'delivered', 'rejected', 'dead', 'received')", name="state"
    ),
    Index(None, "origin_party", "record_id"),
    Index(None, "state", "next_attempt_at"),
)

# Signed manifests (Art.5) received from peers in MANIFEST messages: the COSE_Sign1 as the
# peer signed it (ids, versions, digests; no record content), checked before it is stored.
# A later one for the same days supersedes an earlier one; rows are kept as evidence.
peer_manifests = Table(
    "peer_manifests",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("sender_party", String(8), nullable=False),
    Column("first_day", String(10), nullable=False),  # ISO date, UTC days
    Column("last_day", String(10), nullable=False),
    Column("entries", Integer, nullable=False),
    Column("manifest", LargeBinary, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index(None, "sender_party", "first_day", "last_day"),
)
