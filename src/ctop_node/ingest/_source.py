"""Opening an input file for the readers: readability check, gzip detection, progress offset."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ctop_node.errors import InputError
from ctop_node.ingest.interfaces import RawItem

CHUNK = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"

# What reading a damaged file can raise: a truncated or corrupt gzip stream, a failing disk.
READ_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error)


def check_readable(path: Path, name: str | None = None) -> None:
    """Raise ``input.unreadable`` now, before any item, when ``path`` cannot be opened."""
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        shown = name if name is not None else str(path)
        raise InputError(
            f"{shown}: cannot open the file: {exc.strerror or type(exc).__name__}",
            code="input.unreadable",
            source=shown,
        ) from exc


class Source:
    """A binary input stream, transparently gunzipped, that knows how far into the file it is."""

    def __init__(self, raw: BinaryIO, name: str) -> None:
        self.name = name
        self.raw = raw
        self.compressed = self.raw.read(2) == _GZIP_MAGIC
        self.raw.seek(0)
        self.stream: BinaryIO = self.raw
        if self.compressed:
            self.stream = gzip.GzipFile(fileobj=self.raw)  # type: ignore[assignment]

    def offset(self) -> int:
        """Bytes of the underlying (possibly compressed) file consumed so far."""
        return self.raw.tell()

    def offset_or_zero(self) -> int:
        """``offset()``, or 0 once the file is closed, for an error item built at any time."""
        return 0 if self.raw.closed else self.raw.tell()

    def chunks(self) -> Iterator[bytes]:
        while chunk := self.stream.read(CHUNK):
            yield chunk

    def close(self) -> None:
        if self.compressed:
            self.stream.close()
        self.raw.close()


def open_source(path: Path, name: str) -> Source | RawItem:
    """Open ``path`` for a reader's generator; a late failure becomes an error item."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return error_item(name, "file", "input.unreadable", f"cannot open the file: {reason}")
    return wrap_source(raw, name)


def wrap_source(raw: BinaryIO, name: str) -> Source | RawItem:
    """A :class:`Source` on a stream already open; a failing first read becomes an error item."""
    try:
        return Source(raw, name)
    except OSError as exc:
        raw.close()
        reason = exc.strerror or type(exc).__name__
        return error_item(name, "file", "input.unreadable", f"cannot read the file: {reason}")


def error_item(
    source: str,
    position: str,
    code: str,
    message: str,
    offset: int = 0,
    *,
    field: str = "$",
    record_id: str | None = None,
) -> RawItem:
    text = f"{source}: {position}: {message}"
    error = InputError(
        text, code=code, source=source, position=position, field=field, record_id=record_id
    )
    return RawItem(source=source, position=position, data=None, error=error, offset=offset)
