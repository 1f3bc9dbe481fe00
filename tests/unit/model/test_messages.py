"""Exchange payloads: the signed RECEIPT states its outcome, every time has one form (RFC 3339,
UTC, seconds, Z), a missing value is absent, and the published JSON Schema says so."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from pydantic import ValidationError

from ctop_node.model.canonical import canonical_bytes
from ctop_node.model.messages import UTC_TIME_PATTERN, ControlResult, Receipt, Rejection
from ctop_node.tc.registry import DEFAULT_REGISTRY

DIGEST = "ab" * 32


def receipt(**kw: object) -> Receipt:
    fields: dict[str, object] = {
        "message_id": "m1",
        "message_digest": DIGEST,
        "status": "applied",
        "stored_at": datetime(2026, 11, 28, 8, 15, 0, 987_654, tzinfo=UTC),
    }
    return Receipt.model_validate(fields | kw)


def test_receipt_payload_states_status_and_time_in_one_form() -> None:
    almaty = timezone(timedelta(hours=5))
    r = receipt(stored_at=datetime(2026, 11, 28, 13, 15, 0, 500_000, tzinfo=almaty))
    data = orjson.loads(canonical_bytes(r))
    assert data == {
        "message_id": "m1",
        "message_digest": DIGEST,
        "status": "applied",
        "stored_at": "2026-11-28T08:15:00Z",  # UTC, fraction cut
    }
    assert Receipt.model_validate_json(canonical_bytes(r)) == r


@pytest.mark.parametrize("status", ["applied", "waiting", "duplicate"])
def test_every_receipt_status_round_trips(status: str) -> None:
    assert Receipt.model_validate_json(canonical_bytes(receipt(status=status))).status == status


@pytest.mark.parametrize(
    "bad",
    [
        {"status": "stored"},
        {"status": None},
        {"stored_at": "2026-11-28T08:15:00+00:00"},
        {"stored_at": "2026-11-28T08:15:00.123Z"},
        {"stored_at": "2026-11-28 08:15:00Z"},
        {"stored_at": ""},
        {"stored_at": datetime(2026, 11, 28, 8, 15)},  # naive
    ],
)
def test_receipt_refuses_other_forms(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        receipt(**bad)


def test_missing_values_are_absent_never_empty_strings() -> None:
    rejection = Rejection.model_validate(
        {"message_id": "m1", "errors": [{"code": "c", "field": "$", "message": "m"}]}
    )
    assert "message_digest" not in orjson.loads(canonical_bytes(rejection))
    result = ControlResult(record_id="R-1", version=1, office="DOSTYK", country="KZ")
    assert "arrived_at" not in orjson.loads(canonical_bytes(result))
    arrived = ControlResult(
        record_id="R-1",
        version=1,
        office="DOSTYK",
        country="KZ",
        arrived_at=datetime(2026, 11, 28, 8, 0, tzinfo=UTC),
    )
    assert orjson.loads(canonical_bytes(arrived))["arrived_at"] == "2026-11-28T08:00:00Z"


def test_published_schema_names_status_and_time_pattern() -> None:
    schema = DEFAULT_REGISTRY.get(1).json_schema()
    text = orjson.dumps(schema).decode()
    assert '"applied","waiting","duplicate"' in text
    assert UTC_TIME_PATTERN.replace("\\", "\\\\") in text
    assert re.fullmatch(UTC_TIME_PATTERN, "2026-11-28T08:15:00Z")
