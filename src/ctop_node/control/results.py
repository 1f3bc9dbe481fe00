"""Control results as the arrival view needs them: the customs decision of a record.

``released`` -> :attr:`Status.RELEASED`; ``held`` or ``further_control`` (or a result with
no decision yet) -> :attr:`Status.UNDER_CONTROL`. The latest result of a record counts.
"""

from __future__ import annotations

import time
from datetime import datetime

from ctop_node.control.arrival import Status
from ctop_node.model.messages import ContainerFound, ControlResult, Discrepancy
from ctop_node.store.control import ControlStore

DECISIONS = ("released", "held", "further_control")
SEAL_STATUSES = ("intact", "broken", "missing", "not_checked")


def status_of(decision: str | None) -> Status:
    return Status.RELEASED if decision == "released" else Status.UNDER_CONTROL


class StoreControlOutcomes:
    """The ``ControlOutcomes`` hook over the stored control results.

    A page asks for every record it shows: the latest decision of every controlled record is
    read in one query and kept for ``max_age`` seconds (control results are few, records
    many), so a train list costs one query, not one per record."""

    def __init__(self, store: ControlStore, max_age: float = 1.0) -> None:
        self.store = store
        self.max_age = max_age
        self._read_at = float("-inf")
        self._latest: dict[tuple[str, str], str | None] = {}
        self._generation = -1

    def outcome(self, origin_party: str, record_id: str) -> Status | None:
        now = time.monotonic()
        if now - self._read_at > self.max_age or self._generation != self.store.generation:
            self._generation = self.store.generation
            self._latest = self.store.latest_decisions()
            self._read_at = now
        key = (origin_party, record_id)
        return status_of(self._latest[key]) if key in self._latest else None


def build_result(
    *,
    record_id: str,
    version: int,
    office: str,
    country: str,
    arrived_at: datetime | None,
    seal_status: str,
    findings: str | None,
    decision: str,
    missing_goods: list[str] | None = None,
    containers: list[ContainerFound] | None = None,
) -> ControlResult:
    """A control result from what the officer entered (raises pydantic's ValidationError on
    a bad field, which the callers turn into an answer naming the field)."""
    discrepancies = [
        Discrepancy(code="goods.missing", field=f"$.goods[{item}]", description=f"missing: {item}")
        for item in missing_goods or ()
    ]
    return ControlResult.model_validate(
        {
            "record_id": record_id,
            "version": version,
            "arrived_at": arrived_at,
            "seal_status": seal_status,
            "discrepancies": [d.model_dump() for d in discrepancies],
            "released": decision == "released",
            "decision": decision,
            "findings": findings or None,
            "containers": [c.model_dump() for c in containers or ()],
            "office": office,
            "country": country,
        }
    )
