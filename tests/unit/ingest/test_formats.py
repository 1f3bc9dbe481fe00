"""reader_for, the Reader contract, and the promise that no content makes a reader crash."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctop_node.errors import UsageError
from ctop_node.ingest.csv_ import CsvReader
from ctop_node.ingest.formats import format_of, reader_for
from ctop_node.ingest.interfaces import Reader
from ctop_node.ingest.json_ import JsonReader
from ctop_node.ingest.ndjson import NdjsonReader
from ctop_node.ingest.xml_ import XmlReader

READERS: list[Reader] = [NdjsonReader(), JsonReader(), XmlReader(), CsvReader()]


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("a.ndjson", None, NdjsonReader),
        ("a.jsonl", None, NdjsonReader),
        ("a.JSON", None, JsonReader),
        ("a.xml.gz", None, XmlReader),
        ("export.2026.csv", None, CsvReader),
        ("a.ndjson.gz", None, NdjsonReader),
        ("a.txt", "csv", CsvReader),
        ("a.json", "XML", XmlReader),
    ],
)
def test_reader_for(name: str, fmt: str | None, expected: type[Reader]) -> None:
    reader = reader_for(Path(name), fmt)
    assert isinstance(reader, expected)
    assert reader.format == expected.format


@pytest.mark.parametrize(("name", "fmt"), [("a.txt", None), ("a", None), ("a.csv", "yaml")])
def test_unknown_format_is_a_usage_error(name: str, fmt: str | None) -> None:
    with pytest.raises(UsageError) as info:
        reader_for(Path(name), fmt)
    assert info.value.code == "usage.format"
    assert "ndjson" in str(info.value)


def test_format_of() -> None:
    assert format_of(Path("x.tar.gz")) is None
    assert format_of(Path("x.gz")) is None


def _check(reader: Reader, path: Path) -> None:
    for item in reader.read(path):  # must not raise for any content
        assert (item.data is None) != (item.error is None)
        assert item.source == str(path) and item.position
        assert item.offset >= 0
        if item.data is not None:
            assert isinstance(item.data, dict)


_LINES = st.lists(
    st.one_of(
        st.binary(max_size=60),
        st.sampled_from(
            [
                b"{}",
                b"[]",
                b'{"a": 1}',
                b"\xef\xbb\xbf{",
                b"<a>",
                b"<!DOCTYPE x>",
                b'"q"",',
                b"record_id,item.hs_code",
                b"1;2;3",
                b"\x1f\x8b\x08\x00",
            ]
        ),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=_LINES, sep=st.sampled_from([b"\n", b"\r\n", b"", b"\r"]), packed=st.booleans())
def test_random_content_never_crashes(lines: list[bytes], sep: bytes, packed: bool) -> None:
    data = sep.join(lines)
    if packed:
        data = gzip.compress(data)[: max(2, len(data) // 2 + 10)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input"
        path.write_bytes(data)
        for reader in READERS:
            _check(reader, path)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=2000))
def test_random_bytes_never_crash(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input"
        path.write_bytes(data)
        for reader in READERS:
            _check(reader, path)
