"""Sender with real keys (KZ sends to CN) and an in-memory peer: delivered only on a valid
signed receipt, rejections kept, circuit and backoff under outage, crash between seal and
send, per-record version order. The tests drive the one drain algorithm (``run_once`` is
``drain`` with the clock held at a given time); nothing sleeps."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ctop_node.crypto import OpenedMessage, message_digest
from ctop_node.model.canonical import canonical_bytes
from ctop_node.model.messages import MessageType, Receipt, RejectionError
from ctop_node.online.backoff import Backoff, CircuitPolicy
from ctop_node.online.interfaces import DeliveryAnswer, Transport
from ctop_node.online.sender import Sender
from ctop_node.store import SqlStore, open_store
from ctop_node.store.outbox import Outbox
from tests._homes import Home, exchange_trust, make_home
from tests.unit.online._nodes import FakePeer
from tests.unit.store._entries import changed, entry, with_id


@pytest.fixture
def store(sqlite_url: str) -> Iterator[SqlStore]:
    s = open_store(sqlite_url)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def peer(cn: Home) -> FakePeer:
    return FakePeer(cn, "KZ")


def make_sender(kz: Home, store: SqlStore, transport: Transport, **kw: Any) -> Sender:
    kw.setdefault("rng", random.Random(7))
    return Sender(
        "KZ",
        Outbox(store.engine),
        transport,
        kz.signer,
        kz.decryptor,
        kz.trust(),
        **kw,
    )


def ingest(store: SqlStore, *records: dict[str, Any]) -> None:
    store.write_batch([entry(r, peers=("CN",)) for r in records], origin_party="KZ")


def entries(store: SqlStore) -> list[dict[str, Any]]:
    box = Outbox(store.engine)
    return [e for r in store.outbox(limit=1000) if (e := box.entry(r.id)) is not None]


def soon(seconds: float = 1) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def test_delivered_on_a_valid_receipt(
    kz: Home, store: SqlStore, peer: FakePeer, record_dict: dict[str, Any]
) -> None:
    a = with_id(record_dict, "REC-A")
    ingest(store, a, with_id(record_dict, "REC-B"))
    ingest(store, changed(a, "v2"))
    now = soon()
    report = make_sender(kz, store, peer).run_once(now)
    assert (report.sent, report.delivered, report.retried) == (3, 3, 0)
    assert [o.header.type for o in peer.received] == [
        MessageType.CONSIGNMENT,
        MessageType.CONSIGNMENT,
        MessageType.AMENDMENT,
    ]
    assert all(o.encrypted for o in peer.received)
    rows = entries(store)
    digests = {(r.record_id, r.version): r.digest for r in store.versions("REC-A")}
    for row, opened in zip(rows, peer.received, strict=True):
        assert row["state"] == "delivered" and row["delivered_at"] == now
        assert row["message_id"] == opened.header.message_id
        assert row["message"] == opened.raw and row["answer"] is not None
        assert opened.header.sender == "KZ" and opened.header.tc_version == "1"
        if row["record_id"] == "REC-A":  # payload is the stored body: same digest
            assert opened.header.payload_digest == digests[("REC-A", row["version"])]
    status = Outbox(store.engine).circuit("CN")
    assert status.circuit == "closed" and status.last_success_at == now
    assert make_sender(kz, store, peer).run_once(soon(2)).sent == 0  # nothing left


def _retried_then_delivered(
    kz: Home, store: SqlStore, peer: FakePeer, record_dict: dict[str, Any], why: str
) -> None:
    ingest(store, record_dict)
    sender = make_sender(kz, store, peer)
    now = soon()
    report = sender.run_once(now)
    assert (report.sent, report.delivered, report.retried) == (1, 0, 1)
    (row,) = entries(store)
    assert row["state"] == "pending" and row["attempts"] == 1 and row["answer"] is None
    assert why in row["last_error"]
    assert now <= row["next_attempt_at"] <= now + timedelta(seconds=0.5)
    assert sender.outbox.circuit("CN").consecutive_failures == 0  # the peer itself is fine
    # the peer behaves again: the SAME message is delivered
    peer.behaviour = None
    peer.answers.clear()
    first_id = row["message_id"]
    assert sender.run_once(now + timedelta(seconds=1)).delivered == 1
    assert [o.header.message_id for o in peer.received] == [first_id, first_id]
    assert peer.raw_seen[0] == peer.raw_seen[1]


def test_receipt_with_a_wrong_digest_is_not_delivery(
    kz: Home, store: SqlStore, peer: FakePeer, record_dict: dict[str, Any]
) -> None:
    def wrong_digest(opened: OpenedMessage, raw: bytes) -> DeliveryAnswer:
        forged = peer.receipt(opened, raw, digest=message_digest(raw + b"x"))
        return DeliveryAnswer("receipt", forged)

    peer.behaviour = wrong_digest
    _retried_then_delivered(kz, store, peer, record_dict, "another message or digest")


def test_receipt_signed_by_an_unknown_key_is_not_delivery(
    tmp_path: Path, kz: Home, store: SqlStore, peer: FakePeer, record_dict: dict[str, Any]
) -> None:
    impostor = make_home(tmp_path, "CN", "cn-impostor")  # another CA calling itself CN

    def unknown_key(opened: OpenedMessage, raw: bytes) -> DeliveryAnswer:
        payload = Receipt(
            message_id=opened.header.message_id,
            message_digest=message_digest(raw),
            status="applied",
            stored_at=datetime.now(UTC),
        )
        forged = peer.seal_answer(
            opened, MessageType.RECEIPT, canonical_bytes(payload), signer=impostor.signer
        )
        return DeliveryAnswer("receipt", forged)

    peer.behaviour = unknown_key
    _retried_then_delivered(kz, store, peer, record_dict, "crypto.unknown_key")


def test_receipt_from_another_party_is_not_delivery(
    tmp_path: Path, kz: Home, store: SqlStore, peer: FakePeer, record_dict: dict[str, Any]
) -> None:
    ru = make_home(tmp_path, "RU")
    exchange_trust(kz, ru, tmp_path)  # RU is trusted by KZ, but it is not the peer we sent to

    def other_party(opened: OpenedMessage, raw: bytes) -> DeliveryAnswer:
        payload = Receipt(
            message_id=opened.header.message_id,
            message_digest=message_digest(raw),
            status="applied",
            stored_at=datetime.now(UTC),
        )
        forged = peer.seal_answer(
            opened, MessageType.RECEIPT, canonical_bytes(payload), signer=ru.signer, sender="RU"
        )
        return DeliveryAnswer("receipt", forged)

    peer.behaviour = other_party
    _retried_then_delivered(kz, store, peer, record_dict, "not by CN")


def test_receipt_for_another_message_is_not_delivery(
    kz: Home, store: SqlStore, peer: FakePeer, record_dict: dict[str, Any]
) -> None:
    def uncorrelated(opened: OpenedMessage, raw: bytes) -> DeliveryAnswer:
        payload = Receipt(
            message_id=opened.header.message_id,
            message_digest=message_digest(raw),
            status="applied",
            stored_at=datetime.now(UTC),
        )
        other = "00000000-0000-4000-8000-000000000000"
        forged = peer.seal_answer(
            opened, MessageType.RECEIPT, canonical_bytes(payload), correlation_id=other
        )
        return DeliveryAnswer("receipt", forged)

    peer.behaviour = uncorrelated
    _retried_then_delivered(kz, store, peer, record_dict, "correlation id")


def test_a_rejection_is_final_and_kept(
    kz: Home, store: SqlStore, peer: FakePeer, record_dict: dict[str, Any]
) -> None:
    peer.behaviour = lambda _o, _r: RejectionError(
        code="record.container.mass", field="$.containers[0]", message="goods too heavy"
    )
    ingest(store, record_dict)
    sender = make_sender(kz, store, peer)
    now = soon()
    assert sender.run_once(now).rejected == 1
    (row,) = entries(store)
    assert row["state"] == "rejected" and row["answer_code"] == "record.container.mass"
    assert "goods too heavy" in row["last_error"] and row["answer"] is not None
    (shown,) = sender.outbox.rejections(5)
    assert (shown["record_id"], shown["version"], shown["code"]) == (
        record_dict["record_id"],
        1,
        "record.container.mass",
    )
    assert sender.run_once(now + timedelta(hours=1)).sent == 0  # never sent again


def test_refusals_retry_or_die_by_code(
    kz: Home, store: SqlStore, peer: FakePeer, record_dict: dict[str, Any]
) -> None:
    codes = {"REC-1": "crypto.untrusted_chain", "REC-2": "crypto.wrong_recipient"}

    def refuse(opened: OpenedMessage, _raw: bytes) -> DeliveryAnswer:
        return DeliveryAnswer("refused", None, codes[str(opened.header.record_id)], "no")

    peer.behaviour = refuse
    ingest(store, with_id(record_dict, "REC-1"), with_id(record_dict, "REC-2"))
    report = make_sender(kz, store, peer).run_once(soon())
    assert (report.retried, report.dead) == (1, 1)
    by_id = {r["record_id"]: r for r in entries(store)}
    assert by_id["REC-1"]["state"] == "pending"
    assert by_id["REC-2"]["state"] == "dead"
    assert by_id["REC-2"]["answer_code"] == "crypto.wrong_recipient"


def test_max_attempts_makes_item_failures_dead(
    kz: Home, store: SqlStore, peer: FakePeer, record_dict: dict[str, Any]
) -> None:
    peer.behaviour = lambda _o, _r: DeliveryAnswer("refused", None, "crypto.unknown_key", "?")
    ingest(store, record_dict)
    sender = make_sender(kz, store, peer, max_attempts=2)
    now = soon()
    assert sender.run_once(now).retried == 1
    assert sender.run_once(now + timedelta(minutes=2)).dead == 1
    assert entries(store)[0]["answer_code"] == "outbox.max_attempts"


def test_outage_opens_the_circuit_backs_off_with_jitter_and_recovers(
    kz: Home, store: SqlStore, peer: FakePeer, record_dict: dict[str, Any]
) -> None:
    ingest(store, *(with_id(record_dict, f"REC-{n}") for n in range(5)))
    sender = make_sender(
        kz,
        store,
        peer,
        backoff=Backoff(base=0.5, factor=2, max=60),
        circuit=CircuitPolicy(failures_to_open=3, open_for=timedelta(seconds=10)),
    )
    box = sender.outbox
    peer.down = True
    t0 = soon()

    def next_attempts() -> set[datetime]:
        return {r["next_attempt_at"] for r in entries(store)}

    delays = []
    for n, at in enumerate([t0, t0 + timedelta(seconds=1), t0 + timedelta(seconds=3)], 1):
        report = sender.run_once(at)
        assert report.peers["CN"].error is not None and report.retried == 5
        (later,) = next_attempts()  # one delay for the whole batch: order kept
        delay = (later - at).total_seconds()
        assert 0 <= delay <= 0.5 * 2 ** (n - 1)  # full jitter under the exponential ceiling
        delays.append(delay)
        assert box.circuit("CN").consecutive_failures == n
    assert box.circuit("CN").circuit == "open"
    assert box.circuit("CN").opened_until == t0 + timedelta(seconds=13)
    assert delays != [0.5, 1.0, 2.0]  # jittered, not the bare ceilings
    calls = peer.calls
    skipped = sender.run_once(t0 + timedelta(seconds=8))  # due, but the circuit is open
    assert skipped.peers["CN"].skipped and peer.calls == calls
    # half-open trial at t0+13 fails: open again at once
    sender.run_once(t0 + timedelta(seconds=13))
    assert peer.calls == calls + 1
    status = box.circuit("CN")
    assert status.circuit == "open" and status.opened_until == t0 + timedelta(seconds=23)
    assert "connection refused" in str(status.last_error)
    # the peer is back: the trial succeeds and the whole backlog goes, in order
    peer.down = False
    report = sender.run_once(t0 + timedelta(seconds=23))
    assert report.delivered == 5
    assert peer.seen() == [(f"REC-{n}", 1) for n in range(5)]
    status = box.circuit("CN")
    assert (status.circuit, status.consecutive_failures) == ("closed", 0)
    assert all(r["attempts"] == 5 for r in entries(store))


def test_backoff_grows_to_its_cap_with_full_jitter() -> None:
    b = Backoff(base=0.5, factor=2, max=60)
    assert [b.ceiling(n) for n in (1, 2, 3, 4, 8, 9, 50, 10_000)] == [
        0.5,
        1,
        2,
        4,
        60,
        60,
        60,
        60,
    ]
    rng = random.Random(1)
    samples = [b.delay(5, rng).total_seconds() for _ in range(2000)]
    assert all(0 <= s <= 8 for s in samples)
    assert min(samples) < 1 and max(samples) > 7  # spread over the whole range
    assert Backoff(jitter="none").delay(3, rng) == timedelta(seconds=2)
    equal = [Backoff(jitter="equal").delay(3, rng).total_seconds() for _ in range(200)]
    assert all(1 <= s <= 2 for s in equal)


class Crash(BaseException):
    """Stands for kill -9: nothing after it runs."""


class CrashingTransport:
    def __init__(self) -> None:
        self.batches: list[list[bytes]] = []

    def send(self, peer: str, messages: list[bytes]) -> list[DeliveryAnswer]:
        self.batches.append(list(messages))
        raise Crash

    def close(self) -> None:
        pass


def test_crash_between_seal_and_send_resends_the_same_message(
    kz: Home, store: SqlStore, peer: FakePeer, record_dict: dict[str, Any]
) -> None:
    ingest(store, with_id(record_dict, "REC-1"), with_id(record_dict, "REC-2"))
    crashing = CrashingTransport()
    with pytest.raises(Crash):
        make_sender(kz, store, crashing).run_once(soon())
    (lost,) = crashing.batches
    stored = [r["message"] for r in entries(store)]
    assert stored == lost  # sealed and committed before the send
    # a new process: the same bytes and message ids, no new seal
    report = make_sender(kz, store, peer).run_once(soon(2))
    assert report.delivered == 2 and report.peers["CN"].sealed == 0
    assert peer.raw_seen == lost


def test_versions_of_a_record_never_overtake_each_other(
    kz: Home, store: SqlStore, peer: FakePeer, record_dict: dict[str, Any]
) -> None:
    a = with_id(record_dict, "REC-A")
    ingest(store, a)
    ingest(store, changed(a, "v2"))
    ingest(store, changed(a, "v3"))
    ingest(store, with_id(record_dict, "REC-B"))
    refused_once: set[str] = set()

    def refuse_a1_once(opened: OpenedMessage, _raw: bytes) -> DeliveryAnswer | None:
        if opened.header.version == 1 and opened.header.record_id == "REC-A":
            if not refused_once:
                refused_once.add(opened.header.message_id)
                return DeliveryAnswer("refused", None, "crypto.untrusted_chain", "later")
        return None

    peer.behaviour = refuse_a1_once
    sender = make_sender(kz, store, peer, batch_size=1)
    now = soon()
    for _ in range(4):
        sender.run_once(now)
    assert peer.seen() == [("REC-A", 1), ("REC-B", 1)]  # v2, v3 wait behind v1
    for _ in range(4):
        sender.run_once(now + timedelta(minutes=1))
    assert peer.seen() == [("REC-A", 1), ("REC-B", 1), ("REC-A", 1), ("REC-A", 2), ("REC-A", 3)]
    assert {r["state"] for r in entries(store)} == {"delivered"}


def test_run_forever_drains_and_stops_on_the_event(
    kz: Home, store: SqlStore, peer: FakePeer, record_dict: dict[str, Any]
) -> None:
    ingest(store, *(with_id(record_dict, f"REC-{n}") for n in range(30)))
    sender = make_sender(kz, store, peer, batch_size=7)
    stop = threading.Event()
    thread = threading.Thread(target=sender.run_forever, args=(stop, 0.01), daemon=True)
    thread.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=30)
        while sender.outbox.depth("CN") and datetime.now(UTC) < deadline:
            stop.wait(0.02)  # polls a condition, with a deadline
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert sender.outbox.depth("CN") == 0 and sender.outbox.counts()["delivered"] == 30
