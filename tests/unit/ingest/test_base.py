"""The reader skeleton: unreadable files raise at once, read errors end the stream, files close."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from ctop_node.errors import InputError
from ctop_node.ingest._base import Cursor, FileReader
from ctop_node.ingest._source import Source
from ctop_node.ingest.interfaces import RawItem


class _Chunks(FileReader):
    """One item per chunk of 4 bytes; fails with an OSError after ``fail_after`` chunks."""

    format = "chunks"
    unit = "chunk"

    def __init__(self, fail_after: int | None = None) -> None:
        super().__init__(max_record_bytes=4)
        self.fail_after = fail_after
        self.sources: list[Source] = []

    def _records(self, src: Source, at: Cursor) -> Iterator[RawItem]:
        self.sources.append(src)
        while data := src.stream.read(self.max_record_bytes):
            if at.index == self.fail_after:
                raise OSError(5, "Input/output error")
            at.index += 1
            yield RawItem(src.name, f"chunk {at.index}", {"data": data.decode()}, None, 0)


def test_unreadable_file_raises_before_iteration(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        _Chunks().read(tmp_path / "missing")
    assert info.value.code == "input.unreadable"


def test_items_then_closed(tmp_path: Path) -> None:
    path = tmp_path / "a"
    path.write_bytes(b"abcdefgh")
    reader = _Chunks()
    items = list(reader.read(path))
    assert [i.data for i in items] == [{"data": "abcd"}, {"data": "efgh"}]
    assert reader.sources[0].raw.closed


def test_read_error_is_the_last_item_at_the_next_unit(tmp_path: Path) -> None:
    path = tmp_path / "a"
    path.write_bytes(b"abcdefghijkl")
    reader = _Chunks(fail_after=2)
    items = list(reader.read(path))
    assert [i.position for i in items] == ["chunk 1", "chunk 2", "chunk 3"]
    last = items[-1]
    assert last.data is None and last.error is not None
    assert last.error.code == "input.read"
    assert last.error.message == (
        f"{path}: chunk 3: the file cannot be read further: Input/output error"
    )
    assert last.offset == 12  # the underlying file was read to its end by then
    assert reader.sources[0].raw.closed


def test_stopping_early_closes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a"
    path.write_bytes(b"abcdefgh")
    reader = _Chunks()
    items = reader.read(path)
    next(items)
    assert not reader.sources[0].raw.closed
    assert isinstance(items, Generator)
    items.close()
    assert reader.sources[0].raw.closed
