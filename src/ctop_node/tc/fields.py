"""The fields of a technical-conditions version, read from its published JSON Schema.

The document, the XSD and ``tc diff`` all walk this one flat list, so what they say is what
the schema says, and the schema is what the node enforces.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ctop_node.tc._jsonschema import NOT_BLANK
from ctop_node.tc.registry import TcVersion


@dataclass(frozen=True)
class FieldSpec:
    """One field of one message type: ``goods[].hs_code`` in ``CONSIGNMENT``."""

    path: str
    type: str  # string, integer, boolean, decimal, date, date-time, object, array
    required: bool
    nullable: bool = False
    default: Any = None
    pattern: str | None = None
    enum: tuple[str, ...] = ()
    code_list: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    scale: int | None = None
    max_digits: int | None = None
    item_of: str | None = None  # for an array: "object" or the type of its members
    # Patterns that depend on another field: (condition, pattern), e.g. ("gauge = 1435", ...).
    conditions: tuple[tuple[str, str], ...] = ()
    not_expressed: tuple[str, ...] = ()
    codes: tuple[str, ...] = field(default=())
    items: FieldSpec | None = None  # the members of an array of scalars

    def comparable(self) -> dict[str, Any]:
        """What ``tc diff`` compares (everything but the path)."""
        out = asdict(self)
        del out["path"]
        if self.items is not None:
            del out["items"]["path"]
        return out


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        extra = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**root["$defs"][name], **extra}
    return schema


def _unwrap(schema: dict[str, Any], root: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The schema without an ``anyOf [..., null]`` wrapper, and whether null was allowed."""
    schema = _resolve(schema, root)
    arms = schema.get("anyOf")
    if arms:
        real = [a for a in arms if a.get("type") != "null"]
        if len(real) == 1 and len(real) < len(arms):
            inner = _resolve(real[0], root)
            outer = {k: v for k, v in schema.items() if k != "anyOf"}
            return {**inner, **outer}, True
    return schema, False


def _kind(s: dict[str, Any]) -> str:
    if "x-ctop-scale" in s:
        return "decimal"
    if s.get("format") in ("date", "date-time"):
        return str(s["format"])
    if "enum" in s and "type" not in s:
        return "string"
    return str(s.get("type", "any"))


def _codes(s: dict[str, Any], required: bool, kind: str) -> tuple[str, ...]:
    codes: list[str] = ["record.missing"] if required else []
    codes.append("record.type")
    own = list(s.get("x-ctop-codes", []))
    if s.get("pattern") not in (None, NOT_BLANK) and not own:
        codes.append("record.format")
    if "enum" in s and not own:
        codes.append("record.code_list")
    if any(k in s for k in ("minLength", "maxLength", "minItems", "maxItems")):
        codes.append("record.length")
    if any(k in s for k in ("minimum", "maximum")):
        codes.append("record.range")
    if kind == "object" and s.get("additionalProperties") is False:
        codes.append("record.unknown_field")
    for code in own:
        if code not in codes:
            codes.append(code)
    return tuple(codes)


def _spec(path: str, raw: dict[str, Any], required: bool, root: dict[str, Any]) -> FieldSpec:
    s, nullable = _unwrap(raw, root)
    kind = _kind(s)
    item_of = None
    members = None
    if kind == "array":
        items, _ = _unwrap(s.get("items", {}), root)
        item_of = _kind(items)
        if item_of != "object":
            members = _spec(f"{path}[]", items, True, root)
    enum = tuple(str(v) for v in s.get("enum", ()))
    return FieldSpec(
        path=path,
        type=kind,
        required=required,
        nullable=nullable,
        default=s.get("default"),
        pattern=s.get("pattern"),
        enum=enum,
        code_list=s.get("x-ctop-code-list"),
        min_length=s.get("minLength", s.get("minItems")),
        max_length=s.get("maxLength", s.get("maxItems")),
        minimum=s.get("minimum"),
        maximum=s.get("maximum"),
        scale=s.get("x-ctop-scale"),
        max_digits=s.get("x-ctop-max-digits"),
        item_of=item_of,
        not_expressed=tuple(s.get("x-ctop-not-expressed", ())),
        codes=_codes(s, required, kind),
        items=members,
    )


def _conditions(obj: dict[str, Any]) -> dict[str, tuple[tuple[str, str], ...]]:
    """Per property, the ``if/then/else`` patterns of its object with their condition."""
    cond = obj.get("if")
    if not cond:
        return {}
    (when_field, when), *_ = cond["properties"].items()
    out: dict[str, list[tuple[str, str]]] = {}
    for branch, label in (("then", f"{when_field} = {when.get('const')}"), ("else", "otherwise")):
        for name, sub in obj.get(branch, {}).get("properties", {}).items():
            out.setdefault(name, []).append((label, str(sub.get("pattern"))))
    return {k: tuple(v) for k, v in out.items()}


def _walk(obj: dict[str, Any], prefix: str, root: dict[str, Any], out: list[FieldSpec]) -> None:
    required = set(obj.get("required", ()))
    conditions = _conditions(obj)
    for name, raw in obj.get("properties", {}).items():
        path = f"{prefix}{name}"
        spec = _spec(path, raw, name in required, root)
        if name in conditions:
            # The object's own codes and limits (wagon number by gauge) belong to this field.
            extra = tuple(c for c in obj.get("x-ctop-codes", ()) if c not in spec.codes)
            spec = replace(
                spec,
                conditions=conditions[name],
                not_expressed=spec.not_expressed + tuple(obj.get("x-ctop-not-expressed", ())),
                codes=spec.codes + extra,
            )
        out.append(spec)
        s, _ = _unwrap(raw, root)
        if spec.type == "object":
            _walk(s, f"{path}.", root, out)
        elif spec.type == "array" and spec.item_of == "object":
            items, _ = _unwrap(s["items"], root)
            _walk(items, f"{path}[].", root, out)


def message_fields(tc: TcVersion) -> dict[str, list[FieldSpec]]:
    """Message type -> its fields in schema order, nested fields after their parent."""
    root = tc.json_schema()
    out: dict[str, list[FieldSpec]] = {}
    for mtype in root["x-ctop-message-types"]:
        fields: list[FieldSpec] = []
        _walk(_resolve(root["$defs"][mtype], root), "", root, fields)
        out[mtype] = fields
    return out


def code_lists(tc: TcVersion) -> dict[str, tuple[str, ...]]:
    """Named code lists (ISO 3166-1, ISO 4217) and their codes."""
    root = tc.json_schema()
    return {
        d["x-ctop-code-list"]: tuple(d["enum"])
        for d in root["$defs"].values()
        if "x-ctop-code-list" in d
    }
