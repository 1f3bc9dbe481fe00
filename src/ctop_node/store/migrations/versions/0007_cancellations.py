"""Cancellations on the outbox: a row is a record version or a CANCELLATION of one, and a
pending version can be withdrawn (never sent) when a later version is refused (Art.6), is
not applicable any more, or the clearance system cancels the record.

Revision ID: 0007
Revises: 0006 (0003 when written; chained after the lock-readings revision once merged)
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_STATES = "state IN ('pending', 'delivered', 'rejected', 'dead')"
_NEW_STATES = "state IN ('pending', 'delivered', 'rejected', 'dead', 'withdrawn')"


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="record"))
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch.drop_constraint(op.f("uq_outbox_record_pk_peer_party"), type_="unique")
        batch.create_unique_constraint(
            op.f("uq_outbox_record_pk_peer_party_kind"), ["record_pk", "peer_party", "kind"]
        )
        batch.drop_constraint(op.f("ck_outbox_state"), type_="check")
        batch.create_check_constraint(op.f("ck_outbox_state"), _NEW_STATES)
        batch.create_check_constraint(op.f("ck_outbox_kind"), "kind IN ('record', 'cancellation')")


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM outbox WHERE kind = 'cancellation'"))
    op.execute(sa.text("UPDATE outbox SET state = 'dead' WHERE state = 'withdrawn'"))
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("ck_outbox_kind"), type_="check")
        batch.drop_constraint(op.f("ck_outbox_state"), type_="check")
        batch.create_check_constraint(op.f("ck_outbox_state"), _OLD_STATES)
        batch.drop_constraint(op.f("uq_outbox_record_pk_peer_party_kind"), type_="unique")
        batch.create_unique_constraint(
            op.f("uq_outbox_record_pk_peer_party"), ["record_pk", "peer_party"]
        )
        batch.drop_column("reason")
        batch.drop_column("kind")
