"""What an operator needs to see of the online channel, read from the database only (so it
works while ``serve`` runs in another process): per peer the outbox depth and age, the last
delivery and the circuit; totals; the latest rejections and dead entries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ctop_node.store import SqlStore

STATES = ("pending", "delivered", "rejected", "dead", "withdrawn")


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def node_status(
    store: SqlStore,
    party: str,
    now: datetime,
    *,
    peers: Iterable[str] = (),
    rejections: int = 20,
) -> dict[str, Any]:
    """A JSON-ready summary. ``peers`` adds configured peers that have no traffic yet."""
    box = store.outbox_queue
    circuits = box.peer_statuses()
    names = sorted(set(peers) | set(circuits) | set(box.peers()))
    per_peer: dict[str, Any] = {}
    for peer in names:
        counts = box.counts(peer)
        status = circuits.get(peer)
        age = box.oldest_pending_age(peer, now)
        per_peer[peer] = {
            "outbox_depth": counts["pending"],
            "oldest_pending_age_s": None if age is None else round(age, 3),
            "last_delivery": _iso(box.last_delivery(peer)),
            "circuit": "closed" if status is None else status.state_at(now),
            "consecutive_failures": 0 if status is None else status.consecutive_failures,
            "opened_until": None if status is None else _iso(status.opened_until),
            "last_success": None if status is None else _iso(status.last_success_at),
            "last_failure": None if status is None else _iso(status.last_failure_at),
            "last_error": None if status is None else status.last_error,
            "delivered": counts["delivered"],
            "rejected": counts["rejected"],
            "dead": counts["dead"],
            "withdrawn": counts["withdrawn"],  # taken back before delivery, never sent
        }
    totals = box.counts()
    recent = box.rejections(rejections, states=("rejected", "dead"))
    return {
        "party": party,
        "at": now.isoformat(),
        "peers": per_peer,
        "totals": {s: totals.get(s, 0) for s in STATES},
        "rejections": [
            {
                "record_id": r["record_id"],
                "version": r["version"],
                "peer": r["peer"],
                "state": r["state"],
                "kind": r["kind"],
                "code": r["code"],
                "message": r["message"],
                "message_id": r["message_id"],
                "at": _iso(r["at"]),
            }
            for r in recent
        ],
    }
