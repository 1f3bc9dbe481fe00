"""XmlReader: <consignments> streamed safely; the XML mapping follows the model."""

from __future__ import annotations

import gzip
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ctop_node.ingest.xml_ import XmlReader, to_xml, to_xml_document

from .conftest import read_all, validated

Write = Callable[[str, bytes], Path]


def test_round_trip(three: list[dict[str, Any]], write: Write) -> None:
    three[1]["route"]["transit_countries"] = ["KG", "UZ"]
    three[2]["flags"]["personal_use"] = True
    path = write("a.xml", to_xml_document(three))
    items = read_all(XmlReader(), path)
    assert [i.position for i in items] == ["element 1", "element 2", "element 3"]
    assert [validated(i.data) for i in items] == [validated(r) for r in three]
    assert items[-1].offset == path.stat().st_size


def test_mapping_shape(record_dict: dict[str, Any]) -> None:
    xml = to_xml(record_dict).decode()
    assert xml.startswith("<consignment><record_id>KZ-551800-2026-000001</record_id>")
    assert "<wagons><wagon><number>52000510</number><gauge>1520</gauge></wagon></wagons>" in xml
    assert "<seals><seal>KZ1234567</seal></seals>" in xml
    assert "<goods><item><container_number>CSQU3054383</container_number>" in xml
    assert "<transit_countries />" in xml
    assert "<state_secret>false</state_secret>" in xml


def test_single_consignment_root_and_namespace(record_dict: dict[str, Any], write: Write) -> None:
    (single,) = read_all(XmlReader(), write("one.xml", to_xml(record_dict)))
    assert validated(single.data) == validated(record_dict)
    doc = (
        to_xml_document([record_dict])
        .replace(b'<consignments tc="1">', b'<c:consignments xmlns:c="urn:ctop" tc="1">')
        .replace(b"</consignments>", b"</c:consignments>")
    )
    (item,) = read_all(XmlReader(), write("ns.xml", doc))
    assert validated(item.data) == validated(record_dict)


def test_unknown_element_reaches_validation(record_dict: dict[str, Any], write: Write) -> None:
    doc = to_xml_document([record_dict]).replace(b"<channel>", b"<colour>red</colour><channel>")
    (item,) = read_all(XmlReader(), write("a.xml", doc))
    assert item.data is not None and item.data["colour"] == "red"


def test_bad_shape_is_one_error_and_the_next_is_read(
    three: list[dict[str, Any]], write: Write
) -> None:
    doc = to_xml_document(three).replace(b"<wagon>", b"<waggon>", 1)
    doc = doc.replace(b"</wagon>", b"</waggon>", 1)
    items = read_all(XmlReader(), write("a.xml", doc))
    assert items[0].error is not None and items[0].error.code == "input.xml.shape"
    assert items[0].position == "element 1" and "waggon" in str(items[0].error)
    assert [validated(i.data) for i in items[1:]] == [validated(r) for r in three[1:]]


@pytest.mark.parametrize(
    "doctype",
    [
        # billion laughs
        b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>',
        # XXE: a local file
        b'<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        # external DTD
        b'<!DOCTYPE consignments SYSTEM "http://127.0.0.1:9/evil.dtd">',
    ],
)
def test_dtd_and_entities_are_refused(
    record_dict: dict[str, Any], write: Write, doctype: bytes
) -> None:
    body = to_xml_document([record_dict]).replace(b"<record_id>KZ", b"<record_id>&lol2;&xxe;KZ")
    doc = body.replace(b"<consignments", doctype + b"<consignments", 1)
    items = read_all(XmlReader(), write("evil.xml", doc))
    assert len(items) == 1
    err = items[0].error
    assert err is not None and err.code == "input.xml.forbidden"
    assert "evil.xml" in str(err)


def test_malformed_names_line_and_column_after_good_elements(
    three: list[dict[str, Any]], write: Write
) -> None:
    doc = to_xml_document(three)
    cut = doc.index(b"<consignment>", doc.index(b"<consignment>") + 1)
    broken = doc[:cut] + b"<consignment><record_id>oops</consignment>\n" + doc[cut:]
    items = read_all(XmlReader(), write("a.xml", broken))
    assert validated(items[0].data) == validated(three[0])
    assert len(items) == 2
    err = items[1].error
    assert err is not None and err.code == "input.xml"
    # line 1: declaration, 2: <consignments>, 3: first record, 4: the broken one
    assert items[1].position == "line 4, column 30" and "line 4, column 30" in str(err)


def test_empty_file(write: Write) -> None:
    (item,) = read_all(XmlReader(), write("a.xml", b""))
    assert item.error is not None and item.error.code == "input.xml"


def test_gzip(three: list[dict[str, Any]], write: Write) -> None:
    items = read_all(XmlReader(), write("a.xml.gz", gzip.compress(to_xml_document(three))))
    assert [validated(i.data) for i in items] == [validated(r) for r in three]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (
            b"<consignments><consignment>"
            + b"<a>" * 50_000
            + b"</a>" * 50_000
            + b"</consignment></consignments>",
            "input.xml.shape",
        ),
        (b'<?xml version="1.0" encoding="no-such"?><consignments/>', "input.xml"),
        (b"<consignments><consignment><record_id>A</record_id>", "input.xml"),
    ],
)
def test_hostile_shapes_give_one_error(write: Write, content: bytes, code: str) -> None:
    items = read_all(XmlReader(), write("a.xml", content))
    assert items[-1].error is not None and items[-1].error.code == code


def test_tc_attribute_is_carried_to_the_record(three: list[dict[str, Any]], write: Write) -> None:
    doc = to_xml_document(three[:2], tc=7)
    doc = doc.replace(b"<consignment>", b'<consignment tc="1">', 1)
    items = read_all(XmlReader(), write("a.xml", doc))
    assert [i.tc_version for i in items] == [1, 7]  # its own attribute wins over the root's


def test_tc_attribute_that_is_no_number_rejects_the_records(
    three: list[dict[str, Any]], write: Write
) -> None:
    doc = to_xml_document(three[:2]).replace(b'tc="1"', b'tc="v1; drop"')
    items = read_all(XmlReader(), write("a.xml", doc))
    for item in items:
        assert item.error is not None and item.error.code == "input.xml.tc"
        assert item.position in str(item.error)


def test_foreign_namespace_is_refused_and_the_next_record_read(
    three: list[dict[str, Any]], write: Write
) -> None:
    doc = to_xml_document(three).replace(
        b"<channel>", b'<x:channel xmlns:x="urn:other">online</x:channel><channel>', 1
    )
    items = read_all(XmlReader(), write("a.xml", doc))
    assert items[0].error is not None and items[0].error.code == "input.xml.namespace"
    assert "urn:other" in items[0].error.message
    assert validated(items[1].data) == validated(three[1])


def test_foreign_namespace_on_the_root_refuses_every_record(
    three: list[dict[str, Any]], write: Write
) -> None:
    doc = (
        to_xml_document(three[:2])
        .replace(b'<consignments tc="1">', b'<o:consignments xmlns:o="urn:other" tc="1">')
        .replace(b"</consignments>", b"</o:consignments>")
    )
    items = read_all(XmlReader(), write("a.xml", doc))
    assert [i.error.code if i.error else "ok" for i in items] == ["input.xml.namespace"] * 2


def test_huge_text_is_stopped_before_it_is_read_whole(
    three: list[dict[str, Any]], write: Write
) -> None:
    cap, size = 256 * 1024, 16 * 1024 * 1024
    doc = to_xml_document(three[:1])[: -len(b"</consignments>\n")]
    doc += b"<consignment><record_id>" + b"a" * size + b"</record_id></consignment>"
    path = write("a.xml", doc + b"</consignments>")
    del doc
    tracemalloc.start()
    try:
        items = read_all(XmlReader(max_record_bytes=cap), path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert items[0].data is not None
    assert items[-1].error is not None and items[-1].error.code == "input.too_large"
    assert peak < 8 * cap, peak
