"""Message types of the exchange and the payloads that are not a record.

The envelope (ids, parties, digest, signature) lives with the crypto profile; here are the
business payloads that the technical conditions publish as JSON Schema.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from ctop_node.model.record import Country, Mass, RecordId, ShortText, Text


class MessageType(StrEnum):
    CONSIGNMENT = "CONSIGNMENT"
    AMENDMENT = "AMENDMENT"
    CANCELLATION = "CANCELLATION"
    RECEIPT = "RECEIPT"
    REJECTION = "REJECTION"
    CONTROL_RESULT = "CONTROL_RESULT"


Digest = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cancellation(_Payload):
    record_id: RecordId
    version: Annotated[int, Field(ge=1)]
    reason: Text


class Receipt(_Payload):
    """Technical acknowledgement: the receiver durably stored a valid message."""

    message_id: str
    message_digest: Digest
    stored_at: AwareDatetime


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
    arrived_at: AwareDatetime | None = None
    seal_status: Literal["intact", "broken", "missing", "not_checked"] = "not_checked"
    discrepancies: list[Discrepancy] = Field(default_factory=list)
    released: bool = False
    # The customs decision; ``released`` stays for readers of the first form of this payload.
    decision: Literal["released", "held", "further_control"] | None = None
    findings: Text | None = None  # the inspection findings, as the officer wrote them
    containers: list[ContainerFound] = Field(default_factory=list, max_length=500)
    office: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9_\-/.]{0,63}$")]
    country: Country
