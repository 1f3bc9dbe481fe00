"""NdjsonReader: one record per line, every bad line reported, the others read."""

from __future__ import annotations

import gzip
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from ctop_node.errors import InputError
from ctop_node.ingest.ndjson import NdjsonReader

from .conftest import read_all, validated

Write = Callable[[str, bytes], Path]


def lines(*recs: dict[str, Any]) -> list[bytes]:
    return [orjson.dumps(r) for r in recs]


def test_round_trip_positions_and_offsets(three: list[dict[str, Any]], write: Write) -> None:
    path = write("a.ndjson", b"\n".join(lines(*three)) + b"\n")
    items = read_all(NdjsonReader(), path)
    assert [i.position for i in items] == ["line 1", "line 2", "line 3"]
    assert [validated(i.data) for i in items] == [validated(r) for r in three]
    offsets = [i.offset for i in items]
    assert offsets == sorted(offsets) and offsets[-1] == path.stat().st_size
    assert all(i.source == str(path) for i in items)


def test_bom_blank_lines_and_crlf(three: list[dict[str, Any]], write: Write) -> None:
    a, b, c = lines(*three)
    path = write("a.ndjson", b"\xef\xbb\xbf" + a + b"\r\n\r\n   \n" + b + b"\n\n" + c + b"\r\n")
    items = read_all(NdjsonReader(), path)
    assert [i.position for i in items] == ["line 1", "line 4", "line 6"]
    assert all(i.error is None for i in items)


def test_bad_utf8_names_line_and_byte(three: list[dict[str, Any]], write: Write) -> None:
    a, _, c = lines(*three)
    path = write("a.ndjson", a + b'\n{"record_id": "X\xff"}\n' + c + b"\n")
    first, bad, last = read_all(NdjsonReader(), path)
    assert bad.error is not None and bad.error.code == "input.encoding"
    assert bad.position == "line 2" and "line 2" in str(bad.error)
    # "{"record_id": "X" is 16 bytes, the bad byte is the 17th of the line.
    assert "byte 17 of the line" in bad.error.message
    assert f"file offset {len(a) + 1 + 16}" in bad.error.message
    assert first.data is not None and last.data is not None


@pytest.mark.parametrize(
    ("line", "code", "named"),
    [
        (b'{"record_id": "X",, }', "input.json", "column 19"),
        (b"[1, 2]", "input.not_object", "list"),
        (b"42", "input.not_object", "int"),
        (b'"text"', "input.not_object", "str"),
        (b"[" * 5000 + b"]" * 5000, "input.json", "column"),
    ],
)
def test_bad_line_between_good_ones(
    three: list[dict[str, Any]], write: Write, line: bytes, code: str, named: str
) -> None:
    a, _, c = lines(*three)
    path = write("a.ndjson", a + b"\n" + line + b"\n" + c + b"\n")
    first, bad, last = read_all(NdjsonReader(), path)
    assert bad.error is not None and bad.error.code == code
    assert bad.position == "line 2" and "line 2" in str(bad.error) and named in str(bad.error)
    assert validated(first.data) == validated(three[0])
    assert validated(last.data) == validated(three[2])


def test_too_long_line_is_one_error_and_skipped(three: list[dict[str, Any]], write: Write) -> None:
    a, _, c = lines(*three)
    huge = b'{"x": "' + b"y" * 50_000 + b'"}'
    path = write("a.ndjson", a + b"\n" + huge + b"\n" + c + b"\n")
    items = read_all(NdjsonReader(max_record_bytes=5_000), path)
    assert [i.position for i in items] == ["line 1", "line 2", "line 3"]
    assert items[1].error is not None and items[1].error.code == "input.too_large"
    assert "line 2" in str(items[1].error)
    assert items[0].data is not None and items[2].data is not None


def test_truncated_last_line(three: list[dict[str, Any]], write: Write) -> None:
    a, b, c = lines(*three)
    path = write("a.ndjson", a + b"\n" + b + b"\n" + c[: len(c) // 2])
    items = read_all(NdjsonReader(), path)
    assert [i.data is not None for i in items] == [True, True, False]
    assert items[2].error is not None and items[2].error.code == "input.json"
    assert items[2].position == "line 3"
    assert items[2].offset == path.stat().st_size


def test_gzip(three: list[dict[str, Any]], write: Write) -> None:
    raw = b"\n".join(lines(*three)) + b"\n"
    path = write("a.ndjson.gz", gzip.compress(raw))
    items = read_all(NdjsonReader(), path)
    assert [validated(i.data) for i in items] == [validated(r) for r in three]
    assert items[-1].offset == path.stat().st_size


def test_truncated_gzip_reports_and_keeps_earlier(
    three: list[dict[str, Any]], write: Write
) -> None:
    raw = b"\n".join(lines(*three * 300)) + b"\n"
    packed = gzip.compress(raw)
    path = write("a.ndjson.gz", packed[: len(packed) // 2])
    items = read_all(NdjsonReader(), path)
    assert items[-1].error is not None and items[-1].error.code in ("input.read", "input.json")
    assert sum(i.data is not None for i in items) > 100


def test_unreadable_file_raises_before_any_item(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.ndjson", tmp_path):
        with pytest.raises(InputError) as info:
            NdjsonReader().read(path)  # raises at the call, not on first next()
        assert info.value.code == "input.unreadable"
        assert str(path) in str(info.value)


def test_one_gigabyte_without_newline_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "huge.ndjson"
    with path.open("wb") as f:
        f.truncate(1 << 30)  # sparse: 1 GiB of NUL bytes, no newline
    started = time.monotonic()
    tracemalloc.start()
    try:
        items = read_all(NdjsonReader(), path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(items) == 1
    assert items[0].error is not None and items[0].error.code == "input.too_large"
    assert items[0].position == "line 1"
    assert items[0].offset == 1 << 30
    assert peak < 64 * 1024 * 1024, peak
    assert time.monotonic() - started < 60


@pytest.mark.parametrize(
    ("line", "path"),
    [
        (
            b'{"record_id": "KZ-D-1", "flags": {"state_secret": true}, '
            b'"flags": {"state_secret": false}}',
            "$.flags",
        ),
        (b'{"record_id": "KZ-D-2", "note": "a:b", "wagons": [{"n": 1, "n": 2}]}', "$.wagons[0].n"),
        # A colon escaped in a string must not hide the extra member from the fast check.
        (b'{"record_id": "KZ-D-3", "note": "a\\u003ab", "x": 1, "x": 2}', "$.x"),
    ],
)
def test_duplicate_key_is_rejected_naming_record_and_path(
    three: list[dict[str, Any]], write: Write, line: bytes, path: str
) -> None:
    data = b"\n".join([orjson.dumps(three[0]), line, orjson.dumps(three[1])]) + b"\n"
    items = read_all(NdjsonReader(), write("a.ndjson", data))
    err = items[1].error
    assert err is not None and err.code == "input.duplicate_key", items[1]
    assert f"at {path};" in err.message and "KZ-D-" in err.message
    assert items[0].data is not None and items[2].data is not None


def test_colons_in_strings_are_no_duplicate(three: list[dict[str, Any]], write: Write) -> None:
    rec = dict(three[0], note="a:b:c \\u003a", remarks={"k": "x:y"})
    (item,) = read_all(NdjsonReader(), write("a.ndjson", orjson.dumps(rec) + b"\n"))
    assert item.data is not None
