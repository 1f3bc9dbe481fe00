"""Technical conditions version 1: the data set agreed for the first exchange."""

from __future__ import annotations

from ctop_node.model.messages import (
    Cancellation,
    ControlResult,
    ManifestMessage,
    MessageType,
    Receipt,
    Rejection,
)
from ctop_node.model.record import Consignment
from ctop_node.tc.registry import Rule, TcVersion

# What the record's own validators check beyond any one field's pattern. Each rule is proved
# enforced by tests/unit/tc/test_schema_agreement.py (a record breaking it gets its code).
RULES_V1 = (
    Rule(
        "record.container.check_digit",
        ("containers[].number", "goods[].container_number"),
        "The 11th character of a container number is its ISO 6346 check digit.",
    ),
    Rule(
        "record.wagon.check_digit",
        ("wagons[].number",),
        "A wagon number of the 1520 mm network (gauge 1520) has 8 digits, the last a check "
        "digit (weights 2,1,2,1,2,1,2; digit sums); 1435 mm numbers are checked by pattern only.",
    ),
    Rule(
        "record.goods.net_above_gross",
        ("goods[].net_mass_kg", "goods[].gross_mass_kg"),
        "The net mass of a goods item is not above its gross mass.",
    ),
    Rule(
        "record.container.unknown_wagon",
        ("containers[].wagon_number", "wagons[].number"),
        "Every container is on a wagon listed in the record.",
    ),
    Rule(
        "record.goods.unknown_container",
        ("goods[].container_number", "containers[].number"),
        "Every goods item is in a container listed in the record.",
    ),
    Rule(
        "record.container.mass",
        ("containers[].gross_mass_kg", "goods[].gross_mass_kg"),
        "The goods in a container weigh, gross, no more than the container's gross mass.",
    ),
)

TC_V1 = TcVersion(
    version=1,
    record_model=Consignment,
    payloads={
        MessageType.CONSIGNMENT: Consignment,
        MessageType.AMENDMENT: Consignment,
        MessageType.CANCELLATION: Cancellation,
        MessageType.RECEIPT: Receipt,
        MessageType.REJECTION: Rejection,
        MessageType.CONTROL_RESULT: ControlResult,
        MessageType.MANIFEST: ManifestMessage,
    },
    title="CTOP technical conditions v1 (KZ-CN Protocol of 4 February 2021)",
    rules=RULES_V1,
)
