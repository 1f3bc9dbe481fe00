"""The record store on SQLAlchemy Core: SQLite or PostgreSQL, one transaction per batch.

Versions: an accepted record whose digest equals the latest stored version of the same
(origin Party, record_id) is *unchanged* and writes nothing but its ingest-log line; any
other body becomes the next version. ``record_heads`` holds the latest version of each
record so this check costs one indexed lookup per batch.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Row, Select, and_, bindparam, func, select, text, update
from sqlalchemy.engine import Connection, Engine

from ctop_node.errors import RecordError, StorageError
from ctop_node.model.outcome import OutcomeKind
from ctop_node.store._cancel import CANCELLED, Withdrawal, withdraw_and_cancel
from ctop_node.store._channel_sql import ChannelQueries
from ctop_node.store._engine import SQLITE_BEGIN
from ctop_node.store._errors import translated
from ctop_node.store._facts import facts_of_record
from ctop_node.store._report_sql import ReportQueries
from ctop_node.store.interfaces import (
    Accepted,
    IngestEntry,
    OutboxRow,
    RecordRow,
    StoredResult,
)
from ctop_node.store.schema import DIRECTIONS, ingest_log, outbox, record_heads, records

# Outcomes whose record body is kept. Refused (Art.6) bodies are never stored, whatever
# the caller passes; rejected records did not pass the technical conditions.
STORED_OUTCOMES = frozenset({OutcomeKind.TO_SEND, OutcomeKind.NOT_APPLICABLE, OutcomeKind.EXCLUDED})

# Outcomes of a new version that stop the record's exchange: earlier versions still pending
# are withdrawn and delivered ones cancelled (issue 8 finding 13). REFUSED bodies are not
# stored, so a refusal is matched on the ingest entry's record id.
STOPS_EXCHANGE = frozenset({OutcomeKind.NOT_APPLICABLE, OutcomeKind.EXCLUDED, OutcomeKind.REFUSED})

# A new version of a record we cancelled: stored (the clearance system's data is kept), not
# queued for any peer.
HELD_REASON = "record.cancelled"
HELD_DETAIL = "kept, not sent: the record was cancelled before this version"

# Record ids per "IN (...)" lookup: far below SQLite's and PostgreSQL's parameter limits.
_LOOKUP_CHUNK = 1000

_PG_LOCK_KEY = 0x4354_4F51
_PG_WRITER_LOCK = text(
    "SELECT pg_advisory_xact_lock(:k, hashtext(current_schema() || ':' || :party))"
)
_PG_NEXT_RECORD_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('records', 'id')) FROM generate_series(1, :n)"
)

_SUMMARY_COLUMNS = (
    records.c.id,
    records.c.record_id,
    records.c.version,
    records.c.origin_party,
    records.c.direction,
    records.c.tc_version,
    records.c.digest,
    records.c.outcome,
    records.c.reason,
    records.c.detail,
    records.c.created_at,
)


@dataclass(slots=True)
class _Head:
    version: int
    digest: str
    outcome: str
    in_db: bool  # the head row exists in the database (update) or is new (insert)
    changed: bool = False


def _storable(entry: IngestEntry) -> Accepted | None:
    return entry.accepted if entry.outcome in STORED_OUTCOMES else None


def _check_digest(accepted: Accepted, position: str) -> None:
    # The digest is what the peer acknowledges and both channels reconcile on: a body that
    # does not hash to it must never be stored under it.
    if hashlib.sha256(accepted.body).hexdigest() != accepted.digest:
        raise StorageError(
            f"record {accepted.record.record_id} ({position}): the body does not match its "
            "digest; nothing of this batch was stored",
            code="store.digest_mismatch",
        )


class SqlStore(ChannelQueries, ReportQueries):
    """``RecordStore`` on an SQLAlchemy engine. Use ``ctop_node.store.open_store``. The
    channels' questions and the exchange's stores (inbox, outbox, lock reads) come from
    :class:`ChannelQueries`."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    # -- writing -------------------------------------------------------------------------

    def write_batch(
        self,
        entries: Sequence[IngestEntry],
        *,
        origin_party: str,
        direction: str = "out",
        batch_id: str | None = None,
        now: datetime | None = None,
    ) -> list[StoredResult]:
        """Store a batch in one transaction (see ``RecordStore.write_batch``).

        ``direction`` is ``"out"`` for our own records, ``"in"`` for a peer's; ``batch_id``
        groups the ingest-log lines (a fresh one per call by default); ``now`` is the time
        written on every row (the caller's clock; the current time when not given). On any
        failure nothing of the batch is kept and ``StorageError`` is raised.
        """
        if direction not in DIRECTIONS:
            raise StorageError(f"unknown direction {direction!r}", code="store.direction")
        if not entries:
            return []
        for entry in entries:
            accepted = _storable(entry)
            if accepted is not None:
                _check_digest(accepted, f"{entry.source}, {entry.position}")
        batch_id = batch_id or uuid.uuid4().hex
        now = now or datetime.now(UTC)
        with translated("store a batch of records"), self.engine.connect() as conn:
            conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            with conn.begin():
                return self._write(conn, entries, origin_party, direction, batch_id, now)

    def _write(
        self,
        conn: Connection,
        entries: Sequence[IngestEntry],
        origin_party: str,
        direction: str,
        batch_id: str,
        now: datetime,
    ) -> list[StoredResult]:
        if conn.dialect.name == "postgresql":
            # Writers of one Party's records take turns (SQLite: BEGIN IMMEDIATE does it), so
            # two processes ingesting the same new record yield v1 + unchanged, not a conflict.
            conn.execute(_PG_WRITER_LOCK, {"k": _PG_LOCK_KEY, "party": origin_party})
        ids = {a.record.record_id for e in entries if (a := _storable(e)) is not None}
        heads = self._load_heads(conn, origin_party, ids)
        results: list[StoredResult] = []
        log_rows: list[dict[str, Any]] = []
        record_rows: list[dict[str, Any]] = []
        peers_of_row: list[tuple[str, ...]] = []
        # Per record id: why its exchange stops, when its last entry in the batch says so.
        stops: dict[str, tuple[str, bool]] = {}
        for entry in entries:
            accepted = _storable(entry)
            result = StoredResult(entry.record_id, None, False)
            if entry.record_id is not None and entry.outcome is not OutcomeKind.REJECTED:
                stops.pop(entry.record_id, None)
                if entry.outcome in STOPS_EXCHANGE:
                    refused = entry.outcome is OutcomeKind.REFUSED
                    stops[entry.record_id] = (entry.reason, refused)
            if accepted is not None:
                rid = accepted.record.record_id
                head = heads.get(rid)
                if head is not None and head.digest == accepted.digest:
                    result = StoredResult(rid, head.version, True)
                else:
                    version = head.version + 1 if head is not None else 1
                    # A cancelled record stays cancelled: a later version is kept, never
                    # sent (the peer would refuse it: exchange.cancelled).
                    held = head is not None and head.outcome == CANCELLED
                    heads[rid] = _Head(
                        version,
                        accepted.digest,
                        CANCELLED if held else entry.outcome.value,
                        in_db=head.in_db if head is not None else False,
                        changed=True,
                    )
                    record_rows.append(
                        {
                            "record_id": rid,
                            "version": version,
                            "origin_party": origin_party,
                            "direction": direction,
                            "tc_version": accepted.tc_version,
                            "digest": accepted.digest,
                            "outcome": entry.outcome.value,
                            "reason": HELD_REASON if held else entry.reason,
                            "detail": HELD_DETAIL if held else entry.detail,
                            "body": accepted.body,
                            "created_at": now,
                        }
                        | facts_of_record(accepted.record)
                    )
                    send = entry.outcome is OutcomeKind.TO_SEND and not held
                    peers_of_row.append(entry.peers if send else ())
                    result = StoredResult(rid, version, False, held=held)
            results.append(result)
            log_rows.append(
                {
                    "batch_id": batch_id,
                    "source": entry.source,
                    "position": entry.position,
                    "record_id": result.record_id,
                    "outcome": entry.outcome.value,
                    "reason": entry.reason,
                    "detail": entry.detail,
                    "errors": orjson.dumps([e.as_dict() for e in entry.errors]).decode(),
                    "version": result.version,
                    "unchanged": result.unchanged,
                    "at": now,
                }
            )
        conn.execute(ingest_log.insert(), log_rows)
        if record_rows:
            pks = self._insert_records(conn, record_rows)
            self._save_heads(conn, origin_party, heads, now)
            outbox_rows = [
                {
                    "record_pk": pk,
                    "record_id": row["record_id"],
                    "version": row["version"],
                    "peer_party": peer,
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "planned_crossing_at": row["planned_crossing_at"],
                }
                for pk, row, peers in zip(pks, record_rows, peers_of_row, strict=True)
                for peer in peers
            ]
            if outbox_rows:
                conn.execute(outbox.insert(), outbox_rows)
        queued = self._queued(conn, origin_party, stops) if stops else set()
        for rid, (reason, refused) in sorted(stops.items()):
            if rid not in queued:
                continue  # never queued for a peer: nothing to withdraw or cancel
            # After the outbox rows of this batch: a version queued before the stop in the
            # same batch is withdrawn too. The record is cancelled (its later versions kept,
            # not sent) when a peer may hold a version, or when the stop is a refusal.
            withdraw_and_cancel(conn, origin_party, rid, reason, now, mark_head=refused)
        return results

    @staticmethod
    def _queued(conn: Connection, origin_party: str, record_ids: Iterable[str]) -> set[str]:
        """The record ids of ours that have outbox rows (one query per chunk)."""
        found: set[str] = set()
        wanted = sorted(record_ids)
        for start in range(0, len(wanted), _LOOKUP_CHUNK):
            stmt = (
                select(outbox.c.record_id)
                .join(records, records.c.id == outbox.c.record_pk)
                .where(records.c.origin_party == origin_party, records.c.direction == "out")
                .where(outbox.c.record_id.in_(wanted[start : start + _LOOKUP_CHUNK]))
                .distinct()
            )
            found.update(str(r) for r in conn.execute(stmt).scalars())
        return found

    def cancel_record(
        self,
        record_id: str,
        reason: str,
        *,
        origin_party: str,
        now: datetime | None = None,
    ) -> Withdrawal:
        """The clearance system cancels our record ``record_id``: pending versions are
        withdrawn, every peer that may hold a version gets a CANCELLATION (queued in the
        outbox), and the record's state becomes ``cancelled``; one transaction.

        ``RecordError``: ``record.not_found`` (no record of ours with that id),
        ``record.already_cancelled``."""
        now = now or datetime.now(UTC)
        with translated("cancel a record"), self.engine.connect() as conn:
            conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(_PG_WRITER_LOCK, {"k": _PG_LOCK_KEY, "party": origin_party})
                head = conn.execute(
                    select(record_heads.c.outcome).where(
                        record_heads.c.origin_party == origin_party,
                        record_heads.c.record_id == record_id,
                    )
                ).scalar_one_or_none()
                if head is None:
                    raise RecordError(
                        f"record {record_id} of {origin_party} is not stored here",
                        code="record.not_found",
                        record_id=record_id,
                    )
                if head == CANCELLED:
                    raise RecordError(
                        f"record {record_id} is already cancelled",
                        code="record.already_cancelled",
                        record_id=record_id,
                    )
                return withdraw_and_cancel(
                    conn, origin_party, record_id, reason, now, mark_head=True
                )

    def _load_heads(
        self, conn: Connection, origin_party: str, record_ids: Iterable[str]
    ) -> dict[str, _Head]:
        heads: dict[str, _Head] = {}
        wanted = sorted(record_ids)
        for start in range(0, len(wanted), _LOOKUP_CHUNK):
            chunk = wanted[start : start + _LOOKUP_CHUNK]
            stmt = (
                select(
                    record_heads.c.record_id,
                    record_heads.c.latest_version,
                    record_heads.c.latest_digest,
                    record_heads.c.outcome,
                )
                .where(record_heads.c.origin_party == origin_party)
                .where(record_heads.c.record_id.in_(chunk))
            )
            for rid, version, dig, outcome in conn.execute(stmt):
                heads[rid] = _Head(version, dig, outcome, in_db=True)
        return heads

    def _insert_records(self, conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
        if conn.dialect.name == "postgresql":
            # Keys drawn from the sequence in one round trip, then a pipelined executemany:
            # several times faster than INSERT ... RETURNING of a whole batch.
            drawn = conn.execute(_PG_NEXT_RECORD_IDS, {"n": len(rows)}).scalars()
            pks = [int(pk) for pk in drawn]
            keyed = [{**row, "id": pk} for row, pk in zip(rows, pks, strict=True)]
            conn.execute(records.insert(), keyed)
            return pks
        stmt = records.insert().returning(records.c.id, sort_by_parameter_order=True)
        return [int(pk) for pk in conn.execute(stmt, rows).scalars()]

    def _save_heads(
        self, conn: Connection, origin_party: str, heads: dict[str, _Head], now: datetime
    ) -> None:
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for rid, head in heads.items():
            if not head.changed:
                continue
            row = {
                "b_party": origin_party,
                "b_record_id": rid,
                "b_version": head.version,
                "b_digest": head.digest,
                "b_outcome": head.outcome,
                "b_at": now,
            }
            (updates if head.in_db else inserts).append(row)
        if inserts:
            conn.execute(
                record_heads.insert(),
                [
                    {
                        "origin_party": r["b_party"],
                        "record_id": r["b_record_id"],
                        "latest_version": r["b_version"],
                        "latest_digest": r["b_digest"],
                        "outcome": r["b_outcome"],
                        "updated_at": r["b_at"],
                    }
                    for r in inserts
                ],
            )
        if updates:
            stmt = (
                update(record_heads)
                .where(record_heads.c.origin_party == bindparam("b_party"))
                .where(record_heads.c.record_id == bindparam("b_record_id"))
                .values(
                    latest_version=bindparam("b_version"),
                    latest_digest=bindparam("b_digest"),
                    outcome=bindparam("b_outcome"),
                    updated_at=bindparam("b_at", type_=record_heads.c.updated_at.type),
                )
            )
            conn.execute(stmt, updates)

    # -- reading -------------------------------------------------------------------------

    def _latest(self) -> Select[Any]:
        return select(*_SUMMARY_COLUMNS, record_heads.c.outcome.label("state")).join(
            record_heads,
            and_(
                record_heads.c.origin_party == records.c.origin_party,
                record_heads.c.record_id == records.c.record_id,
                record_heads.c.latest_version == records.c.version,
            ),
        )

    def get_record(
        self, record_id: str, version: int | None = None, *, origin_party: str | None = None
    ) -> RecordRow | None:
        """One version of a record with its body; the latest when ``version`` is None.
        ``origin_party`` is needed only when two Parties used the same ``record_id``."""
        if version is None:
            stmt = self._latest().add_columns(records.c.body)
        else:
            stmt = select(*_SUMMARY_COLUMNS, records.c.body).where(records.c.version == version)
        stmt = stmt.where(records.c.record_id == record_id)
        if origin_party is not None:
            stmt = stmt.where(records.c.origin_party == origin_party)
        with translated("read a record"), self.engine.connect() as conn:
            rows = conn.execute(stmt.limit(2)).all()
        if len(rows) > 1:
            raise StorageError(
                f"record {record_id} exists for several Parties: name the origin Party",
                code="store.ambiguous_record",
            )
        return _to_row(rows[0], with_body=True) if rows else None

    def latest_records(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], RecordRow]:
        """The latest version of each (origin_party, record_id), with bodies: one query per
        chunk of keys (a train page reads 50 records, not one query each)."""
        out: dict[tuple[str, str], RecordRow] = {}
        wanted = set(keys)
        ordered = sorted(wanted)
        for i in range(0, len(ordered), 400):
            part = ordered[i : i + 400]
            stmt = (
                self._latest()
                .add_columns(records.c.body)
                .where(  # on the heads too: the planner starts from them by key
                    record_heads.c.origin_party.in_(sorted({p for p, _ in part})),
                    record_heads.c.record_id.in_([r for _, r in part]),
                    records.c.origin_party.in_(sorted({p for p, _ in part})),
                    records.c.record_id.in_([r for _, r in part]),
                )
            )
            with translated("read records"), self.engine.connect() as conn:
                for row in conn.execute(stmt):
                    if (row.origin_party, row.record_id) in wanted:
                        out[(row.origin_party, row.record_id)] = _to_row(row, with_body=True)
        return out

    def versions(self, record_id: str, *, origin_party: str | None = None) -> list[RecordRow]:
        """Every stored version of a record, oldest first, with bodies."""
        stmt = (
            select(*_SUMMARY_COLUMNS, records.c.body, record_heads.c.outcome.label("state"))
            .outerjoin(
                record_heads,
                and_(
                    record_heads.c.origin_party == records.c.origin_party,
                    record_heads.c.record_id == records.c.record_id,
                ),
            )
            .where(records.c.record_id == record_id)
        )
        if origin_party is not None:
            stmt = stmt.where(records.c.origin_party == origin_party)
        stmt = stmt.order_by(records.c.origin_party, records.c.version)
        with translated("read the versions of a record"), self.engine.connect() as conn:
            rows = [_to_row(r, with_body=True) for r in conn.execute(stmt)]
        if len({r.origin_party for r in rows}) > 1:
            raise StorageError(
                f"record {record_id} exists for several Parties: name the origin Party",
                code="store.ambiguous_record",
            )
        return rows

    def list_records(
        self, *, outcome: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[RecordRow]:
        """The latest version of each record, most recently stored first, without bodies
        (``body`` is ``{}``; use ``get_record``). ``outcome`` filters on the latest version."""
        stmt = self._latest()
        if outcome is not None:
            stmt = stmt.where(record_heads.c.outcome == outcome)
        stmt = stmt.order_by(records.c.id.desc()).limit(limit).offset(offset)
        with translated("list records"), self.engine.connect() as conn:
            return [_to_row(r, with_body=False) for r in conn.execute(stmt)]

    def outcome_counts(self) -> dict[str, int]:
        """Stored records per outcome of their *latest* version: each record counts once.
        Rejected and refused items have no stored record; see ``ingest_counts``."""
        stmt = select(record_heads.c.outcome, func.count()).group_by(record_heads.c.outcome)
        with translated("count records"), self.engine.connect() as conn:
            return {str(o): int(n) for o, n in conn.execute(stmt)}

    def ingest_counts(self, batch_id: str | None = None) -> dict[str, int]:
        """Ingest-log lines per outcome (every item read, including rejected and refused),
        for one batch or all of them."""
        stmt = select(ingest_log.c.outcome, func.count()).group_by(ingest_log.c.outcome)
        if batch_id is not None:
            stmt = stmt.where(ingest_log.c.batch_id == batch_id)
        with translated("count ingest log lines"), self.engine.connect() as conn:
            return {str(o): int(n) for o, n in conn.execute(stmt)}

    def ingest_log(self, *, batch_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Ingest-log lines, oldest first, with ``errors`` decoded."""
        stmt = select(ingest_log).order_by(ingest_log.c.id).limit(limit)
        if batch_id is not None:
            stmt = stmt.where(ingest_log.c.batch_id == batch_id)
        with translated("read the ingest log"), self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
        for row in rows:
            row["errors"] = orjson.loads(row["errors"])
        return rows

    def deliveries(self, record_id: str, *, origin_party: str) -> list[dict[str, Any]]:
        """What the outbox holds for our record ``record_id``, oldest first: each version
        and cancellation per peer with its state (pending, delivered, rejected, dead,
        withdrawn), for ``records show``."""
        stmt = (
            select(
                outbox.c.kind,
                outbox.c.version,
                outbox.c.peer_party,
                outbox.c.state,
                outbox.c.attempts,
                outbox.c.message_id,
                outbox.c.answer_code,
                outbox.c.reason,
                outbox.c.created_at,
                outbox.c.delivered_at,
            )
            .join(records, records.c.id == outbox.c.record_pk)
            .where(outbox.c.record_id == record_id)
            .where(records.c.origin_party == origin_party, records.c.direction == "out")
            .order_by(outbox.c.id)
        )
        with translated("read the deliveries of a record"), self.engine.connect() as conn:
            return [
                {
                    "kind": r.kind,
                    "version": int(r.version),
                    "peer": r.peer_party,
                    "state": r.state,
                    "attempts": int(r.attempts),
                    "message_id": r.message_id,
                    "code": r.answer_code,
                    "reason": r.reason,
                    "queued_at": r.created_at,
                    "settled_at": r.delivered_at,
                }
                for r in conn.execute(stmt)
            ]

    def outbox(self, *, state: str | None = None, limit: int = 100) -> list[OutboxRow]:
        """Outbox entries, oldest first."""
        stmt = select(
            outbox.c.id,
            outbox.c.record_id,
            outbox.c.version,
            outbox.c.peer_party,
            outbox.c.state,
            outbox.c.attempts,
            outbox.c.created_at,
        ).order_by(outbox.c.id)
        if state is not None:
            stmt = stmt.where(outbox.c.state == state)
        with translated("read the outbox"), self.engine.connect() as conn:
            return [
                OutboxRow(
                    id=int(r.id),
                    record_id=r.record_id,
                    version=r.version,
                    peer_party=r.peer_party,
                    state=r.state,
                    attempts=r.attempts,
                    created_at=r.created_at,
                )
                for r in conn.execute(stmt.limit(limit))
            ]

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _to_row(row: Row[Any, *tuple[Any, ...]], *, with_body: bool) -> RecordRow:
    body: dict[str, Any] = orjson.loads(row.body) if with_body else {}
    return RecordRow(
        record_id=row.record_id,
        version=row.version,
        origin_party=row.origin_party,
        direction=row.direction,
        tc_version=row.tc_version,
        digest=row.digest,
        outcome=row.outcome,
        reason=row.reason,
        detail=row.detail,
        created_at=row.created_at,
        body=body,
        state=row._mapping.get("state"),
    )
