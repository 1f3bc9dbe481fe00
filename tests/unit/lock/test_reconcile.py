"""Reconciliation of the two channels at CN: both arrival orders end in one stored record
with the right verdict (MATCH, MISMATCH, TAMPERED, LOCK_ONLY, ONLINE_ONLY)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from ctop_node.exchange.receive import ItemResult, Receiver
from ctop_node.lock.carrier import CarrierCA
from ctop_node.lock.events import EventCode
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

from ._channel import Writer, carrier_ca, cn_lock_reader, writer

NOW = datetime.now(UTC)


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
        assert lock.read(lock_image, reader_id="CN-R1").inbox_state == "duplicate"
    else:
        assert lock.read(lock_image, reader_id="CN-R1").inbox_state == "applied"
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
        assert lock.read(lock_image, reader_id="CN-R1").inbox_state == "mismatch"
    else:
        lock.read(lock_image, reader_id="CN-R1")
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

    lock.read(image(journey=broken), reader_id="CN-R1")
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
    lock.read(image(), reader_id="CN-R1")
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
    lock.read(image(mode="digest"), reader_id="CN-R1")
    assert verdict(store, record_dict["record_id"]).verdict is ChannelVerdict.LOCK_ONLY
    assert stored_records(store) == 0  # digest mode carries no record: the online copy does
    online_then(online, record_message(kz, record_dict))
    assert verdict(store, record_dict["record_id"]).verdict is ChannelVerdict.MATCH
    assert stored_records(store) == 1
