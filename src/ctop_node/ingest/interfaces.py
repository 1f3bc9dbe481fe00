"""Contract of ingest readers: a file in, a stream of raw items out, in constant memory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from ctop_node.errors import InputError

# One record of more than this is refused as a whole: no reader holds more in memory.
MAX_RECORD_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RawItem:
    """One record as read, before validation, or the reason it could not be read."""

    source: str  # file name as given
    position: str  # "line 12", "rows 5-7", "element 3", "item 4"
    data: dict[str, Any] | None
    error: InputError | None = None
    offset: int = 0  # bytes of the file consumed so far, for progress
    tc_version: int | None = None  # technical conditions the file names (XML ``tc``), if any


class Reader(Protocol):
    format: str

    def read(self, path: Path, *, name: str | None = None) -> Iterator[RawItem]:
        """Yield every record of ``path``. Never raises for bad content: a line, row or
        element that cannot be read becomes a ``RawItem`` with ``error`` set, and reading goes
        on. Raises ``InputError`` only when the file itself cannot be opened. ``name`` is what
        items and messages call the file (default: ``path``; never a server's temp path)."""
        ...

    def read_open(self, stream: BinaryIO, name: str) -> Iterator[RawItem]:
        """Like ``read``, from a stream the caller opened and checked; closes it at the end."""
        ...
