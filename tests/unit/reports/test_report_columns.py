"""The report's generated day and epoch columns (revision 0013) on SQLite and PostgreSQL:
they follow the stored times through the writes and updates of the store's own paths, and
a period that does not start at midnight still counts by the exact times."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from ctop_node.store import Period, SqlStore
from ctop_node.store.schema import inbox, outbox, record_heads, records
from tests.unit.store._entries import entry


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def _day(at: datetime) -> int:
    return int(at.timestamp() // 86400)


def test_generated_columns_follow_the_stored_times(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    recs = []
    for i in range(3):
        rec = copy.deepcopy(record_dict)
        rec["record_id"] = f"KZ-COLS-{i}"
        recs.append(entry(rec))
    store.write_batch(recs, origin_party="KZ")
    queued = datetime(2026, 11, 1, 23, 59, 58, 750_000, tzinfo=UTC)  # across midnight
    with store.engine.begin() as conn:
        conn.execute(update(outbox).values(created_at=queued))
        conn.execute(update(records).values(created_at=queued))
    rows = store.outbox(limit=10)
    settled = queued + timedelta(seconds=2, milliseconds=400)
    store.outbox_queue.mark_delivered(rows[0].id, b"answer", settled)
    store.outbox_queue.mark_rejected(rows[1].id, b"answer", "record.hs_code", settled)

    with store.engine.connect() as conn:
        box = conn.execute(
            select(
                outbox.c.created_at,
                outbox.c.created_day,
                outbox.c.created_ms,
                outbox.c.delivered_at,
                outbox.c.delivered_ms,
                outbox.c.planned_crossing_at,
                outbox.c.planned_ms,
            )
        ).all()
        recs_read = conn.execute(
            select(
                records.c.created_at,
                records.c.created_day,
                records.c.created_ms,
                records.c.planned_crossing_at,
                records.c.planned_ms,
            )
        ).all()
        heads = conn.execute(select(record_heads.c.updated_at, record_heads.c.updated_day)).all()
        received = conn.execute(select(inbox.c.received_at, inbox.c.received_day)).all()
    assert len(box) == len(recs_read) == 3 and len(heads) == 3 and received == []
    for created, day, created_ms, delivered, delivered_ms, planned, planned_ms in box:
        assert (day, created_ms) == (_day(created), _ms(created)) == (_day(queued), _ms(queued))
        assert delivered_ms == (None if delivered is None else _ms(delivered))
        assert planned_ms == (None if planned is None else _ms(planned))
    assert sum(1 for r in box if r[4] is not None) == 2  # delivered and rejected are settled
    for created, day, created_ms, planned, planned_ms in recs_read:
        assert (day, created_ms) == (_day(created), _ms(created))
        assert planned is not None and planned_ms == _ms(planned)
    for updated, day in heads:
        assert day == _day(updated)

    # Not at midnight: the day bounds the scan, the times decide.
    before = Period(queued - timedelta(hours=1), queued)
    around = Period(queued - timedelta(hours=1), queued + timedelta(seconds=1))
    assert store.report_outbound(before) == []
    assert sum(r.n for r in store.report_outbound(around)) == 3
    assert sum(r.n for r in store.report_outbox(around)) == 3
    whole = Period(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))
    assert [(r.day, r.n) for r in store.report_outbox(whole) if r.state == "delivered"] == [
        ("2026-11-01", 1)
    ]
    hist = store.report_durations(whole, ["clearance_to_receipt"])["clearance_to_receipt"]
    assert hist == [(2, 1)]  # 2.4 s, to the nearest second
