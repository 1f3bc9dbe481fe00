"""Building ingest entries for store tests from plain record dicts."""

from __future__ import annotations

from typing import Any

from ctop_node.errors import FieldError
from ctop_node.model.canonical import canonical_bytes, digest
from ctop_node.model.record import Consignment
from ctop_node.rules.outcome import OutcomeKind
from ctop_node.store.interfaces import Accepted, IngestEntry
from ctop_node.tc import registry


def accepted(data: dict[str, Any]) -> Accepted:
    tc = registry.DEFAULT_REGISTRY.latest
    record = tc.validate_record(data)
    assert isinstance(record, Consignment)
    body = canonical_bytes(record)
    return Accepted(record, tc.version, digest(body), body)


def entry(
    data: dict[str, Any],
    *,
    outcome: OutcomeKind = OutcomeKind.TO_SEND,
    peers: tuple[str, ...] = ("CN",),
    position: str = "line 1",
) -> IngestEntry:
    return IngestEntry(
        source="in.jsonl",
        position=position,
        record_id=data["record_id"],
        outcome=outcome,
        reason="art2.route" if outcome is OutcomeKind.TO_SEND else f"test.{outcome.value}",
        detail="",
        accepted=accepted(data),
        peers=peers if outcome is OutcomeKind.TO_SEND else (),
    )


def rejected(record_id: str | None, position: str = "line 9") -> IngestEntry:
    err = FieldError(record_id, "$.containers[0].number", "record.container.check_digit", "bad")
    return IngestEntry(
        source="in.jsonl",
        position=position,
        record_id=record_id,
        outcome=OutcomeKind.REJECTED,
        reason="tc.invalid",
        detail="bad check digit",
        errors=(err,),
    )


def changed(data: dict[str, Any], note: str) -> dict[str, Any]:
    """The same record with another goods description: a new version."""
    goods = [dict(g) for g in data["goods"]]
    goods[0]["description"] = f"{goods[0]['description']} ({note})"
    return {**data, "goods": goods}


def with_id(data: dict[str, Any], record_id: str) -> dict[str, Any]:
    return {**data, "record_id": record_id}
