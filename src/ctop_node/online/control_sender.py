"""Control results on their way back to the Party whose record was controlled.

The same rules as the record sender (:mod:`ctop_node.online.sender`), for a small flow: each
result is sealed once as a signed, encrypted CONTROL_RESULT (message id and bytes committed
before sending, so every retry sends the same bytes and the peer deduplicates), sent through
the node's transport, and settled from the peer's answer: ``delivered`` on a RECEIPT that
verifies against our trust store and names our message and its digest, ``rejected`` on a
valid REJECTION (final, kept with its reasons), else retried later with a backoff.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import ValidationError

from ctop_node.crypto.envelope import EnvelopeHeader, seal
from ctop_node.crypto.interfaces import Decryptor, Signer, TrustStore
from ctop_node.errors import CryptoError, StorageError, TransportError
from ctop_node.model.canonical import canonical_bytes
from ctop_node.model.messages import MessageType, Receipt
from ctop_node.online.answers import read_answer
from ctop_node.online.backoff import Backoff
from ctop_node.online.interfaces import DeliveryAnswer, Transport
from ctop_node.online.sender import NON_RETRIABLE
from ctop_node.store.control import ControlRow, ControlStore

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class ControlReport:
    sent: int = 0
    delivered: int = 0
    rejected: int = 0
    retried: int = 0
    dead: int = 0


@dataclass
class ControlSender:
    party: str
    store: ControlStore
    transport: Transport
    signer: Signer
    decryptor: Decryptor
    trust: TrustStore
    tc_version: str = "1"
    backoff: Backoff = field(default_factory=Backoff)
    clock: Callable[[], datetime] = _utcnow
    rng: random.Random = field(default_factory=random.Random)

    def run_once(self) -> ControlReport:
        """Send every due control result once; answers settle them."""
        rep = ControlReport()
        now = self.clock()
        for row in self.store.due(now):
            self._one(row, now, rep)
        return rep

    def _one(self, row: ControlRow, now: datetime, rep: ControlReport) -> None:
        peer = row.peer_party
        try:
            mid, raw = self._sealed(row)
        except CryptoError as exc:
            log.error("control results: cannot seal for %s: %s", peer, exc.code)
            self._retry(row, str(exc), now, rep)
            return
        try:
            (answer,) = self.transport.send(peer, [raw])
        except (TransportError, ValueError) as exc:
            self._retry(row, str(exc), now, rep)
            return
        rep.sent += 1
        self._judge(row, peer, mid, raw, answer, now, rep)

    def _sealed(self, row: ControlRow) -> tuple[str, bytes]:
        if row.message_id is not None and row.message is not None:
            return row.message_id, row.message
        header = EnvelopeHeader.new(
            MessageType.CONTROL_RESULT,
            sender=self.party,
            recipient=row.peer_party,
            tc_version=self.tc_version,
            record_id=row.record_id,
            version=row.version,
        )
        raw = seal(
            header,
            canonical_bytes(row.result),
            self.signer,
            self.trust.recipient_key(row.peer_party),
        )
        self.store.attach(row.id, header.message_id, raw)  # committed before it goes out
        return header.message_id, raw

    def _judge(
        self,
        row: ControlRow,
        peer: str,
        mid: str,
        raw: bytes,
        answer: DeliveryAnswer,
        now: datetime,
        rep: ControlReport,
    ) -> None:
        if answer.status == "refused" or answer.answer is None:
            code = answer.code or "transport.refused"
            error = f"refused by {peer}: [{code}] {answer.message}"
            if code in NON_RETRIABLE:
                self.store.settle(row.id, "dead", now, code=code, error=error)
                rep.dead += 1
            else:
                self._retry(row, error, now, rep)
            return
        try:
            read = read_answer(
                answer.answer,
                party=self.party,
                peer=peer,
                message_id=mid,
                sent=raw,
                trust=self.trust,
                decryptor=self.decryptor,
            )
        except (CryptoError, ValidationError) as exc:
            self._retry(row, f"answer of {peer} not accepted: {exc}", now, rep)
            return
        if isinstance(read, Receipt):
            self.store.settle(row.id, "delivered", now, answer=answer.answer)
            rep.delivered += 1
            return
        rejection = read
        text = "; ".join(f"{e.field}: [{e.code}] {e.message}" for e in rejection.errors)
        self.store.settle(
            row.id,
            "rejected",
            now,
            answer=answer.answer,
            code=rejection.errors[0].code,
            error=text,
        )
        rep.rejected += 1

    def _retry(self, row: ControlRow, error: str, now: datetime, rep: ControlReport) -> None:
        later = now + self.backoff.delay(row.attempts + 1, self.rng)
        self.store.settle(row.id, "pending", now, error=error, next_attempt_at=later)
        rep.retried += 1

    def run_forever(self, stop: threading.Event, idle_wait: float = 0.25) -> None:
        """Pass after pass until ``stop`` is set; a database outage is waited out."""
        while not stop.is_set():
            try:
                self.run_once()
            except StorageError as exc:
                log.warning("control results: database unavailable: %s", exc)
            stop.wait(idle_wait)
