"""NDJSON / JSON Lines: one record object per line."""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from ctop_node.ingest._base import Cursor, FileReader
from ctop_node.ingest._json_value import JsonProblem, check_no_duplicates
from ctop_node.ingest._lines import Line, split_lines
from ctop_node.ingest._source import Source, error_item
from ctop_node.ingest.interfaces import RawItem

_BOM = b"\xef\xbb\xbf"


class NdjsonReader(FileReader):
    format = "ndjson"
    unit = "line"

    def _records(self, src: Source, at: Cursor) -> Iterator[RawItem]:
        for line in split_lines(src.chunks(), self.max_record_bytes):
            at.index = line.number
            offset = line.end if not src.compressed else src.offset()
            item = self._parse(src.name, line, offset)
            if item is not None:
                yield item

    def _parse(self, name: str, line: Line, offset: int) -> RawItem | None:
        position = f"line {line.number}"
        data = line.data
        if data is None:
            return error_item(
                name,
                position,
                "input.too_large",
                f"the line is longer than {self.max_record_bytes} bytes; it was skipped",
                offset,
            )
        if line.number == 1 and data.startswith(_BOM):
            data = data[len(_BOM) :]
        if not data.strip():
            return None
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            return self._json_error(name, position, line, data, exc, offset)
        if not isinstance(value, dict):
            kind = type(value).__name__
            return error_item(
                name,
                position,
                "input.not_object",
                f"a record must be a JSON object, this line holds a JSON {kind}",
                offset,
            )
        try:
            check_no_duplicates(data, value)
        except JsonProblem as exc:
            return error_item(
                name,
                position,
                exc.code,
                exc.message,
                offset,
                field=exc.field,
                record_id=exc.record_id,
            )
        return RawItem(name, position, value, None, offset)

    @staticmethod
    def _json_error(
        name: str,
        position: str,
        line: Line,
        data: bytes,
        exc: orjson.JSONDecodeError,
        offset: int,
    ) -> RawItem:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as uerr:
            # orjson reports bad UTF-8 at position 0: locate the byte ourselves.
            at = uerr.start + (len(_BOM) if line.number == 1 and line.data != data else 0)
            return error_item(
                name,
                position,
                "input.encoding",
                f"invalid UTF-8 at byte {at + 1} of the line (file offset {line.start + at})",
                offset,
            )
        return error_item(
            name,
            position,
            "input.json",
            f"invalid JSON at column {exc.colno}: {exc.msg}",
            offset,
        )


__all__ = ["NdjsonReader"]
