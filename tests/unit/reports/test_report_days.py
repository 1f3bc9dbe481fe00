"""The report over a scripted history of several days on one Party's store (SQLite and
PostgreSQL): three days of records, each day's entries queued and settled at times the test
sets (delivered after a varying delay, one rejected by the peer, one retried and still
pending, one record not applicable); the report's per-day volumes, totals, percentiles and
retries equal what the test computes from the rows it reads back."""

from __future__ import annotations

import copy
import math
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from ctop_node.reports.evaluation import build_report
from ctop_node.rules.outcome import OutcomeKind
from ctop_node.store import SqlStore
from ctop_node.store.schema import outbox, record_heads, records
from tests.unit.store._entries import entry

DAYS = [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]


def _nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def _history(store: SqlStore, record_dict: dict[str, Any]) -> None:
    n = 0
    for day_no, day in enumerate(DAYS):
        entries = []
        for i in range(4 + day_no):
            rec = copy.deepcopy(record_dict)
            rec["record_id"] = f"KZ-DAYS-{day_no}-{i:03d}"
            entries.append(entry(rec, position=f"line {i + 1}"))
        na = copy.deepcopy(record_dict)
        na["record_id"] = f"KZ-DAYS-{day_no}-NA"
        entries.append(entry(na, outcome=OutcomeKind.NOT_APPLICABLE))
        store.write_batch(entries, origin_party="KZ")
        with store.engine.begin() as conn:  # the clearance happened on that day
            for i, e in enumerate(entries):
                at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=8, minutes=i)
                for table in (records, outbox):
                    conn.execute(
                        update(table).where(table.c.record_id == e.record_id).values(created_at=at)
                    )
                conn.execute(
                    update(record_heads)
                    .where(record_heads.c.record_id == e.record_id)
                    .values(updated_at=at)
                )
    for row in store.outbox(limit=1000):
        n += 1
        queued = row.created_at
        if row.record_id.endswith("-001") and row.record_id.startswith("KZ-DAYS-1"):
            store.outbox_queue.mark_rejected(
                row.id, b"answer", "record.hs_code", queued + timedelta(seconds=3)
            )
        elif row.record_id.endswith("-002") and row.record_id.startswith("KZ-DAYS-2"):
            for k in (1, 2):
                store.outbox_queue.mark_retry(
                    row.id, "peer down", queued + timedelta(minutes=5 * k), sent_at=queued
                )
        else:
            store.outbox_queue.mark_delivered(row.id, b"answer", queued + timedelta(seconds=n * 7))


def test_report_over_three_days_equals_the_rows(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    _history(store, record_dict)
    rep = build_report(store, "KZ", DAYS[0], DAYS[-1], now=datetime(2026, 11, 4, tzinfo=UTC))

    with store.engine.connect() as conn:
        recs = list(conn.execute(select(records.c.created_at, records.c.outcome)))
        box = list(
            conn.execute(
                select(
                    outbox.c.created_at, outbox.c.delivered_at, outbox.c.state, outbox.c.attempts
                )
            )
        )
    per_day = Counter(at.date().isoformat() for at, _o in recs)
    reported: Counter[str] = Counter()
    for row in rep["tables"]["volumes_sent"]["rows"]:
        reported[row[0]] += row[-1]
    assert reported == per_day and len(per_day) == 3

    states = Counter(s for _c, _d, s, _a in box)
    t = rep["totals"]
    assert (
        (t["sent"], t["delivered"], t["rejected_by_peer"], t["pending"])
        == (
            len(box),
            states["delivered"],
            states["rejected"],
            states["pending"],
        )
        == (15, 13, 1, 1)
    )
    assert t["not_applicable"] == sum(1 for _a, o in recs if o == "not_applicable") == 3

    delays = [(d - c).total_seconds() for c, d, s, _a in box if s == "delivered"]
    dist = rep["timeliness"]["clearance_to_receipt"]
    assert dist["count"] == len(delays)
    for key, q in (("median_s", 0.5), ("p90_s", 0.9), ("p99_s", 0.99)):
        assert dist[key] == _nearest_rank(delays, q)
    before = rep["timeliness"]["before_planned_crossing"]
    assert before["sent_acknowledged_before_crossing"] == before["sent_acknowledged"] == 13

    rel = rep["reliability"]
    assert rel["entries_retried"] == sum(1 for *_x, a in box if a > 1) == 1
    assert rel["retries"] == sum(a - 1 for *_x, a in box if a > 1) == 1
    assert rep["tables"]["rejections"]["rows"] == [["sent", "record.hs_code", "", 1]]

    middle = build_report(store, "KZ", DAYS[1], DAYS[1])
    assert {row[0] for row in middle["tables"]["volumes_sent"]["rows"]} == {"2026-11-02"}
    assert middle["totals"]["sent"] == per_day["2026-11-02"] - 1  # its not-applicable record
