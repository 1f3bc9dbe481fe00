"""The XML form of a record, derived from the pydantic model (no hand-written field map).

Element names are the JSON field names; an object is an element with child elements; a list is
a plural container element holding one child per member (``<wagons><wagon>``, ``<goods><item>``,
``<transit_countries><country>``); scalars are text; booleans ``true``/``false``. An empty scalar
element means the field is absent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from pydantic import BaseModel

from ctop_node.errors import InputError
from ctop_node.ingest._shape import RECORD_MODEL, SCALAR, Shape, fields_of, item_name
from ctop_node.ingest.errortext import quote, safe_path

RECORD_TAG = "consignment"
MAX_DEPTH = 16  # the model nests 4 deep; deeper input is refused before recursion can hurt
ROOT_TAG = "consignments"


# Elements are in no namespace or in this one; any other is refused, so a document mixing in
# another vocabulary (an XML signature, an extension) is not read as if it were ours.
CTOP_NAMESPACE = "urn:ctop"


def local(tag: str) -> str:
    """Element name without its ``{namespace}`` (checked by ``check_namespace``)."""
    return tag.rsplit("}", 1)[-1]


def check_namespace(elem: Element, path: str) -> None:
    """``input.xml.namespace`` unless ``elem`` is in no namespace or in ``CTOP_NAMESPACE``."""
    tag = elem.tag
    if tag.startswith("{"):
        namespace = tag[1:].split("}", 1)[0]
        if namespace != CTOP_NAMESPACE:
            raise InputError(
                f"<{safe_path(path)}> is in the namespace {quote(namespace)}; "
                f"only elements without a namespace or in {CTOP_NAMESPACE} are read",
                code="input.xml.namespace",
                position=safe_path(path),
            )


# ---- XML -> dict -----------------------------------------------------------------------------


def element_to_record(elem: Element) -> dict[str, Any]:
    """The record dict of a ``<consignment>`` element; ``input.xml.shape`` if it is not one,
    ``input.xml.namespace`` if it holds an element of a foreign namespace."""
    check_namespace(elem, RECORD_TAG)
    return _object(elem, RECORD_MODEL, RECORD_TAG)


def _object(elem: Element, model: type[BaseModel] | None, path: str) -> dict[str, Any]:
    if path.count("/") > MAX_DEPTH:
        raise _shape_error(path, f"nests deeper than {MAX_DEPTH} elements")
    fields = fields_of(model) if model is not None else {}
    out: dict[str, Any] = {}
    for child in elem:
        name = local(child.tag)
        where = f"{path}/{name}"
        check_namespace(child, where)
        if name in out:
            raise _shape_error(where, "appears more than once")
        value = _value(child, fields.get(name), where)
        if value is not None:
            out[name] = value
    return out


def _value(elem: Element, shape: Shape | None, path: str) -> Any:
    if shape is None:  # unknown to the model: keep it so validation names the field
        shape = Shape("model") if len(elem) else SCALAR
    if shape.kind == "list":
        return _list(elem, shape, path)
    if shape.kind == "model":
        if elem.text and elem.text.strip():
            raise _shape_error(path, "must hold child elements, not text")
        return _object(elem, shape.model, path)
    if len(elem):
        raise _shape_error(path, "must hold text, not child elements")
    text = (elem.text or "").strip()
    return text or None


def _list(elem: Element, shape: Shape, path: str) -> list[Any]:
    if path.count("/") > MAX_DEPTH:
        raise _shape_error(path, f"nests deeper than {MAX_DEPTH} elements")
    member = item_name(local(elem.tag))
    out: list[Any] = []
    for i, child in enumerate(elem, 1):
        where = f"{path}/{local(child.tag)}[{i}]"
        check_namespace(child, where)
        if local(child.tag) != member:
            raise _shape_error(where, f"unexpected element; a list member here is <{member}>")
        if shape.model is not None:
            out.append(_object(child, shape.model, where))
        else:
            if len(child):
                raise _shape_error(where, "must hold text, not child elements")
            out.append((child.text or "").strip())
    return out


def _shape_error(path: str, problem: str) -> InputError:
    shown = safe_path(path)
    return InputError(f"<{shown}> {problem}", code="input.xml.shape", position=shown)


# ---- dict -> XML -----------------------------------------------------------------------------


def to_xml(record: Mapping[str, Any]) -> bytes:
    """One ``<consignment>`` element (UTF-8, no declaration) for a record dict."""
    elem = Element(RECORD_TAG)
    _fill(elem, record, RECORD_MODEL)
    return tostring(elem, encoding="unicode").encode("utf-8")


def iter_xml_document(records: Iterable[Mapping[str, Any]], tc: int = 1) -> Iterator[bytes]:
    """A whole ``<consignments>`` document, piece by piece, for writing large files."""
    yield f'<?xml version="1.0" encoding="UTF-8"?>\n<{ROOT_TAG} tc="{tc}">\n'.encode()
    for record in records:
        yield to_xml(record) + b"\n"
    yield f"</{ROOT_TAG}>\n".encode()


def to_xml_document(records: Iterable[Mapping[str, Any]], tc: int = 1) -> bytes:
    return b"".join(iter_xml_document(records, tc))


def _fill(elem: Element, data: Mapping[str, Any], model: type[BaseModel] | None) -> None:
    fields = fields_of(model) if model is not None else {}
    for name, value in data.items():
        if value is None:
            continue
        _put(SubElement(elem, name), value, fields.get(name))


def _put(elem: Element, value: Any, shape: Shape | None) -> None:
    if isinstance(value, Mapping):
        _fill(elem, value, shape.model if shape is not None else None)
    elif isinstance(value, list | tuple):
        member = item_name(elem.tag)
        inner = Shape("model", shape.model) if shape is not None and shape.model else None
        for v in value:
            _put(SubElement(elem, member), v, inner)
    elif isinstance(value, bool):
        elem.text = "true" if value else "false"
    else:
        elem.text = str(value)
