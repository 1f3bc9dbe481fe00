"""The record model: each rule names the field it blames."""

from __future__ import annotations

from typing import Any

import pytest

from ctop_node.errors import ValidationFailed
from ctop_node.model.canonical import canonical_bytes, digest
from ctop_node.tc import DEFAULT_REGISTRY


def _errors(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as info:
        DEFAULT_REGISTRY.latest.validate_record(data)
    assert info.value.record_id == data.get("record_id")
    return {e.field: e.code for e in info.value.errors}


def test_valid_record(record_dict: dict[str, Any]) -> None:
    record = DEFAULT_REGISTRY.latest.validate_record(record_dict)
    assert record.record_id == "KZ-551800-2026-000001"  # type: ignore[attr-defined]


def test_several_errors_each_with_path_and_code(record_dict: dict[str, Any]) -> None:
    record_dict["containers"][0]["number"] = "CSQU3054384"
    record_dict["wagons"][0]["number"] = "52000511"
    record_dict["goods"][0]["currency"] = "USX"
    record_dict["route"]["transit_countries"] = ["XX"]
    record_dict["unexpected"] = 1
    del record_dict["carrier"]
    assert _errors(record_dict) == {
        "$.containers[0].number": "record.container.check_digit",
        "$.wagons[0].number": "record.wagon.check_digit",
        "$.goods[0].currency": "record.code_list.currency",
        "$.route.transit_countries[0]": "record.code_list.country",
        "$.unexpected": "record.unknown_field",
        "$.carrier": "record.missing",
    }


def test_goods_heavier_than_container(record_dict: dict[str, Any]) -> None:
    record_dict["goods"][0]["gross_mass_kg"] = "30000"
    record_dict["goods"][0]["net_mass_kg"] = "29000"
    assert _errors(record_dict) == {"$.containers[0].gross_mass_kg": "record.container.mass"}


def test_container_on_unknown_wagon_and_goods_in_unknown_container(
    record_dict: dict[str, Any],
) -> None:
    record_dict["containers"][0]["wagon_number"] = "62094784"
    assert _errors(record_dict) == {
        "$.containers[0].wagon_number": "record.container.unknown_wagon"
    }


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        (("goods", 0, "gross_mass_kg"), "-1", "record.range"),
        (("goods", 0, "value"), "12.345", "record.range"),
        (("goods", 0, "gross_mass_kg"), "abc", "record.type"),
        (("goods", 0, "gross_mass_kg"), 0.1 + 0.2, "record.range"),
        (("train", "planned_crossing_at"), "2026-11-26T14:30:00", "record.datetime.offset"),
        (("declaration", "procedure"), "import", "record.code_list"),
        (("goods", 0, "hs_code"), "10019", "record.goods.hs_code"),
        (("goods", 0, "net_mass_kg"), "24000.5", "record.goods.net_above_gross"),
    ],
)
def test_single_field_errors(
    record_dict: dict[str, Any], path: tuple[Any, ...], value: Any, code: str
) -> None:
    target: Any = record_dict
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    expected = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    assert _errors(record_dict) == {expected: code}


def test_json_numbers_become_exact_decimals(record_dict: dict[str, Any]) -> None:
    # A JSON number is read as the decimal it spells; binary noise (0.1 + 0.2) is refused above.
    record_dict["goods"][0]["value"] = 6240.1
    record_dict["goods"][0]["net_mass_kg"] = 23999
    record = DEFAULT_REGISTRY.latest.validate_record(record_dict)
    item = record.goods[0]  # type: ignore[attr-defined]
    assert str(item.value) == "6240.10" and str(item.net_mass_kg) == "23999.000"


def test_not_an_object() -> None:
    with pytest.raises(ValidationFailed) as info:
        DEFAULT_REGISTRY.latest.validate_record([1, 2])
    assert info.value.errors[0].code == "record.type"


def test_digest_is_stable_and_independent_of_key_order(record_dict: dict[str, Any]) -> None:
    a = DEFAULT_REGISTRY.latest.validate_record(record_dict)
    reordered = dict(reversed(list(record_dict.items())))
    reordered["goods"][0]["gross_mass_kg"] = "24000"  # same value, other spelling
    b = DEFAULT_REGISTRY.latest.validate_record(reordered)
    assert canonical_bytes(a) != b"" and digest(a) == digest(b)
    record_dict["goods"][0]["value"] = "6240.01"
    c = DEFAULT_REGISTRY.latest.validate_record(record_dict)
    assert digest(c) != digest(a)
