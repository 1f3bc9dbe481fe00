"""Channel choice at departure: which record versions the officer must write to smart locks.

Online is always attempted: Art.2 of the Protocol makes the lock an *additional* channel
("additionally ... via the carrier's smart lock"), every record to send has an outbox row,
and a record the carrier wants on the lock only still goes online, so the arrival node can
reconcile and the sender gets a signed RECEIPT. A record version is *pending for a lock* when
it has an outbox entry for a peer, has not been written to a lock for that peer yet, and

- the carrier asked for the lock (record ``channel`` = ``lock`` or ``both``), or
- **fallback**: its online delivery is still pending, the peer has been unreachable for at
  least ``lock_fallback_after_s`` (node.json, default 1800 s: the circuit is not closed or the
  last attempts failed, and the last success is older than the threshold), and the train has
  not crossed yet (``train.planned_crossing_at`` in the future).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ctop_node.config import NodeConfig
from ctop_node.lock.findings import declared_locks
from ctop_node.store import SqlStore
from ctop_node.store.outbox import PeerStatus


def fallback_after(config: NodeConfig) -> timedelta:
    return timedelta(seconds=config.node.lock_fallback_after_s)


@dataclass(frozen=True, slots=True)
class PendingLock:
    record_id: str
    version: int
    peer: str
    reason: str  # "carrier:lock" | "carrier:both" | "fallback"
    detail: str
    lock_ids: tuple[str, ...]
    containers: tuple[str, ...]
    crossing_at: str | None
    outbox_state: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "version": self.version,
            "peer": self.peer,
            "reason": self.reason,
            "detail": self.detail,
            "lock_ids": list(self.lock_ids),
            "containers": list(self.containers),
            "crossing_at": self.crossing_at,
            "outbox_state": self.outbox_state,
        }


def failing(status: PeerStatus | None, now: datetime) -> bool:
    """The peer's last attempts failed (circuit not closed, or failures since the last success)."""
    if status is None or status.last_failure_at is None:
        return False
    if status.last_success_at is not None and status.last_success_at >= status.last_failure_at:
        return False
    return status.state_at(now) != "closed" or status.consecutive_failures > 0


def pending_locks(
    store: SqlStore, *, now: datetime, fallback: timedelta, limit: int = 10_000
) -> list[PendingLock]:
    rows = store.lock_candidates(limit=limit)
    statuses = store.outbox_queue.peer_statuses()
    written = store.lock_reads.written([(r.record_id, r.version, r.peer_party) for r in rows])
    out: list[PendingLock] = []
    for r in rows:
        if (r.record_id, r.version, r.peer_party) in written:
            continue
        body = r.body
        channel = str(body.get("channel") or "online")
        crossing = (body.get("train") or {}).get("planned_crossing_at")
        if channel in ("lock", "both"):
            reason, detail = f"carrier:{channel}", f"the carrier asked for the {channel} channel"
        elif r.outbox_state == "pending":
            status = statuses.get(r.peer_party)
            if status is None or not failing(status, now):
                continue
            # Down since the last success, or (never reached) since we began trying this entry.
            down_from = status.last_success_at or r.queued_at
            if now - down_from < fallback or not _before(crossing, now):
                continue
            reason = "fallback"
            detail = (
                f"{r.peer_party} unreachable for {int((now - down_from).total_seconds())} s "
                f"(threshold {int(fallback.total_seconds())} s), train crosses {crossing}"
            )
        else:
            continue
        out.append(
            PendingLock(
                record_id=r.record_id,
                version=r.version,
                peer=r.peer_party,
                reason=reason,
                detail=detail,
                lock_ids=tuple(declared_locks(body)),
                containers=tuple(
                    str(c.get("number")) for c in body.get("containers") or [] if c.get("number")
                ),
                crossing_at=crossing,
                outbox_state=r.outbox_state,
            )
        )
    return out


def _before(crossing: Any, now: datetime) -> bool:
    if not isinstance(crossing, str):
        return False
    try:
        at = datetime.fromisoformat(crossing)
    except ValueError:
        return False
    return at.tzinfo is not None and at > now
