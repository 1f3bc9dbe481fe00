"""Control results: recorded by arrival officers and sent back, or received about our records;
the arrival index's (direction, planned crossing) index for the train list.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types of this revision (see 0001).
Timestamp = sa.DateTime(timezone=True)
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "control_results",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("origin_party", sa.String(8), nullable=False),
        sa.Column("record_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("peer_party", sa.String(8), nullable=False),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=True),
        sa.Column("recorded_at", Timestamp, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Timestamp, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(36), nullable=True),
        sa.Column("message", sa.LargeBinary(), nullable=True),
        sa.Column("answer", sa.LargeBinary(), nullable=True),
        sa.Column("answer_code", sa.String(64), nullable=True),
        sa.Column("delivered_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_control_results")),
        sa.UniqueConstraint("message_id", name=op.f("uq_control_results_message_id")),
        sa.CheckConstraint("direction IN ('out', 'in')", name=op.f("ck_control_results_direction")),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'rejected', 'dead', 'received')",
            name=op.f("ck_control_results_state"),
        ),
    )
    op.create_index(
        op.f("ix_control_results_origin_party_record_id"),
        "control_results",
        ["origin_party", "record_id"],
    )
    op.create_index(
        op.f("ix_control_results_state_next_attempt_at"),
        "control_results",
        ["state", "next_attempt_at"],
    )

    # The arrival train list scans by planned time across crossing points.
    op.create_index(
        op.f("ix_record_index_direction_planned_crossing_at"),
        "record_index",
        ["direction", "planned_crossing_at"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_record_index_direction_planned_crossing_at"), "record_index")
    op.drop_table("control_results")
