"""JSON Schema of the technical conditions that says what the node enforces.

Pydantic's default schema for a field checked by a Python function (``check_country``) is a
bare ``string``, and a ``Decimal`` is "a number or any string". The published contract must be
tighter: each identifier gets its pattern or code list, each decimal the string form and scale
of its field, each time its UTC offset. What no pattern can say (check digits, sums across
fields) is listed under ``x-ctop-not-expressed`` so the document can name it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from ctop_node.model import identifiers as ids
from ctop_node.model.record import Wagon

# ISO 8601 date-time with seconds and a mandatory offset (Z or +hh:mm).
DATETIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# Stripped text must keep at least one character: the node strips before it counts.
NOT_BLANK = r"\S"
CONTAINER_PATTERN = r"^[A-Z]{3}[UJZR][0-9]{7}$"
# HS chapters 01-97 except 77 (reserved); 6, 8 or 10 digits.
HS_PATTERN = r"^(0[1-9]|[1-6][0-9]|7[0-689]|8[0-9]|9[0-7])[0-9]{4}([0-9]{2}){0,2}$"
WAGON_1520_PATTERN = r"^[0-9]{8}$"
WAGON_OTHER_PATTERN = r"^[0-9A-Z]{5,12}$"

# A validator that asserts "format: date" checks the calendar of a date; few check date-times.
CALENDAR_DATETIME = "calendar validity of the date (e.g. 30 February), stated only by format"

COUNTRY_LIST = "ISO 3166-1 alpha-2"
CURRENCY_LIST = "ISO 4217"


def _country() -> JsonSchemaValue:
    return {
        "type": "string",
        "enum": sorted(ids._countries()),
        "x-ctop-code-list": COUNTRY_LIST,
        "x-ctop-codes": ["record.code_list.country"],
    }


def _currency() -> JsonSchemaValue:
    return {
        "type": "string",
        "enum": sorted(ids._currencies()),
        "x-ctop-code-list": CURRENCY_LIST,
        "x-ctop-codes": ["record.code_list.currency"],
    }


def _hs() -> JsonSchemaValue:
    return {
        "type": "string",
        "pattern": HS_PATTERN,
        "x-ctop-codes": ["record.goods.hs_code", "record.goods.hs_chapter"],
    }


def _container() -> JsonSchemaValue:
    return {
        "type": "string",
        "pattern": CONTAINER_PATTERN,
        "x-ctop-codes": ["record.container.format", "record.container.check_digit"],
        "x-ctop-not-expressed": ["ISO 6346 check digit (11th character)"],
    }


# Each identifier check of the model and the schema that expresses it.
_IDENTIFIERS: dict[Callable[..., Any], Callable[[], JsonSchemaValue]] = {
    ids.check_country: _country,
    ids.check_currency: _currency,
    ids.check_hs_code: _hs,
    ids.check_container_number: _container,
}


def decimal_pattern(max_digits: int, places: int) -> str:
    whole = max_digits - places
    return rf"^[0-9]{{1,{whole}}}(\.[0-9]{{1,{places}}})?$"


class EnforcedJsonSchema(GenerateJsonSchema):
    """Pydantic's generator, with the checks the model makes in code written out as schema."""

    def function_after_schema(
        self, schema: core_schema.AfterValidatorFunctionSchema
    ) -> JsonSchemaValue:
        make = _IDENTIFIERS.get(schema["function"]["function"])
        if make is not None:
            return make()
        return super().function_after_schema(schema)

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        # Decimals travel as strings (canonical JSON): never a float on the wire.
        places = int(schema.get("decimal_places", 0) or 0)
        digits = int(schema.get("max_digits", 0) or 0)
        if schema.get("ge") != 0 or not digits:
            return super().decimal_schema(schema)
        return {
            "type": "string",
            "pattern": decimal_pattern(digits, places),
            "x-ctop-scale": places,
            "x-ctop-max-digits": digits,
            "x-ctop-codes": ["record.range", "record.type"],
        }

    def datetime_schema(self, schema: core_schema.DatetimeSchema) -> JsonSchemaValue:
        # The contract requires an offset on every time; the model refuses a missing one
        # with its own code where the field is declared aware.
        out: JsonSchemaValue = {
            "type": "string",
            "format": "date-time",
            "pattern": DATETIME_PATTERN,
            "x-ctop-not-expressed": [CALENDAR_DATETIME],
        }
        if schema.get("tz_constraint") == "aware":
            out["x-ctop-codes"] = ["record.datetime.offset"]
        return out

    def date_schema(self, schema: core_schema.DateSchema) -> JsonSchemaValue:
        return {"type": "string", "format": "date", "pattern": DATE_PATTERN}

    def str_schema(self, schema: core_schema.StringSchema) -> JsonSchemaValue:
        out = super().str_schema(schema)
        if schema.get("strip_whitespace") and schema.get("min_length") and "pattern" not in out:
            out["pattern"] = NOT_BLANK
        return out

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        out = super().model_schema(schema)
        if schema["cls"] is Wagon:
            # The pattern of a wagon number depends on the gauge (1520 mm has a check digit).
            out = {
                **out,
                "if": {"properties": {"gauge": {"const": "1435"}}, "required": ["gauge"]},
                "then": {"properties": {"number": {"pattern": WAGON_OTHER_PATTERN}}},
                "else": {"properties": {"number": {"pattern": WAGON_1520_PATTERN}}},
                "x-ctop-codes": ["record.wagon.format", "record.wagon.check_digit"],
                "x-ctop-not-expressed": ["1520 mm wagon number check digit (8th digit)"],
            }
        return out


def shared_code_lists(schema: dict[str, Any]) -> dict[str, Any]:
    """Move the inline country and currency lists into ``$defs`` and refer to them."""
    defs = schema.setdefault("$defs", {})
    names = {COUNTRY_LIST: "CountryCode", CURRENCY_LIST: "CurrencyCode"}

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            listed = node.get("x-ctop-code-list")
            if listed in names:
                name = names[listed]
                shared = {k: v for k, v in node.items() if k not in ("title", "default")}
                defs.setdefault(name, {"title": name, **shared})
                rest = {k: v for k, v in node.items() if k in ("title", "description", "default")}
                return {"$ref": f"#/$defs/{name}", **rest}
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    out: dict[str, Any] = walk({k: v for k, v in schema.items() if k != "$defs"})
    walked = {k: walk(v) for k, v in list(defs.items()) if k not in names.values()}
    out["$defs"] = {**walked, **{k: v for k, v in defs.items() if k in names.values()}}
    return out
