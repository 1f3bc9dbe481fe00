"""The lock device simulator: what the carrier's smart lock does between the two customs.

State machine (ISO 18185 sealed/opened plus tamper)::

    unsealed --write_payload--> unsealed (payload in the slot)
    unsealed --seal--> sealed --open(reader)--> opened --erase--> unsealed
    unsealed/sealed --tamper event (01, 02, 07)--> tampered --open(reader)--> opened

Anything else raises ``StateError`` (``lock.state``). Every action is an event in the signed
log. The device key stands for the lock's secure element: it lives in ``<image>.key`` next to
the image file (which is what a reader pulls and never contains the key). Writes go to a
temporary file that is then renamed over the image, so a crash leaves the old or the new
image, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ctop_node.lock import frames
from ctop_node.lock.carrier import CarrierCA
from ctop_node.lock.errors import CapacityError, LockFileError, ReplayError, StateError
from ctop_node.lock.events import EventCode, EventLog, LogEntry
from ctop_node.lock.header import PayloadHeader, parse_payload
from ctop_node.lock.image import LockImage, LockState, read_image

DEFAULT_CAPACITY = 8192
# Events that change nothing but the log: the journey as the lock sees it.
_INFO_EVENTS = frozenset(
    {
        EventCode.ROUTE_DEVIATION,
        EventCode.MALFUNCTION,
        EventCode.BATTERY_LOW,
        EventCode.NO_MESSAGES,
        EventCode.POSITION,
        EventCode.READ_BY_AUTHORITY,
    }
)
_TAMPER_EVENTS = frozenset(
    {EventCode.SEAL_BROKEN, EventCode.HOUSING_BROKEN, EventCode.UNAUTHORISED_ACTION}
)


class LockDevice:
    def __init__(
        self,
        lock_id: str,
        key: Ed25519PrivateKey,
        certificate: x509.Certificate,
        *,
        capacity: int = DEFAULT_CAPACITY,
        path: Path | None = None,
    ) -> None:
        self.lock_id = lock_id
        self._key = key
        self.certificate = certificate
        self.capacity = capacity
        self.path = path
        self.state = LockState.UNSEALED
        self.payload: bytes | None = None
        self.log = EventLog(lock_id)
        self.replay_counter = 0
        self.seen_payloads: list[str] = []

    # -- provisioning and persistence ------------------------------------------------------

    @classmethod
    def provision(
        cls,
        lock_id: str,
        carrier: CarrierCA,
        *,
        capacity: int = DEFAULT_CAPACITY,
        path: Path | None = None,
        now: datetime | None = None,
        not_after: datetime | None = None,
    ) -> LockDevice:
        key = Ed25519PrivateKey.generate()
        start = (now or datetime.now(UTC)) - timedelta(minutes=5)
        cert = carrier.issue_device(
            lock_id, key.public_key(), not_before=start, not_after=not_after
        )
        device = cls(lock_id, key, cert, capacity=capacity, path=path)
        device._event(EventCode.PROVISIONED, {"capacity": capacity}, now)
        return device

    @classmethod
    def load(cls, path: Path) -> LockDevice:
        try:
            image = read_image(path.read_bytes())
            key = serialization.load_pem_private_key(_key_path(path).read_bytes(), None)
        except OSError as exc:
            raise LockFileError(f"cannot read lock {path}: {exc}", code="lock.file.io") from exc
        except ValueError as exc:
            raise LockFileError(f"bad device key for {path}", code="lock.file.key") from exc
        if not isinstance(key, Ed25519PrivateKey) or key.public_key() != (
            image.certificate.public_key()
        ):
            raise LockFileError(
                f"device key of {path} does not match its certificate", code="lock.file.key"
            )
        device = cls(image.lock_id, key, image.certificate, capacity=image.capacity, path=path)
        device.state = image.state
        device.payload = image.payload
        device.log = EventLog(image.lock_id, [LogEntry(e["e"], e["h"], e["s"]) for e in image.log])
        device.replay_counter = image.replay_counter
        device.seen_payloads = list(image.seen_payloads)
        return device

    def image(self) -> LockImage:
        return LockImage(
            self.lock_id,
            self.certificate,
            self.capacity,
            self.state,
            self.payload,
            [e.as_map() for e in self.log.entries],
            self.replay_counter,
            tuple(self.seen_payloads),
        )

    def save(self, path: Path | None = None) -> Path:
        path = path or self.path
        if path is None:
            raise LockFileError("no file to save the lock to", code="lock.file.io")
        self.path = path
        key_path = _key_path(path)
        if not key_path.exists():
            pem = self._key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            _atomic_write(key_path, pem, mode=0o600)
        _atomic_write(path, self.image().to_bytes())
        return path

    def frames(self, start: int = 0, *, size: int = frames.MAX_FRAME) -> list[bytes]:
        """The image as a reader pulls it: frames of at most ``size`` bytes, from ``start``."""
        return frames.split(self.image().to_bytes(), size=size)[start:]

    # -- actions -----------------------------------------------------------------------------

    def write_payload(self, payload: bytes, *, now: datetime | None = None) -> PayloadHeader:
        """Departure customs writes a payload: checked for this lock, fresh and not replayed."""
        now = now or datetime.now(UTC)
        self._require({LockState.UNSEALED}, "write a payload")
        if self.payload is not None:
            raise StateError(
                f"lock {self.lock_id} already holds a payload: erase it first", code="lock.state"
            )
        if len(payload) > self.capacity:
            raise CapacityError(
                f"payload of {len(payload)} bytes does not fit lock {self.lock_id} "
                f"({self.capacity} bytes)",
            )
        header, _ = parse_payload(payload)
        if header.lock_id != self.lock_id:
            raise ReplayError(
                f"payload is for lock {header.lock_id}, this is lock {self.lock_id}",
                code="lock.replay.wrong_lock",
            )
        if header.expires <= int(now.timestamp()):
            raise ReplayError(
                f"payload {header.payload_id} expired at {header.expires_at.isoformat()}",
                code="lock.replay.expired",
            )
        if header.payload_id in self.seen_payloads:
            raise ReplayError(
                f"payload {header.payload_id} was already written to this lock",
                code="lock.replay.payload_id",
            )
        if header.counter <= self.replay_counter:
            raise ReplayError(
                f"payload counter {header.counter} is not above {self.replay_counter}",
                code="lock.replay.counter",
            )
        self.payload = payload
        self.replay_counter = header.counter
        self.seen_payloads.append(header.payload_id)
        self._event(
            EventCode.PAYLOAD_WRITTEN,
            {"payload_id": header.payload_id, "record_id": header.record_id},
            now,
        )
        return header

    def seal(self, *, now: datetime | None = None) -> None:
        self._require({LockState.UNSEALED}, "seal")
        self._event(EventCode.SEALED, {}, now)
        self.state = LockState.SEALED

    def open(self, reader_id: str, *, now: datetime | None = None) -> None:
        """Authorised unseal by the holder of ``reader_id`` (arrival customs)."""
        self._require({LockState.SEALED, LockState.TAMPERED}, "open")
        self._event(EventCode.OPENED, {"reader_id": reader_id}, now)
        self.state = LockState.OPENED

    def read_by_authority(
        self, reader_id: str, *, nonce: str, now: datetime | None = None
    ) -> bytes:
        """A reader pulls the image: the device first logs (and signs, chained to the whole
        log) the reading over the reader's fresh ``nonce``, so the reader can tell this
        image from a truncated or older copy."""
        self._event(EventCode.READ_BY_AUTHORITY, {"reader_id": reader_id, "nonce": nonce}, now)
        return self.image().to_bytes()

    def record(
        self, code: EventCode, data: Mapping[str, Any] | None = None, *, now: datetime | None = None
    ) -> None:
        """What happens on the way: tamper alarms, battery, position, route deviation ..."""
        if code in _TAMPER_EVENTS:
            self._event(code, data or {}, now)
            if self.state in (LockState.UNSEALED, LockState.SEALED):
                self.state = LockState.TAMPERED
            return
        if code not in _INFO_EVENTS:
            raise StateError(f"event {code.name} is not recorded this way", code="lock.state")
        self._event(code, data or {}, now)

    def erase(self, *, now: datetime | None = None) -> None:
        """After the trip: clear the payload (the anti-replay memory and the log stay)."""
        self._require({LockState.OPENED, LockState.UNSEALED}, "erase")
        self.payload = None
        self._event(EventCode.ERASED, {}, now)
        self.state = LockState.UNSEALED

    # -- helpers -----------------------------------------------------------------------------

    def _require(self, states: set[LockState], action: str) -> None:
        if self.state not in states:
            raise StateError(
                f"lock {self.lock_id} is {self.state.value}: cannot {action}", code="lock.state"
            )

    def _event(self, code: EventCode, data: Mapping[str, Any], now: datetime | None) -> None:
        self.log.append(code, data, time=now or datetime.now(UTC), sign=self._key.sign)


def _key_path(path: Path) -> Path:
    return path.with_name(path.name + ".key")


def _atomic_write(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise LockFileError(f"cannot write {path}: {exc}", code="lock.file.io") from exc
