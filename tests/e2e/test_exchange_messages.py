"""Odd but authentic messages sent by hand over a real mTLS connection to a running CN node,
with KZ's real keys. Client sends ... / result: ...

- a sealed message captured from KZ's outbox, replayed / the identical stored answer, not
  stored twice;
- the same record version under a new message id / a RECEIPT, kept as 'duplicate', one record;
- another payload under a message id already used / REJECTION exchange.duplicate_message_id;
- version 2 before version 1 / v2 waits (RECEIPT), then v1 applies both in order;
- a cancellation of a record CN never received / REJECTION exchange.unknown_record.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ctop_node.model.messages import MessageType, Receipt, Rejection
from ctop_node.store.schema import inbox
from tests.e2e.conftest import Pair, changed, records_for
from tests.unit.online._peers import cancellation_message, new_id, record_message


def _inbox_count(pair: Pair) -> int:
    with pair.engine(pair.cn).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(inbox)).scalar_one())


def test_replay_and_duplicates_are_not_stored_twice(
    pair: Pair, record_dict: dict[str, Any]
) -> None:
    recs = records_for(record_dict, 3, prefix="REPLAY")
    pair.ingest(pair.kz, recs)
    pair.wait_drained()
    delivered = pair.outbox_rows()
    assert {r.state for r in delivered} == {"delivered"}
    first = delivered[0]
    stored = {r.message_id: r.answer for r in pair.inbox_rows()}

    # Replay of the captured sealed bytes, twice in one batch.
    answers = pair.post_messages([first.message, first.message])
    for a in answers:
        assert a["status"] == "receipt", a
        assert a["answer"] == stored[first.message_id] == first.answer
    assert _inbox_count(pair) == 3 and len(pair.received()) == 3

    # The same record version sealed again under a new message id (a second copy).
    kz = pair.kz_home()
    by_id = {r["record_id"]: r for r in recs}
    received = pair.received()
    copy_of = by_id[received[0].record_id]
    second = record_message(kz, copy_of, message_id=new_id())
    (answer,) = pair.post_messages([second])
    assert answer["status"] == "receipt", answer
    receipt = pair.open_answer(answer["answer"])
    assert receipt.header.type is MessageType.RECEIPT
    assert Receipt.model_validate_json(receipt.payload).message_id == receipt.header.correlation_id
    states = {r.message_id: r.state for r in pair.inbox_rows()}
    assert list(states.values()).count("duplicate") == 1
    assert len(pair.received()) == 3  # still one row per record version

    # Another payload under a message id already used.
    other = record_message(kz, changed(copy_of, 9), version=2, message_id=first.message_id)
    (answer,) = pair.post_messages([other])
    assert (answer["status"], answer["code"]) == ("rejection", "exchange.duplicate_message_id")
    assert pair.inbox_rows() and _inbox_count(pair) == 4
    assert {r.message_id: r.answer for r in pair.inbox_rows()}[first.message_id] == first.answer


def test_version_two_before_version_one_waits_then_both_apply_in_order(
    pair: Pair, record_dict: dict[str, Any]
) -> None:
    kz = pair.kz_home()
    (rec,) = records_for(record_dict, 1, prefix="OOO")
    v2 = record_message(kz, changed(rec, 2), version=2)
    (answer,) = pair.post_messages([v2])
    assert answer["status"] == "receipt", answer  # durably stored, even if not applied yet
    assert [r.state for r in pair.inbox_rows()] == ["waiting"]
    assert pair.received() == []

    (answer,) = pair.post_messages([record_message(kz, rec, version=1)])
    assert answer["status"] == "receipt", answer
    assert [(r.record_id, r.version) for r in pair.received()] == [
        (rec["record_id"], 1),
        (rec["record_id"], 2),
    ]
    assert {r.state for r in pair.inbox_rows()} == {"applied"}


def test_cancellation_of_an_unknown_record_is_rejected(pair: Pair) -> None:
    kz = pair.kz_home()
    raw = cancellation_message(kz, "KZ-NEVER-SENT-000001")
    (answer,) = pair.post_messages([raw])
    assert (answer["status"], answer["code"]) == ("rejection", "exchange.unknown_record")
    opened = pair.open_answer(answer["answer"])
    assert opened.header.type is MessageType.REJECTION and opened.signer.party == "CN"
    rejection = Rejection.model_validate_json(opened.payload)
    assert [(e.code, e.field) for e in rejection.errors] == [
        ("exchange.unknown_record", "$.record_id")
    ]
    assert [r.state for r in pair.inbox_rows()] == ["rejected"]
    assert pair.received() == []
