"""The store's aggregates for the working-group report (Art.5) and the signed manifest.

Every figure is a GROUP BY in the database: the report reads counts and histograms, never
one row per message, so its memory stays flat at any volume. Durations are grouped into
buckets (seconds for exchange times, minutes for margins to the planned crossing) from
which ``reports/`` reads median, p90 and p99. The scans read only columns that covering
indexes hold (revision 0010): never a record body, a sealed message or an answer. Days and
durations come from generated integer columns (revision 0013): the day of each time and its
epoch milliseconds; the volume queries group by index columns in index order, so SQLite
streams the groups off the index instead of sorting the period's entries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

import orjson
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.engine import Engine

from ctop_node.store._errors import translated
from ctop_node.store.schema import (
    inbox,
    ingest_log,
    lock_reads,
    lock_writes,
    outbox,
    record_heads,
    records,
)

# Bucket widths: exchange times to the second, margins before the planned crossing (hours
# or days) to the minute; the number of groups follows the spread of times, not the volume.
_SECOND, _MINUTE = 1, 60
_EPOCH = date(1970, 1, 1)
_DAY_S = 86400


def _day_number(at: datetime) -> int:
    """The UTC day of ``at`` as the generated ``*_day`` columns hold it."""
    return int(at.timestamp() // _DAY_S)


def _iso_day(n: int) -> str:
    return (_EPOCH + timedelta(days=int(n))).isoformat()


class OutboundRow(NamedTuple):
    day: str
    crossing: str | None
    tc_version: int
    outcome: str
    reason: str
    wish: str
    n: int


class OutboxRow(NamedTuple):
    day: str
    peer_party: str
    state: str
    answer_code: str | None
    n: int
    attempts: int


class InboundRow(NamedTuple):
    day: str
    sender_party: str
    tc_version: int
    type: str
    channel: str
    state: str
    answer_type: str
    n: int


class ReceivedRow(NamedTuple):
    day: str
    origin_party: str
    crossing: str | None
    tc_version: int
    n: int


def _whole_days(p: Period) -> bool:
    return all(t.timestamp() % _DAY_S == 0 for t in (p.start, p.end))


def _in_period(day: Any, at: Any, p: Period) -> ColumnElement[bool]:
    """``at`` in ``p``, bounded on its generated day column: the day range is what the
    report indexes seek on (their leading column). The times are compared too only when
    the period does not start and end at midnight UTC (the report's periods do)."""
    if _whole_days(p):
        return and_(day >= _day_number(p.start), day < _day_number(p.end))
    return and_(
        day >= _day_number(p.start),
        day <= _day_number(p.end),
        at >= p.start,
        at < p.end,
    )


_Key = TypeVar("_Key", bound=tuple[Any, ...])


def _by_key(found: Counter[_Key]) -> list[_Key]:
    return sorted(found, key=lambda k: tuple("" if v is None else v for v in k))


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class ManifestEntry:
    """One message as the manifest lists it (no record content: ids, versions, digests)."""

    direction: str  # 'out' (we sent) | 'in' (we hold)
    party: str  # the peer (out) or the sender (in)
    record_id: str
    version: int
    digest: str
    channel: str  # 'online' | 'lock' | 'both'
    message_id: str | None
    at: datetime | None


class ReportQueries:
    """Mixed into :class:`ctop_node.store.sql.SqlStore`."""

    engine: Engine

    # -- dialect helpers ---------------------------------------------------------------------

    @property
    def _pg(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def _day(self, col: Any) -> ColumnElement[Any]:
        # The ingest log has no generated day column: its report rows are refusals only.
        if self._pg:
            return func.to_char(func.timezone("UTC", col), "YYYY-MM-DD")
        return func.substr(cast(col, String), 1, 10)

    def _epoch(self, col: Any) -> ColumnElement[Any]:
        """Seconds since the epoch of a stored time (a column) as a float."""
        if self._pg:
            return func.extract("epoch", col)
        return (func.julianday(col) - 2440587.5) * 86400.0

    @staticmethod
    def _bucket(millis: ColumnElement[Any], width: int) -> ColumnElement[Any]:
        """The ``width``-second bucket of a duration in milliseconds (nearest, in seconds)."""
        return cast(func.round(millis / (1000.0 * width)), BigInteger) * width

    def _rows(self, stmt: Any, action: str) -> list[Any]:
        with translated(action), self.engine.connect() as conn:
            return list(conn.execute(stmt))

    # -- volumes -------------------------------------------------------------------------------

    def _lock_written(self) -> ColumnElement[bool]:
        return exists().where(
            lock_writes.c.record_id == records.c.record_id,
            lock_writes.c.version == records.c.version,
        )

    def report_outbound(self, p: Period) -> list[OutboundRow]:
        """Our record versions stored in the period, by day, crossing point, tc version,
        outcome and reason, and the carrier's channel wish (records only: no join)."""
        # Grouped by index columns only (origin_party too: it sits between them in the
        # index, and is ours on every 'out' row); the wish's default is merged here.
        cols = (
            records.c.created_day,
            records.c.crossing_point,
            records.c.tc_version,
            records.c.origin_party,
            records.c.outcome,
            records.c.reason,
            records.c.channel_wish,
        )
        stmt = (
            select(*cols, func.count())
            .where(
                records.c.direction == "out",
                _in_period(records.c.created_day, records.c.created_at, p),
            )
            .group_by(*cols)
        )
        found: Counter[tuple[str, str | None, int, str, str, str]] = Counter()
        for day, crossing, tc, _origin, outcome, reason, wish, n in self._rows(
            stmt, "count our records for the report"
        ):
            found[(_iso_day(day), crossing, int(tc), outcome, reason, wish or "online")] += n
        return [OutboundRow(*k, found[k]) for k in _by_key(found)]

    def report_outbox(self, p: Period) -> list[OutboxRow]:
        """Outbox entries queued in the period (queued in the transaction that stored the
        record), by day, peer, state and answer code, with their attempts (outbox only)."""
        cols = (outbox.c.created_day, outbox.c.peer_party, outbox.c.state, outbox.c.answer_code)
        stmt = (
            select(*cols, func.count(), func.sum(outbox.c.attempts))
            .where(_in_period(outbox.c.created_day, outbox.c.created_at, p))
            .group_by(*cols)
            .order_by(*cols)
        )
        return [
            OutboxRow(_iso_day(day), peer, state, code, int(n), int(attempts or 0))
            for day, peer, state, code, n, attempts in self._rows(
                stmt, "count outbox entries for the report"
            )
        ]

    def report_lock_channel(self, p: Period, party: str) -> list[Any]:
        """Our record versions of the period written to a lock, by the carrier's channel wish
        and whether an online copy reached the peer too (few rows: driven by lock_writes)."""
        online = outbox.c.state.in_(("delivered", "rejected"))
        cols = (
            func.coalesce(records.c.channel_wish, "online").label("wish"),
            case((online, "both"), else_="lock").label("channel"),
        )
        written = (
            select(lock_writes.c.record_id, lock_writes.c.version, lock_writes.c.peer_party)
            .distinct()
            .subquery()
        )
        stmt = (
            select(*cols, func.count().label("n"))
            .select_from(
                written.join(
                    records,
                    and_(
                        records.c.origin_party == party,
                        records.c.record_id == written.c.record_id,
                        records.c.version == written.c.version,
                    ),
                ).outerjoin(
                    outbox,
                    and_(
                        outbox.c.record_pk == records.c.id,
                        outbox.c.peer_party == written.c.peer_party,
                    ),
                )
            )
            .where(records.c.created_at >= p.start, records.c.created_at < p.end)
            .group_by(*cols)
        )
        return self._rows(stmt, "count lock deliveries for the report")

    def report_ingest(self, p: Period) -> list[Any]:
        """Ingest outcomes of the period that never became a stored record (refused at
        ingest under Art.6, rejected by the technical conditions), by day, outcome, reason."""
        cols = (self._day(ingest_log.c.at).label("day"), ingest_log.c.outcome, ingest_log.c.reason)
        stmt = (
            select(*cols, func.count().label("n"))
            .where(
                ingest_log.c.outcome.in_(("refused", "rejected")),
                ingest_log.c.at >= p.start,
                ingest_log.c.at < p.end,
            )
            .group_by(*cols)
        )
        return self._rows(stmt, "count refused records for the report")

    def report_inbound(self, p: Period) -> list[InboundRow]:
        """Messages received in the period, by day, sender, type, channel, state, answer."""
        cols = (
            inbox.c.received_day,
            inbox.c.sender_party,
            inbox.c.tc_version,
            inbox.c.type,
            inbox.c.channel,
            inbox.c.state,
            inbox.c.answer_type,
        )
        stmt = (
            select(*cols, func.count())
            .where(_in_period(inbox.c.received_day, inbox.c.received_at, p))
            .group_by(*cols)
            .order_by(*cols)
        )
        return [
            InboundRow(_iso_day(r[0]), *r[1:])
            for r in self._rows(stmt, "count received messages for the report")
        ]

    def report_received_records(self, p: Period) -> list[ReceivedRow]:
        """Record versions we stored from peers in the period, by day, sender, crossing
        point and tc version."""
        cols = (
            records.c.created_day,
            records.c.crossing_point,
            records.c.tc_version,
            records.c.origin_party,
        )
        stmt = (
            select(*cols, func.count())
            .where(
                records.c.direction == "in",
                _in_period(records.c.created_day, records.c.created_at, p),
            )
            .group_by(*cols)
            .order_by(*cols)
        )
        return [
            ReceivedRow(_iso_day(day), origin, crossing, int(tc), int(n))
            for day, crossing, tc, origin, n in self._rows(
                stmt, "count received records for the report"
            )
        ]

    # -- timeliness ----------------------------------------------------------------------------

    def report_durations(
        self, p: Period, names: Sequence[str] | None = None
    ) -> dict[str, list[tuple[int, int]]]:
        """Histograms ``[(bucket_seconds, count)]`` of the intervals the report shows (all,
        or the ``names`` given: each is one query, so callers may run them side by side)."""
        # Durations in milliseconds, from the generated integer columns (revision 0013).
        out_where = and_(
            records.c.direction == "out",
            _in_period(records.c.created_day, records.c.created_at, p),
        )
        queued = _in_period(outbox.c.created_day, outbox.c.created_at, p)
        # Through coalesce: SQLite without statistics would otherwise take the narrow state
        # index and read every wide row instead of the covering index by queue day.
        delivered = func.coalesce(outbox.c.state, "") == "delivered"
        spans: dict[str, tuple[Any, Any, Any, int]] = {
            "clearance_to_receipt": (  # the outbox entry is queued as the record is stored
                outbox,
                outbox.c.delivered_ms - outbox.c.created_ms,
                and_(delivered, queued),
                _SECOND,
            ),
            "receipt_to_planned_crossing": (
                outbox,
                outbox.c.planned_ms - outbox.c.delivered_ms,
                and_(delivered, queued, outbox.c.planned_ms.is_not(None)),
                _MINUTE,
            ),
            "queued_to_lock_written": (
                records.join(
                    lock_writes,
                    and_(
                        lock_writes.c.record_id == records.c.record_id,
                        lock_writes.c.version == records.c.version,
                    ),
                ),
                # lock writes are few: their time is converted here, not stored
                self._epoch(lock_writes.c.written_at) * 1000.0 - records.c.created_ms,
                out_where,
                _SECOND,
            ),
            "stored_to_planned_crossing": (
                records,
                records.c.planned_ms - records.c.created_ms,
                and_(
                    records.c.direction == "in",
                    _in_period(records.c.created_day, records.c.created_at, p),
                    records.c.planned_ms.is_not(None),
                ),
                _MINUTE,
            ),
        }
        found: dict[str, list[tuple[int, int]]] = {}
        for name, (source, seconds, where, width) in spans.items():
            if names is not None and name not in names:
                continue
            bucket = self._bucket(seconds, width).label("bucket")
            stmt = (
                select(bucket, func.count())
                .select_from(source)
                .where(where)
                .group_by(bucket)
                .order_by(bucket)
            )
            found[name] = [(int(b), int(n)) for b, n in self._rows(stmt, "measure " + name)]
        return found

    # -- reliability ---------------------------------------------------------------------------

    def report_retried(self, p: Period) -> Iterator[tuple[datetime, datetime | None, int]]:
        """Outbox entries of the period that needed more than one attempt, oldest first:
        (queued, settled or ``None``, attempts). Streamed: the caller merges them into outage
        windows without holding them."""
        stmt = (
            select(outbox.c.created_at, outbox.c.delivered_at, outbox.c.attempts)
            .where(outbox.c.attempts > 1, _in_period(outbox.c.created_day, outbox.c.created_at, p))
            .order_by(outbox.c.created_at)
        )
        with translated("read retried outbox entries"), self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=5000).execute(stmt)
            for queued, settled, attempts in result:
                yield queued, settled, int(attempts)

    # -- quality -------------------------------------------------------------------------------

    def report_inbound_errors(self, p: Period) -> Iterator[list[dict[str, Any]]]:
        """The error lists of the messages we rejected in the period (codes and fields only
        are read by the caller), streamed."""
        stmt = select(inbox.c.errors).where(
            inbox.c.answer_type == "REJECTION",
            inbox.c.errors.is_not(None),
            _in_period(inbox.c.received_day, inbox.c.received_at, p),
        )
        with translated("read rejection codes"), self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=5000).execute(stmt)
            for (errors,) in result:
                parsed = orjson.loads(errors)
                yield parsed if isinstance(parsed, list) else []

    def report_versions_per_record(self, p: Period) -> list[Any]:
        """(direction, versions of a record, records) for the records last changed in the
        period: how often records were amended (from the narrow heads table)."""
        # Grouped in the index's order (day first), merged here: no sort of every head.
        cols = (record_heads.c.updated_day, record_heads.c.outcome, record_heads.c.latest_version)
        stmt = (
            select(*cols, func.count())
            .where(_in_period(record_heads.c.updated_day, record_heads.c.updated_at, p))
            .group_by(*cols)
        )
        found: Counter[tuple[str, int]] = Counter()
        for _day, outcome, versions, n in self._rows(stmt, "count versions per record"):
            found[("in" if outcome == "received" else "out", int(versions))] += n
        return [(*k, found[k]) for k in sorted(found)]

    def report_lock_reads(self, p: Period) -> Iterator[tuple[bool, bool, list[dict[str, Any]]]]:
        """(declared, tampered, findings) of every lock reading of the period, streamed."""
        stmt = select(lock_reads.c.declared, lock_reads.c.tampered, lock_reads.c.findings).where(
            lock_reads.c.read_at >= p.start, lock_reads.c.read_at < p.end
        )
        with translated("read lock readings"), self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=5000).execute(stmt)
            for declared, tampered, findings in result:
                parsed = orjson.loads(findings)
                yield bool(declared), bool(tampered), parsed if isinstance(parsed, list) else []

    def report_lock_written(self, p: Period) -> int:
        stmt = select(func.count()).where(
            lock_writes.c.written_at >= p.start, lock_writes.c.written_at < p.end
        )
        return int(self._rows(stmt, "count lock writes")[0][0])

    def report_scan_baseline(self) -> int:
        """A plain COUNT(*) over the inbox and the outbox: the floor any report pays."""
        a = select(func.count()).select_from(inbox)
        b = select(func.count()).select_from(outbox)
        return int(self._rows(a, "count")[0][0]) + int(self._rows(b, "count")[0][0])

    # -- manifest ------------------------------------------------------------------------------

    def manifest_entries(self, p: Period) -> Iterator[ManifestEntry]:
        """Every record version we sent (outbox entry or lock write) and every one we hold
        from a peer, in the period, ordered; streamed."""
        lock = self._lock_written()
        online = outbox.c.message_id.is_not(None)
        sent = (
            select(
                literal("out").label("direction"),
                outbox.c.peer_party.label("party"),
                records.c.record_id,
                records.c.version,
                records.c.digest,
                case(
                    (and_(online, lock), "both"), (online, "online"), (lock, "lock"), else_="none"
                ).label("channel"),
                outbox.c.message_id,
                func.coalesce(outbox.c.sent_at, outbox.c.created_at).label("at"),
            )
            .select_from(records.join(outbox, outbox.c.record_pk == records.c.id))
            .where(
                records.c.direction == "out",
                outbox.c.state != "rejected",
                or_(online, lock),
                _in_period(records.c.created_day, records.c.created_at, p),
            )
        )
        online_in = exists().where(
            inbox.c.sender_party == records.c.origin_party,
            inbox.c.record_id == records.c.record_id,
            inbox.c.version == records.c.version,
            inbox.c.channel == "online",
            inbox.c.answer_type == "RECEIPT",
        )
        lock_in = exists().where(
            lock_reads.c.sender_party == records.c.origin_party,
            lock_reads.c.record_id == records.c.record_id,
            lock_reads.c.version == records.c.version,
        )
        first_msg = (
            select(func.min(inbox.c.message_id))
            .where(
                inbox.c.sender_party == records.c.origin_party,
                inbox.c.record_id == records.c.record_id,
                inbox.c.version == records.c.version,
                inbox.c.answer_type == "RECEIPT",
            )
            .scalar_subquery()
        )
        held = select(
            literal("in").label("direction"),
            records.c.origin_party.label("party"),
            records.c.record_id,
            records.c.version,
            records.c.digest,
            case(
                (and_(online_in, lock_in), "both"),
                (lock_in, "lock"),
                else_="online",
            ).label("channel"),
            first_msg.label("message_id"),
            records.c.created_at.label("at"),
        ).where(
            records.c.direction == "in",
            _in_period(records.c.created_day, records.c.created_at, p),
        )
        stmt = sent.union_all(held).subquery()
        ordered = select(stmt).order_by(
            stmt.c.direction, stmt.c.party, stmt.c.record_id, stmt.c.version
        )
        with translated("list the manifest"), self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=5000).execute(ordered)
            for r in result:
                yield ManifestEntry(
                    direction=r.direction,
                    party=r.party,
                    record_id=r.record_id,
                    version=int(r.version),
                    digest=r.digest,
                    channel=r.channel,
                    message_id=r.message_id,
                    at=_utc(r.at),
                )


def _utc(value: Any) -> datetime | None:
    # Through a UNION the column type is lost: SQLite hands back its stored text.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
