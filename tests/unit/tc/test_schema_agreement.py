"""The published JSON Schema and the node's model agree, both ways.

Valid records (the sample generator's) validate under the schema; for every field of a record,
each value the model rejects is rejected by the schema too, except where the model's error is a
rule of the technical conditions (check digits, sums across fields), which the document lists
as what no schema pattern can express.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctop_node.errors import ValidationFailed
from ctop_node.model.canonical import canonical_dict
from ctop_node.sample import samples
from ctop_node.tc import DEFAULT_REGISTRY
from ctop_node.tc.fields import FieldSpec, message_fields

TC = DEFAULT_REGISTRY.get(1)
SCHEMA = TC.json_schema()
RULE_CODES = {r["code"] for r in SCHEMA["x-ctop-rules"]}
BASE = json.loads((Path(__file__).parents[2] / "data" / "record_kz_cn.json").read_text("utf-8"))


def _validator(mtype: str) -> jsonschema.Draft202012Validator:
    # "format" is part of the contract: the validator asserts the formats it knows (date).
    return jsonschema.Draft202012Validator(
        {**SCHEMA["$defs"][mtype], "$defs": SCHEMA["$defs"]},
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


CONSIGNMENT = _validator("CONSIGNMENT")


def _model_codes(data: Any) -> set[str] | None:
    """The model's error codes for ``data``, or None if it accepts it."""
    try:
        TC.validate_record(data)
    except ValidationFailed as exc:
        return {e.code for e in exc.errors}
    return None


def test_every_valid_sample_validates_under_the_schema() -> None:
    corpus = [s.record for s in samples(6, seed=11, invalid_share=0.0, secret_share=0.1)]
    assert len(corpus) > 200
    for record in corpus:
        assert _model_codes(record) is None, record["record_id"]
        CONSIGNMENT.validate(record)
        # ...and so does the canonical form the node stores and sends.
        CONSIGNMENT.validate(canonical_dict(TC.validate_record(record)))


def test_every_sample_fault_is_refused_by_the_schema_or_is_a_listed_rule() -> None:
    faulty = [s for s in samples(3, seed=5, invalid_share=1.0, excluded_share=0.0)]
    seen: set[str] = set()
    for s in faulty:
        assert s.fault is not None
        codes = _model_codes(s.record)
        assert codes is not None and s.fault in codes
        if CONSIGNMENT.is_valid(s.record):
            assert s.fault in RULE_CODES, f"schema accepts a record refused with {s.fault}"
        seen.add(s.fault)
    assert len(seen) >= 8  # the generator's fault kinds were all exercised


def _candidates(spec: FieldSpec) -> list[Any]:
    """Values a field may refuse, derived from its published spec (not a hand-written list)."""
    out: list[Any] = [None, 12345, True, [], {}, "", "  ", "!!", "x" * 600, "Z" * 9]
    if spec.type in ("integer", "decimal"):
        out += ["-1", -1, "1.23456", "abc", "1" * 20, 10**12, "NaN"]
    if spec.type in ("date", "date-time"):
        out += ["2026-11-26T14:30:00", "2026-02-30", "26.11.2026", "2026-11-26T14:30:00+05:00"]
    if spec.enum:
        out += [spec.enum[0].lower(), spec.enum[0] + "X"]
    if spec.type == "array":
        out += [["!!"], [None], ["x"] * 1000]
    if spec.type == "object":
        out += [{"unknown_field": 1}]
    return out


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.replace("[]", ".0").split(".")
    target: Any = data
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    target[parts[-1]] = value


RECORD_FIELDS = message_fields(TC)["CONSIGNMENT"]


@pytest.mark.parametrize("spec", RECORD_FIELDS, ids=[f.path for f in RECORD_FIELDS])
def test_what_the_model_refuses_in_a_field_the_schema_refuses(spec: FieldSpec) -> None:
    refused = 0
    for value in _candidates(spec):
        data = copy.deepcopy(BASE)
        _set(data, spec.path, value)
        codes = _model_codes(data)
        if codes is None:
            continue
        refused += 1
        if CONSIGNMENT.is_valid(data):
            assert codes <= RULE_CODES, (spec.path, value, codes)
    assert refused, f"no candidate value was refused for {spec.path}"


def test_fields_name_the_codes_the_model_reports() -> None:
    by_path = {f.path: f for f in RECORD_FIELDS}
    assert "record.container.check_digit" in by_path["containers[].number"].codes
    assert "record.wagon.check_digit" in by_path["wagons[].number"].codes
    assert by_path["wagons[].number"].not_expressed
    assert by_path["goods[].value"].scale == 2 and by_path["goods[].net_mass_kg"].scale == 3
    assert by_path["goods[].currency"].code_list == "ISO 4217"
    assert "KZ" in by_path["route.dispatch_country"].enum


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        ("containers[].number", "CSQU3054384", "record.container.check_digit"),
        ("goods[].hs_code", "770000", "record.goods.hs_chapter"),
        ("goods[].currency", "USX", "record.code_list.currency"),
        ("route.destination_country", "CHN", "record.code_list.country"),
        ("goods[].value", "1.234", "record.range"),
        ("train.planned_crossing_at", "2026-11-26T14:30:00", "record.datetime.offset"),
    ],
)
def test_identifier_refusals_have_their_own_codes(path: str, value: str, code: str) -> None:
    data = copy.deepcopy(BASE)
    _set(data, path, value)
    codes = _model_codes(data)
    assert codes is not None and code in codes
    expressible = code not in RULE_CODES
    assert CONSIGNMENT.is_valid(data) is not expressible


def test_a_date_time_calendar_error_is_listed_as_not_expressed() -> None:
    data = copy.deepcopy(BASE)
    _set(data, "train.planned_crossing_at", "2026-02-30T14:30:00+05:00")
    assert _model_codes(data) == {"record.type"}
    assert CONSIGNMENT.is_valid(data)  # no pattern states the calendar
    spec = {f.path: f for f in RECORD_FIELDS}["train.planned_crossing_at"]
    assert any("calendar" in n for n in spec.not_expressed)


def test_every_rule_is_enforced_by_the_model() -> None:
    """Each listed rule is real: a record breaking it gets exactly that code."""
    seen = {
        s.fault
        for s in samples(4, seed=3, invalid_share=1.0, excluded_share=0.0)
        if s.fault in RULE_CODES and _model_codes(s.record) == {s.fault}
    }
    data = copy.deepcopy(BASE)
    data["containers"][0]["wagon_number"] = "52000528"
    assert _model_codes(data) == {"record.container.unknown_wagon"}
    data = copy.deepcopy(BASE)
    data["goods"][0]["container_number"] = "MSCU1234566"
    assert _model_codes(data) == {"record.goods.unknown_container"}
    assert (
        seen
        | {
            "record.container.unknown_wagon",
            "record.goods.unknown_container",
        }
        == RULE_CODES
    )


@pytest.mark.parametrize("mtype", SCHEMA["x-ctop-message-types"])
def test_payload_schemas_refuse_unknown_fields(mtype: str) -> None:
    validator = _validator(mtype)
    assert not validator.is_valid({"surely_unknown": 1})


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.decimals(allow_nan=False).map(str),
    st.text(max_size=20),
    st.from_regex(r"[A-Z0-9 .:+\-]{0,14}", fullmatch=True),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(RECORD_FIELDS), _VALUES)
def test_any_value_the_model_refuses_the_schema_refuses(spec: FieldSpec, value: Any) -> None:
    data = copy.deepcopy(BASE)
    _set(data, spec.path, value)
    codes = _model_codes(data)
    if codes is not None and CONSIGNMENT.is_valid(data):
        assert codes <= RULE_CODES, (spec.path, value, codes)
