"""What changed between two technical-conditions versions: message types, fields and rules.

Both sides are read from their published schemas (``fields.message_fields``), so the diff
says what a sender must change, not how the models are written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ctop_node.tc.fields import FieldSpec, message_fields
from ctop_node.tc.registry import TcVersion


@dataclass(frozen=True)
class Change:
    """One field or rule added, removed or changed; ``details`` says how it changed."""

    kind: str  # "added", "removed", "changed"
    where: str  # "CONSIGNMENT goods[].hs_code" or a rule's code
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"change": self.kind, "where": self.where, "details": self.details}


@dataclass(frozen=True)
class TcDiff:
    old: int
    new: int
    message_types: list[Change]
    fields: list[Change]
    rules: list[Change]

    @property
    def empty(self) -> bool:
        return not (self.message_types or self.fields or self.rules)

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.old,
            "to": self.new,
            "message_types": [c.as_dict() for c in self.message_types],
            "fields": [c.as_dict() for c in self.fields],
            "rules": [c.as_dict() for c in self.rules],
        }


def _summary(spec: FieldSpec) -> dict[str, Any]:
    """The facts of a field worth naming when it is added or removed."""
    out: dict[str, Any] = {"type": spec.type, "required": spec.required}
    if spec.pattern:
        out["pattern"] = spec.pattern
    if spec.code_list:
        out["code_list"] = spec.code_list
    elif spec.enum:
        out["enum"] = list(spec.enum)
    for key in ("min_length", "max_length", "minimum", "maximum", "scale"):
        if getattr(spec, key) is not None:
            out[key] = getattr(spec, key)
    return out


def _field_changes(old: FieldSpec, new: FieldSpec) -> dict[str, Any]:
    a, b = old.comparable(), new.comparable()
    out: dict[str, Any] = {}
    for key in a:
        if a[key] == b[key]:
            continue
        if key == "enum":  # a code list: name what entered and left it, not both lists
            out[key] = {
                "added": sorted(set(b[key]) - set(a[key])),
                "removed": sorted(set(a[key]) - set(b[key])),
            }
        else:
            out[key] = {"from": a[key], "to": b[key]}
    return out


def diff(old: TcVersion, new: TcVersion) -> TcDiff:
    old_fields, new_fields = message_fields(old), message_fields(new)
    types = [Change("added", t) for t in new_fields if t not in old_fields]
    types += [Change("removed", t) for t in old_fields if t not in new_fields]
    fields: list[Change] = []
    for mtype, specs in new_fields.items():
        before = {f.path: f for f in old_fields.get(mtype, [])}
        if mtype not in old_fields:
            continue
        after = {f.path: f for f in specs}
        for path, spec in after.items():
            if path not in before:
                fields.append(Change("added", f"{mtype} {path}", _summary(spec)))
            elif details := _field_changes(before[path], spec):
                fields.append(Change("changed", f"{mtype} {path}", details))
        fields += [
            Change("removed", f"{mtype} {path}", _summary(spec))
            for path, spec in before.items()
            if path not in after
        ]
    old_rules = {r.code: r for r in old.rules}
    new_rules = {r.code: r for r in new.rules}
    rules = [Change("added", c, r.as_dict()) for c, r in new_rules.items() if c not in old_rules]
    rules += [Change("removed", c, r.as_dict()) for c, r in old_rules.items() if c not in new_rules]
    for code, rule in new_rules.items():
        was = old_rules.get(code)
        if was is not None and was != rule:
            rules.append(Change("changed", code, {"from": was.as_dict(), "to": rule.as_dict()}))
    return TcDiff(old.version, new.version, types, fields, rules)
