"""Two-stage validation of an authenticated message: schema (technical conditions), then
business rules. Pure: no I/O, no keys; the receiver turns the result into an inbox row.

Stage 1, by message type through the tc registry: the header's tc version must be known,
the type must be one a peer may send, the payload must be valid JSON of the type's model.
Stage 2, for records: the header names the record and version of the payload, CONSIGNMENT is
version 1 and AMENDMENT above 1, the record's ``sender_party`` is the Party that signed, the
route takes the goods from the sender to us (Art.2 from the receiving side), and the payload
is the canonical form of the record (both channels and both nodes digest the same bytes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import orjson
from pydantic import BaseModel

from ctop_node.errors import TcError, ValidationFailed
from ctop_node.model.canonical import canonical_bytes
from ctop_node.model.messages import Cancellation, ManifestMessage, MessageType, RejectionError
from ctop_node.model.record import Consignment
from ctop_node.model.reference import Agreement
from ctop_node.rules.routing import reaches_after
from ctop_node.tc.registry import TcRegistry, TcVersion, validate

# Types a peer sends as messages; RECEIPT and REJECTION travel back in the HTTP answer.
INCOMING_TYPES = frozenset(
    {
        MessageType.CONSIGNMENT,
        MessageType.AMENDMENT,
        MessageType.CANCELLATION,
        MessageType.CONTROL_RESULT,
        MessageType.MANIFEST,
    }
)
_WITH_BODY = frozenset(
    {
        MessageType.CONSIGNMENT,
        MessageType.AMENDMENT,
        MessageType.CONTROL_RESULT,
        MessageType.MANIFEST,
    }
)
MAX_ERRORS = 50  # a REJECTION names the first errors, not a megabyte of them


class MessageFields(Protocol):
    """The header fields the check reads, whatever envelope carried them (the online
    ``EnvelopeHeader`` has them; the lock reader fills a :class:`Fields`)."""

    @property
    def type(self) -> MessageType: ...
    @property
    def tc_version(self) -> str: ...
    @property
    def record_id(self) -> str | None: ...
    @property
    def version(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Fields:
    """Plain :class:`MessageFields`, for a channel whose envelope has no such header."""

    type: MessageType
    tc_version: str
    record_id: str | None
    version: int | None


@dataclass(frozen=True, slots=True)
class Checked:
    tc_version: int  # 0 when the header's tc version is not a number
    body: bytes | None = None  # the record body to apply (valid CONSIGNMENT / AMENDMENT)
    errors: tuple[RejectionError, ...] = ()


def _error(code: str, field: str, message: str) -> RejectionError:
    return RejectionError(code=code, field=field, message=message)


def tc_number(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else 0


def check_message(
    head: MessageFields, payload: bytes, *, signer: str, party: str, registry: TcRegistry
) -> Checked:
    """Check one authenticated message: ``payload`` (plaintext) described by ``head``,
    signed by Party ``signer``, received by ``party``."""
    number = tc_number(head.tc_version)
    try:
        tc = registry.get(number)
    except TcError as exc:
        return Checked(number, errors=(_error(exc.code, "header.tc_version", exc.message),))
    if head.type not in INCOMING_TYPES or head.type not in tc.payloads:
        message = f"{head.type.value} is not accepted as a message from a peer"
        return Checked(number, errors=(_error("exchange.unexpected_type", "header.type", message),))
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        message = f"the payload is not JSON: {exc}"
        return Checked(number, errors=(_error("exchange.payload", "$", message),))
    try:
        model = _schema(tc, head.type, data)
    except ValidationFailed as exc:
        errors = tuple(_error(e.code, e.field, e.message) for e in exc.errors[:MAX_ERRORS])
        return Checked(number, errors=errors)
    errors = tuple(_business(head, payload, signer, party, model))
    if errors:
        return Checked(number, errors=errors)
    # Records are applied from the body; a control result's body is linked to our record;
    # a manifest's is kept (its inner signature is the receiver's check: it needs keys).
    body = payload if head.type in _WITH_BODY else None
    return Checked(number, body=body)


def _schema(tc: TcVersion, mtype: MessageType, data: Any) -> BaseModel:
    if mtype in (MessageType.CONSIGNMENT, MessageType.AMENDMENT):
        return tc.validate_record(data)
    return validate(tc.payloads[mtype], data)


def _business(
    head: MessageFields, payload: bytes, signer: str, party: str, model: BaseModel
) -> list[RejectionError]:
    if isinstance(model, ManifestMessage):
        # About a period, not a record: the header names none.
        if head.record_id is not None or head.version is not None:
            return [
                _error(
                    "exchange.header",
                    "header.record_id",
                    "a MANIFEST names no record or version in its header",
                )
            ]
        return []
    record_id = getattr(model, "record_id", None)
    if head.record_id is None or head.record_id != record_id:
        return [
            _error(
                "exchange.header",
                "header.record_id",
                f"header names record {head.record_id!r}, the payload {record_id!r}",
            )
        ]
    if isinstance(model, Cancellation) and head.version != model.version:
        # The header names the version cancelled, so the inbox can judge it unopened.
        return [
            _error(
                "exchange.header",
                "header.version",
                f"header names version {head.version}, the cancellation {model.version}",
            )
        ]
    if not isinstance(model, Consignment):
        return []
    version = head.version
    if version is None or (head.type is MessageType.CONSIGNMENT) != (version == 1):
        return [
            _error(
                "exchange.version_type",
                "header.version",
                f"{head.type.value} cannot carry version {version}",
            )
        ]
    errors = []
    if model.sender_party != signer:
        errors.append(
            _error(
                "exchange.sender_mismatch",
                "$.sender_party",
                f"record cleared by {model.sender_party}, sent by {signer}",
            )
        )
    if not reaches_after(model.route.sequence(), signer, party):
        route = "-".join(model.route.sequence())
        errors.append(
            _error(
                "exchange.wrong_route",
                "$.route",
                f"route {route} does not lead from {signer} to {party}",
            )
        )
    if not errors and canonical_bytes(model) != payload:
        errors.append(
            _error(
                "exchange.not_canonical",
                "$",
                "the payload is not the canonical JSON of the record (sorted keys, no spaces)",
            )
        )
    return errors


# -- rules of the exchange itself (not of the payload) ----------------------------------

DEFAULT_MAX_SKEW = timedelta(minutes=10)


def _utc_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_clock(created_at: datetime, now: datetime, max_skew: timedelta) -> RejectionError | None:
    """``created_at`` (the header's sending time) within ``max_skew`` of our clock, either
    way. Online channel only: a lock payload is read days after sealing and is bounded by
    its expiry instead."""
    if abs(created_at - now) <= max_skew:
        return None
    ahead = created_at > now
    gap = int(abs(created_at - now).total_seconds())
    return _error(
        "exchange.clock_skew",
        "header.created_at",
        f"created at {_utc_text(created_at)}, {gap} s {'ahead of' if ahead else 'behind'} "
        f"our clock ({_utc_text(now)}); at most {int(max_skew.total_seconds())} s is accepted",
    )


def check_agreement(
    tc_version: int, sender: str, party: str, agreements: Sequence[Agreement], day: date
) -> RejectionError | None:
    """The tc version is named by an agreement in force on ``day`` between ``sender`` and
    ``party`` (agreements are data: each lists its ``tc_versions``)."""
    for agreement in agreements:
        pair = {sender, party} <= agreement.parties
        if pair and agreement.in_force(day) and tc_version in agreement.tc_versions:
            return None
    return _error(
        "exchange.tc_not_agreed",
        "header.tc_version",
        f"no agreement in force between {sender} and {party} names technical conditions "
        f"version {tc_version}",
    )
