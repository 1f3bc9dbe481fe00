"""What operators ask the database: readings for ``/metrics`` and ``/readyz``, and the one
repair they may make by hand (dead outbox entries back to pending).

Every reading is one aggregate query, so a scrape costs the same whatever process wrote the
rows (``serve``, ``ingest``, ``lock read``) and survives a restart of the node.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Float, case, cast, extract, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from ctop_node.errors import StorageError
from ctop_node.store._engine import SQLITE_BEGIN, sqlite_path
from ctop_node.store._errors import translated
from ctop_node.store.schema import audit_checkpoints, audit_log, inbox, lock_reads, outbox

# Upper bounds (seconds) of the delivery latency buckets: queued -> the peer's receipt.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.1,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    1800.0,
    3600.0,
    6 * 3600.0,
)


@dataclass(frozen=True, slots=True)
class LatencyHistogram:
    """Cumulative counts per bucket bound (``LATENCY_BUCKETS``), plus the +Inf total."""

    peer: str
    buckets: tuple[int, ...]
    count: int
    sum_s: float


def _aware(value: datetime | str | None) -> datetime | None:
    """A bare MAX()/MIN() loses the column type on SQLite: read the stored text back."""
    if value is None or isinstance(value, datetime):
        return value
    at = datetime.fromisoformat(value)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


class OperationsQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ping(self) -> None:
        """``StorageError`` (``store.unavailable``) unless the node's database answers with
        its schema in place. A SQLite file removed under a running node still answers on an
        open connection, so its path is checked too."""
        path = sqlite_path(self.engine.url) if self.engine.dialect.name == "sqlite" else None
        if path is not None and not path.exists():
            raise StorageError(f"the database file {path} is gone", code="store.unavailable")
        with translated("reach the database"), self.engine.connect() as conn:
            conn.execute(select(outbox.c.id).limit(1)).all()

    def outbox_counts(self) -> dict[tuple[str, str], int]:
        """(peer, state) -> entries."""
        stmt = select(outbox.c.peer_party, outbox.c.state, func.count()).group_by(
            outbox.c.peer_party, outbox.c.state
        )
        with translated("count the outbox"), self.engine.connect() as conn:
            return {(str(p), str(s)): int(n) for p, s, n in conn.execute(stmt)}

    def oldest_pending(self) -> dict[str, datetime]:
        """peer -> when its oldest pending entry was queued (peers with nothing pending are
        absent)."""
        stmt = (
            select(outbox.c.peer_party, func.min(outbox.c.created_at))
            .where(outbox.c.state == "pending")
            .group_by(outbox.c.peer_party)
        )
        with translated("read the outbox age"), self.engine.connect() as conn:
            return {str(peer): at for peer, at in conn.execute(stmt) if at is not None}

    def final_failures(self) -> dict[tuple[str, str, str], int]:
        """(peer, state, code) -> entries rejected by the peer or given up (dead)."""
        code = func.coalesce(outbox.c.answer_code, "unknown")
        stmt = (
            select(outbox.c.peer_party, outbox.c.state, code, func.count())
            .where(outbox.c.state.in_(("rejected", "dead")))
            .group_by(outbox.c.peer_party, outbox.c.state, code)
        )
        with translated("count rejections"), self.engine.connect() as conn:
            return {(str(p), str(s), str(c)): int(n) for p, s, c, n in conn.execute(stmt)}

    def delivery_latency(self) -> list[LatencyHistogram]:
        """Per peer, how long delivered entries took from queueing to the peer's receipt."""
        seconds = self._seconds_between(outbox.c.created_at, outbox.c.delivered_at)
        # OFFSET 0 keeps the subquery from being merged into the outer one, so each row's
        # latency is computed once, not once per bucket (a third of the time on SQLite).
        rows = (
            select(outbox.c.peer_party.label("peer"), seconds.label("s"))
            .where(outbox.c.state == "delivered", outbox.c.delivered_at.is_not(None))
            .offset(0)
            .subquery()
        )
        last = len(LATENCY_BUCKETS)
        bucket = case(*[(rows.c.s <= b, i) for i, b in enumerate(LATENCY_BUCKETS)], else_=last)
        stmt = select(rows.c.peer, bucket, func.count(), func.sum(rows.c.s)).group_by(
            rows.c.peer, bucket
        )
        with translated("read delivery latencies"), self.engine.connect() as conn:
            found = conn.execute(stmt).all()
        per_peer: dict[str, list[float]] = {}
        for peer, index, n, total in found:
            acc = per_peer.setdefault(str(peer), [0.0] * (last + 2))
            acc[int(index)] += int(n)
            acc[last + 1] += float(total or 0.0)
        out = []
        for peer, acc in sorted(per_peer.items()):
            cumulative, running = [], 0
            for n in acc[:last]:
                running += int(n)
                cumulative.append(running)
            count = running + int(acc[last])
            out.append(LatencyHistogram(peer, tuple(cumulative), count, acc[last + 1]))
        return out

    def inbox_counts(self) -> dict[tuple[str, str, str], int]:
        """(sender Party, channel, state) -> messages received."""
        stmt = select(inbox.c.sender_party, inbox.c.channel, inbox.c.state, func.count()).group_by(
            inbox.c.sender_party, inbox.c.channel, inbox.c.state
        )
        with translated("count the inbox"), self.engine.connect() as conn:
            return {(str(p), str(c), str(s)): int(n) for p, c, s, n in conn.execute(stmt)}

    def lock_read_counts(self) -> dict[tuple[str, bool], int]:
        """(sender Party, tampered) -> lock readings stored."""
        stmt = select(lock_reads.c.sender_party, lock_reads.c.tampered, func.count()).group_by(
            lock_reads.c.sender_party, lock_reads.c.tampered
        )
        with translated("count lock readings"), self.engine.connect() as conn:
            return {(str(p), bool(t)): int(n) for p, t, n in conn.execute(stmt)}

    def audit_checkpoint_times(self) -> tuple[datetime | None, datetime | None]:
        """(when the last signed audit checkpoint was made, when the first audit entry was
        written): either is None when there is none."""
        last = select(func.max(audit_checkpoints.c.at)).scalar_subquery()
        first = select(func.min(audit_log.c.at)).scalar_subquery()
        with translated("read the audit checkpoints"), self.engine.connect() as conn:
            row = conn.execute(select(last.label("last"), first.label("first"))).one()
        return _aware(row.last), _aware(row.first)

    def requeue_dead(
        self, now: datetime, *, peer: str | None = None, ids: Sequence[int] = ()
    ) -> list[int]:
        """Dead entries (all, one peer's, or the given ids) back to pending, due at ``now``
        with their attempts reset; the sealed bytes are kept, so the same message id goes out
        again and the peer's idempotent inbox stores it once. Returns the ids requeued."""
        where = [outbox.c.state == "dead"]
        if peer is not None:
            where.append(outbox.c.peer_party == peer)
        if ids:
            where.append(outbox.c.id.in_(list(ids)))
        with translated("requeue dead outbox entries"), self.engine.connect() as conn:
            conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            conn.begin()
            found = [int(i) for i in conn.execute(select(outbox.c.id).where(*where)).scalars()]
            if found:
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(found), outbox.c.state == "dead")
                    .values(
                        state="pending",
                        attempts=0,
                        next_attempt_at=now,
                        delivered_at=None,
                        answer_code=None,
                    )
                )
            conn.commit()
        return found

    def _seconds_between(
        self, start: ColumnElement[datetime], end: ColumnElement[datetime]
    ) -> ColumnElement[float]:
        if self.engine.dialect.name == "sqlite":
            return cast((func.julianday(end) - func.julianday(start)) * 86400.0, Float)
        return cast(extract("epoch", end - start), Float)
