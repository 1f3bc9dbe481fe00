"""Cancelling our own record, and issue 8 finding 13 (a later version refused under Art.6 or
no longer applicable): pending versions are withdrawn, delivered ones cancelled, on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ctop_node.errors import RecordError
from ctop_node.rules.outcome import OutcomeKind
from ctop_node.store import SqlStore
from ctop_node.store.interfaces import IngestEntry
from ctop_node.store.lockreads import LockWrite
from ctop_node.store.operations import OperationsQueries
from ctop_node.store.outbox import Dead, Delivered, Outbox, Rejected
from tests.unit.store._entries import changed, entry, with_id


@pytest.fixture
def box(store: SqlStore) -> Outbox:
    return Outbox(store.engine)


def later() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=1)


def refused(record_id: str) -> IngestEntry:
    return IngestEntry(
        source="in.jsonl",
        position="line 4",
        record_id=record_id,
        outcome=OutcomeKind.REFUSED,
        reason="art6.state_secret",
        detail="flagged as containing state secrets",
    )


def deliver(box: Outbox, version: int, record_id: str = "REC-A") -> None:
    """Seal and deliver ``version`` of the record (as the sender would)."""
    item = next(
        i for i in box.due("CN", 100, later()) if (i.record_id, i.version) == (record_id, version)
    )
    box.attach_message(item.id, f"00000000-0000-4000-8000-00000000000{version}", b"sealed")
    box.settle([Delivered(item.id, b"receipt", later())])


def states(store: SqlStore, record_id: str = "REC-A") -> list[tuple[str, int, str]]:
    return [
        (d["kind"], d["version"], d["state"])
        for d in store.deliveries(record_id, origin_party="KZ")
    ]


def three_versions(store: SqlStore, record_dict: dict[str, Any]) -> dict[str, Any]:
    a = with_id(record_dict, "REC-A")
    store.write_batch([entry(a)], origin_party="KZ")
    store.write_batch([entry(changed(a, "v2"))], origin_party="KZ")
    store.write_batch([entry(changed(a, "v3"))], origin_party="KZ")
    return a


def test_refused_later_version_withdraws_pending_and_cancels_delivered(
    store: SqlStore, box: Outbox, record_dict: dict[str, Any]
) -> None:
    three_versions(store, record_dict)
    deliver(box, 1)
    store.write_batch([refused("REC-A")], origin_party="KZ")
    assert states(store) == [
        ("record", 1, "delivered"),
        ("record", 2, "withdrawn"),
        ("record", 3, "withdrawn"),
        ("cancellation", 1, "pending"),
    ]
    due = box.due("CN", 100, later())
    # Only the cancellation goes out: the withdrawn versions never do.
    assert [(i.kind, i.version, i.reason) for i in due] == [
        ("cancellation", 1, "art6.state_secret")
    ]
    assert store.list_records()[0].state == "cancelled"
    assert box.counts()["withdrawn"] == 2


def test_not_applicable_version_withdraws_and_cancels(
    store: SqlStore, box: Outbox, record_dict: dict[str, Any]
) -> None:
    a = three_versions(store, record_dict)
    deliver(box, 1)
    deliver(box, 2)
    store.write_batch(
        [entry(changed(a, "v4"), outcome=OutcomeKind.NOT_APPLICABLE)], origin_party="KZ"
    )
    assert states(store)[-2:] == [("record", 3, "withdrawn"), ("cancellation", 2, "pending")]
    [item] = box.due("CN", 100, later())
    assert (item.kind, item.version, item.reason) == ("cancellation", 2, "test.not_applicable")
    [row] = store.list_records()
    assert (row.version, row.outcome, row.state) == (4, "not_applicable", "cancelled")


def test_nothing_sent_yet_is_withdrawn_without_a_cancellation(
    store: SqlStore, box: Outbox, record_dict: dict[str, Any]
) -> None:
    three_versions(store, record_dict)
    store.write_batch([refused("REC-A")], origin_party="KZ")
    assert states(store) == [("record", v, "withdrawn") for v in (1, 2, 3)]
    assert box.due("CN", 100, later()) == []


def test_a_sealed_version_whose_answer_was_lost_is_cancelled(
    store: SqlStore, box: Outbox, record_dict: dict[str, Any]
) -> None:
    """v1 was sealed (it may be at the peer, the answer lost): it is named as cancelled."""
    three_versions(store, record_dict)
    first = box.due("CN", 100, later())[0]
    box.attach_message(first.id, "00000000-0000-4000-8000-000000000001", b"sealed")
    store.write_batch([refused("REC-A")], origin_party="KZ")
    assert states(store)[-1] == ("cancellation", 1, "pending")


def test_a_version_written_to_a_lock_is_cancelled_and_no_withdrawn_one_goes_on_a_lock(
    store: SqlStore, box: Outbox, record_dict: dict[str, Any]
) -> None:
    """v1 went on a smart lock before it was sealed online: the lock carries it to the peer
    whatever the online channel does, so the refusal of v2 names v1 as cancelled; and no
    version withdrawn or cancelled may be written to a lock afterwards (issue 11 item 8)."""
    a = with_id(record_dict, "REC-A")
    store.write_batch([entry(a)], origin_party="KZ")
    assert store.lock_peers_of("REC-A", 1, origin_party="KZ") == ["CN"]
    store.lock_reads.add_write(
        LockWrite("REC-A", 1, "CN", "LOCK-0001", "p-1", "d" * 64, "full", 100, later())
    )
    store.write_batch([refused("REC-A")], origin_party="KZ")
    assert states(store) == [("record", 1, "withdrawn"), ("cancellation", 1, "pending")]
    assert store.lock_peers_of("REC-A", 1, origin_party="KZ") == []
    assert store.peers_of("REC-A", 1, origin_party="KZ") == ["CN"]  # still answers "whose"


def test_a_given_up_version_is_withdrawn_so_no_requeue_sends_it(
    store: SqlStore, box: Outbox, record_dict: dict[str, Any]
) -> None:
    """v1 was sealed, tried and given up (dead); v2 is flagged: v1 is withdrawn, so
    ``outbox requeue`` cannot send it after all, and it is named as cancelled (it may have
    arrived, its answer lost)."""
    a = with_id(record_dict, "REC-A")
    store.write_batch([entry(a)], origin_party="KZ")
    item = box.due("CN", 100, later())[0]
    box.attach_message(item.id, "00000000-0000-4000-8000-000000000001", b"sealed")
    box.settle([Dead(item.id, "transport.max_attempts", "gave up", later())])
    store.write_batch([refused("REC-A")], origin_party="KZ")
    assert states(store) == [("record", 1, "withdrawn"), ("cancellation", 1, "pending")]
    assert OperationsQueries(store.engine).requeue_dead(later()) == []
    assert store.lock_peers_of("REC-A", 1, origin_party="KZ") == []


def test_a_rejected_version_of_a_record_cancelled_goes_on_no_lock(
    store: SqlStore, box: Outbox, record_dict: dict[str, Any]
) -> None:
    a = with_id(record_dict, "REC-A")
    store.write_batch([entry(a)], origin_party="KZ")
    item = box.due("CN", 100, later())[0]
    box.attach_message(item.id, "00000000-0000-4000-8000-000000000001", b"sealed")
    box.settle([Rejected(item.id, b"rejection", "exchange.wrong_route", "no", later())])
    assert store.lock_peers_of("REC-A", 1, origin_party="KZ") == ["CN"]
    store.write_batch([refused("REC-A")], origin_party="KZ")
    assert store.list_records()[0].state == "cancelled"
    assert store.lock_peers_of("REC-A", 1, origin_party="KZ") == []


def test_a_version_queued_before_the_refusal_in_the_same_batch_is_withdrawn(
    store: SqlStore, box: Outbox, record_dict: dict[str, Any]
) -> None:
    a = with_id(record_dict, "REC-A")
    store.write_batch([entry(a), refused("REC-A")], origin_party="KZ")
    assert states(store) == [("record", 1, "withdrawn")]


def test_a_later_sendable_version_in_the_same_batch_keeps_the_record_going(
    store: SqlStore, box: Outbox, record_dict: dict[str, Any]
) -> None:
    a = with_id(record_dict, "REC-A")
    store.write_batch([entry(a)], origin_party="KZ")
    store.write_batch([refused("REC-A"), entry(changed(a, "v2"))], origin_party="KZ")
    assert states(store) == [("record", 1, "pending"), ("record", 2, "pending")]


def test_other_records_are_untouched(
    store: SqlStore, box: Outbox, record_dict: dict[str, Any]
) -> None:
    three_versions(store, record_dict)
    store.write_batch([entry(with_id(record_dict, "REC-B"))], origin_party="KZ")
    store.write_batch([refused("REC-A")], origin_party="KZ")
    assert states(store, "REC-B") == [("record", 1, "pending")]


def test_cancel_record_queues_one_cancellation_per_peer(
    store: SqlStore, box: Outbox, record_dict: dict[str, Any]
) -> None:
    a = with_id(record_dict, "REC-A")
    store.write_batch([entry(a, peers=("CN", "RU"))], origin_party="KZ")
    store.write_batch([entry(changed(a, "v2"), peers=("CN", "RU"))], origin_party="KZ")
    deliver(box, 1)  # CN has v1; RU nothing
    done = store.cancel_record("REC-A", "declaration annulled", origin_party="KZ")
    assert done.cancellations == (("CN", 1),)
    assert set(done.withdrawn) == {("CN", 2), ("RU", 1), ("RU", 2)}
    assert store.get_record("REC-A") is not None
    [row] = store.list_records()
    assert row.state == "cancelled"
    assert [v.state for v in store.versions("REC-A")] == ["cancelled", "cancelled"]
    with pytest.raises(RecordError) as again:
        store.cancel_record("REC-A", "twice", origin_party="KZ")
    assert again.value.code == "record.already_cancelled"


def test_cancel_unknown_record(store: SqlStore) -> None:
    with pytest.raises(RecordError) as exc:
        store.cancel_record("NOPE-1", "why", origin_party="KZ")
    assert exc.value.code == "record.not_found" and exc.value.record_id == "NOPE-1"


def test_a_cancelled_record_is_no_lock_candidate_and_no_sent_version(
    store: SqlStore, box: Outbox, record_dict: dict[str, Any]
) -> None:
    a = with_id(record_dict, "REC-A")
    store.write_batch([entry(a), entry(with_id(record_dict, "REC-B"))], origin_party="KZ")
    deliver(box, 1)
    assert {c.record_id for c in store.lock_candidates()} == {"REC-A", "REC-B"}
    store.cancel_record("REC-A", "annulled", origin_party="KZ")
    assert {c.record_id for c in store.lock_candidates()} == {"REC-B"}
    # The cancellation row is not a record version sent or queued for a peer.
    sent = store.sent_versions("CN")
    assert sorted((s.record_id, s.version, s.state) for s in sent) == [
        ("REC-A", 1, "delivered"),
        ("REC-B", 1, "pending"),
    ]
    assert store.peers_of("REC-A", 1, origin_party="KZ") == ["CN"]


def test_a_new_version_of_a_cancelled_record_is_kept_and_not_sent(
    store: SqlStore, box: Outbox, record_dict: dict[str, Any]
) -> None:
    a = with_id(record_dict, "REC-A")
    store.write_batch([entry(a)], origin_party="KZ")
    deliver(box, 1)
    store.cancel_record("REC-A", "annulled", origin_party="KZ")
    [result] = store.write_batch([entry(changed(a, "v2"))], origin_party="KZ")
    assert (result.version, result.held, result.unchanged) == (2, True, False)
    assert states(store) == [("record", 1, "delivered"), ("cancellation", 1, "pending")]
    v2 = store.get_record("REC-A", 2)
    assert v2 is not None and v2.reason == "record.cancelled"
    [row] = store.list_records()
    assert (row.version, row.state) == (2, "cancelled")
    # A refused (state-secret) version cancels too; what comes after is held the same way.
    b = with_id(record_dict, "REC-B")
    store.write_batch([entry(b)], origin_party="KZ")
    store.write_batch([refused("REC-B")], origin_party="KZ")
    [again] = store.write_batch([entry(changed(b, "v2"))], origin_party="KZ")
    assert again.held and states(store, "REC-B") == [("record", 1, "withdrawn")]
