"""The lock image: the single CBOR file that stands for what a reader pulls from a device.

    {"fmt": "ctop-lock/1", "lock_id": text, "cert": DER bytes, "capacity": int,
     "state": text, "payload": bytes / null, "log": [entry...],
     "replay": {"counter": int, "seen": [payload id...]}}

:func:`read_image` is the reader's entry point for untrusted bytes: it raises only
``LockError`` subclasses. It does not trust the ``state`` field: :func:`state_of` derives
the state from the verified events, and :meth:`LockImage.verify` requires both to agree.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning

from ctop_node.lock import cbor
from ctop_node.lock.errors import CborError, LockFileError
from ctop_node.lock.verify_log import VerifiedEvent, verify_log

FORMAT = "ctop-lock/1"
MAX_IMAGE = 512 * 1024
_FIELDS = frozenset({"fmt", "lock_id", "cert", "capacity", "state", "payload", "log", "replay"})

# Event codes as the verifier sees them (plain ints: the reader does not import the writer).
_SEALED, _OPENED, _ERASED = 16, 17, 21
_TAMPER = frozenset({1, 2, 7})


class LockState(StrEnum):
    UNSEALED = "unsealed"
    SEALED = "sealed"
    OPENED = "opened"
    TAMPERED = "tampered"


@dataclass(frozen=True, slots=True)
class LockImage:
    lock_id: str
    certificate: x509.Certificate
    capacity: int
    state: LockState
    payload: bytes | None
    log: Sequence[dict[str, Any]]
    replay_counter: int = 0
    seen_payloads: tuple[str, ...] = field(default=())

    def to_bytes(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding

        return cbor.encode(
            {
                "fmt": FORMAT,
                "lock_id": self.lock_id,
                "cert": self.certificate.public_bytes(Encoding.DER),
                "capacity": self.capacity,
                "state": self.state.value,
                "payload": self.payload,
                "log": list(self.log),
                "replay": {"counter": self.replay_counter, "seen": list(self.seen_payloads)},
            }
        )

    def verify(
        self,
        trusted_cas: Sequence[x509.Certificate],
        *,
        at: datetime | None = None,
        nonce: str | None = None,
    ) -> list[VerifiedEvent]:
        """Verify the event log (ending with the authority reading over ``nonce`` when
        given) and that the claimed state is the one the events lead to."""
        events = verify_log(
            self.lock_id, self.log, self.certificate, trusted_cas, at=at, nonce=nonce
        )
        derived = state_of(events)
        if derived != self.state:
            raise LockFileError(
                f"lock {self.lock_id} says {self.state.value} but its events say {derived.value}",
                code="lock.file.state",
            )
        return events


def state_of(events: Sequence[VerifiedEvent]) -> LockState:
    state = LockState.UNSEALED
    for e in events:
        if e.code == _SEALED:
            state = LockState.SEALED
        elif e.code == _OPENED:
            state = LockState.OPENED
        elif e.code == _ERASED:
            state = LockState.UNSEALED
        elif e.code in _TAMPER and state in (LockState.SEALED, LockState.UNSEALED):
            state = LockState.TAMPERED
    return state


def load_device_certificate(der: bytes) -> x509.Certificate:
    """Parse an untrusted DER certificate; any parsing problem is a ``LockFileError``.

    cryptography raises ``InvalidVersion`` (not a ``ValueError``) for a bad version field and
    only *warns* about a non-positive serial number: both mean a certificate we refuse.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", CryptographyDeprecationWarning)
            return x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion, CryptographyDeprecationWarning) as exc:
        raise LockFileError(
            f"device certificate cannot be read: {exc}", code="lock.log.device_cert"
        ) from exc


def read_image(data: bytes) -> LockImage:
    """Parse untrusted lock-image bytes (no signature checks yet: see ``verify``)."""
    try:
        value = cbor.decode(data, max_size=MAX_IMAGE, max_depth=6, allowed_tags=frozenset())
    except CborError as exc:
        raise LockFileError(f"not a readable lock image: {exc.message}", code=exc.code) from exc

    def bad(why: str) -> LockFileError:
        return LockFileError(f"not a lock image: {why}", code="lock.file.malformed")

    if not isinstance(value, dict) or set(value) != _FIELDS or value["fmt"] != FORMAT:
        raise bad("unknown format or fields")
    lock_id, cert_der, capacity = value["lock_id"], value["cert"], value["capacity"]
    state, payload, log, replay = value["state"], value["payload"], value["log"], value["replay"]
    if not (isinstance(lock_id, str) and 0 < len(lock_id) <= 64):
        raise bad("bad lock ID")
    if not (isinstance(capacity, int) and not isinstance(capacity, bool) and capacity > 0):
        raise bad("bad capacity")
    if not isinstance(state, str) or state not in {s.value for s in LockState}:
        raise bad("bad state")
    if not (payload is None or isinstance(payload, bytes)):
        raise bad("bad payload slot")
    if payload is not None and len(payload) > capacity:
        raise LockFileError(
            f"payload of {len(payload)} bytes is over the lock's capacity {capacity}",
            code="lock.capacity",
        )
    if not isinstance(log, list):
        raise bad("bad event log")
    if not (
        isinstance(replay, dict)
        and set(replay) == {"counter", "seen"}
        and isinstance(replay["counter"], int)
        and isinstance(replay["seen"], list)
        and all(isinstance(s, str) for s in replay["seen"])
    ):
        raise bad("bad anti-replay record")
    if not isinstance(cert_der, bytes):
        raise bad("bad device certificate")
    certificate = load_device_certificate(cert_der)
    return LockImage(
        lock_id,
        certificate,
        capacity,
        LockState(state),
        payload,
        log,
        replay["counter"],
        tuple(replay["seen"]),
    )
