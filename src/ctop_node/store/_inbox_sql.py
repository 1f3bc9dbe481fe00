"""The inbox's SQL: statements built once, and the mapping of rows to inbox value types."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Row, bindparam, select, text, update

from ctop_node.model.messages import RejectionError
from ctop_node.store._inbox_types import InboxRow
from ctop_node.store.schema import inbox, record_heads, records

_PG_LOCK_KEY = 0x4354_4F49  # "CTOI"
_PG_RECORD_LOCK = text(
    "SELECT pg_advisory_xact_lock(:k, hashtext(current_schema() || ':' || :key))"
)


def _errors_json(errors: tuple[RejectionError, ...]) -> str | None:
    if not errors:
        return None
    return orjson.dumps([e.model_dump() for e in errors]).decode()


def _errors_of(raw: str | None) -> tuple[RejectionError, ...]:
    if not raw:
        return ()
    return tuple(RejectionError.model_validate(e) for e in orjson.loads(raw))


# Statements built once, executed with parameters: building them per call (and their cache
# keys over the bytes values) cost more than the database work.
_SET_INBOX = update(inbox).where(inbox.c.message_id == bindparam("b_id"))
_HEAD = select(record_heads.c.latest_version, record_heads.c.outcome).where(
    record_heads.c.origin_party == bindparam("b_origin"),
    record_heads.c.record_id == bindparam("b_rid"),
)
_SET_HEAD = update(record_heads).where(
    record_heads.c.origin_party == bindparam("b_origin"),
    record_heads.c.record_id == bindparam("b_rid"),
)
_VERSION_DIGEST = select(records.c.digest).where(
    records.c.origin_party == bindparam("b_origin"),
    records.c.record_id == bindparam("b_rid"),
    records.c.version == bindparam("b_version"),
)
_OTHER_WAITING = select(inbox.c.payload_digest).where(
    inbox.c.sender_party == bindparam("b_origin"),
    inbox.c.record_id == bindparam("b_rid"),
    inbox.c.version == bindparam("b_version"),
    inbox.c.state == "waiting",
    inbox.c.message_id != bindparam("b_id"),
)
_WAITING_VERSION = select(
    inbox.c.message_id, inbox.c.payload, inbox.c.payload_digest, inbox.c.tc_version
).where(
    inbox.c.sender_party == bindparam("b_origin"),
    inbox.c.record_id == bindparam("b_rid"),
    inbox.c.version == bindparam("b_version"),
    inbox.c.state == "waiting",
)
_SENDERS_WAITING = (
    select(inbox.c.sender_party)
    .where(
        inbox.c.state == "waiting", inbox.c.sender_party.in_(bindparam("b_senders", expanding=True))
    )
    .distinct()
)
_PG_BATCH_LOCK = text(
    "SELECT count(pg_advisory_xact_lock(:k, h)) FROM ("
    " SELECT hashtext(current_schema() || ':' || key) AS h"
    " FROM unnest(CAST(:keys AS text[])) AS key ORDER BY 1) AS locks"
)
_STORED = select(
    inbox.c.answer,
    inbox.c.answer_type,
    inbox.c.state,
    inbox.c.message_digest,
    inbox.c.payload_digest,
    inbox.c.errors,
).where(inbox.c.message_id == bindparam("b_id"))

_SUMMARY = (
    inbox.c.message_id,
    inbox.c.sender_party,
    inbox.c.type,
    inbox.c.record_id,
    inbox.c.version,
    inbox.c.tc_version,
    inbox.c.state,
    inbox.c.answer_type,
    inbox.c.channel,
    inbox.c.received_at,
    inbox.c.applied_at,
    inbox.c.errors,
)


def _row(r: Row[Any, *tuple[Any, ...]]) -> InboxRow:
    m = r._mapping
    return InboxRow(
        message_id=m["message_id"],
        sender_party=m["sender_party"],
        type=m["type"],
        record_id=m["record_id"],
        version=m["version"],
        tc_version=m["tc_version"],
        state=m["state"],
        answer_type=m["answer_type"],
        channel=m["channel"],
        received_at=m["received_at"],
        applied_at=m["applied_at"],
        errors=_errors_of(m["errors"]),
    )
