"""Peer manifests: signed manifests (Art.5) received from peers in MANIFEST messages.

Revision ID: 0016
Revises: 0013
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types of this revision (see 0001).
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "peer_manifests",
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("sender_party", sa.String(8), nullable=False),
        sa.Column("first_day", sa.String(10), nullable=False),
        sa.Column("last_day", sa.String(10), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("manifest", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_peer_manifests")),
    )
    op.create_index(
        op.f("ix_peer_manifests_sender_party_first_day_last_day"),
        "peer_manifests",
        ["sender_party", "first_day", "last_day"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_peer_manifests_sender_party_first_day_last_day"), "peer_manifests")
    op.drop_table("peer_manifests")
