"""A toy v2 of the technical conditions, side by side with v1 in a registry of the tests.

It adds an optional field with a rule of its own and shortens one limit, so ``tc diff 1 2``
has an added field, a changed field and an added rule to report.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from ctop_node.model.messages import Cancellation, MessageType
from ctop_node.model.record import Consignment
from ctop_node.tc.registry import Rule, TcRegistry, TcVersion
from ctop_node.tc.v1 import TC_V1


class ConsignmentV2(Consignment):
    """Toy v2 record: one extra optional field."""

    customs_priority: Annotated[int, Field(ge=1, le=3)] | None = None

    @model_validator(mode="after")
    def _priority_needs_a_lock(self) -> ConsignmentV2:
        if self.customs_priority == 1 and any(c.smart_lock_id is None for c in self.containers):
            raise PydanticCustomError(
                "record.priority.lock",
                "customs_priority 1 needs a smart lock on every container",
                {"field_loc": ("customs_priority",)},
            )
        return self


class CancellationV2(Cancellation):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]


def _upgrade_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return data  # v2 only adds an optional field: v1 data is valid v2 data


PRIORITY_RULE = Rule(
    "record.priority.lock",
    ("customs_priority", "containers[].smart_lock_id"),
    "A record with customs_priority 1 names a smart lock on every container.",
)

TC_V2 = TcVersion(
    version=2,
    record_model=ConsignmentV2,
    payloads={
        **TC_V1.payloads,
        MessageType.CONSIGNMENT: ConsignmentV2,
        MessageType.AMENDMENT: ConsignmentV2,
        MessageType.CANCELLATION: CancellationV2,
    },
    upgrade=_upgrade_v1_to_v2,
    title="Toy technical conditions v2",
    rules=(*TC_V1.rules, PRIORITY_RULE),
)


def registry_v1_v2() -> TcRegistry:
    registry = TcRegistry()
    registry.register(TC_V1)
    registry.register(TC_V2)
    return registry
