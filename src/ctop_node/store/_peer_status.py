"""The health of each peer (the ``peer_status`` table): a circuit that opens after failed
batches and closes when the peer answers. Reads and writes run on the caller's connection,
inside its transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ctop_node.store.schema import peer_status

CircuitState = Literal["closed", "open", "half_open"]


@dataclass(frozen=True, slots=True)
class PeerStatus:
    peer: str
    circuit: CircuitState
    consecutive_failures: int
    opened_until: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None

    def state_at(self, now: datetime) -> CircuitState:
        """``open`` turns ``half_open`` once its time is up: one trial batch may go."""
        if self.circuit == "open" and (self.opened_until is None or self.opened_until <= now):
            return "half_open"
        return self.circuit

    def allows(self, now: datetime) -> bool:
        return self.state_at(now) != "open"


def _closed(peer: str) -> PeerStatus:
    return PeerStatus(peer, "closed", 0, None, None, None, None)


def _upsert(conn: Connection, row: dict[str, Any]) -> None:
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(peer_status)
    stmt = ins.values(**row).on_conflict_do_update(
        index_elements=[peer_status.c.peer_party],
        set_={k: ins.excluded[k] for k in row if k != "peer_party"},
    )
    conn.execute(stmt)


def _status(r: Any) -> PeerStatus:
    return PeerStatus(
        peer=r.peer_party,
        circuit=r.circuit,
        consecutive_failures=int(r.consecutive_failures),
        opened_until=r.opened_until,
        last_success_at=r.last_success_at,
        last_failure_at=r.last_failure_at,
        last_error=r.last_error,
    )


def _row(s: PeerStatus) -> dict[str, Any]:
    return {
        "peer_party": s.peer,
        "circuit": s.circuit,
        "consecutive_failures": s.consecutive_failures,
        "opened_until": s.opened_until,
        "last_success_at": s.last_success_at,
        "last_failure_at": s.last_failure_at,
        "last_error": s.last_error,
    }


def read(conn: Connection, peer: str) -> PeerStatus:
    row = conn.execute(select(peer_status).where(peer_status.c.peer_party == peer)).first()
    return _closed(peer) if row is None else _status(row)


def read_all(conn: Connection) -> dict[str, PeerStatus]:
    rows = conn.execute(select(peer_status)).all()
    return {r.peer_party: _status(r) for r in rows}


def record_success(conn: Connection, peer: str, at: datetime) -> PeerStatus:
    """The peer answered a batch: the circuit closes and the failure count resets."""
    old = read(conn, peer)
    new = PeerStatus(peer, "closed", 0, None, at, old.last_failure_at, old.last_error)
    _upsert(conn, _row(new))
    return new


def record_failure(
    conn: Connection,
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
    old = read(conn, peer)
    failures = old.consecutive_failures + 1
    opens = failures >= failures_to_open or old.state_at(at) == "half_open"
    new = PeerStatus(
        peer,
        "open" if opens else old.circuit,
        failures,
        at + open_for if opens else old.opened_until,
        old.last_success_at,
        at,
        error,
    )
    _upsert(conn, _row(new))
    return new
