"""The idempotent inbox of received messages, and the in-order application of record versions.

One call of :meth:`Inbox.accept` is one transaction that:

1. inserts the inbox row keyed by ``message_id`` (``ON CONFLICT DO NOTHING``); when the id is
   already there, the stored original answer is returned when the bytes are the same (a
   replay), else a REJECTION ``exchange.duplicate_message_id`` that names the digest of the
   bytes that came and is not stored (other bytes under a used id, even with the same
   payload, are never taken as a replay: the answer must name what was received);
2. decides: version n of a record is applied when n == 1 or n-1 is applied, else it waits;
   a version already applied (or waiting) under another message id is a ``duplicate`` when
   the digests agree and a ``mismatch`` (REJECTION ``exchange.out_of_sequence``) otherwise;
3. applies the version (a ``records`` row, direction 'in') and every waiting successor;
   a version above the applied one of a record cancelled by its sender is a REJECTION
   ``exchange.cancelled``; a CANCELLATION must name a version that was applied;
4. has the caller seal the answer (``answer_factory``) and stores it with the row, so a
   replay gets byte-identical answers and the answer never exists without its row.

On PostgreSQL a transaction-scoped advisory lock per (sender, record_id) serialises messages
of one record, so two versions arriving at once cannot both decide to wait; on SQLite the
transaction begins IMMEDIATE, which serialises every writer.
"""

from __future__ import annotations

import base64
import builtins
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from ctop_node.model.messages import ControlResult, ManifestMessage, MessageType, RejectionError
from ctop_node.store._engine import SQLITE_BEGIN
from ctop_node.store._errors import translated
from ctop_node.store._facts import facts_of_body
from ctop_node.store._inbox_sql import (
    _HEAD,
    _OTHER_WAITING,
    _PG_BATCH_LOCK,
    _PG_LOCK_KEY,
    _PG_RECORD_LOCK,
    _SENDERS_WAITING,
    _SET_HEAD,
    _SET_INBOX,
    _STORED,
    _SUMMARY,
    _VERSION_DIGEST,
    _WAITING_VERSION,
    _errors_json,
    _errors_of,
    _row,
)
from ctop_node.store._inbox_types import (
    AnswerFactory,
    AnswerType,
    InboxMessage,
    InboxResult,
    InboxRow,
    InboxState,
    StoredAnswer,
    Verdict,
)
from ctop_node.store.control import insert_received
from ctop_node.store.peer_manifests import insert_received as insert_manifest
from ctop_node.store.schema import inbox, record_heads, records

__all__ = [
    "CANCELLED",
    "RECEIVED",
    "RECORD_TYPES",
    "AnswerFactory",
    "AnswerType",
    "Inbox",
    "InboxMessage",
    "InboxResult",
    "InboxRow",
    "InboxState",
    "StoredAnswer",
    "Verdict",
]

RECORD_TYPES = frozenset({MessageType.CONSIGNMENT.value, MessageType.AMENDMENT.value})
RECEIVED = "received"
CANCELLED = "cancelled"


def _out_of_sequence(msg: InboxMessage, why: str) -> RejectionError:
    return RejectionError(
        code="exchange.out_of_sequence",
        field="header.version",
        message=f"record {msg.record_id} version {msg.version}: {why}",
    )


class _ItemFailed(Exception):
    """Internal: one message of a batch failed on the fast path; redo with savepoints."""


def _gone(exc: DBAPIError) -> bool:
    return isinstance(exc, (OperationalError, InterfaceError)) or exc.connection_invalidated


class _WaitingHint:
    """Whether a sender may have parked versions: when it has none, applying a version
    skips the lookup of waiting successors (one statement per message less).

    ``None``: unknown, always look (single :meth:`Inbox.accept`)."""

    def __init__(self, senders: set[str] | None = None) -> None:
        self._senders = senders

    def may_wait(self, sender: str) -> bool:
        return self._senders is None or sender in self._senders

    def parked(self, sender: str) -> None:
        if self._senders is not None:
            self._senders.add(sender)


class Inbox:
    """Received messages over the store's engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        dialect = engine.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self._pg = dialect == "postgresql"
        self._claim_stmt = (
            insert(inbox)
            .on_conflict_do_nothing(index_elements=["message_id"])
            .returning(inbox.c.message_id)
        )

    # -- reading -------------------------------------------------------------------------

    def answer_for(self, message_id: str) -> StoredAnswer | None:
        """The stored answer to ``message_id``, if that id was received before."""
        with translated("read the inbox"), self.engine.connect() as conn:
            return self._stored(conn, message_id)

    def count_applied(self, sender: str) -> int:
        """Record versions received from ``sender`` and applied (rows in ``records``)."""
        query = (
            select(func.count())
            .select_from(records)
            .where(records.c.direction == "in", records.c.origin_party == sender)
        )
        with translated("count received records"), self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def state_counts(self) -> dict[str, int]:
        query = select(inbox.c.state, func.count()).group_by(inbox.c.state)
        with translated("count inbox states"), self.engine.connect() as conn:
            return {state: int(n) for state, n in conn.execute(query)}

    def list(
        self,
        *,
        state: str | None = None,
        sender: str | None = None,
        record_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> builtins.list[InboxRow]:
        """Newest first."""
        query = select(*_SUMMARY)
        if state is not None:
            query = query.where(inbox.c.state == state)
        if sender is not None:
            query = query.where(inbox.c.sender_party == sender)
        if record_id is not None:
            query = query.where(inbox.c.record_id == record_id)
        query = query.order_by(inbox.c.received_at.desc(), inbox.c.message_id)
        with translated("list the inbox"), self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query.limit(limit).offset(offset))]

    def waiting(self, *, limit: int = 1000) -> builtins.list[InboxRow]:
        """Versions parked until their predecessor arrives, oldest first."""
        query = (
            select(*_SUMMARY)
            .where(inbox.c.state == "waiting")
            .order_by(inbox.c.received_at, inbox.c.message_id)
            .limit(limit)
        )
        with translated("list waiting messages"), self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]

    # -- accepting -----------------------------------------------------------------------

    def accept(
        self, msg: InboxMessage, answer_factory: AnswerFactory, *, now: datetime | None = None
    ) -> InboxResult:
        """Store ``msg`` exactly once, apply or park it, and store the sealed answer, all in
        one transaction (see the module docstring)."""
        now = now or datetime.now(UTC)
        with translated("store a received message"), self.engine.connect() as conn:
            conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            with conn.begin():
                if self._pg and msg.record_id is not None:
                    key = f"{msg.sender_party}:{msg.record_id}"
                    conn.execute(_PG_RECORD_LOCK, {"k": _PG_LOCK_KEY, "key": key})
                return self._accept_one(conn, msg, answer_factory, now, _WaitingHint())

    def accept_batch(
        self,
        items: Sequence[tuple[InboxMessage, AnswerFactory]],
        *,
        now: datetime | None = None,
    ) -> builtins.list[InboxResult | Exception]:
        """:meth:`accept` for many messages in ONE transaction.

        Each message is stored, decided and answered (the factory seals) exactly as by
        :meth:`accept`. Fast path: the whole batch without savepoints. When one message's
        work raises, that transaction is rolled back and the batch is done again with one
        SAVEPOINT per message, so the failing message is rolled back alone and its slot
        holds the exception (answers sealed in the abandoned attempt were never stored nor
        returned). Results are returned only after the commit. ``StorageError`` with code
        ``store.unavailable`` fails the whole batch: nothing of it is stored.
        """
        if not items:
            return []
        now = now or datetime.now(UTC)
        try:
            return self._batch(items, now, isolate=False)
        except _ItemFailed:
            return self._batch(items, now, isolate=True)

    def _batch(
        self,
        items: Sequence[tuple[InboxMessage, AnswerFactory]],
        now: datetime,
        *,
        isolate: bool,
    ) -> builtins.list[InboxResult | Exception]:
        results: builtins.list[InboxResult | Exception] = []
        with translated("store received messages"), self.engine.connect() as conn:
            conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            with conn.begin():
                if self._pg:
                    self._lock_records(conn, [m for m, _ in items])
                senders = {m.sender_party for m, _ in items}
                hint = _WaitingHint(self._senders_waiting(conn, senders))
                for msg, factory in items:
                    try:
                        if not isolate:
                            results.append(self._accept_one(conn, msg, factory, now, hint))
                            continue
                        with conn.begin_nested():
                            results.append(self._accept_one(conn, msg, factory, now, hint))
                    except DBAPIError as exc:
                        if _gone(exc):
                            raise  # the connection or server is gone: the batch fails (503)
                        if not isolate:
                            raise _ItemFailed from exc  # leaves the block: rolled back
                        results.append(exc)
                    except Exception as exc:  # one bad item must not fail the batch
                        if not isolate:
                            raise _ItemFailed from exc
                        results.append(exc)
        return results

    def _lock_records(self, conn: Connection, msgs: Sequence[InboxMessage]) -> None:
        """Every record lock of the batch in one statement, in hash order: two batches
        taking overlapping locks take them in the same order, so they cannot deadlock."""
        keys = sorted({f"{m.sender_party}:{m.record_id}" for m in msgs if m.record_id})
        if keys:
            conn.execute(_PG_BATCH_LOCK, {"k": _PG_LOCK_KEY, "keys": keys})

    @staticmethod
    def _senders_waiting(conn: Connection, senders: set[str]) -> set[str]:
        """Senders with a parked version: only their messages look for waiting successors
        (inside the write transaction, under the record locks, so the answer holds)."""
        found = conn.execute(_SENDERS_WAITING, {"b_senders": sorted(senders)}).scalars()
        return {str(s) for s in found}

    def _accept_one(
        self,
        conn: Connection,
        msg: InboxMessage,
        answer_factory: AnswerFactory,
        now: datetime,
        hint: _WaitingHint,
    ) -> InboxResult:
        if not self._claim(conn, msg, now):
            return self._again(conn, msg, answer_factory)
        verdict, applied = self._decide(conn, msg, now, hint)
        answer = answer_factory(verdict)
        keep_payload = verdict.state in ("waiting", "mismatch")
        if verdict.state == "waiting":
            hint.parked(msg.sender_party)
        conn.execute(
            _SET_INBOX,
            {
                "b_id": msg.message_id,
                "answer": answer,
                "answer_type": verdict.answer_type,
                "state": verdict.state,
                "errors": _errors_json(verdict.errors),
                "payload": msg.body if keep_payload else None,
                "applied_at": now if verdict.state == "applied" else None,
            },
        )
        return InboxResult(answer, verdict, applied=applied)

    def _claim(self, conn: Connection, msg: InboxMessage, now: datetime) -> bool:
        """Insert the row with a placeholder answer; False when the id is already taken
        (by an earlier message, or a concurrent transaction that committed first)."""
        row = {
            "message_id": msg.message_id,
            "sender_party": msg.sender_party,
            "type": msg.type,
            "record_id": msg.record_id,
            "version": msg.version,
            "tc_version": msg.tc_version,
            "payload_digest": msg.payload_digest,
            "message_digest": msg.message_digest,
            "message": msg.message,
            "payload": None,
            "answer": b"",
            "answer_type": "RECEIPT",
            "state": "waiting",
            "channel": msg.channel,
            "received_at": now,
            "applied_at": None,
            "errors": None,
        }
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT that returns rows.
        return conn.execute(self._claim_stmt, row).first() is not None

    def _stored(self, conn: Connection, message_id: str) -> StoredAnswer | None:
        row = conn.execute(_STORED, {"b_id": message_id}).one_or_none()
        if row is None:
            return None
        return StoredAnswer(
            answer=row.answer,
            answer_type=row.answer_type,
            state=row.state,
            message_digest=row.message_digest,
            payload_digest=row.payload_digest,
            errors=_errors_of(row.errors),
        )

    def _again(self, conn: Connection, msg: InboxMessage, factory: AnswerFactory) -> InboxResult:
        stored = self._stored(conn, msg.message_id)
        assert stored is not None  # the insert conflicted on this id, rows are never deleted
        if stored.answers(msg.message_digest):
            verdict = Verdict(stored.answer_type, stored.state, stored.errors)
            return InboxResult(stored.answer, verdict, replayed=True)
        error = RejectionError(
            code="exchange.duplicate_message_id",
            field="header.message_id",
            message=f"message id {msg.message_id} was already used for a different message",
        )
        verdict = Verdict("REJECTION", "rejected", (error,), stored=False)
        return InboxResult(factory(verdict), verdict)

    def _decide(
        self, conn: Connection, msg: InboxMessage, now: datetime, hint: _WaitingHint
    ) -> tuple[Verdict, tuple[int, ...]]:
        if msg.errors:
            return Verdict("REJECTION", "rejected", msg.errors), ()
        if msg.type == MessageType.CANCELLATION.value:
            return self._cancel(conn, msg, now), ()
        if msg.type == MessageType.CONTROL_RESULT.value:
            return self._control_result(conn, msg, now), ()
        if msg.type == MessageType.MANIFEST.value:
            return self._manifest(conn, msg, now), ()
        if msg.type not in RECORD_TYPES:
            return Verdict("RECEIPT", "applied"), ()
        assert msg.record_id is not None and msg.version is not None and msg.body is not None
        key = {"b_origin": msg.sender_party, "b_rid": msg.record_id}
        head = conn.execute(_HEAD, key).one_or_none()
        latest = int(head.latest_version) if head is not None else 0
        if head is not None and head.outcome == CANCELLED and msg.version > latest:
            # A cancelled record is not revived by a later version.
            error = RejectionError(
                code="exchange.cancelled",
                field="header.version",
                message=f"record {msg.record_id} was cancelled at version {latest}; "
                f"version {msg.version} is not accepted",
            )
            return Verdict("REJECTION", "rejected", (error,)), ()
        if msg.version <= latest:
            digest = conn.execute(_VERSION_DIGEST, {**key, "b_version": msg.version}).scalar_one()
            if digest == msg.payload_digest:
                return Verdict("RECEIPT", "duplicate"), ()
            return self._mismatch(msg, f"version {latest} is applied with a different content")
        if msg.version > latest + 1:
            other = conn.execute(
                _OTHER_WAITING, {**key, "b_version": msg.version, "b_id": msg.message_id}
            ).first()
            if other is None:
                return Verdict("RECEIPT", "waiting"), ()
            if other.payload_digest == msg.payload_digest:
                return Verdict("RECEIPT", "duplicate"), ()
            return self._mismatch(msg, "another content of this version is already waiting")
        applied = [msg.version]
        self._apply(conn, msg, msg.version, msg.body, now, new_head=head is None)
        if hint.may_wait(msg.sender_party):
            applied.extend(self._apply_waiting(conn, msg, msg.version + 1, now))
        return Verdict("RECEIPT", "applied"), tuple(applied)

    @staticmethod
    def _mismatch(msg: InboxMessage, why: str) -> tuple[Verdict, tuple[int, ...]]:
        return Verdict("REJECTION", "mismatch", (_out_of_sequence(msg, why),)), ()

    def _apply(
        self,
        conn: Connection,
        msg: InboxMessage,
        version: int,
        body: bytes,
        now: datetime,
        *,
        new_head: bool,
        digest: str | None = None,
        tc_version: int | None = None,
    ) -> None:
        assert msg.record_id is not None
        digest = digest or msg.payload_digest
        conn.execute(
            records.insert(),
            {
                "record_id": msg.record_id,
                "version": version,
                "origin_party": msg.sender_party,
                "direction": "in",
                "tc_version": tc_version or msg.tc_version,
                "digest": digest,
                "outcome": RECEIVED,
                "reason": msg.channel,
                "detail": "",
                "body": body,
                "created_at": now,
            }
            | facts_of_body(body),
        )
        head = {
            "latest_version": version,
            "latest_digest": digest,
            "outcome": RECEIVED,
            "updated_at": now,
        }
        if new_head:
            row = {"origin_party": msg.sender_party, "record_id": msg.record_id, **head}
            conn.execute(record_heads.insert(), row)
        else:
            conn.execute(_SET_HEAD, {"b_origin": msg.sender_party, "b_rid": msg.record_id, **head})

    def _apply_waiting(
        self, conn: Connection, msg: InboxMessage, version: int, now: datetime
    ) -> builtins.list[int]:
        applied: builtins.list[int] = []
        key = {"b_origin": msg.sender_party, "b_rid": msg.record_id}
        while True:
            row = conn.execute(_WAITING_VERSION, {**key, "b_version": version}).first()
            if row is None or row.payload is None:
                return applied
            self._apply(
                conn,
                msg,
                version,
                row.payload,
                now,
                new_head=False,
                digest=row.payload_digest,
                tc_version=row.tc_version,
            )
            conn.execute(
                _SET_INBOX,
                {"b_id": row.message_id, "state": "applied", "applied_at": now, "payload": None},
            )
            applied.append(version)
            version += 1

    def _cancel(self, conn: Connection, msg: InboxMessage, now: datetime) -> Verdict:
        """A CANCELLATION names (header and payload) the version it cancels: one we have
        applied. A version never received (above the applied one, or of an unknown record)
        is a rejection; a record already cancelled answers ``duplicate``."""
        key = {"b_origin": msg.sender_party, "b_rid": msg.record_id}
        head = conn.execute(_HEAD, key).one_or_none()
        if head is None:
            error = RejectionError(
                code="exchange.unknown_record",
                field="$.record_id",
                message=f"record {msg.record_id} of {msg.sender_party} is unknown here",
            )
            return Verdict("REJECTION", "rejected", (error,))
        latest = int(head.latest_version)
        if msg.version is None or msg.version > latest:
            error = RejectionError(
                code="exchange.unknown_version",
                field="header.version",
                message=f"record {msg.record_id}: version {msg.version} was never received "
                f"here (the latest received is {latest})",
            )
            return Verdict("REJECTION", "rejected", (error,))
        if head.outcome == CANCELLED:
            return Verdict("RECEIPT", "duplicate")
        conn.execute(_SET_HEAD, {**key, "outcome": CANCELLED, "updated_at": now})
        return Verdict("RECEIPT", "applied")

    def _control_result(self, conn: Connection, msg: InboxMessage, now: datetime) -> Verdict:
        """Link a peer's control result to the record version we sent, and keep it."""
        assert msg.body is not None
        result = ControlResult.model_validate_json(msg.body)
        ours = conn.execute(
            select(records.c.origin_party)
            .where(
                records.c.record_id == result.record_id,
                records.c.version == result.version,
                records.c.direction == "out",
            )
            .limit(1)
        ).scalar_one_or_none()
        if ours is None:
            error = RejectionError(
                code="exchange.unknown_record",
                field="$.record_id",
                message=(
                    f"control result for record {result.record_id} version {result.version}:"
                    " no such record version was sent from here"
                ),
            )
            return Verdict("REJECTION", "rejected", (error,))
        insert_received(conn, msg.sender_party, ours, result, now)
        return Verdict("RECEIPT", "applied")

    def _manifest(self, conn: Connection, msg: InboxMessage, now: datetime) -> Verdict:
        """Keep a peer's signed manifest; the receiver checked its signature, its Party, its
        days and its count before the message came here (``exchange.manifest``)."""
        assert msg.body is not None
        notice = ManifestMessage.model_validate_json(msg.body)
        insert_manifest(
            conn,
            msg.message_id,
            msg.sender_party,
            notice.first_day,
            notice.last_day,
            notice.entries,
            base64.b64decode(notice.manifest),
            now,
        )
        return Verdict("RECEIPT", "applied")
