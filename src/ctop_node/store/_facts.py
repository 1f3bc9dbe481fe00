"""The few fields of a record the report groups by, kept as columns of ``records`` so the
report never parses bodies: crossing point, planned crossing, the carrier's channel wish."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from ctop_node.model.record import Consignment


def facts_of_record(record: Consignment) -> dict[str, Any]:
    return {
        "crossing_point": record.train.crossing_point[:64],
        "planned_crossing_at": record.train.planned_crossing_at.astimezone(UTC),
        "channel_wish": record.channel.value,
    }


def facts_of_body(body: bytes) -> dict[str, Any]:
    """From canonical JSON (a received record): what is missing or malformed stays NULL."""
    facts: dict[str, Any] = {"crossing_point": None, "planned_crossing_at": None}
    facts["channel_wish"] = None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return facts
    train = data.get("train") if isinstance(data, dict) else None
    if not isinstance(train, dict):
        return facts
    crossing = train.get("crossing_point")
    facts["crossing_point"] = str(crossing)[:64] if crossing else None
    try:
        planned = datetime.fromisoformat(str(train.get("planned_crossing_at")))
        if planned.tzinfo is not None:
            facts["planned_crossing_at"] = planned.astimezone(UTC)
    except ValueError:
        pass
    facts["channel_wish"] = str(data.get("channel") or "online")[:8]
    return facts
