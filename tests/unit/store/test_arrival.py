"""The arrival view's index: caught up incrementally from ``records``, latest version only,
searchable by every key, trains grouped per run and crossing point."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from ctop_node.store import SqlStore, migrate
from ctop_node.store.arrival import ArrivalQueries
from ctop_node.store.schema import record_index
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


def _reference_trains(
    store: SqlStore, since: datetime | None, crossing_point: str | None, limit: int
) -> list[tuple[str, str, datetime, int, int, int]]:
    """The train list aggregated straight from ``record_index`` (what the summary replaces)."""
    ri = record_index.c
    stmt = select(
        ri.train_key,
        ri.crossing_point,
        ri.planned_crossing_at,
        ri.containers,
        ri.wagons,
        ri.origin_party,
        ri.train_number,
    ).where(ri.direction == "in")
    if since is not None:
        stmt = stmt.where(ri.planned_crossing_at >= since)
    if crossing_point is not None:
        stmt = stmt.where(ri.crossing_point == crossing_point)
    groups: dict[tuple[str, ...], list[Any]] = {}
    with store.engine.connect() as conn:
        for r in conn.execute(stmt):
            g = groups.setdefault(
                (r.train_key, r.origin_party, r.train_number, r.crossing_point),
                [r.planned_crossing_at, 0, 0, 0],
            )
            g[0] = min(g[0], r.planned_crossing_at)
            g[1] += 1
            g[2] += r.containers
            g[3] += r.wagons
    lines = sorted(
        ((k[0], k[3], v[0], v[1], v[2], v[3]) for k, v in groups.items()),
        key=lambda t: (t[2], t[0], t[1]),
    )
    wanted = set(list(dict.fromkeys(t[0] for t in lines))[:limit])
    return [t for t in lines if t[0] in wanted][:limit]


def test_train_summary_follows_amendments_and_counts_from_since(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    """The summary kept by the catch-up gives what aggregating the index gives: records
    moved to another train by a new version, a train on two crossing points, trains with
    records on both sides of ``since`` (other hours, other offsets), a cut page."""
    hours = ["T02:00:00+06:00", "T10:00:00+00:00", "T23:30:00-05:00", "T12:00:00+00:00"]
    recs = []
    for i in range(24):
        r = with_id(copy.deepcopy(record_dict), f"KZ-S{i:02d}")
        r["train"]["number"] = f"{3000 + i % 5}"
        r["train"]["planned_crossing_at"] = f"2026-11-{20 + i % 3}{hours[i % 4]}"
        if i % 7 == 0:
            r["train"]["crossing_point"] = "ALTYNKOL-KHORGOS"
        recs.append(r)
    q = ArrivalQueries(store.engine)
    store.write_batch([entry(r) for r in recs[:12]], origin_party="KZ", direction="in")
    q.refresh()
    store.write_batch([entry(r) for r in recs[12:]], origin_party="KZ", direction="in")
    moved = []
    for r in recs[:6]:  # amended onto another train and day
        v2 = changed(r, "moved")
        v2["train"] = {
            **r["train"],
            "number": "3009",
            "planned_crossing_at": "2026-11-21T08:00:00+00:00",
        }
        moved.append(v2)
    store.write_batch([entry(r) for r in moved], origin_party="KZ", direction="in")
    q.refresh()
    for since in (
        None,
        datetime(2026, 11, 20, 12, tzinfo=UTC),
        datetime(2026, 11, 21, 4, tzinfo=UTC),
    ):
        for point in (None, "ALTYNKOL-KHORGOS"):
            for limit in (2, 3, 200):
                got = [
                    (
                        t.train_key,
                        t.crossing_point,
                        t.planned_crossing_at,
                        t.records,
                        t.containers,
                        t.wagons,
                    )
                    for t in q.trains(since=since, crossing_point=point, limit=limit)
                ]
                assert got == _reference_trains(store, since, point, limit), (since, point, limit)
    assert "KZ-3009-20261121" in {t.train_key for t in q.trains()}


def test_migration_0012_fills_the_summary_from_the_index(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    """A node upgraded with an index already built lists the same trains as before."""
    other = with_id(copy.deepcopy(record_dict), "KZ-M2")
    other["train"]["number"] = "4004"
    store.write_batch(
        [entry(r) for r in (record_dict, other, with_id(record_dict, "KZ-M3"))],
        origin_party="KZ",
        direction="in",
    )
    q = ArrivalQueries(store.engine)
    q.refresh()
    before = q.trains()
    migrate.downgrade(store.engine, "0011")
    migrate.upgrade(store.engine)
    assert q.trains() == before
    assert [(t.train_key, t.records) for t in before] == [
        ("KZ-1001-20261126", 2),
        ("KZ-4004-20261126", 1),
    ]


def test_latest_records_reads_many_at_once(store: SqlStore, record_dict: dict[str, Any]) -> None:
    store.write_batch([entry(record_dict)], origin_party="KZ", direction="in")
    store.write_batch([entry(changed(record_dict, "v2"))], origin_party="KZ", direction="in")
    store.write_batch([entry(with_id(record_dict, "KZ-L2"))], origin_party="CN")
    rid = record_dict["record_id"]
    got = store.latest_records([("KZ", rid), ("CN", "KZ-L2"), ("KZ", "KZ-L2"), ("KZ", "NONE")])
    assert {k: v.version for k, v in got.items()} == {("KZ", rid): 2, ("CN", "KZ-L2"): 1}
    assert got[("KZ", rid)].body["goods"][0]["description"].endswith("(v2)")
