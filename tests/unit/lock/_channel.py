"""Building lock images that carry a real record: KZ writes, a journey, CN reads."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from ctop_node.lock import cbor
from ctop_node.lock.carrier import CarrierCA
from ctop_node.lock.codec import encode_payload
from ctop_node.lock.device import LockDevice
from ctop_node.lock.events import EventCode, position_data
from ctop_node.lock.image import LockState, read_image
from ctop_node.lock.reader import LockReader
from ctop_node.store import SqlStore
from tests._homes import Home
from tests.unit.online._peers import record_body


def canonical_record(data: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads(record_body(data))
    return loaded


# Writes a read lock of a record; keywords as ``write_lock``.
Writer = Callable[..., bytes]


def carrier_ca() -> CarrierCA:
    """A carrier CA valid since yesterday (the locks are written at the wall clock)."""
    return CarrierCA.create("KTZ Express carrier CA", now=datetime.now(UTC) - timedelta(days=1))


def cn_lock_reader(cn: Home, store: SqlStore, carrier: CarrierCA, **kw: Any) -> LockReader:
    """CN's arrival reader, trusting ``carrier``'s locks (``kw``: clock, expiry_skew)."""
    certs = [carrier.certificate]
    return LockReader("CN", store, cn.signer, cn.decryptor, cn.trust(), certs, **kw)


def cut_before(image: bytes, code: EventCode, state: LockState) -> bytes:
    """A copy of ``image`` with its first ``code`` event and everything after it removed,
    claiming ``state``: what an attacker can make of a genuine image (every remaining entry
    is genuine, signed and chained)."""
    img = read_image(image)
    cut = [cbor.decode(e["e"])["c"] for e in img.log].index(int(code))
    return dataclasses.replace(img, log=list(img.log)[:cut], state=state).to_bytes()


def writer(carrier: CarrierCA, kz: Home, record: dict[str, Any]) -> Writer:
    """Writes a read lock of ``record`` (or of ``data``) by KZ under ``carrier``."""

    def write(data: dict[str, Any] | None = None, **kw: Any) -> bytes:
        return write_lock(carrier, kz, record if data is None else data, **kw)

    return write


# The challenge CN's reader sent the lock in these tests (a real reader makes a fresh one
# per reading with LockReader.challenge(); the tests of the nonce itself do).
NONCE = "cn-r1-test-reading-0001"


def written_device(
    carrier: CarrierCA,
    kz: Home,
    data: dict[str, Any],
    *,
    lock_id: str = "LOCK-0001",
    version: int = 1,
    mode: str = "full",
    recipient: str = "CN",
    not_after: datetime | None = None,
    expires: datetime | None = None,
) -> LockDevice:
    """A lock provisioned two hours ago, written 90 minutes ago and sealed, on its way."""
    now = datetime.now(UTC)
    device = LockDevice.provision(
        lock_id, carrier, now=now - timedelta(hours=2), not_after=not_after
    )
    payload = encode_payload(
        canonical_record(data),
        version=version,
        signer=kz.signer,
        recipient=kz.trust().recipient_key(recipient),
        lock_id=lock_id,
        counter=1,
        expires=expires or now + timedelta(days=7),
        mode=mode,  # type: ignore[arg-type]
    )
    device.write_payload(payload, now=now - timedelta(minutes=90))
    device.seal(now=now - timedelta(minutes=89))
    device.record(EventCode.POSITION, position_data(44.1, 80.2), now=now - timedelta(minutes=30))
    return device


def write_lock(
    carrier: CarrierCA,
    kz: Home,
    data: dict[str, Any],
    *,
    journey: Callable[[LockDevice], None] | None = None,
    read: bool = True,
    nonce: str = NONCE,
    **kw: Any,
) -> bytes:
    """A lock written and sealed (keywords as ``written_device``), travelled, and read by
    CN's reader over ``nonce`` a minute ago."""
    device = written_device(carrier, kz, data, **kw)
    if journey is not None:
        journey(device)
    if read:
        now = datetime.now(UTC)
        return device.read_by_authority("CN-R1", nonce=nonce, now=now - timedelta(minutes=1))
    return device.image().to_bytes()
