"""For the online tests (KZ sends, CN receives; homes from ``tests._homes``): a peer that answers
in memory like a receiver would: opens each message with its own keys, answers with a RECEIPT
or REJECTION sealed to the sender, refuses what it cannot authenticate, and replays the stored
answer for a message id it has seen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ctop_node.crypto import (
    EnvelopeHeader,
    OpenedMessage,
    SoftwareSigner,
    message_digest,
    open_,
    seal,
)
from ctop_node.errors import CryptoError
from ctop_node.model.canonical import canonical_bytes
from ctop_node.model.messages import MessageType, Receipt, Rejection, RejectionError
from ctop_node.online.interfaces import DeliveryAnswer, PeerUnreachable
from tests._homes import Home

# What the fake peer does with one opened message: None = a normal RECEIPT; a
# RejectionError = a REJECTION; a DeliveryAnswer = that answer as is (forged or refused).
Behaviour = Callable[[OpenedMessage, bytes], "RejectionError | DeliveryAnswer | None"]


@dataclass
class FakePeer:
    """An in-memory ``Transport`` to one receiving node."""

    node: Home
    sender_party: str
    down: bool = False
    behaviour: Behaviour | None = None
    received: list[OpenedMessage] = field(default_factory=list)
    raw_seen: list[bytes] = field(default_factory=list)
    answers: dict[str, DeliveryAnswer] = field(default_factory=dict)
    calls: int = 0

    def __post_init__(self) -> None:
        self._signer = self.node.signer
        self._decryptor = self.node.decryptor
        self._trust = self.node.trust()

    def send(self, peer: str, messages: list[bytes]) -> list[DeliveryAnswer]:
        assert peer == self.node.party
        self.calls += 1
        if self.down:
            raise PeerUnreachable(f"{peer}: connection refused")
        return [self._one(raw) for raw in messages]

    def close(self) -> None:
        pass

    def _one(self, raw: bytes) -> DeliveryAnswer:
        self.raw_seen.append(raw)
        try:
            opened = open_(raw, self._trust, self._decryptor, self.node.party)
        except CryptoError as exc:
            return DeliveryAnswer("refused", None, exc.code, exc.message)
        self.received.append(opened)
        mid = opened.header.message_id
        if mid in self.answers:
            return self.answers[mid]
        outcome = self.behaviour(opened, raw) if self.behaviour else None
        if isinstance(outcome, DeliveryAnswer):
            return outcome
        if outcome is None:
            answer = DeliveryAnswer("receipt", self.receipt(opened, raw), "", "")
        else:
            answer = DeliveryAnswer("rejection", self.rejection(opened, raw, outcome), "", "")
        self.answers[mid] = answer
        return answer

    def seal_answer(
        self,
        opened: OpenedMessage,
        kind: MessageType,
        payload: bytes,
        *,
        signer: SoftwareSigner | None = None,
        sender: str | None = None,
        correlation_id: str | None = None,
    ) -> bytes:
        head = opened.header
        header = EnvelopeHeader.new(
            kind,
            sender=sender or self.node.party,
            recipient=head.sender,
            tc_version=head.tc_version,
            record_id=head.record_id,
            version=head.version,
            correlation_id=correlation_id or head.message_id,
        )
        return seal(header, payload, signer or self._signer, self._trust.recipient_key(head.sender))

    def receipt(self, opened: OpenedMessage, raw: bytes, *, digest: str | None = None) -> bytes:
        payload = Receipt(
            message_id=opened.header.message_id,
            message_digest=digest or message_digest(raw),
            status="applied",
            stored_at=datetime.now(UTC),
        )
        return self.seal_answer(opened, MessageType.RECEIPT, canonical_bytes(payload))

    def rejection(self, opened: OpenedMessage, raw: bytes, error: RejectionError) -> bytes:
        payload = Rejection(
            message_id=opened.header.message_id,
            message_digest=message_digest(raw),
            errors=[error],
        )
        return self.seal_answer(opened, MessageType.REJECTION, canonical_bytes(payload))

    def seen(self) -> list[tuple[str | None, int | None]]:
        return [(o.header.record_id, o.header.version) for o in self.received]
