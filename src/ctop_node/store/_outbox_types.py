"""The outbox's value types: a due entry, and how an entry was settled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One due entry with what the sender needs to seal it (or the bytes already sealed)."""

    id: int
    record_pk: int
    record_id: str
    version: int
    peer: str
    attempts: int
    tc_version: int
    digest: str
    body: bytes  # canonical record body = the payload of CONSIGNMENT/AMENDMENT
    message_id: str | None
    message: bytes | None
    # "record": send the version (CONSIGNMENT / AMENDMENT); "cancellation": send a
    # CANCELLATION naming ``version`` as the version cancelled, for ``reason``.
    kind: str = "record"
    reason: str | None = None

    @property
    def sealed(self) -> bool:
        return self.message is not None

    @property
    def cancellation(self) -> bool:
        return self.kind == "cancellation"


@dataclass(frozen=True, slots=True)
class Delivered:
    outbox_id: int
    answer: bytes
    at: datetime


@dataclass(frozen=True, slots=True)
class Rejected:
    outbox_id: int
    answer: bytes
    code: str
    message: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Retry:
    outbox_id: int
    error: str
    next_attempt_at: datetime
    sent_at: datetime | None = None  # set when the message did go out


@dataclass(frozen=True, slots=True)
class Dead:
    outbox_id: int
    code: str
    error: str
    at: datetime


Settlement = Delivered | Rejected | Retry | Dead
