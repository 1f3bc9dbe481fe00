"""Contract of the record store. Implementations: SQLAlchemy on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ctop_node.errors import FieldError
from ctop_node.model.outcome import OutcomeKind
from ctop_node.model.record import Consignment
from ctop_node.store._cancel import Withdrawal
from ctop_node.store._inbox_types import InboxRow as InboxRow  # what inbox readers get


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
    held: bool = False  # stored, but not queued: the record was cancelled before this version


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
    # The record's state (its head): the latest version's outcome, or ``cancelled``.
    state: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    record_id: str
    version: int
    peer_party: str
    state: str
    attempts: int
    created_at: datetime


# (sender Party, record_id, version): one received record version, whatever the channel.
VersionKey = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class LockCandidate:
    """A record version of ours with a live outbox entry for a peer: it may go on a lock."""

    record_id: str
    version: int
    peer_party: str
    outbox_state: str  # "pending" | "delivered"
    queued_at: datetime  # when the outbox entry was made
    body: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class SentVersion:
    """One outbox entry for a peer, with the digest of the record version it carries."""

    record_id: str
    version: int
    digest: str
    state: str


@dataclass(frozen=True, slots=True)
class ReceivedVersion:
    """One stored record version received from a peer."""

    record_id: str
    version: int
    digest: str


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

    def cancel_record(
        self, record_id: str, reason: str, *, origin_party: str, now: datetime | None = None
    ) -> Withdrawal:
        """Cancel our record at every peer: withdraw pending versions, queue CANCELLATIONs."""
        ...

    def get_record(self, record_id: str, version: int | None = None) -> RecordRow | None: ...

    def list_records(
        self, *, outcome: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[RecordRow]: ...

    def versions(self, record_id: str) -> list[RecordRow]: ...

    def outcome_counts(self) -> dict[str, int]: ...

    def outbox(self, *, state: str | None = None, limit: int = 100) -> list[OutboxRow]: ...

    # -- what the channels and reports ask (they write no SQL of their own) ---------------

    def lock_candidates(self, *, limit: int = 10_000) -> list[LockCandidate]:
        """Our record versions whose outbox entry is pending or delivered, oldest first."""
        ...

    def peers_of(self, record_id: str, version: int, *, origin_party: str) -> list[str]:
        """The Parties a record version of ``origin_party`` is queued for."""
        ...

    def lock_peers_of(self, record_id: str, version: int, *, origin_party: str) -> list[str]:
        """The Parties a lock may still carry that version to (not withdrawn, not cancelled)."""
        ...

    def sent_versions(self, peer: str) -> list[SentVersion]:
        """Every outbox entry for ``peer`` with its version's digest."""
        ...

    def received_versions(self, origin_party: str) -> list[ReceivedVersion]:
        """Every record version stored as received from ``origin_party``."""
        ...

    def online_digests(
        self, keys: Sequence[VersionKey] | None = None
    ) -> dict[VersionKey, list[str]]:
        """The distinct payload digests that arrived online per received version."""
        ...

    def close(self) -> None: ...
