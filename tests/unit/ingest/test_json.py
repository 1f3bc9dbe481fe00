"""JsonReader: one object, an array, or {"records": [...]}, streamed with Decimals."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ctop_node.ingest.json_ import JsonReader

from .conftest import read_all, validated

Write = Callable[[str, bytes], Path]


def dump(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_single_object(record_dict: dict[str, Any], write: Write) -> None:
    (item,) = read_all(JsonReader(), write("a.json", dump(record_dict)))
    assert item.position == "item 1"
    assert validated(item.data) == validated(record_dict)


def test_array_numbers_are_decimals(three: list[dict[str, Any]], write: Write) -> None:
    three[0]["containers"][0]["gross_mass_kg"] = 28500.125
    path = write("a.json", dump(three))
    items = read_all(JsonReader(), path)
    assert [i.position for i in items] == ["item 1", "item 2", "item 3"]
    assert [validated(i.data) for i in items] == [validated(r) for r in three]
    assert items[0].data is not None
    mass = items[0].data["containers"][0]["gross_mass_kg"]
    assert mass == Decimal("28500.125") and isinstance(mass, Decimal)
    assert items[-1].offset == path.stat().st_size


def test_records_wrapper(three: list[dict[str, Any]], write: Write) -> None:
    doc = {"tc": 1, "meta": {"note": [1, 2]}, "records": three, "after": True}
    items = read_all(JsonReader(), write("a.json", dump(doc)))
    assert [validated(i.data) for i in items] == [validated(r) for r in three]


def test_non_object_items_are_errors_and_reading_goes_on(
    three: list[dict[str, Any]], write: Write
) -> None:
    items = read_all(JsonReader(), write("a.json", dump([three[0], 5, [1, [2]], three[1]])))
    assert [i.position for i in items] == ["item 1", "item 2", "item 3", "item 4"]
    for bad in items[1:3]:
        assert bad.error is not None and bad.error.code == "input.not_object"
        assert bad.position in str(bad.error)
    assert items[0].data is not None and items[3].data is not None


def test_parse_error_names_item_and_byte_and_reading_goes_on(
    three: list[dict[str, Any]], write: Write
) -> None:
    text = dump(three[:2])[:-1] + b', {"record_id": ,}, ' + dump(three[2]) + b"]"
    items = read_all(JsonReader(), write("a.json", text))
    assert [i.data is not None for i in items] == [True, True, False, True]
    err = items[2].error
    assert err is not None and err.code == "input.json"
    assert items[2].position == "item 3" and "item 3" in str(err) and "near byte" in str(err)


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "input.json"),
        (b"   ", "input.json"),
        (b"12", "input.not_object"),
        (b'"x"', "input.not_object"),
        (b'[{"a": "\xff"}]', "input.json"),
        (b'{"a": 1} trailing', "input.json"),
        (b'[{"a": 1}', "input.json"),
    ],
)
def test_bad_files_give_one_error(write: Write, content: bytes, code: str) -> None:
    items = read_all(JsonReader(), write("a.json", content))
    assert items[-1].error is not None and items[-1].error.code == code


def test_oversized_item_is_skipped_and_the_next_read(
    three: list[dict[str, Any]], write: Write
) -> None:
    big = dict(three[1], padding=list(range(20_000)))
    items = read_all(
        JsonReader(max_record_bytes=20_000), write("a.json", dump([three[0], big, three[2]]))
    )
    assert [i.position for i in items] == ["item 1", "item 2", "item 3"]
    assert items[1].error is not None and items[1].error.code == "input.too_large"
    assert validated(items[2].data) == validated(three[2])


def test_gzip(three: list[dict[str, Any]], write: Write) -> None:
    items = read_all(JsonReader(), write("a.json.gz", gzip.compress(dump(three))))
    assert [validated(i.data) for i in items] == [validated(r) for r in three]


def test_duplicate_key_anywhere_is_a_rejection_naming_record_and_path(
    three: list[dict[str, Any]], write: Write
) -> None:
    # Last-wins would read this record as not secret (issue 8, finding 7).
    rec = {k: v for k, v in three[1].items() if k != "flags"}
    secret = dump(rec)[:-1] + b', "flags": {"state_secret": true, "state_secret": false}}'
    items = read_all(
        JsonReader(),
        write("a.json", b"[" + dump(three[0]) + b"," + secret + b"," + dump(three[2]) + b"]"),
    )
    assert [i.position for i in items] == ["item 1", "item 2", "item 3"]
    err = items[1].error
    assert err is not None and err.code == "input.duplicate_key"
    assert three[1]["record_id"] in err.message and "$.flags.state_secret" in err.message
    assert validated(items[2].data) == validated(three[2])


def test_duplicate_top_level_key_in_a_single_record(
    record_dict: dict[str, Any], write: Write
) -> None:
    doc = dump(record_dict)[:-1] + b', "flags": {"state_secret": false}}'
    (item,) = read_all(JsonReader(), write("a.json", doc))
    assert item.error is not None and item.error.code == "input.duplicate_key"
    assert "$.flags" in item.error.message


def test_same_key_in_sibling_objects_is_no_duplicate(
    three: list[dict[str, Any]], write: Write
) -> None:
    items = read_all(JsonReader(), write("a.json", dump({"records": three})))
    assert all(i.error is None for i in items) and len(items) == 3


def test_huge_string_is_rejected_before_it_is_read_whole(
    three: list[dict[str, Any]], write: Write
) -> None:
    """One 16 MiB string in a record capped at 256 KiB: the reader never holds more than
    about the cap (a parser that builds the token first would hold all 16 MiB)."""
    cap, size = 256 * 1024, 16 * 1024 * 1024
    doc = b"[" + dump(three[0]) + b',{"record_id": "KZ-HUGE", "note": "'
    doc += b"\\\\ab" * (size // 4) + b'"},' + dump(three[2]) + b"]"
    path = write("a.json", doc)
    del doc
    tracemalloc.start()
    try:
        items = read_all(JsonReader(max_record_bytes=cap), path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [i.error.code if i.error else "ok" for i in items] == ["ok", "input.too_large", "ok"]
    assert peak < 4 * cap, peak
    assert validated(items[2].data) == validated(three[2])


def test_nesting_deeper_than_the_limit_stops_the_file(write: Write) -> None:
    items = read_all(JsonReader(), write("a.json", b"[" + b"[" * 100 + b"]" * 101))
    assert items[-1].error is not None and items[-1].error.code == "input.json"
    assert "deeper" in items[-1].error.message


@pytest.mark.parametrize("content", [b'[{"a": NaN}]', b'[{"a": 1,}]', b"[{\"a\": 'x'}]"])
def test_invalid_record_is_rejected_and_reading_goes_on(
    three: list[dict[str, Any]], write: Write, content: bytes
) -> None:
    doc = content[:-1] + b"," + dump(three[0]) + b"]"
    items = read_all(JsonReader(), write("a.json", doc))
    assert items[0].error is not None and items[0].error.code == "input.json"
    assert validated(items[1].data) == validated(three[0])


def test_record_over_the_cap_inside_one_chunk_is_skipped(
    three: list[dict[str, Any]], write: Write
) -> None:
    small = len(dump(three[0]))
    big = dict(three[1], note="x" * 3 * small)
    for doc in ([three[0], big, three[2]], big):
        items = read_all(JsonReader(max_record_bytes=2 * small), write("a.json", dump(doc)))
        codes = [i.error.code if i.error else "ok" for i in items]
        assert codes == (
            ["ok", "input.too_large", "ok"] if isinstance(doc, list) else ["input.too_large"]
        )
