"""What every file reader shares: open, hand the source to the format's loop, close.

A reader subclasses :class:`FileReader` and writes only ``_records``, its format's loop, moving
a :class:`Cursor` along so that a file that cannot be read further (a truncated gzip stream, a
failing disk) is reported at the unit where reading stopped.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from ctop_node.ingest._source import READ_ERRORS, Source, check_readable, error_item, open_source
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

    def read(self, path: Path) -> Iterator[RawItem]:
        # Checked here, outside the generator, so an unreadable file raises at the call.
        check_readable(path)
        return self._items(path)

    def _items(self, path: Path) -> Iterator[RawItem]:
        src = open_source(path)
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
            f"the file cannot be read further: {exc}",
            src.offset_or_zero(),
        )
