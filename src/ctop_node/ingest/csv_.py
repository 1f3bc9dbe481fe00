"""CSV files: one row per goods item; consecutive rows with one ``record_id`` make one record.

Encoding is detected from the first 64 KiB (UTF-8, BOM stripped, else CP1251 as written by
Russian/Kazakh Excel), the delimiter from the header line. Lines are read with a length cap, so
a file without newlines cannot fill memory. A record whose rows cannot all be read, or disagree,
becomes one error item naming its rows: it is never passed on with rows silently missing.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from ctop_node.ingest._base import Cursor, FileReader
from ctop_node.ingest._csv_map import (
    LINKS,
    LIST_SEP,
    Column,
    column,
    csv_columns,
    put,
    to_csv_rows,
)
from ctop_node.ingest._lines import split_lines
from ctop_node.ingest._shape import item_name
from ctop_node.ingest._source import Source, error_item
from ctop_node.ingest.errortext import is_flagged_secret, quote, safe_path
from ctop_node.ingest.interfaces import MAX_RECORD_BYTES, RawItem

DETECT_BYTES = 64 * 1024
FALLBACK_ENCODING = "cp1251"
_DELIMITERS = ",;\t"

__all__ = ["CsvReader", "csv_columns", "to_csv_rows", "write_csv"]


def write_csv(records: Iterable[Mapping[str, Any]], out: TextIO, delimiter: str = ",") -> None:
    """Write records in the CSV form this reader reads (``out`` opened with ``newline=""``)."""
    writer = csv.DictWriter(out, csv_columns(), delimiter=delimiter, extrasaction="ignore")
    writer.writeheader()
    for record in records:
        writer.writerows(to_csv_rows(record))


@dataclass
class _Problem:
    code: str
    message: str


@dataclass
class _Group:
    """The rows of one record read so far."""

    key: str
    first: int
    last: int
    record: dict[str, Any] = field(default_factory=dict)
    record_cells: dict[str, str] = field(default_factory=dict)
    members: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    goods: list[dict[str, Any]] = field(default_factory=list)
    size: int = 0
    problem: _Problem | None = None


class _Lines:
    """Decoded lines for the csv module, remembering what went wrong on the way."""

    def __init__(self, chunks: Iterable[bytes], encoding: str, max_bytes: int) -> None:
        self.encoding = encoding
        self.lines = split_lines(chunks, max_bytes)
        self.problems: list[tuple[int, _Problem]] = []  # (line number, problem)
        self.size = 0  # bytes of the lines handed out since the last reset
        self.end = 0  # stream offset after the last line handed out

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            self.end = line.end
            if line.data is None:
                self.problems.append(
                    (
                        line.number,
                        _Problem(
                            "input.too_large",
                            f"line {line.number} is longer than the limit; skipped",
                        ),
                    )
                )
                yield "\n"
                continue
            data = line.data
            self.size += len(data)
            if line.number == 1 and data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8) :]
            try:
                text = data.decode(self.encoding)
            except UnicodeDecodeError as exc:
                self.problems.append(
                    (
                        line.number,
                        _Problem(
                            "input.encoding",
                            f"line {line.number} is not valid {self.encoding} "
                            f"at byte {exc.start + 1} "
                            f"(file offset {line.start + exc.start})",
                        ),
                    )
                )
                text = data.decode(self.encoding, "replace")
            yield text + "\n"


def detect_encoding(head: bytes, complete: bool) -> str:
    """UTF-8 if ``head`` (the first bytes of the file) is valid UTF-8, else CP1251."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        return FALLBACK_ENCODING
    return "utf-8"


def detect_delimiter(header: str) -> str:
    try:
        return csv.Sniffer().sniff(header, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        counts = {d: header.count(d) for d in _DELIMITERS}
        return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


class CsvReader(FileReader):
    format = "csv"
    unit = "row"

    def __init__(
        self,
        encoding: str | None = None,
        delimiter: str | None = None,
        max_record_bytes: int = MAX_RECORD_BYTES,
    ) -> None:
        super().__init__(max_record_bytes)
        self.encoding = encoding
        self.delimiter = delimiter

    def _records(self, src: Source, at: Cursor) -> Iterator[RawItem]:
        chunks = src.chunks()
        head = b""
        for chunk in chunks:
            head += chunk
            if len(head) >= DETECT_BYTES:
                break
        complete = len(head) < DETECT_BYTES
        encoding = self.encoding or detect_encoding(head, complete)
        lines = _Lines(_chain(head, chunks), encoding, self.max_record_bytes)
        first = head.split(b"\n", 1)[0].removeprefix(codecs.BOM_UTF8)
        delimiter = self.delimiter or detect_delimiter(first.decode(encoding, "replace"))
        for at.index, item in self._rows(src, lines, delimiter):
            yield item

    def _rows(self, src: Source, lines: _Lines, delimiter: str) -> Iterator[tuple[int, RawItem]]:
        reader = csv.reader(iter(lines), delimiter=delimiter)
        header: list[Column] | None = None
        group: _Group | None = None
        row = 0
        while True:
            lines.size = 0
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                row += 1
                lines.problems.append((reader.line_num, _Problem("input.csv", str(exc))))
                cells = []
            else:
                row += 1
            offset = lines.end if not src.compressed else src.offset()
            problems, lines.problems = lines.problems, []
            if header is None:
                if problems:  # without a header nothing after it can be read
                    yield row, error_item(src.name, f"row {row}", *_first(problems), offset)
                    return
                if not any(c.strip() for c in cells):
                    continue
                header = [column(c) for c in cells]
                continue
            if not cells or not any(c.strip() for c in cells):
                for _, problem in problems:  # an oversized line read as a blank row
                    yield (
                        row,
                        error_item(src.name, f"row {row}", problem.code, problem.message, offset),
                    )
                continue
            key = _key(header, cells)
            if group is not None and key != group.key:
                yield row - 1, self._finish(src, group, offset)
                group = None
            if group is None:
                group = _Group(key, row, row)
            group.last = row
            group.size += lines.size
            if group.problem is None:
                if problems:
                    group.problem = problems[0][1]
                elif group.size > self.max_record_bytes:
                    group.problem = _Problem(
                        "input.too_large",
                        f"the record is larger than {self.max_record_bytes} bytes",
                    )
                    group.members.clear()
                    group.goods.clear()
                else:
                    group.problem = _add_row(group, header, cells, row)
        if group is not None:
            yield row, self._finish(src, group, lines.end if not src.compressed else src.offset())

    @staticmethod
    def _finish(src: Source, group: _Group, offset: int) -> RawItem:
        position = (
            f"rows {group.first}-{group.last}"
            if group.last > group.first
            else (f"row {group.first}")
        )
        if group.problem is not None:
            return error_item(src.name, position, group.problem.code, group.problem.message, offset)
        record = group.record
        for seg, members in group.members.items():
            record[seg] = list(members.values())
        if group.goods:
            record["goods"] = group.goods
        return RawItem(src.name, position, record, None, offset)


def _first(problems: list[tuple[int, _Problem]]) -> tuple[str, str]:
    return problems[0][1].code, problems[0][1].message


def _chain(head: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if head:
        yield head
    yield from rest


def _key(header: list[Column], cells: list[str]) -> str:
    for col, cell in zip(header, cells, strict=False):
        if col.segment is None and col.path == ("record_id",):
            return cell.strip()
    return ""


def _add_row(group: _Group, header: list[Column], cells: list[str], row: int) -> _Problem | None:
    """Merge one row into its record; a problem if it contradicts what earlier rows said."""
    if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
        return _Problem(
            "input.csv.columns",
            f"row {row} has {len(cells)} cells but the header has {len(header)}",
        )
    first_row = row == group.first
    parts: dict[str, dict[str, Any]] = {}
    for col, raw in zip(header, cells, strict=False):
        cell = raw.strip()
        if not cell:
            continue
        value: Any = [v.strip() for v in cell.split(LIST_SEP) if v.strip()] if col.is_list else cell
        if col.segment is None:
            if first_row:
                group.record_cells[col.name] = cell
                put(group.record, col.path, value)
            elif group.record_cells.get(col.name, cell) != cell:
                return _inconsistent(group, row, col.name, group.record_cells[col.name], cell)
        else:
            put(parts.setdefault(col.segment, {}), col.path, value)
    for seg, data in parts.items():
        if seg in LINKS:
            link, parent = LINKS[seg]
            parent_number = parts.get(parent, {}).get("number")
            if parent_number is not None:
                data.setdefault(link, parent_number)
        if seg == "goods":
            group.goods.append(data)
            continue
        members = group.members.setdefault(seg, {})
        number = data.get("number")
        key = number if isinstance(number, str) else f"#row{row}"
        known = members.setdefault(key, data)
        for name, value in data.items():  # a blank cell agrees with anything
            if known.setdefault(name, value) != value:
                return _inconsistent(
                    group,
                    row,
                    f"{item_name(seg)}.{name}",
                    str(known[name]),
                    str(value),
                    f" of {quote(number, secret=is_flagged_secret(group.record))}",
                )
    return None


def _inconsistent(
    group: _Group, row: int, name: str, before: str, now: str, what: str = ""
) -> _Problem:
    secret = is_flagged_secret(group.record)
    shown = f"{quote(before, secret=secret)} then {quote(now, secret=secret)}"
    return _Problem(
        "input.csv.inconsistent",
        f"rows {group.first} and {row} disagree on column {safe_path(name)}{what}: {shown}",
    )
