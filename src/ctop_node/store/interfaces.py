"""Contract of the record store. Implementations: SQLAlchemy on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ctop_node.errors import FieldError
from ctop_node.model.record import Consignment
from ctop_node.rules.outcome import OutcomeKind


@dataclass(frozen=True, slots=True)
class Accepted:
    """A record that passed the technical conditions, ready to store."""

    record: Consignment
    tc_version: int
    digest: str  # SHA-256 hex of ``body``
    body: bytes  # canonical JSON (ctop_node.model.canonical)


@dataclass(frozen=True, slots=True)
class IngestEntry:
    """One record read by ingest and its single outcome. ``accepted`` is None for
    rejected and refused records: a refused (state-secret) body is never stored."""

    source: str
    position: str
    record_id: str | None
    outcome: OutcomeKind
    reason: str
    detail: str = ""
    errors: tuple[FieldError, ...] = ()
    accepted: Accepted | None = None
    peers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredResult:
    record_id: str | None
    version: int | None  # version now stored for the record (None when nothing was stored)
    unchanged: bool  # an identical record was already the latest version: nothing written


@dataclass(frozen=True, slots=True)
class RecordRow:
    record_id: str
    version: int
    origin_party: str
    direction: str  # "out": our own export record; "in": received from a peer
    tc_version: int
    digest: str
    outcome: str
    reason: str
    detail: str
    created_at: datetime
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    record_id: str
    version: int
    peer_party: str
    state: str
    attempts: int
    created_at: datetime


class RecordStore(Protocol):
    url: str

    def write_batch(
        self, entries: Sequence[IngestEntry], *, origin_party: str, now: datetime | None = None
    ) -> list[StoredResult]:
        """Store a batch in one transaction: every entry's outcome in the ingest log, each
        accepted record as a new version unless identical to the latest, and an outbox entry
        per peer for each new ``to_send`` version (transactional outbox). ``now`` is the
        caller's clock (the current time when not given)."""
        ...

    def get_record(self, record_id: str, version: int | None = None) -> RecordRow | None: ...

    def list_records(
        self, *, outcome: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[RecordRow]: ...

    def versions(self, record_id: str) -> list[RecordRow]: ...

    def outcome_counts(self) -> dict[str, int]: ...

    def outbox(self, *, state: str | None = None, limit: int = 100) -> list[OutboxRow]: ...

    def close(self) -> None: ...
