"""XSD 1.0 of the XML form of a record, generated from the version's published fields.

The XML form (``ingest/xml_.py``) names elements after the JSON fields, wraps a list in a plural
element holding one child per member, and reads an empty optional element as absent. This
schema states that form with the same patterns, code lists and limits as the JSON Schema, so
the XSD is the published contract of the XML reader. What XSD 1.0 cannot state is listed in the
document: check digits and sums across fields (as in JSON), and that a wagon number's pattern
depends on its gauge (XSD 1.0 has no co-occurrence constraints: both patterns are allowed).
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree
from lxml.etree import _Element as Element

from ctop_node.tc._jsonschema import NOT_BLANK
from ctop_node.tc.fields import FieldSpec, message_fields
from ctop_node.tc.registry import TcVersion

XML_NAMESPACE = "urn:ctop"
"""Namespace of the XML form (the XML reader's ``CTOP_NAMESPACE``); the version is the ``tc``
attribute, not part of the namespace."""

# Codes the JSON Schema states and XSD 1.0 cannot (no co-occurrence constraints).
XSD_NOT_EXPRESSED: dict[str, str] = {
    "record.wagon.format": "the wagon number pattern chosen by the gauge (both are allowed)",
}

ROOT_TAG = "consignments"
RECORD_TAG = "consignment"
_XS = "http://www.w3.org/2001/XMLSchema"
_CODE_LIST_TYPES = {"ISO 3166-1 alpha-2": "CountryCode", "ISO 4217": "CurrencyCode"}


def _xs(parent: Element, tag: str, **attrs: str) -> Element:
    return etree.SubElement(parent, f"{{{_XS}}}{tag}", attrs)


def _regex(pattern: str) -> str:
    """An ECMA pattern of the JSON Schema as an XSD pattern (anchored implicitly)."""
    return pattern.removeprefix("^").removesuffix("$")


def _leaf(name: str) -> str:
    return name.rsplit(".", 1)[-1].removesuffix("[]")


class _Builder:
    def __init__(self, fields: list[FieldSpec], item_name: Callable[[str], str]) -> None:
        self.item_name = item_name
        self.children: dict[str, list[FieldSpec]] = {}
        self.code_lists: dict[str, tuple[str, ...]] = {}
        for spec in fields:
            parent = spec.path.rsplit(".", 1)[0] if "." in spec.path else ""
            self.children.setdefault(parent, []).append(spec)

    def complex_type(self, parent: Element, path: str, **attrs: str) -> Element:
        ctype = _xs(parent, "complexType", **attrs)
        group = _xs(ctype, "all")
        for spec in self.children.get(path, []):
            self.element(group, spec)
        return ctype

    def element(self, group: Element, spec: FieldSpec) -> None:
        name = _leaf(spec.path)
        el = _xs(group, "element", name=name)
        if not spec.required:
            el.set("minOccurs", "0")
        if spec.type == "object":
            self.complex_type(el, spec.path)
        elif spec.type == "array":
            seq = _xs(_xs(el, "complexType"), "sequence")
            member = _xs(seq, "element", name=self.item_name(name))
            member.set("minOccurs", str(spec.min_length or 0))
            member.set("maxOccurs", str(spec.max_length) if spec.max_length else "unbounded")
            if spec.item_of == "object":
                self.complex_type(member, f"{spec.path}[]")
            elif spec.items is not None:
                self.simple(member, spec.items, optional=False)
        else:
            self.simple(el, spec, optional=not spec.required)

    def simple(self, el: Element, spec: FieldSpec, *, optional: bool) -> None:
        if spec.code_list in _CODE_LIST_TYPES:
            type_name = f"ctop:{_CODE_LIST_TYPES[spec.code_list]}"
            self.code_lists[spec.code_list] = spec.enum
            if not optional:
                el.set("type", type_name)
                return
            _xs(_xs(el, "simpleType"), "union", memberTypes=f"ctop:Empty {type_name}")
            return
        holder = el
        if optional:  # an empty element means the field is absent
            union = _xs(_xs(el, "simpleType"), "union", memberTypes="ctop:Empty")
            holder = union
        self.restriction(_xs(holder, "simpleType"), spec)

    @staticmethod
    def restriction(stype: Element, spec: FieldSpec) -> None:
        if spec.type == "boolean":
            _xs(stype, "restriction", base="xs:boolean")
            return
        if spec.type == "integer":
            r = _xs(stype, "restriction", base="xs:integer")
            _xs(r, "pattern", value="[0-9]+" if (spec.minimum or 0) >= 0 else "-?[0-9]+")
            if spec.minimum is not None:
                _xs(r, "minInclusive", value=str(spec.minimum))
            if spec.maximum is not None:
                _xs(r, "maxInclusive", value=str(spec.maximum))
            return
        # Text of every kind is read stripped: xs:token collapses whitespace the same way;
        # dates and times also get the calendar check of their XSD type.
        base = {"date": "xs:date", "date-time": "xs:dateTime"}.get(spec.type, "xs:token")
        r = _xs(stype, "restriction", base=base)
        # Patterns that depend on another field (wagon number by gauge) are all allowed.
        patterns = [p for _when, p in spec.conditions] or (
            [spec.pattern] if spec.pattern and spec.pattern != NOT_BLANK else []
        )
        for pattern in patterns:
            _xs(r, "pattern", value=_regex(pattern))
        for value in spec.enum:
            _xs(r, "enumeration", value=value)
        if base == "xs:token" and spec.min_length is not None:
            _xs(r, "minLength", value=str(spec.min_length))
        if base == "xs:token" and spec.max_length is not None:
            _xs(r, "maxLength", value=str(spec.max_length))

    def code_list_types(self, schema: Element) -> None:
        _xs(
            _xs(_xs(schema, "simpleType", name="Empty"), "restriction", base="xs:token"),
            "length",
            value="0",
        )
        for listed, type_name in _CODE_LIST_TYPES.items():
            codes = self.code_lists.get(listed)
            if codes is None:
                continue
            stype = _xs(schema, "simpleType", name=type_name)
            _xs(_xs(stype, "annotation"), "documentation").text = listed
            r = _xs(stype, "restriction", base="xs:token")
            for code in codes:
                _xs(r, "enumeration", value=code)


def render_xsd(
    tc: TcVersion, item_name: Callable[[str], str], namespace: str = XML_NAMESPACE
) -> bytes:
    """The XSD of ``<consignments tc="N">`` documents (or one ``<consignment>``) of ``tc``.

    ``item_name`` is the XML reader's rule for naming a list's members (``goods`` ->
    ``item``), passed in so the reader stays its only source.
    """
    builder = _Builder(message_fields(tc)["CONSIGNMENT"], item_name)
    schema = etree.Element(
        f"{{{_XS}}}schema",
        {"targetNamespace": namespace, "elementFormDefault": "qualified"},
        nsmap={"xs": _XS, "ctop": namespace},
    )
    schema.set("version", str(tc.version))
    _xs(_xs(schema, "annotation"), "documentation").text = (
        f"{tc.title or f'CTOP technical conditions v{tc.version}'}: XML form of a record. "
        "Generated by `ctop-node tc xsd`; do not edit."
    )
    record = builder.complex_type(schema, "", name="Consignment")
    # A record may name its version itself (the reader lets it override the root's).
    _xs(record, "attribute", name="tc", type="ctop:TcVersion", use="optional")
    version = _xs(schema, "simpleType", name="TcVersion")
    restriction = _xs(version, "restriction", base="xs:positiveInteger")
    _xs(restriction, "enumeration", value=str(tc.version))

    root = _xs(schema, "element", name=ROOT_TAG)
    root_type = _xs(root, "complexType")
    _xs(
        _xs(root_type, "sequence"),
        "element",
        name=RECORD_TAG,
        type="ctop:Consignment",
        minOccurs="0",
        maxOccurs="unbounded",
    )
    _xs(root_type, "attribute", name="tc", type="ctop:TcVersion", use="required")

    # A file may also hold one <consignment> as its root.
    _xs(schema, "element", name=RECORD_TAG, type="ctop:Consignment")
    builder.code_list_types(schema)
    etree.indent(schema)
    return etree.tostring(schema, encoding="UTF-8", xml_declaration=True) + b"\n"
