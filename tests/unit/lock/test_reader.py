"""The arrival reader with real keys and a real database: each test is one scenario,
"CN reads a lock that ... / result: ...". Refused locks leave nothing in the store."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from ctop_node.crypto.envelope import open_
from ctop_node.errors import LockError
from ctop_node.lock import cbor
from ctop_node.lock.carrier import CarrierCA
from ctop_node.lock.events import EventCode
from ctop_node.lock.image import LockState, read_image
from ctop_node.lock.reader import LockReader, ReadResult
from ctop_node.model.messages import MessageType, Receipt
from ctop_node.store import SqlStore
from ctop_node.store.schema import inbox, lock_reads, records
from tests._homes import Home

from ._channel import (
    NONCE,
    Writer,
    carrier_ca,
    cn_lock_reader,
    cut_before,
    write_lock,
    writer,
    written_device,
)

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def carrier() -> CarrierCA:
    return carrier_ca()


@pytest.fixture
def reader(kz_cn_homes: tuple[Home, Home], store: SqlStore, carrier: CarrierCA) -> LockReader:
    return cn_lock_reader(kz_cn_homes[1], store, carrier)


@pytest.fixture
def lock(kz_cn_homes: tuple[Home, Home], carrier: CarrierCA, record_dict: dict[str, Any]) -> Writer:
    """Writes a read lock of KZ's ``record_dict`` (or of ``data``)."""
    return writer(carrier, kz_cn_homes[0], record_dict)


def counts(store: SqlStore) -> tuple[int, int, int]:
    with store.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (records, inbox, lock_reads)
        )


def read(reader: LockReader, image: bytes) -> ReadResult:
    return reader.read(image, reader_id="CN-R1", nonce=NONCE)


def refused(reader: LockReader, store: SqlStore, image: bytes) -> LockError:
    """The reader refuses the image and the store stays empty."""
    with pytest.raises(LockError) as err:
        read(reader, image)
    assert counts(store) == (0, 0, 0)
    return err.value


def test_a_genuine_lock_is_stored_once_through_the_inbox(
    kz_cn_homes: tuple[Home, Home],
    lock: Writer,
    reader: LockReader,
    store: SqlStore,
    record_dict: dict[str, Any],
) -> None:
    kz, _ = kz_cn_homes
    image = lock()
    result = read(reader, image)
    assert (result.inbox_state, result.answer_type, result.tampered) == (
        "applied",
        "RECEIPT",
        False,
    )
    assert result.sender_party == "KZ" and result.record_id == record_dict["record_id"]
    row = store.get_record(record_dict["record_id"], origin_party="KZ")
    assert row is not None and row.reason == "lock" and row.digest == result.digest
    assert counts(store) == (1, 1, 1)
    # The stored answer is a RECEIPT signed by CN for KZ, naming the lock copy.
    stored = reader.receiver.inbox.answer_for(result.message_id or "")
    assert stored is not None
    answer = open_(stored.answer, kz.trust(), kz.decryptor, "KZ")
    assert answer.header.type is MessageType.RECEIPT
    assert Receipt.model_validate_json(answer.payload).message_id == result.message_id
    # Reading the same lock again: nothing new.
    again = read(reader, image)
    assert (again.new_read, again.inbox_state) == (False, "applied")
    assert counts(store) == (1, 1, 1)


def _with_payload(image: bytes, change: Any) -> bytes:
    img = read_image(image)
    assert img.payload is not None
    return dataclasses.replace(img, payload=change(img.payload)).to_bytes()


def _with_log(image: bytes, change: Any) -> bytes:
    img = read_image(image)
    return dataclasses.replace(img, log=change(list(img.log))).to_bytes()


def _flip(data: bytes, at: int) -> bytes:
    buf = bytearray(data)
    buf[at] ^= 0x40
    return bytes(buf)


def _flip_event(log: list[dict[str, bytes]]) -> list[dict[str, bytes]]:
    entry = dict(log[2])
    event = cbor.decode(entry["e"])
    entry["e"] = cbor.encode({**event, "c": int(EventCode.POSITION)})
    return [*log[:2], entry, *log[3:]]


TRUNCATED = "lock.cbor.malformed"
ATTACKS: dict[str, tuple[Any, str]] = {
    "flipped byte in the payload body": (
        lambda img: _with_payload(img, lambda p: _flip(p, len(p) - 20)),
        "lock.payload.decrypt",
    ),
    "flipped byte in the payload header": (
        lambda img: _with_payload(img, lambda p: p.replace(b"LOCK-0001", b"LOCK-0002", 1)),
        "lock.payload.wrong_lock",
    ),
    "changed event in the log": (lambda img: _with_log(img, _flip_event), "lock.log.broken_chain"),
    "event removed": (
        lambda img: _with_log(img, lambda log: log[:2] + log[3:]),
        "lock.log.counter",
    ),
    "events reordered": (
        lambda img: _with_log(img, lambda log: [log[0], log[2], log[1], *log[3:]]),
        "lock.log.reordered",
    ),
    "event replayed": (
        lambda img: _with_log(img, lambda log: [*log[:3], log[2], *log[3:]]),
        "lock.log.counter",
    ),
    "flipped byte in a signature": (
        lambda img: _with_log(img, lambda log: [{**log[0], "s": _flip(log[0]["s"], 3)}, *log[1:]]),
        "lock.log.signature",
    ),
    "payload over the lock's capacity": (
        lambda img: dataclasses.replace(read_image(img), capacity=64).to_bytes(),
        "lock.capacity",
    ),
    "truncated image": (lambda img: img[: len(img) // 2], TRUNCATED),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attacks_are_refused_and_nothing_is_stored(
    attack: str, lock: Writer, reader: LockReader, store: SqlStore
) -> None:
    change, code = ATTACKS[attack]
    assert refused(reader, store, change(lock())).code == code


def test_payload_copied_to_another_lock_is_refused(
    lock: Writer, reader: LockReader, store: SqlStore
) -> None:
    a = read_image(lock(lock_id="LOCK-0001"))
    b = read_image(lock(lock_id="LOCK-0002"))
    moved = dataclasses.replace(b, payload=a.payload).to_bytes()
    assert refused(reader, store, moved).code == "lock.payload.wrong_lock"
    # Same lock ID, but a payload the device never logged (written to a twin device).
    twin = read_image(lock(lock_id="LOCK-0002"))
    swapped = dataclasses.replace(b, payload=twin.payload).to_bytes()
    assert refused(reader, store, swapped).code == "lock.payload.not_logged"


def test_payload_for_another_party_is_refused(
    lock: Writer, reader: LockReader, store: SqlStore
) -> None:
    assert refused(reader, store, lock(recipient="KZ")).code == "lock.payload.recipient"


def test_expired_device_certificate_is_refused(
    lock: Writer, reader: LockReader, store: SqlStore
) -> None:
    err = refused(reader, store, lock(not_after=NOW - timedelta(minutes=10)))
    assert err.code == "lock.log.device_cert"
    assert "not valid at" in err.message


def test_lock_of_an_untrusted_carrier_is_refused(
    kz_cn_homes: tuple[Home, Home], reader: LockReader, store: SqlStore, record_dict: dict[str, Any]
) -> None:
    kz, _ = kz_cn_homes
    other = CarrierCA.create("someone else", now=NOW - timedelta(days=1))
    assert refused(reader, store, write_lock(other, kz, record_dict)).code == "lock.log.device_cert"


def test_lock_opened_on_the_way_is_stored_with_the_findings(
    lock: Writer, reader: LockReader, store: SqlStore
) -> None:
    def opened(device: Any) -> None:
        device.record(EventCode.SEAL_BROKEN, {}, now=NOW - timedelta(minutes=20))
        device.open("SOMEONE", now=NOW - timedelta(minutes=10))

    result = read(reader, lock(journey=opened))
    assert result.inbox_state == "applied" and result.tampered
    codes = {f.code for f in result.findings}
    assert codes == {"lock.opened_before_reading", "lock.tamper"}
    assert counts(store) == (1, 1, 1)


def test_undeclared_lock_is_a_finding(lock: Writer, reader: LockReader) -> None:
    result = read(reader, lock(lock_id="LOCK-9999"))
    assert [f.code for f in result.findings] == ["lock.undeclared"]
    assert "LOCK-0001" in result.findings[0].message


def test_invalid_record_is_rejected_like_online_and_not_applied(
    lock: Writer, reader: LockReader, store: SqlStore, record_dict: dict[str, Any]
) -> None:
    wrong = copy.deepcopy(record_dict)
    wrong["sender_party"] = "CN"  # KZ signs a record it says CN cleared
    result = read(reader, lock(wrong))
    assert (result.inbox_state, result.answer_type) == ("rejected", "REJECTION")
    assert "exchange.sender_mismatch" in {e.code for e in result.errors}
    assert counts(store) == (0, 1, 0)  # inbox keeps the rejected message, as online


def test_digest_mode_is_a_lock_read_without_a_record(
    lock: Writer, reader: LockReader, store: SqlStore
) -> None:
    result = read(reader, lock(mode="digest"))
    assert (result.inbox_state, result.mode, result.message_id) == ("digest", "digest", None)
    assert counts(store) == (0, 0, 1)


# -- the reading over a fresh nonce, expiry at reading (issue 8, finding 12) ---------------


def test_a_copy_with_the_opening_cut_off_is_refused(
    kz_cn_homes: tuple[Home, Home],
    carrier: CarrierCA,
    reader: LockReader,
    store: SqlStore,
    record_dict: dict[str, Any],
) -> None:
    """CN reads a lock opened on the way, but is handed a copy whose log ends before the
    opening / result: refused (lock.log.unconfirmed), nothing stored; the honest image read
    over the same challenge shows the opening."""
    device = written_device(carrier, kz_cn_homes[0], record_dict)
    device.open("SOMEONE", now=datetime.now(UTC) - timedelta(minutes=10))
    nonce = reader.challenge()
    honest = device.read_by_authority("CN-R1", nonce=nonce)
    truncated = cut_before(honest, EventCode.OPENED, LockState.SEALED)
    with pytest.raises(LockError) as err:
        reader.read(truncated, reader_id="CN-R1", nonce=nonce)
    assert err.value.code == "lock.log.unconfirmed"
    assert counts(store) == (0, 0, 0)
    result = reader.read(honest, reader_id="CN-R1", nonce=nonce)
    assert result.tampered and {f.code for f in result.findings} == {"lock.opened_before_reading"}


def test_an_earlier_reading_is_not_this_reading(
    lock: Writer, reader: LockReader, store: SqlStore
) -> None:
    """CN challenges a lock and is handed an image read earlier over another nonce / result:
    refused; a nonce too short to be a challenge is refused too."""
    old = lock(nonce=reader.challenge())
    assert reader.challenge() != reader.challenge()
    with pytest.raises(LockError) as err:
        reader.read(old, reader_id="CN-R1", nonce=reader.challenge())
    assert err.value.code == "lock.log.unconfirmed"
    with pytest.raises(LockError) as err:
        reader.read(lock(nonce="short"), reader_id="CN-R1", nonce="short")
    assert err.value.code == "lock.log.unconfirmed"
    assert counts(store) == (0, 0, 0)


@pytest.mark.parametrize(
    ("late", "accepted"),
    [(timedelta(minutes=5), True), (timedelta(minutes=11), False), (timedelta(days=3), False)],
)
def test_expired_payload_is_refused_at_reading(
    kz_cn_homes: tuple[Home, Home],
    carrier: CarrierCA,
    store: SqlStore,
    record_dict: dict[str, Any],
    late: timedelta,
    accepted: bool,
) -> None:
    """CN reads a payload ``late`` after its expiry (10 min of clock skew allowed) / result:
    within the skew it is stored, beyond it refused (lock.payload.expired), nothing stored."""
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    image = write_lock(carrier, kz_cn_homes[0], record_dict, expires=expires)
    reader = cn_lock_reader(
        kz_cn_homes[1],
        store,
        carrier,
        clock=lambda: expires + late,
        expiry_skew=timedelta(minutes=10),
    )
    if accepted:
        assert reader.read(image, reader_id="CN-R1", nonce=NONCE).inbox_state == "applied"
        assert counts(store) == (1, 1, 1)
        return
    with pytest.raises(LockError) as err:
        reader.read(image, reader_id="CN-R1", nonce=NONCE)
    assert err.value.code == "lock.payload.expired"
    assert counts(store) == (0, 0, 0)


def test_an_opening_after_the_first_reading_is_customs_own(
    kz_cn_homes: tuple[Home, Home],
    carrier: CarrierCA,
    reader: LockReader,
    store: SqlStore,
    record_dict: dict[str, Any],
) -> None:
    """CN reads a lock, opens it for inspection, and reads it again / result: two readings
    kept, neither with a finding (the opening followed the authority reading)."""
    device = written_device(carrier, kz_cn_homes[0], record_dict)
    now = datetime.now(UTC)
    first = reader.challenge()
    image = device.read_by_authority("CN-R1", nonce=first, now=now - timedelta(minutes=10))
    assert not reader.read(image, reader_id="CN-R1", nonce=first).tampered
    device.open("CN-R1", now=now - timedelta(minutes=5))
    second = reader.challenge()
    again = device.read_by_authority("CN-R1", nonce=second, now=now - timedelta(minutes=1))
    result = reader.read(again, reader_id="CN-R1", nonce=second)
    assert (result.tampered, result.lock_state, result.new_read) == (False, "opened", True)
    assert counts(store) == (1, 1, 2)
