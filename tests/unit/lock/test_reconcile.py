"""Reconciliation of the two channels at CN: both arrival orders end in one stored record
with the right verdict (MATCH, MISMATCH, TAMPERED, LOCK_ONLY, ONLINE_ONLY)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from ctop_node.errors import LockError
from ctop_node.exchange.receive import ItemResult, Receiver
from ctop_node.lock.carrier import CarrierCA
from ctop_node.lock.events import EventCode
from ctop_node.lock.image import LockState
from ctop_node.lock.reader import LockReader
from ctop_node.lock.reconcile import (
    ChannelVerdict,
    Reconciliation,
    reconcile_one,
    verdict_counts,
)
from ctop_node.store import SqlStore
from ctop_node.store.inbox import Inbox
from ctop_node.store.schema import records
from tests._homes import Home
from tests.unit.online._peers import amended, record_message

from ._channel import (
    NONCE,
    Writer,
    carrier_ca,
    cn_lock_reader,
    cut_before,
    writer,
    written_device,
)

NOW = datetime.now(UTC)
SEALED = LockState.SEALED


@pytest.fixture(scope="module")
def carrier() -> CarrierCA:
    return carrier_ca()


@pytest.fixture
def channels(
    kz_cn_homes: tuple[Home, Home], store: SqlStore, carrier: CarrierCA
) -> tuple[Receiver, LockReader]:
    _, cn = kz_cn_homes
    online = Receiver("CN", Inbox(store.engine), cn.signer, cn.decryptor, cn.trust())
    return online, cn_lock_reader(cn, store, carrier)


@pytest.fixture
def image(
    kz_cn_homes: tuple[Home, Home], carrier: CarrierCA, record_dict: dict[str, Any]
) -> Writer:
    """Writes a read lock of KZ's ``record_dict`` (or of ``data``)."""
    return writer(carrier, kz_cn_homes[0], record_dict)


def stored_records(store: SqlStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(records)).scalar_one())


def verdict(store: SqlStore, record_id: str) -> Reconciliation:
    found = reconcile_one(store, "KZ", record_id, 1)
    assert found is not None
    return found


def online_then(online: Receiver, raw: bytes) -> ItemResult:
    return online.handle(raw, channel="online")


@pytest.mark.parametrize("order", ["online-first", "lock-first"])
def test_same_record_by_both_channels_is_stored_once_and_matches(
    order: str,
    kz_cn_homes: tuple[Home, Home],
    channels: tuple[Receiver, LockReader],
    store: SqlStore,
    image: Writer,
    record_dict: dict[str, Any],
) -> None:
    kz, _ = kz_cn_homes
    online, lock = channels
    raw = record_message(kz, record_dict)
    lock_image = image()
    if order == "online-first":
        assert online_then(online, raw).message == "applied"
        assert lock.read(lock_image, reader_id="CN-R1", nonce=NONCE).inbox_state == "duplicate"
    else:
        assert lock.read(lock_image, reader_id="CN-R1", nonce=NONCE).inbox_state == "applied"
        answer = online_then(online, raw)
        # The sender's online copy gets a RECEIPT: its outbox entry becomes delivered.
        assert (answer.status, answer.message) == ("receipt", "duplicate")
    assert stored_records(store) == 1
    rec = verdict(store, record_dict["record_id"])
    assert rec.verdict is ChannelVerdict.MATCH
    assert rec.channels == ("online", "lock")
    assert rec.online_digests == rec.lock_digests and rec.locks == ("LOCK-0001",)


@pytest.mark.parametrize("order", ["online-first", "lock-first"])
def test_different_content_is_a_mismatch_with_both_digests(
    order: str,
    kz_cn_homes: tuple[Home, Home],
    channels: tuple[Receiver, LockReader],
    store: SqlStore,
    image: Writer,
    record_dict: dict[str, Any],
) -> None:
    kz, _ = kz_cn_homes
    online, lock = channels
    raw = record_message(kz, record_dict)
    lock_image = image(amended(record_dict, 7))
    if order == "online-first":
        online_then(online, raw)
        assert lock.read(lock_image, reader_id="CN-R1", nonce=NONCE).inbox_state == "mismatch"
    else:
        lock.read(lock_image, reader_id="CN-R1", nonce=NONCE)
        answer = online_then(online, raw)
        assert (answer.status, answer.code) == ("rejection", "exchange.out_of_sequence")
    assert stored_records(store) == 1  # the first arrival; the other is kept in the inbox
    rec = verdict(store, record_dict["record_id"])
    assert rec.verdict is ChannelVerdict.MISMATCH
    assert len(rec.online_digests) == len(rec.lock_digests) == 1
    assert rec.online_digests != rec.lock_digests


def test_tampered_lock_wins_over_a_match_and_carries_the_events(
    kz_cn_homes: tuple[Home, Home],
    channels: tuple[Receiver, LockReader],
    store: SqlStore,
    image: Writer,
    record_dict: dict[str, Any],
) -> None:
    kz, _ = kz_cn_homes
    online, lock = channels

    def broken(device: Any) -> None:
        device.record(EventCode.HOUSING_BROKEN, {}, now=NOW - timedelta(minutes=15))

    lock.read(image(journey=broken), reader_id="CN-R1", nonce=NONCE)
    online_then(online, record_message(kz, record_dict))
    rec = verdict(store, record_dict["record_id"])
    assert rec.verdict is ChannelVerdict.TAMPERED
    assert [f["code"] for f in rec.findings] == ["lock.tamper"]
    assert EventCode.HOUSING_BROKEN in {e["c"] for e in rec.events}
    assert stored_records(store) == 1


def test_one_channel_only(
    kz_cn_homes: tuple[Home, Home],
    channels: tuple[Receiver, LockReader],
    store: SqlStore,
    image: Writer,
    record_dict: dict[str, Any],
) -> None:
    kz, _ = kz_cn_homes
    online, lock = channels
    lock.read(image(), reader_id="CN-R1", nonce=NONCE)
    other = {**record_dict, "record_id": "KZ-551800-2026-000002"}
    online_then(online, record_message(kz, other))
    assert verdict(store, record_dict["record_id"]).verdict is ChannelVerdict.LOCK_ONLY
    assert verdict(store, other["record_id"]).verdict is ChannelVerdict.ONLINE_ONLY
    assert reconcile_one(store, "KZ", "unknown", 1) is None
    assert verdict_counts(store) == {
        "MATCH": 0,
        "MISMATCH": 0,
        "TAMPERED": 0,
        "LOCK_ONLY": 1,
        "ONLINE_ONLY": 1,
    }


def test_digest_mode_lock_matches_the_online_record(
    kz_cn_homes: tuple[Home, Home],
    channels: tuple[Receiver, LockReader],
    store: SqlStore,
    image: Writer,
    record_dict: dict[str, Any],
) -> None:
    kz, _ = kz_cn_homes
    online, lock = channels
    lock.read(image(mode="digest"), reader_id="CN-R1", nonce=NONCE)
    assert verdict(store, record_dict["record_id"]).verdict is ChannelVerdict.LOCK_ONLY
    assert stored_records(store) == 0  # digest mode carries no record: the online copy does
    online_then(online, record_message(kz, record_dict))
    assert verdict(store, record_dict["record_id"]).verdict is ChannelVerdict.MATCH
    assert stored_records(store) == 1


# -- every reading kept, the worst wins (issue 8, finding 12) --------------------------------


@pytest.mark.parametrize("order", ["truncated-first", "honest-first"])
def test_a_truncated_copy_cannot_hide_an_opening_in_either_order(
    order: str,
    kz_cn_homes: tuple[Home, Home],
    channels: tuple[Receiver, LockReader],
    carrier: CarrierCA,
    store: SqlStore,
    record_dict: dict[str, Any],
) -> None:
    """The lock was opened on the way; CN's reader is once handed a copy cut before the
    opening and once the honest image, each over its own challenge, in either order, and the
    online copy arrives / result: the copy is refused, the record ends TAMPERED (not MATCH)."""
    kz, _ = kz_cn_homes
    online, lock = channels
    device = written_device(carrier, kz, record_dict)
    device.open("SOMEONE", now=datetime.now(UTC) - timedelta(minutes=10))
    honest_nonce, copy_nonce = lock.challenge(), lock.challenge()
    honest = device.read_by_authority("CN-R1", nonce=honest_nonce)
    copy = cut_before(device.read_by_authority("CN-R1", nonce=copy_nonce), EventCode.OPENED, SEALED)

    def read_copy() -> None:
        with pytest.raises(LockError) as err:
            lock.read(copy, reader_id="CN-R1", nonce=copy_nonce)
        assert err.value.code == "lock.log.unconfirmed"

    if order == "truncated-first":
        read_copy()
        assert lock.read(honest, reader_id="CN-R1", nonce=honest_nonce).tampered
    else:
        assert lock.read(honest, reader_id="CN-R1", nonce=honest_nonce).tampered
        read_copy()
    online_then(online, record_message(kz, record_dict))
    rec = verdict(store, record_dict["record_id"])
    assert rec.verdict is ChannelVerdict.TAMPERED
    assert {f["code"] for f in rec.findings} == {"lock.opened_before_reading"}
    assert len(store.lock_reads.for_record(record_dict["record_id"])) == 1
    assert stored_records(store) == 1


@pytest.mark.parametrize("order", ["clean-first", "tampered-first"])
def test_every_reading_is_kept_and_the_worst_finding_wins(
    order: str,
    kz_cn_homes: tuple[Home, Home],
    channels: tuple[Receiver, LockReader],
    carrier: CarrierCA,
    store: SqlStore,
    record_dict: dict[str, Any],
) -> None:
    """A lock read clean at the border, then forced, then read again at the destination;
    CN stores the two readings in either order, and the online copy arrives / result: both
    readings are kept, the record is TAMPERED with the tamper finding, whatever the order."""
    kz, _ = kz_cn_homes
    online, lock = channels
    device = written_device(carrier, kz, record_dict)
    first_nonce, second_nonce = lock.challenge(), lock.challenge()
    clean = device.read_by_authority(
        "CN-R1", nonce=first_nonce, now=datetime.now(UTC) - timedelta(minutes=20)
    )
    device.record(EventCode.HOUSING_BROKEN, {}, now=datetime.now(UTC) - timedelta(minutes=10))
    forced = device.read_by_authority(
        "CN-R2", nonce=second_nonce, now=datetime.now(UTC) - timedelta(minutes=5)
    )
    readings = [(clean, "CN-R1", first_nonce), (forced, "CN-R2", second_nonce)]
    if order == "tampered-first":
        readings.reverse()
    results = [lock.read(img, reader_id=r, nonce=n) for img, r, n in readings]
    assert [r.tampered for r in results] == [img is forced for img, _, _ in readings]
    assert all(r.new_read for r in results)
    # The very same reading stored again adds nothing.
    again = lock.read(readings[0][0], reader_id=readings[0][1], nonce=readings[0][2])
    assert not again.new_read
    online_then(online, record_message(kz, record_dict))
    reads = store.lock_reads.for_record(record_dict["record_id"])
    assert sorted(r.nonce or "" for r in reads) == sorted([first_nonce, second_nonce])
    rec = verdict(store, record_dict["record_id"])
    assert rec.verdict is ChannelVerdict.TAMPERED
    assert {f["code"] for f in rec.findings} == {"lock.tamper"}
    assert rec.online_digests == rec.lock_digests
