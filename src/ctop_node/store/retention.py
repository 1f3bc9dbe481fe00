"""Retention of peer data: bodies of received record versions older than the period are
removed (the record body, the raw message and decrypted payload in the inbox, the lock image
of a full-mode reading), while the rows, their digests and counts stay, so reports still
reconcile. ``record_purges`` marks what was removed and when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, insert, select, tuple_, update
from sqlalchemy.engine import Engine

from ctop_node.store._engine import SQLITE_BEGIN
from ctop_node.store._errors import translated
from ctop_node.store.interfaces import VersionKey
from ctop_node.store.schema import inbox, lock_reads, record_purges, records

PURGED_BODY = b"{}"
_CHUNK = 500


class Retention:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def purge_peer_bodies(self, before: datetime, *, at: datetime) -> list[VersionKey]:
        """Remove the bodies of peer record versions stored before ``before``; returns the
        (origin Party, record_id, version) purged now (earlier purges are not repeated)."""
        done = select(record_purges.c.record_pk)
        stmt = select(
            records.c.id, records.c.origin_party, records.c.record_id, records.c.version
        ).where(
            records.c.direction == "in",
            records.c.created_at < before,
            records.c.id.not_in(done),
        )
        purged: list[VersionKey] = []
        with translated("purge peer record bodies"), self.engine.connect() as conn:
            conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            with conn.begin():
                rows = conn.execute(stmt.order_by(records.c.id)).all()
                for i in range(0, len(rows), _CHUNK):
                    chunk = rows[i : i + _CHUNK]
                    ids = [int(r.id) for r in chunk]
                    keys = [(r.origin_party, r.record_id, int(r.version)) for r in chunk]
                    conn.execute(
                        update(records).where(records.c.id.in_(ids)).values(body=PURGED_BODY)
                    )
                    conn.execute(
                        update(inbox)
                        .where(
                            tuple_(inbox.c.sender_party, inbox.c.record_id, inbox.c.version).in_(
                                keys
                            )
                        )
                        .values(payload=None, message=b"")
                    )
                    conn.execute(
                        update(lock_reads)
                        .where(
                            and_(
                                tuple_(
                                    lock_reads.c.sender_party,
                                    lock_reads.c.record_id,
                                    lock_reads.c.version,
                                ).in_(keys),
                                lock_reads.c.mode == "full",
                            )
                        )
                        .values(image=b"")
                    )
                    conn.execute(
                        insert(record_purges), [{"record_pk": i, "purged_at": at} for i in ids]
                    )
                    purged.extend(keys)
        return purged

    def purged_at(self, key: VersionKey) -> datetime | None:
        stmt = (
            select(record_purges.c.purged_at)
            .join(records, records.c.id == record_purges.c.record_pk)
            .where(
                records.c.origin_party == key[0],
                records.c.record_id == key[1],
                records.c.version == key[2],
            )
        )
        with translated("read the purge marks"), self.engine.connect() as conn:
            value = conn.execute(stmt).scalar()
        return value if isinstance(value, datetime) else None
