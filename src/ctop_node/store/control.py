"""Control results in the store: what our arrival officers recorded about a peer's record (and
its way back to that Party), and what a peer's customs found about one of our records.

``direction='out'`` rows are their own small outbox: the sender (``online.control_sender``)
seals each once (message id and bytes committed before sending, like ``outbox``), sends it
to the record's origin Party and settles it from the answer. ``direction='in'`` rows are
written by the inbox, in the transaction that stores the CONTROL_RESULT message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Connection, Engine, Row

from ctop_node.model.canonical import canonical_bytes
from ctop_node.model.messages import ControlResult
from ctop_node.store._errors import translated
from ctop_node.store.schema import control_results, record_heads

__all__ = ["ControlRow", "ControlStore", "insert_received"]


@dataclass(frozen=True, slots=True)
class ControlRow:
    id: int
    direction: str
    origin_party: str
    record_id: str
    version: int
    peer_party: str
    decision: str | None
    result: ControlResult
    recorded_by: str | None
    recorded_at: datetime
    state: str
    attempts: int
    last_error: str | None
    message_id: str | None
    message: bytes | None
    delivered_at: datetime | None


def _row(r: Row[Any]) -> ControlRow:
    return ControlRow(
        id=r.id,
        direction=r.direction,
        origin_party=r.origin_party,
        record_id=r.record_id,
        version=r.version,
        peer_party=r.peer_party,
        decision=r.decision,
        result=ControlResult.model_validate(orjson.loads(r.payload)),
        recorded_by=r.recorded_by,
        recorded_at=r.recorded_at,
        state=r.state,
        attempts=r.attempts,
        last_error=r.last_error,
        message_id=r.message_id,
        message=r.message,
        delivered_at=r.delivered_at,
    )


def _decision(result: ControlResult) -> str | None:
    if result.decision is not None:
        return result.decision
    return "released" if result.released else None


def insert_received(
    conn: Connection, sender: str, origin: str, result: ControlResult, now: datetime
) -> None:
    """Store a CONTROL_RESULT a peer sent about our record (inside the inbox transaction)."""
    conn.execute(
        control_results.insert(),
        {
            "direction": "in",
            "origin_party": origin,
            "record_id": result.record_id,
            "version": result.version,
            "peer_party": sender,
            "decision": _decision(result),
            "payload": canonical_bytes(result),
            "recorded_by": None,
            "recorded_at": now,
            "state": "received",
            "attempts": 0,
        },
    )


class ControlStore:
    """Control results over the store's engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.generation = 0  # bumped by every result recorded through this object

    def record(
        self, result: ControlResult, *, origin_party: str, recorded_by: str, now: datetime
    ) -> int:
        """Keep a control result recorded here about ``origin_party``'s record, due to be
        sent to that Party at once."""
        with translated("record a control result"), self.engine.begin() as conn:
            pk = conn.execute(
                control_results.insert().returning(control_results.c.id),
                {
                    "direction": "out",
                    "origin_party": origin_party,
                    "record_id": result.record_id,
                    "version": result.version,
                    "peer_party": origin_party,
                    "decision": _decision(result),
                    "payload": canonical_bytes(result),
                    "recorded_by": recorded_by,
                    "recorded_at": now,
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                },
            ).scalar_one()
        self.generation += 1
        return int(pk)

    def for_record(self, origin_party: str, record_id: str) -> list[ControlRow]:
        """Every control result about a record, oldest first."""
        c = control_results.c
        q = (
            select(control_results)
            .where(c.origin_party == origin_party, c.record_id == record_id)
            .order_by(c.id)
        )
        with translated("read control results"), self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(q)]

    def get(self, pk: int) -> ControlRow | None:
        q = select(control_results).where(control_results.c.id == pk)
        with translated("read a control result"), self.engine.connect() as conn:
            r = conn.execute(q).first()
        return _row(r) if r is not None else None

    def decisions(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
        """The latest decision per (origin Party, record id) that has a control result."""
        c = control_results.c
        out: dict[tuple[str, str], str | None] = {}
        with translated("read control decisions"), self.engine.connect() as conn:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                rids = sorted({rid for _, rid in chunk})
                q = (
                    select(c.origin_party, c.record_id, c.decision)
                    .where(c.record_id.in_(rids))
                    .order_by(c.id)
                )
                wanted = set(chunk)
                for r in conn.execute(q):
                    if (r.origin_party, r.record_id) in wanted:
                        out[(r.origin_party, r.record_id)] = r.decision
        return out

    def latest_decisions(self) -> dict[tuple[str, str], str | None]:
        """The latest decision of every record that has a control result."""
        c = control_results.c
        q = select(c.origin_party, c.record_id, c.decision).order_by(c.id)
        with translated("read control decisions"), self.engine.connect() as conn:
            return {(r.origin_party, r.record_id): r.decision for r in conn.execute(q)}

    def listed(
        self, *, direction: str | None = None, after: int = 0, limit: int = 100
    ) -> list[ControlRow]:
        c = control_results.c
        q = select(control_results).where(c.id > after).order_by(c.id).limit(limit)
        if direction is not None:
            q = q.where(c.direction == direction)
        with translated("list control results"), self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(q)]

    # -- the way back to the origin Party -----------------------------------------------

    def due(self, now: datetime, limit: int = 100) -> list[ControlRow]:
        c = control_results.c
        q = (
            select(control_results)
            .where(
                c.direction == "out",
                c.state == "pending",
                or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now),
            )
            .order_by(c.id)
            .limit(limit)
        )
        with translated("read due control results"), self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(q)]

    def attach(self, pk: int, message_id: str, message: bytes) -> None:
        """Keep the sealed message before it is sent: every retry sends the same bytes."""
        c = control_results.c
        q = (
            update(control_results)
            .where(and_(c.id == pk, c.message_id.is_(None)))
            .values(message_id=message_id, message=message)
        )
        with translated("seal a control result"), self.engine.begin() as conn:
            conn.execute(q)

    def settle(
        self,
        pk: int,
        state: str,
        at: datetime,
        *,
        answer: bytes | None = None,
        code: str | None = None,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        """``delivered``/``rejected``/``dead`` (final) or ``pending`` again (a retry)."""
        c = control_results.c
        values: dict[str, object] = {
            "state": state,
            "attempts": c.attempts + 1,
            "last_error": error,
            "answer_code": code[:64] if code else None,
        }
        if answer is not None:
            values["answer"] = answer
        if state == "pending":
            values["next_attempt_at"] = next_attempt_at
        else:
            values["delivered_at"] = at
        q = update(control_results).where(c.id == pk, c.state == "pending").values(**values)
        with translated("settle a control result"), self.engine.begin() as conn:
            conn.execute(q)

    def cancelled_at(self, origin_party: str, record_id: str) -> datetime | None:
        """When the record was cancelled (its head's last change), or None."""
        h = record_heads.c
        q = select(h.updated_at).where(
            h.origin_party == origin_party, h.record_id == record_id, h.outcome == "cancelled"
        )
        with translated("read a cancellation"), self.engine.connect() as conn:
            at = conn.execute(q).scalar_one_or_none()
        return at if isinstance(at, datetime) else None
