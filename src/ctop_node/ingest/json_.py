"""JSON files: one record object, an array of record objects, or ``{"records": [...]}``.

Streamed with ijson (C backend) and Decimals for numbers: one record at a time is in memory,
and a record larger than ``MAX_RECORD_BYTES`` is skipped without being built.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ijson  # no stubs published; see mypy overrides

from ctop_node.ingest._base import Cursor, FileReader
from ctop_node.ingest._source import Source, error_item
from ctop_node.ingest.interfaces import RawItem

_OPEN = ("start_map", "start_array")
_CLOSE = ("end_map", "end_array")
_WRAPPER_KEY = "records"
_SIZE_CHECK_EVERY = 256  # events between two looks at the stream position

Events = Iterator[tuple[str, Any]]


class _TooLarge:
    """Marker for a value that was skipped because it outgrew the cap."""


class JsonReader(FileReader):
    format = "json"
    unit = "item"

    def _records(self, src: Source, at: Cursor) -> Iterator[RawItem]:
        try:
            events: Events = ijson.basic_parse(src.stream, use_float=False)
            yield from self._document(src, events, at)
            for _ in events:  # surfaces trailing garbage after the top-level value
                pass
        except ijson.JSONError as exc:
            yield self._syntax_error(src, at, _yajl_message(exc))
        except UnicodeDecodeError as exc:
            yield self._syntax_error(src, at, f"invalid UTF-8: {exc.reason}")

    def _read_error(self, src: Source, at: Cursor, exc: BaseException) -> RawItem:
        # A JSON file that stops short is reported like any other syntax error, as input.json.
        return self._syntax_error(src, at, f"the file cannot be read further: {exc}")

    def _document(self, src: Source, events: Events, at: Cursor) -> Iterator[RawItem]:
        event, value = next(events, ("eof", None))
        if event == "eof":
            yield error_item(src.name, "file", "input.json", "the file holds no JSON value")
        elif event == "start_array":
            yield from self._array(src, events, at)
        elif event == "start_map":
            yield from self._top_map(src, events, at)
        else:
            yield self._not_object(src, "file", event)

    def _top_map(self, src: Source, events: Events, at: Cursor) -> Iterator[RawItem]:
        """A single record, or a wrapper whose ``records`` key holds the array."""
        builder = ijson.ObjectBuilder()
        builder.event("start_map", None)
        wrapper = False
        start = src.stream.tell()
        # At depth 1 events alternate: a key, then a value (nested values are consumed whole).
        for event, key in events:
            if event == "end_map":
                break
            event, value = next(events)
            if key == _WRAPPER_KEY and event == "start_array":
                wrapper = True
                yield from self._array(src, events, at)
                continue
            builder.event("map_key", key)
            builder.event(event, value)
            if event in _OPEN and isinstance(self._value(src, events, builder, start), _TooLarge):
                at.index = 1
                yield self._too_large(src, "item 1")
                for _ in self._skip_to_depth_zero(events):
                    pass
                return
        if not wrapper:
            at.index = 1
            yield self._record(src, "item 1", builder.value)

    @staticmethod
    def _skip_to_depth_zero(events: Events) -> Events:
        depth = 1
        for event, value in events:
            depth += (event in _OPEN) - (event in _CLOSE)
            yield event, value
            if depth == 0:
                return

    def _value(self, src: Source, events: Events, builder: Any, start: int) -> _TooLarge | None:
        """Feed ``builder`` up to the end of the container just opened; stop at the cap."""
        depth = 1
        for n, (event, value) in enumerate(events, 1):
            builder.event(event, value)
            depth += (event in _OPEN) - (event in _CLOSE)
            if depth == 0:
                return None
            if n % _SIZE_CHECK_EVERY == 0 and src.stream.tell() - start > self.max_record_bytes:
                for event2, _ in events:
                    depth += (event2 in _OPEN) - (event2 in _CLOSE)
                    if depth == 0:
                        break
                return _TooLarge()
        return None

    def _array(self, src: Source, events: Events, at: Cursor) -> Iterator[RawItem]:
        for event, value in events:
            if event == "end_array":
                return
            position = f"item {at.index + 1}"
            if event == "start_map":
                builder = ijson.ObjectBuilder()
                builder.event(event, value)
                result = self._value(src, events, builder, src.stream.tell())
                if isinstance(result, _TooLarge):
                    yield self._too_large(src, position)
                else:
                    yield self._record(src, position, builder.value)
            else:
                if event == "start_array":
                    for _ in self._skip_to_depth_zero(events):
                        pass
                yield self._not_object(src, position, event)
            at.index += 1

    def _record(self, src: Source, position: str, value: Any) -> RawItem:
        return RawItem(src.name, position, value, None, src.offset())

    def _too_large(self, src: Source, position: str) -> RawItem:
        return error_item(
            src.name,
            position,
            "input.too_large",
            f"the record is larger than {self.max_record_bytes} bytes; it was skipped",
            src.offset(),
        )

    @staticmethod
    def _not_object(src: Source, position: str, event: str) -> RawItem:
        kind = {"start_array": "array"}.get(event, event)
        return error_item(
            src.name,
            position,
            "input.not_object",
            f"a record must be a JSON object, found a JSON {kind}",
            src.offset(),
        )

    @staticmethod
    def _syntax_error(src: Source, at: Cursor, message: str) -> RawItem:
        # yajl reads ahead in blocks, so the position is where the reader stood, not exact.
        near = src.stream.tell() if not src.stream.closed else 0
        return error_item(
            src.name,
            f"item {at.index + 1}",
            "input.json",
            f"invalid JSON near byte {near}: {message}; the rest of the file was not read",
            src.offset_or_zero(),
        )


def _yajl_message(exc: Exception) -> str:
    arg = exc.args[0] if exc.args else exc
    text = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
    return text.splitlines()[0].strip() if text.strip() else type(exc).__name__
