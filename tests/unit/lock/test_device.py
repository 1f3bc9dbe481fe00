"""The lock device: state machine, anti-replay, capacity, persistence and erase."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctop_node.errors import LockError
from ctop_node.lock.carrier import CarrierCA
from ctop_node.lock.device import LockDevice
from ctop_node.lock.events import EventCode
from ctop_node.lock.image import LockState, read_image

from .conftest import at, payload


def code_of(action: object) -> str:
    with pytest.raises(LockError) as info:
        action()  # type: ignore[operator]
    return info.value.code


def test_journey_states(device: LockDevice, carrier: CarrierCA) -> None:
    states = [device.state]
    device.write_payload(payload(), now=at(1))
    device.seal(now=at(2))
    states.append(device.state)
    device.open("CN-R1", now=at(300))
    states.append(device.state)
    device.erase(now=at(400))
    states.append(device.state)
    assert states == ["unsealed", "sealed", "opened", "unsealed"]
    assert device.payload is None
    image = read_image(device.image().to_bytes())
    assert image.verify([carrier.certificate], at=at(500))[-1].code == EventCode.ERASED


@pytest.mark.parametrize(
    ("setup", "action"),
    [
        ([], lambda d: d.open("R", now=at(5))),  # unsealed cannot be opened
        (["seal"], lambda d: d.seal(now=at(5))),  # sealed twice
        (["seal"], lambda d: d.erase(now=at(5))),  # erase while sealed
        (["seal"], lambda d: d.write_payload(payload(), now=at(5))),  # write while sealed
        (["seal", "open"], lambda d: d.seal(now=at(5))),  # reseal an opened lock
        (["tamper"], lambda d: d.erase(now=at(5))),  # a tampered lock is evidence
        ([], lambda d: d.record(EventCode.SEALED, now=at(5))),  # not a journey event
    ],
)
def test_invalid_transitions(device: LockDevice, setup: list[str], action: object) -> None:
    for step in setup:
        if step == "seal":
            device.seal(now=at(1))
        elif step == "open":
            device.open("R", now=at(2))
        else:
            device.record(EventCode.HOUSING_BROKEN, now=at(2))
    before = len(device.log.entries)
    assert code_of(lambda: action(device)) == "lock.state"  # type: ignore[operator]
    assert len(device.log.entries) == before  # a refused action leaves no event


def test_tamper_alarm_in_transit(device: LockDevice, carrier: CarrierCA) -> None:
    device.write_payload(payload(), now=at(1))
    device.seal(now=at(2))
    device.record(EventCode.SEAL_BROKEN, now=at(50))
    assert device.state is LockState.TAMPERED
    device.open("CN-R1", now=at(300))  # customs still opens it, the log keeps the alarm
    events = read_image(device.image().to_bytes()).verify([carrier.certificate], at=at(301))
    assert EventCode.SEAL_BROKEN in [e.code for e in events]


def test_claimed_state_must_match_the_events(travelled: LockDevice, carrier: CarrierCA) -> None:
    travelled.state = LockState.SEALED  # a device (or file) lying about having been opened
    image = read_image(travelled.image().to_bytes())
    assert code_of(lambda: image.verify([carrier.certificate], at=at(700))) == "lock.file.state"


def test_payload_for_another_lock(device: LockDevice) -> None:
    assert code_of(lambda: device.write_payload(payload("LOCK-0002"), now=at(1))) == (
        "lock.replay.wrong_lock"
    )


def test_expired_payload(device: LockDevice) -> None:
    data = payload(expires=at(10))
    assert code_of(lambda: device.write_payload(data, now=at(10))) == "lock.replay.expired"


def test_replayed_payload_after_erase(device: LockDevice) -> None:
    device.write_payload(payload(payload_id="P-1", counter=5), now=at(1))
    device.erase(now=at(2))
    same = payload(payload_id="P-1", counter=6)
    older = payload(payload_id="P-2", counter=5)
    assert code_of(lambda: device.write_payload(same, now=at(3))) == "lock.replay.payload_id"
    assert code_of(lambda: device.write_payload(older, now=at(3))) == "lock.replay.counter"
    device.write_payload(payload(payload_id="P-3", counter=6), now=at(4))


def test_over_capacity(carrier: CarrierCA) -> None:
    small = LockDevice.provision("LOCK-0001", carrier, capacity=100, now=at(0))
    assert code_of(lambda: small.write_payload(payload(), now=at(1))) == "lock.capacity"


def test_garbage_payload_is_refused(device: LockDevice) -> None:
    assert code_of(lambda: device.write_payload(b"\x00garbage", now=at(1))).startswith("lock.cbor.")


def test_save_and_load(travelled: LockDevice, tmp_path: Path, carrier: CarrierCA) -> None:
    path = travelled.save(tmp_path / "LOCK-0001.lock")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["LOCK-0001.lock", "LOCK-0001.lock.key"]
    assert (tmp_path / "LOCK-0001.lock.key").stat().st_mode & 0o077 == 0
    loaded = LockDevice.load(path)
    assert loaded.image() == travelled.image()
    loaded.erase(now=at(800))
    loaded.save()
    again = read_image(path.read_bytes())
    assert again.payload is None
    assert again.verify([carrier.certificate], at=at(801))[-1].counter == 7


def test_image_holds_no_private_key(travelled: LockDevice, tmp_path: Path) -> None:
    path = travelled.save(tmp_path / "l.lock")
    key_pem = (tmp_path / "l.lock.key").read_bytes()
    assert b"PRIVATE KEY" in key_pem
    assert b"PRIVATE" not in path.read_bytes()


def test_load_refuses_a_key_of_another_lock(
    travelled: LockDevice, carrier: CarrierCA, tmp_path: Path
) -> None:
    path = travelled.save(tmp_path / "a.lock")
    LockDevice.provision("LOCK-0002", carrier, now=at(0)).save(tmp_path / "b.lock")
    (tmp_path / "a.lock.key").write_bytes((tmp_path / "b.lock.key").read_bytes())
    assert code_of(lambda: LockDevice.load(path)) == "lock.file.key"
    assert code_of(lambda: LockDevice.load(tmp_path / "missing.lock")) == "lock.file.io"
