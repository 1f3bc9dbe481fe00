"""Registry of technical-conditions versions.

A version is a set of payload models (JSON Schema is generated from them and published) plus
an ``upgrade`` from the previous version's data. Versions live side by side: a record
validated under v1 stays readable under v2 through the chain of upgrades.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ctop_node.errors import FieldError, TcError, ValidationFailed
from ctop_node.model.messages import MessageType
from ctop_node.tc._jsonschema import EnforcedJsonSchema, shared_code_lists

M = TypeVar("M", bound=BaseModel)
Upgrade = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Rule:
    """A condition across fields (or beyond any pattern) and the code that reports it."""

    code: str
    fields: tuple[str, ...]
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "fields": list(self.fields), "text": self.text}


@dataclass(frozen=True)
class TcVersion:
    version: int
    record_model: type[BaseModel]
    payloads: Mapping[MessageType, type[BaseModel]]
    # Turns data valid under version - 1 into data valid under this version.
    upgrade: Upgrade | None = None
    title: str = ""
    # Rules no field schema states; the JSON Schema lists them under ``x-ctop-rules``.
    rules: tuple[Rule, ...] = ()

    def json_schema(self) -> dict[str, Any]:
        """The published schema: what the node enforces, field by field (see ``_jsonschema``)."""
        defs: dict[str, Any] = {}
        one_of = []
        for mtype, model in self.payloads.items():
            schema = model.model_json_schema(
                ref_template="#/$defs/{model}", schema_generator=EnforcedJsonSchema
            )
            defs.update(schema.pop("$defs", {}))
            defs[f"{mtype.value}"] = schema
            one_of.append({"$ref": f"#/$defs/{mtype.value}"})
        return shared_code_lists(
            {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": f"urn:ctop:tc:v{self.version}",
                "title": self.title or f"CTOP technical conditions v{self.version}",
                "x-ctop-tc-version": self.version,
                "x-ctop-message-types": [m.value for m in self.payloads],
                "x-ctop-rules": [r.as_dict() for r in self.rules],
                "oneOf": one_of,
                "$defs": defs,
            }
        )

    def validate_record(self, data: Any) -> BaseModel:
        return validate(self.record_model, data)


@dataclass
class TcRegistry:
    versions: dict[int, TcVersion] = field(default_factory=dict)

    def register(self, tc: TcVersion) -> None:
        if tc.version in self.versions:
            raise TcError(
                f"technical conditions v{tc.version} already registered",
                code="tc.duplicate_version",
            )
        if tc.version > 1 and tc.version - 1 not in self.versions:
            raise TcError(f"v{tc.version} needs v{tc.version - 1} registered first", code="tc.gap")
        self.versions[tc.version] = tc

    def get(self, version: int) -> TcVersion:
        try:
            return self.versions[version]
        except KeyError:
            known = ", ".join(str(v) for v in sorted(self.versions)) or "none"
            raise TcError(
                f"technical conditions v{version} are unknown to this node (known: {known})",
                code="tc.unknown_version",
            ) from None

    @property
    def latest(self) -> TcVersion:
        return self.versions[max(self.versions)]

    def read(self, data: dict[str, Any], from_version: int, to_version: int) -> BaseModel:
        """Read data stored under ``from_version`` as a record of ``to_version``."""
        if to_version < from_version:
            raise TcError(
                f"cannot read v{from_version} data as older v{to_version}", code="tc.downgrade"
            )
        self.get(from_version)
        for v in range(from_version + 1, to_version + 1):
            upgrade = self.get(v).upgrade
            if upgrade is not None:
                data = upgrade(data)
        return self.get(to_version).validate_record(data)


_GENERIC_CODES = {
    "missing": "record.missing",
    "extra_forbidden": "record.unknown_field",
    "string_pattern_mismatch": "record.format",
    "literal_error": "record.code_list",
    "enum": "record.code_list",
    "too_short": "record.length",
    "too_long": "record.length",
    "string_too_short": "record.length",
    "string_too_long": "record.length",
    "greater_than_equal": "record.range",
    "less_than_equal": "record.range",
    "decimal_max_digits": "record.range",
    "decimal_max_places": "record.range",
    "decimal_whole_digits": "record.range",
    "timezone_aware": "record.datetime.offset",
}


def _path(loc: tuple[str | int, ...]) -> str:
    out = "$"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def to_field_errors(exc: ValidationError, record_id: str | None) -> list[FieldError]:
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = tuple(err["loc"])
        ctx = err.get("ctx") or {}
        if "field_loc" in ctx:
            loc = loc + tuple(ctx["field_loc"])
        etype = err["type"]
        if etype.startswith("record."):
            code = etype
        else:
            code = _GENERIC_CODES.get(etype, "record.type")
        errors.append(FieldError(record_id, _path(loc), code, err["msg"]))
    return errors


def validate(model: type[M], data: Any) -> M:
    """Validate data into ``model``; errors become one ``ValidationFailed`` naming each field."""
    record_id = None
    if isinstance(data, dict):
        rid = data.get("record_id")
        record_id = rid if isinstance(rid, str) else None
    else:
        raise ValidationFailed(
            None, [FieldError(None, "$", "record.type", "a record must be a JSON object")]
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(record_id, to_field_errors(exc, record_id)) from exc


def _default_registry() -> TcRegistry:
    from ctop_node.tc import v1

    registry = TcRegistry()
    registry.register(v1.TC_V1)
    return registry


DEFAULT_REGISTRY = _default_registry()
