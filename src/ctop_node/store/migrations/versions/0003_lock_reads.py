"""Smart-lock channel: lock_reads (arrival: the lock side of the reconciliation) and
lock_writes (departure: which lock carries which record version).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the timestamp type of this revision (see 0001).
Timestamp = sa.DateTime(timezone=True)
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "lock_reads",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("lock_id", sa.String(64), nullable=False),
        sa.Column("payload_id", sa.String(128), nullable=False),
        sa.Column("sender_party", sa.String(8), nullable=False),
        sa.Column("record_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=True),
        sa.Column("lock_state", sa.String(16), nullable=False),
        sa.Column("declared", sa.Boolean(), nullable=False),
        sa.Column("tampered", sa.Boolean(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("reader_id", sa.String(64), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.Column("read_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lock_reads")),
        sa.UniqueConstraint("lock_id", "payload_id", name=op.f("uq_lock_reads_lock_id_payload_id")),
        sa.CheckConstraint("mode IN ('full', 'digest')", name=op.f("ck_lock_reads_mode")),
    )
    op.create_index(
        op.f("ix_lock_reads_sender_party_record_id_version"),
        "lock_reads",
        ["sender_party", "record_id", "version"],
    )
    op.create_table(
        "lock_writes",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("record_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("peer_party", sa.String(8), nullable=False),
        sa.Column("lock_id", sa.String(64), nullable=False),
        sa.Column("payload_id", sa.String(128), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("written_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lock_writes")),
        sa.UniqueConstraint("payload_id", name=op.f("uq_lock_writes_payload_id")),
    )
    op.create_index(
        op.f("ix_lock_writes_record_id_version"), "lock_writes", ["record_id", "version"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_lock_writes_record_id_version"), table_name="lock_writes")
    op.drop_table("lock_writes")
    op.drop_index(op.f("ix_lock_reads_sender_party_record_id_version"), table_name="lock_reads")
    op.drop_table("lock_reads")
