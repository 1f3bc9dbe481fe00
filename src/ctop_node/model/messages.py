"""Message types of the exchange and the payloads that are not a record.

The envelope (ids, parties, digest, signature) lives with the crypto profile; here are the
business payloads that the technical conditions publish as JSON Schema.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

from ctop_node.model.record import Country, Mass, RecordId, ShortText, Text


class MessageType(StrEnum):
    CONSIGNMENT = "CONSIGNMENT"
    AMENDMENT = "AMENDMENT"
    CANCELLATION = "CANCELLATION"
    RECEIPT = "RECEIPT"
    REJECTION = "REJECTION"
    CONTROL_RESULT = "CONTROL_RESULT"
    MANIFEST = "MANIFEST"


Digest = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

# Every time in an exchange payload: RFC 3339, UTC, second precision, "Z" (one form, so
# two implementations write byte-identical payloads for the same instant).
UTC_TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
_UTC_TIME = re.compile(UTC_TIME_PATTERN)
UTC_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_time(value: datetime) -> str:
    """``value`` in the payload time form (fractions of a second are cut, not rounded)."""
    if value.tzinfo is None:
        raise ValueError("a payload time must carry an offset")
    return value.astimezone(UTC).strftime(UTC_TIME_FORMAT)


def _parse_utc_time(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a payload time must carry an offset")
        return value.astimezone(UTC).replace(microsecond=0)
    if not isinstance(value, str) or not _UTC_TIME.match(value):
        raise ValueError("must be an RFC 3339 UTC time with seconds and Z: 2026-01-31T08:15:00Z")
    return datetime.strptime(value, UTC_TIME_FORMAT).replace(tzinfo=UTC)


UtcTime = Annotated[
    datetime,
    BeforeValidator(_parse_utc_time),
    PlainSerializer(utc_time, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": UTC_TIME_PATTERN}),
]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cancellation(_Payload):
    record_id: RecordId
    version: Annotated[int, Field(ge=1)]
    reason: Text


ReceiptStatus = Literal["applied", "waiting", "duplicate"]


class Receipt(_Payload):
    """Technical acknowledgement: the receiver durably stored a valid message.

    ``status`` says what storing it did, under the receiver's signature: ``applied`` (the
    record version or cancellation took effect), ``waiting`` (stored; an earlier version
    of the record is missing, it is applied when that arrives), ``duplicate`` (the same
    content was already stored under another message id: nothing changed). One receipt is
    signed per message: each is standalone evidence for one record."""

    message_id: str
    message_digest: Digest
    status: ReceiptStatus
    stored_at: UtcTime


class RejectionError(_Payload):
    code: str
    field: str
    message: str


class Rejection(_Payload):
    """Functional error: which rule failed at which field."""

    message_id: str
    message_digest: Digest | None = None
    errors: list[RejectionError] = Field(min_length=1)


class Discrepancy(_Payload):
    code: str
    field: str | None = None
    description: Text


class ContainerFound(_Payload):
    """What the receiving customs found on one container at arrival."""

    number: ShortText
    gross_mass_kg: Mass | None = None
    seals: list[ShortText] = Field(default_factory=list, max_length=16)
    smart_lock_id: ShortText | None = None


class ControlResult(_Payload):
    """What the receiving customs found for a record version."""

    record_id: RecordId
    version: Annotated[int, Field(ge=1)]
    arrived_at: UtcTime | None = None
    seal_status: Literal["intact", "broken", "missing", "not_checked"] = "not_checked"
    discrepancies: list[Discrepancy] = Field(default_factory=list)
    released: bool = False
    # The customs decision; ``released`` stays for readers of the first form of this payload.
    decision: Literal["released", "held", "further_control"] | None = None
    findings: Text | None = None  # the inspection findings, as the officer wrote them
    containers: list[ContainerFound] = Field(default_factory=list, max_length=500)
    office: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9_\-/.]{0,63}$")]
    country: Country


# The signed manifest travels base64-encoded inside the (at most 8 MiB) sealed message.
MAX_MANIFEST_TEXT = 6 * 1024 * 1024
Base64Text = Annotated[
    str,
    StringConstraints(
        pattern=r"^[A-Za-z0-9+/]*={0,2}$", min_length=4, max_length=MAX_MANIFEST_TEXT
    ),
]


class ManifestMessage(_Payload):
    """A node's signed manifest (Art.5) of the UTC days ``first_day`` .. ``last_day``, sent
    to the peer so that it can reconcile it with what it holds.

    ``manifest`` is the same COSE_Sign1 that ``ctop-node manifest --out`` writes to a file
    (standard base64): signed on its own by the sending node, so the receiver keeps it as
    evidence independent of the envelope. ``entries`` is the number of entries it lists."""

    first_day: date
    last_day: date
    entries: Annotated[int, Field(ge=0)]
    manifest: Base64Text
