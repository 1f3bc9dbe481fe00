"""Finding where each record of a JSON document begins and ends, in linear time, in bytes.

The records are then parsed one by one (``_json_value``). A streaming parser that builds every
token first cannot enforce a size cap inside one token: yajl took 22 s on one 64 MB string and
grows quadratically. This scanner keeps at most ``cap`` bytes of a record: past that it forgets
the record's bytes as it goes (the bytes of a string are skipped by a regular expression in C),
so a 200 MB string costs one pass over the file and no more memory than the cap.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

MAX_DEPTH = 64  # the model nests 4 deep; deeper input stops the file (no per-bracket cost)

_WS = re.compile(rb"[ \t\r\n]*+")
# Everything up to the next bracket, complete strings included: one C call, not one per string.
_FLAT = re.compile(rb'(?:[^"{}\[\]]++|"(?:[^"\\]++|\\.)*+")*+', re.DOTALL)
_STRING_BODY = re.compile(rb'(?:[^"\\]++|\\.)*+', re.DOTALL)
_SCALAR = re.compile(rb"[^,\]}\s]*+")
_BOM = b"\xef\xbb\xbf"
_OPEN = frozenset(b"{[")
_KINDS = {ord("["): "array", ord('"'): "string", ord("t"): "boolean", ord("f"): "boolean"}


class JsonSyntax(Exception):
    """The document's structure is broken here; nothing after it can be trusted."""

    def __init__(self, message: str, at: int) -> None:
        super().__init__(message)
        self.message = message
        self.at = at


@dataclass(frozen=True, slots=True)
class Piece:
    """One value found at record level: its bytes (None when over the cap) and what it is."""

    data: bytes | None
    kind: str  # "object", "array", "string", "number", "boolean", "null"
    start: int  # stream offset of its first byte


class Splitter:
    """The record-level values of one JSON document, read chunk by chunk."""

    def __init__(self, chunks: Iterator[bytes], cap: int) -> None:
        self.chunks = chunks
        self.cap = cap
        self.data = bytearray()
        self.pos = 0
        self.base = 0  # stream offset of data[0]
        self.mark = -1  # start of the value being kept, -1 when nothing is kept
        self.over = False  # the value being kept outgrew the cap and is being skipped
        self.eof = False

    # -- the buffer ---------------------------------------------------------------------

    def offset(self) -> int:
        return self.base + self.pos

    def _drop(self, upto: int) -> None:
        if upto > 0:
            del self.data[:upto]
            self.base += upto
            self.pos -= upto
            if self.mark >= 0:
                self.mark -= upto

    def _fill(self) -> bool:
        """Read one more chunk; False at the end of the stream. Keeps only what is needed."""
        if self.mark < 0:
            self._drop(self.pos)
        else:
            self._drop(self.mark)
            if self.pos - self.mark > self.cap:
                self.over = True
                self.mark = -1
                self._drop(self.pos)
        if self.eof:
            return False
        chunk = next(self.chunks, b"")
        if not chunk:
            self.eof = True
            return False
        self.data += chunk
        return True

    def _peek(self) -> int | None:
        """The next byte after white space, or None at the end of the stream."""
        while True:
            self.pos = _WS.match(self.data, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.data):
                return self.data[self.pos]
            if not self._fill():
                return None

    def _need(self, what: str) -> int:
        c = self._peek()
        if c is None:
            raise JsonSyntax(f"the file ends where {what} was expected", self.offset())
        return c

    # -- values -------------------------------------------------------------------------

    def _string(self) -> None:
        self.pos += 1  # the opening quote
        while True:
            data = self.data
            # memchr-speed search for the closing quote; escapes (if any before it) are walked
            # by the regular expression, still in C.
            quote = data.find(b'"', self.pos)
            escape = data.find(b"\\", self.pos, quote if quote >= 0 else len(data))
            if escape < 0:
                if quote >= 0:
                    self.pos = quote + 1
                    return
                self.pos = len(data)
            else:
                self.pos = _STRING_BODY.match(data, escape).end()  # type: ignore[union-attr]
                if self.pos < len(data) and data[self.pos] == 0x22:
                    self.pos += 1
                    return
            if not self._fill():
                raise JsonSyntax("the file ends inside a string", self.offset())

    def _container(self) -> None:
        depth = 0
        while True:
            self.pos = _FLAT.match(self.data, self.pos).end()  # type: ignore[union-attr]
            if self.pos >= len(self.data):
                if not self._fill():
                    raise JsonSyntax("the file ends inside an object or array", self.offset())
                continue
            c = self.data[self.pos]
            if c == 0x22:  # a string the buffer ends inside
                self._string()
                continue
            self.pos += 1
            if c in _OPEN:
                depth += 1
                if depth > MAX_DEPTH:
                    raise JsonSyntax(f"values nest deeper than {MAX_DEPTH} levels", self.offset())
            else:
                depth -= 1
                if depth == 0:
                    return

    def _scalar(self) -> None:
        while True:
            self.pos = _SCALAR.match(self.data, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.data) or not self._fill():
                return

    def _skip_value(self, first: int) -> None:
        if first == 0x22:
            self._string()
        elif first in _OPEN:
            self._container()
        else:
            self._scalar()

    def _kept(self) -> bytes | None:
        """The bytes of the value that just ended, or None when it outgrew the cap (also
        inside one chunk, where ``_fill`` never looked)."""
        if self.over or self.mark < 0 or self.pos - self.mark > self.cap:
            return None
        return bytes(self.data[self.mark : self.pos])

    def _piece(self, first: int) -> Piece:
        """The value starting here, kept up to the cap."""
        self.mark, self.over = self.pos, False
        start = self.offset()
        self._skip_value(first)
        data = self._kept()
        self.mark, self.over = -1, False
        kind = "object" if first == 0x7B else _KINDS.get(first, "null" if first == 0x6E else "")
        return Piece(data, kind or "number", start)

    # -- the document -------------------------------------------------------------------

    def pieces(self) -> Iterator[Piece]:
        """Each record-level value: the members of a top-level array or of a top-level
        ``{"records": [...]}``, or the top-level value itself. Raises ``JsonSyntax``."""
        self._fill()
        if self.data.startswith(_BOM):
            self.pos = len(_BOM)
        first = self._peek()
        if first is None:
            raise JsonSyntax("the file holds no JSON value", 0)
        if first == 0x5B:
            yield from self._array()
        elif first == 0x7B:
            yield from self._top_object()
        else:
            yield self._piece(first)
        if self._peek() is not None:
            raise JsonSyntax("unexpected data after the JSON value", self.offset())

    def _array(self) -> Iterator[Piece]:
        self.pos += 1
        if self._need("a value or ]") == 0x5D:
            self.pos += 1
            return
        while True:
            yield self._piece(self._need("a value"))
            c = self._need(", or ]")
            self.pos += 1
            if c == 0x5D:
                return
            if c != 0x2C:
                raise JsonSyntax("expected , or ] between records", self.offset() - 1)

    def _top_object(self) -> Iterator[Piece]:
        """One record, or a wrapper whose ``records`` member is the array of records."""
        self.mark, self.over = self.pos, False
        start = self.offset()
        self.pos += 1
        wrapper = False
        c = self._need('a key or "}"')
        if c == 0x7D:
            self.pos += 1
        while c != 0x7D:
            if c != 0x22:
                raise JsonSyntax("expected a key in double quotes", self.offset())
            key_at = self.offset()
            self._string()
            key = bytes(self.data[key_at - self.base : self.pos]) if key_at >= self.base else b""
            if self._need(":") != 0x3A:
                raise JsonSyntax("expected : after a key", self.offset())
            self.pos += 1
            value = self._need("a value")
            if key == b'"records"' and value == 0x5B:
                wrapper = True
                self.mark = -1  # the wrapper itself is not a record: keep none of it
                yield from self._array()
            else:
                self._skip_value(value)
            c = self._need(", or }")
            self.pos += 1
            if c == 0x2C:
                c = self._need("a key")
            elif c != 0x7D:
                raise JsonSyntax("expected , or } between members", self.offset() - 1)
        if not wrapper:
            yield Piece(self._kept(), "object", start)
        self.mark, self.over = -1, False
