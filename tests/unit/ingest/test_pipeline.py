"""The ingest pipeline on both databases: text a database cannot store, state-secret rejections,
the XML ``tc`` attribute. Each record ends in its own outcome; a batch never fails for one."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctop_node.ingest.errortext import QUOTE_LIMIT
from ctop_node.ingest.interfaces import RawItem
from ctop_node.ingest.json_ import JsonReader
from ctop_node.ingest.ndjson import NdjsonReader
from ctop_node.ingest.pipeline import UNSTORABLE_CODE, Classifier, IngestPipeline
from ctop_node.ingest.xml_ import XmlReader, to_xml_document
from ctop_node.rules import NodePolicy
from ctop_node.store import SqlStore


def _pipeline(store: SqlStore) -> IngestPipeline:
    return IngestPipeline(store, Classifier(NodePolicy("KZ")))


def _with_id(record: dict[str, Any], rid: str) -> dict[str, Any]:
    out = copy.deepcopy(record)
    out["record_id"] = rid
    return out


def test_nul_in_record_id_rejects_that_record_and_stores_its_neighbours(
    store: SqlStore, record_dict: dict[str, Any], tmp_path: Path
) -> None:
    """PostgreSQL failed the whole batch with store.error (issue 8, finding 6)."""
    bad = _with_id(record_dict, "KZ-NUL-\u0000-1")
    lines = [_with_id(record_dict, "KZ-N-1"), bad, _with_id(record_dict, "KZ-N-2")]
    path = tmp_path / "a.ndjson"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in lines))
    summary = _pipeline(store).run(NdjsonReader().read(path))
    assert (summary.read, summary.counts["to_send"], summary.rejected) == (3, 2, 1)
    [error] = summary.errors
    assert (error["code"], error["field"], error["position"]) == (
        UNSTORABLE_CODE,
        "$.record_id",
        "line 2",
    )
    assert store.get_record("KZ-N-1") is not None and store.get_record("KZ-N-2") is not None
    [logged] = [r for r in store.ingest_log() if r["outcome"] == "rejected"]
    assert "\x00" not in json.dumps(logged, default=str)


def test_lone_surrogate_and_nul_in_a_key_are_rejected_on_both_databases(
    store: SqlStore, record_dict: dict[str, Any], tmp_path: Path
) -> None:
    surrogate = _with_id(record_dict, "KZ-S-1")
    surrogate["goods"][0]["description"] = "bad \ud800 text"
    nul_key = _with_id(record_dict, "KZ-S-2")
    nul_key["remarks\u0000"] = "x"
    doc = json.dumps([surrogate, nul_key, _with_id(record_dict, "KZ-S-3")]).encode()
    path = tmp_path / "a.json"
    path.write_bytes(doc)  # json.dumps escapes both: the file is valid UTF-8
    summary = _pipeline(store).run(JsonReader().read(path))
    assert (summary.counts["to_send"], summary.rejected) == (1, 2)
    fields = [(e["code"], e["field"]) for e in summary.errors]
    assert fields == [
        (UNSTORABLE_CODE, "$.goods[0].description"),
        (UNSTORABLE_CODE, "$.remarks\\x00"),
    ]


def test_rejected_secret_record_keeps_no_value_in_the_ingest_log(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    secret = _with_id(record_dict, "KZ-SECRET-1")
    secret["flags"] = {"state_secret": True}
    secret["containers"][0]["number"] = "SECRETVALUE-QWERTY"
    secret["wagons"][0]["number"] = "SECRETWAGON77"
    raw = RawItem("a.ndjson", "line 1", secret)
    summary = _pipeline(store).run([raw])
    assert summary.rejected == 1 and len(summary.errors) >= 2
    logged = json.dumps(store.ingest_log(), default=str)
    for value in ("SECRETVALUE", "SECRETWAGON"):
        assert value not in logged and value not in json.dumps(summary.as_dict())


def test_values_in_error_text_are_clipped(store: SqlStore, record_dict: dict[str, Any]) -> None:
    long = _with_id(record_dict, "KZ-LONG-1")
    long["containers"][0]["number"] = "X" * 5000
    summary = _pipeline(store).run([RawItem("a.ndjson", "line 1", long)])
    [error] = [e for e in summary.errors if "containers" in e["field"]]
    assert "X" * QUOTE_LIMIT in error["message"] and "X" * (QUOTE_LIMIT + 1) not in error["message"]


def test_xml_tc_attribute_of_an_unknown_version_rejects_the_record(
    store: SqlStore, record_dict: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "a.xml"
    path.write_bytes(to_xml_document([_with_id(record_dict, "KZ-TC-9")], tc=9))
    summary = _pipeline(store).run(XmlReader().read(path))
    [error] = summary.errors
    assert (error["record_id"], error["code"]) == ("KZ-TC-9", "tc.unknown_version")
    path.write_bytes(to_xml_document([_with_id(record_dict, "KZ-TC-1")], tc=1))
    assert _pipeline(store).run(XmlReader().read(path)).counts["to_send"] == 1


# -- property: random Unicode in every string field ------------------------------------------

_ODD = ["\x00", "\ud800", "\udfff", "\x01", "\u2028", "\ufeff", "\U0010ffff", ""]


@st.composite
def _texts(draw: st.DrawFn, max_size: int) -> str:
    """Random Unicode with one of the characters databases trip on put in at a random place."""
    base = draw(st.text(max_size=max_size))
    at = draw(st.integers(0, len(base)))
    return base[:at] + draw(st.sampled_from(_ODD)) + base[at:]


_TEXT = _texts(24)
_SHORT = _texts(4)  # all fields at once: keep the example small


def _string_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _string_paths(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _string_paths(child, (*path, i))


def _put(record: dict[str, Any], path: tuple[Any, ...], text: str) -> None:
    target: Any = record
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = text


_counter = itertools.count()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_unicode_in_any_string_field_is_stored_or_rejected_naming_a_field(
    store: SqlStore, record_dict: dict[str, Any], data: st.DataObject
) -> None:
    n = next(_counter)
    record = _with_id(record_dict, f"KZ-P-{n}")
    paths = list(_string_paths(record))
    every = data.draw(st.booleans())  # all string fields at once, or a few of them
    some = st.lists(st.sampled_from(paths), min_size=1, max_size=4, unique=True)
    chosen = paths if every else data.draw(some)
    for path in chosen:
        _put(record, path, data.draw(_SHORT if every else _TEXT))
    before, after = _with_id(record_dict, f"KZ-PB-{n}"), _with_id(record_dict, f"KZ-PA-{n}")
    items = [RawItem("p.json", f"item {i + 1}", r) for i, r in enumerate([before, record, after])]
    summary = _pipeline(store).run(items)  # never raises StorageError
    assert summary.read == 3
    assert store.get_record(before["record_id"]) is not None
    assert store.get_record(after["record_id"]) is not None
    if summary.rejected:
        assert summary.errors and all(e["field"].startswith("$") for e in summary.errors)
        assert all(e["code"] and e["position"] == "item 2" for e in summary.errors)
