"""The report reads what it aggregates without parsing record bodies or reading wide rows
(issue 12): crossing point, planned crossing and the carrier's channel wish become columns
of ``records`` (filled at insert, back-filled here), and three covering indexes serve the
report's scans of records, outbox and inbox.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RECORDS = ["direction", "created_at", "tc_version", "outcome", "reason", "crossing_point"]
_RECORDS += ["channel_wish", "planned_crossing_at", "origin_party", "record_id", "version", "id"]
_OUTBOX = ["created_at", "state", "answer_code", "attempts", "delivered_at"]
_OUTBOX += ["planned_crossing_at", "peer_party"]
_INBOX = ["received_at", "sender_party", "type", "channel", "state", "answer_type"]
_INBOX += ["tc_version"]
_BATCH = 5000


def _backfill() -> None:
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    records = sa.table(
        "records",
        sa.column("id", sa.BigInteger),
        sa.column("body", sa.LargeBinary),
        sa.column("crossing_point", sa.String),
        sa.column("planned_crossing_at", sa.DateTime(timezone=True)),
        sa.column("channel_wish", sa.String),
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(records.c.id, records.c.body)
            .where(records.c.id > last)
            .order_by(records.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        updates = []
        for pk, body in rows:
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError:
                continue
            train = data.get("train") if isinstance(data, dict) else None
            if not isinstance(train, dict):
                continue
            planned = None
            try:
                planned = datetime.fromisoformat(str(train.get("planned_crossing_at")))
                planned = planned.astimezone(UTC)
            except ValueError:
                planned = None
            if planned is not None and sqlite:
                planned = planned.replace(tzinfo=None)
            updates.append(
                {
                    "pk": pk,
                    "cp": str(train.get("crossing_point") or "")[:64] or None,
                    "pl": planned,
                    "ch": str(data.get("channel") or "online")[:8],
                }
            )
        if updates:
            conn.execute(
                records.update()
                .where(records.c.id == sa.bindparam("pk"))
                .values(
                    crossing_point=sa.bindparam("cp"),
                    planned_crossing_at=sa.bindparam("pl"),
                    channel_wish=sa.bindparam("ch"),
                ),
                updates,
            )
        last = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("crossing_point", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("planned_crossing_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("channel_wish", sa.String(8), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("planned_crossing_at", sa.DateTime(timezone=True), nullable=True)
        )
    _backfill()
    op.execute(
        "UPDATE outbox SET planned_crossing_at = (SELECT records.planned_crossing_at "
        "FROM records WHERE records.id = outbox.record_pk)"
    )
    op.create_index("ix_records_report", "records", _RECORDS)
    op.create_index("ix_outbox_report", "outbox", _OUTBOX)
    op.create_index("ix_inbox_report", "inbox", _INBOX)
    op.create_index(
        "ix_record_heads_report", "record_heads", ["updated_at", "outcome", "latest_version"]
    )


def downgrade() -> None:
    op.drop_index("ix_record_heads_report", "record_heads")
    op.drop_index("ix_inbox_report", "inbox")
    op.drop_index("ix_outbox_report", "outbox")
    op.drop_index("ix_records_report", "records")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("planned_crossing_at")
    with op.batch_alter_table("records") as batch:
        batch.drop_column("channel_wish")
        batch.drop_column("planned_crossing_at")
        batch.drop_column("crossing_point")
