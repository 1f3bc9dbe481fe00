"""XML files: ``<consignments tc="1"><consignment>...</consignment>...</consignments>``.

Streamed with defusedxml's iterparse, refusing any DTD, entity or external reference (billion
laughs, XXE); each ``<consignment>`` is converted and cleared as soon as it ends, so memory stays
flat however many records the file holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
from defusedxml.ElementTree import iterparse

from ctop_node.errors import InputError
from ctop_node.ingest._base import Cursor, FileReader
from ctop_node.ingest._source import Source, error_item
from ctop_node.ingest._xml_map import (
    RECORD_TAG,
    element_to_record,
    iter_xml_document,
    local,
    to_xml,
    to_xml_document,
)
from ctop_node.ingest.interfaces import RawItem

__all__ = ["XmlReader", "iter_xml_document", "to_xml", "to_xml_document"]


class XmlReader(FileReader):
    format = "xml"
    unit = "element"

    def _records(self, src: Source, at: Cursor) -> Iterator[RawItem]:
        try:
            for at.index, item in enumerate(self._elements(src), 1):
                yield item
        except defusedxml.DefusedXmlException as exc:
            yield error_item(
                src.name,
                "file",
                "input.xml.forbidden",
                f"the file declares a DTD, an entity or an external reference ({exc}); "
                "these are refused for safety and nothing after it was read",
                src.offset_or_zero(),
            )
        except ParseError as exc:
            line, column = exc.position
            yield error_item(
                src.name,
                f"line {line}, column {column}",
                "input.xml",
                f"malformed XML after element {at.index} ({exc}); "
                "the rest of the file was not read",
                src.offset_or_zero(),
            )
        except LookupError as exc:  # <?xml encoding="..."?> names an unknown encoding
            yield error_item(
                src.name, "line 1", "input.xml", f"{exc}; nothing was read", src.offset_or_zero()
            )

    def _elements(self, src: Source) -> Iterator[RawItem]:
        events: Iterator[tuple[str, Any]] = iterparse(
            src.stream,
            events=("start", "end"),
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        )
        depth = 0
        root: Element | None = None
        index = 0
        start = 0
        for event, elem in events:
            if event == "start":
                depth += 1
                if depth == 1:
                    root = elem
                if _is_record(elem, depth):
                    index += 1
                    start = src.stream.tell()
                continue
            depth -= 1
            if not _is_record(elem, depth + 1):
                continue
            position = f"element {index}"
            # iterparse reads ahead in blocks, so the size is measured to within one block.
            if src.stream.tell() - start > self.max_record_bytes + 64 * 1024:
                yield error_item(
                    src.name,
                    position,
                    "input.too_large",
                    f"the record is larger than {self.max_record_bytes} bytes; it was skipped",
                    src.offset(),
                )
            else:
                yield self._record(src, position, elem)
            elem.clear()
            if root is not None and root is not elem:
                root.clear()  # drop the cleared elements the root still lists

    @staticmethod
    def _record(src: Source, position: str, elem: Element) -> RawItem:
        try:
            data = element_to_record(elem)
        except InputError as exc:
            return error_item(src.name, position, exc.code, exc.message, src.offset())
        return RawItem(src.name, position, data, None, src.offset())


def _is_record(elem: Element, depth: int) -> bool:
    # A file may hold a <consignments> list, or a single <consignment> as its root.
    return local(elem.tag) == RECORD_TAG and depth in (1, 2)
