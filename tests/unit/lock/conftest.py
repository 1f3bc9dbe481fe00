"""Fixtures of the lock tests: a carrier CA and locks at fixed times (no wall clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ctop_node.lock.carrier import CarrierCA
from ctop_node.lock.device import LockDevice
from ctop_node.lock.events import EventCode, position_data
from ctop_node.lock.header import PayloadHeader, build_payload

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def header(
    lock_id: str = "LOCK-0001",
    *,
    payload_id: str = "P-1",
    counter: int = 1,
    expires: datetime | None = None,
) -> PayloadHeader:
    return PayloadHeader(
        tc="1",
        record_id="KZ-551800-2026-000001",
        version=1,
        digest="ab" * 32,
        lock_id=lock_id,
        payload_id=payload_id,
        counter=counter,
        expires=int((expires or at(7 * 24 * 60)).timestamp()),
        recipient="CN",
    )


def payload(lock_id: str = "LOCK-0001", **kw: object) -> bytes:
    return build_payload(header(lock_id, **kw), b"\x01" * 200)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def carrier() -> CarrierCA:
    return CarrierCA.create("KTZ Express carrier CA", now=T0 - timedelta(days=1))


@pytest.fixture
def device(carrier: CarrierCA) -> LockDevice:
    return LockDevice.provision("LOCK-0001", carrier, now=at(0))


@pytest.fixture
def travelled(device: LockDevice) -> LockDevice:
    """A lock written and sealed at departure, with a journey, opened at arrival."""
    device.write_payload(payload(), now=at(1))
    device.seal(now=at(2))
    device.record(EventCode.POSITION, position_data("43.238949", "76.889709"), now=at(60))
    device.record(EventCode.BATTERY_LOW, {"pct": 14}, now=at(120))
    device.open("CN-ALASHANKOU-R1", now=at(600))
    return device
