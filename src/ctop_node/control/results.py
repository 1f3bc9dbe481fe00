"""Control results as the arrival view needs them: the customs decision of a record.

``released`` -> :attr:`Status.RELEASED`; ``held`` or ``further_control`` (or a result with
no decision yet) -> :attr:`Status.UNDER_CONTROL`. The latest result of a record counts.
"""

from __future__ import annotations

from datetime import datetime

from ctop_node.control.arrival import Status
from ctop_node.model.messages import ContainerFound, ControlResult, Discrepancy
from ctop_node.store.control import ControlStore

DECISIONS = ("released", "held", "further_control")
SEAL_STATUSES = ("intact", "broken", "missing", "not_checked")


def status_of(decision: str | None) -> Status:
    return Status.RELEASED if decision == "released" else Status.UNDER_CONTROL


class StoreControlOutcomes:
    """The ``ControlOutcomes`` hook over the stored control results."""

    def __init__(self, store: ControlStore) -> None:
        self.store = store

    def outcome(self, origin_party: str, record_id: str) -> Status | None:
        rows = self.store.for_record(origin_party, record_id)
        return status_of(rows[-1].decision) if rows else None


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
