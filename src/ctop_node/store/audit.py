"""The audit chain's tables: append entries under a writer lock, read them back, keep the
signed checkpoints. The digest rule is not here: the caller passes it in (``chain``), so the
store knows tables and nothing of how the chain is computed or verified.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection, Engine

from ctop_node.store._engine import SQLITE_BEGIN
from ctop_node.store._errors import translated
from ctop_node.store.schema import audit_checkpoints, audit_log

_PG_AUDIT_LOCK = text("SELECT pg_advisory_xact_lock(:k, hashtext(current_schema() || '.audit'))")
_PG_LOCK_KEY = 0x4354_4F41


@dataclass(frozen=True, slots=True)
class AuditRow:
    seq: int
    at: datetime
    actor: str
    action: str
    object: str
    purpose: str
    origin: str
    detail: str
    detail_digest: str
    digest: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "object": self.object,
            "purpose": self.purpose,
            "origin": self.origin,
            "detail": self.detail,
            "detail_digest": self.detail_digest,
            "digest": self.digest,
        }


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    seq: int
    digest: str
    at: datetime
    signed: bytes
    certificate: str  # PEM


# (next seq, previous digest or None for the first entry) -> the complete row to insert
ChainStep = Callable[[int, str | None], AuditRow]


def _row(r: Any) -> AuditRow:
    return AuditRow(
        seq=int(r.seq),
        at=r.at,
        actor=r.actor,
        action=r.action,
        object=r.object,
        purpose=r.purpose,
        origin=r.origin,
        detail=r.detail,
        detail_digest=r.detail_digest,
        digest=r.digest,
    )


class AuditLog:
    """Append-only access to ``audit_log`` and ``audit_checkpoints``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _lock(self, conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            conn.execute(_PG_AUDIT_LOCK, {"k": _PG_LOCK_KEY})

    def append(self, step: ChainStep) -> AuditRow:
        """Append one entry: under the writer lock (SQLite ``BEGIN IMMEDIATE``, PostgreSQL an
        advisory lock) read the last seq and digest, let ``step`` build the row, insert it."""
        with translated("append to the audit log"), self.engine.connect() as conn:
            conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            with conn.begin():
                self._lock(conn)
                last = conn.execute(
                    select(audit_log.c.seq, audit_log.c.digest)
                    .order_by(audit_log.c.seq.desc())
                    .limit(1)
                ).first()
                row = step(int(last.seq) + 1 if last else 1, last.digest if last else None)
                conn.execute(insert(audit_log).values(**row.as_dict()))
                return row

    def last(self) -> AuditRow | None:
        with translated("read the audit log"), self.engine.connect() as conn:
            r = conn.execute(select(audit_log).order_by(audit_log.c.seq.desc()).limit(1)).first()
        return _row(r) if r else None

    def count(self) -> int:
        with translated("count the audit log"), self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())

    def entries(
        self, *, first: int | None = None, last: int | None = None, obj: str | None = None
    ) -> list[AuditRow]:
        """Entries in stored ``seq`` order, optionally a range or those of one object."""
        stmt = select(audit_log).order_by(audit_log.c.seq)
        if first is not None:
            stmt = stmt.where(audit_log.c.seq >= first)
        if last is not None:
            stmt = stmt.where(audit_log.c.seq <= last)
        if obj is not None:
            stmt = stmt.where(audit_log.c.object == obj)
        with translated("read the audit log"), self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(stmt)]

    def entry(self, seq: int) -> AuditRow | None:
        rows = self.entries(first=seq, last=seq)
        return rows[0] if rows else None

    def add_checkpoint(self, cp: CheckpointRow) -> None:
        with translated("store an audit checkpoint"), self.engine.begin() as conn:
            conn.execute(
                insert(audit_checkpoints).values(
                    seq=cp.seq,
                    digest=cp.digest,
                    at=cp.at,
                    signed=cp.signed,
                    certificate=cp.certificate,
                )
            )

    def checkpoints(self) -> Sequence[CheckpointRow]:
        stmt = select(audit_checkpoints).order_by(audit_checkpoints.c.seq)
        with translated("read the audit checkpoints"), self.engine.connect() as conn:
            return [
                CheckpointRow(
                    seq=int(r.seq),
                    digest=r.digest,
                    at=r.at,
                    signed=bytes(r.signed),
                    certificate=r.certificate,
                )
                for r in conn.execute(stmt)
            ]
