"""Withdrawing and cancelling our own record at every peer, inside a write transaction.

Used when the clearance system cancels a record (``ctop-node cancel``, the internal API) and
when a later version of a record must not travel (Art.6 refusal, or no longer applicable:
issue 8 finding 13). Per peer:

- every ``pending`` version is ``withdrawn``: the sender never sends it (again); so is every
  ``dead`` one (given up), which ``outbox requeue`` would otherwise send again;
- a CANCELLATION is queued (an outbox row of kind ``cancellation``) naming the version the
  peer is known to hold: the highest ``delivered`` one; failing that, the lowest withdrawn
  version that was already sealed (it may have reached the peer in a batch whose answer was
  lost: if it did not, the peer rejects the cancellation with ``exchange.unknown_record``,
  which harms nothing) or written to a smart lock for that peer (the lock carries it whatever
  the online channel does); nothing is queued when no version can have reached the peer;
- a peer that already has a cancellation of the record gets no second one.

Naming a version the peer holds (not the latest we stored) is what lets the receiver refuse
a cancellation of a version it never received, while a version in flight cannot make our
cancellation fail: the receiver accepts a cancellation of any version it has applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.engine import Connection

from ctop_node.store.schema import lock_writes, outbox, record_heads, records

CANCELLED = "cancelled"
RECORD = "record"
CANCELLATION = "cancellation"
MAX_REASON = 512  # the Cancellation payload's ``reason`` (model Text)
# Outbox states of a version that has not reached the peer and could still be sent: pending,
# and dead (given up, but ``outbox requeue`` puts it back to pending).
_WITHDRAWABLE = ("pending", "dead")


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """What cancelling one record did: versions withdrawn and cancellations queued, per peer."""

    record_id: str
    withdrawn: tuple[tuple[str, int], ...] = ()  # (peer, version) never to be sent
    cancellations: tuple[tuple[str, int], ...] = ()  # (peer, version named as cancelled)
    already: tuple[str, ...] = field(default_factory=tuple)  # peers cancelled before

    def as_dict(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "withdrawn": [{"peer": p, "version": v} for p, v in self.withdrawn],
            "cancellations": [{"peer": p, "version": v} for p, v in self.cancellations],
            "already_cancelled": list(self.already),
        }


def withdraw_and_cancel(
    conn: Connection,
    origin_party: str,
    record_id: str,
    reason: str,
    now: datetime,
    *,
    mark_head: bool,
) -> Withdrawal:
    """Withdraw pending versions of our record ``record_id`` and queue cancellations (see
    the module doc). The record's state becomes ``cancelled`` when a cancellation was
    queued (a peer may hold a version) or ``mark_head`` says so."""
    ours = and_(
        records.c.id == outbox.c.record_pk,
        records.c.origin_party == origin_party,
        records.c.direction == "out",
    )
    rows = conn.execute(
        select(
            outbox.c.id,
            outbox.c.peer_party,
            outbox.c.version,
            outbox.c.state,
            outbox.c.kind,
            outbox.c.message_id,
            outbox.c.record_pk,
        )
        .join(records, ours)
        .where(outbox.c.record_id == record_id)
        .order_by(outbox.c.id)
    ).all()
    withdrawn: list[tuple[str, int]] = []
    cancellations: list[tuple[str, int]] = []
    already: list[str] = []
    pks = _version_pks(conn, origin_party, record_id)
    locked = _lock_written(conn, record_id)
    for peer in sorted({r.peer_party for r in rows}):
        mine = [r for r in rows if r.peer_party == peer]
        if any(r.kind == CANCELLATION for r in mine):
            already.append(peer)
        pending = [r for r in mine if r.kind == RECORD and r.state in _WITHDRAWABLE]
        if pending:
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([r.id for r in pending]), outbox.c.state.in_(_WITHDRAWABLE))
                .values(state="withdrawn", last_error=f"withdrawn: {reason}"[:MAX_REASON])
            )
            withdrawn.extend((peer, int(r.version)) for r in pending)
        if peer in already:
            continue
        delivered = [int(r.version) for r in mine if r.kind == RECORD and r.state == "delivered"]
        sealed = [int(r.version) for r in pending if r.message_id is not None]
        sealed += [v for v in locked.get(peer, ()) if v in pks]
        target = max(delivered) if delivered else min(sealed) if sealed else None
        if target is None:
            continue
        conn.execute(
            outbox.insert(),
            {
                "record_pk": pks[target],
                "record_id": record_id,
                "version": target,
                "peer_party": peer,
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "kind": CANCELLATION,
                "reason": reason[:MAX_REASON],
            },
        )
        cancellations.append((peer, target))
    if mark_head or cancellations:
        conn.execute(
            update(record_heads)
            .where(
                record_heads.c.origin_party == origin_party,
                record_heads.c.record_id == record_id,
            )
            .values(outcome=CANCELLED, updated_at=now)
        )
    return Withdrawal(record_id, tuple(withdrawn), tuple(cancellations), tuple(already))


def _version_pks(conn: Connection, origin_party: str, record_id: str) -> dict[int, int]:
    stmt = select(records.c.version, records.c.id).where(
        records.c.origin_party == origin_party,
        records.c.record_id == record_id,
        records.c.direction == "out",
    )
    return {int(v): int(pk) for v, pk in conn.execute(stmt)}


def _lock_written(conn: Connection, record_id: str) -> dict[str, list[int]]:
    """The versions of ``record_id`` written to a smart lock, per peer (our writes only:
    arrival customs does not write locks)."""
    stmt = select(lock_writes.c.peer_party, lock_writes.c.version).where(
        lock_writes.c.record_id == record_id
    )
    out: dict[str, list[int]] = {}
    for peer, version in conn.execute(stmt):
        out.setdefault(str(peer), []).append(int(version))
    return out
