"""What every file reader shares: open, hand the source to the format's loop, close.

A reader subclasses :class:`FileReader` and writes only ``_records``, its format's loop, moving
a :class:`Cursor` along so that a file that cannot be read further (a truncated gzip stream, a
failing disk) is reported at the unit where reading stopped.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, ClassVar

from ctop_node.ingest._source import (
    READ_ERRORS,
    Source,
    check_readable,
    error_item,
    open_source,
    wrap_source,
)
from ctop_node.ingest.interfaces import MAX_RECORD_BYTES, RawItem


class Cursor:
    """Where a reader stands: how many units (lines, rows, elements, items) lie behind it."""

    __slots__ = ("index",)

    def __init__(self) -> None:
        self.index = 0


class FileReader(ABC):
    """Base of the ``Reader`` implementations (see ``interfaces.Reader``)."""

    format: str
    unit: ClassVar[str]  # what a read error's position counts: "line", "row", "element"

    def __init__(self, max_record_bytes: int = MAX_RECORD_BYTES) -> None:
        self.max_record_bytes = max_record_bytes

    def read(self, path: Path, *, name: str | None = None) -> Iterator[RawItem]:
        # Checked here, outside the generator, so an unreadable file raises at the call.
        shown = name if name is not None else str(path)
        check_readable(path, shown)
        return self._items(lambda: open_source(path, shown))

    def read_open(self, stream: BinaryIO, name: str) -> Iterator[RawItem]:
        """Items of a stream the caller opened (the watched folder opens without following
        links and checks the descriptor); the stream is closed when reading ends."""
        return self._items(lambda: wrap_source(stream, name))

    def _items(self, opener: Callable[[], Source | RawItem]) -> Iterator[RawItem]:
        src = opener()
        if isinstance(src, RawItem):
            yield src
            return
        at = Cursor()
        try:
            yield from self._records(src, at)
        except READ_ERRORS as exc:
            yield self._read_error(src, at, exc)
        finally:
            src.close()

    @abstractmethod
    def _records(self, src: Source, at: Cursor) -> Iterator[RawItem]:
        """Yield the items of ``src``, keeping ``at.index`` on the units read so far."""

    def _read_error(self, src: Source, at: Cursor, exc: BaseException) -> RawItem:
        """The last item of a file that cannot be read further, at the unit after ``at``."""
        return error_item(
            src.name,
            f"{self.unit} {at.index + 1}",
            "input.read",
            f"the file cannot be read further: {read_reason(exc)}",
            src.offset_or_zero(),
        )


def read_reason(exc: BaseException) -> str:
    # An OSError's str() may name the file's real path; its strerror does not.
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
