"""The standalone log verifier: each way of tampering with a log gives its own code."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ctop_node.lock import _chain, cbor
from ctop_node.lock.carrier import CarrierCA
from ctop_node.lock.device import LockDevice
from ctop_node.lock.errors import LogError
from ctop_node.lock.events import EventCode
from ctop_node.lock.verify_log import verify_log

from .conftest import T0, at


def entries(device: LockDevice) -> list[dict[str, Any]]:
    return [e.as_map() for e in device.log.entries]


def refused(device: LockDevice, log: list[dict[str, Any]], **kw: Any) -> str:
    kw.setdefault("trusted", None)
    trusted = kw.pop("trusted") or [_ca(device)]
    cert = kw.pop("cert", device.certificate)
    lock_id = kw.pop("lock_id", device.lock_id)
    with pytest.raises(LogError) as info:
        verify_log(lock_id, log, cert, trusted, at=kw.pop("at", at(700)), **kw)
    return info.value.code


_CAS: dict[str, Any] = {}


def _ca(device: LockDevice) -> Any:
    return _CAS["ca"]


@pytest.fixture(autouse=True)
def _remember_ca(carrier: CarrierCA) -> None:
    _CAS["ca"] = carrier.certificate


def test_genuine_log_verifies(travelled: LockDevice, carrier: CarrierCA) -> None:
    events = verify_log(
        "LOCK-0001", entries(travelled), travelled.certificate, [carrier.certificate], at=at(700)
    )
    assert [e.code for e in events] == [
        EventCode.PROVISIONED,
        EventCode.PAYLOAD_WRITTEN,
        EventCode.SEALED,
        EventCode.POSITION,
        EventCode.BATTERY_LOW,
        EventCode.OPENED,
    ]
    assert [e.counter for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[-1].data == {"reader_id": "CN-ALASHANKOU-R1"}
    assert events[-1].time == at(600)


def test_changed_event_content_breaks_the_chain(travelled: LockDevice) -> None:
    log = entries(travelled)
    log[-1]["e"] = log[-1]["e"].replace(b"CN-ALASHANKOU-R1", b"CN-ALASHANKOU-R9")
    assert refused(travelled, log) == "lock.log.broken_chain"


@pytest.mark.parametrize("part", ["h", "s"])
def test_flipped_byte_in_hash_or_signature(travelled: LockDevice, part: str) -> None:
    log = entries(travelled)
    raw = bytearray(log[2][part])
    raw[5] ^= 0x01
    log[2][part] = bytes(raw)
    assert refused(travelled, log) == "lock.log.signature"


def test_flipped_byte_that_breaks_event_cbor(travelled: LockDevice) -> None:
    log = entries(travelled)
    log[1]["e"] = b"\xff" + log[1]["e"][1:]
    assert refused(travelled, log) == "lock.log.malformed"


@pytest.mark.parametrize("index", [0, 2, 5])
def test_removed_event(travelled: LockDevice, index: int) -> None:
    log = entries(travelled)
    del log[index]
    code = refused(travelled, log) if index < 5 else None
    # Removing the newest event is invisible in the log itself (see verify_log's docstring).
    assert code == ("lock.log.counter" if index < 5 else None)


def test_reordered_events(travelled: LockDevice) -> None:
    log = entries(travelled)
    log[3], log[4] = log[4], log[3]
    assert refused(travelled, log) == "lock.log.reordered"


def test_replayed_event(travelled: LockDevice) -> None:
    log = entries(travelled)
    log.insert(3, log[2])
    assert refused(travelled, log) == "lock.log.counter"


def test_time_going_back_is_reordering(carrier: CarrierCA) -> None:
    # Written by hand with the device key: the writer never produces this.
    key = Ed25519PrivateKey.generate()
    cert = carrier.issue_device("LOCK-0009", key.public_key(), not_before=T0 - timedelta(1))
    prev, log = _chain.genesis("LOCK-0009"), []
    for n, minute in ((1, 10), (2, 5)):
        e = cbor.encode({"n": n, "t": int(at(minute).timestamp()), "c": 19, "d": {}})
        prev = _chain.link(prev, e)
        log.append({"e": e, "h": prev, "s": key.sign(prev)})
    with pytest.raises(LogError) as info:
        verify_log("LOCK-0009", log, cert, [carrier.certificate], at=at(20))
    assert info.value.code == "lock.log.reordered"


def test_log_copied_to_another_lock(travelled: LockDevice, carrier: CarrierCA) -> None:
    other = LockDevice.provision("LOCK-0002", carrier, now=at(0))
    # Under the other lock's certificate the signatures fail ...
    assert refused(other, entries(travelled)) == "lock.log.signature"
    # ... and with the original certificate copied too, the certificate names another lock.
    assert refused(other, entries(travelled), cert=travelled.certificate) == "lock.log.device_cert"


def test_chain_is_bound_to_the_lock_id(carrier: CarrierCA) -> None:
    # Same key, certificate for another lock ID: the genesis differs, the chain breaks.
    key = Ed25519PrivateKey.generate()
    cert = carrier.issue_device("LOCK-B", key.public_key(), not_before=T0 - timedelta(1))
    e = cbor.encode({"n": 1, "t": int(at(1).timestamp()), "c": 19, "d": {}})
    h = _chain.link(_chain.genesis("LOCK-A"), e)
    with pytest.raises(LogError) as info:
        verify_log(
            "LOCK-B", [{"e": e, "h": h, "s": key.sign(h)}], cert, [carrier.certificate], at=at(2)
        )
    assert info.value.code == "lock.log.broken_chain"


def test_expired_device_certificate(carrier: CarrierCA) -> None:
    device = LockDevice.provision("LOCK-0003", carrier, now=at(0), not_after=at(30))
    device.seal(now=at(1))
    assert verify_log(
        "LOCK-0003", entries(device), device.certificate, [carrier.certificate], at=at(29)
    )
    assert refused(device, entries(device), at=at(31)) == "lock.log.device_cert"


def test_device_certificate_from_an_untrusted_carrier(travelled: LockDevice) -> None:
    stranger = CarrierCA.create("KTZ Express carrier CA", now=T0 - timedelta(days=1))
    assert refused(travelled, entries(travelled), trusted=[stranger.certificate]) == (
        "lock.log.device_cert"
    )


@pytest.mark.parametrize(
    "entry",
    [{"e": b"", "h": b"", "s": b""}, {"e": 1}, [], {"e": b"\xa0", "h": b"h" * 32, "s": b"s" * 64}],
)
def test_malformed_entries(travelled: LockDevice, entry: Any) -> None:
    assert refused(travelled, [entry]) == "lock.log.malformed"


def test_with_a_nonce_the_log_must_end_with_the_reading_over_it(
    travelled: LockDevice, carrier: CarrierCA
) -> None:
    """A log cut before its newest events is a valid shorter log; only the device's reading
    over the reader's fresh nonce, as the last event, shows that nothing was cut off."""
    cas = [carrier.certificate]
    nonce = "a-fresh-challenge-0001"
    travelled.read_by_authority("CN-R1", nonce=nonce, now=at(650))
    log = entries(travelled)
    events = verify_log("LOCK-0001", log, travelled.certificate, cas, at=at(700), nonce=nonce)
    assert events[-1].code == EventCode.READ_BY_AUTHORITY
    assert events[-1].data == {"reader_id": "CN-R1", "nonce": nonce}
    # The same log is valid without the reading, and with another nonce it is not this one.
    assert len(verify_log("LOCK-0001", log[:-1], travelled.certificate, cas, at=at(700))) == 6
    assert refused(travelled, log[:-1], nonce=nonce) == "lock.log.unconfirmed"
    assert refused(travelled, log[:-2], nonce=nonce) == "lock.log.unconfirmed"
    assert refused(travelled, log, nonce="another-challenge-01") == "lock.log.unconfirmed"
