"""Arrival customs reads a lock: verify, decrypt, validate, store through the same inbox.

The reader first sends the device a fresh challenge (``nonce = reader.challenge()``; the
simulator: ``device.read_by_authority(reader_id, nonce=nonce)``); the device logs and signs
its authority reading over it and hands out the image. ``LockReader.read(image, reader_id=,
nonce=)`` then runs, in order, and stores nothing until all of 1-4 passed:

1. the lock image and its device log: chain, device signatures, device certificate issued
   by a trusted carrier CA for this lock ID, claimed state = state of the events, and the
   log ends with the device's reading over this nonce (a copy with its newest events cut
   off, or an old image, is refused: ``lock.log.unconfirmed``);
2. the payload: written for this lock, addressed to us, decrypted, signed by a trusted
   departure customs node, its record matching the header's digest, not expired at the
   reading (with ``expiry_skew`` of clock tolerance: ``lock.payload.expired``);
3. the payload is the one the device logged as written (``PAYLOAD_WRITTEN`` with its id): a
   payload copied from another lock, or put into the image after the fact, is refused.

Then the record version goes through THE receive path (:meth:`ctop_node.exchange.receive.
Receiver.receive`, the same check -> inbox -> answer as an online message, with the signer
as sender) with ``channel="lock"`` under a message id derived from the payload id (reading
the same lock twice is a replay), so a version that arrives by lock and online is stored
once; the answer is sealed to the sender as for an online message and kept with the row. It
is not sent: the sender learns of the delivery when its online copy is answered (see docs).
The read itself, with the journey findings (:mod:`.findings`), becomes a ``lock_reads`` row:
the lock side of the reconciliation.

A digest-mode payload carries no record: it is stored as a lock read only (its digest is
reconciled with the online copy, which carries the record).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509

from ctop_node.crypto.interfaces import Decryptor, Signer, TrustStore
from ctop_node.errors import CryptoError
from ctop_node.exchange.checks import Fields
from ctop_node.exchange.receive import Incoming, Receiver
from ctop_node.lock.codec import OpenedPayload, open_payload
from ctop_node.lock.errors import LogError, PayloadError
from ctop_node.lock.events import EventCode
from ctop_node.lock.findings import Finding, declared_locks, event_dict, findings_of
from ctop_node.lock.image import LockImage, read_image
from ctop_node.lock.verify_log import VerifiedEvent
from ctop_node.model.canonical import canonical_bytes
from ctop_node.model.messages import MessageType, RejectionError
from ctop_node.store import SqlStore
from ctop_node.store.lockreads import LockRead
from ctop_node.tc.registry import DEFAULT_REGISTRY, TcRegistry

# Inbox message ids of lock copies: a name-based UUID of the payload id (stable per payload).
LOCK_NAMESPACE = uuid.UUID("7c1f0c9e-5a43-4b8e-9d0e-2f6b1d6c4a11")


# A reader's challenge: long enough that nobody can have a reading signed for it in advance.
NONCE_BYTES = 16
MIN_NONCE_CHARS = 16
# Tolerance between the departure node's clock (which set the expiry) and ours.
DEFAULT_EXPIRY_SKEW = timedelta(minutes=10)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def lock_message_id(lock_id: str, payload_id: str) -> str:
    return str(uuid.uuid5(LOCK_NAMESPACE, f"{lock_id}\x00{payload_id}"))


@dataclass(frozen=True, slots=True)
class ReadResult:
    lock_id: str
    payload_id: str
    sender_party: str
    record_id: str
    version: int
    digest: str
    mode: str
    lock_state: str
    message_id: str | None
    # What the inbox decided: applied / waiting / duplicate / mismatch / rejected; "digest"
    # for a digest-mode payload (no record to store).
    inbox_state: str
    answer_type: str | None
    findings: tuple[Finding, ...] = ()
    errors: tuple[RejectionError, ...] = ()
    events: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    new_read: bool = True  # False: this very reading (same image bytes) was stored before

    @property
    def tampered(self) -> bool:
        return bool(self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lock_id": self.lock_id,
            "payload_id": self.payload_id,
            "sender_party": self.sender_party,
            "record_id": self.record_id,
            "version": self.version,
            "digest": self.digest,
            "mode": self.mode,
            "lock_state": self.lock_state,
            "message_id": self.message_id,
            "inbox_state": self.inbox_state,
            "answer_type": self.answer_type,
            "tampered": self.tampered,
            "findings": [f.as_dict() for f in self.findings],
            "errors": [e.model_dump() for e in self.errors],
            "new_read": self.new_read,
        }


class LockReader:
    """Reads locks addressed to ``party`` into the node's inbox."""

    def __init__(
        self,
        party: str,
        store: SqlStore,
        signer: Signer,
        decryptor: Decryptor,
        trust: TrustStore,
        carrier_cas: Sequence[x509.Certificate],
        registry: TcRegistry = DEFAULT_REGISTRY,
        *,
        clock: Callable[[], datetime] = _utcnow,
        expiry_skew: timedelta = DEFAULT_EXPIRY_SKEW,
    ) -> None:
        self.party = party
        self.clock = clock
        self.expiry_skew = expiry_skew
        self.receiver = Receiver(party, store.inbox, signer, decryptor, trust, registry)
        self.reads = store.lock_reads
        self.decryptor = decryptor
        self.trust = trust
        self.carrier_cas = list(carrier_cas)

    @staticmethod
    def challenge() -> str:
        """A fresh nonce for one reading: send it to the device, then pass it to :meth:`read`."""
        return secrets.token_hex(NONCE_BYTES)

    def read(
        self, data: bytes, *, reader_id: str, nonce: str, at: datetime | None = None
    ) -> ReadResult:
        """Verify and store one lock image, read from the device over ``nonce`` (from
        :meth:`challenge`). Raises ``LockError`` (refused, nothing stored) or
        ``StorageError`` (database trouble). Every reading is kept."""
        at = at or self.clock()
        image, events, opened = self.verify(data, at=at, nonce=nonce)
        header = opened.header
        source = opened.record if opened.record is not None else opened.summary or {}
        found = findings_of(
            events,
            lock_id=image.lock_id,
            payload_id=header.payload_id,
            declared_locks=declared_locks(source),
        )
        base: dict[str, Any] = {
            "lock_id": image.lock_id,
            "payload_id": header.payload_id,
            "sender_party": opened.signer.party,
            "record_id": header.record_id,
            "version": header.version,
            "digest": header.digest,
            "mode": header.mode,
            "lock_state": image.state.value,
            "findings": tuple(found),
            "events": tuple(event_dict(e) for e in events),
        }
        if opened.record is None:
            return self._store_read(
                ReadResult(message_id=None, inbox_state="digest", answer_type=None, **base),
                reader_id,
                nonce,
                data,
                at,
            )
        message_id = lock_message_id(image.lock_id, header.payload_id)
        state, answer_type, errors = self._accept(opened, message_id, image.payload or b"", at)
        result = ReadResult(
            message_id=message_id,
            inbox_state=state,
            answer_type=answer_type,
            errors=errors,
            **base,
        )
        if state == "rejected":
            return result  # stored in the inbox as rejected (as online), not as a lock read
        return self._store_read(result, reader_id, nonce, data, at)

    def verify(
        self, data: bytes, *, at: datetime, nonce: str
    ) -> tuple[LockImage, list[VerifiedEvent], OpenedPayload]:
        """Steps 1-3 of the module docstring, without storing anything."""
        if len(nonce) < MIN_NONCE_CHARS:
            raise LogError(
                f"a reading needs a fresh challenge of at least {MIN_NONCE_CHARS} characters",
                code="lock.log.unconfirmed",
            )
        image = read_image(data)
        events = image.verify(self.carrier_cas, at=at, nonce=nonce)
        if image.payload is None:
            raise PayloadError(f"lock {image.lock_id} holds no payload", code="lock.payload.empty")
        opened = open_payload(
            image.payload,
            self.trust,
            self.decryptor,
            party=self.party,
            lock_id=image.lock_id,
            at=at,
        )
        pid = opened.header.payload_id
        if opened.header.expires_at + self.expiry_skew <= at:
            raise PayloadError(
                f"payload {pid} of lock {image.lock_id} expired at "
                f"{opened.header.expires_at.isoformat()}",
                code="lock.payload.expired",
            )
        if not any(
            e.code == EventCode.PAYLOAD_WRITTEN and e.data.get("payload_id") == pid for e in events
        ):
            raise PayloadError(
                f"payload {pid} is not in the device log of lock {image.lock_id}: "
                "it was not written through this lock",
                code="lock.payload.not_logged",
            )
        if opened.signer.party == self.party:
            raise PayloadError("the payload is signed by our own Party", code="lock.payload.signer")
        if (
            opened.summary is not None
            and opened.summary.get("record_id") != opened.header.record_id
        ):
            raise PayloadError(
                "digest-mode summary names another record", code="lock.payload.header"
            )
        return image, events, opened

    def _accept(
        self, opened: OpenedPayload, message_id: str, payload: bytes, at: datetime
    ) -> tuple[str, str, tuple[RejectionError, ...]]:
        header = opened.header
        assert opened.record is not None
        mtype = MessageType.CONSIGNMENT if header.version == 1 else MessageType.AMENDMENT
        incoming = Incoming(
            message_id=message_id,
            fields=Fields(mtype, header.tc, header.record_id, header.version),
            sender=opened.signer.party,
            payload=canonical_bytes(opened.record),
            payload_digest=header.digest,
            message_digest=hashlib.sha256(payload).hexdigest(),
            message=payload,
            channel="lock",
        )
        try:
            result = self.receiver.receive(incoming, now=at)
        except CryptoError as exc:
            raise PayloadError(
                f"cannot answer {opened.signer.party}: {exc.message}", code="lock.payload.peer"
            ) from exc
        v = result.verdict
        return v.state, v.answer_type, v.errors

    def _store_read(
        self, result: ReadResult, reader_id: str, nonce: str, image: bytes, at: datetime
    ) -> ReadResult:
        new = self.reads.add(
            LockRead(
                lock_id=result.lock_id,
                payload_id=result.payload_id,
                sender_party=result.sender_party,
                record_id=result.record_id,
                version=result.version,
                digest=result.digest,
                mode=result.mode,
                lock_state=result.lock_state,
                declared=not any(f.code == "lock.undeclared" for f in result.findings),
                tampered=result.tampered,
                reader_id=reader_id,
                nonce=nonce,
                read_at=at,
                message_id=result.message_id,
                findings=tuple({"code": f.code, "message": f.message} for f in result.findings),
                events=result.events,
                image=image,
            )
        )
        if new:
            return result
        return replace(result, new_read=False)
