"""Sealed messages between two real node homes (``tests._homes``: KZ and CN, each with its
own Party CA), for the receiver, endpoint and end-to-end tests."""

from __future__ import annotations

import copy
import dataclasses
import uuid
from typing import Any

import orjson

from ctop_node.crypto.envelope import EnvelopeHeader, seal
from ctop_node.crypto.interfaces import Signer
from ctop_node.model.canonical import canonical_bytes
from ctop_node.model.messages import Cancellation, MessageType
from ctop_node.model.record import Consignment
from tests._homes import Home


def record_body(data: dict[str, Any]) -> bytes:
    """The canonical body of a valid record, or sorted JSON of an invalid one."""
    try:
        return canonical_bytes(Consignment.model_validate(data))
    except ValueError:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def amended(data: dict[str, Any], n: int) -> dict[str, Any]:
    """A different (valid) content of the same record."""
    out = copy.deepcopy(data)
    out["transport_document"]["number"] = f"SMGS-26-{n:07d}"
    return out


def sealed(
    sender: Home,
    payload: bytes,
    *,
    mtype: MessageType = MessageType.CONSIGNMENT,
    record_id: str | None = None,
    version: int | None = 1,
    message_id: str | None = None,
    recipient: str = "CN",
    tc_version: str = "1",
    signer: Signer | None = None,
) -> bytes:
    header = EnvelopeHeader.new(
        mtype,
        sender=sender.party,
        recipient=recipient,
        tc_version=tc_version,
        record_id=record_id,
        version=version,
    )
    if message_id is not None:
        header = dataclasses.replace(header, message_id=message_id)
    key = sender.trust().recipient_key(recipient)
    return seal(header, payload, signer or sender.signer, key)


def record_message(
    sender: Home,
    data: dict[str, Any],
    *,
    version: int = 1,
    message_id: str | None = None,
    **kw: Any,
) -> bytes:
    mtype = MessageType.CONSIGNMENT if version == 1 else MessageType.AMENDMENT
    return sealed(
        sender,
        record_body(data),
        mtype=mtype,
        record_id=data["record_id"],
        version=version,
        message_id=message_id,
        **kw,
    )


def cancellation_message(sender: Home, record_id: str, version: int = 1) -> bytes:
    body = canonical_bytes(Cancellation(record_id=record_id, version=version, reason="cancelled"))
    return sealed(
        sender, body, mtype=MessageType.CANCELLATION, record_id=record_id, version=version
    )


def new_id() -> str:
    return str(uuid.uuid4())
