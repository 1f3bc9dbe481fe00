"""The records feed of the read API: every stored record version in the order it was stored
(row id), after a cursor, optionally from a time on, of one Party or direction. The
receiving Party's own systems poll it with the last cursor to consume what arrived."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from ctop_node.store._errors import translated
from ctop_node.store.interfaces import RecordRow
from ctop_node.store.schema import records


def record_feed(
    engine: Engine,
    *,
    after: int = 0,
    since: datetime | None = None,
    origin_party: str | None = None,
    direction: str | None = None,
    limit: int = 100,
) -> list[tuple[int, RecordRow]]:
    """(cursor, version without body), oldest first; the cursor of the last is the next
    ``after``."""
    c = records.c
    q = (
        select(
            c.id,
            c.record_id,
            c.version,
            c.origin_party,
            c.direction,
            c.tc_version,
            c.digest,
            c.outcome,
            c.reason,
            c.detail,
            c.created_at,
        )
        .where(c.id > after)
        .order_by(c.id)
        .limit(limit)
    )
    if since is not None:
        q = q.where(c.created_at >= since)
    if origin_party is not None:
        q = q.where(c.origin_party == origin_party)
    if direction is not None:
        q = q.where(c.direction == direction)
    with translated("read the records feed"), engine.connect() as conn:
        return [
            (
                int(r.id),
                RecordRow(
                    record_id=r.record_id,
                    version=r.version,
                    origin_party=r.origin_party,
                    direction=r.direction,
                    tc_version=r.tc_version,
                    digest=r.digest,
                    outcome=r.outcome,
                    reason=r.reason,
                    detail=r.detail,
                    created_at=r.created_at,
                ),
            )
            for r in conn.execute(q)
        ]
