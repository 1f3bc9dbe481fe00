"""Cancellation end to end in one process: KZ's store (SQLite and PostgreSQL) and sender,
CN's REAL Receiver and store. Issue 8 finding 13 (a later version refused under Art.6 or not
applicable: pending versions withdrawn, delivered ones cancelled), the clearance side's
cancel, no revival after a cancellation, and re-sealing a message grown too old for the
peer's clock-skew check."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ctop_node.crypto import open_
from ctop_node.errors import TransportError
from ctop_node.exchange.receive import Receiver
from ctop_node.model.messages import Receipt
from ctop_node.online.interfaces import DeliveryAnswer
from ctop_node.online.sender import Sender
from ctop_node.rules.outcome import OutcomeKind
from ctop_node.store import SqlStore, open_store
from ctop_node.store.inbox import Inbox
from ctop_node.store.interfaces import IngestEntry
from ctop_node.store.outbox import Outbox
from tests._homes import Home
from tests.unit.online._peers import record_message
from tests.unit.online.test_sender_receiver import InProcess
from tests.unit.store._entries import changed, entry, with_id


@pytest.fixture
def cn_store(tmp_path: Path) -> Iterator[SqlStore]:
    with open_store(f"sqlite:///{tmp_path / 'cn.db'}") as s:
        yield s


@pytest.fixture
def link(kz_cn_homes: tuple[Home, Home], cn_store: SqlStore) -> InProcess:
    _, cn = kz_cn_homes
    return InProcess(Receiver("CN", Inbox(cn_store.engine), cn.signer, cn.decryptor, cn.trust()))


def make_sender(homes: tuple[Home, Home], kz_store: SqlStore, link: InProcess, **kw: Any) -> Sender:
    kz, _ = homes
    box = Outbox(kz_store.engine)
    return Sender("KZ", box, link, kz.signer, kz.decryptor, kz.trust(), **kw)


def soon(seconds: float = 1) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def refused(record_id: str) -> IngestEntry:
    return IngestEntry(
        source="in.jsonl",
        position="line 4",
        record_id=record_id,
        outcome=OutcomeKind.REFUSED,
        reason="art6.state_secret",
    )


def kinds(kz_store: SqlStore, record_id: str) -> list[tuple[str, int, str]]:
    return [
        (d["kind"], d["version"], d["state"])
        for d in kz_store.deliveries(record_id, origin_party="KZ")
    ]


@pytest.mark.parametrize("stop", ["refused", "not_applicable"])
def test_later_version_stopped_withdraws_pending_and_cancels_at_the_peer(
    kz_cn_homes: tuple[Home, Home],
    store: SqlStore,
    cn_store: SqlStore,
    link: InProcess,
    record_dict: dict[str, Any],
    stop: str,
) -> None:
    kz_store = store  # SQLite and PostgreSQL
    a = with_id(record_dict, "KZ-A")
    kz_store.write_batch([entry(a)], origin_party="KZ")
    assert make_sender(kz_cn_homes, kz_store, link).run_once(soon()).delivered == 1
    kz_store.write_batch([entry(changed(a, "v2"))], origin_party="KZ")
    kz_store.write_batch([entry(changed(a, "v3"))], origin_party="KZ")
    if stop == "refused":
        kz_store.write_batch([refused("KZ-A")], origin_party="KZ")
    else:
        v4 = entry(changed(a, "v4"), outcome=OutcomeKind.NOT_APPLICABLE)
        kz_store.write_batch([v4], origin_party="KZ")
    report = make_sender(kz_cn_homes, kz_store, link).run_once(soon(2))
    assert (report.sent, report.delivered) == (1, 1)  # the cancellation only
    assert kinds(kz_store, "KZ-A") == [
        ("record", 1, "delivered"),
        ("record", 2, "withdrawn"),
        ("record", 3, "withdrawn"),
        ("cancellation", 1, "delivered"),
    ]
    # The peer: the record is cancelled and the withdrawn versions never arrived.
    assert [r.version for r in cn_store.versions("KZ-A", origin_party="KZ")] == [1]
    [row] = cn_store.list_records()
    assert row.state == "cancelled"
    inbox = Inbox(cn_store.engine).list(record_id="KZ-A")
    assert sorted((r.type, r.version, r.state) for r in inbox) == [
        ("CANCELLATION", 1, "applied"),
        ("CONSIGNMENT", 1, "applied"),
    ]
    assert make_sender(kz_cn_homes, kz_store, link).run_once(soon(3)).sent == 0


def test_cancel_then_a_new_version_is_held_and_refused_by_the_peer(
    kz_cn_homes: tuple[Home, Home],
    store: SqlStore,
    cn_store: SqlStore,
    link: InProcess,
    record_dict: dict[str, Any],
) -> None:
    kz, _ = kz_cn_homes
    a = with_id(record_dict, "KZ-A")
    store.write_batch([entry(a)], origin_party="KZ")
    make_sender(kz_cn_homes, store, link).run_once(soon())
    store.cancel_record("KZ-A", "declaration annulled", origin_party="KZ")
    assert make_sender(kz_cn_homes, store, link).run_once(soon(2)).delivered == 1
    box = Outbox(store.engine)
    [cancel] = [e for r in store.outbox() if (e := box.entry(r.id)) and e["kind"] == "cancellation"]
    opened = open_(cancel["answer"], kz.trust(), kz.decryptor, "KZ")
    assert Receipt.model_validate_json(opened.payload).status == "applied"
    # The clearance system sends a new version anyway: kept at KZ, never sent.
    [held] = store.write_batch([entry(changed(a, "v2"))], origin_party="KZ")
    assert held.held and held.version == 2
    assert make_sender(kz_cn_homes, store, link).run_once(soon(3)).sent == 0
    # A peer that sends one anyway (hand-sealed here) is refused: no revival.
    v2 = record_message(kz, changed(a, "v2"), version=2)
    [answer] = link.send("CN", [v2])
    assert (answer.status, answer.code) == ("rejection", "exchange.cancelled")
    assert [r.version for r in cn_store.versions("KZ-A", origin_party="KZ")] == [1]


class Down:
    """A peer that cannot be reached."""

    def send(self, peer: str, messages: list[bytes]) -> list[DeliveryAnswer]:
        raise TransportError("connection refused")

    def close(self) -> None:
        pass


def _sealed_during_an_outage(
    homes: tuple[Home, Home], kz_store: SqlStore, record: dict[str, Any]
) -> tuple[int, str, datetime]:
    """KZ seals v1 and fails to send it: the outbox keeps the sealed bytes."""
    kz_store.write_batch([entry(record)], origin_party="KZ")
    sealed_at = soon()
    kz, _ = homes
    box = Outbox(kz_store.engine)
    down = Sender("KZ", box, Down(), kz.signer, kz.decryptor, kz.trust())
    assert down.run_once(sealed_at).retried == 1
    [row] = [box.entry(r.id) for r in kz_store.outbox()]
    assert row is not None and row["message_id"] is not None
    return int(row["id"]), str(row["message_id"]), sealed_at


def test_kept_bytes_too_old_for_the_peers_clock_are_refused(
    kz_cn_homes: tuple[Home, Home],
    store: SqlStore,
    link: InProcess,
    record_dict: dict[str, Any],
) -> None:
    """Why re-sealing exists: the peer refuses a created_at 11 minutes old."""
    _, _, sealed_at = _sealed_during_an_outage(kz_cn_homes, store, record_dict)
    later = sealed_at + timedelta(minutes=11)
    link.receiver.clock = lambda: later
    kept = make_sender(kz_cn_homes, store, link, reseal_after=timedelta(days=1))
    assert kept.run_once(later).rejected == 1
    assert Outbox(store.engine).rejections()[0]["code"] == "exchange.clock_skew"


def test_kept_bytes_grown_old_are_sealed_again_and_delivered(
    kz_cn_homes: tuple[Home, Home],
    store: SqlStore,
    cn_store: SqlStore,
    link: InProcess,
    record_dict: dict[str, Any],
) -> None:
    oid, old_id, sealed_at = _sealed_during_an_outage(kz_cn_homes, store, record_dict)
    later = sealed_at + timedelta(minutes=11)
    link.receiver.clock = lambda: later
    assert make_sender(kz_cn_homes, store, link).run_once(later).delivered == 1
    row = Outbox(store.engine).entry(oid)
    assert row is not None and row["message_id"] != old_id
    [inbox_row] = Inbox(cn_store.engine).list()
    assert (inbox_row.message_id, inbox_row.state) == (row["message_id"], "applied")


def test_young_kept_bytes_are_sent_as_they_are(
    kz_cn_homes: tuple[Home, Home],
    store: SqlStore,
    link: InProcess,
    record_dict: dict[str, Any],
) -> None:
    oid, old_id, sealed_at = _sealed_during_an_outage(kz_cn_homes, store, record_dict)
    later = sealed_at + timedelta(minutes=4)
    assert make_sender(kz_cn_homes, store, link).run_once(later).delivered == 1
    row = Outbox(store.engine).entry(oid)
    assert row is not None and row["message_id"] == old_id


def test_cancelling_a_version_that_never_arrived_is_rejected_and_shown_as_such(
    kz_cn_homes: tuple[Home, Home],
    store: SqlStore,
    cn_store: SqlStore,
    link: InProcess,
    record_dict: dict[str, Any],
) -> None:
    """v1 was sealed but lost in an outage: it may have arrived, so it is cancelled; CN never
    got it and rejects the cancellation (exchange.unknown_record), which KZ shows as the
    rejection of a cancellation, not of the record version."""
    _sealed_during_an_outage(kz_cn_homes, store, record_dict)
    rid = record_dict["record_id"]
    done = store.cancel_record(rid, "annulled", origin_party="KZ")
    assert (done.withdrawn, done.cancellations) == ((("CN", 1),), (("CN", 1),))
    assert make_sender(kz_cn_homes, store, link).run_once(soon(2)).rejected == 1
    [shown] = Outbox(store.engine).rejections()
    assert (shown["kind"], shown["version"], shown["code"]) == (
        "cancellation",
        1,
        "exchange.unknown_record",
    )
    assert cn_store.versions(rid) == []
