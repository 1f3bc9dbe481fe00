"""The transactional outbox as the sender sees it: what is due, what was sealed, how each
entry ended, and the health of each peer (``peer_status``).

Ingest writes one ``pending`` row per (record version, peer) in the same transaction as the
record (see ``sql.SqlStore.write_batch``). The sender then, per row:

1. seals the record version once and :meth:`Outbox.attach` es the message id and the sealed
   bytes, committed BEFORE sending: a crash after sealing never produces a second message id
   for the same entry, every retry sends the same bytes, and the receiver deduplicates;
2. settles it from the peer's answer: ``delivered`` (valid signed RECEIPT), ``rejected``
   (valid signed REJECTION, final, shown to the officer), ``pending`` again with a later
   ``next_attempt_at`` (retry), or ``dead`` (an error that retrying cannot cure).

One dispatcher per node: SQLite has no ``SELECT ... FOR UPDATE SKIP LOCKED`` (SQLAlchemy
silently drops it), so rows are not claimed; two senders on one database would send the same
entries twice (harmless for the receiver, which deduplicates by message id, but wasteful).
Write transactions begin IMMEDIATE on SQLite so that they queue behind other writers instead
of failing on a lock upgrade.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.engine import Connection, Engine

from ctop_node.store import _peer_status
from ctop_node.store._engine import SQLITE_BEGIN
from ctop_node.store._errors import translated
from ctop_node.store._outbox_types import Dead, Delivered, OutboxItem, Rejected, Retry, Settlement
from ctop_node.store._peer_status import CircuitState, PeerStatus
from ctop_node.store.schema import outbox, records

__all__ = [
    "CircuitState",
    "Dead",
    "Delivered",
    "Outbox",
    "OutboxItem",
    "PeerStatus",
    "Rejected",
    "Retry",
    "Settlement",
]


_ITEM_COLUMNS = (
    outbox.c.id,
    outbox.c.record_pk,
    outbox.c.record_id,
    outbox.c.version,
    outbox.c.peer_party,
    outbox.c.attempts,
    outbox.c.message_id,
    outbox.c.message,
    outbox.c.kind,
    outbox.c.reason,
    records.c.tc_version,
    records.c.digest,
    records.c.body,
)
_LOOKUP_CHUNK = 1000
_PENDING = outbox.c.state == "pending"


def _b(name: str) -> Any:
    return bindparam(f"b_{name}")


# Each settlement touches only rows still pending: a late duplicate answer never moves a
# delivered or rejected entry back.
_WHERE = and_(outbox.c.id == _b("id"), _PENDING)
_SETTLE = {
    Delivered: update(outbox)
    .where(_WHERE)
    .values(
        state="delivered",
        attempts=outbox.c.attempts + 1,
        answer=_b("answer"),
        answer_code=None,
        last_error=None,
        delivered_at=bindparam("b_at", type_=outbox.c.delivered_at.type),
        sent_at=bindparam("b_sent", type_=outbox.c.sent_at.type),
    ),
    Rejected: update(outbox)
    .where(_WHERE)
    .values(
        state="rejected",
        attempts=outbox.c.attempts + 1,
        answer=_b("answer"),
        answer_code=_b("code"),
        last_error=_b("error"),
        delivered_at=bindparam("b_at", type_=outbox.c.delivered_at.type),
        sent_at=bindparam("b_sent", type_=outbox.c.sent_at.type),
    ),
    Retry: update(outbox)
    .where(_WHERE)
    .values(
        attempts=outbox.c.attempts + 1,
        last_error=_b("error"),
        next_attempt_at=bindparam("b_next", type_=outbox.c.next_attempt_at.type),
        sent_at=func.coalesce(bindparam("b_sent", type_=outbox.c.sent_at.type), outbox.c.sent_at),
    ),
    Dead: update(outbox)
    .where(_WHERE)
    .values(
        state="dead",
        attempts=outbox.c.attempts + 1,
        answer_code=_b("code"),
        last_error=_b("error"),
        delivered_at=bindparam("b_at", type_=outbox.c.delivered_at.type),
    ),
}


def _params(s: Settlement) -> dict[str, Any]:
    if isinstance(s, Delivered):
        return {"b_id": s.outbox_id, "b_answer": s.answer, "b_at": s.at, "b_sent": s.at}
    if isinstance(s, Rejected):
        return {
            "b_id": s.outbox_id,
            "b_answer": s.answer,
            "b_code": s.code[:64],
            "b_error": s.message,
            "b_at": s.at,
            "b_sent": s.at,
        }
    if isinstance(s, Retry):
        return {
            "b_id": s.outbox_id,
            "b_error": s.error,
            "b_next": s.next_attempt_at,
            "b_sent": s.sent_at,
        }
    return {"b_id": s.outbox_id, "b_code": s.code[:64], "b_error": s.error, "b_at": s.at}


class Outbox:
    """The sender's view of the ``outbox`` and ``peer_status`` tables (see module doc)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _writing(self, action: str) -> Iterator[Connection]:
        with translated(action), self.engine.connect() as conn:
            conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            with conn.begin():
                yield conn

    # -- what to send ----------------------------------------------------------------------

    def peers_due(self, now: datetime) -> list[str]:
        """Peers with at least one pending entry due at ``now``."""
        stmt = (
            select(outbox.c.peer_party)
            .where(_PENDING, outbox.c.next_attempt_at <= now)
            .distinct()
            .order_by(outbox.c.peer_party)
        )
        with translated("read the outbox"), self.engine.connect() as conn:
            return [str(p) for p in conn.execute(stmt).scalars()]

    def peers(self) -> list[str]:
        """Every peer that has outbox entries, in any state."""
        stmt = select(outbox.c.peer_party).distinct().order_by(outbox.c.peer_party)
        with translated("read the outbox"), self.engine.connect() as conn:
            return [str(p) for p in conn.execute(stmt).scalars()]

    def due(self, peer: str, limit: int, now: datetime, *, after: int = 0) -> list[OutboxItem]:
        """Pending entries for ``peer`` due at ``now``, oldest first (insertion order = each
        record's version order), leaving out every version of a record whose earlier
        pending version is not due yet: versions never overtake each other. ``after``: only
        entries with a greater id (the ones up to it are in flight)."""
        # From a cursor, walk the primary key from it: the (state, next_attempt_at) index
        # would read and sort EVERY due row per batch (quadratic over a 100,000 backlog).
        # Wrapping the state in coalesce keeps SQLite off that index; same rows either way.
        pending = _PENDING if after == 0 else func.coalesce(outbox.c.state, "") == "pending"
        base = (
            select(*_ITEM_COLUMNS)
            .join(records, records.c.id == outbox.c.record_pk)
            .where(pending, outbox.c.peer_party == peer, outbox.c.next_attempt_at <= now)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        items: list[OutboxItem] = []
        # Page on: rows held back must not starve the entries queued behind them.
        with translated("read the due outbox entries"), self.engine.connect() as conn:
            while len(items) < limit:
                rows = conn.execute(base.where(outbox.c.id > after)).all()
                if not rows:
                    break
                after = int(rows[-1].id)
                held = self._held_back(conn, peer, now, {r.record_id for r in rows})
                for r in rows:
                    blocker = held.get(r.record_id)
                    if blocker is None or blocker >= r.version:
                        items.append(_item(r))
                if len(rows) < limit:
                    break
        return items[:limit]

    @staticmethod
    def _held_back(
        conn: Connection, peer: str, now: datetime, record_ids: set[str]
    ) -> dict[str, int]:
        """Per record id: its lowest pending version that is NOT due (backed off)."""
        held: dict[str, int] = {}
        wanted = sorted(record_ids)
        for start in range(0, len(wanted), _LOOKUP_CHUNK):
            stmt = (
                select(outbox.c.record_id, func.min(outbox.c.version))
                .where(_PENDING, outbox.c.peer_party == peer, outbox.c.next_attempt_at > now)
                .where(outbox.c.record_id.in_(wanted[start : start + _LOOKUP_CHUNK]))
                .group_by(outbox.c.record_id)
            )
            held.update({str(rid): int(v) for rid, v in conn.execute(stmt)})
        return held

    # -- sealing ---------------------------------------------------------------------------

    def attach(self, sealed: Sequence[tuple[int, str, bytes]]) -> dict[int, tuple[str, bytes]]:
        """Store ``(outbox_id, message_id, sealed bytes)`` once per entry, in one transaction.

        An entry that already has a message keeps it. Returns what is stored for each id
        afterwards: send exactly that.
        """
        if not sealed:
            return {}
        stmt = (
            update(outbox)
            .where(outbox.c.id == _b("id"), outbox.c.message_id.is_(None))
            .values(message_id=_b("mid"), message=_b("msg"))
        )
        ids = [oid for oid, _, _ in sealed]
        with self._writing("store sealed messages") as conn:
            conn.execute(stmt, [{"b_id": o, "b_mid": m, "b_msg": b} for o, m, b in sealed])
            stored: dict[int, tuple[str, bytes]] = {}
            for start in range(0, len(ids), _LOOKUP_CHUNK):
                sel = select(outbox.c.id, outbox.c.message_id, outbox.c.message).where(
                    outbox.c.id.in_(ids[start : start + _LOOKUP_CHUNK])
                )
                for oid, mid, msg in conn.execute(sel):
                    stored[int(oid)] = (str(mid), bytes(msg))
        return stored

    def reseal(
        self, resealed: Sequence[tuple[int, str, str, bytes]]
    ) -> dict[int, tuple[str, bytes]]:
        """Replace ``(outbox_id, old message id, new message id, new bytes)`` of pending
        entries whose sealed message grew too old for the peer's clock-skew check; returns
        what is stored for each id afterwards. The receiver recognises the content under
        the new id (a ``duplicate`` receipt when the old message did arrive)."""
        if not resealed:
            return {}
        stmt = (
            update(outbox)
            .where(outbox.c.id == _b("id"), outbox.c.message_id == _b("old"), _PENDING)
            .values(message_id=_b("mid"), message=_b("msg"))
        )
        params = [{"b_id": o, "b_old": old, "b_mid": m, "b_msg": b} for o, old, m, b in resealed]
        ids = [r[0] for r in resealed]
        with self._writing("store resealed messages") as conn:
            conn.execute(stmt, params)
            sel = select(outbox.c.id, outbox.c.message_id, outbox.c.message).where(
                outbox.c.id.in_(ids)
            )
            return {int(o): (str(m), bytes(b)) for o, m, b in conn.execute(sel)}

    def attach_message(self, outbox_id: int, message_id: str, sealed: bytes) -> tuple[str, bytes]:
        return self.attach([(outbox_id, message_id, sealed)])[outbox_id]

    # -- settling --------------------------------------------------------------------------

    def settle(
        self,
        settlements: Sequence[Settlement],
        *,
        success: tuple[str, datetime] | None = None,
    ) -> None:
        """Apply the outcome of a batch in one transaction; ``success=(peer, at)`` also
        records that the peer answered the batch (:meth:`record_success`) in it."""
        if not settlements and success is None:
            return
        groups: dict[type, list[dict[str, Any]]] = {}
        for s in settlements:
            groups.setdefault(type(s), []).append(_params(s))
        with self._writing("settle outbox entries") as conn:
            if success is not None:
                _peer_status.record_success(conn, *success)
            for kind, params in groups.items():
                conn.execute(_SETTLE[kind], params)

    def mark_delivered(self, outbox_id: int, answer: bytes, at: datetime) -> None:
        self.settle([Delivered(outbox_id, answer, at)])

    def mark_rejected(
        self, outbox_id: int, answer: bytes, code: str, at: datetime, message: str = ""
    ) -> None:
        self.settle([Rejected(outbox_id, answer, code, message, at)])

    def mark_retry(
        self,
        outbox_id: int,
        error: str,
        next_attempt_at: datetime,
        *,
        sent_at: datetime | None = None,
    ) -> None:
        self.settle([Retry(outbox_id, error, next_attempt_at, sent_at)])

    def mark_dead(self, outbox_id: int, code: str, error: str, at: datetime) -> None:
        self.settle([Dead(outbox_id, code, error, at)])

    # -- figures for status ----------------------------------------------------------------

    def depth(self, peer: str | None = None) -> int:
        stmt = select(func.count()).select_from(outbox).where(_PENDING)
        if peer is not None:
            stmt = stmt.where(outbox.c.peer_party == peer)
        with translated("count the outbox"), self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def oldest_pending_age(self, peer: str | None, now: datetime) -> float | None:
        """Seconds since the oldest pending entry was queued; None when nothing is pending."""
        stmt = select(func.min(outbox.c.created_at)).where(_PENDING)
        if peer is not None:
            stmt = stmt.where(outbox.c.peer_party == peer)
        with translated("read the outbox age"), self.engine.connect() as conn:
            oldest: datetime | None = conn.execute(stmt).scalar_one()
        if oldest is None:
            return None
        return max(0.0, (now - oldest).total_seconds())

    def last_delivery(self, peer: str | None = None) -> datetime | None:
        stmt = select(func.max(outbox.c.delivered_at)).where(outbox.c.state == "delivered")
        if peer is not None:
            stmt = stmt.where(outbox.c.peer_party == peer)
        with translated("read the last delivery"), self.engine.connect() as conn:
            value: datetime | None = conn.execute(stmt).scalar_one()
        return value

    def counts(self, peer: str | None = None) -> dict[str, int]:
        """Entries per state (pending, delivered, rejected, dead, withdrawn)."""
        stmt = select(outbox.c.state, func.count()).group_by(outbox.c.state)
        if peer is not None:
            stmt = stmt.where(outbox.c.peer_party == peer)
        with translated("count the outbox"), self.engine.connect() as conn:
            found = {str(s): int(n) for s, n in conn.execute(stmt)}
        states = ("pending", "delivered", "rejected", "dead", "withdrawn")
        return {s: found.get(s, 0) for s in states} | found

    def rejections(
        self, limit: int = 20, *, states: Sequence[str] = ("rejected",)
    ) -> list[dict[str, Any]]:
        """The latest final failures, newest first: record, version, peer, code, message."""
        stmt = (
            select(
                outbox.c.id,
                outbox.c.record_id,
                outbox.c.version,
                outbox.c.peer_party,
                outbox.c.state,
                outbox.c.kind,
                outbox.c.message_id,
                outbox.c.answer_code,
                outbox.c.last_error,
                outbox.c.delivered_at,
            )
            .where(outbox.c.state.in_(list(states)))
            .order_by(outbox.c.delivered_at.desc(), outbox.c.id.desc())
            .limit(limit)
        )
        with translated("read rejections"), self.engine.connect() as conn:
            return [
                {
                    "outbox_id": int(r.id),
                    "record_id": r.record_id,
                    "version": int(r.version),
                    "peer": r.peer_party,
                    "state": r.state,
                    "kind": r.kind,  # "record", or "cancellation" of that version
                    "message_id": r.message_id,
                    "code": r.answer_code,
                    "message": r.last_error,
                    "at": r.delivered_at,
                }
                for r in conn.execute(stmt)
            ]

    def entry(self, outbox_id: int) -> dict[str, Any] | None:
        """One outbox row as stored (all columns), for checks and tools."""
        with translated("read an outbox entry"), self.engine.connect() as conn:
            row = conn.execute(select(outbox).where(outbox.c.id == outbox_id)).first()
        return None if row is None else dict(row._mapping)

    # -- peer health (circuit) -------------------------------------------------------------

    def circuit(self, peer: str) -> PeerStatus:
        with translated("read the peer status"), self.engine.connect() as conn:
            return _peer_status.read(conn, peer)

    def peer_statuses(self) -> dict[str, PeerStatus]:
        with translated("read the peer status"), self.engine.connect() as conn:
            return _peer_status.read_all(conn)

    def record_success(self, peer: str, at: datetime) -> PeerStatus:
        """The peer answered a batch: the circuit closes and the failure count resets."""
        with self._writing("record a peer success") as conn:
            return _peer_status.record_success(conn, peer, at)

    def record_failure(
        self,
        peer: str,
        error: str,
        at: datetime,
        open_for: timedelta,
        *,
        failures_to_open: int = 1,
    ) -> PeerStatus:
        """A whole batch failed: count it; the circuit opens for ``open_for`` once
        ``failures_to_open`` consecutive failures are reached, or at once when the failed
        batch was the trial of a half-open circuit."""
        with self._writing("record a peer failure") as conn:
            return _peer_status.record_failure(
                conn, peer, error, at, open_for, failures_to_open=failures_to_open
            )


def _item(r: Any) -> OutboxItem:
    return OutboxItem(
        id=int(r.id),
        record_pk=int(r.record_pk),
        record_id=r.record_id,
        version=int(r.version),
        peer=r.peer_party,
        attempts=int(r.attempts),
        tc_version=int(r.tc_version),
        digest=r.digest,
        body=bytes(r.body),
        message_id=r.message_id,
        message=None if r.message is None else bytes(r.message),
        kind=r.kind,
        reason=r.reason,
    )
