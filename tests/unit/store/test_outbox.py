"""Outbox (the sender's view) on SQLite and PostgreSQL: due order, holding back later
versions, attach-once, settlements, peer circuit state, depth and age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ctop_node.store import SqlStore, open_store
from ctop_node.store.outbox import Dead, Delivered, Outbox, Rejected, Retry
from tests.unit.store._entries import changed, entry, with_id


@pytest.fixture
def box(store: SqlStore) -> Outbox:
    return Outbox(store.engine)


def later(seconds: float = 1.0) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def ingest(store: SqlStore, *records: dict[str, Any], peers: tuple[str, ...] = ("CN",)) -> None:
    store.write_batch([entry(r, peers=peers) for r in records], origin_party="KZ")


def test_due_is_in_insertion_order_with_bodies(
    store: SqlStore, box: Outbox, record_dict: dict[str, Any]
) -> None:
    a, b = with_id(record_dict, "REC-A"), with_id(record_dict, "REC-B")
    ingest(store, a, b)
    ingest(store, changed(a, "v2"))
    items = box.due("CN", 100, later())
    assert [(i.record_id, i.version) for i in items] == [("REC-A", 1), ("REC-B", 1), ("REC-A", 2)]
    assert [i.id for i in items] == sorted(i.id for i in items)
    first = items[0]
    assert not first.sealed and first.message_id is None and first.attempts == 0
    assert first.tc_version == 1 and len(first.digest) == 64 and first.body.startswith(b"{")
    assert box.due("KZ", 100, later()) == []
    assert box.peers_due(later()) == ["CN"]
    assert len(box.due("CN", 2, later())) == 2


def test_due_never_lets_a_later_version_overtake_a_backed_off_one(
    store: SqlStore, box: Outbox, record_dict: dict[str, Any]
) -> None:
    a, b = with_id(record_dict, "REC-A"), with_id(record_dict, "REC-B")
    ingest(store, a, b)
    ingest(store, changed(a, "v2"))
    ingest(store, changed(a, "v3"))
    a1 = box.due("CN", 100, later())[0]
    now = later()
    box.mark_retry(a1.id, "refused", now + timedelta(seconds=30))
    assert [(i.record_id, i.version) for i in box.due("CN", 100, now)] == [("REC-B", 1)]
    # once v1 is due again, all of REC-A comes back in order
    again = box.due("CN", 100, now + timedelta(seconds=31))
    assert [(i.record_id, i.version) for i in again] == [
        ("REC-A", 1),
        ("REC-B", 1),
        ("REC-A", 2),
        ("REC-A", 3),
    ]
    # a delivered v1 no longer holds anything back; a backed-off v2 holds v3
    box.mark_delivered(a1.id, b"receipt", now)
    a2 = again[2]
    box.mark_retry(a2.id, "refused", now + timedelta(seconds=30))
    assert [(i.record_id, i.version) for i in box.due("CN", 100, now)] == [("REC-B", 1)]


def test_held_back_rows_do_not_starve_a_small_batch(
    store: SqlStore, box: Outbox, record_dict: dict[str, Any]
) -> None:
    a = with_id(record_dict, "REC-A")
    ingest(store, a)
    ingest(store, changed(a, "v2"))
    ingest(store, changed(a, "v3"))
    ingest(store, with_id(record_dict, "REC-B"))
    a1 = box.due("CN", 1, later())[0]
    now = later()
    box.mark_retry(a1.id, "refused", now + timedelta(seconds=30))
    assert [(i.record_id, i.version) for i in box.due("CN", 1, now)] == [("REC-B", 1)]


def test_attach_is_set_once_and_returns_what_is_stored(
    store: SqlStore, box: Outbox, record_dict: dict[str, Any]
) -> None:
    ingest(store, record_dict)
    item = box.due("CN", 10, later())[0]
    assert box.attach_message(item.id, "m-1", b"sealed-1") == ("m-1", b"sealed-1")
    # a second seal (e.g. a second sender after a crash) cannot replace the first
    assert box.attach_message(item.id, "m-2", b"sealed-2") == ("m-1", b"sealed-1")
    again = box.due("CN", 10, later())[0]
    assert again.sealed and again.message_id == "m-1" and again.message == b"sealed-1"
    assert box.attach([]) == {}


def test_settlements_move_only_pending_entries(
    store: SqlStore, box: Outbox, record_dict: dict[str, Any]
) -> None:
    recs = [with_id(record_dict, f"REC-{n}") for n in range(4)]
    ingest(store, *recs)
    ids = [i.id for i in box.due("CN", 10, later())]
    now = later()
    box.settle(
        [
            Delivered(ids[0], b"receipt", now),
            Rejected(ids[1], b"rejection", "record.container.mass", "too heavy", now),
            Retry(ids[2], "[transport.timeout] slow", now + timedelta(seconds=5), sent_at=now),
            Dead(ids[3], "crypto.wrong_recipient", "wrong", now),
        ]
    )
    e0, e1, e2, e3 = (box.entry(i) for i in ids)
    assert e0 is not None and e1 is not None and e2 is not None and e3 is not None
    assert (e0["state"], e0["answer"], e0["attempts"], e0["delivered_at"]) == (
        "delivered",
        b"receipt",
        1,
        now,
    )
    assert (e1["state"], e1["answer_code"], e1["last_error"]) == (
        "rejected",
        "record.container.mass",
        "too heavy",
    )
    assert (e2["state"], e2["attempts"], e2["next_attempt_at"], e2["sent_at"]) == (
        "pending",
        1,
        now + timedelta(seconds=5),
        now,
    )
    assert (e3["state"], e3["answer_code"]) == ("dead", "crypto.wrong_recipient")
    # a late answer for an entry already settled changes nothing
    box.mark_retry(ids[0], "late", now)
    box.mark_delivered(ids[1], b"late receipt", now)
    e0b, e1b = box.entry(ids[0]), box.entry(ids[1])
    assert e0b is not None and e0b["state"] == "delivered" and e0b["attempts"] == 1
    assert e1b is not None and e1b["state"] == "rejected" and e1b["answer"] == b"rejection"
    # a retry without sent_at keeps the earlier sent_at
    box.mark_retry(ids[2], "down", now + timedelta(seconds=9))
    e2b = box.entry(ids[2])
    assert e2b is not None and e2b["sent_at"] == now and e2b["attempts"] == 2
    assert box.counts() == {"pending": 1, "delivered": 1, "rejected": 1, "dead": 1, "withdrawn": 0}
    assert box.last_delivery("CN") == now and box.last_delivery("XX") is None
    rej = box.rejections(10)
    assert [(r["record_id"], r["version"], r["code"]) for r in rej] == [
        ("REC-1", 1, "record.container.mass")
    ]
    both = box.rejections(10, states=("rejected", "dead"))
    assert {r["state"] for r in both} == {"rejected", "dead"}


def test_depth_and_oldest_pending_age(
    store: SqlStore, box: Outbox, record_dict: dict[str, Any]
) -> None:
    now = later(0)
    assert box.depth("CN") == 0 and box.oldest_pending_age("CN", now) is None
    ingest(store, with_id(record_dict, "R1"), with_id(record_dict, "R2"), peers=("CN", "RU"))
    assert box.depth("CN") == 2 and box.depth("RU") == 2 and box.depth() == 4
    age = box.oldest_pending_age("CN", later(100))
    assert age is not None and 99 <= age <= 101
    first = box.due("CN", 1, later())[0]
    box.mark_delivered(first.id, b"r", later())
    assert box.depth("CN") == 1 and box.counts("CN")["delivered"] == 1


def test_circuit_state_is_persisted(store: SqlStore, box: Outbox, db_url: str) -> None:
    t0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert box.circuit("CN").circuit == "closed" and box.circuit("CN").allows(t0)
    s1 = box.record_failure("CN", "down", t0, timedelta(seconds=10), failures_to_open=2)
    assert (s1.circuit, s1.consecutive_failures) == ("closed", 1)
    s2 = box.record_failure("CN", "still down", t0, timedelta(seconds=10), failures_to_open=2)
    assert (s2.circuit, s2.opened_until) == ("open", t0 + timedelta(seconds=10))
    # a fresh Outbox on a fresh engine (a restarted node) sees the same state
    other = open_store(db_url)
    try:
        seen = Outbox(other.engine).circuit("CN")
    finally:
        other.close()
    assert seen == s2 and seen.last_error == "still down" and seen.last_failure_at == t0
    assert not seen.allows(t0 + timedelta(seconds=9))
    assert seen.state_at(t0 + timedelta(seconds=10)) == "half_open"
    # the trial batch of a half-open circuit fails: open again at once
    t1 = t0 + timedelta(seconds=11)
    s3 = box.record_failure("CN", "again", t1, timedelta(seconds=10), failures_to_open=5)
    assert (s3.circuit, s3.opened_until, s3.consecutive_failures) == (
        "open",
        t1 + timedelta(seconds=10),
        3,
    )
    s4 = box.record_success("CN", t1 + timedelta(seconds=20))
    assert (s4.circuit, s4.consecutive_failures, s4.opened_until) == ("closed", 0, None)
    assert box.circuit("CN").last_success_at == t1 + timedelta(seconds=20)
    assert box.circuit("CN").last_error == "again"  # kept for the operator
    assert set(box.peer_statuses()) == {"CN"}
