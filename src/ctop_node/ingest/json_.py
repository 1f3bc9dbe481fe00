"""JSON files: one record object, an array of record objects, or ``{"records": [...]}``.

The document is split into records by a byte scanner (``_json_split``) and each record parsed
on its own with Decimals for numbers: one record at a time is in memory, a record larger than
``MAX_RECORD_BYTES`` is skipped without being kept (even one huge string, in linear time), a
record that is not valid JSON or repeats a key is rejected and reading goes on.
"""

from __future__ import annotations

from collections.abc import Iterator

from ctop_node.ingest._base import Cursor, FileReader, read_reason
from ctop_node.ingest._json_split import JsonSyntax, Piece, Splitter
from ctop_node.ingest._json_value import JsonProblem, loads_with_decimals
from ctop_node.ingest._source import Source, error_item
from ctop_node.ingest.interfaces import RawItem


class JsonReader(FileReader):
    format = "json"
    unit = "item"

    def _records(self, src: Source, at: Cursor) -> Iterator[RawItem]:
        splitter = Splitter(src.chunks(), self.max_record_bytes)
        try:
            for at.index, piece in enumerate(splitter.pieces(), 1):
                yield self._item(src, f"item {at.index}", piece)
        except JsonSyntax as exc:
            yield self._syntax_error(src, at, exc.message, exc.at)

    def _read_error(self, src: Source, at: Cursor, exc: BaseException) -> RawItem:
        # A JSON file that stops short is reported like any other syntax error, as input.json.
        reason = read_reason(exc)
        return self._syntax_error(src, at, f"the file cannot be read further: {reason}", None)

    def _item(self, src: Source, position: str, piece: Piece) -> RawItem:
        if piece.data is None:
            return error_item(
                src.name,
                position,
                "input.too_large",
                f"the record is larger than {self.max_record_bytes} bytes; it was skipped",
                src.offset(),
            )
        try:
            value = loads_with_decimals(piece.data)
        except JsonProblem as exc:
            if piece.kind != "object":
                raise JsonSyntax(f"invalid JSON {piece.kind}", -1) from exc
            near = f" near byte {piece.start + exc.at}" if exc.at is not None else ""
            message = f"{exc.message}{near}; the record was skipped, reading goes on"
            return error_item(
                src.name,
                position,
                exc.code,
                message,
                src.offset(),
                field=exc.field,
                record_id=exc.record_id,
            )
        if not isinstance(value, dict):
            kind = {"string": "string", "array": "array"}.get(piece.kind, piece.kind)
            return error_item(
                src.name,
                position,
                "input.not_object",
                f"a record must be a JSON object, found a JSON {kind}",
                src.offset(),
            )
        return RawItem(src.name, position, value, None, src.offset())

    @staticmethod
    def _syntax_error(src: Source, at: Cursor, message: str, near: int | None) -> RawItem:
        where = f" near byte {near}" if near is not None and near >= 0 else ""
        return error_item(
            src.name,
            f"item {at.index + 1}",
            "input.json",
            f"invalid JSON{where}: {message}; the rest of the file was not read",
            src.offset_or_zero(),
        )
