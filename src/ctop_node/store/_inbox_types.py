"""The inbox's value types: a received message, the verdict on it, and what is stored."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from ctop_node.model.messages import RejectionError

AnswerType = Literal["RECEIPT", "REJECTION"]
InboxState = Literal["applied", "waiting", "rejected", "duplicate", "mismatch"]


@dataclass(frozen=True, slots=True)
class InboxMessage:
    """An authenticated message as the inbox stores it, with what validation found."""

    message_id: str
    sender_party: str
    type: str
    tc_version: int
    payload_digest: str
    message_digest: str
    message: bytes  # the raw sealed bytes as received
    channel: str = "online"
    record_id: str | None = None
    version: int | None = None
    # The canonical record body to apply (CONSIGNMENT / AMENDMENT that passed validation).
    body: bytes | None = None
    # Non-empty: validation rejected the message; it is stored as 'rejected'.
    errors: tuple[RejectionError, ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the inbox decided; the answer factory seals a RECEIPT or REJECTION from it."""

    answer_type: AnswerType
    state: InboxState
    errors: tuple[RejectionError, ...] = ()
    stored: bool = True  # False only for a duplicate message id (the id is taken)


AnswerFactory = Callable[[Verdict], bytes]


@dataclass(frozen=True, slots=True)
class InboxResult:
    answer: bytes
    verdict: Verdict
    replayed: bool = False  # the stored answer of an earlier identical message
    applied: tuple[int, ...] = ()  # record versions applied by this transaction, in order


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    answer: bytes
    answer_type: AnswerType
    state: InboxState
    message_digest: str
    payload_digest: str
    errors: tuple[RejectionError, ...] = ()

    def answers(self, message_digest: str) -> bool:
        """True when a message with this digest is a replay of the stored one: the very
        same bytes. Other bytes under a used id (even with the same payload) are a
        REJECTION ``exchange.duplicate_message_id`` naming the digest of what came."""
        return message_digest == self.message_digest


@dataclass(frozen=True, slots=True)
class InboxRow:
    """An inbox row for status pages and the UI (no message or answer bytes)."""

    message_id: str
    sender_party: str
    type: str
    record_id: str | None
    version: int | None
    tc_version: int
    state: str
    answer_type: str
    channel: str
    received_at: datetime
    applied_at: datetime | None
    errors: tuple[RejectionError, ...] = field(default_factory=tuple)
