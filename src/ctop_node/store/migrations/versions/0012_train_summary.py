"""The arrival index's per-train summary (``train_summary``), filled from ``record_index``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types of this revision (see 0001).
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "train_summary",
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("train_key", sa.String(160), nullable=False),
        sa.Column("origin_party", sa.String(8), nullable=False),
        sa.Column("train_number", sa.String(64), nullable=False),
        sa.Column("crossing_point", sa.String(64), nullable=False),
        sa.Column("first_planned", Timestamp, nullable=False),
        sa.Column("last_planned", Timestamp, nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("containers", sa.Integer(), nullable=False),
        sa.Column("wagons", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "train_key",
            "direction",
            "origin_party",
            "train_number",
            "crossing_point",
            name=op.f("pk_train_summary"),
        ),
    )
    op.create_index(
        op.f("ix_train_summary_direction_first_planned"),
        "train_summary",
        ["direction", "first_planned"],
    )
    # What the index holds already; from here on the catch-up keeps it.
    op.execute(
        "INSERT INTO train_summary (direction, train_key, origin_party, train_number,"
        " crossing_point, first_planned, last_planned, records, containers, wagons)"
        " SELECT direction, train_key, origin_party, train_number, crossing_point,"
        " MIN(planned_crossing_at), MAX(planned_crossing_at), COUNT(*), SUM(containers),"
        " SUM(wagons) FROM record_index"
        " GROUP BY direction, train_key, origin_party, train_number, crossing_point"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_train_summary_direction_first_planned"), table_name="train_summary")
    op.drop_table("train_summary")
