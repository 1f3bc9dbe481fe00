"""Initial tables: records, record_heads, ingest_log, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types of this revision: later changes to schema.py must not alter it.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("record_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("origin_party", sa.String(8), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("tc_version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_records")),
        sa.UniqueConstraint(
            "origin_party",
            "record_id",
            "version",
            name=op.f("uq_records_origin_party_record_id_version"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_records_version_positive")),
        sa.CheckConstraint("direction IN ('out', 'in')", name=op.f("ck_records_direction")),
        sa.CheckConstraint("length(digest) = 64", name=op.f("ck_records_digest_length")),
    )
    op.create_table(
        "record_heads",
        sa.Column("origin_party", sa.String(8), nullable=False),
        sa.Column("record_id", sa.String(128), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("latest_digest", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("origin_party", "record_id", name=op.f("pk_record_heads")),
    )
    op.create_index(op.f("ix_record_heads_outcome"), "record_heads", ["outcome"])
    op.create_table(
        "ingest_log",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("position", sa.Text(), nullable=False),
        sa.Column("record_id", sa.String(128), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("errors", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("unchanged", sa.Boolean(), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_log")),
    )
    op.create_index(op.f("ix_ingest_log_batch_id"), "ingest_log", ["batch_id"])
    op.create_index(op.f("ix_ingest_log_record_id"), "ingest_log", ["record_id"])
    op.create_table(
        "outbox",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("record_pk", Id, nullable=False),
        sa.Column("record_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("peer_party", sa.String(8), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Timestamp, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("delivered_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.ForeignKeyConstraint(
            ["record_pk"],
            ["records.id"],
            name=op.f("fk_outbox_record_pk_records"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("record_pk", "peer_party", name=op.f("uq_outbox_record_pk_peer_party")),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'rejected', 'dead')", name=op.f("ck_outbox_state")
        ),
    )
    op.create_index(op.f("ix_outbox_state_next_attempt_at"), "outbox", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_outbox_state_next_attempt_at"), table_name="outbox")
    op.drop_table("outbox")
    op.drop_index(op.f("ix_ingest_log_record_id"), table_name="ingest_log")
    op.drop_index(op.f("ix_ingest_log_batch_id"), table_name="ingest_log")
    op.drop_table("ingest_log")
    op.drop_index(op.f("ix_record_heads_outcome"), table_name="record_heads")
    op.drop_table("record_heads")
    op.drop_table("records")
