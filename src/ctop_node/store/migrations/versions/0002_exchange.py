"""Online exchange: inbox, peer_status, and the sealed message/answer on outbox rows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the timestamp type of this revision (see 0001).
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("sender_party", sa.String(8), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("record_id", sa.String(128), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("tc_version", sa.Integer(), nullable=False),
        sa.Column("payload_digest", sa.String(64), nullable=False),
        sa.Column("message_digest", sa.String(64), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("answer", sa.LargeBinary(), nullable=False),
        sa.Column("answer_type", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.Column("applied_at", Timestamp, nullable=True),
        sa.Column("errors", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_inbox")),
        sa.CheckConstraint(
            "state IN ('applied', 'waiting', 'rejected', 'duplicate', 'mismatch')",
            name=op.f("ck_inbox_state"),
        ),
        sa.CheckConstraint(
            "answer_type IN ('RECEIPT', 'REJECTION')", name=op.f("ck_inbox_answer_type")
        ),
        sa.CheckConstraint("channel IN ('online', 'lock')", name=op.f("ck_inbox_channel")),
    )
    op.create_index(
        op.f("ix_inbox_sender_party_record_id_version"),
        "inbox",
        ["sender_party", "record_id", "version"],
    )
    op.create_index(op.f("ix_inbox_state"), "inbox", ["state"])
    op.create_table(
        "peer_status",
        sa.Column("peer_party", sa.String(8), nullable=False),
        sa.Column("circuit", sa.String(16), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("opened_until", Timestamp, nullable=True),
        sa.Column("last_success_at", Timestamp, nullable=True),
        sa.Column("last_failure_at", Timestamp, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("peer_party", name=op.f("pk_peer_status")),
        sa.CheckConstraint(
            "circuit IN ('closed', 'open', 'half_open')", name=op.f("ck_peer_status_circuit")
        ),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("message_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("message", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("answer", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("answer_code", sa.String(64), nullable=True))
        batch.add_column(sa.Column("sent_at", Timestamp, nullable=True))
        batch.create_unique_constraint(op.f("uq_outbox_message_id"), ["message_id"])


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("uq_outbox_message_id"), type_="unique")
        batch.drop_column("sent_at")
        batch.drop_column("answer_code")
        batch.drop_column("answer")
        batch.drop_column("message")
        batch.drop_column("message_id")
    op.drop_table("peer_status")
    op.drop_index(op.f("ix_inbox_state"), table_name="inbox")
    op.drop_index(op.f("ix_inbox_sender_party_record_id_version"), table_name="inbox")
    op.drop_table("inbox")
