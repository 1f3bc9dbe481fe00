"""Fuzzing the lock-image reader: any bytes give a LockError or a verified log, never a crash.

20,000 cases per run (random bytes and mutations of a genuine image); each case reads the
image and, if it parses, verifies its log and state, as the arrival reader does.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctop_node.errors import LockError
from ctop_node.lock.carrier import CarrierCA
from ctop_node.lock.device import LockDevice
from ctop_node.lock.errors import LockFileError
from ctop_node.lock.events import EventCode, position_data
from ctop_node.lock.image import read_image

from .conftest import T0, at, payload

_CA = CarrierCA.create("fuzz carrier", now=datetime(2026, 1, 1, tzinfo=UTC))
_DEVICE = LockDevice.provision("LOCK-0001", _CA, now=T0)
_DEVICE.write_payload(payload(), now=at(1))
_DEVICE.seal(now=at(2))
_DEVICE.record(EventCode.POSITION, position_data(43.2, 76.9), now=at(3))
_DEVICE.open("CN-R1", now=at(4))
GENUINE = _DEVICE.image().to_bytes()


def read_and_verify(data: bytes) -> None:
    try:
        read_image(data).verify([_CA.certificate], at=at(10))
    except LockError:
        return


def test_genuine_image_verifies() -> None:
    assert len(read_image(GENUINE).verify([_CA.certificate], at=at(10))) == 5


_FAST = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@settings(_FAST, max_examples=6_000)
@given(st.binary(max_size=512))
def test_random_bytes(data: bytes) -> None:
    read_and_verify(data)


_mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, len(GENUINE) - 1), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, len(GENUINE) - 1), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, len(GENUINE)), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, len(GENUINE) - 1), st.integers(1, 64)),
)


def _mutate(data: bytes, steps: list[tuple[str, int, int]]) -> bytes:
    buf = bytearray(data)
    for op, pos, arg in steps:
        pos = min(pos, max(len(buf) - 1, 0))
        if op == "flip" and buf:
            buf[pos] ^= arg
        elif op == "cut":
            del buf[pos:]
        elif op == "insert":
            buf.insert(pos, arg)
        elif op == "delete":
            del buf[pos : pos + arg]
    return bytes(buf)


@settings(_FAST, max_examples=14_000)
@given(st.lists(_mutation, min_size=1, max_size=4))
def test_mutations_of_a_genuine_image(steps: list[tuple[str, int, int]]) -> None:
    read_and_verify(_mutate(GENUINE, steps))


def test_bad_certificate_version_is_a_lock_error() -> None:
    """Regression: cryptography raises InvalidVersion (not ValueError) for version 4."""
    der = read_image(GENUINE).certificate.public_bytes(Encoding.DER)
    assert der.count(b"\xa0\x03\x02\x01\x02") == 1  # [0] EXPLICIT INTEGER 2 (= v3)
    broken = der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x03")
    image = GENUINE.replace(der, broken)
    with pytest.raises(LockFileError) as err:
        read_image(image)
    assert err.value.code == "lock.log.device_cert"
