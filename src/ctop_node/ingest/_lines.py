"""Splitting a byte stream into lines without ever holding more than a cap in memory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Line:
    number: int  # 1-based
    start: int  # byte offset of the line's first byte in the (decompressed) stream
    end: int  # byte offset just after the line's newline
    data: bytes | None  # without the newline; None when the line was longer than the cap


def split_lines(chunks: Iterable[bytes], max_bytes: int) -> Iterator[Line]:
    """Yield every line of ``chunks``; a line over ``max_bytes`` is yielded once with
    ``data=None`` and its bytes are skipped up to the next newline, never buffered. A last
    line without a trailing newline is yielded too."""
    buf = bytearray()
    number = 1
    start = 0  # stream offset of the current line
    pos = 0  # stream offset of the current chunk
    too_long = False
    for chunk in chunks:
        i = 0
        size = len(chunk)
        while i < size:
            nl = chunk.find(b"\n", i)
            if nl >= 0 and not buf and not too_long and nl - i <= max_bytes:
                # Fast path: the whole line is inside this chunk, no copy into the buffer.
                end = pos + nl + 1
                yield Line(number, start, end, chunk[i:nl])
                number += 1
                start = end
                i = nl + 1
                continue
            stop = size if nl < 0 else nl
            if not too_long:
                if len(buf) + stop - i > max_bytes:
                    too_long = True
                    buf.clear()
                else:
                    buf += chunk[i:stop]
            if nl < 0:
                break
            end = pos + nl + 1
            yield Line(number, start, end, None if too_long else bytes(buf))
            buf.clear()
            too_long = False
            number += 1
            start = end
            i = nl + 1
        pos += size
    if too_long or buf:
        yield Line(number, start, pos, None if too_long else bytes(buf))
