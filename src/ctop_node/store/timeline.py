"""A record's way out, as the sending node saw it: ingest outcomes, outbox entries (sealed,
delivered with receipt, rejected with reasons), smart-lock writes and the control results
the peer sent back. One read per table; the web layer orders them into a timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import select
from sqlalchemy.engine import Engine

from ctop_node.store._errors import translated
from ctop_node.store.schema import ingest_log, lock_writes, outbox, records


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    at: datetime
    kind: str  # ingested | sealed | delivered | rejected | dead | pending | lock_written
    version: int | None
    detail: str
    peer: str = ""
    errors: tuple[dict[str, str], ...] = ()


def _errors(text: str | None) -> tuple[dict[str, str], ...]:
    if not text:
        return ()
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return ()
    if not isinstance(data, list):
        return ()
    return tuple({str(k): str(v) for k, v in e.items()} for e in data if isinstance(e, dict))


def departure_events(engine: Engine, origin_party: str, record_id: str) -> list[TimelineEvent]:
    """Every stored fact of our record ``record_id`` on its way out, oldest first."""
    out: list[TimelineEvent] = []
    il = ingest_log.c
    ob = outbox.c
    lw = lock_writes.c
    with translated("read a record's timeline"), engine.connect() as conn:
        for r in conn.execute(
            select(il.at, il.outcome, il.reason, il.errors, il.version)
            .where(il.record_id == record_id)
            .order_by(il.id)
        ):
            detail = f"{r.outcome}: {r.reason}" if r.reason else r.outcome
            out.append(TimelineEvent(r.at, "ingested", r.version, detail, "", _errors(r.errors)))
        for o in conn.execute(
            select(
                ob.version,
                ob.peer_party,
                ob.state,
                ob.created_at,
                ob.sent_at,
                ob.delivered_at,
                ob.message_id,
                ob.last_error,
                ob.answer_code,
            )
            .join(records, records.c.id == ob.record_pk)
            .where(records.c.origin_party == origin_party, ob.record_id == record_id)
            .order_by(ob.id)
        ):
            if o.message_id is not None:
                at = o.sent_at or o.created_at
                out.append(TimelineEvent(at, "sealed", o.version, o.message_id, o.peer_party))
            if o.state in ("delivered", "rejected", "dead"):
                reasons = tuple(
                    {"field": part.split(": ", 1)[0], "message": part.split(": ", 1)[-1]}
                    for part in (o.last_error or "").split("; ")
                    if part
                )
                detail = o.answer_code or ("RECEIPT" if o.state == "delivered" else "")
                at = o.delivered_at or o.sent_at or o.created_at
                out.append(
                    TimelineEvent(at, o.state, o.version, detail or "", o.peer_party, reasons)
                )
            else:
                out.append(
                    TimelineEvent(
                        o.created_at, "pending", o.version, o.last_error or "", o.peer_party
                    )
                )
        for w in conn.execute(
            select(lw.written_at, lw.version, lw.peer_party, lw.lock_id)
            .where(lw.record_id == record_id)
            .order_by(lw.id)
        ):
            out.append(
                TimelineEvent(w.written_at, "lock_written", w.version, w.lock_id, w.peer_party)
            )
    out.sort(key=lambda e: e.at)
    return out


def recent_ingest(
    engine: Engine, *, limit: int = 100, outcomes: tuple[str, ...] = ()
) -> list[TimelineEvent]:
    """The latest ingest-log lines (every item read: stored, unchanged, rejected, refused),
    newest first, as events naming the record (``detail``: ``record_id``)."""
    il = ingest_log.c
    q = (
        select(
            il.id,
            il.at,
            il.outcome,
            il.reason,
            il.errors,
            il.version,
            il.record_id,
            il.source,
            il.position,
        )
        .order_by(il.id.desc())
        .limit(limit)
    )
    if outcomes:
        q = q.where(il.outcome.in_(outcomes))
    with translated("read the ingest log"), engine.connect() as conn:
        return [
            TimelineEvent(
                r.at,
                r.outcome,
                r.version,
                r.record_id or f"{r.source}:{r.position}",
                r.reason,
                _errors(r.errors),
            )
            for r in conn.execute(q)
        ]
