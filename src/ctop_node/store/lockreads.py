"""The smart-lock channel's tables: lock reads at arrival, lock writes at departure.

A lock read is stored only once the lock image, its device log and the customs signature
were verified; refused reads store nothing. Every reading is kept (a second reading of a lock
may show what the first did not; the reconciliation takes the worst); storing the very same
image twice is idempotent (on lock ID and image digest). The record itself goes through the
inbox (:class:`ctop_node.store.inbox.Inbox`) like an online message; the read row is written
after it, so a crash in between is healed by reading the lock again (the inbox answers the
replay, the read row is then added).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from ctop_node.store._errors import translated
from ctop_node.store.schema import lock_reads, lock_writes


@dataclass(frozen=True, slots=True)
class LockRead:
    lock_id: str
    payload_id: str
    sender_party: str
    record_id: str
    version: int
    digest: str
    mode: str  # "full" | "digest"
    lock_state: str
    declared: bool
    tampered: bool
    reader_id: str
    read_at: datetime
    message_id: str | None = None
    nonce: str | None = None  # the reader's challenge the device signed its reading over
    findings: tuple[dict[str, str], ...] = ()  # {code, message}
    events: tuple[dict[str, Any], ...] = ()  # {n, t, c, d}: the verified device events
    image: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class LockWrite:
    record_id: str
    version: int
    peer_party: str
    lock_id: str
    payload_id: str
    digest: str
    mode: str
    size: int
    written_at: datetime


def _insert(engine: Engine) -> Any:
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert


def _read_of(r: Any) -> LockRead:
    return LockRead(
        lock_id=r.lock_id,
        payload_id=r.payload_id,
        sender_party=r.sender_party,
        record_id=r.record_id,
        version=r.version,
        digest=r.digest,
        mode=r.mode,
        lock_state=r.lock_state,
        declared=bool(r.declared),
        tampered=bool(r.tampered),
        reader_id=r.reader_id,
        read_at=r.read_at,
        message_id=r.message_id,
        nonce=r.nonce,
        findings=tuple(orjson.loads(r.findings)),
        events=tuple(orjson.loads(r.events)),
    )


_READ_COLUMNS = [c for c in lock_reads.c if c.name not in ("id", "image", "image_digest")]


class LockReads:
    """Lock reads (arrival) and lock writes (departure) over the store's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._ins = _insert(engine)

    # -- arrival ---------------------------------------------------------------------------

    def add(self, read: LockRead) -> bool:
        """Store a verified reading; False when this very image was stored before."""
        row = {
            "lock_id": read.lock_id,
            "payload_id": read.payload_id,
            "sender_party": read.sender_party,
            "record_id": read.record_id,
            "version": read.version,
            "digest": read.digest,
            "mode": read.mode,
            "message_id": read.message_id,
            "lock_state": read.lock_state,
            "declared": read.declared,
            "tampered": read.tampered,
            "findings": orjson.dumps(list(read.findings)).decode(),
            "events": orjson.dumps(list(read.events)).decode(),
            "reader_id": read.reader_id,
            "image": read.image,
            "read_at": read.read_at,
            "nonce": read.nonce,
            "image_digest": hashlib.sha256(read.image).hexdigest(),
        }
        stmt = (
            self._ins(lock_reads)
            .values(row)
            .on_conflict_do_nothing(index_elements=["lock_id", "image_digest"])
            .returning(lock_reads.c.id)
        )
        with translated("store a lock read"), self.engine.begin() as conn:
            return conn.execute(stmt).first() is not None

    def for_versions(
        self, keys: Sequence[tuple[str, str, int]]
    ) -> dict[tuple[str, str, int], list[LockRead]]:
        """Reads per (sender, record_id, version), oldest first."""
        if not keys:
            return {}
        key = tuple_(lock_reads.c.sender_party, lock_reads.c.record_id, lock_reads.c.version)
        stmt = select(*_READ_COLUMNS).where(key.in_(list(keys))).order_by(lock_reads.c.id)
        out: dict[tuple[str, str, int], list[LockRead]] = {}
        with translated("read lock reads"), self.engine.connect() as conn:
            for r in conn.execute(stmt):
                out.setdefault((r.sender_party, r.record_id, r.version), []).append(_read_of(r))
        return out

    def for_record(self, record_id: str, *, sender: str | None = None) -> list[LockRead]:
        stmt = select(*_READ_COLUMNS).where(lock_reads.c.record_id == record_id)
        if sender is not None:
            stmt = stmt.where(lock_reads.c.sender_party == sender)
        with translated("read lock reads"), self.engine.connect() as conn:
            return [_read_of(r) for r in conn.execute(stmt.order_by(lock_reads.c.id))]

    def versions_read(self) -> list[tuple[str, str, int]]:
        """Every (sender, record_id, version) that arrived by lock."""
        stmt = select(lock_reads.c.sender_party, lock_reads.c.record_id, lock_reads.c.version)
        with translated("read lock reads"), self.engine.connect() as conn:
            return sorted({(r[0], r[1], r[2]) for r in conn.execute(stmt.distinct())})

    def count(self) -> int:
        with translated("count lock reads"), self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(lock_reads)).scalar_one())

    # -- departure -------------------------------------------------------------------------

    def add_write(self, write: LockWrite) -> None:
        with translated("store a lock write"), self.engine.begin() as conn:
            conn.execute(
                lock_writes.insert(),
                {
                    "record_id": write.record_id,
                    "version": write.version,
                    "peer_party": write.peer_party,
                    "lock_id": write.lock_id,
                    "payload_id": write.payload_id,
                    "digest": write.digest,
                    "mode": write.mode,
                    "size": write.size,
                    "written_at": write.written_at,
                },
            )

    def written(self, keys: Sequence[tuple[str, int, str]]) -> set[tuple[str, int, str]]:
        """Which (record_id, version, peer) already travel on a lock."""
        if not keys:
            return set()
        key = tuple_(lock_writes.c.record_id, lock_writes.c.version, lock_writes.c.peer_party)
        stmt = select(
            lock_writes.c.record_id, lock_writes.c.version, lock_writes.c.peer_party
        ).where(and_(key.in_(list(keys))))
        with translated("read lock writes"), self.engine.connect() as conn:
            return {(r[0], r[1], r[2]) for r in conn.execute(stmt)}

    def writes(self, record_id: str) -> list[LockWrite]:
        stmt = (
            select(*[c for c in lock_writes.c if c.name != "id"])
            .where(lock_writes.c.record_id == record_id)
            .order_by(lock_writes.c.id)
        )
        with translated("read lock writes"), self.engine.connect() as conn:
            return [LockWrite(**r._mapping) for r in conn.execute(stmt)]
