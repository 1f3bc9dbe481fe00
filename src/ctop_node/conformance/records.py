"""The records the kit sends: one valid consignment of the kit's Party to the peer, made
unique per run and scenario, and the variations scenarios need (another content, a broken
check digit, a wrong route)."""

from __future__ import annotations

import copy
from typing import Any

from ctop_node.model.canonical import canonical_bytes
from ctop_node.model.record import Consignment

_TEMPLATE: dict[str, Any] = {
    "declaration": {
        "number": "55180/251126/0000001",
        "date": "2026-11-25",
        "customs_office": "55180",
        "procedure": "export",
    },
    "exporter": {
        "name": "Conformance Exporter LLP",
        "country": "KZ",
        "national_id": "180140012345",
    },
    "consignee": {"name": "Conformance Consignee Ltd", "country": "CN"},
    "carrier": {"name": "Conformance Rail JSC", "country": "KZ"},
    "train": {
        "number": "1001",
        "departure_station": {"code": "690007", "name": "Almaty-1", "country": "KZ"},
        "crossing_point": "DOSTYK-ALASHANKOU",
        "planned_crossing_at": "2026-11-26T14:30:00+05:00",
    },
    "wagons": [{"number": "52000510", "gauge": "1520"}],
    "containers": [
        {
            "number": "CSQU3054383",
            "wagon_number": "52000510",
            "size_type": "45G1",
            "gross_mass_kg": "28500.000",
            "seals": ["KZ1234567"],
            "smart_lock_id": "LOCK-CONF-0001",
        }
    ],
    "goods": [
        {
            "container_number": "CSQU3054383",
            "hs_code": "100199",
            "description": "Wheat, other than durum",
            "packages": 1,
            "package_type": "VR",
            "gross_mass_kg": "24000.000",
            "net_mass_kg": "24000.000",
            "value": "6240.00",
            "currency": "USD",
            "quantity": "24000.000",
            "unit": "KGM",
        }
    ],
    "transport_document": {"type": "SMGS", "number": "SMGS-26-0000001"},
    "flags": {"personal_use": False, "postal_item": False, "state_secret": False},
    "channel": "online",
}


def record(record_id: str, sender: str, recipient: str, *, revision: int = 1) -> dict[str, Any]:
    """A valid record of ``sender`` exported to ``recipient``; ``revision`` changes its
    content (the transport document number), as a new version would."""
    data = copy.deepcopy(_TEMPLATE)
    data["record_id"] = record_id
    data["sender_party"] = sender
    for role, country in (("exporter", sender), ("consignee", recipient), ("carrier", sender)):
        data[role]["country"] = country
    data["route"] = {
        "dispatch_country": sender,
        "destination_country": recipient,
        "transit_countries": [],
    }
    data["transport_document"]["number"] = f"SMGS-26-{revision:07d}"
    return data


def body(data: dict[str, Any]) -> bytes:
    """The canonical JSON of a valid record: the payload both channels carry."""
    return canonical_bytes(Consignment.model_validate(data))


def raw_body(data: dict[str, Any]) -> bytes:
    """Sorted compact JSON without validation: for records that break a rule on purpose."""
    return canonical_bytes(data)


def with_bad_check_digit(data: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    out["containers"][0]["number"] = "CSQU3054384"
    out["goods"][0]["container_number"] = "CSQU3054384"
    return out


def with_route(data: dict[str, Any], destination: str) -> dict[str, Any]:
    out = copy.deepcopy(data)
    out["route"]["destination_country"] = destination
    return out
