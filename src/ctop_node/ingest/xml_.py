"""XML files: ``<consignments tc="1"><consignment>...</consignment>...</consignments>``.

Streamed with defusedxml's iterparse, refusing any DTD, entity or external reference (billion
laughs, XXE); each ``<consignment>`` is converted and cleared as soon as it ends, so memory stays
flat however many records the file holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO
from xml.etree.ElementTree import Element, ParseError

import defusedxml
from defusedxml.ElementTree import iterparse

from ctop_node.errors import InputError
from ctop_node.ingest._base import Cursor, FileReader
from ctop_node.ingest._source import Source, error_item
from ctop_node.ingest._xml_map import (
    RECORD_TAG,
    check_namespace,
    element_to_record,
    iter_xml_document,
    local,
    to_xml,
    to_xml_document,
)
from ctop_node.ingest.errortext import quote
from ctop_node.ingest.interfaces import RawItem

_READ_AHEAD = 64 * 1024  # what the parser may have read beyond the event it reports

__all__ = ["XmlReader", "iter_xml_document", "to_xml", "to_xml_document"]


class _Overflow(Exception):
    pass


class _Budget:
    """The stream handed to the parser: it stops reading when more than ``limit`` bytes go by
    without a record starting or ending. The parser builds a whole text or attribute before it
    reports anything, so this is the only place a 200 MB string can be stopped early."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.total = 0
        self.mark = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size if size > 0 else 64 * 1024)
        self.total += len(data)
        if self.total - self.mark > self.limit:
            raise _Overflow
        return data


class XmlReader(FileReader):
    format = "xml"
    unit = "element"

    def _records(self, src: Source, at: Cursor) -> Iterator[RawItem]:
        budget = _Budget(src.stream, 2 * self.max_record_bytes + _READ_AHEAD)
        try:
            for at.index, item in enumerate(self._elements(src, budget), 1):
                yield item
        except _Overflow:
            yield error_item(
                src.name,
                f"element {at.index + 1}",
                "input.too_large",
                f"more than {budget.limit} bytes without a record boundary (one record, text "
                "or attribute larger than the limit); the rest of the file was not read",
                src.offset_or_zero(),
            )
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

    def _elements(self, src: Source, budget: _Budget) -> Iterator[RawItem]:
        events: Iterator[tuple[str, Any]] = iterparse(
            budget,
            events=("start", "end"),
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        )
        depth = 0
        root: Element | None = None
        root_tc: str | None = None
        index = 0
        for event, elem in events:
            if event == "start":
                depth += 1
                if depth == 1:
                    root = elem
                    root_tc = elem.get("tc")
                if _is_record(elem, depth):
                    index += 1
                    budget.mark = budget.total
                continue
            depth -= 1
            if not _is_record(elem, depth + 1):
                continue
            position = f"element {index}"
            # iterparse reads ahead in blocks, so the size is measured to within one block.
            if budget.total - budget.mark > self.max_record_bytes + _READ_AHEAD:
                yield error_item(
                    src.name,
                    position,
                    "input.too_large",
                    f"the record is larger than {self.max_record_bytes} bytes; it was skipped",
                    src.offset(),
                )
            else:
                yield self._record(src, position, elem, elem.get("tc", root_tc), root)
            budget.mark = budget.total
            elem.clear()
            if root is not None and root is not elem:
                root.clear()  # drop the cleared elements the root still lists

    @staticmethod
    def _record(
        src: Source, position: str, elem: Element, tc: str | None, root: Element | None
    ) -> RawItem:
        try:
            if root is not None and root is not elem:
                check_namespace(root, local(root.tag))
            data = element_to_record(elem)
            version = _tc_version(tc)
        except InputError as exc:
            return error_item(src.name, position, exc.code, exc.message, src.offset())
        return RawItem(src.name, position, data, None, src.offset(), tc_version=version)


def _tc_version(tc: str | None) -> int | None:
    """The ``tc`` attribute as a version number; which versions exist is the registry's call."""
    if tc is None:
        return None
    text = tc.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 6):
        raise InputError(
            f"the tc attribute {quote(tc)} is not a technical-conditions version number",
            code="input.xml.tc",
        )
    return int(text)


def _is_record(elem: Element, depth: int) -> bool:
    # A file may hold a <consignments> list, or a single <consignment> as its root.
    return local(elem.tag) == RECORD_TAG and depth in (1, 2)
