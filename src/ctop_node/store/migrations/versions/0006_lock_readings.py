"""Every lock reading is kept (issue 8, finding 12): the first reading of a payload no longer
wins; the reconciliation takes the worst finding across readings. A reading carries the
reader's nonce (the device signed its reading over it) and the digest of the image read,
which makes storing the very same reading twice idempotent.

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lock_reads") as batch:
        batch.drop_constraint(op.f("uq_lock_reads_lock_id_payload_id"), type_="unique")
        batch.add_column(sa.Column("nonce", sa.String(64), nullable=True))
        batch.add_column(sa.Column("image_digest", sa.String(64), nullable=True))
        batch.create_unique_constraint(
            op.f("uq_lock_reads_lock_id_image_digest"), ["lock_id", "image_digest"]
        )
        batch.create_index(op.f("ix_lock_reads_lock_id_payload_id"), ["lock_id", "payload_id"])


def downgrade() -> None:
    # Back to one reading per payload: keep the first reading of each (lock, payload).
    op.execute(
        "DELETE FROM lock_reads WHERE id NOT IN "
        "(SELECT MIN(id) FROM lock_reads GROUP BY lock_id, payload_id)"
    )
    with op.batch_alter_table("lock_reads") as batch:
        batch.drop_index(op.f("ix_lock_reads_lock_id_payload_id"))
        batch.drop_constraint(op.f("uq_lock_reads_lock_id_image_digest"), type_="unique")
        batch.drop_column("image_digest")
        batch.drop_column("nonce")
        batch.create_unique_constraint(
            op.f("uq_lock_reads_lock_id_payload_id"), ["lock_id", "payload_id"]
        )
