"""The arrival view's index: caught up incrementally from ``records``, latest version only,
searchable by every key, trains grouped per run and crossing point."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from ctop_node.store import SqlStore
from ctop_node.store.arrival import ArrivalQueries
from tests.unit.store._entries import changed, entry, with_id


def test_refresh_is_incremental_and_keeps_the_latest_version(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    q = ArrivalQueries(store.engine)
    store.write_batch([entry(record_dict)], origin_party="KZ", direction="in")
    assert q.refresh() == 1
    assert q.refresh() == 0
    v2 = changed(record_dict, "v2")
    v2["containers"][0]["seals"] = ["KZ7654321"]
    store.write_batch([entry(v2)], origin_party="KZ", direction="in")
    assert q.refresh() == 1
    rec = q.record("KZ", record_dict["record_id"])
    assert rec is not None and rec.version == 2
    assert [h.kind for h in q.search("KZ7654321")] == ["seal"]
    assert q.search("KZ1234567") == []  # the old version's seal is no longer a term


def test_trains_are_grouped_per_run_and_filtered(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    other_day = with_id(copy.deepcopy(record_dict), "KZ-B")
    other_day["train"]["planned_crossing_at"] = "2026-11-28T10:00:00+00:00"
    khorgos = with_id(copy.deepcopy(record_dict), "KZ-C")
    khorgos["train"]["crossing_point"] = "ALTYNKOL-KHORGOS"
    khorgos["train"]["number"] = "2002"
    same_run = with_id(record_dict, "KZ-D")
    store.write_batch(
        [entry(r) for r in (record_dict, other_day, khorgos, same_run)],
        origin_party="KZ",
        direction="in",
    )
    store.write_batch([entry(with_id(record_dict, "CN-OWN"))], origin_party="CN")
    q = ArrivalQueries(store.engine)
    q.refresh()
    trains = q.trains()
    assert [(t.train_key, t.records) for t in trains] == [
        ("KZ-1001-20261126", 2),
        ("KZ-2002-20261126", 1),
        ("KZ-1001-20261128", 1),
    ]
    assert [t.train_key for t in q.trains(crossing_point="ALTYNKOL-KHORGOS")] == [
        "KZ-2002-20261126"
    ]
    since = datetime(2026, 11, 27, tzinfo=UTC)
    assert [t.train_key for t in q.trains(since=since)] == ["KZ-1001-20261128"]
    assert [t.train_key for t in q.trains(direction="out")] == ["CN-1001-20261126"]
    assert [r.record_id for r in q.train_records("KZ-1001-20261126")] == [
        record_dict["record_id"],
        "KZ-D",
    ]
    both = q.records_of_trains(["KZ-1001-20261126", "KZ-2002-20261126", "KZ-NONE"])
    assert {k: [r.record_id for r in v] for k, v in both.items()} == {
        "KZ-1001-20261126": [record_dict["record_id"], "KZ-D"],
        "KZ-2002-20261126": ["KZ-C"],
        "KZ-NONE": [],
    }


def test_search_is_by_prefix_case_insensitive_and_literal(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    odd = copy.deepcopy(with_id(record_dict, "KZ-ODD"))
    odd["consignee"]["name"] = "100% Real_Goods Ltd"
    store.write_batch([entry(record_dict), entry(odd)], origin_party="KZ", direction="in")
    q = ArrivalQueries(store.engine)
    q.refresh()
    assert {h.record.record_id for h in q.search("csqu30")} == {
        record_dict["record_id"],
        "KZ-ODD",
    }
    assert [h.record.record_id for h in q.search("100%")] == ["KZ-ODD"]
    assert [h.value for h in q.search("REAL_")] == ["REAL_GOODS"]
    assert q.search("REAL%") == [] and q.search("  ") == []
    assert q.search("_") == []
